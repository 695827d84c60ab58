"""The multi-layer perceptron: layers of weights in one flat buffer, run by a backend."""

from __future__ import annotations

import copy
import threading
import warnings
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from . import _backend, activations, io, losses
from ._layers import LayerViews, as_layer_list
from ._spec import MSE, Csr, Spec, real_dtype
from ._validation import (
    all_finite,
    as_float_array,
    as_matrix,
    as_targets,
    as_weights,
    check_memory,
    check_number,
    check_rng,
    matrix_from_checked,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import TextIO

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from typing_extensions import Self

    from ._spec import OptimizerState
    from ._typing import ActivationLike, Init, LossLike, RealArray, Seed, StrPath
    from .activations import Activation
    from .callbacks import History
    from .losses import Loss

INITIALISERS = ("auto", "xavier", "he", "normal", "zeros")
#: Multiply-adds per compiled forward call on large inputs: Ctrl-C is seen between calls.
FORWARD_WORK = 2**26


class Network:
    """A fully connected feed-forward network of any depth and width.

    Layer ``l`` computes ``a_{l+1} = f_l(a_l @ W_l + b_l)`` with ``W_l`` of shape
    ``(n_in, n_out)``. Every weight and bias lives in one flat buffer of ``dtype``,
    ``parameters``; ``weights`` and ``biases`` are lists of writable views into it.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``[2, 2, 1]`` is 2 inputs, 2 hidden units, 1 output.
    activation : str or sequence of str
        Hidden activation: one name for every hidden layer, or one per hidden layer
        (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``, ``"elu"``, ``"gelu"``,
        ``"softplus"``, ``"silu"``, ``"identity"``, ``"step"``; see ``nnfast.activations``),
        or an ``Activation`` with its parameters (``activations.get("leaky_relu",
        negative_slope=0.2)``) or its ``config()`` dict.
    output_activation : str or Activation, optional
        Output activation. Default: ``"sigmoid"`` for binary cross-entropy, ``"softmax"`` for
        cross-entropy, ``"exp"`` for Poisson, ``"identity"`` for MSE, MAE and Huber.
    loss : str, Loss or None
        ``"mse"``, ``"mae"``, ``"huber"``, ``"poisson"`` (exp output: a rate),
        ``"binary_cross_entropy"`` (sigmoid output) or ``"cross_entropy"``
        (softmax output); see ``nnfast.losses`` for the exact means minimised. ``None``: a
        network that only computes ``feedforward`` from weights set by hand (a step output,
        as ``nnfast.logic.xor_network``), with no loss to evaluate or train.
    init : str
        Weight initialisation: ``"auto"`` (He for the ReLU family's layers, Xavier/Glorot
        otherwise: each activation's ``init``),
        ``"xavier"`` (uniform, limit sqrt(6 / (n_in + n_out))), ``"he"`` (normal, std
        sqrt(2 / n_in)), ``"normal"`` (standard normal weights and biases, as in the
        classic tutorials) or ``"zeros"``. Biases start at 0 except with ``"normal"``.
    seed : int, numpy.random.Generator or None
        Seeds the initialisation, and training when ``train`` gets no seed of its own. A
        Generator is used as it is (not copied): networks built from one Generator draw
        different weights from its stream. The compiled training loop holds the Generator's
        ``bit_generator.lock`` while it draws from it, as NumPy's own methods do, so two
        threads training networks that share a Generator take turns instead of corrupting
        its state.
    dtype : "float64" or "float32"
        The precision of everything the network computes and keeps: parameters, gradients,
        optimizer state, the training workspace, outputs. Input data is converted to it
        once per call (float32 data in a float32 network is used as it is). float32 halves
        the memory and runs the kernels compiled for float (BLAS sgemm); the initial weights
        are the float64 network's of the same seed, rounded.
    batch_norm : bool
        Batch normalisation of every hidden layer (``torch.nn.BatchNorm1d``'s): a hidden
        layer is dense -> normalisation -> activation -> dropout. In training its
        pre-activations are standardised by the batch's mean and variance, then scaled by
        a learnt ``gamma`` and shifted by a learnt ``beta``; the running mean and (unbiased)
        variance follow with momentum 0.1 (epsilon 1e-5), and ``feedforward``, ``evaluate``
        and validation use them. ``loss`` and ``gradients`` use the batch's statistics (the
        loss training minimises). Training needs batches of at least 2 rows. The scales,
        shifts and statistics follow the biases in ``parameters`` (see ``norms``).


    Models that cannot learn are refused: a softmax over one output (always 1), and a step
    output with a loss (its gradient is 0 everywhere).

    ``parameters``, ``weights[i]`` and ``biases[i]`` can be assigned: the values are checked
    (shape, finite numbers) and copied into the flat buffer, so ``net.weights[0] = W`` sets
    the first layer's weights. Changing them in place (``net.weights[0][0, 1] = 0.5``) works
    too; weights made NaN or infinite that way are refused by ``train`` and reported by
    ``feedforward``.

    Examples
    --------
    >>> import nnfast as nf
    >>> net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    >>> net
    Network([2, 2, 1], activation='sigmoid', output_activation='sigmoid', loss='mse')
    """

    #: The optimizer's state after ``train`` (``resume=True`` continues it).
    _optimizer_state: OptimizerState

    def __init__(
        self,
        layer_sizes: Sequence[int] | NDArray[np.integer[Any]],
        activation: ActivationLike | Sequence[ActivationLike] = "sigmoid",
        output_activation: ActivationLike | None = None,
        loss: LossLike | None = "mse",
        init: Init = "auto",
        seed: Seed = None,
        dtype: DTypeLike = "float64",
        batch_norm: bool = False,
    ) -> None:
        sizes = _check_sizes(layer_sizes)
        self._dtype = real_dtype(dtype)
        n_hidden = len(sizes) - 2
        if isinstance(activation, (str, dict, activations.Activation)):
            names = [activation] * n_hidden
        else:
            try:
                names = list(activation)
            except TypeError:
                raise TypeError(
                    f"activation must be a name (str) or a sequence of names, one "
                    f"per hidden layer, got {activation!r}."
                ) from None
        if len(names) != n_hidden:
            raise ValueError(
                f"activation must be one name or {n_hidden} names (one per hidden layer), "
                f"got {len(names)}."
            )
        hidden = [activations.get(a) for a in names]
        if any(a.name == "softmax" for a in hidden):
            raise ValueError("softmax is only available as the output_activation.")
        loss_function = None if loss is None else losses.get(loss)
        default = loss_function.output if loss_function is not None else None
        output = activations.get(output_activation or default or "identity")
        if loss_function is not None and loss_function.output not in (None, output.name):
            raise ValueError(
                f"loss {loss_function.name!r} needs output_activation="
                f"{loss_function.output!r} (they are evaluated together, from the logits, "
                f"for numerical stability), got {output.name!r}."
            )
        _check_learnable(sizes, output.name, loss_function)
        _check_init(init)
        self._activations = tuple(a.name for a in hidden)
        self._output_activation = output.name
        self._layer_activations = tuple(hidden + [output])  # with their parameters
        self._loss_function = loss_function
        self.init = init
        if not isinstance(batch_norm, (bool, np.bool_)):
            raise TypeError(f"batch_norm must be True or False, got {batch_norm!r}.")
        spec = Spec(
            sizes,
            tuple(a.code for a in hidden + [output]),
            MSE if loss_function is None else loss_function.code,
            tuple(a.alpha for a in hidden + [output]),
            bool(batch_norm),
        )
        check_size(sizes, "layer_sizes", itemsize=self._dtype.itemsize)
        self._spec, self._n_params = spec, spec.n_params
        self._workspace_terms = workspace_terms(spec)
        self._set_buffer(np.zeros(spec.n_params, self._dtype))
        self.history: History | None = None
        self._rng = check_rng(seed)
        self._train_lock = threading.Lock()
        self.initialize()

    # --- structure ---------------------------------------------------------------------------

    @property
    def spec(self) -> Spec:
        """The layer sizes, activation codes and loss code the kernels read (fixed)."""
        return self._spec

    @spec.setter
    def spec(self, value: object) -> NoReturn:
        raise AttributeError(
            "spec is fixed by the layer sizes, activations and loss the "
            "network was built with: build a new Network to change them."
        )

    @property
    def dtype(self) -> np.dtype[Any]:
        """The network's precision, ``numpy.dtype('float64')`` or ``('float32')`` (fixed)."""
        return self._dtype

    @property
    def activations(self) -> tuple[str, ...]:
        """The hidden layers' activation names (fixed at construction)."""
        return self._activations

    @property
    def output_activation(self) -> str:
        """The output layer's activation name (fixed at construction)."""
        return self._output_activation

    @property
    def layer_activations(self) -> tuple[Activation, ...]:
        """Every layer's ``nnfast.activations`` object, the output's last (with the parameters
        the network was built with, e.g. leaky_relu's ``negative_slope``)."""
        return self._layer_activations

    @property
    def batch_norm(self) -> bool:
        """Whether every hidden layer is batch-normalised (fixed at construction)."""
        return self._spec.batch_norm

    @property
    def norms(self) -> list[dict[str, RealArray]]:
        """With ``batch_norm``, one dict per hidden layer of views into ``parameters``:
        ``gamma`` (scale) and ``beta`` (shift), trained, then ``running_mean`` and
        ``running_var``, the statistics prediction uses (moved by training, not trained);
        an empty list without."""
        return [
            dict(gamma=g, beta=b, running_mean=m, running_var=v)
            for g, b, m, v in zip(*self._spec.unpack_norm(self._parameters))
        ]

    @property
    def loss_function(self) -> Loss | None:
        """The ``nnfast.losses`` object minimised, or None (feedforward only)."""
        return self._loss_function

    @property
    def parameters(self) -> RealArray:
        """Every weight, then every bias, in one flat buffer of ``dtype`` (a writable view).

        Assigning ``net.parameters = values`` checks ``values`` (``n_params`` finite numbers)
        and copies them into the buffer, so ``weights`` and ``biases`` stay views of it.
        """
        return self._parameters

    @parameters.setter
    def parameters(self, values: ArrayLike) -> None:
        n = self._n_params
        arr = as_float_array(values, "parameters", ndim=(1,), dtype=self._dtype)
        if arr.shape != (n,):
            raise ValueError(
                f"parameters must be a vector of {n} values (layers {self.layer_sizes}: "
                f"{self._spec.n_weights} weights, then {n - self._spec.n_weights} biases), "
                f"got shape {arr.shape}."
            )
        if not self._buffer_intact():  # changed in place (shape, dtype): start a new one
            self._set_buffer(np.zeros(n, self._dtype))
        self._parameters[...] = arr

    @property
    def weights(self) -> LayerViews:
        """``weights[l]``: layer l's weight matrix ``W_l`` (n_in, n_out), a view of
        ``parameters``; ``net.weights[l] = W`` copies W into it."""
        return self._weights

    @weights.setter
    def weights(self, values: Sequence[ArrayLike]) -> None:
        self._weights[:] = as_layer_list(values, "weights", len(self._weights))

    @property
    def biases(self) -> LayerViews:
        """``biases[l]``: layer l's bias vector ``b_l`` (n_out,), a view of ``parameters``;
        ``net.biases[l] = b`` copies b into it."""
        return self._biases

    @biases.setter
    def biases(self, values: Sequence[ArrayLike]) -> None:
        self._biases[:] = as_layer_list(values, "biases", len(self._biases))

    def _set_buffer(self, buffer: RealArray) -> None:
        # A view, never the owner: ndarray.resize (which would free the memory the layer
        # views and the kernels point into) refuses an array that does not own its data.
        self._parameters = buffer.view()
        weights, biases = self._spec.unpack(self._parameters)
        self._weights = LayerViews(weights, "weights", "(n_in, n_out)", self._dtype)
        self._biases = LayerViews(biases, "biases", "(n_out,)", self._dtype)

    def _buffer_intact(self) -> bool:
        p = self._parameters
        if type(p) is not np.ndarray or p.dtype is not self._dtype and p.dtype != self._dtype:
            return False
        flags = p.flags
        return p.shape == (self._n_params,) and flags.c_contiguous and flags.writeable

    def _kernel_parameters(self) -> RealArray:
        """``parameters`` as the kernels need it, checked in O(1) before every call: a buffer
        whose shape, dtype or flags were changed in place is refused, never handed to C."""
        if not self._buffer_intact():
            p = self._parameters
            raise ValueError(
                f"net.parameters is no longer a writable C-contiguous {self._dtype.name} "
                f"vector of {self._n_params} values (it is {type(p).__name__} of shape "
                f"{getattr(p, 'shape', None)}, dtype {getattr(p, 'dtype', None)}): it was "
                f"changed in place. Assign the values instead: net.parameters = values."
            )
        return self._parameters

    def _check_finite_parameters(self, action: str) -> None:
        params = self._kernel_parameters()
        if not all_finite(params):
            raise ValueError(
                f"The network's parameters contain NaN or infinity, so it cannot {action}: "
                f"set finite values (net.parameters = ...) or draw new ones with "
                f"net.initialize()."
            )

    def _require_loss(self, action: str) -> Loss:
        """The loss function; refused, saying why, on a network built without one."""
        if self._loss_function is None:
            raise ValueError(
                f"This network was built with loss=None (feedforward only, from weights set "
                f"by hand), so it cannot {action}: build it with a loss, e.g. "
                f"Network({self.layer_sizes}, output_activation='sigmoid', loss='mse')."
            )
        return self._loss_function

    @property
    def layer_sizes(self) -> list[int]:
        return list(self.spec.sizes)

    @property
    def n_inputs(self) -> int:
        return self.spec.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.spec.sizes[-1]

    def __repr__(self) -> str:
        act = ""
        if self.activations:
            names = [a.label for a in self._layer_activations[:-1]]
            act = f"activation={names[0] if len(set(names)) == 1 else names!r}, "
        loss = None if self._loss_function is None else self._loss_function.name
        dtype = "" if self._dtype == np.float64 else f", dtype={self._dtype.name!r}"
        norm = ", batch_norm=True" if self.batch_norm else ""
        return (
            f"Network({self.layer_sizes}, {act}output_activation="
            f"{self._layer_activations[-1].label!r}, loss={loss!r}{dtype}{norm})"
        )

    def initialize(self, init: Init | None = None, seed: Seed = None) -> Self:
        """Draw fresh weights (see ``init`` in the class docstring); returns self."""
        init = init or self.init
        _check_init(init)
        rng = self._rng if seed is None else check_rng(seed)
        if not self._buffer_intact():
            self._set_buffer(np.zeros(self._n_params, self._dtype))
        self.parameters[:] = 0.0
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            n_in, n_out = W.shape
            name = self.activations[l] if l < len(self.activations) else self.output_activation
            kind = activations.get(name).init if init == "auto" else init
            if kind == "xavier":
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[...] = rng.uniform(-limit, limit, W.shape)
            elif kind == "he":
                W[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), W.shape)
            elif kind == "normal":
                W[...] = rng.normal(size=W.shape)
                b[...] = rng.normal(size=b.shape)
        for layer in self.norms:  # BatchNorm1d's start: the identity
            layer["gamma"][...] = 1.0
            layer["running_var"][...] = 1.0
        return self

    def copy(self) -> Self:
        """An independent copy (parameters, history and random state)."""
        return copy.deepcopy(self)

    def _restart_copy(self, rng: np.random.Generator) -> Network:
        """A network of the same structure, initialised from (and keeping) ``rng``."""
        return Network(
            self.layer_sizes,
            activation=list(self._layer_activations[:-1]),
            output_activation=self._layer_activations[-1],
            loss=self._loss_function,
            init=self.init,
            seed=rng,
            dtype=self._dtype,
            batch_norm=self.batch_norm,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_weights"], state["_biases"]  # views: rebuilt from parameters
        del state["_train_lock"]
        state["_parameters"] = np.array(self._parameters, dtype=self._dtype)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        buffer = state.pop("_parameters")
        state.setdefault("_dtype", np.dtype(np.float64))  # pickled before there was a choice
        self.__dict__.update(state)
        self._set_buffer(np.array(buffer, dtype=self._dtype, order="C"))  # own, writable
        self._train_lock = threading.Lock()

    # --- files -------------------------------------------------------------------------------

    def save(self, path: StrPath) -> str:
        """Write the network to ``path`` (.npz with a JSON header; see ``nnfast.load``)."""
        return io.save(self, path)

    def _to_file(self) -> tuple[dict[str, Any], dict[str, RealArray]]:
        header = {
            "layer_sizes": self.layer_sizes,
            "activation": [a.config() for a in self._layer_activations[:-1]],
            "output_activation": self._layer_activations[-1].config(),
            "loss": None if self._loss_function is None else self._loss_function.name,
            "init": self.init,
            "dtype": self._dtype.name,
        }
        if self.batch_norm:  # (absent: False, as every file before it)
            header["batch_norm"] = True
        return header, {"parameters": self.parameters}

    @classmethod
    def _file_shapes(cls, header: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """The arrays' shapes the header implies (checked before any array is read)."""
        return {"parameters": (_n_params(header),)}

    @classmethod
    def _from_file(cls, header: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]]) -> Self:
        n_params = _n_params(header)
        if arrays["parameters"].shape != (n_params,):  # before allocating what it claims
            raise ValueError(
                f"layer_sizes {list(header['layer_sizes'])} need {n_params} parameters, the "
                f"file has an array of shape {arrays['parameters'].shape}"
            )
        # files written before the choice of precision hold float64 networks
        net = cls(
            header["layer_sizes"],
            activation=header["activation"],
            output_activation=header["output_activation"],
            loss=header["loss"],
            init=header["init"],
            dtype=header.get("dtype", "float64"),
            batch_norm=header.get("batch_norm", False),
        )
        params = arrays["parameters"]
        if (
            params.shape != net.parameters.shape
            or not np.isfinite(params).all()
            or not np.isfinite(params.astype(net.dtype)).all()
        ):
            raise ValueError(
                f"expected {net.parameters.size} finite {net.dtype.name} "
                f"parameters, got shape {params.shape}"
            )
        net.parameters[:] = params
        return net

    # --- computing ---------------------------------------------------------------------------

    def feedforward(self, X: ArrayLike) -> RealArray:
        """The network's output for one sample ``(n_inputs,)`` or a batch ``(n, n_inputs)``,
        in the network's ``dtype``.

        Large batches are computed in parts (Ctrl-C is seen between them). Outputs that are
        not finite raise ValueError when the parameters are not finite, and warn (a
        RuntimeWarning) when finite weights overflowed on these inputs.
        """
        X = as_float_array(X, "X", dtype=self._dtype)
        single = X.ndim == 1
        X = matrix_from_checked(X, "X", self.n_inputs)
        out = self._outputs(X)
        return out[0] if single else out

    __call__ = feedforward

    def _outputs(self, X: RealArray | Csr, name: str = "X", report: bool = True) -> RealArray:
        """The outputs for a checked X (C-contiguous, the network's dtype, finite, n_inputs
        wide); ``report``: non-finite outputs raise (non-finite parameters) or warn."""
        kernels = _backend.kernels(dtype=self._dtype)
        params = self._kernel_parameters()
        check_memory(
            self._dtype.itemsize * X.shape[0] * self.n_outputs,
            name,
            lambda: f"the outputs of {X.shape[0]} rows x {self.n_outputs} outputs",
        )
        if (
            X.ndim != 2
            or X.shape[1] != self.n_inputs
            or X.dtype != self._dtype
            or not (isinstance(X, Csr) or X.flags.c_contiguous)
        ):  # every caller checks; this one is O(1)
            raise ValueError(
                f"{name} must be a C-contiguous {self._dtype.name} matrix (or sparse rows) with "
                f"{self.n_inputs} columns, got shape {X.shape}."
            )
        out = np.empty((X.shape[0], self.n_outputs), self._dtype)
        step = _forward_rows(self._spec)
        for start in range(0, X.shape[0], step):
            kernels.forward(self._spec, params, X[start : start + step], out[start : start + step])
        if report and not all_finite(out):
            self._check_finite_parameters("compute outputs")
            warnings.warn(
                f"The network's outputs on {name} overflowed to infinity or NaN: its "
                f"weights or the inputs are too large (scale the inputs, or train "
                f"with a smaller learning rate).",
                RuntimeWarning,
                stacklevel=3,
            )
        return out

    def layer_outputs(self, X: ArrayLike, pre_activations: bool = False) -> list[RealArray]:
        """Every layer's outputs for the rows of X, from the kernels' forward pass.

        Returns a list with one array per layer, ``(n, units)`` (or ``(units,)`` for one
        sample ``(n_inputs,)``): the hidden layers', then the output layer's, which is
        ``feedforward(X)``. With ``pre_activations=True`` each is what the layer's activation
        is applied to, ``z = a_in @ W + b`` (after batch normalisation, by the running
        statistics, with ``batch_norm``). As in ``feedforward``, dropout is not applied.
        """
        X = as_float_array(X, "X", dtype=self._dtype)
        single = X.ndim == 1
        outs = self._layer_outputs(matrix_from_checked(X, "X", self.n_inputs), pre_activations)
        return [o[0] for o in outs] if single else outs

    def _layer_outputs(self, X: RealArray | Csr, pre_activations: bool = False) -> list[RealArray]:
        """``layer_outputs`` of a checked X (a C-contiguous matrix of the network's dtype,
        n_inputs wide, or sparse rows)."""
        params = self._kernel_parameters()
        spec, n = self._spec, X.shape[0]
        check_memory(
            self._dtype.itemsize * n * sum(spec.sizes[1:]),
            "X",
            lambda: f"every layer's outputs for {n} rows ({sum(spec.sizes[1:])} units)",
        )
        outs = [np.empty((n, units), self._dtype) for units in spec.sizes[1:]]
        kernels = _backend.kernels(dtype=self._dtype)
        step = _forward_rows(spec)
        for start in range(0, n, step):
            part = slice(start, start + step)
            kernels.layer_outputs(
                spec, params, X[part], [o[part] for o in outs], bool(pre_activations)
            )
        return outs

    def summary(self, file: TextIO | None = None) -> None:
        """Print a table of the layers (Keras's ``model.summary()``): each layer's output
        shape, activation and parameter count, batch normalisation's rows with
        ``batch_norm``, and the totals; to ``file`` (default: ``sys.stdout``)."""
        import sys

        spec = self._spec
        rows = [("input", f"(None, {spec.sizes[0]})", "", "")]
        for l, (units, act) in enumerate(zip(spec.sizes[1:], self._layer_activations)):
            rows.append(
                (
                    f"dense_{l + 1}",
                    f"(None, {units})",
                    act.label,
                    f"{spec.sizes[l] * units + units:,}",
                )
            )
            if self.batch_norm and l < spec.n_layers - 1:
                rows.append((f"batch_norm_{l + 1}", f"(None, {units})", "", f"{4 * units:,}"))
        head = ("Layer", "Output shape", "Activation", "Parameters")
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]

        def line(row: tuple[str, str, str, str]) -> str:
            return "  ".join(
                [
                    row[0].ljust(widths[0]),
                    row[1].ljust(widths[1]),
                    row[2].ljust(widths[2]),
                    row[3].rjust(widths[3]),
                ]
            ).rstrip()

        rule = "-" * len(line(head))
        loss = "none" if self._loss_function is None else self._loss_function.name
        statistics = spec.n_params - spec.n_trainable
        text = [
            line(head),
            rule,
            *map(line, rows),
            rule,
            f"Total parameters: {spec.n_params:,}"
            + (
                f" (trainable {spec.n_trainable:,}, running statistics {statistics:,})"
                if statistics
                else ""
            ),
            f"Loss: {loss}",
        ]
        print("\n".join(text), file=file or sys.stdout)

    def _xy(self, X: ArrayLike, Y: ArrayLike) -> tuple[RealArray, RealArray]:
        X = as_matrix(X, "X", self.n_inputs, dtype=self._dtype)
        Y = as_targets(Y, "Y", self.n_outputs, X.shape[0], self.spec.loss, dtype=self._dtype)
        return X, Y

    def _full_batch(self, X: RealArray | Csr, what: str) -> RealArray:
        """Refuse a full-batch pass whose workspace (every layer's outputs and deltas for
        all rows of X) could not be allocated, or from parameters that are not finite."""
        self._require_loss(what)
        self._check_finite_parameters(what)
        params = self._kernel_parameters()
        check_memory(
            full_batch_bytes(self._spec, X.shape[0], self._dtype.itemsize),
            "X",
            lambda: f"{what} over {X.shape[0]} rows at once (every layer's outputs and deltas)",
        )
        return params

    def loss(self, X: ArrayLike, Y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean loss over (X, Y), in the convention of ``nnfast.losses``; with
        ``sample_weight``, the weighted mean ``sum_i w_i L_i / sum_i w_i``."""
        self._require_loss("compute a loss")
        X, Y = self._xy(X, Y)
        w = as_weights(sample_weight, X.shape[0], dtype=self._dtype)
        params = self._full_batch(X, "compute a loss")
        return float(
            _backend.kernels(dtype=self._dtype).loss_and_gradient(
                self.spec, params, X, Y, 0.0, 0.0, None, w
            )
        )

    def gradients(
        self, X: ArrayLike, Y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> tuple[list[RealArray], list[RealArray]]:
        """Backpropagation: (list of dL/dW_l, list of dL/db_l) of the (weighted) mean loss."""
        self._require_loss("compute gradients")
        X, Y = self._xy(X, Y)
        w = as_weights(sample_weight, X.shape[0], dtype=self._dtype)
        params = self._full_batch(X, "compute gradients")
        grad = np.empty(self.spec.n_params, self._dtype)
        _backend.kernels(dtype=self._dtype).loss_and_gradient(
            self.spec, params, X, Y, 0.0, 0.0, grad, w
        )
        return self.spec.unpack(grad)

    def train(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        epochs: int = 100,
        learning_rate: float = 0.1,
        batch_size: int | None = 32,
        **options: Any,
    ) -> History:
        """Train by stochastic gradient descent; returns the ``History``.

        ``batch_size=1`` is per-sample SGD, ``None`` full batch. See
        ``nnfast.training.train`` for every option (shuffle, seed, optimizer, lr_schedule,
        l1, l2, dropout, validation, early stopping, restarts, callbacks, verbose).
        """
        from .training import train

        return train(
            self, X, Y, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, **options
        )


def _n_params(header: Mapping[str, Any]) -> int:
    """The parameter count a model file's header implies (with batch normalisation, each
    hidden unit's scale, shift, running mean and variance too)."""
    sizes = _check_sizes(header["layer_sizes"])
    norm = header.get("batch_norm", False)
    if not isinstance(norm, bool):
        raise ValueError(f"batch_norm must be true or false, got {norm!r}")
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + 4 * norm * sum(sizes[1:-1])


def _check_sizes(layer_sizes: Iterable[object]) -> tuple[int, ...]:
    if isinstance(layer_sizes, (str, bytes)):
        raise TypeError(f"layer_sizes must be a sequence of ints, got {layer_sizes!r}.")
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints, got {layer_sizes!r}.") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}.")
    return tuple(
        check_number(s, f"layer_sizes[{i}]", low=1, integer=True) for i, s in enumerate(sizes)
    )


def check_size(sizes: Sequence[int], name: str, copies: int = 1, itemsize: int = 8) -> int:
    """Refuse layer sizes whose parameters (``copies`` of them, of ``itemsize`` bytes each,
    and the largest layer's float64 initialisation draws) could not fit in memory, naming
    ``name``."""
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    largest = max(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    check_memory(
        itemsize * copies * n_params + 8 * largest,
        name,
        lambda: (
            f"a network of layer sizes {list(sizes)} ({n_params} parameters, "
            f"and the initialisation's draws)"
        ),
    )
    return n_params


def _check_init(init: object) -> None:
    if not isinstance(init, str) or init not in INITIALISERS:
        raise ValueError(f"Unknown init {init!r}. Supported initialisations are {INITIALISERS}.")


def _check_learnable(sizes: Sequence[int], output: str, loss_function: Loss | None) -> None:
    """Refuse the models that cannot learn, saying how to build one that can."""
    if output == "softmax" and sizes[-1] == 1:
        raise ValueError(
            "A softmax over a single output is always 1: the network can neither learn nor "
            "predict anything. For two classes use one sigmoid output (loss="
            "'binary_cross_entropy'), or two softmax outputs (layer_sizes ending in 2, "
            "loss='cross_entropy')."
        )
    if output == "step" and loss_function is not None:
        raise ValueError(
            f"output_activation='step' has a zero gradient everywhere, so training with "
            f"loss={loss_function.name!r} could never change the weights. To train, use "
            f"output_activation='sigmoid' (and predict 1 where the output is >= 0.5); for a "
            f"network whose weights you set by hand (feedforward only, as "
            f"nnfast.logic.xor_network), pass loss=None."
        )


def _forward_rows(spec: Spec) -> int:
    """Rows per compiled forward call: about FORWARD_WORK multiply-adds, a multiple of the
    kernel's own chunk of rows (so the results equal one call's)."""
    width = max(spec.sizes[1:])
    chunk = max(256, (1 << 20) // width)
    return chunk * max(1, FORWARD_WORK // max(1, chunk * spec.n_weights))


def full_batch_bytes(spec: Spec, n_rows: int, itemsize: int = 8) -> int:
    """Bytes of the workspace of a full-batch pass over ``n_rows`` rows (every layer's
    outputs and f', two delta blocks, the targets): what ``loss`` and ``gradients`` need."""
    return workspace_bytes(spec, n_rows, n_rows, itemsize)


def workspace_bytes(spec: Spec, n_rows: int, batch_size: int, itemsize: int = 8) -> int:
    """Bytes a training workspace for batches of ``batch_size`` rows needs (as allocated by
    the kernels, values of ``itemsize`` bytes), plus the per-run copies of the parameters
    and the sample order (8 bytes an index)."""
    per_row, fixed = workspace_terms(spec)
    return itemsize * (batch_size * per_row + fixed) + 8 * 2 * n_rows


def workspace_terms(spec: Spec) -> tuple[int, int]:
    """(values per batch row, fixed values) of a training workspace for ``spec``."""
    sizes, norm = spec.sizes, spec.batch_norm
    return (
        sum(sizes) + (1 + norm) * sum(sizes[1:-1]) + 2 * max(sizes[1:]) + sizes[-1] + 1,
        5 * spec.n_params + sum(sizes) + 5 * norm * sum(sizes[1:-1]),
    )
