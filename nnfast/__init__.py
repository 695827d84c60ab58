"""nnfast: train neural networks fast on a CPU.

Cython training loops over contiguous float64 buffers behind a small Python API, with a
pure-NumPy backend that computes the same thing (``set_backend("numpy")``).
"""
from . import activations, losses, optimizers, schedules
from ._backend import get_backend, set_backend, use_backend
from .data import StandardScaler, one_hot, train_test_split
from .network import Network
from .optimizers import SGD, Adam
from .training import Callback, EarlyStopping, History

__version__ = "0.1.0"

__all__ = [
    "Adam", "Callback", "EarlyStopping", "History", "Network", "SGD", "StandardScaler",
    "activations", "get_backend", "losses", "one_hot", "optimizers", "schedules",
    "set_backend", "train_test_split", "use_backend",
]
