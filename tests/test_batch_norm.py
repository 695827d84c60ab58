"""Batch normalisation (``Spec(batch_norm=True)``), against torch.nn.BatchNorm1d's definition:
the formulas re-derived in NumPy here (training: the batch's mean and biased variance; the
running statistics with momentum 0.1 and the unbiased variance; inference: the running
statistics), the gradient through the batch's statistics by central differences, the two
backends against each other in both precisions inside ``train_epochs``, and (opt-in,
``@pytest.mark.torch``) torch itself: Linear -> BatchNorm1d -> activation -> Dropout.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nnfast import _reference
from nnfast._spec import (
    ADAM,
    CROSS_ENTROPY,
    IDENTITY,
    MSE,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
    Hyper,
    OptimizerState,
    Spec,
)

EPS, MOMENTUM = 1e-5, 0.1
H = 1e-6


@pytest.fixture(params=["cython", "numpy"])
def kernels(request):
    """Each backend's kernel module in turn."""
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels")
    return _reference


def kernels32(cython_kernels):
    import nnfast._kernels32

    return nnfast._kernels32


def by_formula(z, gamma, beta):
    mean, var = z.mean(axis=0), z.var(axis=0)  # biased, as BatchNorm1d normalises
    return gamma * (z - mean) / np.sqrt(var + EPS) + beta, mean, var


def network(
    seed=0, sizes=(4, 6, 5, 3), acts=(RELU, TANH, SOFTMAX), loss=CROSS_ENTROPY, dtype=np.float64
):
    """A batch-normalised spec and parameters with non-trivial scales, shifts and statistics."""
    spec = Spec(sizes, acts, loss, batch_norm=True)
    rng = np.random.default_rng(seed)
    params = rng.normal(scale=0.5, size=spec.n_params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    for v in variances:
        v[:] = np.abs(v) + 0.5
    return spec, params.astype(dtype)


def data(seed, n, spec, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, spec.sizes[0]))
    if spec.loss == CROSS_ENTROPY:
        Y = np.eye(spec.sizes[-1])[rng.integers(0, spec.sizes[-1], n)]
    else:
        Y = rng.normal(size=(n, spec.sizes[-1]))
    return X.astype(dtype), Y.astype(dtype)


# --- the layout ---------------------------------------------------------------------------


def test_layout_puts_scales_and_shifts_then_the_statistics_after_the_biases():
    spec = Spec((3, 4, 2, 1), (TANH, TANH, IDENTITY), MSE, batch_norm=True)
    plain = Spec((3, 4, 2, 1), (TANH, TANH, IDENTITY), MSE)
    assert spec.n_trainable == plain.n_params + 2 * (4 + 2)
    assert spec.n_params == spec.n_trainable + 2 * (4 + 2)
    flat = np.arange(spec.n_params, dtype=float)
    gammas, betas, means, variances = spec.unpack_norm(flat)
    assert [g[0] for g in gammas] == [plain.n_params, plain.n_params + 8]
    assert [b.size for b in betas] == [4, 2]
    assert means[0][0] == spec.n_trainable and variances[1][-1] == spec.n_params - 1
    assert plain.unpack_norm(np.zeros(plain.n_params)) == ([], [], [], [])


# --- the pieces against the formulas --------------------------------------------------------


def test_forward_is_the_formula(kernels):
    rng = np.random.default_rng(0)
    z, gamma, beta = rng.normal(2.0, 3.0, (9, 5)), rng.normal(size=5), rng.normal(size=5)
    y, xhat, inv_std, mean, var = kernels.pieces.batch_norm_forward(z, gamma, beta)
    want, want_mean, want_var = by_formula(z, gamma, beta)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-13)
    np.testing.assert_allclose(var, want_var, rtol=1e-12)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(want_var + EPS), rtol=1e-13)
    np.testing.assert_allclose(xhat.mean(axis=0), 0.0, atol=1e-14)


def test_backward_is_the_forwards_slope(kernels):
    """With L = sum(G * y(z, gamma, beta)), the batch's statistics depending on z."""
    pieces = kernels.pieces
    rng = np.random.default_rng(1)
    z, gamma, beta, G = (
        rng.normal(size=(6, 3)),
        rng.normal(size=3),
        rng.normal(size=3),
        rng.normal(size=(6, 3)),
    )

    def slope(x):
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            saved = x[index]
            x[index] = saved + H
            up = np.sum(G * pieces.batch_norm_forward(z, gamma, beta)[0])
            x[index] = saved - H
            down = np.sum(G * pieces.batch_norm_forward(z, gamma, beta)[0])
            x[index] = saved
            numeric[index] = (up - down) / (2 * H)
        return numeric

    _, xhat, inv_std, _, _ = pieces.batch_norm_forward(z, gamma, beta)
    dz, d_gamma, d_beta = pieces.batch_norm_backward(G, xhat, gamma, inv_std)
    np.testing.assert_allclose(dz, slope(z), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(d_gamma, slope(gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(d_beta, slope(beta), rtol=1e-6, atol=1e-8)


def test_running_statistics_and_inference_are_the_formulas(kernels):
    rng = np.random.default_rng(2)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2.0, 4)
    mean, var = rng.normal(size=4), rng.uniform(0.1, 3.0, 4)
    got_m, got_v = rm.copy(), rv.copy()
    kernels.pieces.batch_norm_running(got_m, got_v, mean, var, 7)
    np.testing.assert_allclose(got_m, (1 - MOMENTUM) * rm + MOMENTUM * mean, rtol=1e-15)
    np.testing.assert_allclose(got_v, (1 - MOMENTUM) * rv + MOMENTUM * var * 7 / 6, rtol=1e-15)
    z, gamma, beta = rng.normal(size=(5, 4)), rng.normal(size=4), rng.normal(size=4)
    np.testing.assert_allclose(
        kernels.pieces.batch_norm_inference(z, gamma, beta, rm, rv),
        gamma * (z - rm) / np.sqrt(rv + EPS) + beta,
        rtol=1e-13,
        atol=1e-14,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 1), (3, 7), (17, 4), (64, 9)])
def test_pieces_parity(cython_kernels, dtype, shape):
    """The compiled pieces sum in the reference's order: the same numbers to the last bit."""
    compiled = cython_kernels if dtype == np.float64 else kernels32(cython_kernels)
    rng = np.random.default_rng(shape[0])
    z, G = (rng.normal(1.0, 2.0, shape).astype(dtype) for _ in range(2))
    gamma, beta, rm = (rng.normal(size=shape[1]).astype(dtype) for _ in range(3))
    rv = rng.uniform(0.5, 2.0, shape[1]).astype(dtype)
    got = compiled.pieces.batch_norm_forward(z, gamma, beta)
    want = _reference.batch_norm_forward(z, gamma, beta)
    for a, b in zip(got, want):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    _, xhat, inv_std, mean, var = want
    for a, b in zip(
        compiled.pieces.batch_norm_backward(G, xhat, gamma, inv_std),
        _reference.batch_norm_backward(G, xhat, gamma, inv_std),
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        compiled.pieces.batch_norm_inference(z, gamma, beta, rm, rv),
        _reference.batch_norm_inference(z, gamma, beta, rm, rv),
    )
    stats = [(rm.copy(), rv.copy()) for _ in range(2)]
    compiled.pieces.batch_norm_running(*stats[0], mean, var, shape[0] + 1)
    _reference.batch_norm_running(*stats[1], mean, var, shape[0] + 1)
    np.testing.assert_array_equal(stats[0], stats[1])


# --- whole networks -----------------------------------------------------------------------


def by_hand(spec, params, X, training):
    """The network's output from the formulas (training: the batch's statistics)."""
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    a = X
    for l, (code, W, b) in enumerate(zip(spec.activations, weights, biases)):
        z = a @ W + b
        if l < spec.n_layers - 1:
            if training:
                z = by_formula(z, gammas[l], betas[l])[0]
            else:
                z = gammas[l] * (z - means[l]) / np.sqrt(variances[l] + EPS) + betas[l]
        a = _reference.activate(code, z)
    return a


def test_forward_and_evaluate_use_the_running_statistics(kernels):
    spec, params = network(3)
    X, Y = data(4, 11, spec)
    out = np.zeros((11, 3))
    kernels.forward(spec, params, X, out)
    want = by_hand(spec, params, X, training=False)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    loss, accuracy = kernels.evaluate(spec, params, X, Y)
    assert loss == pytest.approx(-np.mean(np.sum(Y * np.log(want), axis=1)), rel=1e-12)
    assert accuracy == pytest.approx(np.mean(want.argmax(axis=1) == Y.argmax(axis=1)))
    one = np.zeros((1, 3))  # a single row normalises by the running statistics
    kernels.forward(spec, params, X[:1], one)
    np.testing.assert_allclose(one, want[:1], rtol=1e-12)


def test_loss_and_gradient_normalise_by_the_batch_and_match_finite_differences(kernels):
    """The loss minimised (the batch's statistics), its gradient with respect to every
    trainable parameter, and none for the running statistics, which it leaves alone."""
    spec, params = network(5, sizes=(3, 5, 4, 2), acts=(TANH, SIGMOID, IDENTITY), loss=MSE)
    X, Y = data(6, 8, spec)
    grad = np.zeros(spec.n_params)
    before = params.copy()
    loss = kernels.loss_and_gradient(spec, params, X, Y, 0.0, 0.01, grad)
    np.testing.assert_array_equal(params, before)
    want = by_hand(spec, params, X, training=True)
    weights = params[: spec.n_weights]
    assert loss == pytest.approx(np.mean((want - Y) ** 2) + 0.005 * weights @ weights, rel=1e-12)
    numeric = np.zeros(spec.n_trainable)
    for i in range(spec.n_trainable):
        up, down = params.copy(), params.copy()
        up[i] += H
        down[i] -= H
        numeric[i] = (
            kernels.loss_and_gradient(spec, up, X, Y, 0.0, 0.01, None)
            - kernels.loss_and_gradient(spec, down, X, Y, 0.0, 0.01, None)
        ) / (2 * H)
    np.testing.assert_allclose(grad[: spec.n_trainable], numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(grad[spec.n_trainable :], 0.0)
    # a hidden layer's bias is cancelled by the batch's mean: its gradient is rounding only
    _, biases = spec.unpack(grad)
    assert np.abs(biases[0]).max() < 1e-14


def run(
    kernels, spec, params, X, Y, hyper, batch, epochs, seed, dtype=np.float64, sample_weight=None
):
    params = params.astype(dtype)
    state = OptimizerState(spec.n_trainable, hyper, dtype)
    workspace = kernels.Workspace(spec, X.shape[0], batch, dtype)
    history = np.zeros((epochs, 2))
    kernels.train_epochs(
        spec,
        params,
        X.astype(dtype),
        Y.astype(dtype),
        epochs,
        batch,
        True,
        state,
        hyper,
        np.random.default_rng(seed),
        workspace,
        history,
        sample_weight,
    )
    return params, history, state


def test_training_moves_the_running_statistics_as_batchnorm1d(kernels):
    """One full-batch step of plain SGD: the statistics move once, from the batch's mean and
    unbiased variance before the step."""
    spec, params = network(7, sizes=(3, 4, 2), acts=(RELU, IDENTITY), loss=MSE)
    X, Y = data(8, 10, spec)
    z = X @ spec.unpack(params)[0][0] + spec.unpack(params)[1][0]
    _, _, means, variances = spec.unpack_norm(params)
    got, _, _ = run(kernels, spec, params, X, Y, Hyper(0.1), 10, 1, 0)
    _, _, got_means, got_variances = spec.unpack_norm(got)
    np.testing.assert_allclose(got_means[0], 0.9 * means[0] + 0.1 * z.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(
        got_variances[0], 0.9 * variances[0] + 0.1 * z.var(axis=0, ddof=1), rtol=1e-13
    )


@pytest.mark.parametrize(
    "hyper",
    [
        Hyper(0.05, momentum=0.9),
        Hyper(0.05, momentum=0.9, nesterov=True, l2=0.01),
        Hyper(0.01, optimizer=ADAM),
        Hyper(0.05, momentum=0.5, dropout=(0.3, 0.2)),
        Hyper(0.05, clip_norm=0.5),
        Hyper(0.05, clip_value=0.01, momentum=0.5),
    ],
    ids=["momentum", "nesterov-l2", "adam", "dropout", "clip-norm", "clip-value"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_backends_train_alike(cython_kernels, hyper, weighted):
    spec, params = network(9)
    X, Y = data(10, 30, spec)
    w = np.random.default_rng(11).uniform(0.2, 2.0, 30) if weighted else None
    got = run(cython_kernels, spec, params, X, Y, hyper, 7, 6, 12, sample_weight=w)
    want = run(_reference, spec, params, X, Y, hyper, 7, 6, 12, sample_weight=w)
    # Adam normalises the pre-normalisation biases' gradients, rounding alone, to steps
    # of the rate: they (and the running means they shift) agree less closely
    tol = 1e-7 if hyper.optimizer == ADAM else 1e-9
    np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol / 100)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10)
    for name in ("m", "v"):
        np.testing.assert_allclose(
            getattr(got[2], name), getattr(want[2], name), rtol=10 * tol, atol=1e-12
        )
    assert not np.array_equal(got[0][spec.n_trainable :], params[spec.n_trainable :])


def test_backends_train_alike_in_float32(cython_kernels):
    """float32 with SGD: a pre-normalisation bias's gradient is rounding alone, which Adam's
    normalised steps would turn into steps of the learning rate (and each backend rounds
    differently); momentum SGD keeps those steps of the rounding's size."""
    k32 = kernels32(cython_kernels)
    spec, params = network(13)
    X, Y = data(14, 40, spec)
    hyper = Hyper(0.05, momentum=0.9)
    got = run(k32, spec, params, X, Y, hyper, 10, 5, 15, np.float32)
    want = run(_reference, spec, params, X, Y, hyper, 10, 5, 15, np.float32)
    assert got[0].dtype == np.float32
    truth = run(_reference, spec, params, X, Y, hyper, 10, 5, 15)
    scale = np.abs(truth[0]).max()
    for p in (got[0], want[0]):
        assert np.abs(p - truth[0]).max() < 2e-4 * scale  # float32's precision, 5 epochs
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_team_matches_one_thread_bitwise_without_blas(cython_kernels, threads, dtype):
    """A normalised batch runs layer by layer, rows (dense layers) then columns (the
    statistics) split over a team: every sum has the same terms in the same order, so
    without BLAS any number of threads gives one thread's parameters to the bit."""
    module = cython_kernels if dtype == np.float64 else kernels32(cython_kernels)
    spec, params = network(22, sizes=(7, 37, 21, 4), acts=(RELU, TANH, SOFTMAX))
    X, Y = data(23, 150, spec)
    hyper = Hyper(0.05, momentum=0.9, clip_norm=2.0)
    saved, threshold = module.team_settings(work=0, rows=1), module.get_gemm_threshold()
    try:
        module.set_gemm_threshold(1 << 62)
        module.team_settings(threads=1)
        one = run(module, spec, params, X, Y, hyper, 32, 3, 2, dtype)
        module.team_settings(threads=threads)
        team = run(module, spec, params, X, Y, hyper, 32, 3, 2, dtype)
        assert module.team_workers() >= threads - 1
    finally:
        module.team_settings(**saved)
        module.set_gemm_threshold(threshold)
    np.testing.assert_array_equal(team[0], one[0])
    np.testing.assert_allclose(team[1], one[1], rtol=1e-14)


def test_runs_are_refused_with_batches_of_one_row(kernels):
    spec, params = network(16)
    X, Y = data(17, 9, spec)
    with pytest.raises(ValueError, match="at least 2 rows"):
        run(kernels, spec, params, X, Y, Hyper(0.1), 1, 1, 0)
    with pytest.raises(ValueError, match="last batch of 1 row"):
        run(kernels, spec, params, X, Y, Hyper(0.1), 4, 1, 0)  # 9 = 4 + 4 + 1
    with pytest.raises(ValueError, match="at least 2 rows"):
        kernels.loss_and_gradient(spec, params, X[:1], Y[:1], 0.0, 0.0, None)
    run(kernels, spec, params, X, Y, Hyper(0.1), 3, 1, 0)  # 9 = 3 + 3 + 3


def test_divergence_restores_the_running_statistics(kernels):
    spec, params = network(18, sizes=(3, 4, 1), acts=(RELU, IDENTITY), loss=MSE)
    X, Y = data(19, 12, spec)
    Y *= 1e200  # the loss overflows in the first epoch
    with np.errstate(all="ignore"):
        got, history, _ = run(kernels, spec, params, X, Y, Hyper(0.1), 6, 2, 0)
    np.testing.assert_array_equal(got, params)


# --- PyTorch itself (opt-in) ----------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_training_matches_torch(kernels, dropout):
    """Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear, SGD with momentum, the same batches
    (no shuffle) and, with dropout, the masks nnfast drew (torch's own would differ): the
    parameters, the running statistics and the outputs in eval mode."""
    import torch

    spec, params = network(20, sizes=(4, 6, 2), acts=(RELU, IDENTITY), loss=MSE)
    X, Y = data(21, 24, spec)
    batch, epochs = 8, 3
    hyper = Hyper(0.05, momentum=0.9, dropout=(dropout,) if dropout else ())
    mine = params.copy()
    state = OptimizerState(spec.n_trainable, hyper)
    workspace = kernels.Workspace(spec, 24, batch)
    kernels.train_epochs(
        spec,
        mine,
        X,
        Y,
        epochs,
        batch,
        False,
        state,
        hyper,
        np.random.default_rng(0),
        workspace,
        np.zeros((epochs, 2)),
    )

    (W0, W1), (b0, b1) = spec.unpack(params)
    (gamma,), (beta,), (mean,), (var,) = spec.unpack_norm(params)
    linear0, linear1 = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, 2).double()
    norm = torch.nn.BatchNorm1d(6, eps=EPS, momentum=MOMENTUM).double()
    with torch.no_grad():
        for module, W, b in ((linear0, W0, b0), (linear1, W1, b1)):
            module.weight.copy_(torch.tensor(W.T))
            module.bias.copy_(torch.tensor(b))
        norm.weight.copy_(torch.tensor(gamma))
        norm.bias.copy_(torch.tensor(beta))
        norm.running_mean.copy_(torch.tensor(mean))
        norm.running_var.copy_(torch.tensor(var))
    model = [linear0, norm, linear1]
    trained = [p for module in model for p in module.parameters()]
    optimizer = torch.optim.SGD(trained, lr=0.05, momentum=0.9)
    masks = np.random.default_rng(0)  # nnfast's draws, in the same order
    for _ in range(epochs):
        for start in range(0, 24, batch):
            x, y = torch.tensor(X[start : start + batch]), torch.tensor(Y[start : start + batch])
            hidden = torch.relu(norm(linear0(x)))
            if dropout:
                keep = _reference.dropout_mask(masks, x.shape[0], 6, dropout)
                hidden = hidden * torch.tensor(keep)
            loss = torch.nn.functional.mse_loss(linear1(hidden), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    (W0, W1), (b0, b1) = spec.unpack(mine)
    (gamma,), (beta,), (mean,), (var,) = spec.unpack_norm(mine)
    for ours, theirs in (
        (W0, linear0.weight.T),
        (b0, linear0.bias),
        (W1, linear1.weight.T),
        (b1, linear1.bias),
        (gamma, norm.weight),
        (beta, norm.bias),
        (mean, norm.running_mean),
        (var, norm.running_var),
    ):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    norm.eval()
    with torch.no_grad():
        want = linear1(torch.relu(norm(linear0(torch.tensor(X))))).numpy()
    out = np.zeros((24, 2))
    kernels.forward(spec, mine, X, out)
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-12)


# --- through Network ------------------------------------------------------------------------


def classification(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]


def test_network_starts_as_batchnorm1d_and_keeps_its_layout():
    import nnfast as nf

    net = nf.Network([4, 8, 6, 3], activation="relu", loss="cross_entropy", batch_norm=True, seed=0)
    assert net.batch_norm and net.spec.batch_norm
    assert len(net.norms) == 2 and [n["gamma"].size for n in net.norms] == [8, 6]
    for n in net.norms:
        np.testing.assert_array_equal(n["gamma"], 1.0)
        np.testing.assert_array_equal(n["beta"], 0.0)
        np.testing.assert_array_equal(n["running_mean"], 0.0)
        np.testing.assert_array_equal(n["running_var"], 1.0)
        assert np.shares_memory(n["gamma"], net.parameters)
    assert "batch_norm=True" in repr(net) and "batch_norm" not in repr(
        nf.Network([4, 8, 3], loss="cross_entropy")
    )
    assert net.parameters.size == net.spec.n_params == 4 * 8 + 8 * 6 + 6 * 3 + 17 + 4 * 14
    with pytest.raises(TypeError, match="batch_norm must be True or False"):
        nf.Network([4, 8, 3], batch_norm="yes")


def test_network_trains_alike_on_both_backends(on_both, assert_same):
    import nnfast as nf

    X, Y = classification()

    def fit():
        net = nf.Network(
            [4, 8, 6, 3], activation=["relu", "tanh"], loss="cross_entropy", batch_norm=True, seed=1
        )
        history = net.train(
            X,
            Y,
            epochs=8,
            batch_size=12,
            learning_rate=0.1,
            optimizer=nf.SGD(momentum=0.9),
            dropout=0.2,
            validation_split=0.2,
            seed=3,
        )
        return net.parameters.copy(), history.loss, history.val_loss

    assert_same(*on_both(fit), rtol=1e-9, atol=1e-12)


def test_network_predicts_with_the_running_statistics_and_round_trips(tmp_path, backend):
    import nnfast as nf

    X, Y = classification(seed=1)
    net = nf.Network([4, 8, 3], activation="elu", loss="cross_entropy", batch_norm=True, seed=2)
    net.train(X, Y, epochs=5, batch_size=10, seed=0)
    (norm,) = net.norms
    W, b = net.weights[0], net.biases[0]
    z = (
        norm["gamma"] * (X @ W + b - norm["running_mean"]) / np.sqrt(norm["running_var"] + EPS)
        + norm["beta"]
    )
    hidden = _reference.activate(net.spec.activations[0], z)
    want = _reference.softmax(hidden @ net.weights[1] + net.biases[1])
    np.testing.assert_allclose(net.feedforward(X), want, rtol=1e-12)
    outs = net.layer_outputs(X)
    np.testing.assert_allclose(outs[0], hidden, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        net.layer_outputs(X, pre_activations=True)[0], z, rtol=1e-12, atol=1e-14
    )
    path = net.save(tmp_path / "bn.npz")
    loaded = nf.load(path)
    assert loaded.batch_norm and repr(loaded) == repr(net)
    np.testing.assert_array_equal(loaded.parameters, net.parameters)
    np.testing.assert_array_equal(loaded.feedforward(X), net.feedforward(X))


def test_network_refuses_batches_of_one_row_before_training():
    import nnfast as nf

    X, Y = classification(41)
    net = nf.Network([4, 8, 3], loss="cross_entropy", batch_norm=True, seed=0)
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="at least 2 rows.*batch_size=1"):
        net.train(X, Y, batch_size=1)
    with pytest.raises(ValueError, match="last batch of 1 row"):
        net.train(X, Y, batch_size=10)
    np.testing.assert_array_equal(net.parameters, before)
    net.train(X, Y, batch_size=10, epochs=1, validation_split=0.1)  # 36 rows: 10+10+10+6


def test_early_stopping_restores_the_best_epochs_statistics_too():
    import nnfast as nf

    X, Y = classification(80, seed=4)
    net = nf.Network([4, 8, 3], loss="cross_entropy", batch_norm=True, seed=5)
    snapshots = []

    class Keep(nf.Callback):
        def on_epoch_end(self, epoch, history, network):
            snapshots.append(network.parameters.copy())

    history = net.train(
        X,
        Y,
        epochs=30,
        batch_size=8,
        learning_rate=0.5,
        validation_split=0.5,
        early_stopping=nf.EarlyStopping(patience=3),
        callbacks=[Keep()],
    )
    assert history.stopped_epoch is not None and history.best_epoch < history.stopped_epoch
    np.testing.assert_array_equal(net.parameters, snapshots[history.best_epoch])
    assert not np.array_equal(snapshots[history.best_epoch][-16:], snapshots[-1][-16:])


def test_explain_refuses_a_batch_normalised_network():
    import nnfast as nf

    net = nf.Network([2, 3, 1], batch_norm=True, seed=0)
    with pytest.raises(ValueError, match="batch_norm"):
        nf.explain(net, [0.5, 0.2], 1.0)


def test_summary_lists_layers_shapes_activations_and_counts(capsys):
    import nnfast as nf

    nf.Network([784, 512, 10], activation="relu", loss="cross_entropy", batch_norm=True).summary()
    text = capsys.readouterr().out.splitlines()
    assert text[0].split() == ["Layer", "Output", "shape", "Activation", "Parameters"]
    rows = [line.split() for line in text[2:6]]
    assert rows[0] == ["input", "(None,", "784)"]
    assert rows[1] == ["dense_1", "(None,", "512)", "relu", "401,920"]
    assert rows[2] == ["batch_norm_1", "(None,", "512)", "2,048"]
    assert rows[3] == ["dense_2", "(None,", "10)", "softmax", "5,130"]
    assert text[-2] == "Total parameters: 409,098 (trainable 408,074, running statistics 1,024)"
    assert text[-1] == "Loss: cross_entropy"
    assert len(repr(nf.Network([784, 512, 10]))) < 100


BN_OPTIONS = {  # SGD's family: Adam's and RMSprop's normalised steps turn the rounding of a
    "sgd": dict(learning_rate=0.05),  # pre-normalisation bias's gradient into whole steps
    "momentum-l2": dict(learning_rate=0.02, optimizer="sgd", l2=0.01),
    "nesterov-dropout": dict(learning_rate=0.01, dropout=0.2),
    "clip": dict(learning_rate=0.05, clip_norm=0.3, clip_value=0.1),
}


@pytest.mark.filterwarnings("ignore:(overflow|invalid value|Training diverged):RuntimeWarning")
@pytest.mark.parametrize("option", BN_OPTIONS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.lists(st.integers(1, 9), min_size=3, max_size=5),
    acts=st.lists(
        st.sampled_from(
            ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "softplus", "silu"]
        ),
        min_size=3,
        max_size=3,
    ),
    pair=st.sampled_from(
        [
            ("identity", "mse"),
            ("softmax", "cross_entropy"),
            ("sigmoid", "binary_cross_entropy"),
            ("identity", "huber"),
        ]
    ),
    n=st.integers(4, 30),
    batch=st.sampled_from([2, 3, 5, 8, None]),
    seed=st.integers(0, 2**31),
    weighted=st.booleans(),
)
@example(  # chaotic: batches of 2 rows whose pre-activations nearly agree (momentum-l2)
    sizes=[2, 6, 9, 9, 3],
    acts=["relu", "gelu", "relu"],
    pair=("softmax", "cross_entropy"),
    n=10,
    batch=2,
    seed=836492,
    weighted=False,
)
def test_random_networks_train_alike(
    option, sizes, acts, pair, n, batch, seed, weighted, on_both, assert_same
):
    import nnfast as nf

    output, loss = pair
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    size = n if batch is None else min(batch, n)
    assume(n % size != 1)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n, sizes[-1])).astype(float)
    else:
        Y = rng.normal(size=(n, sizes[-1]))
    w = rng.uniform(0.2, 2.0, n) if weighted else None

    def fit(nudge=0.0):
        net = nf.Network(
            sizes,
            activation=acts[: len(sizes) - 2],
            output_activation=output,
            loss=loss,
            batch_norm=True,
            seed=seed,
        )
        if nudge:
            net.parameters = net.parameters * (1.0 + nudge)
        options = dict(BN_OPTIONS[option])
        if option == "momentum-l2":
            options["optimizer"] = nf.SGD(momentum=0.9)
        if option == "nesterov-dropout":
            options["optimizer"] = nf.SGD(momentum=0.8, nesterov=True)
        history = net.train(
            X, Y, epochs=4, batch_size=batch, seed=seed + 1, sample_weight=w, **options
        )
        return net.parameters.copy(), history.loss

    cy, ref = on_both(fit)
    assume(np.isfinite(ref[1]).all() and np.isfinite(ref[0]).all())
    # Batches of 2 rows whose pre-activations nearly agree make a run chaotic (1/sqrt(var +
    # eps) amplifies rounding ~1e8 times): the backends may then differ by as much as the
    # reference moves when its initial weights move by 1e-14 (a few dozen ulps). Well
    # conditioned runs move ~1e-13 that way, far inside the tolerance.
    with nf.use_backend("numpy"):
        moved = fit(1e-14)
    floor = [10 * np.abs(np.subtract(m, r)).max() for m, r in zip(moved, ref)]
    assert_same(cy[0], ref[0], rtol=1e-8, atol=max(1e-8 * max(1.0, np.abs(ref[0]).max()), floor[0]))
    assert_same(cy[1], ref[1], rtol=1e-8, atol=floor[1])


def test_float32_network_trains_alike_on_both_backends(on_both):
    """A float32 batch-normalised network: parameters, statistics and outputs in float32,
    the backends within float32's rounding of each other and of the float64 run."""
    import nnfast as nf

    X, Y = classification(seed=7)

    def fit(dtype):
        net = nf.Network(
            [4, 8, 6, 3],
            activation=["relu", "gelu"],
            loss="cross_entropy",
            batch_norm=True,
            seed=1,
            dtype=dtype,
        )
        net.train(X, Y, epochs=5, batch_size=12, optimizer=nf.SGD(momentum=0.9), seed=2)
        return net.parameters.copy(), net.layer_outputs(X)[-1]

    (p_c, out_c), (p_r, out_r) = on_both(fit, "float32")
    assert p_c.dtype == out_c.dtype == np.float32
    truth, _ = fit("float64")
    scale = np.abs(truth).max()
    for p in (p_c, p_r):
        assert np.abs(p - truth).max() < 1e-4 * scale
    np.testing.assert_allclose(out_c, out_r, rtol=1e-4, atol=1e-5)
