"""Describe the compiled extensions; everything else about the package is in pyproject.toml.

Compiler directives live here, in one place. ``NNFAST_BOUNDSCHECK=1`` turns bounds and
None checks back on (CI runs the test suite once that way).
"""

import hashlib
import os
from pathlib import Path

import Cython
import numpy as np
import scipy
from Cython.Build import cythonize
from setuptools import Extension, setup

checks = os.environ.get("NNFAST_BOUNDSCHECK", "0") == "1"
directives = {
    "language_level": 3,
    "boundscheck": checks,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": checks,
}
# -ffp-contract=off: no fused multiply-add contraction, so the compiled kernels round like
# the NumPy reference on every CPU (FMA would change results in the last bits).
# -fno-trapping-math: nothing here relies on floating-point traps, and it lets the compiler
# turn data-dependent branches (ReLU's sign test) into selects and vectorise them.
compile_args = (
    []
    if os.name == "nt"
    else ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-pthread"]
)
# Every ``cdef inline`` function is inlined (GCC and Clang): the kernels pass a layer's block
# width, inputs and activation functions as constants through levels of inline functions,
# which only inlining specialises (unrolled, dispatch folded); GCC's size heuristics would
# otherwise keep one generic copy.
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if os.name != "nt":
    macros.append(("CYTHON_INLINE", "__inline__ __attribute__((always_inline, unused))"))

# _kernels (float64) and _kernels32 (float32) compile one source each; both cimport _team,
# the team of threads one per process (csrc/nnfast/_team.pxd).
extensions = [
    Extension(
        f"nnfast.{name}",
        [f"csrc/{name}.pyx"],
        include_dirs=[np.get_include(), "csrc"],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=[] if os.name == "nt" else ["-pthread"],  # csrc/_team.h's workers
        # Link libm by name: an unversioned exp/log reference binds to glibc's oldest symbol
        # version, the slower SVID-compatible wrapper.
        libraries=[] if os.name == "nt" else ["m"],
    )
    for name in ("_team", "_kernels", "_kernels32")
]


def cythonize_once(extensions):
    """cythonize, unless the C files were generated from exactly these inputs.

    pip builds each install in a new isolated environment whose freshly unpacked NumPy and
    SciPy .pxd files look newer than the C files, so Cython would regenerate them and the
    compiler run again: installing ``.[test]`` after ``.`` would rebuild everything. The
    inputs' content decides instead (every file in csrc/, the directives, the versions of
    Cython, NumPy and SciPy); unchanged C files keep their times, so the compiler skips them.
    """
    digest = hashlib.sha256()
    for path in sorted(Path("csrc").rglob("*")):
        if path.suffix in (".pyx", ".pxd", ".pxi", ".h"):
            digest.update(path.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(
        repr(
            (sorted(directives.items()), Cython.__version__, np.__version__, scipy.__version__)
        ).encode()
    )
    stamp = Path("build") / "cython-inputs.sha256"
    c_files = [Path(source).with_suffix(".c") for ext in extensions for source in ext.sources]
    if (
        stamp.exists()
        and stamp.read_text() == digest.hexdigest()
        and all(c.exists() for c in c_files)
    ):
        for ext in extensions:
            ext.sources = [str(Path(source).with_suffix(".c")) for source in ext.sources]
        return extensions
    extensions = cythonize(
        extensions, compiler_directives=directives, include_path=["csrc"], force=True
    )
    stamp.parent.mkdir(exist_ok=True)
    stamp.write_text(digest.hexdigest())
    return extensions


setup(ext_modules=cythonize_once(extensions))
