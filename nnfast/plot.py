"""Plots of training runs and models (matplotlib, optional: ``pip install "nnfast[plot]"``).

Each function draws on ``ax`` (a new figure's axes when None) and returns the Axes, so
plots compose with the rest of a matplotlib figure::

    import nnfast.plot
    history = net.train(X, y, epochs=300, validation_split=0.25, early_stopping=True)
    nnfast.plot.model_complexity(history)

matplotlib is imported inside the functions, never by ``import nnfast``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["decision_boundary", "loss_curve", "model_complexity"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "nnfast.plot needs matplotlib, which is an optional dependency: install it with "
            "`pip install matplotlib` or `pip install \"nnfast[plot]\"`."
        ) from exc
    return plt


def _axes(ax):
    plt = _pyplot()  # also when ax is given: the clear error comes first
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _history(obj):
    """A ``History`` from a History, or from a model that holds one in ``history``."""
    if hasattr(obj, "loss") and hasattr(obj, "val_loss"):
        return obj
    history = getattr(obj, "history", None)
    if history is not None and hasattr(history, "loss"):
        return history
    raise TypeError(f"expected an nnfast History or a trained model with a .history, got "
                    f"{type(obj).__name__}.")


def model_complexity(history, ax=None):
    """Training and validation loss against epochs, with the best epoch marked.

    The model-complexity graph: as training goes on, the training loss keeps falling while
    the validation loss falls, then rises once the network starts to fit the noise. The
    vertical line marks ``history.best_epoch`` (early stopping's best epoch when it was
    used: the weights the network was restored to).

    Parameters
    ----------
    history : History, or a Network (or any model) holding one in ``.history``
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The x axis counts epochs trained, 1 to n: epoch index ``e`` of the History is
        drawn at ``x = e + 1``, and the best-epoch line at ``history.best_epoch + 1``.
    """
    history = _history(history)
    ax = _axes(ax)
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, label="training loss", color="C0")
    if history.val_loss:
        ax.plot(epochs[:len(history.val_loss)], history.val_loss, label="validation loss",
                color="C1")
    if history.best_epoch is not None:
        best = history.best_epoch + 1
        what = "early stopping" if history.stopped_epoch is not None else "best"
        ax.axvline(best, color="0.3", linestyle="--", linewidth=1,
                   label=f"{what}: epoch {best}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (loss)")
    ax.set_title("Model complexity")
    ax.legend()
    return ax


def loss_curve(history_or_model, ax=None):
    """The training loss per epoch (and the validation loss when there is one).

    Parameters
    ----------
    history_or_model : History, a model with ``.history`` (Network), a model with a
        scikit-learn style ``loss_curve_``, or a sequence of losses
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    obj = history_or_model
    loss_curve_ = getattr(obj, "loss_curve_", None)
    if loss_curve_ is not None:
        losses, val = list(loss_curve_), []
    elif isinstance(obj, (list, tuple, np.ndarray)):
        losses, val = list(np.ravel(obj)), []
    else:
        history = _history(obj)
        losses, val = history.loss, history.val_loss
    ax = _axes(ax)
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, label="training loss", color="C0")
    if val:
        ax.plot(epochs[:len(val)], val, label="validation loss", color="C1")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss curve")
    ax.legend()
    return ax


def _model_output(model, grid):
    """(values on the grid, kind): "score" (one column) or "label" (class per point)."""
    if hasattr(model, "predict_proba"):
        out = np.asarray(model.predict_proba(grid), dtype=float)
        if out.ndim == 2 and out.shape[1] == 2:
            return out[:, 1], "score"
    elif hasattr(model, "feedforward"):
        out = np.asarray(model.feedforward(grid), dtype=float)
    elif hasattr(model, "predict"):
        return np.asarray(model.predict(grid)).ravel(), "label"
    else:
        raise TypeError(f"the model must have predict_proba, predict or feedforward; "
                        f"{type(model).__name__} has none.")
    if out.ndim == 1 or out.shape[1] == 1:
        return out.ravel(), "score"
    index = out.argmax(axis=1)  # one column per class
    classes = getattr(model, "classes_", None)
    return (np.asarray(classes)[index] if classes is not None else index), "label"


def decision_boundary(model, X, y, ax=None, resolution=200):
    """The regions a model assigns to each class over 2-D data, with the data on top.

    The model is evaluated on a ``resolution x resolution`` grid covering X (with a
    margin). A model with one output score (``feedforward`` of a one-output Network, or
    ``predict_proba`` of a binary classifier) is drawn as shaded score levels, with the
    decision boundary as a black line where the score crosses the midpoint of the two
    class labels (0.5 for labels 0 and 1, 0 for -1 and 1); several outputs or ``predict``
    give one colour per predicted class. Points are coloured by their label ``y``.

    Parameters
    ----------
    model : any object with ``predict_proba``, ``predict`` or ``feedforward``
        (tried in the order predict_proba, feedforward, predict)
    X : array-like, shape (n_samples, 2)
    y : array-like, shape (n_samples,), class labels (or one-hot rows)
    ax : matplotlib Axes, optional
    resolution : int
        Grid points along each axis.

    Returns
    -------
    matplotlib Axes
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs X with 2 features, got shape {X.shape}.")
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1) if y.shape[1] > 1 else y.ravel()
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and "
                         f"{y.shape[0]}.")
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}.")
    ax = _axes(ax)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    values, kind = _model_output(model, np.column_stack([xx.ravel(), yy.ravel()]))
    classes = np.unique(y)
    if kind == "score":
        two = classes.size == 2 and classes.dtype.kind in "biuf"
        low, high = (float(classes[0]), float(classes[1])) if two else (0.0, 1.0)
        zz = values.reshape(xx.shape)
        ax.contourf(xx, yy, zz, levels=np.linspace(min(low, zz.min()), max(high, zz.max()), 21),
                    cmap="RdBu_r", vmin=low, vmax=high, alpha=0.5)
        ax.contour(xx, yy, zz, levels=[(low + high) / 2], colors="k", linewidths=1.5)
        colours = dict(c=y.astype(float) if two else y, cmap="RdBu_r", vmin=low, vmax=high)
    else:
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap

        labels = np.unique(np.concatenate([classes, np.unique(values)]))
        index = np.searchsorted(labels, values).reshape(xx.shape)
        palette = colormaps["tab10" if labels.size <= 10 else "tab20"].colors
        cmap = ListedColormap([palette[i % len(palette)] for i in range(labels.size)])
        ax.contourf(xx, yy, index, levels=np.arange(labels.size + 1) - 0.5, cmap=cmap,
                    vmin=-0.5, vmax=labels.size - 0.5, alpha=0.35)
        colours = dict(c=np.searchsorted(labels, y), cmap=cmap, vmin=-0.5,
                       vmax=labels.size - 0.5)
    ax.scatter(X[:, 0], X[:, 1], edgecolors="k", linewidths=0.5, s=20, **colours)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("Decision boundary")
    return ax
