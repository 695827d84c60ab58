"""nnfast: train neural networks fast on a CPU.

Cython training loops over contiguous float64 buffers behind a small Python API, with a
pure-NumPy backend that computes the same thing (``set_backend("numpy")``).

The estimators (``MLPClassifier``, ``MLPRegressor``, ``LogisticRegression``, ``Perceptron``,
``TableEncoder``) and ``nnfast.logic`` are imported when first used: they build on
scikit-learn's base classes when it is installed, and ``import nnfast`` does not import it.
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from . import activations, datasets, losses, optimizers, plot, schedules
from ._backend import get_backend, set_backend, use_backend
from .callbacks import Callback, EarlyStopping, History, ModelCheckpoint
from .data import StandardScaler, one_hot, train_test_split
from .exceptions import ConvergenceWarning
from .explain import explain
from .export import to_onnx  # imports onnx only when called
from .io import load
from .network import Network
from .neuron import Neuron
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

if TYPE_CHECKING:  # what _LAZY imports on first use, spelled out for type checkers
    from . import logic
    from . import tabular as tabular  # not in __all__, but nnfast.tabular works
    from .estimators import MLPClassifier, MLPRegressor
    from .linear import LogisticRegression
    from .perceptron import Perceptron
    from .tabular import TableEncoder

__version__ = "0.1.0"

# name -> the module that defines it (None: the name is a submodule), imported on first use
_LAZY = {
    "MLPClassifier": "estimators",
    "MLPRegressor": "estimators",
    "LogisticRegression": "linear",
    "Perceptron": "perceptron",
    "TableEncoder": "tabular",
    "logic": None,
    "tabular": None,
}

__all__ = [
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "Neuron",
    "Perceptron",
    "datasets",
    "logic",
    "plot",
    "ConvergenceWarning",
    "Adagrad",
    "Adam",
    "AdamW",
    "Callback",
    "EarlyStopping",
    "History",
    "ModelCheckpoint",
    "Network",
    "RMSprop",
    "SGD",
    "StandardScaler",
    "activations",
    "explain",
    "get_backend",
    "load",
    "losses",
    "one_hot",
    "optimizers",
    "schedules",
    "set_backend",
    "to_onnx",
    "train_test_split",
    "use_backend",
    "TableEncoder",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _import_module(f".{_LAZY[name] or name}", __name__)
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
