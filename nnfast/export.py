"""Trained models to ONNX, to run without Python or nnfast (onnxruntime, C, C#, the browser).

``nnfast.to_onnx(model, path=None)`` takes a ``Network`` or a fitted estimator
(``MLPClassifier``, ``MLPRegressor``, ``LogisticRegression``, ``Perceptron``) and returns an
``onnx.ModelProto`` (also written to ``path`` when given). Install the optional packages
with ``pip install "nnfast[onnx]"`` (onnx; onnxruntime to run the models; skl2onnx for
pipelines).

The graph computes what the model computes: per layer ``MatMul`` then ``Add`` then the
activation, in the dtype of the model's parameters (float64 unless the model was built in
float32), with one input ``X`` of shape ``(N, n_features)``. Outputs follow skl2onnx's
conventions:

============================  ================================================================
model                         outputs
============================  ================================================================
Network                       ``output``: (N, n_outputs), ``feedforward``
MLPRegressor                  ``variable``: (N, n_outputs), ``predict`` as a column
MLPClassifier,                ``label``: (N,) int64 or string, ``predict``;
LogisticRegression            ``probabilities``: (N, n_classes), ``predict_proba``
MLPClassifier, multilabel     ``label``: (N, n_labels) int64; ``probabilities`` (N, n_labels)
Perceptron                    ``label``: (N,); ``scores``: (N, 2), ``[-z, z]`` for the score
                              ``z = w.x + b`` (it has no probabilities)
============================  ================================================================

Pipelines: ``register_skl2onnx()`` registers these models' converters with skl2onnx
(``to_onnx`` does it too, and converts a scikit-learn ``Pipeline`` through skl2onnx), so
``skl2onnx.to_onnx(make_pipeline(StandardScaler(), nf.MLPClassifier()), X)`` works. There
the classifier's probabilities come, as skl2onnx makes them by default, as a list of
dictionaries (ZipMap, float32 only); ``options={"zipmap": False}`` gives the plain tensor
in the model's dtype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._spec import BN_EPSILON

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from onnx import ModelProto

    from ._typing import StrPath
    from .activations import Activation
    from .network import Network

__all__ = ["register_skl2onnx", "to_onnx"]

#: The ONNX operator set the graphs are written for (Softmax over an axis needs 13).
OPSET = 17


def _onnx() -> ModuleType:
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "nnfast.to_onnx needs the onnx package, an optional dependency: install it with "
            '`pip install onnx` or `pip install "nnfast[onnx]"` (which also brings '
            "onnxruntime and skl2onnx)."
        ) from exc
    return onnx


# --- graph builders: one for a standalone model, one inside a skl2onnx conversion -----------


class _Standalone:
    """Collects nodes and constants for ``onnx.helper.make_graph``."""

    def __init__(self) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []  # onnx NodeProto
        self.initializers: list[Any] = []  # onnx TensorProto
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, array: ArrayLike) -> str:
        array = np.asarray(array)
        name = self.name(hint)
        if array.dtype.kind in "US":
            tensor = self.onnx.helper.make_tensor(
                name,
                self.onnx.TensorProto.STRING,
                array.shape,
                [str(v).encode("utf-8") for v in array.ravel()],
            )
        else:
            tensor = self.onnx.numpy_helper.from_array(array, name)
        self.initializers.append(tensor)
        return name

    def node(self, op: str, inputs: Iterable[str], output: str | None = None, **attrs: Any) -> str:
        output = output or self.name(op.lower())
        self.nodes.append(
            self.onnx.helper.make_node(op, list(inputs), [output], name=self.name(op), **attrs)
        )
        return output


class _InSkl2onnx:
    """The same interface over a skl2onnx scope and container."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def const(self, hint: str, array: ArrayLike) -> str:
        import onnx

        array = np.asarray(array)
        name = self.name(hint)
        if array.dtype.kind in "US":
            self.container.add_initializer(
                name,
                onnx.TensorProto.STRING,
                list(array.shape),
                [str(v).encode("utf-8") for v in array.ravel()],
            )
        else:
            proto = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
            self.container.add_initializer(name, proto, list(array.shape), array.ravel().tolist())
        return name

    def node(self, op: str, inputs: Iterable[str], output: str | None = None, **attrs: Any) -> str:
        output = output or self.name(op.lower())
        self.container.add_node(
            op, list(inputs), [output], name=self.scope.get_unique_operator_name(op), **attrs
        )
        return output


if TYPE_CHECKING:
    _Graph = Union[_Standalone, _InSkl2onnx]


# --- what each model computes ------------------------------------------------------------------


def _proto(dtype: DTypeLike) -> int:
    return _onnx().helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _activation(g: _Graph, activation: Activation, z: str, dtype: DTypeLike) -> str:
    """f(z) in ONNX operators; parameters and constants as tensors of the network's dtype
    (an ONNX attribute is a float32, which would round leaky_relu's slope)."""
    name = activation.name

    def scalar(hint: str, value: float) -> str:
        return g.const(hint, np.asarray(value, dtype=dtype))

    if name == "identity":
        return z
    if name in ("sigmoid", "tanh", "relu"):
        return g.node({"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}[name], [z])
    if name == "softmax":
        return g.node("Softmax", [z], axis=-1)
    if name == "step":  # 1 where z >= 0, as the kernels compute it
        zero = scalar("zero", 0.0)
        return g.node("Cast", [g.node("GreaterOrEqual", [z, zero])], to=_proto(dtype))
    if name in ("leaky_relu", "elu"):  # z where z > 0, else alpha z or alpha (exp(z) - 1)
        zero, alpha = scalar("zero", 0.0), scalar("alpha", activation.alpha)
        negative = (
            z
            if name == "leaky_relu"
            else g.node("Sub", [g.node("Exp", [g.node("Min", [z, zero])]), scalar("one", 1.0)])
        )
        return g.node("Where", [g.node("Greater", [z, zero]), z, g.node("Mul", [negative, alpha])])
    if name == "gelu":  # z (1 + erf(z / sqrt 2)) / 2
        erf = g.node("Erf", [g.node("Mul", [z, scalar("sqrt1_2", np.sqrt(0.5))])])
        half = g.node("Mul", [g.node("Add", [erf, scalar("one", 1.0)]), scalar("half", 0.5)])
        return g.node("Mul", [z, half])
    if name == "softplus":  # log(1 + exp(z)), z itself from z > 20 (onnxruntime has no
        threshold = scalar("threshold", 20.0)  # float64 Softplus: from Exp and Log)
        smooth = g.node(
            "Log",
            [g.node("Add", [g.node("Exp", [g.node("Min", [z, threshold])]), scalar("one", 1.0)])],
        )
        return g.node("Where", [g.node("Greater", [z, threshold]), z, smooth])
    if name == "silu":
        return g.node("Mul", [z, g.node("Sigmoid", [z])])
    raise NotImplementedError(f"activation {name!r} has no ONNX translation yet.")


def _layers(g: _Graph, net: Network, X: str, logits: bool = False) -> str:
    """The network's output (and, with ``logits``, the last layer's z instead of a_L)."""
    dtype = net.parameters.dtype
    layers = net.layer_activations
    norms = net.norms
    a = X
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = g.node(
            "Add",
            [
                g.node("MatMul", [a, g.const(f"W{l + 1}", np.array(W))]),
                g.const(f"b{l + 1}", np.array(b)),
            ],
        )
        if l < len(norms):  # batch normalisation by the running statistics, as the kernels
            n = norms[l]
            scale = n["gamma"] / np.sqrt(n["running_var"] + dtype.type(BN_EPSILON))
            shift = n["beta"] - n["running_mean"] * scale
            z = g.node(
                "Add",
                [
                    g.node("Mul", [z, g.const(f"scale{l + 1}", scale)]),
                    g.const(f"shift{l + 1}", shift),
                ],
            )
        if logits and l == len(layers) - 1:
            return z
        a = _activation(g, layers[l], z, dtype)
    return a


def _label_table(classes: ArrayLike) -> NDArray[Any]:
    """The classes as an ONNX label tensor: strings, else int64 (bools and whole numbers),
    else float64."""
    table = np.asarray(classes)
    if table.dtype.kind in "OUS":
        return table.astype(str)
    if table.dtype.kind == "f" and not np.array_equal(table, np.round(table)):
        return table.astype(np.float64)
    return table.astype(np.int64)


def _labels(g: _Graph, classes: ArrayLike, index: str, output: str) -> str:
    """``classes[index]``: the label of each row (index: int64, shape (N,) or (N, k))."""
    return g.node("Gather", [g.const("classes", _label_table(classes)), index], output, axis=0)


def _flat(g: _Graph, x: str) -> str:
    return g.node("Reshape", [x, g.const("flat", np.array([-1], dtype=np.int64))])


def _index_where(g: _Graph, x: str, threshold: float, op: str, dtype: DTypeLike) -> str:
    """int64 of ``x op threshold`` (op: Greater or GreaterOrEqual)."""
    limit = g.const("threshold", np.array(threshold, dtype=dtype))
    return g.node("Cast", [g.node(op, [x, limit])], to=_onnx().TensorProto.INT64)


def _two_columns(g: _Graph, p: str, dtype: DTypeLike) -> str:
    """(N, 1) p -> (N, 2) [1 - p, p]."""
    one = g.const("one", np.ones((), dtype=dtype))
    return g.node("Concat", [g.node("Sub", [one, p]), p], axis=1)


def _kind(model: object) -> str | None:
    """Which model, by what it holds (works without importing every estimator class)."""
    from .estimators import MLPClassifier, MLPRegressor
    from .linear import LogisticRegression
    from .network import Network
    from .perceptron import Perceptron

    for cls, kind in (
        (Network, "network"),
        (MLPClassifier, "mlp_classifier"),
        (MLPRegressor, "mlp_regressor"),
        (LogisticRegression, "logistic"),
        (Perceptron, "perceptron"),
    ):
        if isinstance(model, cls):
            return kind
    return None


def _network(model: Any, kind: str) -> Network:
    """The network of a Network, or of a fitted estimator other than the Perceptron."""
    if kind == "network":
        return model
    net = getattr(model, "network_", None)
    if net is None:
        raise ValueError(f"This {type(model).__name__} is not fitted yet: call fit before to_onnx.")
    return net


def _check_fitted(model: Any, kind: str) -> None:
    if kind != "perceptron":
        _network(model, kind)
    elif getattr(model, "coef_", None) is None:
        raise ValueError("This Perceptron is not fitted yet: call fit before to_onnx.")


def _perceptron_score(g: _Graph, model: Any, X: str, dtype: DTypeLike) -> str:
    w = np.asarray(model.coef_, dtype=dtype).reshape(-1, 1)
    b = np.asarray([model.intercept_], dtype=dtype)
    return g.node("Add", [g.node("MatMul", [X, g.const("w", w)]), g.const("b", b)])


def _build(
    g: _Graph, model: Any, kind: str, X: str, outputs: list[str], dtype: np.dtype[Any]
) -> None:
    """Add the model's graph reading ``X``, writing the output names ``outputs``."""
    if kind == "perceptron":
        z = _perceptron_score(g, model, X, dtype)
        _labels(
            g,
            model.classes_,
            _flat(g, _index_where(g, z, 0.0, "GreaterOrEqual", dtype)),
            outputs[0],
        )
        g.node("Concat", [g.node("Neg", [z]), z], outputs[1], axis=1)
        return
    net = _network(model, kind)
    if kind in ("network", "mlp_regressor"):
        g.node("Identity", [_layers(g, net, X)], outputs[0])
    elif kind == "logistic":
        z = _layers(g, net, X, logits=True)
        if net.n_outputs == 1:
            index = _flat(g, _index_where(g, z, 0.0, "GreaterOrEqual", dtype))
            g.node("Identity", [_two_columns(g, g.node("Sigmoid", [z]), dtype)], outputs[1])
        else:
            index = g.node("ArgMax", [z], axis=1, keepdims=0)
            g.node("Softmax", [z], outputs[1], axis=-1)
        _labels(g, model.classes_, index, outputs[0])
    else:  # mlp_classifier
        p = _layers(g, net, X)
        target = model._target
        if target == "multilabel":
            g.node("Identity", [_index_where(g, p, 0.5, "Greater", dtype)], outputs[0])
            g.node("Identity", [p], outputs[1])
        elif target == "binary":
            _labels(
                g, model.classes_, _flat(g, _index_where(g, p, 0.5, "Greater", dtype)), outputs[0]
            )
            g.node("Identity", [_two_columns(g, p, dtype)], outputs[1])
        else:
            _labels(g, model.classes_, g.node("ArgMax", [p], axis=1, keepdims=0), outputs[0])
            g.node("Identity", [p], outputs[1])


def _dtype_of(model: Any, kind: str) -> np.dtype[Any]:
    if kind == "perceptron":
        return (
            np.asarray(model.coef_).dtype
            if np.asarray(model.coef_).dtype.kind == "f"
            else np.dtype(np.float64)
        )
    return _network(model, kind).parameters.dtype


def _n_features(model: Any, kind: str) -> int:
    if kind == "network":
        return model.n_inputs
    return int(model.n_features_in_)


def _output_specs(model: Any, kind: str, dtype: np.dtype[Any]) -> list[tuple[str, int, list[Any]]]:
    """[(name, element type, shape)] of the graph outputs."""
    onnx = _onnx()
    real = _proto(dtype)
    if kind == "network":
        return [("output", real, [None, model.n_outputs])]
    if kind == "mlp_regressor":
        return [("variable", real, [None, model.network_.n_outputs])]
    classes = _label_table(model.classes_)
    label = onnx.TensorProto.STRING if classes.dtype.kind == "U" else _proto(classes.dtype)
    if kind == "perceptron":
        return [("label", label, [None]), ("scores", real, [None, 2])]
    if kind == "mlp_classifier" and model._target == "multilabel":
        k = model.network_.n_outputs
        return [("label", onnx.TensorProto.INT64, [None, k]), ("probabilities", real, [None, k])]
    return [("label", label, [None]), ("probabilities", real, [None, classes.size])]


def to_onnx(
    model: Any,
    path: StrPath | None = None,
    *,
    opset: int | None = None,
    X: ArrayLike | None = None,
) -> ModelProto:
    """The model as an ONNX graph (an ``onnx.ModelProto``), written to ``path`` if given.

    Parameters
    ----------
    model : Network, fitted MLPClassifier, MLPRegressor, LogisticRegression or Perceptron,
        or a scikit-learn Pipeline (converted by skl2onnx, with nnfast's converters
        registered)
    path : str or path-like, optional
        Where to write the ``.onnx`` file.
    opset : int, optional
        ONNX operator set (default ``OPSET``, 17).
    X : array-like, optional
        For a Pipeline only: sample input, from which skl2onnx takes the input type (default:
        float64 with ``n_features_in_`` columns).

    Returns
    -------
    onnx.ModelProto
        One input ``X`` (N, n_features) in the parameters' dtype; outputs as in the module
        docstring (``output``; ``variable``; ``label`` and ``probabilities``; ``label`` and
        ``scores``).

    Notes
    -----
    A float64 network with ``gelu`` layers uses ONNX's ``Erf`` on doubles, which the ONNX
    standard defines and onnx's reference evaluator runs, but onnxruntime has no kernel for.

    Examples
    --------
    >>> import numpy as np, nnfast as nf
    >>> net = nf.Network([2, 3, 1], activation="tanh", seed=0)
    >>> model = nf.to_onnx(net)                                  # doctest: +SKIP
    >>> import onnxruntime as ort                                # doctest: +SKIP
    >>> session = ort.InferenceSession(model.SerializeToString())  # doctest: +SKIP
    >>> session.run(None, {"X": np.ones((1, 2))})[0] == net.feedforward(np.ones((1, 2)))
    ... # doctest: +SKIP
    array([[ True]])
    """
    onnx = _onnx()
    kind = _kind(model)
    if kind is None:
        if hasattr(model, "steps") or hasattr(model, "transformers"):  # scikit-learn
            return _sklearn_to_onnx(model, path, opset, X)
        raise TypeError(
            f"to_onnx takes a Network, a fitted nnfast estimator or a "
            f"scikit-learn Pipeline, got {type(model).__name__}."
        )
    opset = OPSET if opset is None else int(opset)
    _check_fitted(model, kind)  # a clear error for an unfitted estimator
    dtype = _dtype_of(model, kind)
    g = _Standalone()
    specs = _output_specs(model, kind, dtype)
    _build(g, model, kind, "X", [name for name, _, _ in specs], dtype)
    inputs = [
        onnx.helper.make_tensor_value_info("X", _proto(dtype), [None, _n_features(model, kind)])
    ]
    outputs = [onnx.helper.make_tensor_value_info(*spec) for spec in specs]
    graph = onnx.helper.make_graph(g.nodes, f"nnfast_{kind}", inputs, outputs, g.initializers)
    from . import __version__

    result = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", opset)],
        producer_name="nnfast",
        producer_version=__version__,
    )
    result.doc_string = repr(model)
    onnx.checker.check_model(result)
    if path is not None:
        with open(path, "wb") as f:
            f.write(result.SerializeToString())
    return result


# --- skl2onnx ---------------------------------------------------------------------------------


def _skl2onnx() -> ModuleType:
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError(
            "converting a scikit-learn pipeline needs skl2onnx: install it with `pip install "
            'skl2onnx` or `pip install "nnfast[onnx]"`.'
        ) from exc
    return skl2onnx


def _convert(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter: the same graph as ``to_onnx``, inside a pipeline's."""
    model = operator.raw_operator
    kind = _kind(model)
    if kind is None:  # skl2onnx calls it for the classes register_skl2onnx names only
        raise TypeError(f"nnfast has no ONNX converter for {type(model).__name__}.")
    dtype = _dtype_of(model, kind)
    g = _InSkl2onnx(scope, container)
    X = operator.inputs[0].full_name
    if operator.inputs[0].type.to_onnx_type().tensor_type.elem_type != _proto(dtype):
        X = g.node("Cast", [X], to=_proto(dtype))
    outputs = [o.full_name for o in operator.outputs]
    wanted = [o.type.to_onnx_type().tensor_type.elem_type for o in operator.outputs]
    computed = [g.name(f"nnfast_{i}") for i in range(len(outputs))]
    _build(g, model, kind, X, computed, dtype)
    for name, target, want in zip(computed, outputs, wanted):
        real = want in (_proto(np.float32), _proto(np.float64))
        if real and want != _proto(dtype):  # e.g. float32 probabilities of a float64 model
            g.node("Cast", [name], target, to=want)
        else:
            g.node("Identity", [name], target)


def _classifier_shapes(operator: Any) -> None:
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    model = operator.raw_operator
    if getattr(model, "_target", None) == "multilabel":
        raise NotImplementedError(
            "a multilabel MLPClassifier inside a skl2onnx pipeline is not "
            "supported; nnfast.to_onnx(model) exports it on its own."
        )
    calculate_linear_classifier_output_shapes(operator)
    options = operator.scope_inst.get_options(model, {"zipmap": True})
    if options.get("zipmap") is not False:  # ONNX's ZipMap takes float32 only
        from skl2onnx.common.data_types import FloatTensorType

        operator.outputs[1].type = FloatTensorType(operator.outputs[1].type.shape)


def _regressor_shapes(operator: Any) -> None:
    from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes

    calculate_linear_regressor_output_shapes(operator)
    n_outputs = operator.raw_operator.network_.n_outputs
    operator.outputs[0].type.shape = [operator.inputs[0].get_first_dimension(), n_outputs]


_registered = False


def register_skl2onnx() -> None:
    """Register nnfast's estimators with skl2onnx, so that pipelines holding them convert
    (``skl2onnx.to_onnx``, ``convert_sklearn``). Safe to call more than once."""
    global _registered
    if _registered:
        return
    skl2onnx = _skl2onnx()
    from skl2onnx._supported_operators import sklearn_classifier_list

    from .estimators import MLPClassifier, MLPRegressor
    from .linear import LogisticRegression
    from .perceptron import Perceptron

    options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
    for cls in (MLPClassifier, LogisticRegression, Perceptron):
        # skl2onnx gives a model a label and a probabilities output when it is in this list
        # or inherits scikit-learn's ClassifierMixin (nnfast's estimators need not)
        if cls not in sklearn_classifier_list:
            sklearn_classifier_list.append(cls)
        skl2onnx.update_registered_converter(
            cls, f"Nnfast{cls.__name__}", _classifier_shapes, _convert, options=options
        )
    skl2onnx.update_registered_converter(
        MLPRegressor, "NnfastMLPRegressor", _regressor_shapes, _convert
    )
    _registered = True


def _sklearn_to_onnx(
    model: Any, path: StrPath | None, opset: int | None, X: ArrayLike | None
) -> ModelProto:
    skl2onnx = _skl2onnx()
    register_skl2onnx()
    if X is None:
        n = getattr(model, "n_features_in_", None)
        if n is None:
            raise ValueError(
                "to_onnx needs X (a sample of the input) for a pipeline without n_features_in_."
            )
        X = np.zeros((1, int(n)))
    result = skl2onnx.to_onnx(model, np.asarray(X), target_opset=opset or OPSET)
    if path is not None:
        with open(path, "wb") as f:
            f.write(result.SerializeToString())
    return result
