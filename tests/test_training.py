"""Network.train as a demanding user relies on it, on both backends.

- every option gives the same weights on the compiled backend as on the NumPy reference;
- the optimizer, penalty, dropout and schedule formulas, re-derived here by hand;
- early stopping, restarts, callbacks, validation and the progress bar behave as documented;
- the lessons' model-complexity behaviour shows up on a small noisy data set.

Regularisation convention throughout: the objective is the mean loss plus
``l1 * sum|W| + l2 / 2 * sum W**2`` over the weights (never the biases), so the penalty's
gradient is ``l1 * sign(W) + l2 * W``; ``history.loss`` / ``val_loss`` exclude the penalty.
"""

import math
import sys
import threading

import numpy as np
import pytest

import nnfast as nf
from nnfast import _reference
from nnfast.schedules import ExponentialDecay, InverseTimeDecay, ReduceOnPlateau, StepDecay

# --- data and helpers ------------------------------------------------------------------------


def moons(n, rng, noise=0.2, flip=0.1):
    """Two interleaving half circles (scikit-learn's make_moons), a fraction of labels flipped."""
    t = rng.uniform(0.0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(label == 0, np.sin(t), 0.5 - np.sin(t))
    X = np.column_stack([x, y]) + rng.normal(0.0, noise, (n, 2))
    flipped = rng.random(n) < flip
    return X, np.where(flipped, 1 - label, label).astype(float)


def blobs(n, rng, n_features=4, n_classes=3):
    centres = rng.normal(0.0, 2.0, (n_classes, n_features))
    labels = rng.integers(0, n_classes, n)
    return centres[labels] + rng.normal(size=(n, n_features)), labels


def flat(weights, biases):
    """The flat parameter layout: every weight matrix (C order), then every bias."""
    return np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])


def assert_rel(actual, desired, rtol=1e-9, what="weights"):
    """Equal to ``rtol`` relative to the largest magnitude (entries near 0 need not match
    to rtol of themselves)."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    assert actual.shape == desired.shape, what
    scale = max(np.max(np.abs(desired)), 1e-300) if desired.size else 1.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale, err_msg=what)


class Recorder(nf.Callback):
    """Copies of the monitored losses and of the parameters after every epoch."""

    def __init__(self):
        self.begin = self.end = 0
        self.epochs, self.params = [], []

    def on_train_begin(self, network):
        self.begin += 1

    def on_epoch_end(self, epoch, history, network):
        self.epochs.append(epoch)
        self.params.append(network.parameters.copy())
        return False

    def on_train_end(self, history, network):
        self.end += 1


# --- 1. every feature gives the same weights on both backends ----------------------------------

PARITY = {
    "sgd": dict(learning_rate=0.1),
    "momentum": dict(optimizer=nf.SGD(momentum=0.9)),
    "nesterov": dict(optimizer=nf.SGD(momentum=0.8, nesterov=True)),
    "adam": dict(learning_rate=0.01, optimizer="adam"),
    "adam_custom": dict(
        learning_rate=0.02, optimizer=nf.Adam(beta_1=0.8, beta_2=0.99, epsilon=1e-6)
    ),
    "l1": dict(l1=0.01),
    "l2": dict(l2=0.1),
    "dropout": dict(dropout=0.3),
    "dropout_per_layer": dict(dropout=[0.5, 0.2]),
    "step_decay": dict(lr_schedule=StepDecay(drop=0.5, every=2)),
    "exp_step": dict(lr_schedule=ExponentialDecay(0.9, decay_steps=5)),
    "exp_step_staircase": dict(lr_schedule=ExponentialDecay(0.5, decay_steps=7, staircase=True)),
    "exp_epoch": dict(lr_schedule=ExponentialDecay(0.5, decay_steps=2, per="epoch")),
    "exp_epoch_staircase": dict(
        lr_schedule=ExponentialDecay(0.5, decay_steps=2, staircase=True, per="epoch")
    ),
    "inverse_time_step": dict(lr_schedule=InverseTimeDecay(0.5, decay_steps=3)),
    "inverse_time_epoch": dict(lr_schedule=InverseTimeDecay(1.0, decay_steps=2, per="epoch")),
    "plateau": dict(
        lr_schedule=ReduceOnPlateau(factor=0.5, patience=1, min_delta=0.0),
        learning_rate=0.5,
        validation="data",
    ),
    "combined_adam": dict(
        learning_rate=0.01,
        optimizer="adam",
        l1=0.001,
        l2=0.01,
        dropout=0.2,
        lr_schedule=InverseTimeDecay(0.5, decay_steps=10),
        validation="data",
        early_stopping=nf.EarlyStopping(patience=3),
    ),
    "combined_nesterov": dict(
        optimizer=nf.SGD(momentum=0.9, nesterov=True),
        l2=0.01,
        dropout=[0.1, 0.4],
        validation="split",
        learning_rate=0.3,
        lr_schedule=ReduceOnPlateau(factor=0.5, patience=0, min_delta=0.0),
    ),
    "per_sample_sgd": dict(batch_size=1, l1=0.001, l2=0.01),
    "per_sample_sgd_decay": dict(
        batch_size=1, dropout=0.2, lr_schedule=ExponentialDecay(0.5, decay_steps=100)
    ),
    "per_sample_momentum": dict(batch_size=1, optimizer=nf.SGD(momentum=0.9), l2=0.01),
    "full_batch_adam": dict(batch_size=None, optimizer="adam", learning_rate=0.05, l2=0.01),
    "combined_momentum_step": dict(
        optimizer=nf.SGD(momentum=0.5),
        l1=0.003,
        dropout=0.25,
        lr_schedule=StepDecay(drop=0.7, every=3),
    ),
}


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("case", sorted(PARITY))
def test_backends_agree(case, loss, on_both):
    options = dict(PARITY[case])
    validation = options.pop("validation", None)
    rng = np.random.default_rng(7)
    X, labels = blobs(53, rng)  # 53 samples, batches of 8: the last batch is partial
    Xv, labels_v = blobs(20, rng)
    if loss == "binary_cross_entropy":
        labels, labels_v = (labels == 0).astype(float), (labels_v == 0).astype(float)
    if validation == "data":
        options["validation_data"] = (Xv, labels_v)
    elif validation == "split":
        options["validation_split"] = 0.2

    def fit():
        net = nf.Network(
            [4, 6, 5, 3 if loss == "cross_entropy" else 1],
            activation=["tanh", "relu"],
            loss=loss,
            seed=3,
        )
        opts = {k: v for k, v in options.items()}
        if "early_stopping" in opts:  # a fresh callback for each backend's run
            opts["early_stopping"] = nf.EarlyStopping(patience=3)
        history = net.train(
            X, labels, epochs=8, seed=11, **{"learning_rate": 0.1, "batch_size": 8, **opts}
        )
        return net.parameters.copy(), history

    (p_c, h_c), (p_r, h_r) = on_both(fit)
    assert_rel(p_c, p_r, 1e-9)
    assert not np.allclose(
        p_c,
        nf.Network(
            [4, 6, 5, 3 if loss == "cross_entropy" else 1],
            activation=["tanh", "relu"],
            loss=loss,
            seed=3,
        ).parameters,
    )
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert_rel(getattr(h_c, field), getattr(h_r, field), 1e-9, field)
    assert h_c.epochs == h_r.epochs and h_c.best_epoch == h_r.best_epoch
    if "lr_schedule" in options:
        assert len(set(h_r.learning_rate)) > 1, "the schedule never changed the rate"


def test_features_change_training(on_both):
    """The parity cases are not vacuous: each option changes the weights the run ends with."""
    rng = np.random.default_rng(0)
    X, labels = blobs(40, rng)

    def fit(**options):
        net = nf.Network([4, 6, 3], activation="tanh", loss="cross_entropy", seed=1)
        net.train(X, labels, epochs=4, batch_size=8, seed=2, learning_rate=0.1, **options)
        return net.parameters.copy()

    plain = fit()
    for options in (
        dict(optimizer=nf.SGD(momentum=0.9)),
        dict(optimizer=nf.SGD(momentum=0.9, nesterov=True)),
        dict(optimizer="adam"),
        dict(l1=0.01),
        dict(l2=0.1),
        dict(dropout=0.3),
        dict(lr_schedule=StepDecay(0.5, 1)),
    ):
        assert not np.allclose(fit(**options), plain), options
    assert not np.allclose(
        fit(optimizer=nf.SGD(momentum=0.9)), fit(optimizer=nf.SGD(momentum=0.9, nesterov=True))
    )


# --- 2. the optimizer formulas, re-derived --------------------------------------------------


def _tiny():
    X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 0.2]])
    Y = np.array([[1.0], [0.0], [1.0], [0.0]])
    net = nf.Network(
        [2, 3, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", seed=5
    )
    return net, X, Y


def _hand_steps(net, X, Y, n_steps, lr, kind, l1=0.0, l2=0.0, mu=0.9, b1=0.9, b2=0.999, eps=1e-8):
    """Parameters after n_steps full-batch updates, computed with NumPy from net.gradients."""
    probe = net.copy()
    n_w = sum(w.size for w in probe.weights)
    p = probe.parameters.copy()
    v = np.zeros_like(p)
    m = np.zeros_like(p)
    for t in range(1, n_steps + 1):
        probe.parameters[:] = p
        g = flat(*probe.gradients(X, Y))
        g[:n_w] += l1 * np.sign(p[:n_w]) + l2 * p[:n_w]  # penalty on weights, not biases
        if kind == "sgd":
            p = p - lr * g
        elif kind == "momentum":  # PyTorch: v = mu v + g; p -= lr v
            v = mu * v + g
            p = p - lr * v
        elif kind == "nesterov":  # PyTorch: v = mu v + g; p -= lr (g + mu v)
            v = mu * v + g
            p = p - lr * (g + mu * v)
        else:  # Adam, Kingma & Ba Algorithm 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


OPTIMIZERS = {
    "sgd": "sgd",
    "momentum": nf.SGD(momentum=0.9),
    "nesterov": nf.SGD(momentum=0.9, nesterov=True),
    "adam": nf.Adam(beta_1=0.9, beta_2=0.999, epsilon=1e-8),
}


@pytest.mark.parametrize("penalty", [{}, {"l2": 0.3}, {"l1": 0.05, "l2": 0.1}])
@pytest.mark.parametrize("n_steps", [1, 3])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_optimizer_steps_by_hand(kind, n_steps, penalty, backend):
    net, X, Y = _tiny()
    lr = 0.5 if kind != "adam" else 0.05
    expected = _hand_steps(net, X, Y, n_steps, lr, kind, **penalty)
    net.train(
        X,
        Y,
        epochs=n_steps,
        batch_size=None,
        learning_rate=lr,
        optimizer=OPTIMIZERS[kind],
        **penalty,
    )
    np.testing.assert_allclose(net.parameters, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_first_step_closed_form(kind, backend):
    """Step 1 from zero state: momentum = SGD, Nesterov = SGD with lr (1 + mu), Adam = lr sign(g)
    (up to epsilon): bias correction makes the first Adam step the full rate in each coordinate."""
    net, X, Y = _tiny()
    p0 = net.parameters.copy()
    g = flat(*net.gradients(X, Y))
    lr = 0.1
    expected = {
        "sgd": p0 - lr * g,
        "momentum": p0 - lr * g,
        "nesterov": p0 - lr * 1.9 * g,
        "adam": p0 - lr * g / (np.abs(g) + 1e-8),
    }[kind]
    net.train(X, Y, epochs=1, batch_size=None, learning_rate=lr, optimizer=OPTIMIZERS[kind])
    np.testing.assert_allclose(net.parameters, expected, rtol=1e-12, atol=1e-15)


def test_penalty_convention(backend):
    """One SGD step with l1, l2: W -= lr (dL/dW + l1 sign W + l2 W); b -= lr dL/db."""
    net, X, Y = _tiny()
    (dW0, dW1), (db0, db1) = net.gradients(X, Y)
    W0, W1, b0, b1 = (a.copy() for a in (*net.weights, *net.biases))
    lr, l1, l2 = 0.2, 0.03, 0.4
    net.train(X, Y, epochs=1, batch_size=None, learning_rate=lr, l1=l1, l2=l2)
    np.testing.assert_allclose(
        net.weights[0], W0 - lr * (dW0 + l1 * np.sign(W0) + l2 * W0), rtol=1e-12
    )
    np.testing.assert_allclose(
        net.weights[1], W1 - lr * (dW1 + l1 * np.sign(W1) + l2 * W1), rtol=1e-12
    )
    np.testing.assert_allclose(net.biases[0], b0 - lr * db0, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(net.biases[1], b1 - lr * db1, rtol=1e-12, atol=1e-16)


# --- 3. early stopping ----------------------------------------------------------------------


def _rising_validation(lr=0.05):
    """A network whose validation loss after epoch e is (0.5 - 0.8**(e + 1))**2 exactly.

    One sample x = 1, target 1, output f = w + b from w = b = 0, full-batch GD on (f - 1)**2:
    f_{t+1} - 1 = (1 - 4 lr)(f_t - 1), so f_t = 1 - 0.8**t. Against the validation target 0.5
    the loss falls until f passes 0.5 (epoch 2) and then rises for good.
    """
    net = nf.Network([1, 1], output_activation="identity", loss="mse")
    net.parameters[:] = 0.0
    X, Y = np.ones((1, 1)), np.ones((1, 1))
    val = (np.ones((1, 1)), np.full((1, 1), 0.5))
    curve = [(0.5 - 0.8 ** (e + 1)) ** 2 for e in range(30)]
    return net, X, Y, val, curve


@pytest.mark.parametrize("patience", [1, 3, 6])
def test_early_stopping_on_a_constructed_curve(patience, backend):
    net, X, Y, val, curve = _rising_validation()
    best = int(np.argmin(curve))
    assert best == 2
    rec = Recorder()
    h = net.train(
        X,
        Y,
        epochs=30,
        batch_size=None,
        learning_rate=0.05,
        validation_data=val,
        early_stopping=nf.EarlyStopping(patience=patience),
        callbacks=[rec],
    )
    np.testing.assert_allclose(h.val_loss, curve[: len(h.val_loss)], rtol=1e-12)
    assert h.stopped_epoch == best + patience
    assert h.epochs == len(h.val_loss) == best + patience + 1
    assert h.best_epoch == best
    f_best = 1 - 0.8 ** (best + 1)
    np.testing.assert_allclose(net.parameters, [f_best / 2, f_best / 2], rtol=1e-12)
    np.testing.assert_array_equal(net.parameters, rec.params[best])
    assert rec.begin == rec.end == 1


def test_early_stopping_restore_best_false_keeps_last(backend):
    net, X, Y, val, curve = _rising_validation()
    rec = Recorder()
    h = net.train(
        X,
        Y,
        epochs=30,
        batch_size=None,
        learning_rate=0.05,
        validation_data=val,
        early_stopping=nf.EarlyStopping(patience=4, restore_best=False),
        callbacks=[rec],
    )
    assert h.stopped_epoch == 6 and h.best_epoch == 2
    np.testing.assert_array_equal(net.parameters, rec.params[-1])
    f_last = 1 - 0.8**7
    np.testing.assert_allclose(net.parameters, [f_last / 2, f_last / 2], rtol=1e-12)
    np.testing.assert_allclose(net.loss(*val), curve[6], rtol=1e-12)


def _keras_stop(curve, patience, min_delta):
    """(stopped epoch or None, best epoch) by the rule: stop once `patience` epochs in a row
    fail to beat the best so far by more than min_delta."""
    best, best_epoch, wait = np.inf, None, 0
    for e, value in enumerate(curve):
        if value < best - min_delta:
            best, best_epoch, wait = value, e, 0
        else:
            wait += 1
            if wait >= patience:
                return e, best_epoch
    return None, best_epoch


@pytest.mark.parametrize("patience,min_delta", [(10, 0.0), (5, 0.0), (10, 0.01)])
def test_early_stopping_on_overfitting_network(patience, min_delta, backend):
    rng = np.random.default_rng(3)
    X, y = moons(40, rng)
    val = moons(100, rng)

    def fit(**options):
        net = nf.Network([2, 32, 32, 1], activation="relu", loss="binary_cross_entropy", seed=0)
        rec = Recorder()
        h = net.train(
            X,
            y,
            epochs=80,
            learning_rate=0.02,
            batch_size=8,
            optimizer="adam",
            seed=1,
            validation_data=val,
            callbacks=[rec],
            **options,
        )
        return net, h, rec

    _, full, _ = fit()  # the curve without early stopping
    stop, best = _keras_stop(full.val_loss, patience, min_delta)
    assert stop is not None and stop < 79
    net, h, rec = fit(early_stopping=nf.EarlyStopping(patience=patience, min_delta=min_delta))
    assert h.val_loss == full.val_loss[: stop + 1]  # early stopping does not perturb training
    assert h.stopped_epoch == stop and h.best_epoch == best
    if min_delta == 0.0:  # in words: p epochs after the minimum of the validation loss
        assert best == int(np.argmin(h.val_loss)) and stop == best + patience
    np.testing.assert_array_equal(net.parameters, rec.params[best])
    assert net.loss(*val) == pytest.approx(h.val_loss[best], rel=1e-12)


def test_early_stopping_true_and_on_training_loss(backend):
    net, X, Y, val, curve = _rising_validation()
    h = net.train(
        X,
        Y,
        epochs=40,
        batch_size=None,
        learning_rate=0.05,
        validation_data=val,
        early_stopping=True,
    )  # patience 10
    assert h.stopped_epoch == 12 and h.best_epoch == 2
    # Without validation data the training loss is watched: it falls for ever, no stop.
    net, X, Y, _, _ = _rising_validation()
    h = net.train(X, Y, epochs=40, batch_size=None, learning_rate=0.05, early_stopping=True)
    assert h.stopped_epoch is None and h.epochs == 40 and h.best_epoch == 39
    with pytest.raises(TypeError, match="early_stopping"):
        net.train(X, Y, epochs=1, early_stopping="yes")


# --- 4. L2 and L1 -----------------------------------------------------------------------------


def test_l2_shrinks_weights(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    norms = {}
    for l2 in (0.0, 0.003, 0.03):
        net = nf.Network([10, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
        net.train(X, y, epochs=60, learning_rate=0.05, batch_size=20, seed=0, l2=l2)
        norms[l2] = np.linalg.norm(np.concatenate([w.ravel() for w in net.weights]))
    assert norms[0.03] < norms[0.003] < norms[0.0]
    assert norms[0.03] < 0.7 * norms[0.0]


def test_l1_zeroes_irrelevant_inputs(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))  # inputs 2..9 are pure noise
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    W = {}
    for l1 in (0.0, 0.01):
        net = nf.Network([10, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
        net.train(X, y, epochs=300, learning_rate=0.05, batch_size=20, seed=0, l1=l1)
        W[l1] = np.abs(net.weights[0])
        assert np.mean((net.feedforward(X)[:, 0] >= 0.5) == (y == 1)) > 0.95
    relevant = W[0.01][:2].max(axis=1)  # the strongest weight from each relevant input
    noise = W[0.01][2:]
    assert relevant.min() > 1.0
    assert noise.max() < 0.1 * relevant.min()
    assert np.median(noise) < 0.01  # subgradient steps leave them within ~lr * l1 of zero
    assert np.median(W[0.0][2:]) > 10 * np.median(noise)


# --- 5. dropout ---------------------------------------------------------------------------------


def _dropout_fit(**options):
    rng = np.random.default_rng(4)
    X, y = moons(50, rng)
    net = nf.Network([2, 16, 8, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    h = net.train(X, y, epochs=20, learning_rate=0.05, batch_size=10, seed=9, **options)
    return net, h, X, y


def test_dropout_zero_is_no_dropout(backend):
    base, h, _, _ = _dropout_fit()
    for rate in (0.0, [0.0, 0.0]):
        net, h0, _, _ = _dropout_fit(dropout=rate)
        np.testing.assert_array_equal(net.parameters, base.parameters)
        assert h0.loss == h.loss


def test_dropout_changes_training_not_inference(backend):
    base, _, X, y = _dropout_fit()
    net, h, _, _ = _dropout_fit(dropout=0.5, validation_data=(X, y))
    again, _, _, _ = _dropout_fit(dropout=0.5, validation_data=(X, y))
    assert not np.allclose(net.parameters, base.parameters)
    np.testing.assert_array_equal(net.parameters, again.parameters)  # masks follow the seed
    out = net.feedforward(X)
    np.testing.assert_array_equal(out, net.feedforward(X))  # deterministic
    (W0, W1, W2), (b0, b1, b2) = net.weights, net.biases
    a = np.maximum(np.maximum(X @ W0 + b0, 0) @ W1 + b1, 0) @ W2 + b2  # no mask, no scaling
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-a)), rtol=1e-12)
    assert h.val_loss[-1] == pytest.approx(net.loss(X, y), rel=1e-12)  # validation: no dropout


def test_dropout_mask_by_hand(backend):
    """Inverted dropout: hidden activations times (u >= rate) / (1 - rate), u from the seed's
    Generator.random, one (n, units) draw per hidden layer per batch."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    net = nf.Network([2, 4, 1], activation="identity", loss="mse", seed=2)
    (W0, W1), (b0, b1) = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    rate, lr = 0.4, 0.1
    mask = (np.random.default_rng(123).random((6, 4)) >= rate) / (1 - rate)
    h = (X @ W0 + b0) * mask
    d = 2 * (h @ W1 + b1 - Y) / Y.size
    dh = d @ W1.T * mask
    net.train(X, Y, epochs=1, batch_size=None, learning_rate=lr, dropout=rate, seed=123)
    np.testing.assert_allclose(net.weights[1], W1 - lr * h.T @ d, rtol=1e-12)
    np.testing.assert_allclose(net.biases[1], b1 - lr * d.sum(0), rtol=1e-12)
    np.testing.assert_allclose(net.weights[0], W0 - lr * X.T @ dh, rtol=1e-12)
    np.testing.assert_allclose(net.biases[0], b0 - lr * dh.sum(0), rtol=1e-12)


# --- 6. learning-rate schedules ---------------------------------------------------------------

N, BATCH, STEPS = 10, 3, 4  # 10 samples in batches of 3: 4 updates per epoch


def _exp(t, rate, steps, staircase):
    p = t / steps
    return rate ** (math.floor(p) if staircase else p)


def _inv(t, rate, steps, staircase):
    p = t / steps
    return 1.0 / (1.0 + rate * (math.floor(p) if staircase else p))


SCHEDULES = {  # schedule, factor(t) in its own unit, unit
    "step": (StepDecay(drop=0.5, every=3), lambda e: 0.5 ** (e // 3), "epoch"),
    "exp_step": (ExponentialDecay(0.8, 5), lambda t: _exp(t, 0.8, 5, False), "step"),
    "exp_step_staircase": (
        ExponentialDecay(0.8, 5, staircase=True),
        lambda t: _exp(t, 0.8, 5, True),
        "step",
    ),
    "exp_epoch": (ExponentialDecay(0.5, 2, per="epoch"), lambda e: _exp(e, 0.5, 2, False), "epoch"),
    "exp_epoch_staircase": (
        ExponentialDecay(0.5, 2, staircase=True, per="epoch"),
        lambda e: _exp(e, 0.5, 2, True),
        "epoch",
    ),
    "inverse_step": (InverseTimeDecay(0.5, 3), lambda t: _inv(t, 0.5, 3, False), "step"),
    "inverse_step_staircase": (
        InverseTimeDecay(0.5, 3, staircase=True),
        lambda t: _inv(t, 0.5, 3, True),
        "step",
    ),
    "inverse_epoch": (
        InverseTimeDecay(2.0, 3, per="epoch"),
        lambda e: _inv(e, 2.0, 3, False),
        "epoch",
    ),
    "inverse_epoch_staircase": (
        InverseTimeDecay(2.0, 3, staircase=True, per="epoch"),
        lambda e: _inv(e, 2.0, 3, True),
        "epoch",
    ),
}


def _observable(l1=1.0):
    """A network whose only gradient is the L1 term of one weight: every update moves
    w by exactly -lr_t * l1 (input 0 and target 0 give no data gradient; b stays 0)."""
    net = nf.Network([1, 1], output_activation="identity", loss="mse")
    net.parameters[:] = [100.0, 0.0]
    return net, np.zeros((N, 1)), np.zeros(N)


def _rates(factor, unit, lr, epochs):
    """The rate of every update, step by step."""
    return np.array(
        [lr * (factor(t // STEPS) if unit == "epoch" else factor(t)) for t in range(epochs * STEPS)]
    )


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_formula_and_updates(name, backend):
    schedule, factor, unit = SCHEDULES[name]
    lr, epochs = 0.1, 12
    rates = _rates(factor, unit, lr, epochs)
    # one kernel call for all epochs
    net, X, Y = _observable()
    h = net.train(
        X,
        Y,
        epochs=epochs,
        batch_size=BATCH,
        learning_rate=lr,
        l1=1.0,
        lr_schedule=schedule,
        seed=0,
    )
    np.testing.assert_allclose(h.learning_rate, rates[::STEPS], rtol=1e-13)
    assert h.learning_rate[0] == lr
    np.testing.assert_allclose(net.parameters, [100.0 - rates.sum(), 0.0], rtol=1e-13)
    # one call per epoch (a callback): the same updates, and each epoch's own steps
    net, X, Y = _observable()
    rec = Recorder()
    h2 = net.train(
        X,
        Y,
        epochs=epochs,
        batch_size=BATCH,
        learning_rate=lr,
        l1=1.0,
        lr_schedule=schedule,
        seed=0,
        callbacks=[rec],
    )
    assert h2.learning_rate == h.learning_rate
    w = np.array([100.0] + [p[0] for p in rec.params])
    np.testing.assert_allclose(-np.diff(w), rates.reshape(epochs, STEPS).sum(axis=1), rtol=1e-10)
    if unit == "epoch":  # constant within each epoch
        assert np.all(rates.reshape(epochs, STEPS) == rates[::STEPS, None])


def test_step_decay_is_per_epoch_staircase():
    assert StepDecay(0.5, 3).hyper(7) == ExponentialDecay(
        0.5, 3, staircase=True, per="epoch"
    ).hyper(7)
    # a staircase per epoch steps at epoch boundaries only: whole numbers of epochs
    with pytest.raises(ValueError, match="whole number"):
        ExponentialDecay(0.5, 1.5, staircase=True, per="epoch")
    ExponentialDecay(0.5, 1.5, per="epoch")  # continuous per epoch: any decay_steps
    with pytest.raises(ValueError, match="per must be"):
        InverseTimeDecay(per="batch")


def _plateau_run(schedule, val_target, epochs=9, **options):
    net, X, Y = _observable()
    val = (np.ones((1, 1)), np.full((1, 1), val_target))
    rec = Recorder()
    h = net.train(
        X,
        Y,
        epochs=epochs,
        batch_size=BATCH,
        learning_rate=0.1,
        l1=1.0,
        lr_schedule=schedule,
        validation_data=val,
        callbacks=[rec],
        **options,
    )
    w = np.array([100.0] + [p[0] for p in rec.params])
    return h, -np.diff(w)


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_reduce_on_plateau(patience, backend):
    """Validation loss (w - 200)**2 rises as w falls: no epoch after the first improves, so the
    rate is cut after every `patience` epochs without improvement (Keras's rule)."""
    h, steps = _plateau_run(ReduceOnPlateau(factor=0.5, patience=patience), val_target=200.0)
    assert np.all(np.diff(h.val_loss) > 0)
    expected = [0.1] + [
        0.1 * 0.5 ** (e - 1) if patience == 0 else 0.1 * 0.5 ** ((e - 1) // patience)
        for e in range(1, 9)
    ]
    np.testing.assert_allclose(h.learning_rate, expected, rtol=1e-15)
    np.testing.assert_allclose(steps, STEPS * np.array(expected), rtol=1e-10)


def test_reduce_on_plateau_monitor_and_min_lr(backend):
    # the validation loss (w + 1000)**2 improves every epoch: no cut when it is watched ...
    h, _ = _plateau_run(ReduceOnPlateau(factor=0.5, patience=1), val_target=-1000.0)
    assert h.learning_rate == [0.1] * 9
    # ... but the training loss (always 0) never improves after epoch 0
    h, _ = _plateau_run(ReduceOnPlateau(factor=0.5, patience=1, monitor="loss"), val_target=-1000.0)
    np.testing.assert_allclose(h.learning_rate, [0.1 * 0.5 ** max(e - 1, 0) for e in range(9)])
    # min_lr floors the rate, and a rate already under it is left alone
    h, _ = _plateau_run(ReduceOnPlateau(factor=0.5, patience=1, min_lr=0.03), val_target=200.0)
    np.testing.assert_allclose(
        h.learning_rate, [0.1, 0.1, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]
    )
    h, _ = _plateau_run(ReduceOnPlateau(factor=0.5, patience=1, min_lr=0.5), val_target=200.0)
    assert h.learning_rate == [0.1] * 9
    net, X, Y = _observable()
    with pytest.raises(ValueError, match="validation"):
        net.train(X, Y, epochs=1, lr_schedule=ReduceOnPlateau(monitor="val_loss"))
    with pytest.raises(ValueError, match="monitor"):
        ReduceOnPlateau(monitor="accuracy")


# --- 7. restarts --------------------------------------------------------------------------------


def _restart_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] > 0).astype(float)
    return X, y


def _restart_fit(restarts, n_jobs=None, epochs=15, **options):
    X, y = _restart_data()
    net = nf.Network([4, 8, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    h = net.train(
        X,
        y,
        epochs=epochs,
        batch_size=16,
        seed=1,
        restarts=restarts,
        n_jobs=n_jobs,
        **{"learning_rate": 0.1, **options},
    )
    return net, h


def test_restart_zero_is_the_single_run_and_best_wins(backend):
    one, h1 = _restart_fit(1)
    net, h4 = _restart_fit(4)
    assert len(h4.restart_losses) == 4
    assert h4.restart_losses[0] == h1.loss[-1]  # restart 0 reproduces restarts=1 exactly
    assert len(set(h4.restart_losses)) == 4  # the others start elsewhere
    assert h4.loss[-1] == min(h4.restart_losses) <= h1.loss[-1]
    assert h4.restart == int(np.argmin(h4.restart_losses))
    assert net.history is h4
    if h4.restart == 0:
        np.testing.assert_array_equal(net.parameters, one.parameters)


def test_restarts_are_deterministic_across_n_jobs(backend):
    runs = [_restart_fit(3, n_jobs=n_jobs) for n_jobs in (1, 2, -1, None)]
    for net, h in runs[1:]:
        np.testing.assert_array_equal(net.parameters, runs[0][0].parameters)
        assert h.restart_losses == runs[0][1].restart_losses
    with pytest.raises(ValueError, match="n_jobs"):
        _restart_fit(2, n_jobs=0)


def test_restarts_with_early_stopping_keep_the_restored_weights(backend):
    rng = np.random.default_rng(3)
    X, y = moons(40, rng)
    val = moons(100, rng)
    net = nf.Network([2, 32, 32, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    h = net.train(
        X,
        y,
        epochs=80,
        learning_rate=0.02,
        batch_size=8,
        optimizer="adam",
        seed=1,
        validation_data=val,
        early_stopping=nf.EarlyStopping(patience=5),
        restarts=3,
    )
    assert h.stopped_epoch is not None and h.val_loss[-1] > h.val_loss[h.best_epoch]
    # each restart is judged by the loss of the weights it ends with: its best epoch's
    assert h.restart_losses[h.restart] == h.val_loss[h.best_epoch] == min(h.restart_losses)
    assert net.loss(*val) == pytest.approx(min(h.restart_losses), rel=1e-12)


def test_restarts_run_on_the_selected_backend(monkeypatch):
    calls = []
    original = _reference.train_epochs

    def spy(*args, **kwargs):
        calls.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(_reference, "train_epochs", spy)
    with nf.use_backend("numpy"):  # thread-local: the worker threads must still use it
        _restart_fit(3, n_jobs=2, epochs=2)
    assert len(calls) == 3


def test_restarts_keep_separate_plateau_state(backend):
    X, y = _restart_data()
    val = (X[:40], y[:40])
    options = dict(validation_data=val, epochs=12, learning_rate=2.0)
    schedule = ReduceOnPlateau(factor=0.5, patience=0, min_delta=0.0)
    _, h1 = _restart_fit(1, lr_schedule=schedule, **options)
    _, h3 = _restart_fit(3, n_jobs=3, lr_schedule=schedule, **options)
    assert h3.restart_losses[0] == h1.val_loss[-1]
    assert min(h1.learning_rate) < 2.0  # the schedule did act


def test_kernel_releases_the_gil(cython_kernels):
    """While one thread is inside the compiled train_epochs, another runs Python.

    With a long switch interval a thread holding the GIL keeps it; the main thread can only
    count while the worker is in the kernel if the kernel has released it. Independent of
    machine load, unlike a wall-time ratio.
    """
    from nnfast._spec import Hyper, OptimizerState

    X, y = _restart_data()
    net = nf.Network([4, 32, 32, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    X, Y = net._xy(X, y)
    workspace = cython_kernels.Workspace(net.spec, X.shape[0], 8)
    state, out = OptimizerState(net.spec.n_params), np.zeros((40, 2))
    inside, done = threading.Event(), threading.Event()

    def work():
        inside.set()
        cython_kernels.train_epochs(
            net.spec,
            net.parameters,
            X,
            Y,
            40,
            8,
            True,
            state,
            Hyper(0.05),
            np.random.default_rng(0),
            workspace,
            out,
        )
        done.set()

    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.5)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        inside.wait()
        count = 0
        while not done.is_set():
            count += 1
        worker.join()
    finally:
        sys.setswitchinterval(previous)
    assert count > 10_000


def test_restarts_train_on_several_threads_at_once(backend):
    """With n_jobs=2, two restarts are inside training at the same time: each waits at the
    end of its first epoch for the other (a barrier a sequential schedule would never pass).
    The speed this gives is measured in bench/test_bench.py, not here."""
    meeting = threading.Barrier(2, timeout=30)

    class Meet(nf.Callback):  # deep-copied per restart; the barrier is shared by closure
        def on_epoch_end(self, epoch, history, network):
            if epoch == 0:
                meeting.wait()
            return False

    _, h = _restart_fit(2, n_jobs=2, epochs=2, callbacks=[Meet()])
    assert len(h.restart_losses) == 2 and not meeting.broken


# --- 8. progress bar ----------------------------------------------------------------------------


def _verbose_fit(**options):
    rng = np.random.default_rng(0)
    X, y = moons(30, rng)
    net = nf.Network([2, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    return net.train(X, y, epochs=5, learning_rate=0.1, batch_size=10, seed=0, **options)


def test_verbose_without_tqdm(monkeypatch, capsys, backend):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    h = _verbose_fit(verbose=True, validation_split=0.2)
    err = capsys.readouterr().err
    assert "epoch 5/5 [####################]" in err
    assert f"loss={h.loss[-1]:.4g}" in err and f"val_loss={h.val_loss[-1]:.4g}" in err
    assert "epoch 1/5 [####................]" in err and err.endswith("\n")


def test_verbose_with_tqdm(capsys, backend):
    pytest.importorskip("tqdm")
    _verbose_fit(verbose=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "epoch" in err and "loss=" in err


def test_quiet_by_default(capsys, backend):
    _verbose_fit()
    _verbose_fit(restarts=2)
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_verbose_with_restarts_shows_one_bar(monkeypatch, capsys, backend):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    _verbose_fit(verbose=True, restarts=3)
    assert capsys.readouterr().err.count("epoch 5/5") == 1


# --- 9. callbacks and validation ----------------------------------------------------------------


def test_callback_protocol(backend):
    events = []

    class StopAt3(nf.Callback):
        def on_train_begin(self, network):
            events.append(("begin", network))

        def on_epoch_end(self, epoch, history, network):
            events.append(("epoch", epoch, history.epochs))
            return epoch == 3

        def on_train_end(self, history, network):
            events.append(("end", history.epochs, network))

    class DuckTyped:  # no base class, no begin/end: fine
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, epoch, history, network):
            self.seen.append(epoch)

    rng = np.random.default_rng(0)
    X, y = moons(30, rng)
    net = nf.Network([2, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    duck = DuckTyped()
    h = net.train(X, y, epochs=20, batch_size=10, callbacks=[StopAt3(), duck])
    assert events == [
        ("begin", net),
        ("epoch", 0, 1),
        ("epoch", 1, 2),
        ("epoch", 2, 3),
        ("epoch", 3, 4),
        ("end", 4, net),
    ]
    assert duck.seen == [0, 1, 2, 3]  # every callback sees the stopping epoch
    assert h.epochs == 4 and h.stopped_epoch == 3
    with pytest.raises(TypeError, match="on_epoch_end"):
        net.train(X, y, epochs=1, callbacks=[object()])


@pytest.mark.parametrize("how", ["validation_data", "validation_split"])
def test_history_with_validation(how, backend):
    rng = np.random.default_rng(1)
    X, labels = blobs(80, rng)
    Xv, labels_v = blobs(30, rng)
    n_val = math.ceil(0.25 * 80)
    if how == "validation_data":
        options = dict(validation_data=(Xv, labels_v))
        held = (Xv, labels_v)
    else:
        options = dict(validation_split=0.25)
        held = (X[-n_val:], labels[-n_val:])  # the last quarter, as Keras takes it

    def fit(X, labels, **options):
        net = nf.Network([4, 6, 3], activation="relu", loss="cross_entropy", seed=0)
        h = net.train(X, labels, epochs=7, learning_rate=0.1, batch_size=16, seed=0, **options)
        return net, h

    net, h = fit(X, labels, **options)
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert len(getattr(h, field)) == 7, field
    assert h.val_loss[-1] == pytest.approx(net.loss(*held), rel=1e-12)
    predicted = net.feedforward(held[0]).argmax(axis=1)
    assert h.val_accuracy[-1] == pytest.approx(np.mean(predicted == held[1]), abs=1e-12)
    assert all(0.0 <= a <= 1.0 for a in h.accuracy + h.val_accuracy)
    assert h.best_epoch == int(np.argmin(h.val_loss))
    if how == "validation_split":  # the same as training on the rest with that held out
        same, h2 = fit(X[:-n_val], labels[:-n_val], validation_data=held)
        np.testing.assert_array_equal(net.parameters, same.parameters)
        assert h2.val_loss == h.val_loss


def test_history_without_validation_or_accuracy(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    net = nf.Network([3, 4, 2], activation="tanh", loss="mse", seed=0)
    h = net.train(X, X[:, :2] ** 2, epochs=5, batch_size=5)
    assert len(h.loss) == 5 and h.val_loss == h.accuracy == h.val_accuracy == []
    assert h.best_epoch == int(np.argmin(h.loss)) and h.stopped_epoch is None
    assert "History(epochs=5" in repr(h)


# --- 10. the model-complexity graph, and what regularisation buys -------------------------------


def _accuracy(net, X, y):
    return float(np.mean((net.feedforward(X)[:, 0] >= 0.5) == (y == 1)))


def model_complexity_runs(seed):
    """Plain, early-stopped, L2 and dropout training of an oversized network on 60 noisy
    two-moons points; held-out (loss, accuracy) of each, and the plain run's history."""
    rng = np.random.default_rng(100 + seed)
    X, y = moons(60, rng)
    val = moons(200, rng)
    test = moons(1000, rng)
    results = {}
    for name, options in [
        ("plain", dict(validation_data=val)),
        ("early_stopping", dict(validation_data=val, early_stopping=nf.EarlyStopping(25))),
        ("l2", dict(l2=0.01)),
        ("dropout", dict(dropout=0.5)),
    ]:
        net = nf.Network([2, 64, 64, 1], activation="relu", loss="binary_cross_entropy", seed=seed)
        h = net.train(
            X,
            y,
            epochs=200,
            learning_rate=0.01,
            batch_size=10,
            optimizer="adam",
            seed=seed,
            **options,
        )
        results[name] = (net.loss(*test), _accuracy(net, *test), h)
    return results


def check_model_complexity(results):
    _, _, h = results["plain"]
    best = int(np.argmin(h.val_loss))
    assert best < 50  # of 200: the validation loss turns up early ...
    assert h.val_loss[-1] > 1.5 * h.val_loss[best]  # ... and ends well above its minimum
    assert h.loss[-1] < 0.6 * h.loss[best]  # while the training loss keeps falling
    assert np.mean(h.loss[-20:]) < np.mean(h.loss[best : best + 20])
    plain_loss, plain_acc, _ = results["plain"]
    assert results["early_stopping"][0] < 0.7 * plain_loss
    assert results["l2"][0] < 0.7 * plain_loss
    assert results["l2"][1] > plain_acc
    assert results["dropout"][1] > plain_acc


def test_model_complexity_and_regularisation(backend):
    """Held out: early stopping and L2 cut the loss, L2 and dropout raise the accuracy.

    Checked for seeds 0-9 on both backends (see check_model_complexity); one seed runs here.
    """
    check_model_complexity(model_complexity_runs(seed=0))


@pytest.mark.parametrize("batch_size", [1, 7])
def test_best_epoch_without_validation_is_the_lowest_training_loss(batch_size, backend):
    """Without validation all epochs run in one kernel call; the best epoch is found on the
    kernel's output, and must be the first lowest training loss (the loss goes up and down
    with this learning rate)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = nf.Network([3, 5, 2], activation="tanh", loss="cross_entropy", seed=2)
    h = net.train(X, y, epochs=60, learning_rate=2.0, batch_size=batch_size, seed=0)
    assert any(b > a for a, b in zip(h.loss, h.loss[1:]))  # not simply the last epoch
    assert h.best_epoch == int(np.argmin(h.loss))
