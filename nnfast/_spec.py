"""What the Python layer hands to a backend kernel: the network's shape and the hyperparameters.

Both backends read these two small records; the name -> code tables users see live in
``activations.py``, ``losses.py``, ``optimizers.py`` and ``schedules.py``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Activation codes (one per layer in Spec.activations).
IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX = range(6)
# Loss codes.
MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY = range(3)
# Optimizer codes.
SGD, ADAM = range(2)
# Learning-rate schedule codes, evaluated per update step t inside the kernels:
#   CONSTANT      lr
#   EXPONENTIAL   lr * decay_rate ** (t / decay_steps)      (floor(t / decay_steps) if staircase)
#   INVERSE_TIME  lr / (1 + decay_rate * t / decay_steps) ** power   (floor(...) if staircase)
CONSTANT, EXPONENTIAL, INVERSE_TIME = range(3)


class Spec(NamedTuple):
    """Layer sizes, one activation code per layer (the last is the output's) and the loss code.

    Parameters are stored in one flat buffer: every weight matrix ``W_l`` (``sizes[l] x
    sizes[l+1]``, C order) first, in layer order, then every bias ``b_l``. Regularisation
    therefore touches exactly ``params[:n_weights]``.
    """

    sizes: tuple
    activations: tuple
    loss: int

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(self.sizes[1:])

    def unpack(self, flat):
        """Per-layer views ``(weights, biases)`` into a flat buffer with this layout."""
        weights, biases = [], []
        w_at, b_at = 0, self.n_weights
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights.append(flat[w_at:w_at + n_in * n_out].reshape(n_in, n_out))
            biases.append(flat[b_at:b_at + n_out])
            w_at += n_in * n_out
            b_at += n_out
        return weights, biases

    def loss_scale(self, n_samples: int) -> float:
        """Factor turning a summed loss into the mean the library minimises.

        Cross-entropy is a mean over samples of a sum over classes; MSE and binary
        cross-entropy are means over every element.
        """
        if self.loss == CROSS_ENTROPY:
            return 1.0 / n_samples
        return 1.0 / (n_samples * self.sizes[-1])


class Hyper(NamedTuple):
    """Hyperparameters of one training run, read by ``train_epochs``.

    The regularised objective is ``mean loss + l1 * sum|W| + l2 / 2 * sum W**2`` over the
    weights (never the biases). ``dropout`` holds one rate per hidden layer (inverted
    dropout: kept units are scaled by ``1 / (1 - rate)`` during training only).
    """

    learning_rate: float
    optimizer: int = SGD
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    l1: float = 0.0
    l2: float = 0.0
    schedule: int = CONSTANT
    decay_rate: float = 0.0
    decay_steps: float = 1.0
    staircase: bool = False
    power: float = 1.0
    dropout: tuple = ()


def learning_rate_at(hyper: Hyper, t) -> float:
    """The learning rate of update step ``t`` (0-based), as both kernels compute it."""
    if hyper.schedule == CONSTANT:
        return hyper.learning_rate
    p = t / hyper.decay_steps
    if hyper.staircase:
        p = np.floor(p)
    if hyper.schedule == EXPONENTIAL:
        return hyper.learning_rate * hyper.decay_rate ** p
    return hyper.learning_rate / (1.0 + hyper.decay_rate * p) ** hyper.power


class OptimizerState:
    """Optimizer memory with the flat parameter layout: SGD velocity, or Adam's two moments.

    ``step`` counts updates done so far (it drives bias correction and schedules);
    ``order`` is the training run's sample order, kept so that a resumed run shuffles on from
    where it stopped.
    """

    def __init__(self, n_params: int, hyper=None):
        # Only what the optimizer uses is n_params long (m: momentum's velocity or Adam's
        # first moment; v: Adam's second); the rest are one-element placeholders.
        self.step = np.zeros(1, dtype=np.int64)
        self.m = np.zeros(n_params if hyper is None or uses_moments(hyper) else 1)
        self.v = np.zeros(n_params if hyper is None or hyper.optimizer == ADAM else 1)
        self.order = None

    def fits(self, n_params, hyper):
        """Whether this state can carry on a run with these hyperparameters."""
        return ((not uses_moments(hyper) or self.m.shape == (n_params,))
                and (hyper.optimizer != ADAM or self.v.shape == (n_params,)))


def uses_moments(hyper):
    """Momentum and Adam keep per-parameter moments; plain SGD does not."""
    return hyper.optimizer == ADAM or hyper.momentum != 0.0
