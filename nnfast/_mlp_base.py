"""What MLPClassifier and MLPRegressor share: parameters, the fit in scikit-learn's steps,
the fitted attributes and prediction."""

from __future__ import annotations

import contextlib
import numbers
import types
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from . import _backend
from ._compat import BaseEstimator
from ._layers import LayerViews
from ._mlp_files import FilesMixin
from ._mlp_fit import SolverMixin
from ._mlp_random import check_random_state
from ._mlp_scores import scorer
from ._mlp_solvers import NONFINITE, Unfit, glorot_factor, outputs
from ._validation import (
    all_finite,
    as_dtype,
    as_float_array,
    check_consistent,
    check_number,
    check_sample_weight,
    check_seed,
    check_X,
    require_y,
    rescaled,
)
from .exceptions import not_fitted
from .network import Network, check_size

if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextlib import AbstractContextManager
    from typing import Literal, TypeVar

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from scipy.sparse import sparray, spmatrix
    from typing_extensions import Self

    from ._mlp_random import RandomSource
    from ._mlp_solvers import LearningRate, Params, Solver, Target
    from ._typing import FloatArray, RealArray

    _S = TypeVar("_S", bound=str)

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# nnfast's activations beyond scikit-learn's, under their nnfast names
ACTIVATIONS.update({name: name for name in ("leaky_relu", "elu", "gelu", "softplus", "silu")})
SOLVERS: tuple[Solver, ...] = ("lbfgs", "sgd", "adam")
LEARNING_RATES: tuple[LearningRate, ...] = ("constant", "invscaling", "adaptive")
AUTO: tuple[Literal["auto"]] = ("auto",)  # batch_size's one named choice
# target kind -> (nnfast loss, output activation, scikit-learn's out_activation_)
TARGETS = {
    "binary": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multilabel": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multiclass": ("cross_entropy", "softmax", "softmax"),
    "regression": ("mse", "identity", "identity"),
    # MLPRegressor(loss="poisson"): scikit-learn's half Poisson deviance, log link
    "poisson": ("poisson", "exp", "exp"),
}


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def choice(value: object, name: str, options: tuple[_S, ...]) -> _S:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


class _BaseMLP(SolverMixin, FilesMixin, BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, training and prediction."""

    _kinds: ClassVar[tuple[Target, ...]] = ()
    # parameters older model files lack
    _later_params = ("clip_norm", "clip_value", "callbacks", "scoring")

    # --- parameters ---------------------------------------------------------------------------

    def _checked_params(self) -> Params:
        """The hyperparameters validated (scikit-learn validates in fit, so that set_params
        and clone never raise); returns a plain namespace."""
        p = cast("Params", types.SimpleNamespace())
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got "
                f"{self.hidden_layer_sizes!r}."
            ) from None
        p.hidden = [
            check_number(s, f"hidden_layer_sizes[{i}]", 1, integer=True)
            for i, s in enumerate(sizes)
        ]
        p.activation, p.layers = hidden_activations(self.activation, len(p.hidden))
        p.solver = choice(self.solver, "solver", SOLVERS)
        p.alpha = check_number(self.alpha, "alpha", 0.0)
        if isinstance(self.batch_size, str):
            p.batch_size = choice(self.batch_size, "batch_size", AUTO)
        else:
            p.batch_size = check_number(
                self.batch_size, "batch_size ('auto' or an int)", 1, integer=True
            )
        p.learning_rate = choice(self.learning_rate, "learning_rate", LEARNING_RATES)
        p.learning_rate_init = check_number(
            self.learning_rate_init, "learning_rate_init", 0.0, low_open=True
        )
        p.power_t = check_number(self.power_t, "power_t", 0.0)
        p.max_iter = check_number(self.max_iter, "max_iter", 1, integer=True)
        p.shuffle = _bool(self.shuffle, "shuffle")
        p.tol = check_number(self.tol, "tol", 0.0)
        if not (
            isinstance(self.verbose, (bool, np.bool_))
            or (isinstance(self.verbose, numbers.Integral) and int(self.verbose) >= 0)
        ):
            raise TypeError(f"verbose must be a bool or an int >= 0, got {self.verbose!r}.")
        p.verbose = bool(self.verbose)
        p.warm_start = _bool(self.warm_start, "warm_start")
        p.momentum = check_number(self.momentum, "momentum", 0.0, 1.0)
        p.nesterovs_momentum = _bool(self.nesterovs_momentum, "nesterovs_momentum")
        p.early_stopping = _bool(self.early_stopping, "early_stopping")
        p.validation_fraction = check_number(
            self.validation_fraction, "validation_fraction", 0.0, 1.0, high_open=True
        )
        p.beta_1 = check_number(self.beta_1, "beta_1", 0.0, 1.0, high_open=True)
        p.beta_2 = check_number(self.beta_2, "beta_2", 0.0, 1.0, high_open=True)
        p.epsilon = check_number(self.epsilon, "epsilon", 0.0, low_open=True)
        if isinstance(self.n_iter_no_change, numbers.Real) and self.n_iter_no_change == np.inf:
            p.n_iter_no_change = np.inf
        else:
            p.n_iter_no_change = check_number(
                self.n_iter_no_change,
                "n_iter_no_change (an int >= 1 or numpy.inf)",
                1,
                integer=True,
            )
        p.max_fun = check_number(self.max_fun, "max_fun", 1, integer=True)
        p.l1 = check_number(self.l1, "l1", 0.0)
        if np.ndim(self.dropout) == 0:
            p.dropout = check_number(self.dropout, "dropout", 0.0, 1.0, high_open=True)
            has_dropout = p.dropout > 0
        else:
            p.dropout = tuple(
                check_number(r, f"dropout[{i}]", 0.0, 1.0, high_open=True)
                for i, r in enumerate(self.dropout)
            )
            if len(p.dropout) != len(p.hidden):
                raise ValueError(
                    f"dropout must be one rate or {len(p.hidden)} rates (one per "
                    f"hidden layer), got {len(p.dropout)}."
                )
            has_dropout = any(p.dropout)
        if has_dropout and p.solver == "lbfgs":
            raise ValueError(
                "dropout needs a stochastic solver ('sgd' or 'adam'): L-BFGS "
                "minimises one deterministic full-batch objective."
            )
        p.restarts = check_number(self.restarts, "restarts", 1, integer=True)
        if self.n_jobs is not None and self.n_jobs != -1:
            check_number(self.n_jobs, "n_jobs (None, -1 or an int >= 1)", 1, integer=True)
        p.n_jobs = self.n_jobs
        if self.backend is not None and self.backend not in _backend.BACKENDS:
            raise ValueError(
                f"backend must be None or one of {_backend.BACKENDS}, got {self.backend!r}."
            )
        p.clip_norm, p.clip_value = (
            None if value is None else check_number(value, name, 0.0, low_open=True)
            for name, value in (("clip_norm", self.clip_norm), ("clip_value", self.clip_value))
        )
        callbacks = [] if self.callbacks is None else self.callbacks
        if not isinstance(callbacks, (list, tuple)) or not all(
            callable(getattr(c, "on_epoch_end", None)) for c in callbacks
        ):
            raise TypeError(
                f"callbacks must be None or a list of nnfast Callback objects (with an "
                f"on_epoch_end method), got {self.callbacks!r}."
            )
        p.callbacks = list(callbacks)
        p.scoring = None if self.scoring is None else scorer(self.scoring)
        check_seed(self.random_state, "random_state", legacy=True)
        p.loss = getattr(self, "loss", None)
        return p

    def _backend_scope(self) -> AbstractContextManager[None]:
        if self.backend is None:
            return contextlib.nullcontext()
        return _backend.use_backend(self.backend)

    # --- fitted state -------------------------------------------------------------------------

    def _is_fitted(self) -> bool:
        return "coefs_" in self.__dict__ and "_target" in self.__dict__

    def _network(self, what: str) -> Network:
        """``network_`` with the values of ``coefs_`` and ``intercepts_``: arrays put in
        their place (``clf.coefs_[0] = W``, ``clf.coefs_ = [...]``, or set before a first
        ``partial_fit``) are checked and copied into the flat buffer the kernels read."""
        if "coefs_" not in self.__dict__ or "_target" not in self.__dict__:
            raise not_fitted(self, what)
        net = self.__dict__.get("_net")
        coefs, intercepts = self.__dict__["coefs_"], self.__dict__.get("intercepts_")
        views = self.__dict__.get("_views")
        if (
            net is not None
            and views is not None
            and isinstance(coefs, list)
            and isinstance(intercepts, list)
            and len(coefs) == len(views[0])
            and len(intercepts) == len(views[1])
            and all(a is b for a, b in zip(coefs, views[0]))
            and all(a is b for a, b in zip(intercepts, views[1]))
        ):
            if not isinstance(net, Network):
                raise TypeError(
                    f"the fitted network must be an nnfast.Network, got {type(net).__name__}: "
                    "fit again."
                )
            return net
        return self._network_from_attributes(net)

    def _network_from_attributes(self, net: object) -> Network:
        """Copy ``coefs_`` / ``intercepts_`` (checked) into ``network_``, rebuilding it when
        their shapes changed; the lists become views of its buffer again."""
        coefs = _layer_arrays(self.__dict__.get("coefs_"), "coefs_", 2)
        intercepts = _layer_arrays(self.__dict__.get("intercepts_"), "intercepts_", 1)
        if len(coefs) != len(intercepts) or not coefs:
            raise ValueError(
                f"coefs_ and intercepts_ must hold one array per layer each, got "
                f"{len(coefs)} and {len(intercepts)}."
            )
        sizes = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            if W.shape[0] != sizes[i] or b.shape != (W.shape[1],):
                raise ValueError(
                    f"coefs_[{i}] has shape {W.shape} and intercepts_[{i}] {b.shape}: "
                    f"layer {i} must map {sizes[i]} units to W.shape[1] with one intercept "
                    "per unit."
                )
        if net is None or not isinstance(net, Network) or net.layer_sizes != sizes:
            net = self._new_network(sizes, coefs[0].dtype)
        for view, value in zip(net.weights + net.biases, coefs + intercepts):
            view[...] = value
        self._set_network(net)
        return net

    def _new_network(self, sizes: Sequence[int], dtype: DTypeLike = np.float64) -> Network:
        _, layers = hidden_activations(self.activation, len(sizes) - 2)
        loss, output = self._losses(self._target)
        check_size(sizes, "hidden_layer_sizes", copies=2)
        return Network(
            sizes,
            activation=list(layers),
            output_activation=output,
            loss=loss,
            init="zeros",
            seed=0,
            dtype=dtype,
        )

    @property
    def network_(self) -> Network:
        """The trained ``nnfast.Network`` (its weights are ``coefs_`` and ``intercepts_``:
        arrays put in their place are copied into it first)."""
        return self._network("network_")

    @network_.setter
    def network_(self, net: Network) -> None:
        if not isinstance(net, Network):
            raise TypeError(f"network_ must be an nnfast.Network, got {type(net).__name__}.")
        if "_target" not in self.__dict__:
            raise not_fitted(self, "network_")
        self._set_network(net)

    def _set_network(self, net: Network) -> None:
        """Make ``net`` the model's network: ``coefs_`` / ``intercepts_`` its views (lists
        whose items, assigned, are checked and copied in at once)."""
        self._net = net
        self.coefs_ = LayerViews(list(net.weights), "coefs_", "(n_in, n_out)")
        self.intercepts_ = LayerViews(list(net.biases), "intercepts_", "(n_out,)")
        self._views = (tuple(self.coefs_), tuple(self.intercepts_))
        self.n_layers_ = len(net.layer_sizes)
        self.n_outputs_ = net.n_outputs
        exp = net._output_activation == "exp"  # MLPRegressor(loss="poisson")
        self.out_activation_ = "exp" if exp else TARGETS[self._target][2]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        state = dict(state)
        if "_net" in state and "_views" in state:
            views = state.pop("_views")
            if all(a is b for a, b in zip(state.get("coefs_", ()), views[0])) and all(
                a is b for a, b in zip(state.get("intercepts_", ()), views[1])
            ):  # the views come back from the network's buffer
                del state["coefs_"], state["intercepts_"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)
        if "_net" in self.__dict__ and "coefs_" not in self.__dict__:
            self._set_network(self._net)

    def _losses(self, target: str) -> tuple[str, str]:
        """(nnfast loss, output activation) of the network for a target kind."""
        return TARGETS[target][:2]

    def _loss_scale(self) -> float:
        """c: the scikit-learn objective is c times the one nnfast's kernels minimise (the
        kernels' mean over every element of Y; scikit-learn's over samples of a sum over
        outputs, halved for the squared error)."""
        loss = self._losses(self._target)[0]
        if loss == "mse":
            return 0.5
        if self._target == "multilabel" or loss == "poisson":
            return float(self._net.n_outputs)
        return 1.0

    # --- training -----------------------------------------------------------------------------

    def _fit(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        incremental: bool = False,
        classes: ArrayLike | None = None,
    ) -> Self:
        with self._fitting():
            fitted = self._is_fitted()
            try:
                with self._backend_scope():
                    return self._fit_checked(X, y, sample_weight, incremental, classes)
            except Unfit as exc:  # Ctrl-C before the first epoch ended
                self._clear_fitted()
                if incremental:  # partial_fit: the caller's loop must stop too
                    raise KeyboardInterrupt(str(exc)) from None
                warnings.warn(str(exc), UserWarning, stacklevel=4)
                return self
            except BaseException:
                if not fitted or not (self.warm_start or incremental):
                    self._clear_fitted()  # a failed fresh fit leaves no half-fitted model
                raise

    def _fit_checked(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None,
        incremental: bool,
        classes: ArrayLike | None,
    ) -> Self:
        p = self._checked_params()
        require_y(self, y)
        first = "coefs_" not in self.__dict__ or (not p.warm_start and not incremental)
        X = check_X(self, X, reset=first)
        y = y.to_numpy() if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray) else y
        y = np.asarray(y)
        check_consistent(X.shape[0], y)
        w = check_sample_weight(sample_weight, X.shape[0], scalar=True)
        Y, codes = self._targets(y, first, incremental, classes)
        if not first:  # a fitted model keeps its precision
            X = as_dtype(X, self._network("fit").dtype)
        Y = np.ascontiguousarray(Y, dtype=X.dtype)
        weights = self._combined_weights(w, codes, incremental, X.dtype)
        sizes = [X.shape[1], *p.hidden, Y.shape[1]]
        rs = check_random_state(self.random_state)
        if first:
            self._initialize(sizes, p, rs, X.dtype)
        else:
            net = self._network("fit")
            if net.layer_sizes != sizes or net.activations != p.layers:
                raise ValueError(
                    f"warm_start/partial_fit continue the fitted network (layers "
                    f"{net.layer_sizes}, activation {net.activations}), but the parameters "
                    f"now ask for layers {sizes}, activation {p.activation!r}; fit with "
                    "warm_start=False to start over."
                )
        if p.solver == "lbfgs":
            self._fit_lbfgs(p, X, Y, weights, first, rs)
        else:
            self._fit_stochastic(p, X, Y, weights, first, incremental, rs)
        if not all_finite(self._net._kernel_parameters()):
            raise ValueError(NONFINITE)
        return self

    def _combined_weights(
        self,
        w: RealArray | None,
        strata: NDArray[np.intp] | None,
        incremental: bool,
        dtype: DTypeLike = np.float64,
    ) -> tuple[RealArray | None, float]:
        """(weights or None, scale): sample_weight times class_weight, divided by ``scale``
        when their sums could overflow (see ``rescaled``); unit weights are None."""
        cw = self._class_weights(strata, incremental)
        if cw is not None:
            w = cw if w is None else w * cw
        if w is None:
            return None, 1.0
        if not w.any():
            raise ValueError(
                "Sample weights (sample_weight * class_weight) must contain at least one "
                "non-zero number."
            )
        if (w == 1.0).all():
            return None, 1.0
        w, scale = rescaled(w)
        return np.ascontiguousarray(w, dtype=dtype), scale

    def _class_weights(
        self, codes: NDArray[np.intp] | None, incremental: bool
    ) -> FloatArray | None:
        return None

    def _clear_fitted(self) -> None:
        """Forget everything ``fit`` set: the model is unfitted again."""
        names = set(self._get_param_names())
        for key in [
            k
            for k in self.__dict__
            if k.endswith("_") and not k.startswith("__") and k not in names
        ]:
            del self.__dict__[key]
        for key in (
            "_target",
            "_net",
            "_views",
            "_optimizer",
            "_best_parameters",
            "_no_improvement_count",
        ):
            self.__dict__.pop(key, None)

    def _initialize(self, sizes: list[int], p: Params, rs: RandomSource, dtype: DTypeLike) -> None:
        """scikit-learn's ``_initialize``: the counts and records, and the initial weights
        drawn from ``rs`` as it draws them: layer by layer, W then b from U(-r, r),
        r = sqrt(f / (fan_in + fan_out)), f = 2 for logistic units and 6 otherwise."""
        check_size(sizes, "hidden_layer_sizes", copies=3)  # + scikit-learn's draws
        initial = []
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = np.sqrt(glorot_factor(p, l) / (n_in + n_out))
            initial.append(rs.uniform(-bound, bound, (n_in, n_out)))
            initial.append(rs.uniform(-bound, bound, n_out))
        net = self._new_network(sizes, dtype)
        for view, value in zip([v for pair in zip(net.weights, net.biases) for v in pair], initial):
            view[...] = value
        self._set_network(net)
        self.n_iter_, self.t_ = 0, 0
        self._best_parameters = net.parameters.copy()
        self._optimizer = None
        self.history_ = None
        if p.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if p.early_stopping:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_, self.best_loss_ = -np.inf, None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = self.validation_loss_curve_ = None
                self.best_validation_score_ = None
        else:
            for name in (
                "loss_curve_",
                "best_loss_",
                "validation_scores_",
                "validation_loss_curve_",
                "best_validation_score_",
            ):
                self.__dict__.pop(name, None)

    # --- predicting ---------------------------------------------------------------------------

    def layer_outputs(
        self, X: ArrayLike | spmatrix | sparray, pre_activations: bool = False
    ) -> list[RealArray]:
        """Every layer's outputs for X from the fitted network's forward pass (see
        ``nnfast.Network.layer_outputs``): one array per layer, the hidden layers' then the
        output's (``out_activation_`` applied); with ``pre_activations`` the z's."""
        net = self._network("layer_outputs")
        X = as_dtype(check_X(self, X, reset=False), net.dtype)
        with self._backend_scope():
            return net._layer_outputs(X, pre_activations)

    def _forward(self, X: ArrayLike | spmatrix | sparray, method: str) -> RealArray:
        net = self._network(method)
        X = as_dtype(check_X(self, X, reset=False), net.dtype)
        return outputs(net, X)


def _layer_arrays(values: object, name: str, ndim: int) -> list[RealArray]:
    """``coefs_`` or ``intercepts_`` as set by a user: a list of real arrays of ``ndim``."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"{name} must be a list of arrays (one per layer), got {type(values).__name__}."
        )
    return [as_float_array(v, f"{name}[{i}]", ndim=(ndim,)) for i, v in enumerate(values)]


def hidden_activations(
    activation: object, n_hidden: int
) -> tuple[str | tuple[str, ...], tuple[str, ...]]:
    """(the ``activation`` parameter checked: a name, or one per hidden layer as a tuple;
    the hidden layers' activations in nnfast's names)."""
    if isinstance(activation, (list, tuple)):  # one per hidden layer (nnfast)
        names = tuple(
            choice(a, f"activation[{i}]", tuple(ACTIVATIONS)) for i, a in enumerate(activation)
        )
        if len(names) != n_hidden:
            raise ValueError(
                f"activation must be one name or {n_hidden} names (one per hidden layer), "
                f"got {len(names)}."
            )
        return names, tuple(ACTIVATIONS[a] for a in names)
    name = choice(activation, "activation", tuple(ACTIVATIONS))
    return name, (ACTIVATIONS[name],) * n_hidden
