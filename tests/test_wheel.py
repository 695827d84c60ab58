"""The wheel and the sdist, built from a clean copy of the source tree (slow: minutes).

Skipped unless ``NNFAST_TEST_WHEEL=1``. Builds the wheel as users do (``pip wheel``, with
build isolation, so the build requirements come from the package index), installs it into a
fresh virtual environment and runs it there with only that environment's ``bin`` on PATH
(no compiler reachable): the compiled backend must load. Then builds the sdist and checks
it ships the Cython sources and no generated C.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("NNFAST_TEST_WHEEL") != "1",
    reason="slow: set NNFAST_TEST_WHEEL=1 to build and test the wheel",
)

GENERATED = (
    "build",
    "dist",
    "*.egg-info",
    "*.so",
    "*.pyd",
    "*.c",
    "*.html",
    "__pycache__",
    ".git",
    ".pytest_cache",
    ".hypothesis",
    ".benchmarks",
    "*.npz",
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the source tree without build products (so the build starts clean and
    nothing is written into the working tree)."""
    if not (ROOT / "setup.py").exists():
        pytest.skip("not a source tree")
    dest = tmp_path_factory.mktemp("src") / "nnfast"
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*GENERATED))
    return dest


def run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    run([sys.executable, "-m", "pip", "wheel", source, "-w", out, "--no-deps"], timeout=1800)
    wheels = list(out.glob("nnfast-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.startswith("nnfast/_kernels") and n.endswith((".so", ".pyd"))]
    assert "nnfast/data/student_data.csv" in names
    assert "nnfast/py.typed" in names
    assert not [n for n in names if n.endswith((".pyx", ".pxd", ".pxi", ".c"))]
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
        .decode()
    )
    assert "nnfast = nnfast.cli:main" in entry_points


def test_wheel_installs_and_runs_compiled_without_a_compiler(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    run([python, "-m", "pip", "install", "-q", wheel], timeout=900)  # numpy, scipy: the index

    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "LANG")
    }
    env.update(PATH=str(bin_dir), NNFAST_REQUIRE_CYTHON="1")
    assert (
        shutil.which("gcc", path=env["PATH"]) is None
        and shutil.which("cc", path=env["PATH"]) is None
    )
    proc = run(
        [python, "-c", "import nnfast; print(nnfast.get_backend(), nnfast.__file__)"],
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    backend, location = proc.stdout.split()
    assert backend == "cython", proc.stdout + proc.stderr
    assert str(env_dir) in location and "warning" not in proc.stderr.lower()
    script = bin_dir / ("nnfast.exe" if os.name == "nt" else "nnfast")
    proc = run(
        [script, "train", "--epochs", "20", "--print-every", "0"],
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert "test  loss" in proc.stdout


def test_sdist_has_the_cython_sources_and_no_generated_c(source, tmp_path):
    spec = importlib.util.find_spec("build")  # pypa/build; not a build/ directory on sys.path
    if spec is not None and spec.origin is not None:
        cmd = [sys.executable, "-m", "build", "--sdist", "-o", tmp_path, source]
    else:
        cmd = [sys.executable, "setup.py", "-q", "sdist", "-d", tmp_path]
    run(cmd, cwd=source, timeout=1800)
    (sdist,) = tmp_path.glob("nnfast-*.tar.gz")
    names = [n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n]
    for name in (
        "csrc/_kernels.pyx",
        "csrc/_blas.pxd",
        "csrc/_perceptron.pxi",
        "setup.py",
        "pyproject.toml",
        "README.md",
        "nnfast/data/student_data.csv",
        "nnfast/py.typed",
        "tests/conftest.py",
        "docs/api.rst",
    ):
        assert name in names, name
    expected = {
        p.relative_to(ROOT).as_posix()
        for ext in ("pyx", "pxd", "pxi")
        for p in (ROOT / "csrc").glob(f"*.{ext}")
    }
    assert expected <= set(names)
    assert not [n for n in names if n.endswith((".c", ".html", ".so", ".pyd"))]
