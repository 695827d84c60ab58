"""Shared fixtures: run a test on every backend, or run the same code on both and compare.

``NNFAST_REQUIRE_CYTHON=1`` (set in CI after building the extension) turns every
"cython backend not available" skip into a failure, so a broken build cannot hide behind
skipped tests.

Tests that need an optional package say so with ``@pytest.mark.requires("pandas", ...)`` or
``pytest.importorskip``: without it they are skipped. With ``CI=true`` such a skip fails
the run, because the ``[test]`` extra installs every package the suite uses: a skip there
means an install step is missing. The peers in ``OPT_IN`` (PyTorch, JAX, numba) are the
exception: tests against them run only where someone installed them by hand.

Comparisons with PyTorch's own definitions are such opt-in tests: ``@pytest.mark.torch``
runs a test only where torch is installed (never part of ``[test]``, whose install stays
light); the test imports torch in its body.
"""

import importlib.util
import os

import numpy as np
import pytest

import nnfast
from nnfast import _backend

BACKENDS = ("cython", "numpy")

# Child interpreters (subprocesses, process pools) import the nnfast under test, not the
# source folder of the directory pytest runs in (Python 3.11+ leaves the current folder off
# sys.path with this): run from the repository's root, they imported the source tree.
os.environ.setdefault("PYTHONSAFEPATH", "1")


def cython_required():
    return os.environ.get("NNFAST_REQUIRE_CYTHON", "").strip() == "1"


def need_cython():
    """Skip the calling test when the extension is missing (fail under NNFAST_REQUIRE_CYTHON=1)."""
    if _backend._kernels is None:
        message = (
            f"the compiled extension nnfast._kernels is not importable ({_backend._import_error})"
        )
        if cython_required():
            pytest.fail(f"NNFAST_REQUIRE_CYTHON=1 but {message}", pytrace=False)
        pytest.skip(message)
    return _backend._kernels


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of the backend in use for the test: every test using it runs once per backend."""
    if request.param == "cython":
        need_cython()
    with nnfast.use_backend(request.param):
        yield request.param


@pytest.fixture(scope="session")
def cython_kernels():
    """The compiled kernel module (the test is skipped, or failed when required, without it)."""
    return need_cython()


@pytest.fixture(scope="session")
def on_both():
    """``on_both(fn, *args)`` -> (fn's result on the cython backend, on the numpy backend).

    ``fn`` must build everything it mutates itself (or receive copies), so that the two runs
    start from identical, independent state.
    """
    need_cython()

    def run(fn, *args, **kwargs):
        results = []
        for name in BACKENDS:
            with nnfast.use_backend(name):
                assert nnfast.get_backend() == name
                results.append(fn(*args, **kwargs))
        return tuple(results)

    return run


@pytest.fixture(scope="session")
def assert_same():
    """``assert_same(cython_value, numpy_value, rtol, atol)`` over nested tuples/lists/arrays."""

    def check(a, b, rtol, atol=0.0, path="result"):
        if isinstance(a, (tuple, list)):
            assert isinstance(b, (tuple, list)) and len(a) == len(b), f"{path}: structure differs"
            for i, (x, y) in enumerate(zip(a, b)):
                check(x, y, rtol, atol, f"{path}[{i}]")
            return
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        assert a.shape == b.shape, f"{path}: shapes {a.shape} (cython) and {b.shape} (numpy)"
        np.testing.assert_allclose(
            a, b, rtol=rtol, atol=atol, err_msg=f"{path}: cython (actual) vs numpy (desired)"
        )

    return check


# --- optional packages --------------------------------------------------------------------

MISSING = "optional package not installed: "
# Peers compared with only when installed by hand, never by [test] (PyTorch alone is GBs):
# skips for these are opt-in, not a missing install step.
OPT_IN = ("torch", "jax", "jaxlib", "numba")
_missing_skips = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "requires(*modules): skip unless these optional packages can be imported"
    )
    config.addinivalue_line(
        "markers",
        "torch: compare with PyTorch itself; runs only where torch is installed (opt-in: "
        "not a missing package in CI)",
    )


def pytest_runtest_setup(item):
    for marker in item.iter_markers("requires"):
        absent = [m for m in marker.args if importlib.util.find_spec(m) is None]
        if absent:
            pytest.skip(MISSING + ", ".join(absent))
    if item.get_closest_marker("torch") and importlib.util.find_spec("torch") is None:
        pytest.skip(MISSING + "torch")  # torch is in OPT_IN: not counted as missing


def _skip_reason(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return ""


def _note_missing(report):
    reason = _skip_reason(report)
    if reason.startswith(MISSING):
        modules = reason[len(MISSING) :].split(", ")
    elif reason.startswith("could not import"):
        modules = [reason.split("'")[1]] if "'" in reason else [reason]
    else:
        return
    if not all(m.split(".")[0] in OPT_IN for m in modules):
        _missing_skips.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report):
    _note_missing(report)


def pytest_collectreport(report):
    _note_missing(report)


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_terminal_summary(terminalreporter):
    if _missing_skips and _in_ci():
        terminalreporter.section("skipped for a missing package (CI=true: a failure)")
        for line in _missing_skips:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    if _missing_skips and _in_ci() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
