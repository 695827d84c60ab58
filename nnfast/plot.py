"""Plots of training runs and models (matplotlib, optional: ``pip install "nnfast[plot]"``).

Every function takes what training gave you: a ``History``, a trained ``Network`` (its
``.history``), or a fitted estimator (``MLPClassifier`` / ``MLPRegressor``, also
scikit-learn's own, through ``loss_curve_``, ``validation_loss_curve_`` and
``validation_scores_``; ``LogisticRegression``; ``Perceptron``). Each draws on ``ax`` (a new
figure's axes when None) and returns the Axes, so plots compose with the rest of a
matplotlib figure::

    import nnfast.plot
    history = net.train(X, y, epochs=300, validation_split=0.25, early_stopping=True)
    nnfast.plot.model_complexity(history)

**Epochs are counted from 0**, as the API counts them: the point at ``x = e`` is
``history.loss[e]``, and the line marking the epoch whose weights early stopping kept is
drawn at ``history.restored_epoch`` (the same number appears in the legend).

matplotlib is imported inside the functions, never by ``import nnfast``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike, NDArray

__all__ = ["decision_boundary", "first_layer_weights", "loss_curve", "model_complexity"]

EPOCH_LABEL = "epoch (counted from 0, as History.best_epoch)"


def _pyplot() -> ModuleType:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "nnfast.plot needs matplotlib, which is an optional dependency: install it with "
            '`pip install matplotlib` or `pip install "nnfast[plot]"`.'
        ) from exc
    return plt


def _axes(ax: Axes | None) -> Axes:
    plt = _pyplot()  # also when ax is given: the clear error comes first
    if ax is None:  # constrained: room for legends below the axes and colour bars
        _, ax = plt.subplots(layout="constrained")
    return ax


def _attach(ax: Axes, name: str, value: object) -> None:
    """Hang ``value`` on ``ax`` as ``ax.<name>``, where the docstrings promise it."""
    setattr(ax, name, value)


def _integer_epochs(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(EPOCH_LABEL)


class Curves(NamedTuple):
    """What a training run recorded, whatever kind of object it came from."""

    loss: list[float]
    val_loss: list[float]
    score: list[float]  # a validation score per epoch (accuracy, R^2), or []
    score_name: str
    best_epoch: int | None
    early_stopping: bool  # whether the model's weights are those of best_epoch
    loss_name: str


def _is_history(obj: object) -> bool:
    return hasattr(obj, "loss") and hasattr(obj, "val_loss") and hasattr(obj, "best_epoch")


def _list(values: ArrayLike | None) -> list[float]:
    return [] if values is None else [float(v) for v in np.ravel(values)]


def curves(obj: Any) -> Curves:
    """The curves recorded by a History, a trained Network, a fitted estimator or a
    sequence of losses (see the module docstring)."""
    if isinstance(obj, (list, tuple, np.ndarray)):
        return Curves(_list(obj), [], [], "", None, False, "training loss")
    if _is_history(obj):
        return _history_curves(obj)
    network_history = getattr(obj, "history", None)
    if _is_history(network_history):  # a Network
        return _history_curves(network_history)
    if getattr(obj, "errors_", None) is not None:  # the perceptron
        return Curves(
            _list(obj.errors_), [], [], "", None, False, "misclassified points in the pass"
        )
    losses = getattr(obj, "loss_curve_", None)
    if losses is not None:
        early = bool(getattr(obj, "early_stopping", False))
        scores = _list(getattr(obj, "validation_scores_", None))
        history = getattr(obj, "history_", None)  # nnfast's MLPs also keep their History
        best = getattr(history, "restored_epoch", None) if early else None
        if early and best is None and scores:  # scikit-learn's: it keeps the best score's
            best = int(np.argmax(scores))
        name = (
            "validation R^2"
            if getattr(obj, "_estimator_type", "") == "regressor"
            else "validation accuracy"
        )
        return Curves(
            _list(losses),
            _list(getattr(obj, "validation_loss_curve_", None)),
            scores,
            name,
            best,
            early,
            "training loss",
        )
    if getattr(obj, "history", "missing") is None:
        raise TypeError(
            f"this {type(obj).__name__} has not been trained yet: it has no History to plot."
        )
    raise TypeError(
        f"expected an nnfast History, a trained Network, a fitted estimator (loss_curve_ or "
        f"errors_) or a sequence of losses, got {type(obj).__name__}."
    )


def _history_curves(history: Any) -> Curves:
    accuracy = list(getattr(history, "val_accuracy", []) or [])
    kept = getattr(history, "restored_epoch", None)  # the weights the network ends with
    return Curves(
        list(history.loss),
        list(history.val_loss),
        accuracy,
        "validation accuracy",
        history.best_epoch if kept is None else kept,
        kept is not None,
        "training loss",
    )


def _mark_best(ax: Axes, c: Curves) -> None:
    """A vertical line at the epoch whose weights the model kept (early stopping's), else at
    the lowest validation loss, labelled with its number (counted from 0)."""
    if c.best_epoch is None:
        return
    if c.early_stopping:
        label = f"weights kept: epoch {c.best_epoch}"
    elif c.val_loss:
        label = f"lowest validation loss: epoch {c.best_epoch}"
    else:
        return  # the lowest training loss is not a choice the model made
    ax.axvline(c.best_epoch, color="0.25", linestyle="--", linewidth=1.2, label=label)


def model_complexity(model: Any, ax: Axes | None = None) -> Axes:
    """Training and validation loss against epochs, with the best epoch marked.

    The model-complexity graph: as training goes on, the training loss keeps falling while
    the validation loss falls, then rises once the network starts to fit the noise in the
    training data. A dashed line marks the epoch whose weights the model kept (early
    stopping's best, ``History.restored_epoch``) or, when the model keeps its last epoch's
    weights, the epoch of the lowest validation loss.

    Parameters
    ----------
    model : History, Network, fitted estimator or sequence of losses
        For an ``MLPClassifier`` / ``MLPRegressor`` the validation loss exists with
        ``early_stopping=True`` (``validation_loss_curve_``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The x axis counts epochs from 0 as the API does: ``history.loss[e]`` is drawn at
        ``x = e`` and the kept epoch's line at ``x = history.restored_epoch``.
    """
    c = curves(model)
    ax = _axes(ax)
    ax.plot(np.arange(len(c.loss)), c.loss, label=c.loss_name, color="C0")
    if c.val_loss:
        ax.plot(np.arange(len(c.val_loss)), c.val_loss, label="validation loss", color="C1")
    _mark_best(ax, c)
    _integer_epochs(ax)
    ax.set_ylabel("error (loss)" if c.loss_name == "training loss" else c.loss_name)
    ax.set_title("Model complexity")
    ax.legend()
    return ax


def loss_curve(model: Any, ax: Axes | None = None) -> Axes:
    """The training loss per epoch, the validation loss and the validation score where
    they were recorded, and the best epoch.

    Parameters
    ----------
    model : History, Network, fitted estimator or sequence of losses
        A perceptron gives its misclassified points per pass (``errors_``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        Epochs counted from 0, as ``History.best_epoch``. A validation score (accuracy, or
        R^2 for a regressor) goes on a second y axis on the right, ``ax.right_ax``.
    """
    c = curves(model)
    ax = _axes(ax)
    ax.plot(np.arange(len(c.loss)), c.loss, label=c.loss_name, color="C0")
    if c.val_loss:
        ax.plot(np.arange(len(c.val_loss)), c.val_loss, label="validation loss", color="C1")
    _mark_best(ax, c)
    handles, labels = ax.get_legend_handles_labels()
    _attach(ax, "right_ax", None)
    if c.score:
        right = ax.twinx()
        (line,) = right.plot(
            np.arange(len(c.score)), c.score, color="C2", linestyle=":", label=c.score_name
        )
        right.set_ylabel(c.score_name)
        handles.append(line)
        labels.append(c.score_name)
        _attach(ax, "right_ax", right)
    _integer_epochs(ax)
    ax.set_ylabel("loss" if c.loss_name == "training loss" else c.loss_name)
    ax.set_title("Loss curve" if c.loss_name == "training loss" else "Mistakes per pass")
    ax.legend(handles, labels)
    return ax


# --- decision boundaries ----------------------------------------------------------------------

# Points: a dark, saturated colour and a marker per class, with a white rim; the regions
# under them are pale, so every point stands out on every shade and on the boundary line.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def _palette(name: str) -> Sequence[Any]:
    """The colours of a qualitative colormap (``tab10``, ``tab20``)."""
    from matplotlib import colormaps

    cmap: Any = colormaps[name]  # a ListedColormap, whose colours are a sequence
    return cmap.colors


def _model_output(model: Any, grid: NDArray[np.float64]) -> tuple[NDArray[Any], str, str]:
    """(values on the grid, kind, what the values are): kind "score" (one number per point)
    or "label" (a class per point)."""
    if hasattr(model, "predict_proba"):
        out = np.asarray(model.predict_proba(grid), dtype=float)
        if out.ndim == 2 and out.shape[1] == 2:
            classes = getattr(model, "classes_", None)
            positive = classes[1] if classes is not None else 1
            return out[:, 1], "score", f"P(class {positive})"
    elif hasattr(model, "feedforward"):
        out = np.asarray(model.feedforward(grid), dtype=float)
    elif hasattr(model, "predict"):
        return np.asarray(model.predict(grid)).ravel(), "label", "predicted class"
    else:
        raise TypeError(
            f"the model must have predict_proba, predict or feedforward; "
            f"{type(model).__name__} has none."
        )
    if out.ndim == 1 or out.shape[1] == 1:
        return out.ravel(), "score", "network output"
    index = out.argmax(axis=1)  # one column per class
    classes = getattr(model, "classes_", None)
    return (
        (np.asarray(classes)[index] if classes is not None else index),
        "label",
        "predicted class",
    )


def decision_boundary(
    model: Any,
    X: ArrayLike,
    y: ArrayLike,
    ax: Axes | None = None,
    resolution: int = 200,
    colorbar: bool = True,
) -> Axes:
    """The regions a model assigns to each class over 2-D data, with the data on top.

    The model is evaluated on a ``resolution x resolution`` grid covering X (with a
    margin). A model with one output score (``feedforward`` of a one-output Network, or
    ``predict_proba`` of a binary classifier) is drawn as shaded score levels with a colour
    bar, and the decision boundary as a black line where the score crosses the midpoint of
    the two class labels (0.5 for labels 0 and 1, 0 for -1 and 1); several outputs or
    ``predict`` give one pale colour per predicted class, named on the colour bar. Points
    get one dark colour and one marker shape per label ``y``, with a white rim, and a legend
    entry each (below the axes).

    Parameters
    ----------
    model : any object with ``predict_proba``, ``predict`` or ``feedforward``
        (tried in the order predict_proba, feedforward, predict): a Network, any nnfast or
        scikit-learn classifier, a Perceptron or logic gate.
    X : array-like, shape (n_samples, 2)
    y : array-like, shape (n_samples,), class labels (or one-hot rows)
    ax : matplotlib Axes, optional
    resolution : int
        Grid points along each axis.
    colorbar : bool
        Draw the colour bar (next to ``ax``); it is returned as ``ax.colorbar``.

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
        raise ValueError(
            f"X and y have different numbers of samples: {X.shape[0]} and {y.shape[0]}."
        )
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}.")
    ax = _axes(ax)
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.where(hi > lo, hi - lo, 1.0)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    values, kind, meaning = _model_output(model, np.column_stack([xx.ravel(), yy.ravel()]))
    classes = np.unique(y)
    extra: list[Artist] = []
    ticks: list[int] | None = None  # the colour bar's: one per class, for class regions
    tick_labels: list[str] | None = None
    if kind == "score":
        two = classes.size == 2 and classes.dtype.kind in "biuf"
        low, high = (float(classes[0]), float(classes[1])) if two else (0.0, 1.0)
        zz = values.reshape(xx.shape)
        levels = np.linspace(min(low, zz.min()), max(high, zz.max()), 21)
        pale = ListedColormap(0.4 * colormaps["RdBu_r"](np.linspace(0, 1, 256)) + 0.6)
        shading = ax.contourf(xx, yy, zz, levels=levels, cmap=pale, vmin=low, vmax=high)
        middle = (low + high) / 2
        ax.contour(xx, yy, zz, levels=[middle], colors="k", linewidths=1.5)
        extra.append(
            Line2D(
                [],
                [],
                color="k",
                linewidth=1.5,
                label=f"decision boundary ({meaning} = {middle:g})",
            )
        )
        cmap = colormaps["RdBu_r"]
        span = high - low
        point_colour = (
            {c: cmap(1.0 if span and (float(c) - low) / span > 0.5 else 0.0) for c in classes}
            if two
            else None
        )
    else:
        labels = np.unique(np.concatenate([classes, np.unique(values)]))
        index = np.searchsorted(labels, values).reshape(xx.shape)
        palette = _palette("tab10" if labels.size <= 10 else "tab20")
        colours = [palette[i % len(palette)] for i in range(labels.size)]
        regions = [tuple(0.3 * np.asarray(c) + 0.7) for c in colours]  # mixed with white
        shading = ax.contourf(
            xx, yy, index, levels=np.arange(labels.size + 1) - 0.5, cmap=ListedColormap(regions)
        )
        point_colour = {
            c: tuple(0.8 * np.asarray(colours[int(np.searchsorted(labels, c))])) for c in classes
        }  # darkened: the regions are the pale versions
        ticks, tick_labels = list(range(labels.size)), [str(v) for v in labels]
    if point_colour is None:  # scores, but labels that are not two numbers
        palette = _palette("tab10")
        point_colour = {c: palette[i % 10] for i, c in enumerate(classes)}
    for i, c in enumerate(classes):
        rows = y == c
        ax.scatter(
            X[rows, 0],
            X[rows, 1],
            color=point_colour[c],
            marker=_MARKERS[i % 10],
            edgecolors="white",
            linewidths=0.9,
            s=48,
            label=f"class {c}",
            zorder=3,
        )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("Decision boundary")
    handles, names = ax.get_legend_handles_labels()
    # below the axes: inside, it would hide points or the boundary (XOR has both everywhere)
    ax.legend(
        handles + extra,
        names + [h.get_label() for h in extra],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=min(3, len(handles) + len(extra)),
        fontsize="small",
        frameon=False,
    )
    _attach(ax, "colorbar", None)
    if colorbar:
        bar = ax.figure.colorbar(shading, ax=ax, label=meaning)
        if ticks is not None:
            bar.set_ticks(ticks, labels=tick_labels)
        _attach(ax, "colorbar", bar)
    return ax


# --- weights as images --------------------------------------------------------------------------


def _first_layer(model: Any) -> NDArray[Any]:
    """The first layer's weight matrix, shape (n_inputs, n_units)."""
    for holder in (model, getattr(model, "network_", None)):
        weights = getattr(holder, "weights", None)
        if isinstance(weights, list) and weights:
            return np.asarray(weights[0])
    coefs = getattr(model, "coefs_", None)
    if coefs is not None:
        return np.asarray(coefs[0])
    coef = getattr(model, "coef_", None)
    if coef is not None:
        return np.atleast_2d(np.asarray(coef, dtype=float)).T
    raise TypeError(
        f"expected a Network or a fitted estimator (coefs_ or coef_), got {type(model).__name__}."
    )


def first_layer_weights(
    model: Any,
    image_shape: tuple[int, int] = (28, 28),
    ax: Axes | None = None,
    max_units: int = 64,
    columns: int | None = None,
) -> Axes:
    """The first layer's weights as images: what each hidden unit looks for in the input.

    For image inputs (MNIST: ``image_shape=(28, 28)``) the weights from every pixel into
    one unit form an image of the pattern that excites the unit (red: positive weights,
    blue: negative). The images are tiled into one grid on ``ax``, units in order, left to
    right and top to bottom, all on one colour scale (a colour bar shows it).

    Parameters
    ----------
    model : Network or fitted estimator
        ``Network.weights[0]``, ``coefs_[0]`` of an MLP, or ``coef_`` of a linear model
        (LogisticRegression, Perceptron: one image per class score).
    image_shape : (int, int)
        Height and width of an input image; their product must be the number of inputs.
    ax : matplotlib Axes, optional
    max_units : int
        Show the first ``max_units`` units at most.
    columns : int, optional
        Images per row (default: about square).

    Returns
    -------
    matplotlib Axes
        ``ax.colorbar`` is the colour bar.
    """
    W = _first_layer(model)
    height, width = (int(v) for v in image_shape)
    if height < 1 or width < 1 or W.shape[0] != height * width:
        raise ValueError(
            f"image_shape {tuple(image_shape)} has {height * width} pixels, but "
            f"the first layer has {W.shape[0]} inputs."
        )
    max_units = int(max_units)
    if max_units < 1:
        raise ValueError(f"max_units must be at least 1, got {max_units}.")
    n = min(W.shape[1], max_units)
    columns = int(columns) if columns else int(np.ceil(np.sqrt(n)))
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}.")
    rows = -(-n // columns)
    gap = 1
    grid = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap), np.nan)
    for unit in range(n):
        r, c = divmod(unit, columns)
        top, left = gap + r * (height + gap), gap + c * (width + gap)
        grid[top : top + height, left : left + width] = W[:, unit].reshape(height, width)
    ax = _axes(ax)
    limit = float(np.nanpercentile(np.abs(grid), 99.5)) or 1.0
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(
        np.ma.masked_invalid(grid), cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    shown = f"first {n} of {W.shape[1]}" if n < W.shape[1] else f"all {n}"
    ax.set_title(f"First-layer weights ({shown} units)")
    _attach(ax, "colorbar", ax.figure.colorbar(image, ax=ax, label="weight", shrink=0.8))
    return ax
