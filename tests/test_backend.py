"""Backend selection, the fallback without the extension, and the kernels' shared interface."""

import inspect
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import nnfast
from nnfast import _backend, _reference, _spec

KERNELS = ("forward", "layer_outputs", "loss_and_gradient", "evaluate", "train_epochs")


def run_python(code, **env):
    """Run ``python -c code`` in a fresh interpreter; returns the CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if k != "NNFAST_BACKEND"}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        cwd=os.path.dirname(os.path.abspath(__file__)),
        timeout=60,
    )


# --- the build ------------------------------------------------------------------------------


def test_extension_is_built_when_required():
    """CI sets NNFAST_REQUIRE_CYTHON=1: then a missing extension is a failure, not a skip."""
    required = os.environ.get("NNFAST_REQUIRE_CYTHON", "").strip() == "1"
    if _backend._kernels is None:
        assert not required, (
            f"NNFAST_REQUIRE_CYTHON=1 but nnfast._kernels could not be imported: "
            f"{_backend._import_error}"
        )
        pytest.skip(f"nnfast._kernels not built ({_backend._import_error})")
    assert _backend.kernels("cython") is _backend._kernels
    assert _backend._kernels.name == "cython"
    assert _backend._kernels.__file__.endswith((".so", ".pyd"))


# --- get / set / use ------------------------------------------------------------------------


@pytest.fixture
def restore_default():
    saved = _backend._default
    yield
    _backend._default = saved


def test_get_backend_names_a_backend():
    assert nnfast.get_backend() in ("cython", "numpy")
    assert _backend.kernels().name == nnfast.get_backend()


def test_default_is_cython_when_built(cython_kernels):
    if os.environ.get("NNFAST_BACKEND"):
        pytest.skip("NNFAST_BACKEND overrides the default")
    assert nnfast.get_backend() == "cython"


def test_set_backend_switches_process_wide(restore_default, cython_kernels):
    nnfast.set_backend("numpy")
    assert nnfast.get_backend() == "numpy"
    assert _backend.kernels() is _reference
    seen = []
    t = threading.Thread(target=lambda: seen.append(nnfast.get_backend()))
    t.start()
    t.join()
    assert seen == ["numpy"]  # process-wide: other threads see it too
    nnfast.set_backend("cython")
    assert nnfast.get_backend() == "cython"
    assert _backend.kernels() is cython_kernels


@pytest.mark.parametrize("bad", ["torch", "", "numpy2"])
def test_unknown_backend_name_is_a_value_error_listing_choices(bad, restore_default):
    before = nnfast.get_backend()
    with pytest.raises(ValueError, match=r"cython.*numpy"):
        nnfast.set_backend(bad)
    with pytest.raises(ValueError, match=r"cython.*numpy"):
        with nnfast.use_backend(bad):
            pass  # pragma: no cover
    assert nnfast.get_backend() == before


def test_use_backend_restores_on_exit(backend):
    other = "numpy" if backend == "cython" else "cython"
    if other == "cython" and _backend._kernels is None:
        pytest.skip("needs both backends")
    with nnfast.use_backend(other):
        assert nnfast.get_backend() == other
        with nnfast.use_backend(backend):
            assert nnfast.get_backend() == backend
        assert nnfast.get_backend() == other
    assert nnfast.get_backend() == backend


def test_use_backend_restores_on_exception(cython_kernels):
    before = nnfast.get_backend()
    for name in ("numpy", "cython"):
        with pytest.raises(KeyError):
            with nnfast.use_backend(name):
                assert nnfast.get_backend() == name
                raise KeyError("boom")
        assert nnfast.get_backend() == before


def test_use_backend_is_thread_local(cython_kernels):
    before = nnfast.get_backend()
    other = "numpy" if before == "cython" else "cython"
    inside, ready, done = [], threading.Event(), threading.Event()

    def worker():
        inside.append(nnfast.get_backend())  # before the main thread's block
        ready.set()
        done.wait(10)
        inside.append(nnfast.get_backend())  # while the main thread is inside its block
        with nnfast.use_backend(before):
            inside.append(nnfast.get_backend())

    t = threading.Thread(target=worker)
    with nnfast.use_backend(other):
        t.start()
        ready.wait(10)
        done.set()
        t.join(10)
        assert nnfast.get_backend() == other  # the worker's own block did not leak here
    assert inside == [before, before, before]
    assert nnfast.get_backend() == before


def test_training_uses_the_selected_backend(monkeypatch):
    """Network.train goes through kernels() of the backend in use."""
    calls = []
    original = _reference.train_epochs

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(_reference, "train_epochs", spy)
    net = nnfast.Network([2, 3, 1], seed=0)
    with nnfast.use_backend("numpy"):
        net.train(np.ones((4, 2)), np.ones(4), epochs=3, batch_size=2)
    assert calls
    if _backend._kernels is not None:
        calls.clear()
        with nnfast.use_backend("cython"):
            net.train(np.ones((4, 2)), np.ones(4), epochs=3, batch_size=2)
        assert not calls


# --- the environment variable and the missing-extension fallback (fresh interpreters) -------


@pytest.mark.parametrize(
    "value, expected", [("numpy", "numpy"), ("cython", "cython"), (" NumPy ", "numpy")]
)
def test_nnfast_backend_environment_variable(value, expected, request):
    if expected == "cython":
        request.getfixturevalue("cython_kernels")
    proc = run_python("import nnfast; print(nnfast.get_backend())", NNFAST_BACKEND=value)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


def test_nnfast_backend_environment_variable_unknown_name():
    proc = run_python("import nnfast", NNFAST_BACKEND="tensorflow")
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr and "cython" in proc.stderr and "numpy" in proc.stderr
    assert "tensorflow" in proc.stderr


BLOCK_BY_SYS_MODULES = "sys.modules['nnfast._kernels'] = None"
BLOCK_BY_FINDER = """
import importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == 'nnfast._kernels':
            raise ImportError('simulated: extension not built')
        return None
sys.meta_path.insert(0, Block())
"""
WITHOUT_EXTENSION = """
import json, sys, warnings
{block}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import nnfast
    import numpy as np
    net = nnfast.Network([2, 3, 1], seed=0)
    hist = net.train(np.eye(2), [0.0, 1.0], epochs=5, batch_size=1)
    out = net.feedforward([0.5, 0.5])
try:
    nnfast.set_backend('cython')
    error = None
except Exception as exc:
    error = [type(exc).__name__, str(exc)]
print(json.dumps({{
    'backend': nnfast.get_backend(),
    'warnings': [[w.category.__name__, str(w.message)] for w in caught],
    'kernels': nnfast._backend._kernels is None,
    'epochs': len(hist.loss), 'finite': bool(np.isfinite(out).all()),
    'error': error,
}}))
"""


@pytest.mark.parametrize(
    "block", [BLOCK_BY_SYS_MODULES, BLOCK_BY_FINDER], ids=["sys.modules", "meta_path"]
)
def test_import_without_extension_falls_back_with_one_warning(block):
    # NNFAST_REQUIRE_CYTHON=1 (CI) would make the missing extension an ImportError
    proc = run_python(WITHOUT_EXTENSION.format(block=block), NNFAST_REQUIRE_CYTHON="")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["kernels"] is True
    assert result["backend"] == "numpy"
    runtime = [m for c, m in result["warnings"] if c == "RuntimeWarning"]
    assert len(runtime) == 1, result["warnings"]
    assert "NumPy backend" in runtime[0] or "numpy" in runtime[0].lower()
    assert result["epochs"] == 5 and result["finite"]
    # asking for the missing backend is a clear error, not an AttributeError later
    assert result["error"] is not None and result["error"][0] == "RuntimeError"
    assert "cython" in result["error"][1] and "set_backend('numpy')" in result["error"][1]


def test_import_with_extension_does_not_warn(cython_kernels):
    code = (
        "import warnings, json\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import nnfast\n"
        "print(json.dumps([str(x.message) for x in w if 'nnfast' in str(x.message)]))"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


# --- the kernels' shared interface ----------------------------------------------------------


def _parameters(obj):
    sig = inspect.signature(obj)
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("name", KERNELS)
def test_kernels_have_the_same_signature(name, cython_kernels):
    cy, ref = getattr(cython_kernels, name), getattr(_reference, name)
    assert callable(cy) and callable(ref)
    assert _parameters(cy) == _parameters(ref)


def test_workspace_has_the_same_signature(cython_kernels):
    spec = nnfast.Network([3, 4, 2], seed=0).spec
    ref_params = _parameters(_reference.Workspace)
    try:
        cy_params = _parameters(cython_kernels.Workspace)
    except ValueError:
        # A cdef class has no introspectable __init__; check the names by calling with keywords.
        cy_params = None
    if cy_params is not None:
        assert cy_params == ref_params
    kwargs = {p[0]: v for p, v in zip(ref_params, (spec, 7, 3))}
    for module in (cython_kernels, _reference):
        ws = module.Workspace(**kwargs)
        np.testing.assert_array_equal(ws.order, np.arange(7))
        assert ws.order.dtype == np.intp
        assert ws.last_good.shape == (spec.n_params,)
        # the compiled backend makes its gradient buffer only for optimizers that need one
        assert ws.grad is None or ws.grad.shape == (spec.n_params,)
    with pytest.raises(TypeError):
        cython_kernels.Workspace(spec, 7, 3, 1)


def test_both_backends_expose_the_kernel_set(cython_kernels):
    for module in (cython_kernels, _reference):
        for name in KERNELS + ("Workspace",):
            assert callable(getattr(module, name)), (module.name, name)
    assert cython_kernels.name == "cython" and _reference.name == "numpy"


def test_compiled_codes_match_spec(cython_kernels):
    expected = {
        name: getattr(_spec, name)
        for name in (
            "IDENTITY",
            "SIGMOID",
            "TANH",
            "RELU",
            "STEP",
            "SOFTMAX",
            "LEAKY_RELU",
            "ELU",
            "GELU",
            "SOFTPLUS",
            "SILU",
            "EXP",
            "MSE",
            "MAE",
            "HUBER",
            "POISSON",
            "BINARY_CROSS_ENTROPY",
            "CROSS_ENTROPY",
            "SGD",
            "ADAM",
            "ADAMW",
            "RMSPROP",
            "ADAGRAD",
            "SGD_SKLEARN",
            "ADAM_SKLEARN",
            "CONSTANT",
            "EXPONENTIAL",
            "COSINE",
            "ONE_CYCLE",
            "INVERSE_TIME",
            "MEAN",
            "SKLEARN",
        )
    }
    assert cython_kernels.codes() == expected


def test_public_tables_use_the_spec_codes():
    acts = nnfast.activations
    assert {a.name: a.code for a in acts.ACTIVATIONS.values()} == {
        "identity": _spec.IDENTITY,
        "sigmoid": _spec.SIGMOID,
        "tanh": _spec.TANH,
        "relu": _spec.RELU,
        "step": _spec.STEP,
        "softmax": _spec.SOFTMAX,
        "leaky_relu": _spec.LEAKY_RELU,
        "elu": _spec.ELU,
        "gelu": _spec.GELU,
        "softplus": _spec.SOFTPLUS,
        "silu": _spec.SILU,
        "exp": _spec.EXP,
    }
    assert {name: loss.code for name, loss in nnfast.losses.LOSSES.items()} == {
        "mse": _spec.MSE,
        "binary_cross_entropy": _spec.BINARY_CROSS_ENTROPY,
        "cross_entropy": _spec.CROSS_ENTROPY,
        "mae": _spec.MAE,
        "huber": _spec.HUBER,
        "poisson": _spec.POISSON,
    }
