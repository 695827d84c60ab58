"""nnfast: train neural networks fast on a CPU.

Cython training loops over contiguous float64 buffers behind a small Python API, with a
pure-NumPy backend that computes the same thing (``set_backend("numpy")``).
"""
from . import activations, losses, optimizers, schedules
from . import datasets, logic, plot  # plot imports matplotlib only when called
from . import tabular  # noqa: F401  (registers TabularModel: load() reads `nnfast train --save` files)
from ._backend import get_backend, set_backend, use_backend
from ._estimator import ConvergenceWarning
from .data import StandardScaler, one_hot, train_test_split
from .estimators import MLPClassifier, MLPRegressor
from .explain import explain
from .export import to_onnx  # imports onnx only when called
from .io import load
from .linear import LogisticRegression
from .network import Network
from .neuron import Neuron
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from .perceptron import Perceptron
from .tabular import TableEncoder
from .training import Callback, EarlyStopping, History, ModelCheckpoint

__version__ = "0.1.0"

__all__ = [
    "LogisticRegression", "MLPClassifier", "MLPRegressor", "Neuron", "Perceptron",
    "datasets", "logic", "plot", "ConvergenceWarning",
    "Adagrad", "Adam", "AdamW", "Callback", "EarlyStopping", "History", "ModelCheckpoint",
    "Network", "RMSprop", "SGD", "StandardScaler",
    "activations", "explain", "get_backend", "load", "losses", "one_hot", "optimizers", "schedules",
    "set_backend", "to_onnx", "train_test_split", "use_backend", "TableEncoder",
]
