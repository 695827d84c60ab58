"""Which kernel module runs: the compiled ``cython`` backend or the ``numpy`` reference.

The choice is process-wide (``set_backend``), overridable in a block (``use_backend``,
thread-local) and initialised from the ``NNFAST_BACKEND`` environment variable. The compiled
backend has one module per precision (``_kernels``: float64, ``_kernels32``: float32, built
from one source); the reference computes in either; ``kernels(name, dtype)`` picks.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import threading
import warnings
from typing import TYPE_CHECKING

from . import _reference
from ._spec import real_dtype

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from numpy.typing import DTypeLike

_import_error: ImportError | None = None
try:
    from . import _kernels, _kernels32
except ImportError as exc:  # the extension was not built: keep working on the reference
    _kernels = _kernels32 = None
    _import_error = exc


def _missing_extension_message() -> str:
    """Why the compiled extension is missing, and what to do about it.

    Python's own message for a module file that does not exist blames "most likely a
    circular import"; the usual cause is running from the repository's root, whose source
    folder shadows the installed package and has no extension built into it.
    """
    folder = os.path.dirname(os.path.abspath(__file__))
    built = any(
        name.startswith("_kernels.") and name.endswith(suffix)
        for name in os.listdir(folder)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )
    if built:  # there, but broken (an incompatible NumPy, a missing library)
        return (
            f"nnfast's compiled extension in {folder} could not be imported "
            f"({_import_error}); reinstall nnfast (pip install .)."
        )
    repository = os.path.dirname(folder)
    if all(os.path.exists(os.path.join(repository, p)) for p in ("setup.py", "csrc")):
        return (
            f"nnfast was imported from its source tree, {folder}, which has no compiled "
            f"extension: the extension is built into the installed copy (pip install .), "
            f"which Python does not see from {repository} because the current folder "
            f"comes first on sys.path. Run from another folder, or install in editable "
            f"mode (pip install -e .), which builds the extension into the source tree."
        )
    return (
        f"nnfast's compiled extension is not built in {folder}; reinstall nnfast with a C "
        f"compiler available (pip install .)."
    )


BACKENDS = ("cython", "numpy")
_modules = {"cython": _kernels, "numpy": _reference}
_local = threading.local()
_default = "cython"


def _check(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}.")
    if _modules[name] is None:
        raise RuntimeError(
            f"The cython backend is not available. {_missing_extension_message()} "
            f"Or use set_backend('numpy')."
        )
    return name


def get_backend() -> str:
    """Name of the backend in use: ``"cython"`` or ``"numpy"``."""
    return getattr(_local, "name", None) or _default


def set_backend(name: str) -> None:
    """Select the backend for the whole process: ``"cython"`` (compiled) or ``"numpy"``."""
    global _default
    _default = _check(name)


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Use backend ``name`` inside a ``with`` block (in this thread only)."""
    _check(name)
    previous = getattr(_local, "name", None)
    _local.name = name
    try:
        yield
    finally:
        _local.name = previous


def kernels(name: str | None = None, dtype: DTypeLike | None = None) -> ModuleType:
    """The kernel module of backend ``name`` (default: the one in use) that computes in
    ``dtype`` (float64 or float32; default float64)."""
    dtype = real_dtype(dtype)
    module = _modules[_check(name or get_backend())]
    return _kernels32 if module is _kernels and dtype == _kernels32.DTYPE else module


def _initialise() -> None:
    global _default
    requested = os.environ.get("NNFAST_BACKEND", "").strip().lower()
    if requested:
        _default = _check(requested)
    elif _kernels is None:
        if os.environ.get("NNFAST_REQUIRE_CYTHON", "").strip() == "1":
            raise ImportError(f"NNFAST_REQUIRE_CYTHON=1: {_missing_extension_message()}")
        _default = "numpy"
        warnings.warn(
            f"{_missing_extension_message()} Using the NumPy backend meanwhile, "
            f"which is much slower.",
            RuntimeWarning,
            stacklevel=3,
        )


_initialise()
