"""nnfast as a user's type checker sees it: code written as users write it.

mypy checks this file (pyproject.toml's ``[tool.mypy] files``): every ``assert_type`` must
hold exactly, so an annotation that turns into ``Any`` or a wrong type fails CI. pytest runs
it, so the code is real and each asserted type is also the type of the value at run time.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import pytest
from numpy.typing import NDArray

import nnfast as nf
from nnfast.activations import Activation
from nnfast.losses import Loss

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, expected):  # typing.assert_type is Python 3.11+
        return value


RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _is(value: object, cls: type) -> None:
    assert isinstance(value, cls), f"{type(value).__name__}, annotated {cls.__name__}"


def test_a_network_trained_with_the_toolbox() -> None:
    net = nf.Network([3, 8, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    assert_type(net.initialize(seed=1), nf.Network)
    history = net.train(
        X,
        y,
        epochs=6,
        learning_rate=0.01,
        batch_size=16,
        optimizer=nf.Adam(beta_2=0.99),
        lr_schedule=nf.schedules.CosineDecay(decay_steps=20),
        validation_split=0.25,
        early_stopping=nf.EarlyStopping(patience=2),
        clip_norm=1.0,
    )
    assert_type(history, nf.History)
    assert_type(history.loss, list[float])
    assert_type(history.best_epoch, Optional[int])
    assert_type(history.epochs, int)
    _is(history.loss[0], float)
    _is(history.best_epoch, int)

    out = net.feedforward(X)
    assert_type(out, NDArray[np.floating[Any]])
    assert out.shape == (60, 1) and out.dtype == np.float64
    assert_type(net(X[0]), NDArray[np.floating[Any]])
    assert_type(net.loss(X, y), float)
    _is(net.loss(X, y), float)
    grads_W, grads_b = net.gradients(X, y)
    assert_type(grads_W, list[NDArray[np.floating[Any]]])
    assert [g.shape for g in grads_W] == [W.shape for W in net.weights]
    assert_type(net.layer_outputs(X), list[NDArray[np.floating[Any]]])
    assert_type(net.layer_sizes, list[int])
    assert_type(net.loss_function, Optional[Loss])
    assert_type(net.layer_activations, tuple[Activation, ...])
    assert_type(net.copy(), nf.Network)


def test_float32_networks_and_files(tmp_path: Any) -> None:
    net = nf.Network(np.array([3, 4, 2]), loss="cross_entropy", dtype="float32", seed=0)
    net.train(X, y, epochs=2, optimizer="sgd", l2=1e-3, dropout=[0.1])
    assert net.feedforward(X).dtype == np.float32
    path = net.save(tmp_path / "net.npz")
    assert_type(path, str)
    loaded = nf.load(path)  # any model kind: narrowed by the caller
    assert isinstance(loaded, nf.Network)
    assert_type(loaded, nf.Network)
    buffer = io.StringIO()
    net.summary(file=buffer)
    assert "Total parameters" in buffer.getvalue()


def test_activations_losses_and_data() -> None:
    relu = nf.activations.get("leaky_relu", negative_slope=0.2)
    assert_type(relu, Activation)
    assert_type(relu(X), NDArray[np.float64])
    bce = nf.losses.get("binary_cross_entropy")
    assert_type(bce, Loss)
    p = np.clip(RNG.random(60), 0.01, 0.99)
    assert_type(bce(y, p), float)
    _is(bce(y, p, reduction="sum"), float)
    assert_type(bce.gradient(y, p), NDArray[np.float64])
    Y = nf.one_hot(y)
    assert_type(Y, NDArray[np.float64])
    X_train, X_test, y_train, y_test = nf.train_test_split(X, y, test_size=0.25, seed=0)
    assert X_train.shape[0] + X_test.shape[0] == 60


def test_the_classics() -> None:
    points, labels = nf.datasets.load_perceptron_points()
    perceptron = nf.Perceptron(max_epochs=5, seed=0).fit(points, labels)
    assert_type(perceptron, nf.Perceptron)
    assert_type(perceptron.score(points, labels), float)
    logistic = nf.LogisticRegression(max_epochs=5).fit(points, labels)
    assert_type(logistic, nf.LogisticRegression)
    assert_type(logistic.predict_proba(points), NDArray[np.float64])


@pytest.mark.filterwarnings("ignore::nnfast.exceptions.ConvergenceWarning")  # few epochs
def test_the_mlp_estimators() -> None:
    clf = nf.MLPClassifier((5,), solver="sgd", max_iter=3, random_state=0)
    assert_type(clf.fit(X, y), nf.MLPClassifier)
    assert_type(clf.partial_fit(X, y), nf.MLPClassifier)  # through available_if
    assert_type(clf.predict(X), NDArray[Any])  # labels of any type
    proba = clf.predict_proba(X)
    assert_type(proba, NDArray[np.floating[Any]])
    assert proba.shape == (60, 2) and proba.dtype == np.float64
    assert_type(clf.classes_, NDArray[Any])
    assert_type(clf.loss_curve_, Optional[list[float]])
    assert_type(clf.n_iter_, int)
    _is(clf.n_iter_, int)
    assert_type(clf.history_, Optional[nf.History])
    _is(clf.history_, nf.History)
    assert_type(clf.network_, nf.Network)
    assert_type(clf.layer_outputs(X), list[NDArray[np.floating[Any]]])

    reg = nf.MLPRegressor((4,), activation=["tanh"], solver="lbfgs", max_iter=5)
    assert_type(reg.fit(X.astype(np.float32), X[:, 0]), nf.MLPRegressor)
    prediction = reg.predict(X)
    assert_type(prediction, NDArray[np.floating[Any]])
    assert prediction.dtype == np.float32  # a float32 model predicts float32
    assert_type(reg.loss_, float)
    _is(reg.loss_, float)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
