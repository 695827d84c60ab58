"""Optimizers: the update rule applied to the flat parameter buffer after each batch.

Both run inside the compiled training loop; their state (velocity, or Adam's two moments)
has the flat parameter layout. The gradient ``g`` they step along is that of the regularised
objective, the mean loss plus ``l1 * sum|W| + l2 / 2 * sum W**2`` over the weights (never the
biases): ``g = dL/dW + l1 * sign(W) + l2 * W`` for weights, ``dL/db`` for biases.
"""

from __future__ import annotations

from ._spec import ADAM
from ._spec import SGD as _SGD_CODE
from ._validation import check_number


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With momentum ``mu`` (PyTorch's form; it equals scikit-learn's for a constant rate)::

        v = mu * v + g
        p -= lr * (g + mu * v)   if nesterov else   p -= lr * v
    """

    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0.")
        self.nesterov = bool(nesterov)

    def hyper(self):
        return {"optimizer": _SGD_CODE, "momentum": self.momentum, "nesterov": self.nesterov}

    def __repr__(self):
        return f"SGD(momentum={self.momentum}, nesterov={self.nesterov})"


class Adam:
    """Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction.

    The update of step t (from 1) with gradient g::

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g**2
        p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)
    """

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1 = check_number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = check_number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = check_number(epsilon, "epsilon", 0.0, low_open=True)

    def hyper(self):
        return {
            "optimizer": ADAM,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

    def __repr__(self):
        return f"Adam(beta_1={self.beta_1}, beta_2={self.beta_2}, epsilon={self.epsilon})"


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get(optimizer):
    """An optimizer from a name (``"sgd"``, ``"adam"``) or an ``SGD`` / ``Adam`` instance."""
    if isinstance(optimizer, (SGD, Adam)):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        f"Unknown optimizer {optimizer!r}. Supported optimizers are {sorted(OPTIMIZERS)}, "
        "or an nnfast.SGD / nnfast.Adam instance."
    )
