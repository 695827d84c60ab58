"""Every compiled piece on its own, against its reference twin (same name, same section).

``nnfast._reference.PIECES`` names the pieces both backends expose (the compiled one through
thin entry points, ``_kernels.pieces``); like thinc's ``test_ops_consistency`` a test holds
the two to the same names and signatures, then each piece is compared with its twin over
random shapes (hypothesis), and each piece that is a derivative against central differences
of the piece it differentiates, on both backends.
"""

import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnfast
from nnfast import _reference
from nnfast._spec import (
    ADAGRAD,
    ADAM,
    ADAM_SKLEARN,
    ADAMW,
    BINARY_CROSS_ENTROPY,
    CONSTANT,
    COSINE,
    CROSS_ENTROPY,
    ELU,
    EXP,
    EXPONENTIAL,
    GELU,
    HUBER,
    IDENTITY,
    INVERSE_TIME,
    LEAKY_RELU,
    MAE,
    MEAN,
    MSE,
    ONE_CYCLE,
    POISSON,
    RELU,
    RMSPROP,
    SGD,
    SGD_SKLEARN,
    SIGMOID,
    SILU,
    SOFTMAX,
    SOFTPLUS,
    STEP,
    TANH,
    Hyper,
    OptimizerState,
    Spec,
)

ELEMENTWISE = (IDENTITY, SIGMOID, TANH, RELU, STEP, LEAKY_RELU, ELU, GELU, SOFTPLUS, SILU, EXP)
OUTPUT_LOSS = (
    (IDENTITY, MSE),
    (SIGMOID, MSE),
    (TANH, MSE),
    (RELU, MSE),
    (SOFTMAX, MSE),
    (STEP, MSE),
    (LEAKY_RELU, MSE),
    (ELU, MSE),
    (GELU, MSE),
    (SOFTPLUS, MSE),
    (SILU, MSE),
    (SIGMOID, BINARY_CROSS_ENTROPY),
    (SOFTMAX, CROSS_ENTROPY),
    (IDENTITY, MAE),
    (TANH, MAE),
    (SOFTMAX, MAE),
    (IDENTITY, HUBER),
    (ELU, HUBER),
    (SOFTMAX, HUBER),
    (EXP, POISSON),
)
PIECES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
H = 1e-6  # central-difference step


@pytest.fixture(scope="session")
def cy(cython_kernels):
    return cython_kernels.pieces


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    """Each backend's pieces in turn (for the finite-difference checks)."""
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def signature(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_both_backends_expose_the_same_pieces(cy):
    compiled = {name for name in vars(cy) if not name.startswith("_")}
    assert compiled == set(_reference.PIECES)
    assert set(vars(_reference.pieces)) == set(_reference.PIECES)
    for name in _reference.PIECES:
        assert signature(getattr(cy, name)) == signature(getattr(_reference, name)), name
        assert getattr(_reference.pieces, name) is getattr(_reference, name)


def test_pieces_are_listed_in_the_reference_sections_order():
    """PIECES follows the reference's sections (one module each, in csrc/'s order), so a
    piece and its twin are found alike."""
    sections = ["activations", "losses", "dense", "optimizers", "randomness", "training"]
    sections.append("perceptron")
    positions = []
    for name in _reference.PIECES:
        fn = getattr(_reference, name)
        package, section = fn.__module__.rsplit(".", 1)
        assert package == "nnfast._reference" and section in sections, (name, fn.__module__)
        positions.append((sections.index(section), inspect.getsourcelines(fn)[1]))
    assert positions == sorted(positions)


def matrix(rng, m, n, scale=3.0):
    return rng.normal(scale=scale, size=(m, n))


shapes = st.tuples(st.integers(1, 9), st.integers(1, 7))
seeds = st.integers(0, 2**32 - 1)


# --- activations ----------------------------------------------------------------------------


@PIECES
@given(code=st.sampled_from(ELEMENTWISE + (SOFTMAX,)), shape=shapes, seed=seeds)
def test_activate_parity(cy, code, shape, seed):
    z = matrix(np.random.default_rng(seed), *shape, scale=20.0)
    z.flat[0] = -700.0  # sigmoid's and softmax's far tails too
    got, want = cy.activate(code, z), _reference.activate(code, z)
    # exp, tanh and the divisions round differently on each side: a few ulp; gelu's tail
    # moves by z**2 times its argument's rounding (libm's erfc and SciPy's)
    np.testing.assert_allclose(got, want, rtol=1e-12 if code == GELU else 1e-15, atol=1e-300)
    if code in (IDENTITY, RELU, STEP, LEAKY_RELU):
        np.testing.assert_array_equal(got, want)


@PIECES
@given(code=st.sampled_from(ELEMENTWISE), shape=shapes, seed=seeds)
def test_derivative_parity(cy, code, shape, seed):
    z = matrix(np.random.default_rng(seed), *shape)
    got, want = cy.derivative(code, z), _reference.derivative(code, z)
    # from the values where f' uses them: their few ulp, not amplified (|f'| <= 1 here)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-15)
    if code in (IDENTITY, RELU, STEP, LEAKY_RELU):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("module", ["cython", "numpy"])
def test_derivative_refuses_softmax(module, request):
    pieces = (
        request.getfixturevalue("cython_kernels").pieces
        if module == "cython"
        else _reference.pieces
    )
    with pytest.raises(ValueError, match="softmax_backward"):
        pieces.derivative(SOFTMAX, np.ones((2, 3)) / 3)


@PIECES
@given(shape=shapes, seed=seeds)
def test_softmax_and_its_backward_parity(cy, shape, seed):
    rng = np.random.default_rng(seed)
    z, g = matrix(rng, *shape, scale=10.0), matrix(rng, *shape)
    p = _reference.softmax(z)
    np.testing.assert_allclose(cy.softmax(z), p, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(
        cy.softmax_backward(p, g),
        _reference.softmax_backward(p, g),
        rtol=1e-12,
        atol=1e-15 * np.abs(g).max(),
    )


@pytest.mark.parametrize("code", ELEMENTWISE)
def test_derivative_is_the_activations_slope(pieces, code):
    z = np.linspace(-4, 4, 41).reshape(1, -1) + 0.013  # never on relu's or step's kink
    numeric = (pieces.activate(code, z + H) - pieces.activate(code, z - H)) / (2 * H)
    np.testing.assert_allclose(pieces.derivative(code, z), numeric, rtol=1e-6, atol=1e-9)


def test_softmax_backward_is_the_softmax_vjp(pieces):
    rng = np.random.default_rng(3)
    z, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        dz = np.zeros_like(z)
        dz[index] = H
        numeric[index] = (
            np.sum(g * pieces.softmax(z + dz)) - np.sum(g * pieces.softmax(z - dz))
        ) / (2 * H)
    np.testing.assert_allclose(
        pieces.softmax_backward(pieces.softmax(z), g), numeric, rtol=1e-6, atol=1e-9
    )


# --- losses ---------------------------------------------------------------------------------


def targets(rng, loss, m, n):
    if loss == CROSS_ENTROPY:
        return rng.dirichlet(np.ones(n), m)
    if loss == BINARY_CROSS_ENTROPY:
        return rng.random((m, n))
    if loss == POISSON:
        return rng.poisson(1.5, (m, n)).astype(float)
    return rng.normal(size=(m, n))


@PIECES
@given(pair=st.sampled_from(OUTPUT_LOSS), shape=shapes, seed=seeds)
def test_output_delta_and_count_correct_parity(cy, pair, shape, seed):
    code, loss = pair
    rng = np.random.default_rng(seed)
    z, y = matrix(rng, *shape), targets(rng, loss, *shape)
    (total, delta), (want_total, want_delta) = (
        cy.output_delta(loss, code, z, y),
        _reference.output_delta(loss, code, z, y),
    )
    np.testing.assert_allclose(total, want_total, rtol=1e-12)
    np.testing.assert_allclose(
        delta, want_delta, rtol=1e-11, atol=1e-14 * max(1.0, np.abs(want_delta).max())
    )
    assert cy.count_correct(loss, z, y) == _reference.count_correct(loss, z, y)


@pytest.mark.parametrize("code, loss", [p for p in OUTPUT_LOSS if p[0] != STEP])
def test_output_delta_is_the_losses_gradient(pieces, code, loss):
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(3, 4)) + 0.05, targets(rng, loss, 3, 4)
    numeric = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        dz = np.zeros_like(z)
        dz[index] = H
        numeric[index] = (
            pieces.output_delta(loss, code, z + dz, y)[0]
            - pieces.output_delta(loss, code, z - dz, y)[0]
        ) / (2 * H)
    np.testing.assert_allclose(
        pieces.output_delta(loss, code, z, y)[1], numeric, rtol=1e-5, atol=1e-8
    )


@PIECES
@given(pair=st.sampled_from(OUTPUT_LOSS[4:]), shape=shapes, seed=seeds, weighted=st.booleans())
def test_output_step_parity(cy, pair, shape, seed, weighted):
    code, loss = pair
    rng = np.random.default_rng(seed)
    m, n = shape
    n = max(n, 2)
    spec = Spec((3, n), (code,), loss)
    z, y = matrix(rng, m, n), targets(rng, loss, m, n)
    w = rng.uniform(0.1, 3.0, m) if weighted else None
    got = cy.output_step(spec, z, y, w, 1.3)
    want = _reference.output_step(spec, z, y, w, 1.3)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1] == pytest.approx(want[1], rel=1e-14)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("loss", [MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, MAE, HUBER, POISSON])
@pytest.mark.parametrize("n_samples", [1, 7, 12.5])
def test_loss_and_accuracy_scales(cy, loss, n_samples):
    spec = Spec((2, 4, 3), (TANH, SOFTMAX if loss == CROSS_ENTROPY else SIGMOID), loss)
    for name in ("loss_scale", "accuracy_scale"):
        got = getattr(cy, name)(spec, n_samples)
        want = getattr(_reference, name)(spec, n_samples)
        assert got == want or (np.isnan(got) and np.isnan(want)), name
    classifies = loss in (BINARY_CROSS_ENTROPY, CROSS_ENTROPY)
    assert np.isnan(_reference.accuracy_scale(spec, n_samples)) != classifies


@PIECES
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    seed=seeds,
    l1=st.sampled_from([0.0, 0.01, 0.5]),
    l2=st.sampled_from([0.0, 0.1, 2.0]),
)
def test_penalty_and_its_gradient_parity(cy, sizes, seed, l1, l2):
    spec = Spec(tuple(sizes), (TANH,) * (len(sizes) - 1), MSE)
    params = np.random.default_rng(seed).normal(size=spec.n_params)
    params[0] = 0.0  # sign(0) = 0 on both sides
    np.testing.assert_allclose(
        cy.penalty(spec, params, l1, l2), _reference.penalty(spec, params, l1, l2), rtol=1e-12
    )
    np.testing.assert_array_equal(
        cy.penalty_gradient(spec, params, l1, l2), _reference.penalty_gradient(spec, params, l1, l2)
    )


def test_penalty_gradient_is_the_penalties_slope(pieces):
    spec = Spec((3, 2, 2), (TANH, IDENTITY), MSE)
    params = np.random.default_rng(5).normal(size=spec.n_params)
    params[np.abs(params) < 0.05] = 0.3  # clear of |w|'s kink
    numeric = np.zeros(spec.n_weights)
    for i in range(spec.n_weights):
        up, down = params.copy(), params.copy()
        up[i] += H
        down[i] -= H
        numeric[i] = pieces.penalty(spec, up, 0.2, 0.7) - pieces.penalty(spec, down, 0.2, 0.7)
    np.testing.assert_allclose(
        pieces.penalty_gradient(spec, params, 0.2, 0.7), numeric / (2 * H), rtol=1e-6, atol=1e-9
    )


# --- dense layer ----------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [2**62, 0], ids=["loops", "blas"])
@PIECES
@given(m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9), seed=seeds)
def test_dense_layer_parity(cython_kernels, threshold, m, k, n, seed):
    """Each product as the compiled loops compute it, and through BLAS."""
    rng = np.random.default_rng(seed)
    a, W, b = matrix(rng, m, k), matrix(rng, k, n), rng.normal(size=n)
    delta, d = matrix(rng, m, n), matrix(rng, m, k)
    saved = cython_kernels.get_gemm_threshold()
    cython_kernels.set_gemm_threshold(threshold)
    try:
        for name, args in (
            ("dense_forward", (a, W, b)),
            ("dense_backward", (delta, W, d)),
            ("weight_gradient", (a, delta)),
            ("bias_gradient", (delta,)),
        ):
            want = getattr(_reference, name)(*args)
            got = getattr(cython_kernels.pieces, name)(*args)
            assert got.shape == want.shape, name
            np.testing.assert_allclose(
                got, want, rtol=1e-12, atol=1e-13 * np.abs(want).max(), err_msg=name
            )
    finally:
        cython_kernels.set_gemm_threshold(saved)


def test_dense_gradients_are_the_layers_slopes(pieces):
    """With L = sum(G * dense_forward(a, W, b)): dL/dW = weight_gradient(a, G), dL/db =
    bias_gradient(G), dL/da = dense_backward(G, W, 1)."""
    rng = np.random.default_rng(6)
    a, W, b, G = (
        rng.normal(size=(4, 3)),
        rng.normal(size=(3, 2)),
        rng.normal(size=2),
        rng.normal(size=(4, 2)),
    )

    def slope(x):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            saved = x[index]
            x[index] = saved + H
            up = np.sum(G * pieces.dense_forward(a, W, b))
            x[index] = saved - H
            down = np.sum(G * pieces.dense_forward(a, W, b))
            x[index] = saved
            numeric[index] = (up - down) / (2 * H)
        return numeric

    np.testing.assert_allclose(pieces.weight_gradient(a, G), slope(W), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(pieces.bias_gradient(G), slope(b), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        pieces.dense_backward(G, W, np.ones((4, 3))), slope(a), rtol=1e-6, atol=1e-9
    )


# --- optimizers and schedules ---------------------------------------------------------------

HYPERS = st.builds(
    Hyper,
    learning_rate=st.floats(1e-4, 0.5),
    optimizer=st.sampled_from([SGD, ADAM, SGD_SKLEARN, ADAM_SKLEARN, ADAMW, RMSPROP, ADAGRAD]),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    nesterov=st.booleans(),
    beta_1=st.floats(0.5, 0.95),
    beta_2=st.floats(0.9, 0.9999),
    epsilon=st.floats(1e-9, 1e-5),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    rho=st.floats(0.5, 0.999),
    centered=st.booleans(),
    initial_accumulator_value=st.sampled_from([0.0, 0.1]),
    schedule=st.sampled_from([CONSTANT, EXPONENTIAL, INVERSE_TIME, COSINE, ONE_CYCLE]),
    decay_rate=st.floats(0.1, 0.99),
    decay_steps=st.floats(0.5, 10.0),
    staircase=st.booleans(),
    power=st.floats(0.5, 2.0),
    warmup_steps=st.sampled_from([0.0, 3.0, 100.0]),
    final_fraction=st.floats(0.0, 0.5),
    total_steps=st.floats(1.0, 1e5),
    pct_start=st.floats(0.05, 0.95),
    div_factor=st.floats(1.0, 100.0),
    final_div_factor=st.floats(1.0, 1e5),
    step_unit=st.sampled_from([1.0, 7.0]),
    convention=st.just(MEAN),
)


@PIECES
@given(hyper=HYPERS, t=st.integers(0, 10**6))
def test_learning_rate_at_parity(cy, hyper, t):
    assert cy.learning_rate_at(hyper, t) == pytest.approx(
        _reference.learning_rate_at(hyper, t), rel=1e-15
    )


@PIECES
@given(hyper=HYPERS, n=st.integers(1, 40), seed=seeds, steps=st.integers(1, 4))
def test_update_parity(cy, hyper, n, seed, steps):
    rng = np.random.default_rng(seed)
    params, grads = rng.normal(size=n), rng.normal(size=(steps, n))
    results = []
    for pieces in (cy, _reference):
        p, state = params.copy(), OptimizerState(n, hyper)
        for g in grads:
            pieces.update(hyper, p, g, state)
        results.append((p, state))
    (p_c, s_c), (p_r, s_r) = results
    np.testing.assert_allclose(p_c, p_r, rtol=1e-13, atol=1e-15)
    for name in ("m", "v", "g_avg"):
        np.testing.assert_allclose(getattr(s_c, name), getattr(s_r, name), rtol=1e-13, atol=1e-15)
    assert s_c.step[0] == s_r.step[0] == steps


# --- randomness -----------------------------------------------------------------------------


@PIECES
@given(n=st.integers(0, 300), seed=seeds)
def test_shuffle_order_parity(cy, n, seed):
    orders, generators = [], []
    for pieces in (cy, _reference):
        rng, order = np.random.default_rng(seed), np.arange(n, dtype=np.intp)
        pieces.shuffle_order(rng, order)
        orders.append(order)
        generators.append(rng.bit_generator.state)
    np.testing.assert_array_equal(*orders)
    assert generators[0] == generators[1]


@PIECES
@given(m=st.integers(0, 9), n=st.integers(1, 9), rate=st.sampled_from([0.1, 0.5, 0.9]), seed=seeds)
def test_dropout_mask_parity(cy, m, n, rate, seed):
    masks, generators = [], []
    for pieces in (cy, _reference):
        rng = np.random.default_rng(seed)
        masks.append(pieces.dropout_mask(rng, m, n, rate))
        generators.append(rng.bit_generator.state)
    np.testing.assert_array_equal(*masks)
    assert set(np.unique(masks[0])) <= {0.0, 1.0 / (1.0 - rate)}
    assert generators[0] == generators[1]


# --- the perceptron -------------------------------------------------------------------------


@PIECES
@given(n=st.integers(1, 30), d=st.integers(1, 5), seed=seeds)
def test_perceptron_pass_parity(cy, n, d, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.integers(0, 2, n).astype(np.intp)
    order = rng.permutation(n).astype(np.intp)
    results = []
    for pieces in (cy, _reference):
        params = np.zeros(d + 1)
        mistakes = pieces.perceptron_pass(X, y, params, 0.1, order)
        results.append((mistakes, params))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_pieces_refuse_buffers_that_do_not_fit(cy):
    """The entry points check shapes: a test's mistake is a ValueError, never a bad read."""
    with pytest.raises(ValueError, match="do not chain"):
        cy.dense_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones(2))
    with pytest.raises(ValueError, match="do not chain"):
        cy.dense_backward(np.ones((2, 3)), np.ones((4, 2)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="differ"):
        cy.output_delta(MSE, IDENTITY, np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="loss"):
        cy.output_delta(7, IDENTITY, np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="same length"):
        cy.update(Hyper(0.1, optimizer=ADAM), np.ones(3), np.ones(3), OptimizerState(2))
    with pytest.raises(ValueError, match="indices"):
        cy.perceptron_pass(
            np.ones((2, 2)), np.zeros(2, np.intp), np.zeros(3), 0.1, np.array([0, 5], np.intp)
        )


def test_the_public_activations_are_the_reference_table():
    """activations.py computes through the reference's one table per activation."""
    for activation in nnfast.activations.ACTIVATIONS.values():
        if activation.name != "softmax":
            f, f_prime = _reference.ELEMENTWISE[activation.code]
            z, alpha = np.linspace(-3, 3, 13), activation.alpha
            np.testing.assert_array_equal(activation(z), f(z, alpha))
            np.testing.assert_array_equal(activation.derivative(z), f_prime(z, f(z, alpha), alpha))
