"""The machine nnfast runs on: CPU, cores, library versions, BLAS libraries and their
threads, the backends that can run (``nnfast info``, and the first line of ``nnfast bench``)."""

from __future__ import annotations

import importlib.util
import os
import platform
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _backend

if TYPE_CHECKING:
    from collections.abc import Mapping

BACKENDS = ("cython", "numpy")


def have_threadpoolctl() -> bool:
    return importlib.util.find_spec("threadpoolctl") is not None


def available_backends() -> list[str]:
    """The backends that can run here (``cython`` needs the compiled extension)."""
    out = []
    for name in BACKENDS:
        try:
            _backend.kernels(name)
        except RuntimeError:
            continue
        out.append(name)
    return out


def machine_info() -> dict[str, Any]:
    """CPU, cores, library versions and BLAS libraries with their thread counts."""
    import scipy

    from . import __version__

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "nnfast": __version__,
        "backends": available_backends(),
        "blas": _blas_info(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "thread_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
    }
    if "cython" in info["backends"]:
        getter = getattr(_backend.kernels("cython"), "get_gemm_threshold", None)
        if getter is not None:
            info["gemm_threshold"] = int(getter())
    return info


def _blas_info() -> list[dict[str, Any]]:
    """BLAS libraries loaded in this process (NumPy's, and SciPy's, which the kernels call)."""
    if not have_threadpoolctl():
        try:  # NumPy records its build's BLAS
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            return [
                {
                    "library": "numpy",
                    "internal_api": blas.get("name"),
                    "version": blas.get("version"),
                    "num_threads": None,
                }
            ]
        except Exception:
            return []
    from threadpoolctl import threadpool_info

    out = []
    for lib in threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        path = lib.get("filepath", "")
        owner = (
            "scipy"
            if "scipy.libs" in path or "/scipy/" in path
            else ("numpy" if "numpy" in path else os.path.basename(path))
        )
        out.append(
            {
                "library": owner,
                "internal_api": lib.get("internal_api"),
                "version": lib.get("version"),
                "num_threads": lib.get("num_threads"),
                "architecture": lib.get("architecture"),
                "filepath": path,
            }
        )
    return out


def describe_machine(info: Mapping[str, Any]) -> str:
    """One line: CPU, cores, versions, BLAS and threads."""
    blas = (
        ", ".join(
            f"{b['library']}: {b['internal_api']} {b['version']}"
            + (
                f" ({b['num_threads']} threads)"
                if b["num_threads"]
                else " (threads unknown: threadpoolctl not installed)"
            )
            for b in info["blas"]
        )
        or "unknown"
    )
    env = ", ".join(f"{k}={v}" for k, v in info["thread_env"].items())
    load = info.get("load_average")
    end = info.get("load_average_end")
    load = (
        f" | load average {load[0]:.2f} at start" + (f", {end[0]:.2f} at end" if end else "")
        if load
        else ""
    )
    return (
        f"Machine: {info['cpu']}, {info['cpu_count']} cores ({info['usable_cpus']} usable) | "
        f"Python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']} | "
        f"BLAS {blas}{' | ' + env if env else ''} | nnfast {info['nnfast']}, backends "
        f"{'/'.join(info['backends'])}{load}"
    )
