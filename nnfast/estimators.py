"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by nnfast's compiled loop.

Switching is changing the import: the parameters have scikit-learn's names, defaults and
meanings (``hidden_layer_sizes``, ``activation``, ``solver``, ``alpha``, ``batch_size``,
``learning_rate``, ... ``max_fun``), and so do the methods and fitted attributes. nnfast's
own features come as further parameters (``l1``, ``dropout``, ``restarts``, ``n_jobs``,
``backend``, ``class_weight``) and attributes (``validation_loss_curve_``, ``history_``,
``network_``).

How scikit-learn's definitions map onto nnfast's kernels (``network_`` is an ordinary
``nnfast.Network``; its training is ``nnfast.training.train``):

- **Loss convention.** nnfast minimises its own means (``nnfast.losses``): ``mse`` is the
  mean of the squared errors, which is twice scikit-learn's ``squared_error`` (half the
  MSE); for multilabel y, binary cross-entropy is a mean over every label, where
  scikit-learn sums over the labels (so its loss is ``n_outputs`` times nnfast's). Call
  that factor ``c`` (1/2 for the regressor, ``n_outputs`` for multilabel, else 1): the
  scikit-learn objective is ``c`` times the one handed to the kernel. So that ``alpha``,
  ``learning_rate_init``, ``epsilon``, ``tol`` and ``l1`` mean what they mean in
  scikit-learn, the kernel gets ``l2 = alpha / (c * batch_size)``, SGD's rate
  ``c * learning_rate``, Adam's ``epsilon / c``, the loss rule ``tol / c`` and
  ``l1 / c``: the updates are then scikit-learn's. ``loss_curve_`` (and ``best_loss_``,
  ``loss_``, ``validation_loss_curve_``) are in **nnfast's convention** (the mean data
  loss without the penalty, comparable with the validation loss); multiply by ``c`` for
  scikit-learn's numbers (which also add the L2 penalty).
- **alpha.** scikit-learn adds ``alpha / (2 * n_batch) * ||W||^2`` to each batch's loss:
  nnfast's ``l2 / 2 * ||W||^2`` with ``l2 = alpha / batch_size`` (the full data for
  ``lbfgs``). nnfast holds one rate per run, so a last, smaller batch gets the same ``l2``.
- **learning_rate="invscaling"** (``solver="sgd"``): ``learning_rate_init / (t + 1) **
  power_t`` with ``t`` the samples seen before the epoch, exactly scikit-learn's (it
  updates the rate after each epoch from ``t_``). It runs inside the compiled loop as
  ``schedules.InverseTimeDecay`` per epoch with ``decay_rate = n_samples`` and the
  kernel's ``power = power_t``.
- **learning_rate="adaptive"**: the rate is divided by 5 each time the stopping rule below
  fires, and training stops once it would fire with a rate at or below 1e-6. (scikit-learn's
  docstring says "two consecutive epochs"; its code, followed here, counts
  ``n_iter_no_change``.) This is a ``Callback.adjust_learning_rate`` hook.
- **Stopping rule** (stochastic solvers), scikit-learn's: an epoch "does not improve" when
  the training loss is above the best loss so far minus ``tol`` (with ``early_stopping``:
  the validation score, accuracy or R^2, is below the best score plus ``tol``); training
  stops when more than ``n_iter_no_change`` epochs in a row did not improve, else at
  ``max_iter`` with a ``ConvergenceWarning``. With ``early_stopping`` the
  ``validation_fraction`` split is stratified for single-label classification, and the
  weights of the best-scoring epoch are restored at the end.
- **Momentum and Adam.** nnfast's SGD momentum is PyTorch's form, equal to
  scikit-learn's while the rate is constant (with invscaling/adaptive the two differ in
  how a rate change reaches the velocity). Adam is Kingma & Ba with bias-corrected
  moments; scikit-learn folds the correction into the rate, which amounts to an
  ``epsilon`` of ``epsilon / sqrt(1 - beta_2**t)``: the same up to that tiny term.
- **Randomness and threads.** A ``numpy.random.Generator`` given as ``random_state`` is
  used as it is (not copied): the compiled loop holds its ``bit_generator.lock`` while it
  draws, so estimators sharing one Generator can be fitted in parallel threads without
  corrupting it (they take turns drawing). One estimator is fitted by one thread at a time:
  a second concurrent ``fit`` or ``partial_fit`` raises RuntimeError.
- **Initialisation** is scikit-learn's, draw for draw: for an int (or RandomState)
  ``random_state`` the initial ``coefs_`` and ``intercepts_`` equal scikit-learn's. What is
  random afterwards (shuffles, dropout, the validation split) comes from a NumPy
  ``Generator`` seeded by ``random_state``, so without shuffling (``shuffle=False``,
  no early stopping) the whole run follows scikit-learn's, up to the Adam ``epsilon``
  detail below; with shuffling it is reproducible but not scikit-learn's.
- **warm_start and partial_fit continue the run**: the weights, the optimizer state (update
  count, momentum, Adam moments, the adaptive rate), the random generator and the stopping
  rule's memory all carry over (``train(resume=True)``), so without shuffling ``fit`` with
  ``max_iter=10`` equals two ``warm_start`` fits of 5 epochs. (With shuffling the shuffles
  go on drawing from the same generator, but ``nnfast.train`` starts every call from the
  sample order 0..n-1, so the orders differ from one uninterrupted run's. scikit-learn
  restarts its optimizer at each ``warm_start`` fit and re-seeds its generator at every
  call.)
- **lbfgs** is ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the backend's
  full-batch ``loss_and_gradient`` kernel, with scikit-learn's options (``maxiter=max_iter,
  maxfun=max_fun, gtol=tol``) on scikit-learn's scale of the objective. ``loss_curve_``
  holds the data loss after each iteration.
- **sample_weight / class_weight** are per-sample weights in the kernels (``class_weight``,
  nnfast's addition for the classifier, multiplies ``sample_weight`` by the weight of each
  sample's class; ``"balanced"`` is ``n_samples / (n_classes * count(class))``). The
  objective is scikit-learn's (>= 1.6): ``sum_i w_i L_i / sum_i w_i`` plus ``alpha / (2 *
  sum_i w_i) * ||W||^2``, so integer weights equal repeated rows and scaling all weights
  by k is like dividing ``alpha`` by k. Zero-weight samples stay in the data, as in
  scikit-learn: their labels count in ``classes_`` (and for ``"balanced"``), they take
  their place in the batches and in ``t_`` (which counts samples, not weights), and they
  do not move the weights. ``lbfgs`` (and any full-batch stochastic run, e.g. ``batch_size
  >= n_samples``) minimises exactly scikit-learn's objective: the kernel gets ``l2 = alpha
  / (c * sum(w))``. **Mini-batches differ**: scikit-learn divides each batch's weighted
  gradient, and its ``alpha``, by that batch's weight sum ``sum_{i in B} w_i``; nnfast's
  kernel divides by ``|B| * mean(w)`` (the mean over all training samples, a constant),
  i.e. it scales row i's gradient by ``w_i / mean(w)`` and uses ``l2 = alpha / (c *
  batch_size * mean(w))``. The two agree in expectation and exactly whenever every batch
  has the average weight (unit weights, full batch); otherwise a batch heavier than
  average takes a larger step in nnfast and the same step in scikit-learn, so weighted
  mini-batch runs are not scikit-learn's update for update. With ``early_stopping`` the
  validation split keeps the samples' weights (drawn without regard to them, as
  scikit-learn's), the validation score (accuracy or R^2) and ``validation_loss_curve_``
  are weighted, as are ``loss_curve_`` entries (``sum w L / sum w`` over the epoch;
  scikit-learn's epoch loss averages the weighted batch losses by batch size).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import numbers
import threading
import types
import warnings

import numpy as np

from . import _backend, io, schedules
from ._estimator import (
    BaseEstimator, ClassifierMixin, ConvergenceWarning, RegressorMixin, available_if,
    check_consistent, check_sample_weight, check_X, check_y_column,
    class_weight_vector, classification_labels, decode_classes, encode_classes,
    estimator_from_header, fitting, float_array, not_fitted, params_header, r2_score,
    check_random_state, checked_classes, random_generator, require_y, to_array, warn,
)
from ._spec import OptimizerState
from ._validation import all_finite, check_memory, check_number, encode_labels
from .data import one_hot
from .network import Network, _as_list, _Layers, check_size, full_batch_bytes
from .optimizers import SGD, Adam
from .training import EarlyStopping, History, _check_jobs, train

#: scikit-learn's message when training ends with weights that are not finite (its
#: test_nonfinite_params matches it).
NONFINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
             "values and need to be preprocessed.")

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
#: scikit-learn's floor for learning_rate="adaptive": below it, training stops.
MIN_ADAPTIVE_RATE = 1e-6
# target kind -> (nnfast loss, output activation, scikit-learn's out_activation_)
_TARGETS = {
    "binary": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multilabel": ("binary_cross_entropy", "sigmoid", "logistic"),
    "multiclass": ("cross_entropy", "softmax", "softmax"),
    "regression": ("mse", "identity", "identity"),
}


class _StoppingRule(EarlyStopping):
    """scikit-learn's MLP stopping rule and adaptive rate as an nnfast callback.

    Per epoch (``adjust_learning_rate`` runs before ``on_epoch_end``): count epochs without
    improvement of the training loss by ``tol`` (or of the validation score, with early
    stopping); more than ``n_iter_no_change`` in a row divides an adaptive rate by 5, else
    stops. Its memory is written to ``history._mlp_state`` so that the estimator reads the
    winning run's when there are restarts (each restart trains with a deep copy).
    """

    def __init__(self, *, state, tol, n_iter_no_change, adaptive, loss_scale, rate_scale,
                 validation=None, invscaling=None, verbose=False):
        super().__init__(patience=0, restore_best=validation is not None)
        self.initial_state, self.tol, self.n_iter_no_change = dict(state), tol, n_iter_no_change
        self.adaptive, self.validation = adaptive, validation
        self.loss_scale, self.rate_scale = loss_scale, rate_scale
        self.invscaling, self.verbose = invscaling, verbose

    def on_train_begin(self, network):
        super().on_train_begin(network)
        self.network, self.state = network, dict(self.initial_state)
        # Early stopping restores the best epoch, or (warm start) the starting weights,
        # which are the previous fit's best, as scikit-learn keeps its best weights.
        self.start = network.parameters.copy() if self.restore_best else None
        self.seen, self.stop = -1, False

    def _update(self, epoch, history):
        if epoch == self.seen:
            return
        self.seen, s = epoch, self.state
        if self.validation is not None:
            score = self.validation(self.network)
            history.__dict__.setdefault("validation_score", []).append(score)
            stalled = score < s["best_score"] + self.tol  # scikit-learn's test (NaN resets)
            s["count"] = s["count"] + 1 if stalled else 0
            if score > s["best_score"]:
                s["best_score"] = score
                self.best_parameters, self.best_epoch = self.network.parameters.copy(), epoch
        else:
            loss = history.loss[-1]
            stalled = loss > s["best_loss"] - self.tol / self.loss_scale  # scikit-learn's test
            s["count"] = s["count"] + 1 if stalled else 0
            s["best_loss"] = min(s["best_loss"], loss)
        if self.verbose:
            print(f"Iteration {epoch + 1}, loss = {history.loss[-1]:.8f}")
            if self.validation is not None:
                print(f"Validation score: {history.validation_score[-1]:f}")

    def adjust_learning_rate(self, epoch, history, lr):
        self._update(epoch, history)
        new = lr
        if self.invscaling is not None:  # when the kernel's schedule cannot be used
            lr0, power, t0, n = self.invscaling
            new = lr0 / (t0 + (epoch + 1) * n + 1) ** power
        if self.state["count"] > self.n_iter_no_change:
            if self.adaptive and lr / self.rate_scale > MIN_ADAPTIVE_RATE:
                new = lr / 5.0
                self.state["count"] = 0
                if self.verbose:
                    print(f"Setting learning rate to {new / self.rate_scale:f}")
            else:
                self.stop = True
        history._mlp_state = {**self.state, "learning_rate": new / self.rate_scale}
        return new

    def on_epoch_end(self, epoch, history, network):
        self._update(epoch, history)
        return self.stop

    def on_train_end(self, history, network):
        if self.restore_best:
            best = self.best_parameters if self.best_parameters is not None else self.start
            network.parameters[:] = best
            history.best_epoch = self.best_epoch


class _ValidationScore:
    """Accuracy (subset accuracy for multilabel) or R^2 of a network on held-out rows."""

    def __init__(self, kind, X, Y, w=None):
        self.kind, self.X, self.Y, self.w = kind, X, Y, w

    def __call__(self, network):
        p = _outputs(network, self.X, report=False)
        if self.kind == "regression":
            return r2_score(self.Y, p, self.w) if np.isfinite(p).all() else float("nan")
        if self.kind == "multiclass":
            right = p.argmax(axis=1) == self.Y.argmax(axis=1)
        else:
            right = ((p > 0.5) == (self.Y > 0.5)).all(axis=1)
        return float(np.average(right, weights=self.w))


def _outputs(network, X, report=True):
    """The network's outputs for an X already checked (C-contiguous float64, finite): the
    kernels directly, without ``feedforward``'s second scan of X, after the network's O(1)
    checks of X's width and of its parameter buffer (``report``: non-finite outputs raise
    or warn, see ``Network.feedforward``)."""
    return network._outputs(X, report=report)


def _split(n, fraction, rng, strata=None):
    """(train rows, validation rows): ceil(fraction * n) rows held out, drawn at random;
    stratified by ``strata`` (each class keeps its share, the rounding going to the classes
    with the largest remainders), as scikit-learn's early stopping splits."""
    n_val = int(np.ceil(fraction * n))
    if n_val < 2 or n_val >= n:
        raise ValueError("The validation set is too small (or leaves no training samples): "
                         f"validation_fraction={fraction} of {n} samples is {n_val}. Increase "
                         "'validation_fraction' or the size of your dataset.")
    if strata is None:
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    labels, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    expected = counts * n_val / n
    take = np.floor(expected).astype(np.intp)
    order = np.lexsort((rng.random(labels.size), -(expected - take)))
    take[order[:n_val - take.sum()]] += 1
    val = np.concatenate([rng.permutation(np.flatnonzero(inverse == k))[:take[k]]
                          for k in range(labels.size)])
    is_val = np.zeros(n, dtype=bool)
    is_val[val] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


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


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, training and model files."""

    _kinds = ()

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
            raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, got "
                            f"{self.hidden_layer_sizes!r}.") from None
        p.hidden = [check_number(s, f"hidden_layer_sizes[{i}]", 1, integer=True)
                    for i, s in enumerate(sizes)]
        p.activation = _choice(self.activation, "activation", tuple(ACTIVATIONS))
        p.solver = _choice(self.solver, "solver", SOLVERS)
        p.alpha = check_number(self.alpha, "alpha", 0.0)
        if isinstance(self.batch_size, str):
            p.batch_size = _choice(self.batch_size, "batch_size", ("auto",))
        else:
            p.batch_size = check_number(self.batch_size, "batch_size ('auto' or an int)", 1,
                                        integer=True)
        p.learning_rate = _choice(self.learning_rate, "learning_rate", LEARNING_RATES)
        p.learning_rate_init = check_number(self.learning_rate_init, "learning_rate_init",
                                            0.0, low_open=True)
        p.power_t = check_number(self.power_t, "power_t", 0.0)
        p.max_iter = check_number(self.max_iter, "max_iter", 1, integer=True)
        p.shuffle = _bool(self.shuffle, "shuffle")
        p.tol = check_number(self.tol, "tol", 0.0)
        if not (isinstance(self.verbose, (bool, np.bool_)) or
                (isinstance(self.verbose, numbers.Integral) and self.verbose >= 0)):
            raise TypeError(f"verbose must be a bool or an int >= 0, got {self.verbose!r}.")
        p.verbose = bool(self.verbose)
        p.warm_start = _bool(self.warm_start, "warm_start")
        p.momentum = check_number(self.momentum, "momentum", 0.0, 1.0, high_open=True)
        p.nesterovs_momentum = _bool(self.nesterovs_momentum, "nesterovs_momentum")
        p.early_stopping = _bool(self.early_stopping, "early_stopping")
        p.validation_fraction = check_number(self.validation_fraction, "validation_fraction",
                                             0.0, 1.0, high_open=True)
        p.beta_1 = check_number(self.beta_1, "beta_1", 0.0, 1.0, high_open=True)
        p.beta_2 = check_number(self.beta_2, "beta_2", 0.0, 1.0, high_open=True)
        p.epsilon = check_number(self.epsilon, "epsilon", 0.0, low_open=True)
        if isinstance(self.n_iter_no_change, numbers.Real) and self.n_iter_no_change == np.inf:
            p.n_iter_no_change = np.inf
        else:
            p.n_iter_no_change = check_number(self.n_iter_no_change, "n_iter_no_change (an "
                                              "int >= 1 or numpy.inf)", 1, integer=True)
        p.max_fun = check_number(self.max_fun, "max_fun", 1, integer=True)
        p.l1 = check_number(self.l1, "l1", 0.0)
        if np.ndim(self.dropout) == 0:
            p.dropout = check_number(self.dropout, "dropout", 0.0, 1.0, high_open=True)
            has_dropout = p.dropout > 0
        else:
            p.dropout = tuple(check_number(r, f"dropout[{i}]", 0.0, 1.0, high_open=True)
                              for i, r in enumerate(self.dropout))
            if len(p.dropout) != len(p.hidden):
                raise ValueError(f"dropout must be one rate or {len(p.hidden)} rates (one per "
                                 f"hidden layer), got {len(p.dropout)}.")
            has_dropout = any(p.dropout)
        if has_dropout and p.solver == "lbfgs":
            raise ValueError("dropout needs a stochastic solver ('sgd' or 'adam'): L-BFGS "
                             "minimises one deterministic full-batch objective.")
        p.restarts = check_number(self.restarts, "restarts", 1, integer=True)
        if self.n_jobs is not None and self.n_jobs != -1:
            check_number(self.n_jobs, "n_jobs (None, -1 or an int >= 1)", 1, integer=True)
        p.n_jobs = self.n_jobs
        if self.backend is not None and self.backend not in _backend.BACKENDS:
            raise ValueError(f"backend must be None or one of {_backend.BACKENDS}, got "
                             f"{self.backend!r}.")
        check_random_state(self.random_state)
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
            raise TypeError(f"network_ must be the fitted nnfast.Network, got "
                            f"{type(net).__name__}: fit again.")
        return net

    @property
    def coefs_(self):
        """Weight matrices, ``coefs_[i]`` of shape (units of layer i, units of layer i + 1):
        writable views of ``network_.parameters``; ``coefs_[i] = W`` (or ``coefs_ = [...]``)
        copies checked values (shape, finite numbers) into them."""
        return _Layers(list(self._network("coefs_").weights), "coefs_", "(n_in, n_out)")

    @coefs_.setter
    def coefs_(self, values):
        self.coefs_[:] = _as_list(values, "coefs_", self.n_layers_ - 1)

    @property
    def intercepts_(self):
        """Bias vectors, ``intercepts_[i]`` of shape (units of layer i + 1,): views, set as
        ``coefs_``."""
        return _Layers(list(self._network("intercepts_").biases), "intercepts_", "(n_out,)")

    @intercepts_.setter
    def intercepts_(self, values):
        self.intercepts_[:] = _as_list(values, "intercepts_", self.n_layers_ - 1)

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

    def _loss_scale(self):
        """c: the scikit-learn objective is c times the one nnfast's kernels minimise."""
        if self._target == "regression":
            return 0.5
        if self._target == "multilabel":
            return float(self.network_.n_outputs)
        return 1.0

    # --- training -----------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        with fitting(self):
            fitted = self._is_fitted()
            try:
                return self._fit_checked(X, y, sample_weight, incremental, classes)
            except _Unfit as exc:  # Ctrl-C before the first epoch ended
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
        w = check_sample_weight(sample_weight, X.shape[0])
        Y, codes = self._targets(y, first, incremental, classes)
        cw = self._class_weights(codes, incremental)
        w, self._weight_scale = _combined_weights(w, cw)
        if w is not None:
            if not w.any():
                raise ValueError("Sample weights (sample_weight * class_weight) must contain "
                                 "at least one non-zero number.")
            # unit weights are the unweighted run: the kernels' cheaper path
            w = None if (w == 1.0).all() else np.ascontiguousarray(w, dtype=np.float64)

        sizes = [X.shape[1], *p.hidden, Y.shape[1]]
        if first:
            check_size(sizes, "hidden_layer_sizes", copies=2)  # + scikit-learn's draws
            self._rng = self._initialise(sizes, p)
            self.n_iter_, self.t_ = 0, 0
            self.loss_curve_, self.history_ = [], None
            self._state = {"best_loss": np.inf, "best_score": -np.inf, "count": 0,
                           "learning_rate": p.learning_rate_init}
            self._optimizer_solver = None
        elif (self.network_.layer_sizes != sizes
              or self.network_.activations != (ACTIVATIONS[p.activation],) * len(p.hidden)):
            raise ValueError(
                f"warm_start/partial_fit continue the fitted network (layers "
                f"{self.network_.layer_sizes}, activation {self.network_.activations}), but "
                f"the parameters now ask for layers {sizes}, activation {p.activation!r}; "
                "fit with warm_start=False to start over.")
        with self._backend_scope():
            if p.solver == "lbfgs":
                self._fit_lbfgs(p, X, Y, w, first)
            else:
                self._fit_stochastic(p, X, Y, codes, w, first, incremental)
        return self

    def _clear_fitted(self):
        """Forget everything ``fit`` set: the model is unfitted again."""
        for key in [k for k in self.__dict__ if k.endswith("_") and not k.startswith("__")
                    and k not in self._get_param_names()]:
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
        rng = random_generator(state) if draws is None else None
        factor = 2.0 if p.activation == "logistic" else 6.0
        initial, uniform = [], (draws if draws is not None else rng).uniform
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(factor / (n_in + n_out))
            initial.append((uniform(-bound, bound, (n_in, n_out)), uniform(-bound, bound, n_out)))
        if rng is None:  # after scikit-learn's draws, so that they stay scikit-learn's
            rng = random_generator(state)
        loss, output, _ = _TARGETS[self._target]
        net = Network(sizes, activation=ACTIVATIONS[p.activation], output_activation=output,
                      loss=loss, init="xavier", seed=rng)
        for (W, b), (W0, b0) in zip(zip(net.weights, net.biases), initial):
            W[...], b[...] = W0, b0
        self.network_ = net
        return rng

    def _fit_stochastic(self, p, X, Y, codes, w, first, incremental):
        net, c = self.network_, self._loss_scale()
        validation = validation_data = None
        if p.early_stopping:
            strata = codes if self._target in ("binary", "multiclass") else None
            rows, val_rows = _split(X.shape[0], p.validation_fraction, self._rng, strata)
            Xv, Yv = X[val_rows], Y[val_rows]
            X, Y = X[rows], Y[rows]
            wv = None
            if w is not None:
                w, wv = np.ascontiguousarray(w[rows]), np.ascontiguousarray(w[val_rows])
                if not wv.any():
                    raise ValueError("Every sample of the validation split has weight 0: "
                                     "the validation score is undefined. Change "
                                     "validation_fraction or random_state, or turn "
                                     "early_stopping off.")
            validation = _ValidationScore(self._target, Xv, Yv, wv)
            validation_data = (Xv, Yv) if wv is None else (Xv, Yv, wv)
        if w is not None and not w.any():
            raise ValueError("Every training sample left after the validation split has "
                             "weight 0.")
        n = X.shape[0]
        # scikit-learn divides each batch's gradient and its alpha by the batch's weight sum;
        # nnfast by batch_size * mean(w) (see the module docstring): the same in expectation,
        # and exactly the same for unit weights and for the full batch.
        w_mean = self._weight_scale * (1.0 if w is None else float(w.mean()))
        if p.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if p.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", UserWarning, stacklevel=4)
            batch_size = min(p.batch_size, n)
        steps_per_epoch = -(-n // batch_size)

        resume = not first and self._optimizer_solver == p.solver
        if p.solver == "adam":
            optimizer = Adam(p.beta_1, p.beta_2, p.epsilon / c)
        else:
            optimizer = SGD(p.momentum, nesterov=p.nesterovs_momentum and p.momentum > 0)
        state = dict(self._state)
        rate = state["learning_rate"] if p.learning_rate == "adaptive" else p.learning_rate_init
        schedule = invscaling = None
        if p.solver == "sgd" and p.learning_rate == "invscaling":
            done = net._optimizer_state.step[0] if resume else 0
            if done % steps_per_epoch == 0 and self.t_ == done // steps_per_epoch * n:
                # scikit-learn's lr / (t + 1) ** power_t with t = n * epoch samples seen,
                # computed inside the compiled loop.
                schedule = schedules.InverseTimeDecay(decay_rate=float(n), decay_steps=1,
                                                      per="epoch", power=p.power_t)
            else:  # other batches before (partial_fit): from t_ in Python, per epoch
                rate = p.learning_rate_init / (self.t_ + 1) ** p.power_t
                invscaling = (c * p.learning_rate_init, p.power_t, self.t_, n)
        # SGD's step is the rate times the gradient, which is 1/c times scikit-learn's: the
        # rate is scaled by c. Adam's step does not depend on the gradient's scale.
        rate_scale = c if p.solver == "sgd" else 1.0
        rule = _StoppingRule(state=state, tol=p.tol, n_iter_no_change=p.n_iter_no_change,
                             adaptive=p.solver == "sgd" and p.learning_rate == "adaptive",
                             loss_scale=c, rate_scale=rate_scale, validation=validation,
                             invscaling=invscaling, verbose=p.verbose)
        epochs = 1 if incremental else p.max_iter
        interrupted = diverged = False
        try:
            history = train(net, X, Y, epochs=epochs, learning_rate=rate_scale * rate,
                            batch_size=batch_size, shuffle=p.shuffle, seed=self._rng,
                            optimizer=optimizer, lr_schedule=schedule, l1=p.l1 / c,
                            l2=p.alpha / (c * batch_size * w_mean), dropout=p.dropout,
                            validation_data=validation_data, sample_weight=w,
                            restarts=p.restarts if first else 1, n_jobs=p.n_jobs,
                            callbacks=[rule], resume=resume, on_divergence="raise")
        except KeyboardInterrupt:  # scikit-learn keeps the model trained so far
            history, interrupted = net.history or History(), True
            if first and not history.epochs:
                raise _Unfit("Training interrupted by user before its first epoch ended: the "
                             "model is not fitted.") from None
            if not incremental:
                warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        except FloatingPointError:  # the weights are back at the last usable epoch's
            history = net.history
            if p.early_stopping:  # the best epoch's weights are kept, as in scikit-learn,
                # and the diverged epoch is recorded as scikit-learn records it: a NaN score
                history.__dict__.setdefault("validation_score", [])
                history.validation_score.extend(
                    [np.nan] * (history.epochs - len(history.validation_score)))
            else:  # scikit-learn's weights would be non-finite: ValueError, below
                diverged = True
                _drop_last_epoch(history)  # the non-finite one
        scores = getattr(history, "validation_score", None)
        if scores is not None:
            del scores[history.epochs:]
        self._optimizer_solver = p.solver
        self._state = {**state, **getattr(history, "_mlp_state", {})}
        self.n_iter_ = history.epochs
        self.t_ += n * history.epochs
        self._record(history, first)
        if not p.early_stopping:
            self.validation_scores_ = self.validation_loss_curve_ = None
        else:
            if first or getattr(self, "validation_scores_", None) is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
            self.validation_scores_.extend(getattr(history, "validation_score", []))
            self.validation_loss_curve_.extend(history.val_loss)
        self.best_loss_ = None if p.early_stopping else self._state["best_loss"]
        self.best_validation_score_ = self._state["best_score"] if p.early_stopping else None
        if diverged:
            raise ValueError(NONFINITE + f" (The loss of epoch {history.epochs} was not finite;"
                             f" try a smaller learning_rate_init.)")
        if interrupted and incremental:  # the model is consistent; the caller's loop stops
            raise KeyboardInterrupt
        if (not incremental and not interrupted and history.epochs == epochs
                and history.stopped_epoch is None):
            warn(f"Stochastic Optimizer: Maximum iterations ({p.max_iter}) reached and the "
                 "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=5)

    def _record(self, history, first):
        """Append a training run to ``loss_curve_`` and to the cumulative ``history_``."""
        self.loss_curve_.extend(history.loss)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
        if first or self.history_ is None:
            self.history_ = history
            return
        total, offset = self.history_, self.history_.epochs
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            getattr(total, name).extend(getattr(history, name))
        scores = getattr(history, "validation_score", [])
        if scores:
            total.__dict__.setdefault("validation_score", []).extend(scores)
        total.best_epoch = None if history.best_epoch is None else offset + history.best_epoch
        total.stopped_epoch = (None if history.stopped_epoch is None
                               else offset + history.stopped_epoch)
        total.interrupted = history.interrupted

    def _fit_lbfgs(self, p, X, Y, w, first):
        import scipy.optimize

        net, c = self.network_, self._loss_scale()
        kernels, spec = _backend.kernels(), net.spec
        restarts = p.restarts if first else 1
        workers = min(restarts, _check_jobs(p.n_jobs, restarts))
        check_memory(restarts * 96, "restarts", lambda: f"the records of {restarts} restarts")
        check_memory(workers * full_batch_bytes(spec, X.shape[0]), "X",
                     lambda: f"solver='lbfgs': the full-batch workspace of {X.shape[0]} rows "
                             f"through layers {list(spec.sizes)}"
                             + (f", for {workers} restarts at once" if workers > 1 else ""))
        # scikit-learn's alpha / (2 * sum(w)) * ||W||^2 (sum(w) = n_samples unweighted)
        total = X.shape[0] if w is None else float(w.sum())
        l1, l2 = p.l1 / c, p.alpha / (c * total * self._weight_scale)
        cancel = threading.Event()

        def penalty(x):
            x = x[:spec.n_weights]
            return l1 * np.abs(x).sum() + 0.5 * l2 * (x @ x)

        def loss(x):
            return float(kernels.loss_and_gradient(spec, x, X, Y, l1, l2, None, w))

        def minimise(x0):
            """One L-BFGS run from x0; Ctrl-C (or a cancel) keeps its last iterate."""
            grad, last, curve = np.empty(spec.n_params), {}, []
            kept = {"x": x0, "value": None}

            def objective(x):
                if cancel.is_set():
                    raise KeyboardInterrupt("cancelled")
                value = kernels.loss_and_gradient(spec, x, X, Y, l1, l2, grad, w)
                last["x"], last["value"] = x.copy(), value
                return c * value, c * grad  # scikit-learn's scale: gtol means the same

            def callback(xk):
                value = last["value"] if np.array_equal(xk, last.get("x")) else \
                    loss(np.ascontiguousarray(xk))
                curve.append(float(value - penalty(xk)))
                kept["x"], kept["value"] = np.array(xk, dtype=np.float64), value
                if p.verbose:
                    print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

            try:
                result = scipy.optimize.minimize(
                    objective, x0, method="L-BFGS-B", jac=True, callback=callback,
                    options={"maxiter": p.max_iter, "maxfun": p.max_fun, "gtol": p.tol})
            except KeyboardInterrupt:
                value = kept["value"] if kept["value"] is not None else loss(kept["x"])
                return types.SimpleNamespace(
                    x=kept["x"], fun=c * value, nit=len(curve), status=None, message="",
                    interrupted=True), curve
            result.interrupted = False
            return result, curve

        runs, interrupted = self._lbfgs_runs(net, minimise, restarts, workers, cancel)
        fun = [r.fun if np.isfinite(r.fun) else np.inf for r, _ in runs]
        best = int(np.argmin(fun))
        result, curve = runs[best]
        interrupted = interrupted or result.interrupted
        if first and interrupted and not any(curve for _, curve in runs):
            raise _Unfit("Training interrupted by user before its first iteration ended: the "
                         "model is not fitted.")
        finite = all_finite(np.ascontiguousarray(result.x, dtype=np.float64))
        if finite:
            net.parameters[:] = result.x
        self._optimizer_solver = None  # a later stochastic run starts a fresh optimizer
        history = History()
        history.loss = curve
        history.best_epoch = int(np.argmin(curve)) if curve else None
        history.interrupted = interrupted
        if len(runs) > 1:
            history.restart = best
            history.restart_losses = [float(f) / c for f in fun]
        net.history = history
        self.n_iter_ = min(int(result.nit), p.max_iter)
        self._record(history, first)
        if not curve:
            params = net._kernel_parameters()
            self.loss_ = float(loss(params) - penalty(params))
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_
        self.validation_scores_ = self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        if not finite or not np.isfinite(self.loss_) or not all_finite(
                _outputs(net, X, report=False)):
            raise ValueError(NONFINITE)
        if interrupted:
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=5)
        elif result.status != 0:
            message = result.message.decode() if isinstance(result.message, bytes) \
                else result.message
            warn(f"lbfgs failed to converge after {result.nit} iteration(s) (status="
                 f"{result.status}): {message}\nIncrease the number of iterations (max_iter) "
                 f"or of function evaluations (max_fun), or scale the data.",
                 ConvergenceWarning, stacklevel=5)

    def _lbfgs_runs(self, net, minimise, restarts, workers, cancel):
        """[(result, curve)] of each L-BFGS restart: restart 0 from the network's weights,
        restart i from a network initialised by the i-th child spawned from the estimator's
        generator (one at a time, as ``rng.spawn`` would), ``workers`` at a time; Ctrl-C
        cancels them all, keeping each one's last iterate. Returns (runs, interrupted)."""
        if restarts == 1:
            result, curve = minimise(net.parameters.copy())
            return [(result, curve)], result.interrupted
        runs, lock, shared = [None] * restarts, threading.Lock(), {"next": 0}

        def worker():
            while True:
                with lock:
                    if cancel.is_set() or shared["next"] >= restarts:
                        return
                    i = shared["next"]
                    shared["next"] += 1
                    child = None if i == 0 else self._rng.spawn(1)[0]
                start = net.parameters.copy() if i == 0 else \
                    net._restart_copy(child).parameters.copy()
                runs[i] = minimise(start)

        interrupted = False
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(worker) for _ in range(workers)]
            try:
                concurrent.futures.wait(futures)
            except KeyboardInterrupt:
                interrupted = True
                cancel.set()
                concurrent.futures.wait(futures)
            for f in futures:
                f.result()
        return [r for r in runs if r is not None], interrupted

    # --- predicting ---------------------------------------------------------------------------

    def _forward(self, X, method):
        net = self._network(method)
        X = check_X(self, X, reset=False)
        with self._backend_scope():
            return _outputs(net, X)

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
        header.update({
            "target": self._target, "n_features_in": int(self.n_features_in_),
            "layer_sizes": net.layer_sizes, "n_iter": int(self.n_iter_), "t": int(self.t_),
            "loss": float(self.loss_),
            "best_loss": None if self.best_loss_ is None else float(self.best_loss_),
            "best_validation_score": (None if self.best_validation_score_ is None
                                      else float(self.best_validation_score_)),
            "state": {k: float(v) for k, v in self._state.items()},
            "optimizer_solver": self._optimizer_solver,
            "optimizer_step": None if state is None else int(state.step[0]),
            "rng_state": _jsonable(rng_state),
            "feature_names_in": None if names is None else [str(s) for s in names],
        })
        if hasattr(self, "classes_"):
            header["classes"] = encode_classes(self.classes_)
        arrays = {"parameters": net.parameters, "loss_curve": np.asarray(self.loss_curve_),
                  "learning_rate": np.asarray(self.history_.learning_rate)}
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
            raise ValueError(f"layer_sizes {sizes} do not match n_features_in={n_features} and "
                             f"hidden_layer_sizes={p.hidden}")
        model._target = target
        if issubclass(cls, ClassifierMixin):
            model.classes_ = decode_classes(header["classes"])
            k = model.classes_.size
            fits = {"binary": k == 2 and sizes[-1] == 1,
                    "multiclass": k > 2 and sizes[-1] == k,
                    "multilabel": sizes[-1] == k and np.array_equal(model.classes_,
                                                                     np.arange(k))}[target]
            if not fits:
                raise ValueError(f"classes {model.classes_.tolist()} do not fit a {target} "
                                 f"output of {sizes[-1]} units")
        loss, output, _ = _TARGETS[target]
        model._rng = np.random.default_rng()
        rng_state = header["rng_state"]
        if rng_state is not None:
            kind = rng_state.get("bit_generator") if isinstance(rng_state, dict) else None
            if kind not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
                raise ValueError(f"unknown bit generator {kind!r}")
            bit_generator = getattr(np.random, kind)()
            bit_generator.state = rng_state
            model._rng = np.random.Generator(bit_generator)
        net = Network(sizes, activation=ACTIVATIONS[p.activation], output_activation=output,
                      loss=loss, init="zeros", seed=model._rng)
        net.parameters[:] = float_array(arrays, "parameters", (net.spec.n_params,))
        if "optimizer_m" in arrays:
            state = OptimizerState(net.spec.n_params)
            # a moment the optimizer does not use is stored as a one-element placeholder
            state.m, state.v = (float_array(arrays, key, (None,)) for key in
                                ("optimizer_m", "optimizer_v"))
            if {state.m.size, state.v.size} - {1, net.spec.n_params}:
                raise ValueError(f"optimizer_m and optimizer_v hold {state.m.size} and "
                                 f"{state.v.size} values, expected 1 or {net.spec.n_params}")
            state.step[0] = check_number(header["optimizer_step"], "optimizer_step", 0,
                                         integer=True)
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
        model.best_loss_ = (None if header["best_loss"] is None
                            else check_number(header["best_loss"], "best_loss"))
        model.best_validation_score_ = (
            None if header["best_validation_score"] is None
            else check_number(header["best_validation_score"], "best_validation_score"))
        state = header["state"]
        best_loss, best_score = float(state["best_loss"]), float(state["best_score"])
        if np.isnan(best_loss) or best_loss == -np.inf or np.isnan(best_score) \
                or best_score == np.inf:  # +inf / -inf: nothing seen yet
            raise ValueError(f"state holds best_loss={best_loss}, best_score={best_score}")
        model._state = {"best_loss": best_loss, "best_score": best_score,
                        "count": check_number(_whole(state["count"]), "state count", 0,
                                              integer=True),
                        "learning_rate": check_number(state["learning_rate"],
                                                      "state learning_rate", 0.0,
                                                      low_open=True)}
        solver = header["optimizer_solver"]
        model._optimizer_solver = None if solver is None else _choice(solver, "solver", SOLVERS)
        model.loss_curve_ = float_array(arrays, "loss_curve", (None,), finite=False).tolist()
        history = History()
        history.loss = list(model.loss_curve_)
        history.learning_rate = float_array(arrays, "learning_rate", (None,)).tolist()
        if "validation_scores" in arrays:
            model.validation_scores_ = float_array(arrays, "validation_scores", (None,),
                                                   finite=False).tolist()
            model.validation_loss_curve_ = float_array(arrays, "validation_loss_curve",
                                                       (None,), finite=False).tolist()
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


class _Unfit(Exception):
    """Training stopped before anything was learnt: the estimator is left unfitted."""


def _drop_last_epoch(history):
    """Remove the last epoch from every list of ``history`` (a diverged epoch's record)."""
    n = max(0, history.epochs - 1)
    for x in (history.loss, history.accuracy, history.val_loss, history.val_accuracy,
              history.learning_rate):
        del x[n:]
    if history.best_epoch is not None and history.best_epoch >= n:
        history.best_epoch = None
    history.stopped_epoch = None


def _combined_weights(sample_weight, class_weight):
    """(weights or None, scale): ``sample_weight * class_weight`` divided by ``scale``, which
    keeps them (and the kernels' sums of them) finite; ``scale`` is 1 for ordinary weights.

    The estimators' objective, ``sum w L / sum w + alpha / (2 sum w) ||W||^2``, gets the true
    ``sum w`` from ``scale`` for its penalty."""
    scale, parts = 1.0, []
    for w in (sample_weight, class_weight):
        if w is None:
            continue
        top = float(w.max())
        if top > 0 and not 1e-150 <= top <= 1e150:
            w, scale = w / top, scale * top
        parts.append(w)
    if not parts:
        return None, 1.0
    w = parts[0] if len(parts) == 1 else parts[0] * parts[1]
    top = float(w.max())
    if top > 0 and not 1e-150 <= top <= 1e150:
        w, scale = w / top, scale * top
    return w, scale


def _stochastic_only():
    """``partial_fit`` exists only for the stochastic solvers, as in scikit-learn."""
    return available_if(
        lambda est: est.solver != "lbfgs",
        lambda est: f"partial_fit is only available for stochastic optimizers. {est.solver} "
                    "is not stochastic.")


@io.register
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on nnfast's kernels.

    Two classes: one sigmoid output and binary cross-entropy; more: softmax and
    cross-entropy; a 2-D 0/1 indicator y (multilabel): one sigmoid output per label.
    Labels may be of any type (``classes_`` holds them, sorted). See the module docstring
    for how every scikit-learn parameter maps onto nnfast's kernels.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer.
    activation : {'relu', 'logistic', 'tanh', 'identity'}, default='relu'
        Hidden-layer activation ('logistic' is nnfast's 'sigmoid').
    solver : {'adam', 'sgd', 'lbfgs'}, default='adam'
        'adam' and 'sgd' run nnfast's compiled mini-batch loop; 'lbfgs' is SciPy's L-BFGS-B
        on the full-batch ``loss_and_gradient`` kernel.
    alpha : float, default=1e-4
        L2 strength, scikit-learn's: ``alpha / (2 * n_batch) * ||W||^2`` per batch.
    batch_size : int or 'auto', default='auto'
        Samples per update; 'auto' is ``min(200, n_samples)``. Ignored by 'lbfgs'.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Rate schedule of solver='sgd'.
    learning_rate_init : float, default=0.001
        Step size of 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of 'invscaling': ``learning_rate_init / (t + 1) ** power_t``.
    max_iter : int, default=200
        Epochs for 'sgd' and 'adam', iterations for 'lbfgs'.
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : int, numpy Generator or RandomState, default=None
        Seeds the initial weights, shuffles, dropout, validation split and restarts.
    tol : float, default=1e-4
        Improvement below which an epoch counts as "no improvement" (and 'lbfgs''s gtol).
    verbose : bool, default=False
        Print the loss of every epoch.
    warm_start : bool, default=False
        ``fit`` continues the previous run (weights, optimizer state, rule) instead of
        starting over.
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
        Nesterov momentum (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop when the
        validation accuracy stops improving; the best epoch's weights are kept.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` tolerated (more stop training).
    max_fun : int, default=15000
        Most loss evaluations of 'lbfgs'.
    l1 : float, default=0.0
        nnfast: L1 penalty ``l1 * sum|W|`` added to the objective.
    dropout : float or sequence of float, default=0.0
        nnfast: inverted-dropout rate of every (or each) hidden layer ('sgd', 'adam').
    restarts : int, default=1
        nnfast: train this many differently initialised networks (in threads) and keep the
        one with the lowest final loss (validation loss with early stopping). Restart 0 is
        the run ``restarts=1`` makes.
    n_jobs : int or None, default=None
        nnfast: threads for the restarts (None or -1: up to one per CPU).
    backend : {'cython', 'numpy'} or None, default=None
        nnfast: kernel backend for this model (None: the one in use).
    class_weight : dict, 'balanced' or None, default=None
        nnfast: weight of each class's samples in the loss (see ``fit``'s sample_weight).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_ : lists of ndarray
        Views of ``network_``'s weights and biases.
    loss_curve_ : list of float
        Mean training loss per epoch (per iteration for 'lbfgs'), nnfast's convention.
    loss_, best_loss_ : float
        Last and best training loss (``best_loss_`` is None with early stopping).
    validation_scores_ : list of float or None
        Validation accuracy per epoch (early stopping only).
    validation_loss_curve_ : list of float or None
        Validation loss per epoch (early stopping only), comparable with ``loss_curve_``.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs (iterations) run by the last fit or partial_fit call.
    t_ : int
        Training samples seen by the stochastic solver, over all calls.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X had string column names (pandas).
    n_layers_, n_outputs_ : int
    out_activation_ : str
        'softmax' or 'logistic'.
    history_ : nnfast.History
        Everything recorded per epoch (loss, accuracy, val_loss, learning_rate, ...).
    network_ : nnfast.Network
        The trained network.

    Examples
    --------
    >>> import numpy as np, nnfast as nf
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = ["no", "yes", "yes", "no"]
    >>> clf = nf.MLPClassifier((8,), activation="tanh", solver="lbfgs", random_state=0)
    >>> clf.fit(X, y).predict(X).tolist()
    ['no', 'yes', 'yes', 'no']
    """

    _kinds = ("binary", "multiclass", "multilabel")
    _nnfast_tags = {"multi_label": True}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 l1=0.0, dropout=0.0, restarts=1, n_jobs=None, backend=None,
                 class_weight=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.l1 = l1
        self.dropout = dropout
        self.restarts = restarts
        self.n_jobs = n_jobs
        self.backend = backend
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y); returns self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (any real number; at least one positive):
            the loss is ``sum_i w_i L_i / sum_i w_i`` and the L2 penalty ``alpha / (2 *
            sum_i w_i) * ||W||^2``, as in scikit-learn, so an integer weight k is k repeated
            rows and a weight of 0 makes the sample not count (it still takes its place in
            the batches). Multiplied by ``class_weight``'s weights. Exactly scikit-learn's
            objective for 'lbfgs' and full batches; mini-batch steps are normalised by
            ``batch_size * mean(w)`` rather than each batch's weight sum (module docstring).
        """
        return self._fit(X, y, sample_weight)

    @_stochastic_only()
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing the current run; returns self.

        ``classes`` (every label that will ever appear) is required on the first call.
        ``fit`` keeps the epochs done on Ctrl-C and returns, as scikit-learn's does;
        ``partial_fit``, which runs in the caller's loop, keeps them and re-raises the
        KeyboardInterrupt so that the loop stops too.
        """
        fitted = self._is_fitted()
        if classes is not None and fitted and hasattr(self, "classes_") and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the last call to "
                             f"partial_fit, was: {self.classes_!r}.")
        if classes is None and not fitted and (np.ndim(y) != 2 or np.shape(y)[1] == 1):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, y, first, incremental, classes):
        """(Y for the network, class codes or None); sets classes_ when starting over."""
        name = type(self).__name__
        if y.ndim == 2 and y.shape[1] > 1:
            if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
                raise ValueError("A 2-D y must be a 0/1 label indicator matrix (multilabel); "
                                 "multiclass-multioutput is not supported.")
            if first:
                if not incremental and y.shape[1] > y.shape[0]:
                    raise ValueError(f"y has {y.shape[1]} label columns for {y.shape[0]} "
                                     f"samples: more classes than samples cannot be learnt "
                                     f"(is y transposed?).")
                self._target, self.classes_ = "multilabel", np.arange(y.shape[1])
            elif self._target != "multilabel" or y.shape[1] != self.classes_.size:
                raise ValueError(f"y has {y.shape[1]} label columns, but the model was fitted "
                                 f"on {self._describe_target()}.")
            return np.ascontiguousarray(y, dtype=np.float64), None
        y = check_y_column(y)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D class labels or a 2-D indicator matrix, got shape "
                             f"{y.shape}.")
        y = classification_labels(y)
        try:
            labels = np.unique(np.asarray(classes) if first and classes is not None else y)
        except TypeError:
            raise ValueError("Mix of label input types (string and number) in y.") from None
        if first:
            if labels.size < 2:
                raise ValueError(f"{name} needs samples of at least two classes in y, got one "
                                 f"class: {labels.tolist()!r}.")
            self.classes_ = labels
            self._target = "binary" if labels.size == 2 else "multiclass"
        elif self._target == "multilabel":
            raise ValueError(f"y holds class labels, but the model was fitted on "
                             f"{self._describe_target()}.")
        elif self.warm_start and not incremental and not np.array_equal(labels, self.classes_):
            raise ValueError(f"warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {labels}.")
        codes = encode_labels(y, "y", y.shape[0], self.classes_)[1]
        if self._target == "binary":
            return (codes == 1).astype(np.float64).reshape(-1, 1), codes
        k = self.classes_.size
        check_memory(8 * codes.size * k, "y", lambda: f"y has {k} classes: the one-hot targets "
                                                      f"of {codes.size} rows x {k} classes")
        return one_hot(codes, k), codes

    def _describe_target(self):
        if self._target == "multilabel":
            return f"a {self.classes_.size}-label indicator matrix"
        return f"class labels {self.classes_.tolist()!r}"

    def _class_weights(self, codes, incremental):
        if self.class_weight is None:
            return None
        if codes is None:
            raise ValueError("class_weight is not supported for multilabel y; pass "
                             "sample_weight.")
        return class_weight_vector(self.class_weight, self.classes_, codes,
                                   balanced_ok=not incremental)

    def predict(self, X):
        """Predicted labels: ``classes_`` (shape (n,)), or a 0/1 int matrix for multilabel."""
        p = self._forward(X, "predict")
        if self._target == "multiclass":
            return checked_classes(self.classes_, p.shape[1])[p.argmax(axis=1)]
        if self._target == "binary":
            return checked_classes(self.classes_, 2)[(p[:, 0] > 0.5).astype(np.intp)]
        return (p > 0.5).astype(int)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order
        (for multilabel: each label's probability)."""
        p = self._forward(X, "predict_proba")
        if self._target == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


@io.register
class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on nnfast's kernels.

    Identity output trained on the mean squared error. nnfast's MSE is twice scikit-learn's
    "squared_error" (half the MSE): ``loss_curve_`` is in nnfast's convention, while
    ``alpha``, ``learning_rate_init``, ``epsilon`` and ``tol`` keep scikit-learn's meaning
    (see the module docstring). One output gives 1-D predictions, a 2-D y one column per
    output. The parameters are ``MLPClassifier``'s (without ``class_weight``) plus
    ``loss``, which only supports scikit-learn's default ``"squared_error"``.

    Examples
    --------
    >>> import numpy as np, nnfast as nf
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1); y = 2 * X.ravel() + 1
    >>> reg = nf.MLPRegressor((), solver="lbfgs", random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 6)
    1.0
    """

    _kinds = ("regression",)
    _nnfast_tags = {"multi_output": True}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="squared_error",
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 l1=0.0, dropout=0.0, restarts=1, n_jobs=None, backend=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.l1 = l1
        self.dropout = dropout
        self.restarts = restarts
        self.n_jobs = n_jobs
        self.backend = backend

    def _checked_params(self):
        if self.loss != "squared_error":
            raise ValueError(f"loss must be 'squared_error' (nnfast has no Poisson deviance "
                             f"kernel or exp output), got {self.loss!r}.")
        return super()._checked_params()

    def _expected_failed_checks(self):
        return {}

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y); returns self. ``sample_weight`` as in ``MLPClassifier.fit``."""
        return self._fit(X, y, sample_weight)

    @_stochastic_only()
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the current run; returns self. Ctrl-C keeps
        the model consistent and re-raises (see ``MLPClassifier.partial_fit``)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _targets(self, y, first, incremental, classes):
        y = to_array(y, "y")
        if y.dtype.kind not in "biuf":
            raise ValueError(f"y must hold numbers for a regressor, got dtype {y.dtype}.")
        y = check_y_column(y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D (n_samples, n_outputs), got shape {y.shape}.")
        Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float64)
        if np.isnan(Y).any():
            raise ValueError("Input y contains NaN.")
        if not np.isfinite(Y).all():
            raise ValueError("Input y contains infinity or a value too large for "
                             "dtype('float64').")
        if first:
            self._target = "regression"
        elif Y.shape[1] != self.network_.n_outputs:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the model was fitted with "
                             f"{self.network_.n_outputs}.")
        return Y, None

    def predict(self, X):
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        p = self._forward(X, "predict")
        return p.ravel() if p.shape[1] == 1 else p


__all__ = ["MLPClassifier", "MLPRegressor", "ConvergenceWarning"]
