"""Which kernel module runs: the compiled ``cython`` backend or the ``numpy`` reference.

The choice is process-wide (``set_backend``), overridable in a block (``use_backend``,
thread-local) and initialised from the ``NNFAST_BACKEND`` environment variable.
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings

from . import _reference

try:
    from . import _kernels
except ImportError as exc:  # the extension was not built: keep working on the reference
    _kernels = None
    _import_error = exc
else:
    _import_error = None

BACKENDS = ("cython", "numpy")
_modules = {"cython": _kernels, "numpy": _reference}
_local = threading.local()
_default = "cython"


def _check(name):
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}.")
    if _modules[name] is None:
        raise RuntimeError(
            f"The cython backend is not available: the compiled extension nnfast._kernels "
            f"could not be imported ({_import_error}). Reinstall nnfast with a C compiler "
            f"available (pip install .) or use set_backend('numpy')."
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
def use_backend(name: str):
    """Use backend ``name`` inside a ``with`` block (in this thread only)."""
    _check(name)
    previous = getattr(_local, "name", None)
    _local.name = name
    try:
        yield
    finally:
        _local.name = previous


def kernels(name: str | None = None):
    """The kernel module of backend ``name`` (default: the one in use)."""
    return _modules[_check(name or get_backend())]


def _initialise():
    global _default
    requested = os.environ.get("NNFAST_BACKEND", "").strip().lower()
    if requested:
        _default = _check(requested)
    elif _kernels is None:
        _default = "numpy"
        warnings.warn(
            f"nnfast's compiled extension could not be imported ({_import_error}); "
            "falling back to the NumPy backend, which is much slower.",
            RuntimeWarning, stacklevel=3,
        )


_initialise()
