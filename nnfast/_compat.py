"""The scikit-learn estimator protocol: scikit-learn's own classes when it is installed.

With scikit-learn, nnfast's estimators inherit ``sklearn.base.BaseEstimator`` and its
mixins, so metadata routing (``set_fit_request``), the HTML repr, tags, ``clone`` and
``check_estimator`` are scikit-learn's. Without it, the minimal classes below keep them
usable: ``get_params`` / ``set_params`` from the constructor's signature (so
``type(est)(**est.get_params())`` clones), a ``repr`` of the changed parameters, and
``score`` from ``nnfast.metrics``.

Only the modules that define estimators import this one, so ``import nnfast`` (and
``nnfast train``) never import scikit-learn.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Protocol

    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

    from ._typing import StrPath

    # What the mixins' methods call on the estimator they are mixed into.
    class _Predictor(Protocol):
        def predict(self, X: ArrayLike) -> NDArray[Any]: ...

    class _Transformer(Protocol):
        def fit(self, X: Any, y: Any = ..., **fit_params: Any) -> _Transformer: ...
        def transform(self, X: Any) -> Any: ...

    class _Fittable(Protocol):
        def _is_fitted(self) -> bool: ...


try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.utils.metaestimators import available_if as _available_if

    SKLEARN_INSTALLED = True
except ImportError:
    SKLEARN_INSTALLED = False

    class BaseEstimator:  # type: ignore[no-redef]  # the fallback of the same name
        """get_params / set_params / __repr__ from the constructor's signature.

        Subclasses store every constructor argument unchanged under its own name (and
        nothing else) in ``__init__``, so that ``type(est)(**est.get_params())`` rebuilds
        them.
        """

        @classmethod
        def _get_param_names(cls) -> list[str]:
            init = cls.__init__
            if init is object.__init__:
                return []
            names = []
            for p in inspect.signature(init).parameters.values():
                if p.name == "self" or p.kind == p.VAR_KEYWORD:
                    continue
                if p.kind == p.VAR_POSITIONAL:
                    raise RuntimeError(
                        f"{cls.__name__} must not take *args: estimators name every parameter."
                    )
                names.append(p.name)
            return sorted(names)

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            """The constructor's parameters as a dict (``deep``: also nested estimators')."""
            out: dict[str, Any] = {}
            for key in self._get_param_names():
                value = getattr(self, key)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
                out[key] = value
            return out

        def set_params(self, **params: Any) -> Self:
            """Set parameters (``name`` or ``nested__name``); returns self. Not validated
            until ``fit``."""
            if not params:
                return self
            valid = self.get_params(deep=True)
            nested: dict[str, dict[str, Any]] = {}
            for key, value in params.items():
                key, delim, sub_key = key.partition("__")
                if key not in valid:
                    raise ValueError(
                        f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                        f"Valid parameters are: {self._get_param_names()!r}."
                    )
                if delim:
                    nested.setdefault(key, {})[sub_key] = value
                else:
                    setattr(self, key, value)
                    valid[key] = value
            for key, sub_params in nested.items():
                valid[key].set_params(**sub_params)
            return self

        def __repr__(self) -> str:
            """``Name(param=value, ...)`` for the parameters that differ from their defaults."""
            signature = inspect.signature(type(self).__init__).parameters
            shown = []
            for name, p in signature.items():
                if name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    continue
                value = getattr(self, name, None)
                if p.default is p.empty or repr(value) != repr(p.default):
                    shown.append(f"{name}={value!r}")
            return f"{type(self).__name__}({', '.join(shown)})"

    class ClassifierMixin:  # type: ignore[no-redef]  # the fallback of the same name
        """``score`` is the accuracy (subset accuracy for multilabel y)."""

        def score(
            self: _Predictor, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
        ) -> float:
            """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
            from .metrics import accuracy_score

            return accuracy_score(y, self.predict(X), sample_weight)

    class RegressorMixin:  # type: ignore[no-redef]  # the fallback of the same name
        """``score`` is the coefficient of determination R^2."""

        def score(
            self: _Predictor, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
        ) -> float:
            """R^2 of ``predict(X)`` against ``y``, averaged over outputs."""
            from .metrics import r2_score

            return r2_score(y, self.predict(X), sample_weight)

    class TransformerMixin:  # type: ignore[no-redef]  # the fallback of the same name
        """``fit_transform`` is ``fit`` then ``transform``."""

        def fit_transform(self: _Transformer, X: Any, y: Any = None, **fit_params: Any) -> Any:
            return self.fit(X, y, **fit_params).transform(X)

    class _available_if:  # type: ignore[no-redef]  # noqa: N801 (scikit-learn's name)
        """Method descriptor: the method exists only where ``check(estimator)`` holds (else
        AttributeError, so ``hasattr`` is False), like scikit-learn's ``available_if``."""

        def __init__(self, check: Callable[[Any], bool]) -> None:
            self.check = check

        def __call__(self, fn: Callable[..., Any]) -> Self:
            self.fn = fn
            self.__doc__ = fn.__doc__
            self.__name__ = fn.__name__
            return self

        def __get__(self, obj: object, owner: type | None = None) -> Callable[..., Any]:
            if obj is None:
                return self.fn
            if not self.check(obj):
                raise AttributeError(
                    f"This {type(obj).__name__} has no attribute {self.fn.__name__!r}"
                )
            return self.fn.__get__(obj, owner)


__all__ = [
    "SKLEARN_INSTALLED",
    "BaseEstimator",
    "ClassifierMixin",
    "NnfastMixin",
    "RegressorMixin",
    "TransformerMixin",
    "available_if",
]

_Method = TypeVar("_Method", bound="Callable[..., Any]")


def available_if(check: Callable[[Any], bool]) -> Callable[[_Method], _Method]:
    """scikit-learn's ``available_if`` (or the fallback): the decorated method exists only
    where ``check(estimator)`` holds; to type checkers it keeps its own signature."""
    return _available_if(check)


_BUSY: set[int] = set()
_BUSY_LOCK = threading.Lock()


class NnfastMixin:
    """What every nnfast estimator adds to the protocol: its tags, the fitted test, model
    files (``save`` / ``nnfast.load``) and one fit at a time.

    Put it first among the bases (before scikit-learn's mixins), so that its tags adjust
    theirs. ``_nnfast_tags`` holds the few tags that differ from scikit-learn's defaults
    (``binary_only``, ``multi_label``, ``multi_output``); ``_expected_failed_checks`` names
    the scikit-learn common checks a model cannot pass, with the reason.
    """

    _nnfast_tags: ClassVar[dict[str, bool]] = {}

    def __sklearn_is_fitted__(self: _Fittable) -> bool:
        return self._is_fitted()  # each model says what "fitted" means for it

    # scikit-learn >= 1.6 reads __sklearn_tags__, older versions _more_tags; the two are
    # defined together, as scikit-learn's check_estimator_tags_renamed asks.
    def __sklearn_tags__(self) -> Any:
        # scikit-learn's BaseEstimator defines it, after this mixin in the estimator's bases
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        extra = self._nnfast_tags
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = not extra.get("binary_only", False)
            tags.classifier_tags.multi_label = extra.get("multi_label", False)
        tags.target_tags.multi_output = extra.get("multi_output", False)
        tags.input_tags.sparse = extra.get("sparse", False)
        return tags

    def _more_tags(self) -> dict[str, Any]:
        return {
            "binary_only": self._nnfast_tags.get("binary_only", False),
            "multilabel": self._nnfast_tags.get("multi_label", False),
            "multioutput": self._nnfast_tags.get("multi_output", False),
            "requires_y": True,
            "X_types": ["2darray", "sparse"] if self._nnfast_tags.get("sparse") else ["2darray"],
            "_xfail_checks": dict(self._expected_failed_checks()),
        }

    def _expected_failed_checks(self) -> dict[str, str]:
        """{scikit-learn check name: why this model does not pass it}."""
        return {}

    def save(self, path: StrPath) -> str:
        """Write the model to ``path`` (.npz with a JSON header, never a pickle); returns
        the path. ``nnfast.load(path)`` reads it back."""
        from . import io

        return io.save(self, path)

    @contextlib.contextmanager
    def _fitting(self) -> Iterator[None]:
        """Mark the estimator as being fitted: a second ``fit`` (or ``partial_fit``,
        ``step``) of it, from another thread, raises RuntimeError instead of interleaving
        two runs on one model. Kept outside the estimator, which pickles and clones without
        it."""
        key = id(self)
        with _BUSY_LOCK:
            if key in _BUSY:
                raise RuntimeError(
                    f"This {type(self).__name__} is being fitted by another thread: fit a "
                    f"copy to train in parallel (sklearn.base.clone(model), or "
                    f"copy.deepcopy)."
                )
            _BUSY.add(key)
        try:
            yield
        finally:
            with _BUSY_LOCK:
                _BUSY.discard(key)
