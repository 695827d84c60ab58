"""One training step spelled out in the tutorials' notation: ``nnfast.explain(net, x, y)``.

For one sample ``x`` with target ``y`` and a learning rate ``eta``, layer by layer
(``a_0 = x``, layers ``l = 1 .. L``, ``f_l`` the layer's activation)::

    forward     z_l = a_{l-1} W_l + b_l            a_l = f_l(z_l)         prediction a_L
    loss        L(y, a_L)                          (nnfast.losses: the mean the network minimises)
    backward    delta_l = dL/dz_l                  delta_L from the loss and f_L,
                                                   delta_l = (delta_{l+1} W_{l+1}^T) * f_l'(z_l)
    gradients   dL/dW_l = a_{l-1}^T delta_l        dL/db_l = delta_l
    update      W_l <- W_l - eta dL/dW_l           b_l <- b_l - eta dL/db_l

Every number is computed three ways, side by side: by the **kernel** (the compiled backend
when it is built: the forward pass of the network cut after each layer gives ``z_l`` and
``a_l``, ``Network.gradients`` gives the gradients, whose bias part is ``delta_l`` for one
sample, and one ``Network.train`` step of per-sample SGD gives the update), by the **NumPy
reference** backend (the same calls), and, for the gradients, by **finite differences** of
the loss (central, ``(L(p + h) - L(p - h)) / 2h``). The network itself is not changed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _backend
from ._validation import check_number

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import ArrayLike, NDArray

    from .network import Network

__all__ = ["Explanation", "LayerStep", "Quantity", "explain"]


FINITE_DIFFERENCES = "finite differences"
UPDATE_RULE = "update rule"


@dataclass
class Quantity:
    """One quantity computed by the kernel and by the NumPy reference, and checked a third
    way where there is one: ``check`` holds the finite differences of a gradient, or, for
    an updated weight, the update rule applied to the kernel's gradient (``check_kind``
    says which); None elsewhere."""

    name: str
    formula: str
    kernel: np.ndarray | np.float64  # a number for the loss
    reference: np.ndarray | np.float64
    check: np.ndarray | None = None
    check_kind: str = ""

    @property
    def difference(self) -> float:
        """Largest absolute difference of the reference (and the check) from the kernel."""
        diffs = [np.max(np.abs(self.reference - self.kernel), initial=0.0)]
        if self.check is not None:
            diffs.append(np.max(np.abs(self.check - self.kernel), initial=0.0))
        return float(max(diffs))


@dataclass
class LayerStep:
    """Layer ``index`` (1-based, as in the tutorials' ``W_1``): what the step computed."""

    index: int
    activation: str
    W: np.ndarray  # before the step
    b: np.ndarray
    z: Quantity
    a: Quantity
    delta: Quantity
    grad_W: Quantity
    grad_b: Quantity
    W_after: Quantity
    b_after: Quantity

    def quantities(self) -> list[Quantity]:
        """The step's quantities of this layer, in the order the text shows them."""
        return [self.z, self.a, self.delta, self.grad_W, self.grad_b, self.W_after, self.b_after]


@dataclass
class Explanation:
    """The result of ``explain``: the numbers as attributes, ``str()`` as text, and an HTML
    table in a notebook (``_repr_html_``).

    Attributes
    ----------
    network : str
        The network's ``repr``.
    loss_name : str
        Its loss function (``mse``, ``cross_entropy``, ...).
    x, y : ndarray
        The sample and its target, as the network sees them (one row each).
    learning_rate : float
    layers : list of LayerStep
        One per layer of weights, first to last: ``layers[0].z.kernel`` is ``z_1``.
    output : ndarray
        The prediction ``a_L`` before the step (kernel).
    loss, loss_after : Quantity
        The loss before and after the step.
    kernel_backend : str
        ``"cython"``, or ``"numpy"`` when the compiled extension is not built.
    step : float
        ``h`` of the finite differences.
    max_difference_reference, max_difference_finite, max_difference_update : float
        Largest absolute difference from the kernel, over every number, of the reference,
        of the finite differences (0 when they were not computed), and of the update rule
        applied to the kernel's gradients.
    """

    network: str
    loss_name: str
    x: np.ndarray
    y: np.ndarray
    learning_rate: float
    layers: list[LayerStep]
    output: np.ndarray
    loss: Quantity
    loss_after: Quantity
    kernel_backend: str
    step: float
    max_difference_reference: float = field(init=False)
    max_difference_finite: float = field(init=False)
    max_difference_update: float = field(init=False)

    def __post_init__(self) -> None:
        quantities = [q for layer in self.layers for q in layer.quantities()]
        quantities += [self.loss, self.loss_after]

        def largest(pairs: Iterable[tuple[Any, Any]]) -> float:
            return float(max((np.max(np.abs(a - b), initial=0.0) for a, b in pairs), default=0.0))

        self.max_difference_reference = largest((q.reference, q.kernel) for q in quantities)
        self.max_difference_finite = largest(
            (q.check, q.kernel)
            for q in quantities
            if q.check is not None and q.check_kind == FINITE_DIFFERENCES
        )
        self.max_difference_update = largest(
            (q.check, q.kernel) for q in quantities if q.check_kind == UPDATE_RULE
        )

    # --- text ----------------------------------------------------------------------------------

    def __str__(self) -> str:
        out = [
            f"One step of per-sample gradient descent on {self.network}",
            f"x = {_fmt(self.x[0])}, y = {_fmt(self.y[0])}, learning rate eta = "
            f"{self.learning_rate:g}, loss {self.loss_name}",
            f"Each number: kernel ({self.kernel_backend}), then the NumPy reference; "
            f"gradients also by finite differences (h = {self.step:g}), updates also by "
            f"the update rule on the kernel's gradient.",
            "",
            "Forward",
        ]
        for layer in self.layers:
            out += _text(layer.z, layer.index) + _text(layer.a, layer.index)
        out += _text(self.loss) + ["", "Backward (delta_l = dL/dz_l)"]
        for layer in reversed(self.layers):
            out += (
                _text(layer.delta, layer.index)
                + _text(layer.grad_W, layer.index)
                + _text(layer.grad_b, layer.index)
            )
        out += ["", f"Update (eta = {self.learning_rate:g})"]
        for layer in self.layers:
            out += _text(layer.W_after, layer.index) + _text(layer.b_after, layer.index)
        out += _text(self.loss_after)
        out += [
            "",
            f"Largest difference from the kernel: NumPy reference "
            f"{self.max_difference_reference:.2g}, finite differences "
            f"{self.max_difference_finite:.2g}, update rule "
            f"{self.max_difference_update:.2g}.",
        ]
        return "\n".join(out)

    def __repr__(self) -> str:
        return (
            f"<nnfast.explain: one step of {self.network}, loss {self.loss.kernel:.6g} -> "
            f"{self.loss_after.kernel:.6g}; print() it for every number>"
        )

    # --- HTML ----------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        e = html.escape
        head = (
            "<tr><th>layer</th><th>quantity</th><th>formula</th><th>kernel "
            f"({e(self.kernel_backend)})</th><th>NumPy reference</th><th>check: finite "
            "differences or update rule</th><th>largest |difference|</th></tr>"
        )
        rows = []
        sections: list[tuple[str, list[tuple[int | str, Quantity]]]] = [
            (
                "Forward",
                [(layer.index, q) for layer in self.layers for q in (layer.z, layer.a)]
                + [("", self.loss)],
            ),
            (
                "Backward",
                [
                    (layer.index, q)
                    for layer in reversed(self.layers)
                    for q in (layer.delta, layer.grad_W, layer.grad_b)
                ],
            ),
            (
                "Update",
                [(layer.index, q) for layer in self.layers for q in (layer.W_after, layer.b_after)]
                + [("", self.loss_after)],
            ),
        ]
        for title, items in sections:
            rows.append(f'<tr><th colspan="7" style="text-align:left">{title}</th></tr>')
            for index, q in items:
                numeric = "" if q.check is None else _pre(q.check)
                rows.append(
                    f"<tr><td>{index}</td><td>{e(_name(q, index))}</td>"
                    f"<td><code>{e(_numbered(q.formula, index))}</code></td>"
                    f"<td>{_pre(q.kernel)}</td><td>{_pre(q.reference)}</td><td>{numeric}</td>"
                    f"<td>{q.difference:.2g}</td></tr>"
                )
        caption = (
            f"One step of per-sample gradient descent on {e(self.network)}: x = "
            f"{e(_fmt(self.x[0]))}, y = {e(_fmt(self.y[0]))}, learning rate "
            f"{self.learning_rate:g}, loss {e(self.loss_name)}"
        )
        return (
            f'<table class="nnfast-explain"><caption>{caption}</caption>{head}'
            f"{''.join(rows)}</table>"
        )


def _fmt(value: ArrayLike) -> str:
    value = np.asarray(value)
    if value.ndim == 0:
        return f"{float(value):.6g}"
    return np.array2string(
        value, precision=6, suppress_small=False, separator=", ", max_line_width=200
    )


def _pre(value: ArrayLike) -> str:
    return f"<pre>{html.escape(_fmt(value))}</pre>"


def _numbered(text: str, index: int | str) -> str:
    """``text`` with the tutorials' layer index l replaced by the layer's number."""
    if isinstance(index, str):  # "": the loss, which belongs to no layer
        return text
    return (
        text.replace("_{l-1}", f"_{index - 1}")
        .replace("_{l+1}", f"_{index + 1}")
        .replace("_l", f"_{index}")
    )


def _name(q: Quantity, index: int | str) -> str:
    return _numbered(q.name, index)


def _text(q: Quantity, index: int | str = "") -> list[str]:
    name = _name(q, index)
    formula = _numbered(q.formula, index)
    lines = [
        f"  {name} = {formula}",
        f"      kernel     {_indent(_fmt(q.kernel))}",
        f"      reference  {_indent(_fmt(q.reference))}",
    ]
    if q.check is not None:
        label = "finite d. " if q.check_kind == FINITE_DIFFERENCES else "rule      "
        lines.append(f"      {label} {_indent(_fmt(q.check))}")
    return lines


def _indent(text: str) -> str:
    return text.replace("\n", "\n" + " " * 17)


# --- computing -------------------------------------------------------------------------------


def _layer_values(net: Network, X: NDArray[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """([z_1 .. z_L], [a_1 .. a_L]) for the one row X, from the forward pass of the backend
    in use (``layer_outputs``: each layer's activation with its parameters)."""
    zs = [z[0] for z in net.layer_outputs(X, pre_activations=True)]
    return zs, [a[0] for a in net.layer_outputs(X)]


def _one_step(
    net: Network, X: NDArray[Any], Y: NDArray[Any], learning_rate: float
) -> tuple[np.ndarray, float, float]:
    """(parameters after one per-sample SGD step, loss before, loss after) on the backend
    in use."""
    copy = net.copy()
    copy.train(X, Y, epochs=1, learning_rate=learning_rate, batch_size=1, shuffle=False)
    return copy.parameters.copy(), net.loss(X, Y), copy.loss(X, Y)


def _compute(
    net: Network, X: NDArray[Any], Y: NDArray[Any], learning_rate: float
) -> dict[str, Any]:
    zs, activations = _layer_values(net, X)
    grad_W, grad_b = net.gradients(X, Y)
    after, loss, loss_after = _one_step(net, X, Y, learning_rate)
    W_after, b_after = net.spec.unpack(after)
    return dict(
        z=zs,
        a=activations,
        grad_W=[g.copy() for g in grad_W],
        grad_b=[g.copy() for g in grad_b],
        W_after=W_after,
        b_after=b_after,
        loss=np.float64(loss),
        loss_after=np.float64(loss_after),
    )


def _finite_differences(
    net: Network, X: NDArray[Any], Y: NDArray[Any], h: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """dL/dp for every parameter p, by central differences on the reference backend."""
    probe = net.copy()
    flat = probe.parameters
    grad = np.empty_like(flat)
    with _backend.use_backend("numpy"):
        for i in range(flat.size):
            saved = flat[i]
            step = h * max(1.0, abs(saved))
            flat[i] = saved + step
            up = probe.loss(X, Y)
            flat[i] = saved - step
            down = probe.loss(X, Y)
            flat[i] = saved
            grad[i] = (up - down) / (2 * step)
    return net.spec.unpack(grad)


def _delta_formula(net: Network, is_output: bool) -> str:
    if not is_output:
        return "(delta_{l+1} W_{l+1}^T) * f'(z_l)"
    loss, out = net._require_loss("explain a step").name, net.output_activation
    k = net.n_outputs
    if loss == "cross_entropy":
        return "a_l - y   (softmax with cross-entropy)"
    if loss == "binary_cross_entropy":
        return "(a_l - y)" + (f" / {k}" if k > 1 else "") + "   (sigmoid with binary cross-entropy)"
    mean = f" / {k}" if k > 1 else ""
    if out == "softmax":
        return f"J_softmax(z_l)^T 2 (a_l - y){mean}   (dL/da_l through softmax)"
    return f"2 (a_l - y){mean} * {out}'(z_l)   (dL/da_l * f'(z_l))"


def explain(
    net: Network,
    x: ArrayLike,
    y: ArrayLike,
    learning_rate: float = 0.1,
    finite_differences: bool = True,
    step: float = 1e-6,
) -> Explanation:
    """One training step of ``net`` on one sample, every number in the tutorials' notation.

    Shows the forward pass (every ``z_l = a_{l-1} W_l + b_l`` and ``a_l = f(z_l)``), the loss,
    the backward pass (every ``delta_l = dL/dz_l``, ``dL/dW_l = a_{l-1}^T delta_l`` and
    ``dL/db_l = delta_l``) and the update ``W_l - eta dL/dW_l`` of one step of per-sample
    gradient descent, each computed by the kernel (compiled when built), beside the NumPy
    reference and, for the gradients, finite differences. ``net`` is left unchanged.

    Parameters
    ----------
    net : Network
        Any ``nnfast.Network`` (for an estimator, pass its ``network_``; the estimators
        scale the loss and learning rate as scikit-learn does, see ``nnfast.estimators``).
    x : array-like, shape (n_inputs,) or (1, n_inputs)
        One sample.
    y : float, int or array-like, shape (n_outputs,)
        Its target (an integer class label for a cross-entropy network).
    learning_rate : float
        ``eta`` of the update.
    finite_differences : bool
        Also check every gradient by central differences (two loss evaluations per
        parameter: turn it off for large networks).
    step : float
        ``h`` of the finite differences, relative to ``max(1, |p|)``.

    Returns
    -------
    Explanation
        ``print()`` it for the text, display it in a notebook for an HTML table; the
        numbers are its attributes (``.layers[l].delta.kernel``, ``.output``, ...).

    Examples
    --------
    Victor Zhou's network, every weight ``[0, 1]`` and bias 0, on ``x = [2, 3]``:

    >>> import nnfast as nf
    >>> net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid",
    ...                  init="zeros")
    >>> for W in net.weights:
    ...     W[1, :] = 1.0
    >>> step = nf.explain(net, [2, 3], 1)
    >>> float(step.output[0])
    0.7216325609518421
    """
    from .network import Network

    if not isinstance(net, Network):
        hint = " (for an estimator, pass its network_)" if hasattr(net, "network_") else ""
        raise TypeError(f"explain needs an nnfast Network{hint}, got {type(net).__name__}.")
    if net.batch_norm:
        raise ValueError(
            "explain follows one sample through the network, and a batch-normalised network "
            "(batch_norm=True) trains on the statistics of batches of at least 2 rows: "
            "explain a network without batch_norm."
        )
    learning_rate = check_number(learning_rate, "learning_rate", 0.0, low_open=True)
    step = check_number(step, "step", 0.0, low_open=True)
    y = np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy()
    if y.ndim == 0:
        y = y.reshape(1)  # a class label, or the target of a one-output network
    elif y.ndim == 1 and net.n_outputs > 1 and y.size == net.n_outputs:
        y = y.reshape(1, -1)  # one sample's row of targets
    X, Y = net._xy(x, y)
    if X.shape[0] != 1:
        raise ValueError(
            f"explain shows one sample: x must have shape ({net.n_inputs},), got {X.shape[0]} rows."
        )
    kernel_backend = "cython" if _backend._kernels is not None else "numpy"
    with _backend.use_backend(kernel_backend):
        k = _compute(net, X, Y, learning_rate)
    with _backend.use_backend("numpy"):
        r = _compute(net, X, Y, learning_rate)
    numeric = _finite_differences(net, X, Y, step) if finite_differences else None

    layers = []
    n_layers = len(net.weights)
    names = list(net.activations) + [net.output_activation]
    for l in range(n_layers):
        previous = "x" if l == 0 else "a_{l-1}"
        is_output = l == n_layers - 1
        nW = None if numeric is None else numeric[0][l]
        nb = None if numeric is None else numeric[1][l]
        layers.append(
            LayerStep(
                index=l + 1,
                activation=names[l],
                W=net.weights[l].copy(),
                b=net.biases[l].copy(),
                z=Quantity("z_l", f"{previous} W_l + b_l", k["z"][l], r["z"][l]),
                a=Quantity(
                    "a_l",
                    f"{names[l]}(z_l)" + ("   = the prediction" if is_output else ""),
                    k["a"][l],
                    r["a"][l],
                ),
                delta=Quantity(
                    "delta_l",
                    _delta_formula(net, is_output),
                    k["grad_b"][l],
                    r["grad_b"][l],
                    nb,
                    FINITE_DIFFERENCES,
                ),
                grad_W=Quantity(
                    "dL/dW_l",
                    f"{previous}^T delta_l",
                    k["grad_W"][l],
                    r["grad_W"][l],
                    nW,
                    FINITE_DIFFERENCES,
                ),
                grad_b=Quantity(
                    "dL/db_l", "delta_l", k["grad_b"][l], r["grad_b"][l], nb, FINITE_DIFFERENCES
                ),
                W_after=Quantity(
                    "W_l",
                    "W_l - eta dL/dW_l",
                    k["W_after"][l],
                    r["W_after"][l],
                    net.weights[l] - learning_rate * k["grad_W"][l],
                    UPDATE_RULE,
                ),
                b_after=Quantity(
                    "b_l",
                    "b_l - eta dL/db_l",
                    k["b_after"][l],
                    r["b_after"][l],
                    net.biases[l] - learning_rate * k["grad_b"][l],
                    UPDATE_RULE,
                ),
            )
        )
    loss_name = net._require_loss("explain a step").name
    return Explanation(
        network=repr(net),
        loss_name=loss_name,
        x=X.copy(),
        y=Y.copy(),
        learning_rate=learning_rate,
        layers=layers,
        output=k["a"][-1],
        loss=Quantity("L", f"{loss_name}(y, a_{n_layers})", k["loss"], r["loss"]),
        loss_after=Quantity(
            "L after the step", f"{loss_name}(y, a_{n_layers})", k["loss_after"], r["loss_after"]
        ),
        kernel_backend=kernel_backend,
        step=step,
    )
