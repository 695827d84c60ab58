"""What MLPClassifier and MLPRegressor share: parameters, training, prediction, model files."""

from __future__ import annotations

import contextlib
import numbers
import types
import warnings

import numpy as np

from . import _backend
from ._compat import BaseEstimator, ClassifierMixin
from ._layers import LayerViews, as_layer_list
from ._mlp_solvers import SolverMixin, Unfit, combined_weights, outputs, scorer
from ._spec import OptimizerState
from ._validation import (
    check_consistent,
    check_number,
    check_rng,
    check_sample_weight,
    check_seed,
    check_X,
    require_y,
)
from .exceptions import not_fitted
from .io import decode_classes, encode_classes, estimator_from_header, float_array, params_header
from .network import Network, check_size
from .training import History

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# nnfast's activations beyond scikit-learn's, under their nnfast names
ACTIVATIONS.update({name: name for name in ("leaky_relu", "elu", "gelu", "softplus", "silu")})
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
# target kind -> (nnfast loss, output activation, scikit-learn's out_activation_)
_TARGETS = {
    "binary": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multilabel": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multiclass": ("cross_entropy", "softmax", "softmax"),
    "regression": ("mse", "identity", "identity"),
}


def _jsonable(value):
    """A bit generator's state (nested dicts, ints, arrays) as JSON-able values."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def _bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


class _BaseMLP(SolverMixin, BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, training and model files."""

    _kinds: tuple[str, ...] = ()
    # parameters older model files lack
    _later_params = ("clip_norm", "clip_value", "callbacks", "scoring")

    # --- parameters ---------------------------------------------------------------------------

    def _checked_params(self):
        """The hyperparameters validated (scikit-learn validates in fit, so that set_params
        and clone never raise); returns a plain namespace."""
        p = types.SimpleNamespace()
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
        if isinstance(self.activation, (list, tuple)):  # one per hidden layer (nnfast)
            p.activation = tuple(
                _choice(a, f"activation[{i}]", tuple(ACTIVATIONS))
                for i, a in enumerate(self.activation)
            )
            if len(p.activation) != len(p.hidden):
                raise ValueError(
                    f"activation must be one name or {len(p.hidden)} names (one per hidden "
                    f"layer), got {len(p.activation)}."
                )
        else:
            p.activation = _choice(self.activation, "activation", tuple(ACTIVATIONS))
        # the network's hidden activations, in nnfast's names
        p.layers = tuple(
            ACTIVATIONS[a]
            for a in (
                p.activation if isinstance(p.activation, tuple) else [p.activation] * len(p.hidden)
            )
        )
        p.solver = _choice(self.solver, "solver", SOLVERS)
        p.alpha = check_number(self.alpha, "alpha", 0.0)
        if isinstance(self.batch_size, str):
            p.batch_size = _choice(self.batch_size, "batch_size", ("auto",))
        else:
            p.batch_size = check_number(
                self.batch_size, "batch_size ('auto' or an int)", 1, integer=True
            )
        p.learning_rate = _choice(self.learning_rate, "learning_rate", LEARNING_RATES)
        p.learning_rate_init = check_number(
            self.learning_rate_init, "learning_rate_init", 0.0, low_open=True
        )
        p.power_t = check_number(self.power_t, "power_t", 0.0)
        p.max_iter = check_number(self.max_iter, "max_iter", 1, integer=True)
        p.shuffle = _bool(self.shuffle, "shuffle")
        p.tol = check_number(self.tol, "tol", 0.0)
        if not (
            isinstance(self.verbose, (bool, np.bool_))
            or (isinstance(self.verbose, numbers.Integral) and self.verbose >= 0)
        ):
            raise TypeError(f"verbose must be a bool or an int >= 0, got {self.verbose!r}.")
        p.verbose = bool(self.verbose)
        p.warm_start = _bool(self.warm_start, "warm_start")
        p.momentum = check_number(self.momentum, "momentum", 0.0, 1.0, high_open=True)
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
        return p

    def _backend_scope(self):
        if self.backend is None:
            return contextlib.nullcontext()
        return _backend.use_backend(self.backend)

    # --- fitted state -------------------------------------------------------------------------

    def _is_fitted(self):
        return "network_" in self.__dict__

    def _network(self, what):
        if not self._is_fitted():
            raise not_fitted(self, what)
        net = self.network_
        if not isinstance(net, Network):
            raise TypeError(
                f"network_ must be the fitted nnfast.Network, got {type(net).__name__}: fit again."
            )
        return net

    @property
    def coefs_(self):
        """Weight matrices, ``coefs_[i]`` of shape (units of layer i, units of layer i + 1):
        writable views of ``network_.parameters``; ``coefs_[i] = W`` (or ``coefs_ = [...]``)
        copies checked values (shape, finite numbers) into them."""
        return LayerViews(list(self._network("coefs_").weights), "coefs_", "(n_in, n_out)")

    @coefs_.setter
    def coefs_(self, values):
        self.coefs_[:] = as_layer_list(values, "coefs_", self.n_layers_ - 1)

    @property
    def intercepts_(self):
        """Bias vectors, ``intercepts_[i]`` of shape (units of layer i + 1,): views, set as
        ``coefs_``."""
        return LayerViews(list(self._network("intercepts_").biases), "intercepts_", "(n_out,)")

    @intercepts_.setter
    def intercepts_(self, values):
        self.intercepts_[:] = as_layer_list(values, "intercepts_", self.n_layers_ - 1)

    @property
    def n_layers_(self):
        """Layers including input and output: ``len(hidden_layer_sizes) + 2``."""
        return len(self._network("n_layers_").layer_sizes)

    @property
    def n_outputs_(self):
        """Output units."""
        return self._network("n_outputs_").n_outputs

    @property
    def out_activation_(self):
        """Output activation in scikit-learn's names: 'softmax', 'logistic' or 'identity'."""
        self._network("out_activation_")
        return _TARGETS[self._target][2]

    def _losses(self, target):
        """(nnfast loss, output activation) of the network for a target kind."""
        return _TARGETS[target][:2]

    def _loss_scale(self):
        """c: the scikit-learn objective is c times the one nnfast's kernels minimise."""
        if self._target == "regression" and self._losses("regression")[0] == "mse":
            return 0.5
        if self._target == "multilabel":
            return float(self.network_.n_outputs)
        return 1.0

    # --- training -----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        with self._fitting():
            fitted = self._is_fitted()
            try:
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

    def _fit_checked(self, X, y, sample_weight, incremental, classes):
        p = self._checked_params()
        require_y(self, y)
        fitted = self._is_fitted()
        first = not fitted or (not p.warm_start and not incremental)
        if incremental and p.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        X = check_X(self, X, reset=first)
        y = y.to_numpy() if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray) else y
        y = np.asarray(y)
        check_consistent(X.shape[0], y)
        w = check_sample_weight(sample_weight, X.shape[0], scalar=True)
        Y, codes = self._targets(y, first, incremental, classes)
        cw = self._class_weights(codes, incremental)
        w, self._weight_scale = combined_weights(w, cw)
        if w is not None:
            if not w.any():
                raise ValueError(
                    "Sample weights (sample_weight * class_weight) must contain "
                    "at least one non-zero number."
                )
            # unit weights are the unweighted run: the kernels' cheaper path
            w = None if (w == 1.0).all() else np.ascontiguousarray(w, dtype=np.float64)

        sizes = [X.shape[1], *p.hidden, Y.shape[1]]
        if first:
            check_size(sizes, "hidden_layer_sizes", copies=2)  # + scikit-learn's draws
            self._rng = self._initialise(sizes, p)
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_, self.history_ = [], None
            self._state = {
                "best_loss": np.inf,
                "best_score": -np.inf,
                "count": 0,
                "learning_rate": p.learning_rate_init,
            }
            self._optimizer_solver = None
        elif self.network_.layer_sizes != sizes or self.network_.activations != p.layers:
            raise ValueError(
                f"warm_start/partial_fit continue the fitted network (layers "
                f"{self.network_.layer_sizes}, activation {self.network_.activations}), but "
                f"the parameters now ask for layers {sizes}, activation {p.activation!r}; "
                "fit with warm_start=False to start over."
            )
        with self._backend_scope():
            if p.solver == "lbfgs":
                self._fit_lbfgs(p, X, Y, w, first)
            else:
                self._fit_stochastic(p, X, Y, codes, w, first, incremental)
        return self

    def _clear_fitted(self):
        """Forget everything ``fit`` set: the model is unfitted again."""
        for key in [
            k
            for k in self.__dict__
            if k.endswith("_") and not k.startswith("__") and k not in self._get_param_names()
        ]:
            del self.__dict__[key]
        for key in ("_target", "_state", "_rng", "_optimizer_solver", "_weight_scale"):
            self.__dict__.pop(key, None)

    def _class_weights(self, codes, incremental):
        return None

    def _initialise(self, sizes, p):
        """Build ``network_`` with scikit-learn's initial weights; returns the Generator
        that drives everything random after (shuffles, dropout, splits, restarts).

        scikit-learn draws, layer by layer, W then b from U(-r, r), r = sqrt(f / (fan_in +
        fan_out)), f = 2 for logistic units and 6 otherwise, from ``RandomState(
        random_state)``. The same draws are made here from the same RandomState (for an int
        or a RandomState), so the initial weights equal scikit-learn's; the Generator for
        the rest is seeded from ``random_state`` too. Further ``restarts`` start from the
        network's own Glorot initialisation (biases 0) with spawned seeds.
        """
        state = self.random_state
        if isinstance(state, np.random.RandomState):
            draws = state
        elif isinstance(state, numbers.Integral) and not isinstance(state, bool):
            draws = np.random.RandomState(int(state))
        else:
            draws = None
        rng = check_rng(state, "random_state", legacy=True) if draws is None else None
        # scikit-learn's Glorot factor: 2 for logistic, else 6 (per layer with one activation
        # per layer, the output layer's that of the last hidden layer)
        names = p.activation if isinstance(p.activation, tuple) else (p.activation,)
        initial, uniform = [], (draws if draws is not None else rng).uniform
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            factor = 2.0 if names[min(l, len(names) - 1)] == "logistic" else 6.0
            bound = np.sqrt(factor / (n_in + n_out))
            initial.append((uniform(-bound, bound, (n_in, n_out)), uniform(-bound, bound, n_out)))
        if rng is None:  # after scikit-learn's draws, so that they stay scikit-learn's
            rng = check_rng(state, "random_state", legacy=True)
        loss, output = self._losses(self._target)
        net = Network(
            sizes,
            activation=list(p.layers),
            output_activation=output,
            loss=loss,
            init="xavier",
            seed=rng,
        )
        for (W, b), (W0, b0) in zip(zip(net.weights, net.biases), initial):
            W[...], b[...] = W0, b0
        self.network_ = net
        return rng

    # --- predicting ---------------------------------------------------------------------------

    def layer_outputs(self, X, pre_activations=False):
        """Every layer's outputs for X from the fitted network's forward pass (see
        ``nnfast.Network.layer_outputs``): one array per layer, the hidden layers' then the
        output's (``out_activation_`` applied); with ``pre_activations`` the z's."""
        net = self._network("layer_outputs")
        X = check_X(self, X, reset=False)
        with self._backend_scope():
            return net.layer_outputs(X, pre_activations)

    def _forward(self, X, method):
        net = self._network(method)
        X = check_X(self, X, reset=False)
        with self._backend_scope():
            return outputs(net, X)

    # --- model files --------------------------------------------------------------------------

    def _to_file(self):
        header = params_header(self)
        header["fitted"] = self._is_fitted()
        if not header["fitted"]:
            return header, {}
        net = self.network_
        state = getattr(net, "_optimizer_state", None)
        rng_state = self._rng.bit_generator.state
        names = getattr(self, "feature_names_in_", None)
        header.update(
            {
                "target": self._target,
                "n_features_in": int(self.n_features_in_),
                "layer_sizes": net.layer_sizes,
                "n_iter": int(self.n_iter_),
                "t": int(self.t_),
                "loss": float(self.loss_),
                "best_loss": None if self.best_loss_ is None else float(self.best_loss_),
                "best_validation_score": (
                    None
                    if self.best_validation_score_ is None
                    else float(self.best_validation_score_)
                ),
                "state": {k: float(v) for k, v in self._state.items()},
                "optimizer_solver": self._optimizer_solver,
                "optimizer_step": None if state is None else int(state.step[0]),
                "rng_state": _jsonable(rng_state),
                "feature_names_in": None if names is None else [str(s) for s in names],
            }
        )
        if hasattr(self, "classes_"):
            header["classes"] = encode_classes(self.classes_)
        arrays = {
            "parameters": net.parameters,
            "loss_curve": np.asarray(self.loss_curve_),
            "learning_rate": np.asarray(self.history_.learning_rate),
        }
        if self.validation_scores_ is not None:
            arrays["validation_scores"] = np.asarray(self.validation_scores_)
            arrays["validation_loss_curve"] = np.asarray(self.validation_loss_curve_)
        if state is not None:
            arrays["optimizer_m"], arrays["optimizer_v"] = state.m, state.v
        return header, arrays

    @classmethod
    def _file_shapes(cls, header):
        if not header["fitted"]:
            return {}
        sizes = [check_number(s, "layer_sizes", 1, integer=True) for s in header["layer_sizes"]]
        return {"parameters": (sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])),)}

    @classmethod
    def _from_file(cls, header, arrays):
        model = estimator_from_header(cls, header)
        p = model._checked_params()
        if not header["fitted"]:
            return model
        target = header["target"]
        if target not in cls._kinds:
            raise ValueError(f"target {target!r} is not one of {cls._kinds}")
        n_features = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        sizes = [check_number(s, "layer_sizes", 1, integer=True) for s in header["layer_sizes"]]
        if sizes[:-1] != [n_features, *p.hidden]:
            raise ValueError(
                f"layer_sizes {sizes} do not match n_features_in={n_features} and "
                f"hidden_layer_sizes={p.hidden}"
            )
        model._target = target
        if issubclass(cls, ClassifierMixin):
            model.classes_ = decode_classes(header["classes"])
            k = model.classes_.size
            fits = {
                "binary": k == 2 and sizes[-1] == 1,
                "multiclass": k > 2 and sizes[-1] == k,
                "multilabel": sizes[-1] == k and np.array_equal(model.classes_, np.arange(k)),
            }[target]
            if not fits:
                raise ValueError(
                    f"classes {model.classes_.tolist()} do not fit a {target} "
                    f"output of {sizes[-1]} units"
                )
        loss, output = model._losses(target)
        model._rng = np.random.default_rng()
        rng_state = header["rng_state"]
        if rng_state is not None:
            kind = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
            if kind not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
                raise ValueError(f"unknown bit generator {kind!r}")
            bit_generator = getattr(np.random, kind)()
            bit_generator.state = rng_state
            model._rng = np.random.Generator(bit_generator)
        net = Network(
            sizes,
            activation=list(p.layers),
            output_activation=output,
            loss=loss,
            init="zeros",
            seed=model._rng,
        )
        net.parameters[:] = float_array(arrays, "parameters", (net.spec.n_params,))
        if "optimizer_m" in arrays:
            state = OptimizerState(net.spec.n_params)
            # a moment the optimizer does not use is stored as a one-element placeholder
            state.m, state.v = (
                float_array(arrays, key, (None,)) for key in ("optimizer_m", "optimizer_v")
            )
            if {state.m.size, state.v.size} - {1, net.spec.n_params}:
                raise ValueError(
                    f"optimizer_m and optimizer_v hold {state.m.size} and "
                    f"{state.v.size} values, expected 1 or {net.spec.n_params}"
                )
            state.step[0] = check_number(
                header["optimizer_step"], "optimizer_step", 0, integer=True
            )
            net._optimizer_state = state
        model.network_ = net
        model.n_features_in_ = n_features
        if header["feature_names_in"] is not None:
            names = [str(s) for s in header["feature_names_in"]]
            if len(names) != n_features:
                raise ValueError("feature_names_in does not match n_features_in")
            model.feature_names_in_ = np.asarray(names, dtype=object)
        model.n_iter_ = check_number(header["n_iter"], "n_iter", 0, integer=True)
        model.t_ = check_number(header["t"], "t", 0, integer=True)
        model.loss_ = _record_number(header["loss"], "loss")
        model.best_loss_ = (
            None if header["best_loss"] is None else check_number(header["best_loss"], "best_loss")
        )
        model.best_validation_score_ = (
            None
            if header["best_validation_score"] is None
            else check_number(header["best_validation_score"], "best_validation_score")
        )
        state = header["state"]
        best_loss, best_score = float(state["best_loss"]), float(state["best_score"])
        if (
            np.isnan(best_loss)
            or best_loss == -np.inf
            or np.isnan(best_score)
            or best_score == np.inf
        ):  # +inf / -inf: nothing seen yet
            raise ValueError(f"state holds best_loss={best_loss}, best_score={best_score}")
        model._state = {
            "best_loss": best_loss,
            "best_score": best_score,
            "count": check_number(_whole(state["count"]), "state count", 0, integer=True),
            "learning_rate": check_number(
                state["learning_rate"], "state learning_rate", 0.0, low_open=True
            ),
        }
        solver = header["optimizer_solver"]
        model._optimizer_solver = None if solver is None else _choice(solver, "solver", SOLVERS)
        model.loss_curve_ = float_array(arrays, "loss_curve", (None,), finite=False).tolist()
        history = History()
        history.loss = list(model.loss_curve_)
        history.learning_rate = float_array(arrays, "learning_rate", (None,)).tolist()
        if "validation_scores" in arrays:
            model.validation_scores_ = float_array(
                arrays, "validation_scores", (None,), finite=False
            ).tolist()
            model.validation_loss_curve_ = float_array(
                arrays, "validation_loss_curve", (None,), finite=False
            ).tolist()
            history.val_loss = list(model.validation_loss_curve_)
            history.validation_score = list(model.validation_scores_)
        else:
            model.validation_scores_ = model.validation_loss_curve_ = None
        model.history_ = net.history = history
        return model


def _record_number(value, name):
    """A recorded number (a loss): a real number, NaN or infinite when training diverged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _whole(value):
    """A count stored as a JSON float (3.0) as an int; anything else as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value
