"""The warnings and errors nnfast's models raise, named as scikit-learn's (``sklearn.exceptions``).

When ``sklearn.exceptions`` is imported (the estimators import it through scikit-learn's
base classes when scikit-learn is installed), what nnfast emits is also an instance of
scikit-learn's class of the same name, so ``warnings.filterwarnings("ignore",
category=sklearn.exceptions.ConvergenceWarning)`` and ``except
sklearn.exceptions.NotFittedError`` apply to nnfast's models too. This module never imports
scikit-learn itself.
"""

from __future__ import annotations

import sys
import warnings
from typing import TypeVar, cast

__all__ = ["ConvergenceWarning", "DataConversionWarning", "NotFittedError"]


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` (or ``max_fun``) before converging."""


class DataConversionWarning(UserWarning):
    """Input was converted (a column-vector y raveled to 1-D), as scikit-learn warns."""


class NotFittedError(RuntimeError, AttributeError):
    """A model was used before it was fitted (an AttributeError too, so ``hasattr`` works)."""


_FLAVOURED: dict[tuple[type, type], type] = {}

_T = TypeVar("_T", bound=type)


def flavoured(cls: _T) -> _T:
    """``cls``, or a subclass of both ``cls`` and scikit-learn's class of the same name when
    ``sklearn.exceptions`` is already imported (never imports scikit-learn)."""
    module = sys.modules.get("sklearn.exceptions")
    other = getattr(module, cls.__name__, None) if module is not None else None
    if other is None or issubclass(cls, other):
        return cls
    key = (cls, other)
    if key not in _FLAVOURED:
        _FLAVOURED[key] = type(
            cls.__name__, (cls, other), {"__module__": cls.__module__, "__doc__": cls.__doc__}
        )
    return cast("_T", _FLAVOURED[key])


def warn(message: str, category: type[Warning], stacklevel: int = 3) -> None:
    """Emit ``message`` as ``category`` (one of the warnings above), scikit-learn flavoured."""
    warnings.warn(message, flavoured(category), stacklevel=stacklevel)


def not_fitted(estimator: object, method: str) -> NotFittedError:
    """The NotFittedError to raise when ``method`` is called before ``fit``."""
    return flavoured(NotFittedError)(
        f"This {type(estimator).__name__} instance is not fitted yet: call fit(X, y) "
        f"with appropriate arguments before using {method}."
    )
