"""The multi-layer perceptron: layers of weights in one flat buffer, run by a backend."""
from __future__ import annotations

import copy
import threading

import numpy as np

from . import _backend, activations, io, losses
from ._spec import Spec
from ._validation import (
    as_float_array, as_matrix, as_targets, as_weights, check_number, check_rng,
    matrix_from_checked,
)

INITIALISERS = ("auto", "xavier", "he", "normal", "zeros")


@io.register
class Network:
    """A fully connected feed-forward network of any depth and width.

    Layer ``l`` computes ``a_{l+1} = f_l(a_l @ W_l + b_l)`` with ``W_l`` of shape
    ``(n_in, n_out)``. Every weight and bias lives in one flat float64 buffer,
    ``parameters``; ``weights`` and ``biases`` are lists of writable views into it.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``[2, 2, 1]`` is 2 inputs, 2 hidden units, 1 output.
    activation : str or sequence of str
        Hidden activation: one name for every hidden layer, or one per hidden layer
        (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"identity"``, ``"step"``).
    output_activation : str, optional
        Output activation. Default: ``"sigmoid"`` for binary cross-entropy, ``"softmax"`` for
        cross-entropy, ``"identity"`` for MSE.
    loss : str
        ``"mse"``, ``"binary_cross_entropy"`` (sigmoid output) or ``"cross_entropy"``
        (softmax output); see ``nnfast.losses`` for the exact means minimised.
    init : str
        Weight initialisation: ``"auto"`` (He for ReLU layers, Xavier/Glorot otherwise),
        ``"xavier"`` (uniform, limit sqrt(6 / (n_in + n_out))), ``"he"`` (normal, std
        sqrt(2 / n_in)), ``"normal"`` (standard normal weights and biases, as in the
        classic tutorials) or ``"zeros"``. Biases start at 0 except with ``"normal"``.
    seed : int, numpy.random.Generator or None
        Seeds the initialisation, and training when ``train`` gets no seed of its own.

    Examples
    --------
    >>> import nnfast as nf
    >>> net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    >>> net
    Network([2, 2, 1], activation='sigmoid', output_activation='sigmoid', loss='mse')
    """

    def __init__(self, layer_sizes, activation="sigmoid", output_activation=None, loss="mse",
                 init="auto", seed=None):
        sizes = _check_sizes(layer_sizes)
        n_hidden = len(sizes) - 2
        names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
        if len(names) != n_hidden:
            raise ValueError(
                f"activation must be one name or {n_hidden} names (one per hidden layer), "
                f"got {len(names)}."
            )
        hidden = [activations.get(a) for a in names]
        if any(a.name == "softmax" for a in hidden):
            raise ValueError("softmax is only available as the output_activation.")
        self.loss_function = losses.get(loss)
        output = activations.get(output_activation or self.loss_function.output or "identity")
        if self.loss_function.output not in (None, output.name):
            raise ValueError(
                f"loss {self.loss_function.name!r} needs output_activation="
                f"{self.loss_function.output!r} (they are evaluated together, from the logits, "
                f"for numerical stability), got {output.name!r}."
            )
        if init not in INITIALISERS:
            raise ValueError(f"Unknown init {init!r}. Supported initialisations are {INITIALISERS}.")
        self.activations = tuple(a.name for a in hidden)
        self.output_activation = output.name
        self.init = init
        self.spec = Spec(sizes, tuple(a.code for a in hidden + [output]), self.loss_function.code)
        self.parameters = np.zeros(self.spec.n_params)
        self.weights, self.biases = self.spec.unpack(self.parameters)
        self.history = None
        self._rng = check_rng(seed)
        self._train_lock = threading.Lock()
        self.initialize()

    # --- structure ---------------------------------------------------------------------------

    @property
    def layer_sizes(self):
        return list(self.spec.sizes)

    @property
    def n_inputs(self):
        return self.spec.sizes[0]

    @property
    def n_outputs(self):
        return self.spec.sizes[-1]

    def __repr__(self):
        act = ""
        if self.activations:
            names = self.activations
            act = f"activation={names[0] if len(set(names)) == 1 else list(names)!r}, "
        return (f"Network({self.layer_sizes}, {act}output_activation="
                f"{self.output_activation!r}, loss={self.loss_function.name!r})")

    def initialize(self, init=None, seed=None):
        """Draw fresh weights (see ``init`` in the class docstring); returns self."""
        init = init or self.init
        rng = self._rng if seed is None else check_rng(seed)
        self.parameters[:] = 0.0
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            n_in, n_out = W.shape
            name = self.activations[l] if l < len(self.activations) else self.output_activation
            kind = ("he" if name == "relu" else "xavier") if init == "auto" else init
            if kind == "xavier":
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[...] = rng.uniform(-limit, limit, W.shape)
            elif kind == "he":
                W[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), W.shape)
            elif kind == "normal":
                W[...] = rng.normal(size=W.shape)
                b[...] = rng.normal(size=b.shape)
        return self

    def copy(self):
        """An independent copy (parameters, history and random state)."""
        return copy.deepcopy(self)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["weights"], state["biases"]  # views: rebuilt from parameters
        del state["_train_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.weights, self.biases = self.spec.unpack(self.parameters)
        self._train_lock = threading.Lock()

    # --- files -------------------------------------------------------------------------------

    def save(self, path):
        """Write the network to ``path`` (.npz with a JSON header; see ``nnfast.load``)."""
        return io.save(self, path)

    def _to_file(self):
        header = {"layer_sizes": self.layer_sizes, "activation": list(self.activations),
                  "output_activation": self.output_activation,
                  "loss": self.loss_function.name, "init": self.init}
        return header, {"parameters": self.parameters}

    @classmethod
    def _from_file(cls, header, arrays):
        sizes = _check_sizes(header["layer_sizes"])
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        if arrays["parameters"].shape != (n_params,):  # before allocating what it claims
            raise ValueError(f"layer_sizes {list(sizes)} need {n_params} parameters, the file "
                             f"has an array of shape {arrays['parameters'].shape}")
        net = cls(header["layer_sizes"], activation=header["activation"],
                  output_activation=header["output_activation"], loss=header["loss"],
                  init=header["init"])
        params = arrays["parameters"]
        if params.shape != net.parameters.shape or not np.isfinite(params).all():
            raise ValueError(f"expected {net.parameters.size} finite parameters, "
                             f"got shape {params.shape}")
        net.parameters[:] = params
        return net

    # --- computing ---------------------------------------------------------------------------

    def feedforward(self, X):
        """The network's output for one sample ``(n_inputs,)`` or a batch ``(n, n_inputs)``."""
        X = as_float_array(X, "X")
        single = X.ndim == 1
        X = matrix_from_checked(X, "X", self.n_inputs)
        out = np.empty((X.shape[0], self.n_outputs))
        _backend.kernels().forward(self.spec, self.parameters, X, out)
        return out[0] if single else out

    __call__ = feedforward

    def _xy(self, X, Y):
        X = as_matrix(X, "X", self.n_inputs)
        Y = as_targets(Y, "Y", self.n_outputs, X.shape[0], self.spec.loss)
        return X, Y

    def loss(self, X, Y, sample_weight=None):
        """Mean loss over (X, Y), in the convention of ``nnfast.losses``; with
        ``sample_weight``, the weighted mean ``sum_i w_i L_i / sum_i w_i``."""
        X, Y = self._xy(X, Y)
        w = as_weights(sample_weight, X.shape[0])
        return float(_backend.kernels().loss_and_gradient(
            self.spec, self.parameters, X, Y, 0.0, 0.0, None, w))

    def gradients(self, X, Y, sample_weight=None):
        """Backpropagation: (list of dL/dW_l, list of dL/db_l) of the (weighted) mean loss."""
        X, Y = self._xy(X, Y)
        w = as_weights(sample_weight, X.shape[0])
        grad = np.empty(self.spec.n_params)
        _backend.kernels().loss_and_gradient(self.spec, self.parameters, X, Y, 0.0, 0.0, grad, w)
        return self.spec.unpack(grad)

    def train(self, X, Y, epochs=100, learning_rate=0.1, batch_size=32, **options):
        """Train by stochastic gradient descent; returns the ``History``.

        ``batch_size=1`` is per-sample SGD, ``None`` full batch. See
        ``nnfast.training.train`` for every option (shuffle, seed, optimizer, lr_schedule,
        l1, l2, dropout, validation, early stopping, restarts, callbacks, verbose).
        """
        from .training import train

        return train(self, X, Y, epochs=epochs, learning_rate=learning_rate,
                     batch_size=batch_size, **options)


def _check_sizes(layer_sizes):
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of ints, got {layer_sizes!r}.") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}.")
    return tuple(check_number(s, "layer_sizes[%d]" % i, low=1, integer=True)
                 for i, s in enumerate(sizes))
