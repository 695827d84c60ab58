"""nnfast.plot: the model-complexity graph, loss curves and decision boundaries.

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


@pytest.mark.parametrize("plot", ["model_complexity", "loss_curve", "decision_boundary"])
def test_missing_matplotlib_says_what_to_install(plot, monkeypatch):
    net, X, y = _trained()
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.colors"):
        monkeypatch.setitem(sys.modules, name, None)
    args = (net, X, y) if plot == "decision_boundary" else (net.history,)
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


def test_model_complexity(plt):
    X, y = _data(40, 1)
    val = _data(60, 2)
    net = nf.Network([2, 32, 32, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    h = net.train(X, y, epochs=150, learning_rate=0.02, batch_size=8, optimizer="adam", seed=1,
                  validation_data=val, early_stopping=nf.EarlyStopping(patience=10))
    assert h.stopped_epoch is not None
    ax = nnfast.plot.model_complexity(h)
    lines = _lines(ax)
    n = h.epochs
    np.testing.assert_array_equal(lines["training loss"].get_xdata(), np.arange(1, n + 1))
    np.testing.assert_array_equal(lines["training loss"].get_ydata(), h.loss)
    np.testing.assert_array_equal(lines["validation loss"].get_ydata(), h.val_loss)
    marker = lines[f"early stopping: epoch {h.best_epoch + 1}"]
    assert list(marker.get_xdata()) == [h.best_epoch + 1] * 2  # a vertical line at the best epoch
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "training loss", "validation loss", f"early stopping: epoch {h.best_epoch + 1}"]
    assert ax.get_xlabel() == "epoch" and "loss" in ax.get_ylabel()
    ax.figure.savefig(nnfast_tmp("model_complexity.png"))


def test_model_complexity_from_a_network_without_validation(plt):
    net, _, _ = _trained()
    fig, ax = plt.subplots()
    assert nnfast.plot.model_complexity(net, ax=ax) is ax  # draws on the given axes
    lines = _lines(ax)
    assert "validation loss" not in lines
    best = int(np.argmin(net.history.loss))
    assert list(lines[f"best: epoch {best + 1}"].get_xdata()) == [best + 1] * 2


def test_loss_curve(plt):
    net, X, y = _trained(validation_split=0.25)
    for source in (net, net.history):
        lines = _lines(nnfast.plot.loss_curve(source))
        np.testing.assert_array_equal(lines["training loss"].get_ydata(), net.history.loss)
        np.testing.assert_array_equal(lines["validation loss"].get_ydata(),
                                      net.history.val_loss)

    class Estimator:  # scikit-learn's fitted attribute
        loss_curve_ = [0.9, 0.5, 0.3]

    for source in (Estimator(), [0.9, 0.5, 0.3]):
        ax = nnfast.plot.loss_curve(source)
        assert list(_lines(ax)) == ["training loss"]
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.9, 0.5, 0.3])
    with pytest.raises(TypeError, match="History"):
        nnfast.plot.loss_curve(object())
    nnfast.plot.loss_curve(net).figure.savefig(nnfast_tmp("loss_curve.png"))


def _scatter(ax):
    from matplotlib.collections import PathCollection

    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(points) == 1
    return points[0]


def test_decision_boundary_of_a_network(plt):
    net, X, y = _trained()
    ax = nnfast.plot.decision_boundary(net, X, y, resolution=50)
    points = _scatter(ax)
    np.testing.assert_array_equal(points.get_offsets(), X)
    np.testing.assert_array_equal(points.get_array(), y)  # coloured by label
    x0, x1 = ax.get_xlim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max()
    # the boundary: a contour at probability 0.5 (the midpoint of labels 0 and 1)
    levels = [getattr(c, "levels", None) for c in ax.collections]
    assert any(lv is not None and list(lv) == [0.5] for lv in levels)
    ax.figure.savefig(nnfast_tmp("decision_boundary.png"))


def test_decision_boundary_of_any_model(plt):
    X, y = _data()

    class Proba:  # a binary scikit-learn classifier
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

    assert _scatter(nnfast.plot.decision_boundary(Proba(), X, y, resolution=20))
    labels = np.where(X[:, 1] > 0, "up", "down")
    assert _scatter(nnfast.plot.decision_boundary(Labels(), X, labels, resolution=20))
    three = np.digitize(X[:, 0], [-0.5, 0.5]) * 10 + 10
    ax = nnfast.plot.decision_boundary(MultiProba(), X, three, resolution=20)
    np.testing.assert_array_equal(_scatter(ax).get_array(), three // 10 - 1)  # class index

    softmax = nf.Network([2, 3], activation="tanh", loss="cross_entropy", seed=0)
    assert _scatter(nnfast.plot.decision_boundary(softmax, X, nf.one_hot(three // 10 - 1),
                                                  resolution=20))
    with pytest.raises(ValueError, match="2 features"):
        nnfast.plot.decision_boundary(Proba(), np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="predict_proba, predict or feedforward"):
        nnfast.plot.decision_boundary(object(), X, y)


def test_decision_boundary_of_labels_minus_one_and_one(plt):
    X, y = _data()
    net = nf.Network([2, 4, 1], activation="tanh", output_activation="tanh", loss="mse",
                     seed=0)
    ax = nnfast.plot.decision_boundary(net, X, 2 * y - 1, resolution=20)
    levels = [getattr(c, "levels", None) for c in ax.collections]
    assert any(lv is not None and list(lv) == [0.0] for lv in levels)


def nnfast_tmp(name):
    import os
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"nnfast_test_{name}")
