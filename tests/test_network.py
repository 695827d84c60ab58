"""Network: the flat parameter buffer and its views, initialisation, seeding, copies, training."""

import pickle
import warnings

import numpy as np
import pytest

import nnfast


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def blobs(n=60, seed=0):
    """Three well separated Gaussian blobs in 2-D with integer labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centres[labels] + rng.normal(scale=0.5, size=(n, 2)), labels


def regression(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    Y = np.column_stack([np.sin(2 * X[:, 0]) + X[:, 1], X[:, 2] ** 2])
    return X, Y


# --- the flat buffer ------------------------------------------------------------------------


def test_layout_weights_first_then_biases():
    net = nnfast.Network([3, 4, 2], seed=0)
    assert net.parameters.shape == (3 * 4 + 4 * 2 + 4 + 2,)
    net.parameters[:] = np.arange(net.parameters.size)
    assert [W.shape for W in net.weights] == [(3, 4), (4, 2)]
    assert [b.shape for b in net.biases] == [(4,), (2,)]
    np.testing.assert_array_equal(net.weights[0], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(net.weights[1], np.arange(12, 20).reshape(4, 2))
    np.testing.assert_array_equal(net.biases[0], [20, 21, 22, 23])
    np.testing.assert_array_equal(net.biases[1], [24, 25])
    assert net.parameters.dtype == np.float64 and net.parameters.flags.c_contiguous


def test_weights_and_biases_are_writable_views():
    net = nnfast.Network([2, 3, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    x = np.array([0.5, -1.0])
    for a in net.weights + net.biases:
        assert np.shares_memory(a, net.parameters)
        assert a.flags.writeable
    before = net.feedforward(x)
    net.weights[0][1, 2] = 7.0
    assert net.parameters[1 * 3 + 2] == 7.0
    net.biases[1][0] = -3.0
    assert net.parameters[-1] == -3.0
    after = net.feedforward(x)
    assert after != before
    h = sigmoid(x @ net.weights[0] + net.biases[0])
    np.testing.assert_allclose(after, sigmoid(h @ net.weights[1] + net.biases[1]), rtol=1e-14)
    # and the other way round: writing the buffer changes the views
    net.parameters[:] = 0.0
    assert not any(a.any() for a in net.weights + net.biases)
    assert net.feedforward(x)[0] == 0.5


def test_training_updates_the_views_in_place(backend):
    net = nnfast.Network([3, 4, 2], seed=0)
    W0, params = net.weights[0], net.parameters
    before = W0.copy()
    X, Y = regression()
    net.train(X, Y, epochs=2)
    assert net.weights[0] is W0 and net.parameters is params
    assert not np.array_equal(W0, before)


# --- forward --------------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", [[2, 3, 1], [4, 5, 3], [3, 2, 6, 2]])
def test_feedforward_shapes_and_values(sizes, backend):
    net = nnfast.Network(
        sizes, activation="tanh", output_activation="sigmoid", init="normal", seed=2
    )
    X = np.random.default_rng(0).normal(size=(7, sizes[0]))
    out = net.feedforward(X)
    assert out.shape == (7, sizes[-1])
    single = net.feedforward(X[3])
    assert single.shape == (sizes[-1],)
    np.testing.assert_allclose(single, out[3], rtol=1e-14)
    a = X
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = a @ W + b
        a = np.tanh(z) if l < len(sizes) - 2 else sigmoid(z)
    np.testing.assert_allclose(out, a, rtol=1e-13)
    np.testing.assert_array_equal(net(X), out)  # __call__
    assert net.feedforward(X[:1]).shape == (1, sizes[-1])


def test_repr_shows_structure():
    net = nnfast.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    assert repr(net) == (
        "Network([2, 2, 1], activation='sigmoid', output_activation='sigmoid', loss='mse')"
    )
    assert net.n_inputs == 2 and net.n_outputs == 1 and net.layer_sizes == [2, 2, 1]


def test_default_output_activation_follows_the_loss():
    assert nnfast.Network([2, 3, 2]).output_activation == "identity"
    assert nnfast.Network([2, 3, 2], loss="binary_cross_entropy").output_activation == "sigmoid"
    assert nnfast.Network([2, 3, 2], loss="cross_entropy").output_activation == "softmax"


# --- initialisation -------------------------------------------------------------------------


def test_auto_init_is_he_for_relu_and_xavier_otherwise():
    net = nnfast.Network([400, 300, 200], activation="relu", output_activation="sigmoid", seed=0)
    W0, W1 = net.weights
    he_std = np.sqrt(2.0 / 400)
    assert W0.std() == pytest.approx(he_std, rel=0.02)
    assert abs(W0.mean()) < 0.01 * he_std * 10
    assert np.abs(W0).max() > 3.5 * he_std  # normal tails, not a bounded uniform
    limit = np.sqrt(6.0 / (300 + 200))
    assert np.abs(W1).max() <= limit
    assert np.abs(W1).max() > 0.99 * limit
    assert W1.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)  # uniform's std
    assert not any(b.any() for b in net.biases)

    tanh = nnfast.Network([400, 300, 1], activation="tanh", seed=0)
    limit = np.sqrt(6.0 / 700)
    assert np.abs(tanh.weights[0]).max() <= limit
    assert tanh.weights[0].std() == pytest.approx(limit / np.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "name, family",
    [
        ("relu", "he"),
        ("sigmoid", "xavier"),
        ("tanh", "xavier"),
        ("identity", "xavier"),
        ("leaky_relu", "he"),
        ("elu", "he"),
        ("gelu", "he"),
        ("softplus", "he"),
        ("silu", "he"),
    ],
)
def test_auto_init_is_each_hidden_activations_family(name, family):
    """init="auto" draws a hidden layer's weights as its activation's ``init`` names."""
    assert nnfast.activations.get(name).init == family
    auto = nnfast.Network([5, 7, 6, 2], activation=name, output_activation="identity", seed=4)
    named = nnfast.Network(
        [5, 7, 6, 2], activation=name, output_activation="identity", init=family, seed=4
    )
    for W_auto, W_named in zip(auto.weights[:-1], named.weights[:-1]):  # drawn in order
        np.testing.assert_array_equal(W_auto, W_named)


def test_mixed_activations_initialise_per_layer():
    net = nnfast.Network([300, 300, 300, 1], activation=["sigmoid", "relu"], seed=1)
    assert np.abs(net.weights[0]).max() <= np.sqrt(6.0 / 600)  # sigmoid: Xavier
    assert net.weights[1].std() == pytest.approx(np.sqrt(2.0 / 300), rel=0.02)  # relu: He
    assert np.abs(net.weights[1]).max() > np.sqrt(6.0 / 600)


@pytest.mark.parametrize(
    "init, check",
    [
        (
            "he",
            lambda W, b, n_in, n_out: (
                W.std() == pytest.approx(np.sqrt(2 / n_in), rel=0.03) and not b.any()
            ),
        ),
        (
            "xavier",
            lambda W, b, n_in, n_out: (
                np.abs(W).max() <= np.sqrt(6 / (n_in + n_out)) and not b.any()
            ),
        ),
        (
            "normal",
            lambda W, b, n_in, n_out: (
                W.std() == pytest.approx(1.0, rel=0.03) and b.std() == pytest.approx(1.0, rel=0.2)
            ),
        ),
        ("zeros", lambda W, b, n_in, n_out: not W.any() and not b.any()),
    ],
)
def test_explicit_initialisers(init, check):
    net = nnfast.Network([300, 200, 100], activation="sigmoid", init=init, seed=3)
    for W, b in zip(net.weights, net.biases):
        assert check(W, b, *W.shape), init


def test_initialize_redraws():
    net = nnfast.Network([3, 5, 2], seed=0)
    first = net.parameters.copy()
    net.initialize()
    assert not np.array_equal(first, net.parameters)
    net.initialize(seed=0)
    np.testing.assert_array_equal(net.parameters, first)
    net.initialize(init="zeros")
    assert not net.parameters.any()


# --- seeds ----------------------------------------------------------------------------------


def test_same_seed_same_parameters_and_training(backend):
    X, Y = regression()
    a = nnfast.Network([3, 6, 2], activation="relu", seed=42)
    b = nnfast.Network([3, 6, 2], activation="relu", seed=42)
    c = nnfast.Network([3, 6, 2], activation="relu", seed=43)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert not np.array_equal(a.parameters, c.parameters)
    options = dict(epochs=5, learning_rate=0.05, batch_size=4, dropout=0.2)
    ha, hb = a.train(X, Y, **options), b.train(X, Y, **options)  # the networks' own generators
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert ha.loss == hb.loss
    # an explicit training seed overrides the network's generator, and is reproducible too
    a2 = nnfast.Network([3, 6, 2], activation="relu", seed=42)
    c2 = nnfast.Network([3, 6, 2], activation="relu", seed=43)
    c2.parameters[:] = a2.parameters
    a2.train(X, Y, seed=7, **options)
    c2.train(X, Y, seed=7, **options)
    np.testing.assert_array_equal(a2.parameters, c2.parameters)
    d = nnfast.Network([3, 6, 2], activation="relu", seed=42)
    d.train(X, Y, seed=8, **options)
    assert not np.array_equal(a2.parameters, d.parameters)


def test_generator_as_seed():
    a = nnfast.Network([3, 4, 1], seed=np.random.default_rng(5))
    b = nnfast.Network([3, 4, 1], seed=5)
    np.testing.assert_array_equal(a.parameters, b.parameters)


# --- copies and pickles ---------------------------------------------------------------------


def _check_independent_views(original, clone):
    np.testing.assert_array_equal(clone.parameters, original.parameters)
    assert not np.shares_memory(clone.parameters, original.parameters)
    for a in clone.weights + clone.biases:
        assert np.shares_memory(a, clone.parameters)
    x = np.array([0.3, -0.2, 0.9])
    np.testing.assert_array_equal(clone.feedforward(x), original.feedforward(x))
    clone.weights[0][0, 0] += 1.0
    assert clone.parameters[0] == original.parameters[0] + 1.0
    clone.biases[-1][0] += 1.0
    assert clone.parameters[-clone.n_outputs] == original.parameters[-clone.n_outputs] + 1.0
    assert clone.feedforward(x)[0] != original.feedforward(x)[0]
    clone.parameters[-1] = 5.0
    assert clone.biases[-1][-1] == 5.0 and original.biases[-1][-1] != 5.0


def test_copy_keeps_views_working():
    net = nnfast.Network([3, 4, 2], activation="tanh", seed=0)
    _check_independent_views(net, net.copy())


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip_keeps_views_working(protocol):
    net = nnfast.Network([3, 4, 2], activation=["relu"], output_activation="tanh", seed=0)
    X, Y = regression()
    net.train(X, Y, epochs=2)
    clone = pickle.loads(pickle.dumps(net, protocol=protocol))
    assert repr(clone) == repr(net)
    assert clone.history.loss == net.history.loss
    _check_independent_views(net, clone)


def test_copy_has_its_own_random_state(backend):
    """copy() promises an independent random state: the copy trains like the original."""
    X, Y = regression()
    net = nnfast.Network([3, 5, 2], seed=0)
    clone = net.copy()
    net.train(X, Y, epochs=3, batch_size=4)
    clone.train(X, Y, epochs=3, batch_size=4)
    np.testing.assert_array_equal(clone.parameters, net.parameters)


def test_pickled_network_trains_like_the_original(backend):
    X, Y = regression()
    net = nnfast.Network([3, 5, 2], seed=0)
    clone = pickle.loads(pickle.dumps(net))
    net.train(X, Y, epochs=3, batch_size=4)
    clone.train(X, Y, epochs=3, batch_size=4)
    np.testing.assert_array_equal(clone.parameters, net.parameters)


# --- training -------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 8, None])
def test_training_reduces_the_loss(batch_size, backend):
    X, Y = regression()
    net = nnfast.Network([3, 8, 2], activation="tanh", seed=0)
    before = net.loss(X, Y)
    history = net.train(X, Y, epochs=30, learning_rate=0.05, batch_size=batch_size)
    assert len(history.loss) == 30 and len(history.learning_rate) == 30
    assert history.learning_rate == [0.05] * 30
    assert history.epochs == 30 and net.history is history
    assert net.loss(X, Y) < 0.7 * before
    assert history.loss[-1] < history.loss[0]
    assert history.accuracy == [] and history.val_loss == []  # mse: no accuracy


def test_batch_larger_than_the_data_is_full_batch(backend):
    X, Y = regression(n=10)
    a = nnfast.Network([3, 4, 2], seed=0)
    b = a.copy()
    a.train(X, Y, epochs=3, batch_size=1000, seed=1)
    b.train(X, Y, epochs=3, batch_size=None, seed=1)
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_full_batch_epoch_is_one_gradient_step(backend):
    """Full batch, plain SGD: one epoch is p -= lr * grad, and its loss is the loss before."""
    X, Y = regression()
    net = nnfast.Network([3, 4, 2], activation="sigmoid", seed=0)
    before = net.parameters.copy()
    loss = net.loss(X, Y)
    dW, db = net.gradients(X, Y)
    grad = np.concatenate([g.ravel() for g in dW + db])
    history = net.train(X, Y, epochs=1, learning_rate=0.3, batch_size=None)
    np.testing.assert_allclose(net.parameters, before - 0.3 * grad, rtol=1e-12, atol=1e-15)
    assert history.loss[0] == pytest.approx(loss, rel=1e-12)


def test_optimizer_formulas_over_two_full_batch_steps(backend):
    """Momentum, Nesterov (PyTorch's form) and Adam (Kingma & Ba) re-derived by hand."""
    X, Y = regression()
    base = nnfast.Network([3, 4, 2], activation="tanh", seed=1)

    def gradient(params):
        probe = base.copy()
        probe.parameters[:] = params
        return np.concatenate([g.ravel() for g in sum(probe.gradients(X, Y), [])])

    lr, mu, b1, b2, eps = 0.1, 0.9, 0.8, 0.95, 1e-7
    for optimizer in ("momentum", "nesterov", "adam"):
        p = base.parameters.copy()
        m = np.zeros_like(p)
        v = np.zeros_like(p)
        for t in (1, 2):
            g = gradient(p)
            if optimizer == "adam":
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
            else:
                m = mu * m + g
                p = p - lr * (g + mu * m if optimizer == "nesterov" else m)
        opt = (
            nnfast.Adam(beta_1=b1, beta_2=b2, epsilon=eps)
            if optimizer == "adam"
            else nnfast.SGD(momentum=mu, nesterov=optimizer == "nesterov")
        )
        net = base.copy()
        net.train(X, Y, epochs=2, learning_rate=lr, batch_size=None, optimizer=opt)
        np.testing.assert_allclose(net.parameters, p, rtol=1e-11, atol=1e-14, err_msg=optimizer)


def test_l2_is_weight_decay_on_weights_only(backend):
    X, Y = regression()
    net = nnfast.Network([3, 4, 2], seed=2)
    before = net.parameters.copy()
    nw = net.spec.n_weights
    grad = np.concatenate([g.ravel() for g in sum(net.gradients(X, Y), [])])
    net.train(X, Y, epochs=1, learning_rate=0.2, batch_size=None, l2=0.5, l1=0.01)
    expected = before - 0.2 * grad
    expected[:nw] -= 0.2 * (0.5 * before[:nw] + 0.01 * np.sign(before[:nw]))
    np.testing.assert_allclose(net.parameters, expected, rtol=1e-12, atol=1e-15)


def test_schedule_learning_rates_are_recorded(backend):
    X, Y = regression(n=12)
    net = nnfast.Network([3, 4, 2], seed=0)
    h = net.train(
        X,
        Y,
        epochs=6,
        learning_rate=0.2,
        batch_size=4,
        lr_schedule=nnfast.schedules.StepDecay(drop=0.5, every=2),
    )
    # lr * drop ** floor(epoch / every)
    np.testing.assert_allclose(h.learning_rate, [0.2, 0.2, 0.1, 0.1, 0.05, 0.05], rtol=1e-15)
    h = net.train(
        X,
        Y,
        epochs=4,
        learning_rate=0.2,
        batch_size=4,
        lr_schedule=nnfast.schedules.ExponentialDecay(decay_rate=0.5, decay_steps=2),
    )
    # per step, history.learning_rate[e] is the rate of epoch e's first update, t = 3 e
    t = 3 * np.arange(4)
    np.testing.assert_allclose(h.learning_rate, 0.2 * 0.5 ** (t / 2), rtol=1e-14)
    h = net.train(
        X,
        Y,
        epochs=3,
        learning_rate=0.2,
        batch_size=4,
        lr_schedule=nnfast.schedules.InverseTimeDecay(1.0, 1, per="epoch"),
    )
    # per epoch: t is the epoch index
    np.testing.assert_allclose(h.learning_rate, 0.2 / (1 + np.arange(3)), rtol=1e-14)


def test_integer_labels_with_softmax_cross_entropy(backend):
    X, labels = blobs()
    net = nnfast.Network([2, 8, 3], activation="tanh", loss="cross_entropy", seed=0)
    assert net.output_activation == "softmax"
    # the first full-batch epoch measures the untrained network: its loss and accuracy
    probe = net.copy()
    P = probe.feedforward(X)
    h1 = probe.train(X, labels, epochs=1, batch_size=None)
    assert h1.accuracy[0] == pytest.approx(np.mean(P.argmax(axis=1) == labels), abs=1e-15)
    assert h1.loss[0] == pytest.approx(-np.log(P[np.arange(len(X)), labels]).mean(), rel=1e-12)

    history = net.train(X, labels, epochs=40, learning_rate=0.1, batch_size=6)
    assert len(history.accuracy) == len(history.loss) == 40
    assert all(0.0 <= a <= 1.0 for a in history.accuracy)
    assert history.accuracy[-1] > 0.95
    assert (net.feedforward(X).argmax(axis=1) == labels).mean() > 0.95
    np.testing.assert_allclose(net.feedforward(X).sum(axis=1), 1.0, rtol=1e-14)
    # integer labels and their one-hot rows are the same targets
    assert net.loss(X, labels) == pytest.approx(net.loss(X, nnfast.one_hot(labels, 3)), rel=1e-15)


def test_binary_cross_entropy_accuracy(backend):
    X, labels = blobs()
    y = (labels == 0).astype(float)
    net = nnfast.Network([2, 6, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    history = net.train(X, y, epochs=30, learning_rate=0.1, batch_size=8)
    assert len(history.accuracy) == 30
    assert history.accuracy[-1] > 0.95


def test_validation_split_and_early_stopping(backend):
    X, Y = regression(n=50)
    net = nnfast.Network([3, 8, 2], activation="tanh", seed=0)
    history = net.train(
        X,
        Y,
        epochs=200,
        learning_rate=0.05,
        batch_size=5,
        validation_split=0.2,
        early_stopping=nnfast.EarlyStopping(patience=3),
    )
    assert len(history.val_loss) == len(history.loss) <= 200
    assert history.best_epoch == int(np.argmin(history.val_loss))
    if history.stopped_epoch is not None:
        assert history.stopped_epoch == len(history.loss) - 1
        assert history.stopped_epoch - history.best_epoch >= 3
    # best weights restored: the validation loss now is the best one recorded
    assert net.loss(X[40:], Y[40:]) == pytest.approx(min(history.val_loss), rel=1e-10)


def test_diverging_run_warns_and_keeps_finite_parameters(backend):
    X, Y = regression()
    net = nnfast.Network([3, 8, 2], activation="relu", output_activation="identity", seed=0)
    start = net.parameters.copy()
    with pytest.warns(RuntimeWarning, match="diverged"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="(overflow|invalid value)")
            history = net.train(X, Y, epochs=50, learning_rate=1e6, batch_size=4)
    assert np.isfinite(net.parameters).all()
    assert history.stopped_epoch is not None and len(history.loss) == history.stopped_epoch + 1
    assert len(history.loss) < 50
    assert not np.isfinite(history.loss[-1])
    if history.stopped_epoch == 0:  # no finite epoch: back to where it started
        np.testing.assert_array_equal(net.parameters, start)
    assert np.isfinite(net.feedforward(X)).all()


@pytest.mark.parametrize(
    "options",
    [
        dict(epochs=1),
        dict(epochs=30, validation_split=0.25),
        dict(epochs=30, callbacks=[nnfast.Callback()]),
    ],
    ids=["single_epoch", "validation", "callback"],
)
def test_divergence_in_the_last_epoch_of_a_kernel_call_is_caught(options, backend):
    """One epoch per kernel call (validation, callbacks) or a one-epoch run: a non-finite
    epoch loss must still warn and stop the run, not be recorded and trained through."""
    X, Y = regression()
    net = nnfast.Network([3, 8, 2], activation="relu", output_activation="identity", seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="(overflow|invalid value)")
            history = net.train(X, Y, learning_rate=1e6, batch_size=4, **options)
    assert (
        history.stopped_epoch == len(history.loss) - 1 < options["epochs"]
        or options["epochs"] == 1
        and history.stopped_epoch == 0
    )
    assert np.isfinite(net.parameters).all()


def test_diverged_run_never_keeps_overflowed_parameters(backend):
    """Epoch 0's loss (measured before each update) is finite, but its one update overflows
    the weights to -inf: that epoch diverged, and the run must end on the weights it started
    from, never on infinite ones."""
    net = nnfast.Network([1, 1], activation=[], seed=0)
    net.weights[0][:] = 1.0
    net.biases[0][:] = 0.0
    with pytest.warns(RuntimeWarning, match="diverged"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="(overflow|invalid value)")
            history = net.train([[1.0]], [[-10.0]], epochs=5, learning_rate=1e308, batch_size=1)
    assert history.loss == [121.0] and history.stopped_epoch == 0
    np.testing.assert_array_equal(net.parameters, [1.0, 0.0])
    assert np.isfinite(net.feedforward([1.0])).all()
