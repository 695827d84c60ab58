"""The compiled backend against the NumPy reference, over random networks (hypothesis).

Both backends draw shuffles and dropout masks from the same bit generator in the same order,
so everything agrees to floating-point rounding: forward passes to 1e-12, losses and
gradients to 1e-10, weights after several epochs of training to 1e-9.
"""

import contextlib
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import nnfast
from nnfast import _reference, activations, schedules
from nnfast._spec import ADAM, ADAM_SKLEARN, SGD_SKLEARN, SKLEARN, Hyper, OptimizerState

#: The differentiable hidden activations (every one the package has).
HIDDEN = tuple(a for a in activations.ACTIVATIONS if a not in ("step", "exp", "softmax"))
OUTPUT_LOSS = (
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    ("identity", "mae"),
    ("tanh", "mae"),
    ("identity", "huber"),
    ("softplus", "huber"),
    ("exp", "poisson"),
)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Case(NamedTuple):
    sizes: list
    activation: object  # one name, or one per hidden layer
    output: str
    loss: str
    init: str
    n: int
    batch_size: object  # int or None
    seed: int

    def network(self):
        return nnfast.Network(
            self.sizes,
            activation=self.activation,
            output_activation=self.output,
            loss=self.loss,
            init=self.init,
            seed=self.seed,
        )

    def data(self):
        rng = np.random.default_rng(self.seed + 1)
        X = rng.normal(size=(self.n, self.sizes[0]))
        k = self.sizes[-1]
        if self.loss == "cross_entropy":
            if rng.random() < 0.5:
                Y = nnfast.one_hot(rng.integers(0, k, self.n), k)
            else:  # soft labels (rows sum to 1)
                Y = rng.dirichlet(np.ones(k), self.n)
        elif self.loss == "binary_cross_entropy":
            Y = rng.integers(0, 2, (self.n, k)).astype(float)
            if rng.random() < 0.5:
                Y = rng.random((self.n, k))
        elif self.loss == "poisson":
            Y = rng.poisson(1.5, (self.n, k)).astype(float)
        else:
            Y = rng.normal(size=(self.n, k))
        return X, Y


@st.composite
def cases(draw, max_n=40, max_hidden=4, inits=("auto", "auto", "normal")):
    n_hidden = draw(st.integers(1, max_hidden))
    sizes = (
        [draw(st.integers(1, 8))]
        + [draw(st.integers(1, 12)) for _ in range(n_hidden)]
        + [draw(st.integers(1, 5))]
    )
    if draw(st.booleans()):
        activation = draw(st.sampled_from(HIDDEN))
    else:
        activation = [draw(st.sampled_from(HIDDEN)) for _ in range(n_hidden)]
    output, loss = draw(st.sampled_from(OUTPUT_LOSS))
    if output == "softmax" and sizes[-1] == 1:  # refused: a softmax over one output is 1
        sizes[-1] = draw(st.integers(2, 5))
    init = draw(st.sampled_from(inits))
    n = draw(st.integers(1, max_n))
    batch_size = draw(st.sampled_from([1, 2, 3, 5, 7, 16, None]))
    seed = draw(st.integers(0, 2**31))
    return Case(sizes, activation, output, loss, init, n, batch_size, seed)


# --- forward, loss, gradient ----------------------------------------------------------------


@FAST
@given(case=cases(max_n=300))
def test_forward_parity(case, on_both, assert_same):
    net = case.network()
    X, _ = case.data()
    cy, ref = on_both(net.feedforward, X)
    assert cy.shape == (case.n, case.sizes[-1])
    assert np.isfinite(cy).all()
    assert_same(cy, ref, rtol=1e-12, atol=1e-14)


@FAST
@given(case=cases(), l1=st.sampled_from([0.0, 0.01, 0.3]), l2=st.sampled_from([0.0, 0.02, 1.0]))
@example(  # output tanh at 1 - 5e-10: a one-ulp difference moves f' by 1e-7
    case=Case([1, 9, 12, 8, 1], ["tanh", "tanh", "leaky_relu"], "tanh", "mae", "normal", 1, 1, 0),
    l1=0.0,
    l2=0.0,
)
def test_loss_and_gradient_parity(case, l1, l2, cython_kernels, assert_same):
    net = case.network()
    X, Y = case.data()
    results = []
    for module in (cython_kernels, _reference):
        grad = np.full(net.spec.n_params, np.nan)  # every entry must be written
        loss = module.loss_and_gradient(net.spec, net.parameters, X, Y, l1, l2, grad)
        loss_only = module.loss_and_gradient(net.spec, net.parameters, X, Y, l1, l2, None)
        assert loss_only == loss
        results.append((loss, grad))
    (loss_c, grad_c), (loss_r, grad_r) = results
    assert np.isfinite(grad_c).all()
    assert_same(loss_c, loss_r, rtol=1e-10, atol=1e-300)
    nudged = np.empty_like(grad_r)
    with saturated_units_nudged():
        _reference.loss_and_gradient(net.spec, net.parameters, X, Y, l1, l2, nudged)
    rtol = max(1e-10, saturation_rtol(net, X))  # a unit near saturation: see there
    bound = rtol * np.abs(grad_r) + 1e-12 * np.abs(grad_r).max() + 2 * np.abs(nudged - grad_r)
    assert np.all(np.abs(grad_c - grad_r) <= bound), (grad_c, grad_r, bound)


@FAST
@given(case=cases())
@example(  # output tanh at exactly 1.0 in NumPy, one ulp below in libm
    case=Case([1, 12, 1, 10, 1], "relu", "tanh", "mse", "normal", n=13, batch_size=1, seed=286)
)
def test_evaluate_and_public_loss_parity(case, cython_kernels, on_both, assert_same):
    net = case.network()
    X, Y = case.data()
    (loss_c, acc_c) = cython_kernels.evaluate(net.spec, net.parameters, X, Y)
    (loss_r, acc_r) = _reference.evaluate(net.spec, net.parameters, X, Y)
    assert_same(loss_c, loss_r, rtol=1e-10)
    if case.loss not in ("binary_cross_entropy", "cross_entropy"):  # no accuracy
        assert np.isnan(acc_c) and np.isnan(acc_r)
    else:
        assert acc_c == acc_r
        assert 0.0 <= acc_c <= 1.0
    public = on_both(net.loss, X, Y)
    assert_same(public[0], public[1], rtol=1e-10)
    assert_same(public[0], loss_r, rtol=1e-10)
    grads = on_both(net.gradients, X, Y)
    scale = max(np.abs(g).max() for g in grads[1][0] + grads[1][1])
    rtol = max(1e-10, saturation_rtol(net, X))
    for group, (cy, ref, slack) in enumerate(zip(*grads, saturation_atol(net, X, Y))):
        for layer, (a, b, s) in enumerate(zip(cy, ref, slack)):
            bound = rtol * np.abs(b) + 1e-12 * scale + s
            assert np.all(np.abs(a - b) <= bound), (
                f"gradients[{group}][{layer}]: cython {a} vs numpy {b}, bound {bound}"
            )


@contextlib.contextmanager
def saturated_units_nudged():
    """The reference with tanh and sigmoid values at exactly +-1 moved one ulp inwards, as
    libm may round them where NumPy rounds to 1: f' = 1 - a**2 is then 0 in one backend and
    about 2e-16 in the other."""
    table = _reference.ELEMENTWISE
    saved = {code: table[code] for code in (_reference.TANH, _reference.SIGMOID)}
    for code, (f, df) in saved.items():

        def nudged(z, alpha=None, f=f):
            a = f(z, alpha)
            return np.where(np.abs(a) == 1.0, np.nextafter(a, 0.0), a)

        table[code] = (nudged, df)
    try:
        yield
    finally:
        table.update(saved)


def saturation_atol(net, X, Y):
    """Per-entry difference that the saturated units' f' (0 in one backend, about 2e-16 in
    the other) can make: twice what the nudge changes in the reference's gradients."""
    with nnfast.use_backend("numpy"):
        exact = net.gradients(X, Y)
        with saturated_units_nudged():
            nudged = net.gradients(X, Y)
    return [[2 * np.abs(a - b) for a, b in zip(*pair)] for pair in zip(exact, nudged)]


def saturation_rtol(net, X):
    """Relative gradient difference that a one-ulp difference between the backends' tanh or
    sigmoid values can cause: f'(z) = 1 - a**2 or a (1 - a) loses the digits a shares with
    1 as a unit saturates (libm's and NumPy's tanh may differ in the last bit). Units at
    exactly 1 have f' = 0 here and at most 1e-16 there: saturation_atol covers them. Never
    above 1e-6, so that no case goes unchecked."""
    names = [*net.activations, net.output_activation]
    margins, a = [np.inf], X
    for W, b, name in zip(net.weights, net.biases, names):
        z = a @ W + b
        if name == "tanh":
            a = np.tanh(z)
            margins.append(1 - np.abs(a))
        elif name == "sigmoid":
            a = 1 / (1 + np.exp(-z))
            margins.append(1 - a)
        elif name == "relu":
            a = z * (z > 0)
        elif name == "softmax":
            a = np.exp(z - z.max(axis=1, keepdims=True))
            a /= a.sum(axis=1, keepdims=True)
        else:
            a = nnfast.activations.get(name)(z)
    positive = np.concatenate([np.ravel(m) for m in margins])
    margin = positive[positive > 0].min()
    return min(1e-6, 8 * np.finfo(float).eps / margin)


@pytest.mark.parametrize("n", [255, 256, 257, 600])
def test_forward_parity_across_row_chunks(n, on_both, assert_same):
    """Inference runs in blocks of rows: every block, the last one partial, is computed."""
    net = nnfast.Network([5, 9, 4], activation="relu", loss="cross_entropy", seed=6)
    X = np.random.default_rng(n).normal(size=(n, 5))
    out = on_both(net.feedforward, X)
    assert_same(*out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[0].sum(axis=1), 1.0, rtol=1e-14)
    assert len(np.unique(out[0][:, 0])) == n  # no block left unwritten or repeated


def test_step_hidden_layer_parity(on_both, assert_same):
    """The perceptron's step activation as a hidden layer (outputs only; f' = 0)."""
    net = nnfast.Network([3, 6, 5, 2], activation=["step", "tanh"], seed=4)
    X = np.random.default_rng(0).normal(size=(50, 3))
    Y = np.random.default_rng(1).normal(size=(50, 2))
    out = on_both(net.feedforward, X)
    assert_same(*out, rtol=1e-12, atol=1e-14)
    grads = on_both(net.gradients, X, Y)
    assert_same(*grads, rtol=1e-10, atol=1e-14)
    assert not grads[0][0][0].any()  # nothing flows back through a step


# --- training -------------------------------------------------------------------------------


def train_both(case, on_both, in_hypothesis=True, **options):
    """Train identical copies on each backend; returns ((params, history, rng), ...) pairs."""
    net = case.network()
    X, Y = case.data()

    def fit(net):
        rng = np.random.default_rng(case.seed + 2)
        history = net.train(X, Y, batch_size=case.batch_size, seed=rng, **options)
        return net.parameters.copy(), history, rng

    cy, ref = on_both(lambda: fit(net.copy()))
    # Parity is a claim about rounding. A run that overflows (rare at these rates) amplifies
    # rounding without bound; divergence has its own tests (test_network, test_stability).
    finite = np.isfinite(ref[1].loss).all() and np.isfinite(ref[0]).all()
    if in_hypothesis:
        assume(finite)
    assert finite
    return cy, ref


def assert_same_training(cy, ref, assert_same, rtol=1e-9):
    (p_c, h_c, rng_c), (p_r, h_r, rng_r) = cy, ref
    assert np.isfinite(p_c).all()
    # relative to the parameters' scale: a weight near 0 carries the rounding of its neighbours
    assert_same(p_c, p_r, rtol=rtol, atol=rtol * max(1.0, np.abs(p_r).max()))
    assert len(h_c.loss) == len(h_r.loss)
    assert_same(h_c.loss, h_r.loss, rtol=rtol)
    assert h_c.accuracy == h_r.accuracy
    assert_same(h_c.learning_rate, h_r.learning_rate, rtol=1e-15)
    # the same number of draws (shuffles, dropout masks) from the shared bit generator
    assert rng_c.bit_generator.state == rng_r.bit_generator.state


OPTIONS = {  # learning rates small enough that training is stable, not chaotic
    "sgd": dict(learning_rate=0.02),
    "momentum": dict(learning_rate=0.005, optimizer=nnfast.SGD(momentum=0.9)),
    "nesterov": dict(learning_rate=0.005, optimizer=nnfast.SGD(momentum=0.8, nesterov=True)),
    "adam": dict(learning_rate=0.005, optimizer="adam"),
    "adam_custom": dict(
        learning_rate=0.002, optimizer=nnfast.Adam(beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    ),
    "adamw": dict(learning_rate=0.005, optimizer=nnfast.AdamW(weight_decay=0.1)),
    "rmsprop": dict(learning_rate=0.002, optimizer="rmsprop"),
    "rmsprop_centered_momentum": dict(
        learning_rate=0.001, optimizer=nnfast.RMSprop(rho=0.9, momentum=0.5, centered=True)
    ),
    "adagrad": dict(learning_rate=0.02, optimizer=nnfast.Adagrad(initial_accumulator_value=0.1)),
    "l1": dict(learning_rate=0.02, l1=0.01),
    "l2": dict(learning_rate=0.02, l2=0.1),
    "dropout": dict(learning_rate=0.01, dropout=0.3),
    "exponential": dict(learning_rate=0.03, lr_schedule=schedules.ExponentialDecay(0.9, 3)),
    "exponential_staircase": dict(
        learning_rate=0.03, lr_schedule=schedules.ExponentialDecay(0.5, 2, staircase=True)
    ),
    "exponential_epoch": dict(
        learning_rate=0.03, lr_schedule=schedules.ExponentialDecay(0.7, 2, per="epoch")
    ),
    "inverse_time": dict(learning_rate=0.03, lr_schedule=schedules.InverseTimeDecay(0.5, 2)),
    "inverse_time_epoch": dict(
        learning_rate=0.03, lr_schedule=schedules.InverseTimeDecay(1.0, 1, per="epoch")
    ),
    "step_decay": dict(learning_rate=0.03, lr_schedule=schedules.StepDecay(drop=0.5, every=2)),
    "cosine": dict(
        learning_rate=0.03, lr_schedule=schedules.CosineDecay(6, alpha=0.1, warmup_steps=2)
    ),
    "cosine_epoch": dict(
        learning_rate=0.03, lr_schedule=schedules.CosineDecay(3, warmup_steps=1, per="epoch")
    ),
    "one_cycle": dict(learning_rate=0.03, lr_schedule=schedules.OneCycle()),
    "one_cycle_epoch": dict(
        learning_rate=0.03,
        optimizer="adam",
        lr_schedule=schedules.OneCycle(per="epoch", pct_start=0.5),
    ),
    "plateau": dict(
        learning_rate=0.03,
        lr_schedule=schedules.ReduceOnPlateau(factor=0.5, patience=1, min_delta=10.0),
    ),
    "everything": dict(
        learning_rate=0.005,
        optimizer=nnfast.SGD(momentum=0.5, nesterov=True),
        l1=0.001,
        l2=0.01,
        dropout=0.2,
        lr_schedule=schedules.ExponentialDecay(0.95, 2),
    ),
    "no_shuffle": dict(learning_rate=0.02, shuffle=False),
    "clip_norm": dict(learning_rate=0.05, clip_norm=0.1),
    "clip_value": dict(learning_rate=0.05, optimizer="adam", clip_value=0.02, l2=0.01),
    "clip_both": dict(
        learning_rate=0.05,
        optimizer=nnfast.SGD(momentum=0.9),
        clip_norm=0.2,
        clip_value=0.05,
        dropout=0.2,
    ),
}


@pytest.mark.filterwarnings("ignore:(overflow|invalid value|Training diverged):RuntimeWarning")
@pytest.mark.parametrize("option", OPTIONS)
@settings(FAST, max_examples=15)
@given(case=cases(max_n=30, max_hidden=3, inits=("auto",)))
def test_training_parity(option, case, on_both, assert_same):
    cy, ref = train_both(case, on_both, epochs=4, **OPTIONS[option])
    assert_same_training(cy, ref, assert_same)


@pytest.mark.filterwarnings("ignore:(overflow|invalid value|Training diverged):RuntimeWarning")
@settings(FAST, max_examples=20)
@given(
    case=cases(max_n=30, max_hidden=3, inits=("auto",)),
    rates=st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.6]), min_size=3, max_size=3),
)
def test_dropout_per_layer_parity(case, rates, on_both, assert_same):
    rates = rates[: len(case.sizes) - 2]
    cy, ref = train_both(case, on_both, epochs=3, learning_rate=0.01, dropout=rates)
    assert_same_training(cy, ref, assert_same)


def test_per_epoch_calls_match_one_call(on_both, assert_same):
    """A run split into one kernel call per epoch (a callback forces it) equals one long call:
    the sample order, optimizer state and bit generator carry over between calls."""
    case = Case([4, 7, 5, 3], ["tanh", "relu"], "softmax", "cross_entropy", "auto", 23, 4, 11)

    class Noop(nnfast.Callback):
        pass

    options = dict(
        epochs=5,
        learning_rate=0.02,
        optimizer="adam",
        dropout=0.2,
        lr_schedule=schedules.InverseTimeDecay(0.3, 4),
    )
    chunked = train_both(case, on_both, False, **options)
    stepped = train_both(case, on_both, False, callbacks=[Noop()], **options)
    assert_same_training(*chunked, assert_same)
    assert_same_training(*stepped, assert_same)
    for (p1, h1, r1), (p2, h2, r2) in zip(chunked, stepped):
        np.testing.assert_array_equal(p1, p2)
        assert h1.loss == h2.loss
        assert r1.bit_generator.state == r2.bit_generator.state


def test_validation_and_early_stopping_parity(on_both, assert_same):
    case = Case([3, 6, 2], "sigmoid", "sigmoid", "binary_cross_entropy", "auto", 40, 5, 3)
    X, Y = case.data()

    def fit():
        net = case.network()
        h = net.train(
            X[:30],
            Y[:30],
            epochs=8,
            learning_rate=0.5,
            batch_size=5,
            seed=7,
            validation_data=(X[30:], Y[30:]),
            early_stopping=nnfast.EarlyStopping(patience=2, restore_best=True),
        )
        return net.parameters.copy(), h

    (p_c, h_c), (p_r, h_r) = on_both(fit)
    assert len(h_c.val_loss) == len(h_r.val_loss) >= 1
    assert_same(h_c.val_loss, h_r.val_loss, rtol=1e-10)
    assert h_c.val_accuracy == h_r.val_accuracy
    assert h_c.best_epoch == h_r.best_epoch and h_c.stopped_epoch == h_r.stopped_epoch
    assert_same(p_c, p_r, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:(overflow|invalid value|Training diverged):RuntimeWarning")
@pytest.mark.parametrize("option", ["sgd", "momentum", "dropout"])
@settings(FAST, max_examples=25)
@given(
    case=cases(max_n=12, max_hidden=2, inits=("auto",)),
    widths=st.lists(st.integers(1, 13), min_size=4, max_size=4),
    weighted=st.booleans(),
)
def test_per_sample_parity_across_block_widths(
    option, case, widths, weighted, on_both, assert_same
):
    """Per-sample SGD runs register-blocked layers: 4 units at a time, then the 3, 2 or 1
    left, with inputs of 1-4 unrolled; every width and input count from 1 to 13 (several
    blocks and every remainder) against the reference, with and without sample weights."""
    sizes = widths[: len(case.sizes)]
    if case.output == "softmax":  # a softmax over one output is refused
        sizes[-1] = max(sizes[-1], 2)
    case = case._replace(sizes=sizes, batch_size=1)
    w = np.random.default_rng(case.seed).uniform(0.2, 3.0, case.n) if weighted else None
    cy, ref = train_both(case, on_both, epochs=3, sample_weight=w, **OPTIONS[option])
    assert_same_training(cy, ref, assert_same)


# --- the kernels' exp --------------------------------------------------------------------


def test_exp_is_within_about_half_an_ulp(cython_kernels):
    """The compiled backend's inline exp against 40-digit decimal exp: at most 0.52 ulp (libm's
    is ~0.51) over |x| < 512 and near 0; beyond, libm's exp."""
    from decimal import Decimal, localcontext

    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            rng.uniform(-512, 512, 3000),
            rng.uniform(-1, 1, 1000),
            rng.uniform(-1e-9, 1e-9, 100),
            [0.0, -0.0, 511.9, -511.9, 1e-300],
        ]
    )
    out = np.empty_like(x)
    cython_kernels.exp_values(x, out)
    with localcontext() as ctx:
        ctx.prec = 40
        ulps = [
            abs(Decimal(o) - Decimal(v).exp()) / Decimal(float(np.spacing(o)))
            for o, v in zip(out.tolist(), x.tolist())
        ]
    assert float(max(ulps)) <= 0.52
    special = np.array([-np.inf, np.inf, np.nan, 512.0, -600.0, 709.5, 710.0, -720.0, -746.0])
    out = np.empty_like(special)
    cython_kernels.exp_values(special, out)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, np.exp(special))
    with pytest.raises(ValueError, match="out must have x's length 9"):
        cython_kernels.exp_values(special, out[:3])


# --- the input checks' scan for NaN and infinity -----------------------------------------

NON_FINITE = (np.nan, np.inf, -np.inf, -np.nan)
EXTREMES = np.array(
    [
        np.finfo(float).max,
        -np.finfo(float).max,
        np.finfo(float).tiny,
        5e-324,
        -5e-324,
        0.0,
        -0.0,
        1.0,
        2.0**1023,
    ]
)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 5000), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_finite_scan_matches_numpy(cython_kernels, n, seed, data):
    """``finite`` (blocks of 2048 values, a bit test per value) against np.isfinite: extreme
    finite values never count as non-finite, one NaN or infinity anywhere always does."""
    x = np.random.default_rng(seed).choice(EXTREMES, n)
    assert cython_kernels.finite(x)
    where = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    x[where] = data.draw(st.sampled_from(NON_FINITE))
    assert not cython_kernels.finite(x)
    assert cython_kernels.finite(x[:0])


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("bad", NON_FINITE)
def test_finite_scan_of_large_arrays_on_a_team(cython_kernels, threads, bad):
    """Arrays of 2^20 values and more are scanned in parts, one per thread of the team: a
    non-finite value is found in each part, at its edges, and in the last, shorter block."""
    saved = cython_kernels.team_settings(threads=threads)
    try:
        n = (1 << 20) + 2049
        x = np.ones(n)
        assert cython_kernels.finite(x)
        edges = [n * t // threads + e for t in range(1, threads) for e in (-1, 0)]
        for at in sorted({0, n // 2, n - 2049, n - 1, *edges}):
            x[at] = bad
            assert not cython_kernels.finite(x), at
            x[at] = 1.0
        assert cython_kernels.finite(x)
    finally:
        cython_kernels.team_settings(**saved)


def test_input_checks_find_nan_on_any_layout():
    """The checks find NaN in arrays the compiled scan takes (C-contiguous float64) and in
    those NumPy scans (a Fortran-ordered view, float32)."""
    from nnfast._validation import all_finite

    x = np.ones((300, 7))
    assert all_finite(x) and all_finite(x.T) and all_finite(x.astype(np.float32))
    x[123, 4] = np.nan
    assert not all_finite(x) and not all_finite(x.T)
    assert not all_finite(x.astype(np.float32))


def test_sigmoid_parity_at_extremes(on_both):
    """The compiled sigmoid is 1 / (1 + exp(-z)), the reference's exp(z) / (1 + exp(z)) for
    negative z: they agree to rounding everywhere, subnormal outputs (z < -708) included."""
    net = nnfast.Network([1, 1], output_activation="sigmoid", seed=0)
    net.parameters[:] = [1.0, 0.0]
    X = np.array(
        [
            [-750.0],
            [-720.0],
            [-708.5],
            [-707.0],
            [-600.0],
            [-30.0],
            [-1e-9],
            [0.0],
            [30.0],
            [600.0],
            [750.0],
        ]
    )
    cy, ref = on_both(lambda: net.feedforward(X))
    np.testing.assert_allclose(cy, ref, rtol=1e-14, atol=1e-320)


def test_unshuffled_batches_follow_a_resumed_order(on_both, assert_same):
    """Without shuffling, batches read the rows where they lie, but only while the sample
    order is the identity: a run resumed after shuffled epochs keeps that order."""
    net = nnfast.Network([3, 5, 2], activation="tanh", loss="cross_entropy", seed=1)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(20, 3)), nnfast.one_hot(rng.integers(0, 2, 20), 2)

    def fit(net):
        seed = np.random.default_rng(3)
        net.train(X, Y, epochs=2, batch_size=4, learning_rate=0.05, seed=seed)
        net.train(
            X, Y, epochs=2, batch_size=4, learning_rate=0.05, seed=seed, shuffle=False, resume=True
        )
        return net.parameters.copy()

    cy, ref = on_both(lambda: fit(net.copy()))
    assert_same(cy, ref, rtol=1e-12, atol=1e-14)


# --- the shuffle: NumPy's Generator.shuffle, draw for draw ----------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 17, 1000])
@pytest.mark.parametrize(
    "bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64]
)
def test_shuffle_matches_generator_shuffle(n, bit_generator, cython_kernels):
    net = nnfast.Network([2, 3, 1], seed=0)
    X = np.random.default_rng(0).normal(size=(n, 2))
    Y = np.zeros((n, 1))
    hyper = Hyper(learning_rate=1e-12)
    expected = np.arange(n)
    expected_rng = np.random.Generator(bit_generator(1234))
    orders = {}
    for module in (cython_kernels, _reference):
        ws = module.Workspace(net.spec, n, n)
        rng = np.random.Generator(bit_generator(1234))
        state = OptimizerState(net.spec.n_params)
        params = net.parameters.copy()
        out = np.zeros((3, 2))
        seen = []
        for calls in (2, 1):  # three epochs in two calls: the order persists across calls
            assert (
                module.train_epochs(
                    net.spec, params, X, Y, calls, n, True, state, hyper, rng, ws, out
                )
                == calls
            )
            seen.append(np.array(ws.order))
        orders[module.name] = (seen, rng.random())
    for _ in range(2):
        expected_rng.shuffle(expected)
    first = expected.copy()
    expected_rng.shuffle(expected)
    expected_after = expected_rng.random()
    for name, (seen, after) in orders.items():
        np.testing.assert_array_equal(seen[0], first, err_msg=name)
        np.testing.assert_array_equal(seen[1], expected, err_msg=name)
        assert after == expected_after, f"{name}: the generator advanced differently"


def test_shuffle_visits_samples_in_the_drawn_order(cython_kernels):
    """Batches follow the shuffled order: per-sample SGD on distinct targets differs by order."""
    net = nnfast.Network([1, 1], activation=[], seed=0)
    X = np.arange(5.0).reshape(-1, 1)
    Y = np.arange(5.0).reshape(-1, 1) ** 2
    results = []
    for module, shuffle in ((cython_kernels, True), (_reference, True), (cython_kernels, False)):
        params = net.parameters.copy()
        rng = np.random.default_rng(5)
        module.train_epochs(
            net.spec,
            params,
            X,
            Y,
            1,
            1,
            shuffle,
            OptimizerState(2),
            Hyper(learning_rate=0.01),
            rng,
            module.Workspace(net.spec, 5, 1),
            np.zeros((1, 2)),
        )
        results.append(params)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13)
    assert not np.allclose(results[0], results[2], rtol=1e-6)


# --- the BLAS path --------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_large_layer_uses_blas_and_matches_reference(
    optimizer, cython_kernels, on_both, assert_same
):
    # SGD steps each layer inside its weight-gradient GEMM (beta = 1, or beta = momentum
    # into the velocity; no gradient buffer); Nesterov goes through the gradient buffer and
    # the update sweep
    sizes, batch = [30, 200, 10], 64
    assert batch * sizes[0] * sizes[1] >= cython_kernels.get_gemm_threshold()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 30))
    labels = rng.integers(0, 10, 256)
    net = nnfast.Network(sizes, activation="relu", loss="cross_entropy", seed=1)

    def fit(net):
        h = net.train(
            X,
            labels,
            epochs=2,
            learning_rate=0.05,
            batch_size=batch,
            seed=3,
            optimizer={
                "sgd": "sgd",
                "momentum": nnfast.SGD(momentum=0.9),
                "nesterov": nnfast.SGD(momentum=0.9, nesterov=True),
            }[optimizer],
        )
        return net.parameters.copy(), h.loss, net.feedforward(X)

    cy, ref = on_both(lambda: fit(net.copy()))
    assert_same(cy, ref, rtol=1e-9, atol=1e-12)
    grads = on_both(net.gradients, X, labels)
    assert_same(*grads, rtol=1e-10, atol=1e-14)


@pytest.fixture
def gemm_threshold(cython_kernels):
    saved = cython_kernels.get_gemm_threshold()
    yield cython_kernels.set_gemm_threshold
    cython_kernels.set_gemm_threshold(saved)
    assert cython_kernels.get_gemm_threshold() == saved


@pytest.mark.parametrize("l2", [0.0, 0.01])  # 0: plain SGD, the in-place step per layer
@pytest.mark.parametrize("sizes, batch", [([30, 200, 10], 64), ([3, 5, 4, 2], 3), ([8, 40, 1], 17)])
def test_blas_and_fused_loops_agree(sizes, batch, l2, gemm_threshold, cython_kernels, assert_same):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, sizes[0]))
    Y = rng.normal(size=(100, sizes[-1]))
    net = nnfast.Network(sizes, activation="tanh", seed=5)

    def run():
        with nnfast.use_backend("cython"):
            out = net.feedforward(X)
            grad = np.empty(net.spec.n_params)
            loss = cython_kernels.loss_and_gradient(net.spec, net.parameters, X, Y, 0.01, 0.1, grad)
            trained = net.copy()
            h = trained.train(
                X, Y, epochs=3, learning_rate=0.01, batch_size=batch, seed=0, l2=l2, dropout=0.1
            )
        return out, loss, grad, trained.parameters.copy(), h.loss

    gemm_threshold(0)
    assert cython_kernels.get_gemm_threshold() == 0
    blas = run()
    gemm_threshold(2**62)
    fused = run()
    assert_same(blas, fused, rtol=1e-9, atol=1e-12)
    with nnfast.use_backend("numpy"):
        reference = net.feedforward(X)
    assert_same(blas[0], reference, rtol=1e-12, atol=1e-13)
    assert_same(fused[0], reference, rtol=1e-12, atol=1e-13)


def test_sgd_steps_in_place_without_a_gradient_buffer(cython_kernels):
    net = nnfast.Network([4, 6, 3], seed=0)
    X, Y = np.ones((10, 4)), np.full((10, 3), 0.5)
    for hyper, made in [
        (Hyper(learning_rate=0.1), False),
        (Hyper(learning_rate=0.1, momentum=0.9), False),
        (Hyper(learning_rate=0.1, momentum=0.9, nesterov=True), True),
        (Hyper(learning_rate=0.1, l2=0.01), True),
        (Hyper(learning_rate=0.1, optimizer=ADAM), True),
    ]:
        ws = cython_kernels.Workspace(net.spec, 10, 5)
        cython_kernels.train_epochs(
            net.spec,
            net.parameters.copy(),
            X,
            Y,
            2,
            5,
            True,
            OptimizerState(net.spec.n_params, hyper),
            hyper,
            np.random.default_rng(0),
            ws,
            np.zeros((2, 2)),
        )
        assert (ws.grad is not None) == made


def test_gemm_threshold_round_trips(gemm_threshold, cython_kernels):
    gemm_threshold(12345)
    assert cython_kernels.get_gemm_threshold() == 12345


# --- scikit-learn's convention (the MLP estimators' batches) --------------------------------

SKLEARN_OPTIMIZERS = {
    "sgd": dict(optimizer=SGD_SKLEARN),
    "momentum": dict(optimizer=SGD_SKLEARN, momentum=0.9),
    "nesterov": dict(optimizer=SGD_SKLEARN, momentum=0.9, nesterov=True),
    "adam": dict(optimizer=ADAM_SKLEARN, learning_rate=0.005),
}


@pytest.mark.filterwarnings("ignore:(overflow|invalid value):RuntimeWarning")
@pytest.mark.parametrize("optimizer", SKLEARN_OPTIMIZERS)
@settings(FAST, max_examples=25)
@given(
    case=cases(max_n=30, max_hidden=3, inits=("auto",)),
    l1=st.sampled_from([0.0, 0.01]),
    l2=st.sampled_from([0.0, 0.1, 2.0]),
    weighted=st.booleans(),
)
def test_sklearn_convention_parity(optimizer, case, l1, l2, weighted, cython_kernels):
    """train_epochs with Hyper.convention SKLEARN: the compiled loop (any batch size, the
    last batch shorter, one-row batches included) against the reference's sklearn_batch."""
    X, Y = case.data()
    net = case.network()
    spec = net.spec
    w = np.random.default_rng(case.seed).uniform(0.2, 3.0, case.n) if weighted else None
    hyper = Hyper(
        **{
            "learning_rate": 0.02,
            "l1": l1,
            "l2": l2,
            "convention": SKLEARN,
            **SKLEARN_OPTIMIZERS[optimizer],
        }
    )
    batch = case.batch_size or case.n
    results = []
    for kernels in (cython_kernels, _reference):
        params = net.parameters.copy()
        state = OptimizerState(spec.n_params, hyper)
        ws = kernels.Workspace(spec, case.n, batch)
        out = np.zeros((3, 2))
        rng = np.random.default_rng(case.seed)
        kernels.train_epochs(spec, params, X, Y, 3, batch, True, state, hyper, rng, ws, out, w)
        results.append((params, out[:, 0], state.m, state.v))
    (p_c, loss_c, m_c, v_c), (p_r, loss_r, m_r, v_r) = results
    np.testing.assert_allclose(p_c, p_r, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(p_r).max()))
    np.testing.assert_allclose(loss_c, loss_r, rtol=1e-9)
    np.testing.assert_allclose(m_c, m_r, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(v_c, v_r, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_sklearn_convention_one_batch_by_hand(backend, request):
    """One full batch of scikit-learn's squared error over two outputs, by hand: loss
    (0.5 mean over outputs of the squared error, weighted, + alpha / 2 ||W||^2 / S) and
    step (W -= lr (X^T (w (p - y)) + alpha W) / S), on both backends."""
    spec = nnfast.Network([2, 2], activation="identity", output_activation="identity").spec
    X = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    w = np.array([1.0, 2.0, 0.5])
    W0, b0 = np.array([[0.1, -0.2], [0.3, 0.4]]), np.array([0.05, -0.05])
    alpha, lr, S = 0.3, 0.1, w.sum()
    P = X @ W0 + b0
    loss = (w * 0.5 * ((P - Y) ** 2).mean(axis=1)).sum() / S + 0.5 * alpha * (W0**2).sum() / S
    D = w[:, None] * (P - Y)
    W1 = W0 - lr * (X.T @ D + alpha * W0) / S
    b1 = b0 - lr * D.sum(axis=0) / S
    hyper = Hyper(learning_rate=lr, optimizer=SGD_SKLEARN, l2=alpha, convention=SKLEARN)
    kernels = request.getfixturevalue("cython_kernels") if backend == "cython" else _reference
    params = np.concatenate([W0.ravel(), b0])
    out = np.zeros((1, 2))
    state, rng = OptimizerState(6, hyper), np.random.default_rng(0)
    ws = kernels.Workspace(spec, 3, 3)
    kernels.train_epochs(spec, params, X, Y, 1, 3, False, state, hyper, rng, ws, out, w)
    np.testing.assert_allclose(out[0, 0], loss, rtol=1e-14)
    np.testing.assert_allclose(params, np.concatenate([W1.ravel(), b1]), rtol=1e-14)
