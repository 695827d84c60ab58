"""Logistic regression: the lessons' update rule worked by hand, the Udacity notebook
reproduced, softmax for more classes, and parity of the two backends it trains on."""

import numpy as np
import pytest

import nnfast as nf
from nnfast import _reference
from nnfast.datasets import load_perceptron_points
from nnfast.exceptions import NotFittedError

X_POINTS, Y_POINTS = load_perceptron_points()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def three_blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centres[y] + rng.normal(scale=0.7, size=(n, 2)), y


# --- the update rule, by hand -----------------------------------------------------------------


def test_per_sample_update(backend):
    """batch_size=1: for each sample in order, w += lr (y - p) x and b += lr (y - p)."""
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])
    y = np.array([1, 0, 1])
    w, b, lr = np.array([0.2, -0.1]), 0.05, 0.3
    model = nf.LogisticRegression(learning_rate=lr, max_epochs=1, batch_size=1, shuffle=False)
    model.fit(X, y, coef_init=w, intercept_init=b)
    for x, t in zip(X, y):
        p = sigmoid(x @ w + b)
        w, b = w + lr * (t - p) * x, b + lr * (t - p)
    np.testing.assert_allclose(model.coef_, [w], rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, [b], rtol=1e-12)


def test_full_batch_uses_the_mean_gradient(backend):
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0], [2.0, 2.0]])
    y = np.array([1, 0, 1, 0])
    w, b, lr = np.array([0.2, -0.1]), 0.05, 0.5
    model = nf.LogisticRegression(learning_rate=lr, max_epochs=2, batch_size=None)
    model.fit(X, y, coef_init=w, intercept_init=b)
    for _ in range(2):
        err = y - sigmoid(X @ w + b)
        w, b = w + lr * (err[:, None] * X).mean(axis=0), b + lr * err.mean()
    np.testing.assert_allclose(model.coef_[0], w, rtol=1e-12)
    assert model.intercept_[0] == pytest.approx(b, rel=1e-12)


def test_softmax_per_sample_update(backend):
    """More classes: W += lr (y - p) x^T with p = softmax(W x + b), y one-hot."""
    X, y = three_blobs(9)
    rng = np.random.default_rng(1)
    W, b, lr = rng.normal(size=(3, 2)), rng.normal(size=3), 0.1
    model = nf.LogisticRegression(learning_rate=lr, max_epochs=1, batch_size=1, shuffle=False)
    model.fit(X, y, coef_init=W, intercept_init=b)
    for x, t in zip(X, y):
        err = np.eye(3)[t] - softmax(W @ x + b)
        W, b = W + lr * np.outer(err, x), b + lr * err
    np.testing.assert_allclose(model.coef_, W, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-12)


# --- the Udacity gradient-descent notebook ------------------------------------------------------


def notebook(X, y, epochs=100, learnrate=0.01):
    """The notebook's train(): seed 44, normal weights of scale 1/sqrt(n_features), bias 0."""
    np.random.seed(44)
    weights = np.random.normal(scale=1 / X.shape[1] ** 0.5, size=X.shape[1])
    start = weights.copy()
    bias = 0.0
    for _ in range(epochs):
        for x, t in zip(X, y):
            out = sigmoid(np.dot(x, weights) + bias)
            weights = weights + learnrate * (t - out) * x
            bias += learnrate * (t - out)
    return start, weights, bias


def test_reproduces_the_gradient_descent_notebook(backend):
    """Same start, 100 epochs of per-sample updates at 0.01: the notebook's weights and its
    final accuracy, 0.94."""
    start, weights, bias = notebook(X_POINTS, Y_POINTS)
    model = nf.LogisticRegression(learning_rate=0.01, max_epochs=100, batch_size=1, shuffle=False)
    model.fit(X_POINTS, Y_POINTS, coef_init=start, intercept_init=0.0)
    np.testing.assert_allclose(model.coef_[0], weights, rtol=1e-10)
    assert model.intercept_[0] == pytest.approx(bias, rel=1e-10)
    assert model.score(X_POINTS, Y_POINTS) == 0.94


def test_lesson_accuracy_from_zero(backend):
    """From w = 0 (the default) the same 100 epochs get 93 of the 100 points right (the best
    line gets 95), and the loss falls every epoch."""
    model = nf.LogisticRegression(
        learning_rate=0.01, max_epochs=100, batch_size=1, shuffle=False
    ).fit(X_POINTS, Y_POINTS)
    assert model.score(X_POINTS, Y_POINTS) >= 0.92  # measured: 0.93
    assert model.n_iter_ == len(model.loss_curve_) == 100
    assert np.all(np.diff(model.loss_curve_) < 0)
    # Epoch 0's loss is averaged over its per-sample steps, starting from ln 2 (p = 0.5).
    assert 0.6 < model.loss_curve_[0] < np.log(2)


def test_loss_curve_is_the_mean_binary_cross_entropy(backend):
    """Full batch: loss_curve_[e] is the mean BCE of the weights at the start of epoch e."""
    model = nf.LogisticRegression(learning_rate=0.5, max_epochs=3).fit(X_POINTS, Y_POINTS)
    model2 = nf.LogisticRegression(learning_rate=0.5, max_epochs=2).fit(X_POINTS, Y_POINTS)
    p = model2.predict_proba(X_POINTS)[:, 1]
    assert model.loss_curve_[2] == pytest.approx(
        nf.losses.binary_cross_entropy(Y_POINTS, p), rel=1e-12
    )


def test_learns_three_classes(backend):
    X, y = three_blobs()
    labels = np.array(["cat", "dog", "fish"])[y]
    model = nf.LogisticRegression(learning_rate=0.1, max_epochs=200, batch_size=16, seed=0).fit(
        X, labels
    )
    assert model.classes_.tolist() == ["cat", "dog", "fish"]
    assert model.coef_.shape == (3, 2) and model.intercept_.shape == (3,)
    proba = model.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert model.decision_function(X).shape == (90, 3)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    assert model.score(X, labels) >= 0.95


def test_binary_shapes_and_any_labels(backend):
    labels = np.where(Y_POINTS == 1, "blue", "red")
    model = nf.LogisticRegression(learning_rate=0.1, max_epochs=50).fit(X_POINTS, labels)
    assert model.classes_.tolist() == ["blue", "red"]  # "red" (= label 0) is class 1 here
    assert model.coef_.shape == (1, 2) and model.intercept_.shape == (1,)
    proba = model.predict_proba(X_POINTS)
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    z = model.decision_function(X_POINTS)
    assert z.shape == (100,)
    np.testing.assert_allclose(proba[:, 1], sigmoid(z), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X_POINTS), np.where(z >= 0, "red", "blue"))


# --- options -----------------------------------------------------------------------------------


def test_runs_on_the_network_kernels(monkeypatch):
    """Training is Network.train, i.e. the backend's train_epochs: never a separate path."""
    calls = []
    original = _reference.train_epochs

    def spy(*args, **kwargs):
        calls.append(args[4])  # n_epochs
        return original(*args, **kwargs)

    monkeypatch.setattr(_reference, "train_epochs", spy)
    with nf.use_backend("numpy"):
        model = nf.LogisticRegression(max_epochs=7).fit(X_POINTS, Y_POINTS)
    assert calls == [7]
    assert isinstance(model.network_, nf.Network)
    assert model.network_.layer_sizes == [2, 1]
    assert model.network_.loss_function.name == "binary_cross_entropy"
    assert np.shares_memory(model.coef_, model.network_.parameters)


def test_tol_stops_when_the_loss_stalls(backend):
    model = nf.LogisticRegression(learning_rate=0.5, max_epochs=5000, tol=1e-4)
    model.fit(X_POINTS, Y_POINTS)
    assert 5 < model.n_iter_ < 5000
    assert len(model.loss_curve_) == model.n_iter_
    last = model.loss_curve_
    assert min(last[-5:]) > min(last[:-5]) - 1e-4


def test_warm_start_continues(backend):
    kwargs = dict(learning_rate=0.1, batch_size=1, shuffle=False)
    once = nf.LogisticRegression(max_epochs=10, **kwargs).fit(X_POINTS, Y_POINTS)
    twice = nf.LogisticRegression(max_epochs=5, warm_start=True, **kwargs)
    twice.fit(X_POINTS, Y_POINTS).fit(X_POINTS, Y_POINTS)
    np.testing.assert_allclose(twice.coef_, once.coef_, rtol=1e-12)
    cold = nf.LogisticRegression(max_epochs=5, **kwargs)
    cold.fit(X_POINTS, Y_POINTS).fit(X_POINTS, Y_POINTS)
    assert not np.allclose(cold.coef_, once.coef_)


def test_ctrl_c_before_a_warm_epoch_keeps_a_loaded_model(tmp_path, monkeypatch):
    # a loaded model's network has no History: Ctrl-C before its first epoch must stay a
    # KeyboardInterrupt and leave the model as it was
    clf = nf.LogisticRegression(max_epochs=3, warm_start=True).fit(X_POINTS, Y_POINTS)
    loaded = nf.load(clf.save(tmp_path / "lr.npz"))
    assert loaded.network_.history is None
    coef = loaded.coef_.copy()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nf.Network, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loaded.fit(X_POINTS, Y_POINTS)
    np.testing.assert_array_equal(loaded.coef_, coef)
    assert loaded.n_iter_ == clf.n_iter_


def test_l2_shrinks_the_weights(backend):
    plain = nf.LogisticRegression(learning_rate=0.5, max_epochs=300).fit(X_POINTS, Y_POINTS)
    ridge = nf.LogisticRegression(learning_rate=0.5, max_epochs=300, l2=0.1)
    ridge.fit(X_POINTS, Y_POINTS)
    assert np.linalg.norm(ridge.coef_) < 0.7 * np.linalg.norm(plain.coef_)


@pytest.mark.parametrize(
    "options",
    [
        dict(batch_size=10, shuffle=True, seed=3, l2=0.01),
        dict(batch_size=1, shuffle=True, seed=1),
        dict(batch_size=None),
    ],
)
def test_both_backends_train_the_same_model(on_both, options):
    X, y = three_blobs()

    def fit(X, y):
        model = nf.LogisticRegression(learning_rate=0.05, max_epochs=40, **options).fit(X, y)
        return model.coef_.copy(), model.intercept_.copy(), model.loss_curve_

    for data in ((X_POINTS, Y_POINTS), (X, y)):
        cy, ref = on_both(fit, *data)
        for a, b in zip(cy, ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"learning_rate": -1}, ValueError, "learning_rate"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 1.5}, TypeError, "batch_size"),
        ({"l2": -0.1}, ValueError, "l2"),
        ({"tol": -1}, ValueError, "tol"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    """Checked by fit, as scikit-learn does: the constructor stores them as given."""
    model = nf.LogisticRegression(**kwargs)
    with pytest.raises(error, match=match):
        model.fit(X_POINTS, Y_POINTS)


def test_bad_inputs_name_the_argument():
    model = nf.LogisticRegression(max_epochs=2)
    with pytest.raises(ValueError, match="at least two classes"):
        model.fit(X_POINTS, np.ones(100))
    with pytest.raises(ValueError, match="X and y have different numbers of samples"):
        model.fit(X_POINTS, Y_POINTS[:50])
    with pytest.raises(ValueError, match="X contains NaN"):
        model.fit(np.full((3, 2), np.nan), [0, 1, 0])
    with pytest.raises(ValueError, match=r"coef_init must have shape \(1, 2\)"):
        model.fit(X_POINTS, Y_POINTS, coef_init=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="intercept_init must have 3 value"):
        model.fit(*three_blobs(), intercept_init=0.0)
    model.fit(X_POINTS, Y_POINTS)
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is expecting 2"):
        model.predict_proba(np.zeros((2, 3)))


def test_predict_before_fit_is_a_clear_error():
    model = nf.LogisticRegression()
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(X, y\)"):
            method(X_POINTS)
    assert not hasattr(model, "coef_")


def test_repr():
    model = nf.LogisticRegression(max_epochs=5)
    assert repr(model).startswith("LogisticRegression(learning_rate=0.01, max_epochs=5,")
    model.fit(*three_blobs())
    assert repr(model).startswith(
        "LogisticRegression(2 features -> softmax over classes [0, 1, 2], learning_rate=0.01"
    )
