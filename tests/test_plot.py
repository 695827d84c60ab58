"""nnfast.plot: the model-complexity graph, loss curves, decision boundaries and first-layer
weights, from a History, a Network or any fitted estimator.

matplotlib is optional: these tests skip without it, except the ones that check nnfast
works (and says what to install) when it is missing.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import nnfast as nf
import nnfast.plot


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def _trained(**options):
    X, y = _data()
    net = nf.Network([2, 8, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    net.train(X, y, epochs=30, learning_rate=0.1, batch_size=8, seed=0, **options)
    return net, X, y


# --- without matplotlib ----------------------------------------------------------------------


def test_importing_nnfast_does_not_import_matplotlib():
    code = "import sys, nnfast, nnfast.plot; sys.exit('matplotlib' in sys.modules)"
    here = os.path.dirname(os.path.abspath(__file__))  # not the root: the installed nnfast
    assert subprocess.run([sys.executable, "-c", code], cwd=here).returncode == 0


@pytest.mark.parametrize(
    "plot", ["model_complexity", "loss_curve", "decision_boundary", "first_layer_weights"]
)
def test_missing_matplotlib_says_what_to_install(plot, monkeypatch):
    net, X, y = _trained()
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.colors"):
        monkeypatch.setitem(sys.modules, name, None)
    args = {"decision_boundary": (net, X, y), "first_layer_weights": (net, (1, 2))}.get(
        plot, (net.history,)
    )
    with pytest.raises(ImportError, match=r"pip install matplotlib.*nnfast\[plot\]"):
        getattr(nnfast.plot, plot)(*args)


# --- with matplotlib -------------------------------------------------------------------------


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_model_complexity_counts_epochs_from_0_as_the_api(plt):
    X, y = _data(40, 1)
    val = _data(60, 2)
    net = nf.Network([2, 32, 32, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    h = net.train(
        X,
        y,
        epochs=150,
        learning_rate=0.02,
        batch_size=8,
        optimizer="adam",
        seed=1,
        validation_data=val,
        early_stopping=nf.EarlyStopping(patience=10),
    )
    assert h.stopped_epoch is not None
    ax = nnfast.plot.model_complexity(h)
    lines = _lines(ax)
    n = h.epochs
    np.testing.assert_array_equal(lines["training loss"].get_xdata(), np.arange(n))
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), h.loss)
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), h.val_loss)
    assert h.restored_epoch == h.best_epoch  # early stopping gave its weights back
    label = f"weights kept: epoch {h.restored_epoch}"  # the API's number, from 0
    assert list(lines[label].get_xdata()) == [h.best_epoch] * 2
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert _legend(ax) == ["training loss", "validation loss", label]
    assert "counted from 0" in ax.get_xlabel() and "loss" in ax.get_ylabel()
    ax.figure.savefig(nnfast_tmp("model_complexity.png"))


def test_model_complexity_of_a_network(plt):
    net, _, _ = _trained()
    _, ax = plt.subplots()
    assert nnfast.plot.model_complexity(net, ax=ax) is ax  # draws on the given axes
    assert list(_lines(ax)) == ["training loss"]  # nothing marked: no choice was made
    net, _, _ = _trained(validation_split=0.25)  # validation, no early stopping
    lines = _lines(nnfast.plot.model_complexity(net))
    best = int(np.argmin(net.history.val_loss))
    assert net.history.best_epoch == best
    assert list(lines[f"lowest validation loss: epoch {best}"].get_xdata()) == [best] * 2
    with pytest.raises(TypeError, match="has not been trained yet"):
        nnfast.plot.model_complexity(nf.Network([2, 1]))


@pytest.mark.parametrize("restore_best", [True, False])
def test_only_the_epoch_whose_weights_were_kept_is_marked_as_kept(plt, restore_best):
    X, y = _data(40, 1)
    net = nf.Network([2, 32, 32, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    h = net.train(
        X,
        y,
        epochs=150,
        learning_rate=0.02,
        batch_size=8,
        optimizer="adam",
        seed=1,
        validation_data=_data(60, 2),
        early_stopping=nf.EarlyStopping(patience=10, restore_best=restore_best),
    )
    assert h.stopped_epoch is not None and h.best_epoch < h.stopped_epoch
    labels = list(_lines(nnfast.plot.model_complexity(h)))
    if restore_best:  # the network holds the best epoch's weights
        assert h.restored_epoch == h.best_epoch
        assert f"weights kept: epoch {h.best_epoch}" in labels
    else:  # it holds the last epoch's: the best epoch is only the lowest validation loss
        assert h.restored_epoch is None
        assert f"lowest validation loss: epoch {h.best_epoch}" in labels
        assert not any(label.startswith("weights kept") for label in labels)


def _fit_quietly(model, X, y):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def test_estimators_with_early_stopping(plt):
    X, y = _data(200, 3)
    clf = _fit_quietly(
        nf.MLPClassifier(
            (16,), early_stopping=True, max_iter=300, learning_rate_init=0.01, random_state=0
        ),
        X,
        y,
    )
    ax = nnfast.plot.model_complexity(clf)  # TypeError before
    lines = _lines(ax)
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), clf.validation_loss_curve_)
    best = clf.history_.restored_epoch
    assert best == int(np.argmax(clf.validation_scores_))  # the restored weights' epoch
    assert f"weights kept: epoch {best}" in lines
    ax = nnfast.plot.loss_curve(clf)
    assert _legend(ax) == [
        "training loss",
        "validation loss",
        f"weights kept: epoch {best}",
        "validation accuracy",
    ]
    np.testing.assert_array_equal(ax.right_ax.get_lines()[0].get_ydata(), clf.validation_scores_)
    reg = _fit_quietly(
        nf.MLPRegressor((8,), early_stopping=True, max_iter=50, random_state=0), X, X[:, 0]
    )
    ax = nnfast.plot.loss_curve(reg)
    assert "validation R^2" in _legend(ax)
    np.testing.assert_array_equal(
        _lines(ax)["validation loss"].get_ydata(), reg.validation_loss_curve_
    )
    ax.figure.savefig(nnfast_tmp("loss_curve_estimator.png"))


def test_scikit_learns_own_mlp(plt):
    neural_network = pytest.importorskip("sklearn.neural_network")
    X, y = _data(200, 4)
    clf = _fit_quietly(
        neural_network.MLPClassifier((8,), early_stopping=True, max_iter=60, random_state=0), X, y
    )
    lines = _lines(nnfast.plot.model_complexity(clf))
    best = int(np.argmax(clf.validation_scores_))
    assert f"weights kept: epoch {best}" in lines
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), clf.loss_curve_)


def test_linear_models_and_the_perceptron(plt):
    X, y = _data(60, 5)
    logistic = nf.LogisticRegression(learning_rate=0.1, max_epochs=30).fit(X, y)
    for plot in (nnfast.plot.loss_curve, nnfast.plot.model_complexity):
        lines = _lines(plot(logistic))
        assert list(lines) == ["training loss"]
        np.testing.assert_array_equal(lines["training loss"].get_ydata(), logistic.loss_curve_)
    perceptron = nf.Perceptron(max_epochs=10).fit(X, (X[:, 0] > 0).astype(int))
    ax = nnfast.plot.loss_curve(perceptron)
    line = _lines(ax)["misclassified points in the pass"]
    np.testing.assert_array_equal(line.get_ydata(), perceptron.errors_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(perceptron.n_iter_))


def test_loss_curve(plt):
    net, _, _ = _trained(validation_split=0.25)
    for source in (net, net.history):
        lines = _lines(nnfast.plot.loss_curve(source))
        np.testing.assert_array_equal(lines["training loss"].get_ydata(), net.history.loss)
        np.testing.assert_array_equal(lines["validation loss"].get_ydata(), net.history.val_loss)

    class Estimator:  # scikit-learn's fitted attribute
        loss_curve_ = [0.9, 0.5, 0.3]

    for source in (Estimator(), [0.9, 0.5, 0.3]):
        ax = nnfast.plot.loss_curve(source)
        assert list(_lines(ax)) == ["training loss"]
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.9, 0.5, 0.3])
    with pytest.raises(TypeError, match="History"):
        nnfast.plot.loss_curve(object())
    nnfast.plot.loss_curve(net).figure.savefig(nnfast_tmp("loss_curve.png"))


def _scatters(ax):
    from matplotlib.collections import PathCollection

    return [c for c in ax.collections if isinstance(c, PathCollection)]


def _luminance(rgba):
    r, g, b = np.asarray(rgba, dtype=float)[..., :3].T
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _check_readable(ax):
    """Every point's colour differs clearly in lightness from every colour the shading can
    take: readable wherever the point falls."""
    shading = ax.colorbar.mappable
    shades = _luminance(shading.cmap(np.linspace(0, 1, 256)))
    for points in _scatters(ax):
        face = _luminance(points.get_facecolor()[0])
        assert np.abs(shades - face).min() > 0.25, (points.get_label(), face, shades.min())


def test_decision_boundary_of_a_network(plt):
    net, X, y = _trained()
    ax = nnfast.plot.decision_boundary(net, X, y, resolution=50)
    points = _scatters(ax)
    assert [p.get_label() for p in points] == ["class 0.0", "class 1.0"]
    for label, p in zip((0, 1), points):  # one series per class, each point where it is
        np.testing.assert_array_equal(p.get_offsets(), X[y == label])
    x0, x1 = ax.get_xlim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()
    # the boundary: a contour at probability 0.5 (the midpoint of labels 0 and 1)
    levels = [getattr(c, "levels", None) for c in ax.collections]
    assert any(lv is not None and list(lv) == [0.5] for lv in levels)
    assert _legend(ax) == ["class 0.0", "class 1.0", "decision boundary (network output = 0.5)"]
    assert ax.colorbar.ax.get_ylabel() == "network output"
    _check_readable(ax)
    ax.figure.savefig(nnfast_tmp("decision_boundary.png"))


def test_decision_boundary_of_xor_is_readable(plt):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = nf.Network([2, 8, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    net.train(X, y, epochs=2000, learning_rate=0.5, batch_size=None)
    ax = nnfast.plot.decision_boundary(net, X, y, resolution=60)  # outputs near 0 and 1
    _check_readable(ax)
    markers = {p.get_label(): p.get_paths()[0].vertices.shape for p in _scatters(ax)}
    assert markers["class 0"] != markers["class 1"]  # a shape per class, not colour alone
    ax.figure.savefig(nnfast_tmp("decision_boundary_xor.png"))


def test_decision_boundary_of_any_model(plt):
    X, y = _data()

    class Proba:  # a binary scikit-learn classifier
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-X[:, 0]))
            return np.column_stack([1 - p, p])

    class Labels:  # only predict, with string classes
        def predict(self, X):
            return np.where(X[:, 1] > 0, "up", "down")

    class MultiProba:  # three classes, predict_proba + classes_
        classes_ = np.array([10, 20, 30])

        def predict_proba(self, X):
            return np.column_stack([X[:, 0], X[:, 1], -X[:, 0]])

    ax = nnfast.plot.decision_boundary(Proba(), X, y, resolution=20)
    assert ax.colorbar.ax.get_ylabel() == "P(class 1)"
    labels = np.where(X[:, 1] > 0, "up", "down")
    ax = nnfast.plot.decision_boundary(Labels(), X, labels, resolution=20)
    assert [p.get_label() for p in _scatters(ax)] == ["class down", "class up"]
    assert [t.get_text() for t in ax.colorbar.ax.get_yticklabels()] == ["down", "up"]
    _check_readable(ax)
    three = np.digitize(X[:, 0], [-0.5, 0.5]) * 10 + 10
    ax = nnfast.plot.decision_boundary(MultiProba(), X, three, resolution=20, colorbar=False)
    assert ax.colorbar is None
    assert [p.get_label() for p in _scatters(ax)] == ["class 10", "class 20", "class 30"]

    softmax = nf.Network([2, 3], activation="tanh", loss="cross_entropy", seed=0)
    assert _scatters(
        nnfast.plot.decision_boundary(softmax, X, nf.one_hot(three // 10 - 1), resolution=20)
    )
    with pytest.raises(ValueError, match="2 features"):
        nnfast.plot.decision_boundary(Proba(), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="predict_proba, predict or feedforward"):
        nnfast.plot.decision_boundary(object(), X, y)


def test_decision_boundary_of_estimators(plt):
    X, y = _data(80, 6)
    for model in (
        nf.LogisticRegression(learning_rate=0.1, max_epochs=20),
        nf.Perceptron(max_epochs=5),
        nf.MLPClassifier((8,), solver="lbfgs", random_state=0),
    ):
        ax = nnfast.plot.decision_boundary(_fit_quietly(model, X, y), X, y, resolution=30)
        assert len(_scatters(ax)) == 2 and ax.colorbar is not None


def test_decision_boundary_of_labels_minus_one_and_one(plt):
    X, y = _data()
    net = nf.Network([2, 4, 1], activation="tanh", output_activation="tanh", loss="mse", seed=0)
    ax = nnfast.plot.decision_boundary(net, X, 2 * y - 1, resolution=20)
    levels = [getattr(c, "levels", None) for c in ax.collections]
    assert any(lv is not None and list(lv) == [0.0] for lv in levels)


# --- first-layer weights ----------------------------------------------------------------------


def test_first_layer_weights_tiles_each_unit(plt):
    net = nf.Network([20, 6, 3], activation="relu", seed=0)
    ax = nnfast.plot.first_layer_weights(net, image_shape=(4, 5), columns=3)
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (2 * 5 + 1, 3 * 6 + 1)  # 2 rows x 3 columns of 4x5, 1-pixel gaps
    for unit in range(6):
        r, c = divmod(unit, 3)
        tile = grid[1 + r * 5 : 1 + r * 5 + 4, 1 + c * 6 : 1 + c * 6 + 5]
        np.testing.assert_array_equal(tile, net.weights[0][:, unit].reshape(4, 5))
    assert grid.mask[0].all()  # the gaps are blank
    lo, hi = ax.get_images()[0].get_clim()
    assert lo == -hi  # one symmetric scale: white is 0
    assert ax.colorbar.ax.get_ylabel() == "weight"
    ax = nnfast.plot.first_layer_weights(net, image_shape=(4, 5), max_units=4)
    assert ax.get_images()[0].get_array().shape == (2 * 5 + 1, 2 * 6 + 1)
    assert "first 4 of 6" in ax.get_title()
    with pytest.raises(ValueError, match="has 12 pixels, but the first layer has 20 inputs"):
        nnfast.plot.first_layer_weights(net, image_shape=(3, 4))
    with pytest.raises(TypeError, match="expected a Network"):
        nnfast.plot.first_layer_weights(object(), (1, 1))


def test_first_layer_weights_of_estimators(plt):
    rng = np.random.default_rng(0)
    X = rng.random((60, 16))
    y = (X[:, :8].sum(axis=1) > 4).astype(int)
    mlp = _fit_quietly(nf.MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    grid = nnfast.plot.first_layer_weights(mlp, (4, 4)).get_images()[0].get_array()
    np.testing.assert_array_equal(grid[1:5, 1:5], mlp.coefs_[0][:, 0].reshape(4, 4))
    logistic = nf.LogisticRegression(max_epochs=5).fit(X, y)
    grid = nnfast.plot.first_layer_weights(logistic, (4, 4)).get_images()[0].get_array()
    np.testing.assert_array_equal(grid[1:5, 1:5], logistic.coef_[0].reshape(4, 4))
    perceptron = nf.Perceptron(max_epochs=3).fit(X, y)
    ax = nnfast.plot.first_layer_weights(perceptron, (4, 4))
    np.testing.assert_array_equal(
        ax.get_images()[0].get_array()[1:5, 1:5], perceptron.coef_.reshape(4, 4)
    )
    ax.figure.savefig(nnfast_tmp("first_layer_weights.png"))


def nnfast_tmp(name):
    import os
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"nnfast_test_{name}")
