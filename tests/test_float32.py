"""float32 end to end: the compiled float32 module (nnfast._kernels32) against the NumPy
reference computing in float32, both against float64 at the same point, and
``Network(dtype="float32")`` on top of them (the last section).

Tolerances follow from float32's epsilon, eps = 2**-23, and the network's depth L (its
number of layers). Each layer rounds every value a few times (the partial sums of its dot
products, its activation), which is worth perturbing its inputs by a few eps; a sum over n
rows (the loss, the gradient) adds rounding that grows like log2(n) in blocked and pairwise
sums; each training step rounds the parameters once more. So a float32 result may differ
from float64's at the same point (the float32 inputs, widened) by

- forward outputs: 8 eps L (v + c);
- loss and gradient: 8 eps L log2(2n) (v + c); where a tanh or sigmoid unit saturates, its
  f'(z) = 1 - a**2 or a (1 - a) keeps only the digits a does not share with 1, so with m
  the smallest 1 - |a| over such units the gradient's factor is at least 8 eps / m
  (tests/test_parity.py's float64 rule; tanh's own error is up to 2.2 ulp);
- parameters and losses after training (S steps): 8 eps L S max(1, largest parameter);

where v is the largest value of the result and c its condition: how far float64's result
moves, per eps, when every input and parameter is perturbed by a relative eps (measured, as
the largest change over a few random perturbations). c matters where a sum cancels (an
output or a loss near 0 made of larger terms); elsewhere it is at most about v.

Each float32 backend is held to these against float64, and the two float32 backends against
each other. The worst cases measured over hundreds of random networks sit 2.5 to 10 times
inside them (bench/RESULTS.md), while a formula off by one part in 10^5, ten times
float32's rounding, fails them.
"""

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import nnfast
from nnfast import _backend, _reference, activations
from nnfast._spec import (
    ADAGRAD,
    ADAM,
    ADAMW,
    BINARY_CROSS_ENTROPY,
    CONSTANT,
    CROSS_ENTROPY,
    ELU,
    EXPONENTIAL,
    GELU,
    IDENTITY,
    INVERSE_TIME,
    LEAKY_RELU,
    MSE,
    RELU,
    RMSPROP,
    SIGMOID,
    SILU,
    SOFTMAX,
    SOFTPLUS,
    STEP,
    TANH,
    Hyper,
    OptimizerState,
)

EPS = float(np.finfo(np.float32).eps)
F32 = np.float32
KERNELS = (
    "forward",
    "layer_outputs",
    "loss_and_gradient",
    "evaluate",
    "train_epochs",
    "perceptron_epochs",
)
#: The differentiable hidden activations (every one the package has).
HIDDEN = tuple(a for a in activations.ACTIVATIONS if a not in ("step", "exp", "softmax"))
# the pairs the training comparison draws: its tolerances are derived for these losses (MAE's
# sign(d) flips between precisions at a residual within rounding of 0)
TRAINING_PAIRS = (
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
)
OUTPUT_LOSS = TRAINING_PAIRS + (
    ("identity", "mae"),
    ("tanh", "mae"),
    ("identity", "huber"),
    ("softplus", "huber"),
    ("exp", "poisson"),
)
# optimizers whose step is normalised by the gradients' size (see adam_slack)
NORMALISED = (ADAM, ADAMW, RMSPROP, ADAGRAD)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="session")
def k32(cython_kernels):
    """The compiled float32 module (skipped, or failed when required, without the build)."""
    return _backend.kernels("cython", "float32")


def forward_tol(L):
    return 8 * EPS * L


def sum_tol(L, n):
    return 8 * EPS * L * math.log2(2 * n)


def train_tol(L, steps):
    return 8 * EPS * L * steps


def assert_close(got, want, tol, scale, what, slack=0.0):
    """max |got - want| <= tol * scale, reported in units of eps; ``slack``: more room for
    each entry (0, or an array of got's shape)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shapes {got.shape} and {want.shape}"
    err = float((np.abs(got - want) - slack).max()) if got.size else 0.0
    beyond = " beyond the slack" if np.any(slack) else ""
    assert err <= tol * scale, (
        f"{what}: max |diff|{beyond} {err:.3g} = {err / scale / EPS:.2f} eps "
        f"x {scale:.3g}, allowed {tol / EPS:.1f} eps"
    )


def condition(fn, *arrays, trials=4):
    """How far fn(*arrays) (float64) moves per eps when every array entry is perturbed by a
    relative eps: the largest change over ``trials`` random perturbations, over eps."""
    arrays = at(np.float64, *arrays)
    base = np.asarray(fn(*arrays), np.float64)
    rng, moved = np.random.default_rng(0), 0.0
    for _ in range(trials):
        shaken = [
            None if a is None else a * (1 + EPS * rng.uniform(-1, 1, a.shape)) for a in arrays
        ]
        moved = max(moved, float(np.abs(np.asarray(fn(*shaken), np.float64) - base).max()))
    return moved / EPS


def saturation_tol(spec, params, X):
    """8 eps / m, m the smallest 1 - |a| > 0 over the tanh, sigmoid and softmax units'
    outputs (in float64 at the float32 point): the relative error f'(z) = 1 - a**2 or
    a (1 - a) (softmax's Jacobian too) takes from a's last bits as the unit saturates (0
    when no unit does)."""
    weights, biases = spec.unpack(params.astype(np.float64))
    a, margins = X.astype(np.float64), [np.inf]
    for W, b, code in zip(weights, biases, spec.activations):
        a = _reference.activate(code, a @ W + b)
        if code in (TANH, SIGMOID, SOFTMAX):
            gap = 1.0 - np.abs(a)
            margins.append(gap[gap > 0].min(initial=np.inf))
    return 8 * EPS / min(margins)


def cancellation(spec, params, X, Y, w=None):
    """The size of the terms the cross-entropies' losses cancel (ln sum exp z and y.z per row;
    max(z, 0) and y z per element), as their (weighted) mean in float64 at the float32
    point: float32's rounding of those terms stays however small the loss is (0 for the
    other losses, which ``condition`` covers)."""
    if spec.loss not in (CROSS_ENTROPY, BINARY_CROSS_ENTROPY):
        return 0.0
    weights, biases = spec.unpack(params.astype(np.float64))
    a = X.astype(np.float64)
    for W, b, code in zip(weights[:-1], biases[:-1], spec.activations[:-1]):
        a = _reference.activate(code, a @ W + b)
    z, y = a @ weights[-1] + biases[-1], Y.astype(np.float64)
    if spec.loss == CROSS_ENTROPY:
        lse = np.logaddexp.reduce(z, axis=1)
        terms = np.abs(lse * y.sum(axis=1)) + np.abs(y * z).sum(axis=1)
    else:
        terms = (np.maximum(z, 0.0) + np.abs(y * z)).mean(axis=1)
    rows = np.ones(len(terms)) if w is None else w.astype(np.float64)
    return float(np.sum(rows * terms) / np.sum(rows))


def training_conditions(spec, X, Y, w, *points):
    """The largest ``condition`` of the (weighted) mean loss and of its gradient over the
    parameter vectors ``points``: how far rounding moves the losses a training run reports
    and the gradients its steps take, which a fit close to its targets (a - y, a small
    difference of large values) magnifies."""

    def loss64(params, X, Y, w):
        return _reference.loss_and_gradient(spec, params, X, Y, 0.0, 0.0, None, w)

    def gradient64(params, X, Y, w):
        grad = np.empty(spec.n_params)
        _reference.loss_and_gradient(spec, params, X, Y, 0.0, 0.0, grad, w)
        return grad

    return (
        max(condition(loss64, p, X, Y, w) for p in points),
        max(condition(gradient64, p, X, Y, w) for p in points),
        max(largest(gradient64(*at(np.float64, p, X, Y, w))) for p in points),
    )


def adam_slack(spec, params, X, Y, w, hyper, batch, epochs, gradient_error):
    """Per parameter, how far a normalised optimizer's steps may move apart when every
    gradient entry is off by up to ``gradient_error``: Adam's step lr m / (sqrt(v) + epsilon)
    by up to 2 lr gradient_error / (sqrt(v) + epsilon) (RMSprop's and Adagrad's alike, v
    their sum of squares; RMSprop's momentum carries each step on, 1 / (1 - momentum) in
    all), so a parameter whose gradient is near the rounding level (v small) may step up to
    lr either way. Summed over the steps of the float64 run (the same as the test's), v as
    each step finds it; 0 for the other optimizers."""
    code = hyper.optimizer
    if code not in NORMALISED:
        return 0.0
    rule, room = _reference.OPTIMIZERS[code], []
    carry = 1.0 / (1.0 - hyper.momentum) if code == RMSPROP else 1.0

    def recorded(hyper, lr, t, params, grad, state):
        rule(hyper, lr, t, params, grad, state)
        v = state.v / (1.0 - hyper.beta_2 ** (t + 1)) if code in (ADAM, ADAMW) else state.v
        room.append(2 * carry * lr * gradient_error / (np.sqrt(v) + hyper.epsilon))

    _reference.OPTIMIZERS[code] = recorded
    try:
        train(_reference, spec, params, X, Y, w, hyper, batch, epochs, 7, np.float64)
    finally:
        _reference.OPTIMIZERS[code] = rule
    return np.sum(room, axis=0)


def largest(a, floor=0.0):
    return max(float(np.abs(np.asarray(a, np.float64)).max()), floor, 1e-30)


# --- random networks ------------------------------------------------------------------------


@st.composite
def cases(draw, max_n=300, max_hidden=3, pairs=OUTPUT_LOSS):
    n_hidden = draw(st.integers(0, max_hidden))
    sizes = (
        [draw(st.integers(1, 8))]
        + [draw(st.integers(1, 12)) for _ in range(n_hidden)]
        + [draw(st.integers(1, 5))]
    )
    activation = draw(st.sampled_from(HIDDEN))
    output, loss = draw(st.sampled_from(pairs))
    if output == "softmax" and sizes[-1] == 1:  # refused: a softmax over one output is 1
        sizes[-1] = draw(st.integers(2, 5))
    return dict(
        sizes=sizes,
        activation=activation,
        output=output,
        loss=loss,
        n=draw(st.integers(1, max_n)),
        seed=draw(st.integers(0, 2**31)),
    )


def make(case):
    """(spec, float32 params, X, Y) of a case: the point both precisions start from."""
    net = nnfast.Network(
        case["sizes"],
        activation=case["activation"],
        output_activation=case["output"],
        loss=case["loss"],
        seed=case["seed"],
    )
    rng = np.random.default_rng(case["seed"] + 1)
    n, k = case["n"], case["sizes"][-1]
    X = rng.normal(size=(n, case["sizes"][0]))
    if case["loss"] == "cross_entropy":
        Y = np.eye(k)[rng.integers(0, k, n)] if rng.random() < 0.5 else rng.dirichlet(np.ones(k), n)
    elif case["loss"] == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n, k)).astype(float) if rng.random() < 0.5 else rng.random((n, k))
    elif case["loss"] == "poisson":
        Y = rng.poisson(1.5, (n, k)).astype(float)
    else:
        Y = rng.normal(size=(n, k))
    return net.spec, net.parameters.astype(F32), X.astype(F32), Y.astype(F32)


def at(dtype, *arrays):
    return [None if a is None else np.ascontiguousarray(a, dtype) for a in arrays]


# --- forward, loss, gradient: float32 against float64 at the same point -------------------


@FAST
@given(case=cases())
def test_forward_in_float32_is_float64_to_float32_precision(case, k32):
    spec, params, X, _ = make(case)
    L, n, k = len(case["sizes"]) - 1, case["n"], case["sizes"][-1]

    def forward64(params, X):
        out = np.empty((n, k))
        _reference.forward(spec, params, X, out)
        return out

    truth = forward64(*at(np.float64, params, X))
    scale = largest(truth) + condition(forward64, params, X)
    for module in (k32, _reference):
        out = np.full((n, k), np.nan, F32)
        module.forward(spec, params, X, out)
        assert out.dtype == F32 and np.isfinite(out).all()
        assert_close(out, truth, forward_tol(L), scale, f"{module.name} forward")


@FAST
@given(
    case=cases(),
    l1=st.sampled_from([0.0, 0.01]),
    l2=st.sampled_from([0.0, 0.1]),
    weighted=st.booleans(),
)
@example(  # a 2-output softmax at 0.986: its Jacobian's a (1 - a) takes a's last bits
    case=dict(sizes=[1, 2], activation="sigmoid", output="softmax", loss="mse", n=1, seed=126),
    l1=0.0,
    l2=0.0,
    weighted=False,
)
@example(  # a cross-entropy of 0.066 from terms ln sum exp z and y.z of about 2.2
    case=dict(
        sizes=[1, 2], activation="sigmoid", output="softmax", loss="cross_entropy", n=1, seed=126
    ),
    l1=0.0,
    l2=0.0,
    weighted=False,
)
def test_float32_gradients_against_float64_gradients_at_the_same_point(case, l1, l2, weighted, k32):
    spec, params, X, Y = make(case)
    L, n = len(case["sizes"]) - 1, case["n"]
    w = np.random.default_rng(case["seed"]).uniform(0.2, 3.0, n).astype(F32) if weighted else None

    def loss64(params, X, Y, w):
        return _reference.loss_and_gradient(spec, params, X, Y, l1, l2, None, w)

    def gradient64(params, X, Y, w):
        grad = np.empty(spec.n_params)
        _reference.loss_and_gradient(spec, params, X, Y, l1, l2, grad, w)
        return grad

    def evaluate64(params, X, Y, w):
        return _reference.evaluate(spec, params, X, Y, w)[0]

    grad64 = gradient64(*at(np.float64, params, X, Y, w))
    cancelled = cancellation(spec, params, X, Y, w)
    loss_scale = (
        abs(loss64(*at(np.float64, params, X, Y, w)))
        + condition(loss64, params, X, Y, w)
        + cancelled
    )
    grad_scale = largest(grad64) + condition(gradient64, params, X, Y, w)
    eval_scale = (
        largest(evaluate64(*at(np.float64, params, X, Y, w)))
        + condition(evaluate64, params, X, Y, w)
        + cancelled
    )
    evaluated64 = _reference.evaluate(spec, *at(np.float64, params, X, Y, w))
    tol = sum_tol(L, n)
    grad_tol = max(tol, saturation_tol(spec, params, X))
    for module in (k32, _reference):
        grad = np.full(spec.n_params, np.nan, F32)
        loss = module.loss_and_gradient(spec, params, X, Y, l1, l2, grad, w)
        assert grad.dtype == F32 and np.isfinite(grad).all()
        assert isinstance(loss, float)
        assert_close(
            loss, loss64(*at(np.float64, params, X, Y, w)), tol, loss_scale, f"{module.name} loss"
        )
        assert_close(grad, grad64, grad_tol, grad_scale, f"{module.name} gradient")
        loss_e, accuracy = module.evaluate(spec, params, X, Y, w)
        assert_close(loss_e, evaluated64[0], tol, eval_scale, f"{module.name} evaluate")
        if case["loss"] not in ("binary_cross_entropy", "cross_entropy"):  # no accuracy
            assert np.isnan(accuracy)
        else:  # a prediction at a tie within rounding may fall either way: one of them
            per_row = case["sizes"][-1] if case["loss"] == "binary_cross_entropy" else 1
            total = n if w is None else float(np.sum(w, dtype=np.float64))
            one = (1.0 if w is None else float(w.max())) / (total * per_row)
            assert abs(accuracy - evaluated64[1]) <= one * (1 + 1e-9)


# --- training -------------------------------------------------------------------------------

OPTIONS = {  # learning rates small enough that training is stable, not chaotic
    "sgd": dict(learning_rate=0.02),
    "momentum": dict(learning_rate=0.005, momentum=0.9),
    "nesterov": dict(learning_rate=0.005, momentum=0.8, nesterov=True),
    "adam": dict(learning_rate=0.005, optimizer=ADAM),
    "adam_custom": dict(learning_rate=0.002, optimizer=ADAM, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
    "adamw": dict(learning_rate=0.005, optimizer=ADAMW, weight_decay=0.1),
    # (centered RMSprop divides by sqrt(v - g_avg**2), which cancels as the gradient settles:
    # ill-conditioned in float32; tests/test_optimizers.py compares its steps)
    "rmsprop": dict(learning_rate=0.002, optimizer=RMSPROP, rho=0.9, momentum=0.5),
    "adagrad": dict(learning_rate=0.02, optimizer=ADAGRAD, initial_accumulator_value=0.1),
    "penalty": dict(learning_rate=0.02, l1=0.01, l2=0.1),
    "clipping": dict(learning_rate=0.05, momentum=0.5, clip_norm=0.2, clip_value=0.05),
    "exponential": dict(learning_rate=0.03, schedule=EXPONENTIAL, decay_rate=0.9, decay_steps=3.0),
    "inverse_time": dict(
        learning_rate=0.03, schedule=INVERSE_TIME, decay_rate=0.5, decay_steps=2.0, staircase=True
    ),
    "dropout": dict(learning_rate=0.01),
}


def train(module, spec, params, X, Y, w, hyper, batch, epochs, seed, dtype):
    params = params.astype(dtype)
    state = OptimizerState(spec.n_params, hyper, dtype)
    workspace = module.Workspace(spec, X.shape[0], batch, dtype)
    history = np.zeros((epochs, 2))
    rng = np.random.default_rng(seed)
    done = module.train_epochs(
        spec,
        params,
        *at(dtype, X, Y),
        epochs,
        batch,
        True,
        state,
        hyper,
        rng,
        workspace,
        history,
        *at(dtype, w),
    )
    return params, history, state, rng.bit_generator.state, done


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
@pytest.mark.parametrize("option", OPTIONS)
@settings(FAST, max_examples=25)
@given(
    case=cases(max_n=30, pairs=TRAINING_PAIRS),
    batch=st.sampled_from([1, 2, 5, 16, None]),
    weighted=st.booleans(),
)
@example(  # a tanh output at -0.99994: f' = 1 - a**2 takes a's last float32 bit
    case=dict(sizes=[2, 1], activation="sigmoid", output="tanh", loss="mse", n=1, seed=12),
    batch=1,
    weighted=False,
)
@example(  # a close fit: the loss 1.3e-4 from outputs of order 1
    case=dict(sizes=[1, 2, 1, 1], activation="tanh", output="identity", loss="mse", n=1, seed=572),
    batch=1,
    weighted=False,
)
@example(  # four identity layers: the loss (1e3) feels every layer's rounding, 4 eps and more
    case=dict(
        sizes=[4, 7, 4, 7, 1],
        activation="identity",
        output="identity",
        loss="mse",
        n=3,
        seed=3825866,
    ),
    batch=2,
    weighted=True,
)
@example(  # Adam: a gradient entry at the rounding level takes a step of another size
    case=dict(
        sizes=[3, 12, 8, 2],
        activation="identity",
        output="softmax",
        loss="mse",
        n=4,
        seed=181529183,
    ),
    batch=2,
    weighted=False,
)
@example(  # float64 itself diverges (dropout's 1 / 0.7 through four identity layers)
    case=dict(
        sizes=[8, 2, 4, 8, 1],
        activation="identity",
        output="identity",
        loss="mse",
        n=20,
        seed=1952179763,
    ),
    batch=1,
    weighted=False,
)
def test_training_in_float32_parity(option, case, batch, weighted, k32):
    """Per-sample (batch 1: the register-blocked path) and mini-batch training, every
    optimizer, schedule and penalty, dropout, sample weights: the float32 kernels against
    the float32 reference and both against float64 training from the same point."""
    spec, params, X, Y = make(case)
    L, n = len(case["sizes"]) - 1, case["n"]
    batch = batch or n
    hyper = dict(OPTIONS[option])
    if option == "dropout":
        hyper["dropout"] = (0.3,) * (L - 1)
    hyper = Hyper(**hyper)
    w = np.random.default_rng(case["seed"]).uniform(0.2, 3.0, n) if weighted else None
    epochs = 3
    truth = train(_reference, spec, params, X, Y, w, hyper, batch, epochs, 7, np.float64)
    # stable cases only: float64 itself diverges on some deep identity networks with dropout
    assume(truth[4] == epochs)
    assume(np.isfinite(truth[0]).all() and np.isfinite(truth[1][:, 0]).all())
    steps = epochs * -(-n // batch)
    tol, scale = train_tol(L, steps), largest(truth[0], 1.0)
    loss_condition, gradient_condition, gradient_size = training_conditions(
        spec, X, Y, w, params, truth[0]
    )
    loss_scale = largest(truth[1][:, 0]) + loss_condition
    saturation = max(saturation_tol(spec, params, X), saturation_tol(spec, truth[0], X))
    gradient_error = max(sum_tol(L, batch), saturation) * (gradient_size + gradient_condition)
    slack = adam_slack(spec, params, X, Y, w, hyper, batch, epochs, gradient_error)
    runs = [
        train(module, spec, params, X, Y, w, hyper, batch, epochs, 7, F32)
        for module in (k32, _reference)
    ]
    for module, (p, history, state, rng_state, done) in zip((k32, _reference), runs):
        assert done == epochs, f"{module.name} diverged where float64 did not"
        assert p.dtype == F32 and state.m.dtype == F32 and state.v.dtype == F32
        assert_close(p, truth[0], tol, scale, f"{module.name} parameters", slack)
        assert_close(history[:, 0], truth[1][:, 0], tol, loss_scale, f"{module.name} losses")
        assert rng_state == truth[3]  # the same draws (shuffles, dropout masks)
    (p_c, h_c, s_c, _, _), (p_r, h_r, s_r, _, _) = runs
    assert_close(p_c, p_r, tol, scale, "kernels vs reference, parameters", slack)
    # RMSprop's m holds steps g / sqrt(v), normalised: a gradient near 0 (a cancellation,
    # relatively inexact) still gives a step of order 1; its parameters are compared above
    if s_c.m.size > 1 and hyper.optimizer != RMSPROP:
        # gradients summed with weights adding up to at most ``growth``
        growth = (
            1.0 if hyper.optimizer in (ADAM, ADAMW) else min(steps, 1.0 / (1.0 - hyper.momentum))
        )
        m_tol = max(tol, saturation_tol(spec, params, X), saturation_tol(spec, p_r, X))
        m_scale = largest(s_r.m, 1e-3) + growth * gradient_condition
        assert_close(s_c.m, s_r.m, m_tol, m_scale, "kernels vs reference, m")
    assert s_c.step[0] == s_r.step[0] == truth[2].step[0]


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_float32_team_matches_one_thread_bitwise_without_blas(threads, optimizer, k32):
    """A batch's rows, then its parameters, split over a team: every sum has the same terms
    in the same order, so without BLAS the float32 parameters are bitwise those of one
    thread (the team is nnfast._team, shared with the float64 module)."""
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(150, 7)).astype(F32), rng.integers(0, 4, 150)
    Y = np.eye(4, dtype=F32)[labels]
    spec = nnfast.Network([7, 37, 21, 4], activation="relu", loss="cross_entropy", seed=1).spec
    params = nnfast.Network(
        [7, 37, 21, 4], activation="relu", loss="cross_entropy", seed=1
    ).parameters.astype(F32)
    hyper = Hyper(
        **{
            "sgd": dict(learning_rate=0.05),
            "adam": dict(learning_rate=0.005, optimizer=ADAM),
            "momentum": dict(learning_rate=0.05, momentum=0.9),
        }[optimizer]
    )
    saved, threshold = k32.team_settings(work=0, rows=1), k32.get_gemm_threshold()
    try:
        k32.set_gemm_threshold(1 << 62)
        k32.team_settings(threads=1)
        one = train(k32, spec, params, X, Y, None, hyper, 32, 3, 2, F32)
        assert one[4] == 3
        k32.team_settings(threads=threads)
        team = train(k32, spec, params, X, Y, None, hyper, 32, 3, 2, F32)
        assert k32.team_workers() >= threads - 1
    finally:
        k32.team_settings(**saved)
        k32.set_gemm_threshold(threshold)
    np.testing.assert_array_equal(team[0], one[0])
    np.testing.assert_allclose(team[1], one[1], rtol=1e-14)


# --- the tutorials' numbers in float32 ------------------------------------------------------


def tutorial_params(spec, weights, biases):
    flat = np.concatenate([np.ravel(w) for w in weights] + [np.ravel(b) for b in biases])
    assert flat.size == spec.n_params
    return flat.astype(F32)


def test_tutorial_numbers_in_float32(k32):
    """Victor Zhou's neuron (sigmoid(7)), 2-2-1 network (0.7216...) and dL/dw1 for Alice
    (0.021469...), computed in float32 by both backends: the float64 tests' numbers to
    float32 precision."""
    neuron = nnfast.Network([2, 1], output_activation="sigmoid").spec
    net = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse"
    ).spec
    for module in (k32, _reference):
        out = np.empty((1, 1), F32)
        module.forward(
            neuron, tutorial_params(neuron, [[[0], [1]]], [[4]]), np.array([[2, 3]], F32), out
        )
        assert_close(out[0, 0], 0.9990889488055994, forward_tol(1), 1.0, "neuron")
        module.forward(
            net,
            tutorial_params(net, [[[0, 0], [1, 1]], [[0], [1]]], [[0, 0], [0]]),
            np.array([[2, 3]], F32),
            out,
        )
        assert_close(out[0, 0], 0.7216325609518421, forward_tol(2), 1.0, "2-2-1")
        grad = np.empty(net.n_params, F32)
        module.loss_and_gradient(
            net,
            tutorial_params(net, [np.ones((2, 2)), np.ones((2, 1))], [np.zeros(2), np.zeros(1)]),
            np.array([[-2, -1]], F32),
            np.ones((1, 1), F32),
            0.0,
            0.0,
            grad,
        )
        assert_close(grad[0], 0.021469535265811114, sum_tol(2, 1), 0.021469535265811114, "dL/dw1")


def test_gender_classifier_trains_in_float32_as_in_float64(k32):
    """The tutorial's 1000 epochs of per-sample SGD (4000 steps) in float32: the same
    predictions as float64, its weights to the training rule's precision."""
    spec = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse"
    ).spec
    start = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", seed=1
    ).parameters.astype(F32)
    X = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]], F32)
    Y = np.array([[1], [0], [0], [1]], F32)
    hyper = Hyper(0.1)
    p64, h64, _, _, done = train(_reference, spec, start, X, Y, None, hyper, 1, 1000, 0, np.float64)
    assert done == 1000
    for module in (k32, _reference):
        p, history, _, _, done = train(module, spec, start, X, Y, None, hyper, 1, 1000, 0, F32)
        assert done == 1000
        assert history[-1, 0] < 0.01
        assert_close(p, p64, train_tol(2, 4000), largest(p64, 1.0), f"{module.name} weights")
        out = np.empty((4, 1), F32)
        module.forward(spec, p, X, out)
        np.testing.assert_array_equal(out[:, 0] > 0.5, Y[:, 0] == 1)


# --- fused losses from the logits -----------------------------------------------------------


@pytest.mark.parametrize("z", [1e4, -1e4, 1e3, -1e3, 88.8, -104.0, 30.0, 0.0])
def test_fused_losses_are_finite_from_the_logits_in_float32(z, k32):
    """Sigmoid + binary cross-entropy and softmax + cross-entropy evaluated from the logits:
    no overflow in float32 for |z| up to 1e4, where exp(|z|) is far beyond float32's range,
    and the float64 values to float32 precision."""
    for module in (k32.pieces, _reference):
        zs = np.array([[z, -z], [z / 2, 0.0]], F32)
        ys = np.array([[1, 0], [0, 1]], F32)
        for loss, code in ((BINARY_CROSS_ENTROPY, SIGMOID), (CROSS_ENTROPY, SOFTMAX)):
            total, delta = module.output_delta(loss, code, zs, ys)
            total64, delta64 = _reference.output_delta(
                loss, code, zs.astype(np.float64), ys.astype(np.float64)
            )
            assert np.isfinite(total) and np.isfinite(delta).all(), (loss, z)
            assert np.asarray(delta).dtype == F32
            assert_close(total, total64, 8 * EPS, max(abs(total64), 1e-6), f"loss {loss}")
            assert_close(delta, delta64, 8 * EPS, 1.0, f"delta {loss}")


@pytest.mark.parametrize(
    "loss, output", [("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")]
)
def test_saturated_network_trains_finitely_in_float32(loss, output, k32):
    """A network whose logits reach 1e4: loss, gradient and a training epoch stay finite
    in float32 on both backends."""
    net = nnfast.Network([3, 4, 2], activation="tanh", output_activation=output, loss=loss, seed=0)
    params = net.parameters.astype(F32)
    W2 = params[3 * 4 : net.spec.n_weights].reshape(4, 2)
    W2[:] = [2500.0, -2500.0]  # logits +-2500 x the sum of 4 tanh units: up to +-1e4
    X = np.random.default_rng(0).normal(size=(20, 3)).astype(F32)
    Y = np.eye(2, dtype=F32)[np.arange(20) % 2]
    for module in (k32, _reference):
        grad = np.empty_like(params)
        value = module.loss_and_gradient(net.spec, params, X, Y, 0.0, 0.0, grad)
        assert np.isfinite(value) and value > 100 and np.isfinite(grad).all()
        p, history, _, _, done = train(
            module, net.spec, params, X, Y, None, Hyper(1e-6), 5, 1, 0, F32
        )
        assert done == 1
        assert np.isfinite(history).all() and np.isfinite(p).all()


# --- the float32 exp and log ----------------------------------------------------------------


def every_float(lo, hi, stride):
    """Every ``stride``-th float32 from lo to hi (a dense sample of the floats there)."""

    def order(x):  # floats in order as integers: negative ones mirrored below zero
        i = int(np.array([x], F32).view(np.int32)[0])
        return i if i >= 0 else -(i & 0x7FFFFFFF)

    k = np.arange(order(lo), order(hi) + 1, stride, dtype=np.int64)
    return np.where(k >= 0, k, (-k) | 0x80000000).astype(np.uint32).view(F32)


def ulps(got, exact):
    """|got - exact| in units in the last place of float32 at ``exact``."""
    exact = np.asarray(exact, np.float64)
    e = np.floor(np.log2(np.maximum(np.abs(exact), np.finfo(F32).tiny)))
    return np.abs(got.astype(np.float64) - exact) / np.exp2(np.maximum(e, -126) - 23)


# (function, lowest, highest argument, float64 twin, documented max error in ulp): glibc's
# expf algorithm inline, its sigmoid rounded once from double; libm's logf, log1pf, tanhf
FLOAT32_MATH = [
    ("exp", -103.9, 88.7, np.exp, 0.502),
    ("sigmoid", -103.0, 30.0, lambda x: 1.0 / (1.0 + np.exp(-x)), 0.502),
    ("log", 1e-38, 3e38, np.log, 0.82),
    ("log1p", -0.999, 1e6, np.log1p, 0.82),
    ("tanh", -10.0, 10.0, np.tanh, 2.2),
]


@pytest.mark.parametrize("function, lo, hi, exact, bound", FLOAT32_MATH)
def test_float32_math_is_within_its_documented_ulps(function, lo, hi, exact, bound, k32):
    """Over every 1009th float32 in the range (about two million arguments), against the
    float64 function of the same argument (whose own error is 2**-29 float32 ulp)."""
    x = every_float(lo, hi, 1009)
    out = np.empty_like(x)
    k32.math_values(function, x, out)
    err = ulps(out, exact(x.astype(np.float64)))
    assert err.max() <= bound, (function, x[err.argmax()], err.max())
    assert err.max() > bound / 4  # the sample reaches the function's real worst cases


def test_float32_exp_special_values_and_checks(k32):
    x = np.array(
        [
            -np.inf,
            np.inf,
            np.nan,
            88.0,
            -88.0,
            88.8,
            89.0,
            -87.9,
            -100.0,
            -103.0,
            -104.0,
            -1e4,
            0.0,
            -0.0,
        ],
        F32,
    )
    with np.errstate(over="ignore"):
        rounded = np.exp(x.astype(np.float64)).astype(F32)  # exp, correctly rounded
    out = np.empty_like(x)
    k32.math_values("exp", x, out)
    np.testing.assert_array_equal(out, rounded)
    k32.exp_values(x, out)
    np.testing.assert_array_equal(out, rounded)
    with pytest.raises(ValueError, match="function must be one of"):
        k32.math_values("cos", x, out)
    with pytest.raises(ValueError, match="out must have x's length 14"):
        k32.math_values("exp", x, out[:3])


def test_float32_exp_against_decimal(k32):
    """The inline expf's table and constants, independently: 40-digit decimal exp."""
    x = np.concatenate(
        [np.random.default_rng(0).uniform(-87, 88, 2000), np.linspace(-1e-6, 1e-6, 21)]
    ).astype(F32)
    out = np.empty_like(x)
    k32.exp_values(x, out)
    with localcontext() as ctx:
        ctx.prec = 40
        err = [
            abs(Decimal(float(o)) - Decimal(float(v)).exp()) / Decimal(float(np.spacing(o)))
            for o, v in zip(out, x)
        ]
    assert float(max(err)) <= 0.502


# --- the rest of the float32 module ---------------------------------------------------------


def test_backend_picks_the_module_by_dtype(k32, cython_kernels):
    assert _backend.kernels("cython", "float32") is k32
    assert _backend.kernels("cython", np.float32) is k32 and k32.DTYPE == F32
    assert _backend.kernels("cython") is cython_kernels
    assert _backend.kernels("cython", "float64") is cython_kernels
    assert _backend.kernels("numpy", "float32") is _reference
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32', got 'int64'"):
        _backend.kernels("cython", "int64")
    with pytest.raises(TypeError, match="dtype must be 'float64' or 'float32'"):
        _backend.kernels("cython", "not a dtype")


def test_float32_module_exposes_what_the_float64_one_does(k32, cython_kernels):
    for name in KERNELS + (
        "Workspace",
        "finite",
        "exp_values",
        "math_values",
        "codes",
        "set_gemm_threshold",
        "get_gemm_threshold",
        "team_settings",
    ):
        assert callable(getattr(k32, name)), name
    assert k32.codes() == cython_kernels.codes()
    assert set(vars(k32.pieces)) == set(vars(cython_kernels.pieces))
    assert k32.team_settings is cython_kernels.team_settings  # one team per process
    saved = k32.get_gemm_threshold()  # but a GEMM threshold per precision
    try:
        k32.set_gemm_threshold(7)
        assert cython_kernels.get_gemm_threshold() != 7
    finally:
        k32.set_gemm_threshold(saved)


def test_float32_module_refuses_float64_buffers(k32):
    spec = nnfast.Network([3, 4, 2], seed=0).spec
    params, X, out = np.zeros(spec.n_params, F32), np.zeros((5, 3), F32), np.zeros((5, 2), F32)
    k32.forward(spec, params, X, out)
    for name, args in (
        ("params", (params.astype(float), X, out)),
        ("X", (params, X.astype(float), out)),
        ("out", (params, X, out.astype(float))),
    ):
        with pytest.raises(ValueError, match=f"{name} must be a C-contiguous float32 array"):
            k32.forward(spec, *args)
        # the reference follows X's dtype and refuses the same mixtures
        if name != "X":
            with pytest.raises(ValueError, match=f"{name} must be a C-contiguous float32"):
                _reference.forward(spec, *args)
    with pytest.raises(ValueError, match="dtype must be 'float32' for these kernels"):
        k32.Workspace(spec, 5, 2, "float64")
    assert k32.Workspace(spec, 5, 2).dtype == F32 == k32.Workspace(spec, 5, 2, F32).dtype
    assert k32.Workspace(spec, 5, 2).last_good.dtype == F32
    assert _reference.Workspace(spec, 5, 2, "float32").grad.dtype == F32
    workspace64 = _reference.Workspace(spec, 5, 2)
    hyper = Hyper(0.1)
    args = (spec, params, X, np.zeros((5, 2), F32), 1, 2, False)
    rest = (hyper, np.random.default_rng(0), workspace64, np.zeros((1, 2)))
    for module, error, match in (
        (_reference, ValueError, "workspace must be built for float32"),
        (k32, TypeError, "workspace"),
    ):
        with pytest.raises(error, match=match):
            module.train_epochs(*args, OptimizerState(spec.n_params, hyper, F32), *rest)


def test_float32_finite_scan(k32):
    """The scan's bit test on float32's 8-bit exponent: extremes are finite, one NaN or
    infinity anywhere is found, on one thread and on a team."""
    x = np.array(
        [
            np.finfo(F32).max,
            -np.finfo(F32).max,
            np.finfo(F32).tiny,
            1e-45,
            -1e-45,
            0.0,
            -0.0,
            1.0,
            2.0**127,
        ],
        F32,
    )
    assert k32.finite(x) and k32.finite(x[:0])
    big = np.ones((1 << 20) + 2049, F32)
    for arr in (x.copy(), big):
        for bad in (np.nan, np.inf, -np.inf):
            for at_ in (0, arr.size // 2, arr.size - 1):
                arr[at_] = bad
                assert not k32.finite(arr)
                arr[at_] = 1.0
        assert k32.finite(arr)
    with pytest.raises(ValueError):
        k32.finite(np.ones(3))  # float64: the float64 module's


def test_perceptron_in_float32_is_the_reference_bitwise(k32):
    """The perceptron's sums run in the same order on both sides, in float32 alike."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3)).astype(F32)
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0.1).astype(np.intp)
    results = []
    for module in (k32, _reference):
        params = np.zeros(4, F32)
        order, errors = np.arange(60, dtype=np.intp), np.zeros(50, np.intp)
        lines = np.zeros((50, 4), F32)
        generator = np.random.default_rng(1)
        done = module.perceptron_epochs(
            X, y, params, 0.3, 50, True, generator, order, errors, lines
        )
        results.append((done, params, errors, lines, generator.bit_generator.state))
    (d_c, p_c, e_c, l_c, g_c), (d_r, p_r, e_r, l_r, g_r) = results
    assert d_c == d_r and g_c == g_r and p_c.dtype == F32
    np.testing.assert_array_equal(p_c, p_r)
    np.testing.assert_array_equal(e_c, e_r)
    np.testing.assert_array_equal(l_c, l_r)


# --- the pieces in float32 -------------------------------------------------------------------


def test_float32_pieces_against_the_reference(k32):
    """Each compiled piece in float32 against its twin computing in float32: returned in
    float32, equal to a few roundings (sums over k terms: 8 eps log2(2k))."""
    cy, rng = k32.pieces, np.random.default_rng(0)

    def same(got, want, tol=8 * EPS):
        assert np.asarray(got).dtype == np.asarray(want).dtype
        assert_close(got, want, tol, largest(want, 1e-6), "piece")

    z, y = rng.normal(scale=3, size=(6, 5)).astype(F32), rng.random((6, 5)).astype(F32)
    for code in (
        IDENTITY,
        SIGMOID,
        TANH,
        RELU,
        STEP,
        LEAKY_RELU,
        ELU,
        GELU,
        SOFTPLUS,
        SILU,
        SOFTMAX,
    ):
        same(cy.activate(code, z), _reference.activate(code, z))
    for code in (IDENTITY, SIGMOID, TANH, RELU, STEP, LEAKY_RELU, ELU, GELU, SOFTPLUS, SILU):
        same(cy.derivative(code, z), _reference.derivative(code, z))
    p = _reference.softmax(z)
    same(cy.softmax_backward(p, y), _reference.softmax_backward(p, y))
    for code, loss in (
        (IDENTITY, MSE),
        (SIGMOID, MSE),
        (SOFTMAX, MSE),
        (SIGMOID, BINARY_CROSS_ENTROPY),
        (SOFTMAX, CROSS_ENTROPY),
    ):
        (t_c, d_c), (t_r, d_r) = (
            cy.output_delta(loss, code, z, y),
            _reference.output_delta(loss, code, z, y),
        )
        assert_close(t_c, t_r, 8 * EPS, abs(t_r), "output_delta total")
        same(d_c, d_r)
        assert cy.count_correct(loss, z, y) == _reference.count_correct(loss, z, y)
    spec = nnfast.Network([4, 3, 5], output_activation="softmax", loss="cross_entropy").spec
    w = rng.uniform(0.5, 2, 6).astype(F32)
    for weights in (None, w):
        (t_c, c_c, d_c), (t_r, c_r, d_r) = (
            m.output_step(spec, z, y, weights, 1.3) for m in (cy, _reference)
        )
        assert_close(t_c, t_r, 8 * EPS, abs(t_r), "output_step total")
        assert c_c == pytest.approx(c_r, rel=1e-12)
        same(d_c, d_r)
    params = rng.normal(size=spec.n_params).astype(F32)
    assert cy.penalty(spec, params, 0.1, 0.2) == pytest.approx(
        _reference.penalty(spec, params, 0.1, 0.2), rel=1e-12
    )
    same(
        cy.penalty_gradient(spec, params, 0.1, 0.2),
        _reference.penalty_gradient(spec, params, 0.1, 0.2),
    )
    a, W, b = (rng.normal(size=s).astype(F32) for s in ((6, 9), (9, 5), (5,)))
    same(cy.dense_forward(a, W, b), _reference.dense_forward(a, W, b), 8 * EPS * math.log2(18))
    same(cy.dense_backward(z, W, a), _reference.dense_backward(z, W, a), 8 * EPS * math.log2(10))
    same(cy.weight_gradient(a, z), _reference.weight_gradient(a, z), 8 * EPS * math.log2(12))
    same(cy.bias_gradient(z), _reference.bias_gradient(z), 8 * EPS * math.log2(12))
    for options in (
        dict(),
        dict(momentum=0.9),
        dict(momentum=0.9, nesterov=True),
        dict(optimizer=ADAM),
        dict(optimizer=ADAM, beta_1=0.8, beta_2=0.99),
    ):
        hyper = Hyper(0.05, **options)
        states = [OptimizerState(40, hyper, F32) for _ in range(2)]
        start = rng.normal(size=40).astype(F32)
        ps = [start.copy(), start.copy()]
        for _ in range(3):
            g = rng.normal(size=40).astype(F32)
            cy.update(hyper, ps[0], g, states[0])
            _reference.update(hyper, ps[1], g, states[1])
        same(ps[0], ps[1])
        for moment in ("m", "v"):
            same(getattr(states[0], moment), getattr(states[1], moment))
    hyper = Hyper(0.1, schedule=CONSTANT)
    assert cy.learning_rate_at(hyper, 3) == _reference.learning_rate_at(hyper, 3)
    masks = [m.dropout_mask(np.random.default_rng(4), 3, 7, 0.4) for m in (cy, _reference)]
    assert masks[0].dtype == F32
    np.testing.assert_array_equal(masks[0], masks[1].astype(F32))
    labels = (rng.random(6) > 0.5).astype(np.intp)
    lines = [np.full(10, 0.25, F32) for _ in range(2)]
    mistakes = [
        m.perceptron_pass(a, labels, line, 0.5, np.arange(6, dtype=np.intp))
        for m, line in zip((cy, _reference), lines)
    ]
    assert mistakes[0] == mistakes[1] > 0
    np.testing.assert_array_equal(lines[0], lines[1])


# --- the Python layer: Network(dtype="float32") ---------------------------------------------


def digits_like(n=300, d=12, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, :k].argmax(axis=1) + (X[:, k] > 1)) % k


def test_network_in_float32_keeps_everything_in_float32():
    X, y = digits_like()
    net = nnfast.Network(
        [12, 16, 8, 3], activation="tanh", loss="cross_entropy", seed=3, dtype="float32"
    )
    assert net.dtype == F32 and net.parameters.dtype == F32
    assert all(w.dtype == F32 for w in net.weights) and all(b.dtype == F32 for b in net.biases)
    assert repr(net).endswith("dtype='float32')")
    same_seed = nnfast.Network([12, 16, 8, 3], activation="tanh", loss="cross_entropy", seed=3)
    np.testing.assert_array_equal(net.parameters, same_seed.parameters.astype(F32))
    assert net.feedforward(X).dtype == F32 and net.feedforward(X[0]).dtype == F32
    dW, db = net.gradients(X, y)
    assert all(g.dtype == F32 for g in dW + db)
    assert isinstance(net.loss(X, y), float)
    for optimizer in ("sgd", nnfast.SGD(momentum=0.9), "adam"):
        history = net.train(
            X,
            y,
            epochs=2,
            learning_rate=0.01,
            batch_size=16,
            optimizer=optimizer,
            validation_split=0.2,
        )
        assert net.parameters.dtype == F32 and np.isfinite(history.loss).all()
        assert net._optimizer_state.m.dtype == F32 and net._optimizer_state.v.dtype == F32
    net.parameters = np.zeros(net.spec.n_params)  # float64 values are rounded into place
    assert net.parameters.dtype == F32
    net.weights[0] = np.ones((12, 16))
    assert net.weights[0].dtype == F32 and net.parameters[0] == 1.0


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_network_in_float32_follows_float64_to_float32_precision(backend, cython_kernels):
    """The same network, data and seed in both precisions: losses, gradients and a few
    epochs of training agree to the module docstring's rules."""
    X, y = digits_like()
    nets = {
        dt: nnfast.Network(
            [12, 16, 8, 3], activation="relu", loss="cross_entropy", seed=1, dtype=dt
        )
        for dt in ("float64", "float32")
    }
    with nnfast.use_backend(backend):
        loss = {dt: net.loss(X, y) for dt, net in nets.items()}
        grads = {
            dt: np.concatenate([g.ravel() for g in sum(net.gradients(X, y), [])])
            for dt, net in nets.items()
        }
        start32 = nets["float32"].parameters.astype(np.float64)
        nets["float64"].parameters = start32  # the same point: float32's, widened
        histories = {
            dt: net.train(X, y, epochs=3, learning_rate=0.05, batch_size=30, seed=4)
            for dt, net in nets.items()
        }
    L, n = 3, X.shape[0]
    assert_close(loss["float32"], loss["float64"], 16 * sum_tol(L, n), loss["float64"], "loss")
    assert_close(
        grads["float32"],
        grads["float64"],
        16 * sum_tol(L, n),
        largest(grads["float64"]),
        "gradient",
    )
    steps = 3 * 10
    assert_close(
        nets["float32"].parameters,
        nets["float64"].parameters,
        train_tol(L, steps),
        largest(nets["float64"].parameters, 1.0),
        "trained parameters",
    )
    assert_close(
        histories["float32"].loss, histories["float64"].loss, train_tol(L, steps), 1.0, "losses"
    )


def test_tutorial_network_in_float32():
    """Victor Zhou's 2-2-1 network through the public API in float32: 0.7216... to float32
    precision, and ``explain`` shows the step in float32."""
    net = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros", dtype="float32"
    )
    for W in net.weights:
        W[1, :] = 1.0
    out = net.feedforward([2.0, 3.0])
    assert out.dtype == F32
    assert_close(out[0], 0.7216325609518421, forward_tol(2), 1.0, "2-2-1")
    step = nnfast.explain(net, [2, 3], 1)
    assert_close(step.output[0], 0.7216325609518421, forward_tol(2), 1.0, "explain")
    assert step.layers[0].grad_W.kernel.dtype == F32


def test_network_in_float32_converts_input_once_and_refuses_what_float32_cannot_hold():
    net = nnfast.Network([3, 4, 1], seed=0, dtype="float32")
    X = np.ones((5, 3), F32)
    from nnfast._validation import as_matrix

    assert as_matrix(X, "X", 3, dtype=F32) is X  # already right: used as it is
    with pytest.raises(
        ValueError,
        match=r"X holds values beyond float32's range .*"
        r"dtype='float64'",
    ):
        net.feedforward(np.full((2, 3), 1e39))
    with pytest.raises(ValueError, match="parameters holds values beyond float32's range"):
        net.parameters = np.full(net.spec.n_params, -1e300)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.feedforward(np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32', got 'float16'"):
        nnfast.Network([3, 4, 1], dtype="float16")
    with pytest.raises(TypeError, match="dtype must be 'float64' or 'float32'"):
        nnfast.Network([3, 4, 1], dtype="single precision")
    np.testing.assert_array_equal(net.feedforward(np.ones((2, 3))), net.feedforward(X[:2]))
    net.parameters.dtype = np.int32  # changed in place: refused before any kernel runs
    with pytest.raises(ValueError, match="no longer a writable C-contiguous float32 vector"):
        net.feedforward(X)


def test_network_in_float32_saves_loads_copies_and_pickles_in_float32(tmp_path):
    import pickle

    X, y = digits_like()
    net = nnfast.Network(
        [12, 5, 3], activation="tanh", loss="cross_entropy", seed=2, dtype="float32"
    )
    net.train(X, y, epochs=2, learning_rate=0.1)
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as stored:
        assert stored["parameters"].dtype == F32  # half the file, exactly the values
    for other in (nnfast.load(tmp_path / "net.npz"), net.copy(), pickle.loads(pickle.dumps(net))):
        assert other.dtype == F32 and other.parameters.dtype == F32
        np.testing.assert_array_equal(other.parameters, net.parameters)
        np.testing.assert_array_equal(other.feedforward(X), net.feedforward(X))
    float64 = nnfast.Network([12, 5, 3], seed=2)
    float64.save(tmp_path / "net64.npz")
    assert nnfast.load(tmp_path / "net64.npz").dtype == np.float64
    history = net.train(X, y, epochs=2, learning_rate=0.1, restarts=3, n_jobs=2)
    assert net.parameters.dtype == F32 and len(history.restart_losses) == 3


def test_cli_trains_and_saves_in_float32(tmp_path):
    from nnfast import cli

    model = tmp_path / "model.npz"
    assert cli.main(["train", "--dtype", "float32", "--epochs", "5", "--save", str(model)]) == 0
    assert nnfast.load(model).network.dtype == F32
    assert cli.main(["train", "--dtype", "float16"]) == 2  # a one-line usage error


def test_float32_run_peak_memory_is_about_half_of_float64s():
    """tracemalloc's peak during ``train`` (data, parameters, workspace, optimizer state):
    a float32 run at most 0.55x the float64 run's (indices and records are not halved)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X, y = rng.random((2000, 196)), rng.integers(0, 10, 2000)
    peaks = {}
    for dtype in ("float64", "float32"):
        Xd = X.astype(dtype)
        net = nnfast.Network(
            [196, 128, 128, 10], activation="relu", loss="cross_entropy", seed=0, dtype=dtype
        )
        tracemalloc.start()
        try:
            data = Xd.nbytes + net.parameters.nbytes
            net.train(
                Xd,
                y,
                epochs=1,
                learning_rate=0.01,
                batch_size=128,
                optimizer=nnfast.SGD(momentum=0.9),
            )
            peaks[dtype] = data + tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks["float32"] <= 0.55 * peaks["float64"], peaks
