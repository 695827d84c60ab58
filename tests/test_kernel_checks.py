"""Every kernel entry point compares the buffers it is handed with the spec, before any pointer
is taken, and both backends refuse a buffer that does not fit with the same error.

The compiled backend's refusals run in a separate interpreter: a check that goes missing is
then a crash this test reports (with its signal), not a dead test run.
"""

import json
import os
import re
import subprocess
import sys
from typing import Callable, NamedTuple

import numpy as np
import pytest

from nnfast import _reference
from nnfast._spec import (
    ADAM,
    CROSS_ENTROPY,
    IDENTITY,
    MSE,
    SIGMOID,
    SOFTMAX,
    TANH,
    Hyper,
    OptimizerState,
    Spec,
)

SPEC = Spec((3, 4, 2), (TANH, SOFTMAX), CROSS_ENTROPY)
N = 5


def valid_args(kernel, module):
    """Keyword arguments that ``module.<kernel>`` accepts."""
    rng = np.random.default_rng(0)
    params = rng.normal(size=SPEC.n_params)
    X = rng.normal(size=(N, 3))
    Y = np.eye(2)[rng.integers(0, 2, N)]
    if kernel == "forward":
        return dict(spec=SPEC, params=params, X=X, out=np.zeros((N, 2)))
    if kernel == "evaluate":
        return dict(spec=SPEC, params=params, X=X, Y=Y, sample_weight=np.ones(N))
    if kernel == "loss_and_gradient":
        return dict(
            spec=SPEC,
            params=params,
            X=X,
            Y=Y,
            l1=0.0,
            l2=0.1,
            grad=np.zeros(SPEC.n_params),
            sample_weight=np.ones(N),
        )
    if kernel == "train_epochs":
        hyper = Hyper(0.1, momentum=0.9, dropout=(0.0,))
        return dict(
            spec=SPEC,
            params=params,
            X=X,
            Y=Y,
            n_epochs=2,
            batch_size=2,
            shuffle=True,
            state=OptimizerState(SPEC.n_params, hyper),
            hyper=hyper,
            rng=np.random.default_rng(1),
            workspace=module.Workspace(SPEC, N, 2),
            history_out=np.zeros((2, 2)),
            sample_weight=np.ones(N),
        )
    assert kernel == "perceptron_epochs"
    return dict(
        X=X,
        y=np.array([0, 1, 1, 0, 1], dtype=np.intp),
        params=np.zeros(4),
        learning_rate=0.1,
        max_epochs=3,
        shuffle=True,
        rng=np.random.default_rng(1),
        order=np.arange(N, dtype=np.intp),
        errors_out=np.zeros(3, dtype=np.intp),
        boundary_out=np.zeros((3, 4)),
    )


class Case(NamedTuple):
    kernel: str
    change: Callable  # (args, module) -> None: spoils one argument
    error: type
    pattern: str  # what the message must say


def put(**values):
    return lambda args, module: args.update(values)


def state(**arrays):
    def change(args, module):
        for name, value in arrays.items():
            setattr(args["state"], name, value)

    return change


def workspace(spec=SPEC, n=N, batch=2, order=None):
    def change(args, module):
        args["workspace"] = module.Workspace(spec, n, batch)
        if order is not None:
            args["workspace"].order[:] = order

    return change


TRAIN = ("forward", "evaluate", "loss_and_gradient", "train_epochs")
CASES = {
    **{
        f"{k}-params-length": Case(
            k, put(params=np.zeros(1)), ValueError, r"params must have 26 values .*, got 1\."
        )
        for k in TRAIN
    },
    **{
        f"{k}-params-float32": Case(
            k,
            lambda a, m: a.update(params=a["params"].astype("f4")),
            ValueError,
            r"params must be a C-contiguous float64 array",
        )
        for k in TRAIN
    },
    **{
        f"{k}-params-strided": Case(
            k,
            lambda a, m: a.update(params=np.repeat(a["params"], 2)[::2]),
            ValueError,
            r"params .*not C-contiguous",
        )
        for k in TRAIN
    },
    **{
        f"{k}-params-none": Case(k, put(params=None), TypeError, r"params must be a NumPy array")
        for k in TRAIN
    },
    **{
        f"{k}-X-columns": Case(
            k,
            put(X=np.ones((N, 4))),
            ValueError,
            r"X must have 3 columns \(the network's input size\), got 4\.",
        )
        for k in TRAIN
    },
    **{
        f"{k}-X-1d": Case(k, put(X=np.ones(3)), ValueError, r"X must be .* 2 dimension")
        for k in TRAIN
    },
    **{
        f"{k}-Y-shape": Case(
            k, put(Y=np.ones((N, 3))), ValueError, r"Y must have shape \(5, 2\) .*, got \(5, 3\)\."
        )
        for k in TRAIN[1:]
    },
    **{
        f"{k}-Y-rows": Case(k, put(Y=np.ones((N + 1, 2))), ValueError, r"Y must have shape")
        for k in TRAIN[1:]
    },
    **{
        f"{k}-no-rows": Case(
            k,
            put(X=np.ones((0, 3)), Y=np.ones((0, 2))),
            ValueError,
            r"X must have at least one row",
        )
        for k in TRAIN[1:]
    },
    **{
        f"{k}-weights-length": Case(
            k,
            put(sample_weight=np.ones(N - 1)),
            ValueError,
            r"sample_weight must have 5 values .*, got 4\.",
        )
        for k in TRAIN[1:]
    },
    "spec-activations": Case(
        "forward",
        put(spec=Spec((3, 4, 2), (TANH,), MSE)),
        ValueError,
        r"spec.activations must have 2 codes",
    ),
    "spec-hidden-softmax": Case(
        "forward",
        put(spec=Spec((3, 4, 2), (SOFTMAX, SIGMOID), MSE)),
        ValueError,
        r"softmax only as the output",
    ),
    "spec-loss": Case(
        "evaluate",
        put(spec=Spec((3, 4, 2), (TANH, SIGMOID), 9)),
        ValueError,
        r"spec.loss must be one of",
    ),
    "spec-size": Case(
        "forward",
        put(spec=Spec((3, 0, 2), (TANH, SIGMOID), MSE)),
        ValueError,
        r"spec.sizes must be",
    ),
    "forward-out-shape": Case(
        "forward", put(out=np.zeros((N, 3))), ValueError, r"out must have shape \(5, 2\)"
    ),
    "forward-out-readonly": Case(
        "forward", lambda a, m: a["out"].setflags(write=False), ValueError, r"out must be writeable"
    ),
    "gradient-grad-length": Case(
        "loss_and_gradient",
        put(grad=np.zeros(25)),
        ValueError,
        r"grad must have 26 values .*, got 25\.",
    ),
    "train-params-readonly": Case(
        "train_epochs",
        lambda a, m: a["params"].setflags(write=False),
        ValueError,
        r"params must be writeable",
    ),
    "train-velocity": Case(
        "train_epochs",
        state(m=np.zeros(1)),
        ValueError,
        r"state.m must have 26 values \(one per parameter.*got 1\.",
    ),
    "train-adam-v": Case(
        "train_epochs",
        lambda a, m: (
            a.update(hyper=Hyper(0.1, optimizer=ADAM)),
            setattr(a["state"], "v", np.zeros(3)),
        ),
        ValueError,
        r"state.v must have 26 values",
    ),
    "train-step": Case(
        "train_epochs",
        state(step=np.zeros(0, dtype=np.int64)),
        ValueError,
        r"state.step must have 1 value",
    ),
    "train-step-dtype": Case(
        "train_epochs",
        state(step=np.zeros(1)),
        ValueError,
        r"state.step must be a C-contiguous int64 array",
    ),
    "train-dropout": Case(
        "train_epochs",
        put(hyper=Hyper(0.1, dropout=(0.1, 0.2))),
        ValueError,
        r"hyper.dropout must have 1 rates",
    ),
    "train-epochs": Case("train_epochs", put(n_epochs=-1), ValueError, r"n_epochs must be >= 0"),
    "train-batch": Case("train_epochs", put(batch_size=0), ValueError, r"batch_size >= 1"),
    "train-history-rows": Case(
        "train_epochs",
        put(history_out=np.zeros((1, 2))),
        ValueError,
        r"history_out must have shape .*got \(1, 2\)",
    ),
    "train-history-columns": Case(
        "train_epochs",
        put(history_out=np.zeros((2, 3))),
        ValueError,
        r"history_out must have shape",
    ),
    "train-workspace-network": Case(
        "train_epochs",
        workspace(spec=Spec((3, 5, 2), (TANH, SOFTMAX), CROSS_ENTROPY)),
        ValueError,
        r"workspace must be built for this spec",
    ),
    "train-workspace-activation": Case(
        "train_epochs",
        workspace(spec=Spec((3, 4, 2), (IDENTITY, SOFTMAX), CROSS_ENTROPY)),
        ValueError,
        r"workspace must be built for this spec",
    ),
    "train-workspace-rows": Case(
        "train_epochs", workspace(n=N + 3), ValueError, r"workspace must be built for X's 5 rows"
    ),
    "train-workspace-batch": Case(
        "train_epochs",
        workspace(batch=1),
        ValueError,
        r"batches of at least 2, got one for 5 rows and batches of 1",
    ),
    "train-workspace-order": Case(
        "train_epochs",
        workspace(order=[0, 1, 2, 3, 99]),
        ValueError,
        r"workspace.order must hold row indices of X \(0 to 4\)",
    ),
    "perceptron-params": Case(
        "perceptron_epochs",
        put(params=np.zeros(3)),
        ValueError,
        r"params must have 4 values \(a weight per column of X",
    ),
    "perceptron-y": Case(
        "perceptron_epochs", put(y=np.zeros(4, dtype=np.intp)), ValueError, r"y must have 5 labels"
    ),
    "perceptron-y-dtype": Case(
        "perceptron_epochs", put(y=np.zeros(N)), ValueError, r"y must be a C-contiguous int64 array"
    ),
    "perceptron-order": Case(
        "perceptron_epochs",
        put(order=np.arange(4, dtype=np.intp)),
        ValueError,
        r"order must have 5 values",
    ),
    "perceptron-order-range": Case(
        "perceptron_epochs",
        put(order=np.array([0, 1, 2, 3, -1], dtype=np.intp)),
        ValueError,
        r"order must hold row indices of X \(0 to 4\), got -1 to 3",
    ),
    "perceptron-errors": Case(
        "perceptron_epochs",
        put(errors_out=np.zeros(2, dtype=np.intp)),
        ValueError,
        r"errors_out must have max_epochs \(3\) values",
    ),
    "perceptron-boundary": Case(
        "perceptron_epochs",
        put(boundary_out=np.zeros((3, 3))),
        ValueError,
        r"boundary_out must have shape .* \(>= 3, 4\)",
    ),
    "perceptron-epochs": Case(
        "perceptron_epochs", put(max_epochs=-2), ValueError, r"max_epochs must be >= 0"
    ),
}


def refusal(module, case):
    """(error type, message) of module.<kernel> on the spoiled arguments; None if accepted."""
    args = valid_args(case.kernel, module)
    case.change(args, module)
    try:
        getattr(module, case.kernel)(**args)
    except Exception as exc:  # the test compares what was raised
        return [type(exc).__name__, str(exc)]
    return None


RUN_COMPILED = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("kernel_checks", sys.argv[1])
checks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(checks)
from nnfast import _kernels
results = {}
for name, case in checks.CASES.items():
    print(name, file=sys.stderr, flush=True)  # the last name is the one that crashed
    results[name] = checks.refusal(_kernels, case)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def compiled_refusals(cython_kernels):
    """Every case on the compiled backend, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_COMPILED, os.path.abspath(__file__)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["?"]
        pytest.fail(
            f"the compiled kernels crashed or failed (exit {proc.returncode}) on case "
            f"{last[0]!r}:\n{proc.stderr[-2000:]}"
        )
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", CASES)
def test_both_backends_refuse_identically(name, compiled_refusals):
    case = CASES[name]
    reference = refusal(_reference, case)
    assert reference is not None, "the reference accepted it"
    assert reference[0] == case.error.__name__, reference
    assert re.search(case.pattern, reference[1]), reference[1]
    assert compiled_refusals[name] == reference


@pytest.mark.parametrize("module_name", ["cython", "numpy"])
def test_refused_training_leaves_everything_as_it_was(module_name, request):
    module = request.getfixturevalue("cython_kernels") if module_name == "cython" else _reference
    args = valid_args("train_epochs", module)
    args["history_out"] = np.zeros((1, 2))  # too short for 2 epochs
    before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
    rng_state = args["rng"].bit_generator.state
    with pytest.raises(ValueError, match="history_out"):
        module.train_epochs(**args)
    for k, v in before.items():
        np.testing.assert_array_equal(args[k], v, err_msg=k)
    assert args["rng"].bit_generator.state == rng_state
    assert args["state"].step[0] == 0


@pytest.mark.parametrize("module_name", ["cython", "numpy"])
def test_valid_arguments_are_accepted(module_name, request):
    """The cases spoil one argument of calls that run."""
    module = request.getfixturevalue("cython_kernels") if module_name == "cython" else _reference
    for kernel in TRAIN + ("perceptron_epochs",):
        getattr(module, kernel)(**valid_args(kernel, module))


@pytest.mark.parametrize("module_name", ["cython", "numpy"])
def test_workspace_refuses_empty_sizes(module_name, request):
    module = request.getfixturevalue("cython_kernels") if module_name == "cython" else _reference
    for n, batch in ((0, 1), (3, 0)):
        with pytest.raises(ValueError, match="n_samples >= 1 and batch_size >= 1"):
            module.Workspace(SPEC, n, batch)


WRONG_PARAMETERS = """
import numpy as np
import nnfast
from nnfast import _kernels
from nnfast._spec import Hyper, OptimizerState
net = nnfast.Network([200, 500, 10], seed=0)
X, Y = np.ones((3, 200)), np.full((3, 10), 0.1)
short = np.zeros(1)
calls = {
    "forward": lambda: _kernels.forward(net.spec, short, X, np.empty((3, 10))),
    "evaluate": lambda: _kernels.evaluate(net.spec, short, X, Y),
    "loss_and_gradient": lambda: _kernels.loss_and_gradient(net.spec, short, X, Y, 0, 0, None),
    "train_epochs": lambda: _kernels.train_epochs(
        net.spec, short, X, Y, 1, 1, True, OptimizerState(1), Hyper(0.1),
        np.random.default_rng(0), _kernels.Workspace(net.spec, 3, 1), np.zeros((1, 2))),
    "perceptron_epochs": lambda: _kernels.perceptron_epochs(
        X, np.zeros(3, np.intp), short, 0.1, 1, False, np.random.default_rng(0),
        np.arange(3), np.zeros(1, np.intp), np.zeros((1, 201))),
}
for name, call in calls.items():
    try:
        call()
    except ValueError as exc:
        assert "params must have" in str(exc), (name, exc)
    else:
        raise SystemExit(f"{name} accepted a parameter buffer of one value")
print("refused")
"""


def test_a_wrong_parameter_buffer_is_refused_not_a_crash(cython_kernels):
    """The issue's crash: a one-value parameter buffer for a large network, handed to each
    compiled kernel directly."""
    proc = subprocess.run(
        [sys.executable, "-c", WRONG_PARAMETERS], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "refused"
