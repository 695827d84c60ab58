"""scikit-learn's MLP training written out in plain NumPy and SciPy, without scikit-learn.

This is the specification nnfast's estimators are held to: the same arithmetic as
scikit-learn 1.9's ``sklearn/neural_network`` (``_multilayer_perceptron.py``, ``_base.py``,
``_stochastic_optimizers.py``), in the same order, and the same random draws from the same
``RandomState``: the per-epoch shuffle (``sklearn.utils.shuffle``), the early-stopping split
(``train_test_split``, stratified for binary targets) and the initial weights.
``bench/sklearn_parity.py --reference`` shows that a model trained here equals
scikit-learn's to rounding (1e-10 relative or better), which is what proves the formulas.

Dense input only; the dtype of X is kept as scikit-learn keeps it.

    from sklearn_reference import ReferenceMLP
    model = ReferenceMLP("classifier", hidden_layer_sizes=(20,), solver="sgd",
                         random_state=0).fit(X, y)
    model.coefs_, model.intercepts_, model.n_iter_, model.loss_curve_
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import scipy.optimize
from scipy.special import expit, xlogy

#: scikit-learn's MLP parameters and their defaults (``loss`` is the regressor's).
DEFAULTS = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 0.0001,
    "batch_size": "auto",
    "learning_rate": "constant",
    "learning_rate_init": 0.001,
    "power_t": 0.5,
    "max_iter": 200,
    "shuffle": True,
    "random_state": None,
    "tol": 1e-4,
    "verbose": False,
    "warm_start": False,
    "momentum": 0.9,
    "nesterovs_momentum": True,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "n_iter_no_change": 10,
    "max_fun": 15000,
    "loss": "squared_error",
}

#: Below this rate, learning_rate="adaptive" stops instead of dividing by 5.
MIN_ADAPTIVE_RATE = 1e-6


# --- randomness: what check_random_state, shuffle and train_test_split draw -----------------


def random_state(seed):
    """scikit-learn's ``check_random_state``: None is NumPy's global RandomState, an int a
    new RandomState, a RandomState itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def shuffled(order, rs):
    """``sklearn.utils.shuffle(order, random_state=rs)``: ``order[p]`` with ``p`` the
    in-place ``rs.shuffle`` of ``arange(n)``, which equals shuffling ``order`` in place
    (Fisher-Yates draws do not depend on the values)."""
    p = np.arange(order.shape[0])
    rs.shuffle(p)
    return order[p]


def approximate_mode(class_counts, n_draws, rs):
    """``sklearn.utils.extmath._approximate_mode``: per-class draws, ties broken by ``rs``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        values = np.sort(np.unique(remainder))[::-1]
        for value in values:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rs.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def split_rows(n, test_size, rs, stratify=None):
    """(train rows, test rows) exactly as ``train_test_split(..., test_size=test_size,
    random_state=rs, stratify=stratify)`` orders them: ``ShuffleSplit`` takes one
    permutation; ``StratifiedShuffleSplit`` permutes within each class and then permutes
    the train and the test rows again."""
    if not 0.0 < test_size < 1.0:
        raise ValueError(
            f"test_size={test_size} should be either positive and smaller than "
            f"the number of samples {n} or a float in the (0, 1) range"
        )
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n}, test_size={test_size} and train_size=None, "
            "the resulting train set will be empty."
        )
    if stratify is None:
        permutation = rs.permutation(n)
        return permutation[n_test : n_test + n_train], permutation[:n_test]
    y = np.asarray(stratify)
    if y.ndim == 2:  # each distinct row is a class, named by its string form
        y = np.array([" ".join(row.astype("str")) for row in y])
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if np.min(class_counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too "
            "few. The minimum number of groups for any class cannot be less "
            "than 2. Classes with too few members are: "
            f"{classes[class_counts < 2].tolist()}"
        )
    if n_train < classes.size or n_test < classes.size:
        raise ValueError(
            f"train_size = {n_train} and test_size = {n_test} must be at least "
            f"the number of classes = {classes.size}"
        )
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = approximate_mode(class_counts, n_train, rs)
    t_i = approximate_mode(class_counts - n_i, n_test, rs)
    train, test = [], []
    for i in range(classes.size):
        rows = class_indices[i].take(rs.permutation(class_counts[i]), mode="clip")
        train.extend(rows[: n_i[i]])
        test.extend(rows[n_i[i] : n_i[i] + t_i[i]])
    return rs.permutation(train), rs.permutation(test)


# --- activations (in place) and the derivatives written with the activation's value ------------


def _softmax(z):
    tmp = z - z.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=z)
    z /= z.sum(axis=1)[:, np.newaxis]


ACTIVATIONS = {
    "identity": lambda z: None,
    "exp": lambda z: np.exp(z, out=z),
    "tanh": lambda z: np.tanh(z, out=z),
    "logistic": lambda z: expit(z, out=z),
    "relu": lambda z: np.maximum(z, 0, out=z),
    "softmax": _softmax,
}


def _relu_derivative(a, delta):
    delta[a == 0] = 0


def _logistic_derivative(a, delta):
    delta *= a
    delta *= 1 - a


def _tanh_derivative(a, delta):
    delta *= 1 - a**2


DERIVATIVES = {
    "identity": lambda a, delta: None,
    "tanh": _tanh_derivative,
    "logistic": _logistic_derivative,
    "relu": _relu_derivative,
}


# --- losses as scikit-learn reports them (the gradient is always output - y) -----------------


def squared_loss(y, p, w=None):
    """Half the squared error, averaged over samples (weighted) and then over outputs."""
    return 0.5 * np.average((y - p) ** 2, weights=w, axis=0).mean()


def poisson_loss(y, p, w=None):
    """Half the Poisson deviance (p = exp(z)), averaged over samples, summed over outputs."""
    return np.average(xlogy(y, y / p) - y + p, weights=w, axis=0).sum()


def log_loss(y, p, w=None):
    """Cross-entropy of softmax outputs, p clipped to [eps, 1 - eps]; summed over classes."""
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    if p.shape[1] == 1:
        p = np.append(1 - p, p, axis=1)
    if y.shape[1] == 1:
        y = np.append(1 - y, y, axis=1)
    return -np.average(xlogy(y, p), weights=w, axis=0).sum()


def binary_log_loss(y, p, w=None):
    """Binary cross-entropy of logistic outputs, p clipped; summed over labels."""
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return -np.average(xlogy(y, p) + xlogy(1 - y, 1 - p), weights=w, axis=0).sum()


LOSS_FUNCTIONS = {
    "squared_error": squared_loss,
    "poisson": poisson_loss,
    "log_loss": log_loss,
    "binary_log_loss": binary_log_loss,
}


# --- optimizers -------------------------------------------------------------------------------


class SGD:
    """v := mu v - lr g; p += v, or with Nesterov p += mu v - lr g (v already updated)."""

    def __init__(self, params, learning_rate_init, schedule, momentum, nesterov, power_t):
        self.learning_rate_init, self.learning_rate = learning_rate_init, float(learning_rate_init)
        self.schedule, self.momentum, self.nesterov, self.power_t = (
            schedule,
            momentum,
            nesterov,
            power_t,
        )
        self.velocities = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        updates = [
            self.momentum * v - self.learning_rate * g for v, g in zip(self.velocities, grads)
        ]
        self.velocities = updates
        if self.nesterov:
            updates = [
                self.momentum * v - self.learning_rate * g for v, g in zip(self.velocities, grads)
            ]
        for p, u in zip(params, updates):
            p += u

    def iteration_ends(self, t):
        """After each epoch, ``t`` samples seen in all: invscaling's lr0 / (t + 1) ** power_t."""
        if self.schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (t + 1) ** self.power_t

    def trigger_stopping(self):
        """Stop, unless adaptive and above the floor: then divide the rate by 5 and go on."""
        if self.schedule != "adaptive" or self.learning_rate <= MIN_ADAPTIVE_RATE:
            return True
        self.learning_rate /= 5.0
        return False


class Adam:
    """Kingma & Ba with the bias correction folded into the rate:
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps)."""

    def __init__(self, params, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init, self.learning_rate = learning_rate_init, float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]

    def update_params(self, params, grads):
        self.t += 1
        self.ms = [self.beta_1 * m + (1 - self.beta_1) * g for m, g in zip(self.ms, grads)]
        self.vs = [self.beta_2 * v + (1 - self.beta_2) * (g**2) for v, g in zip(self.vs, grads)]
        self.learning_rate = (
            self.learning_rate_init * np.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        )
        for p, m, v in zip(params, self.ms, self.vs):
            p += -self.learning_rate * m / (np.sqrt(v) + self.epsilon)

    def iteration_ends(self, t):
        pass

    def trigger_stopping(self):
        return True


# --- scores used by early stopping ------------------------------------------------------------


def accuracy(y_true, y_pred, w=None):
    """Share of rows predicted right (every label right, for an indicator matrix)."""
    right = y_true == y_pred
    if right.ndim == 2:
        right = right.all(axis=1)
    return float(np.average(right, weights=w))


def r2(y_true, y_pred, w=None):
    """R^2 averaged over outputs; a constant target scores 1 if predicted exactly, else 0."""
    y_true = y_true.reshape(y_true.shape[0], -1)
    y_pred = y_pred.reshape(y_true.shape)
    weights = np.ones(y_true.shape[0]) if w is None else w
    num = (weights[:, None] * (y_true - y_pred) ** 2).sum(axis=0)
    den = (weights[:, None] * (y_true - np.average(y_true, axis=0, weights=w)) ** 2).sum(axis=0)
    score = np.ones(y_true.shape[1])
    ok = den != 0
    score[ok] = 1 - num[ok] / den[ok]
    score[(num != 0) & ~ok] = 0.0
    return float(score.mean())


# --- the estimator ----------------------------------------------------------------------------


class ReferenceMLP:
    """``MLPClassifier`` (kind "classifier") or ``MLPRegressor`` ("regressor"), re-derived.

    ``fit``, ``partial_fit`` (one epoch; ``classes`` on the first call), ``predict`` and
    ``predict_proba``; after fitting the attributes scikit-learn sets (``coefs_``,
    ``intercepts_``, ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``best_loss_``,
    ``validation_scores_``, ``best_validation_score_``, ``classes_``, ``out_activation_``)
    and the private state scikit-learn's tests read (``_no_improvement_count``,
    ``_optimizer.learning_rate``).

    ``perturb`` (not scikit-learn's) multiplies every initial weight by ``1 +- perturb``
    (signs from a fixed generator, the RandomState untouched): with ``perturb=1e-15`` the
    difference to scikit-learn's final model shows how far rounding-level differences,
    which any other implementation of the same arithmetic makes, grow during training.
    """

    def __init__(self, kind, perturb=0.0, **params):
        if kind not in ("classifier", "regressor"):
            raise ValueError(f"kind must be 'classifier' or 'regressor', got {kind!r}")
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown parameters {sorted(unknown)}")
        self.kind, self.perturb = kind, perturb
        for name, value in {**DEFAULTS, **params}.items():
            setattr(self, name, value)

    # targets: what LabelBinarizer makes of y (a float array with X's dtype)
    def _targets(self, y, dtype, first, classes=None):
        y = np.asarray(y)
        if self.kind == "regressor":
            y = y.reshape(y.shape[0], -1) if y.ndim == 2 else y
            return y.reshape(-1, 1) if y.ndim == 1 else y
        if y.ndim == 2 and y.shape[1] > 1:
            if first:
                self.classes_, self.y_type_ = np.arange(y.shape[1]), "multilabel"
            return y.astype(bool)
        y = y.ravel()
        if first:
            self.classes_ = np.unique(y if classes is None else classes)
            self.y_type_ = "multiclass" if self.classes_.size > 2 else "binary"
        if self.classes_.size <= 2:  # one column: y == the second class (zeros for one class)
            positive = self.classes_[1] if self.classes_.size == 2 else None
            return (y == positive).reshape(-1, 1)
        return y.reshape(-1, 1) == self.classes_.reshape(1, -1)

    def _labels(self, Y):
        """LabelBinarizer.inverse_transform: the labels of a binarized (or predicted) Y."""
        if self.y_type_ == "multilabel":
            return (Y > 0.5).astype(int)
        if self.y_type_ == "multiclass":
            return self.classes_[Y.argmax(axis=1)]
        return (
            self.classes_[(Y[:, 0] > 0.5).astype(int)]
            if self.classes_.size == 2
            else np.repeat(self.classes_, Y.shape[0])
        )

    def _initialize(self, Y, layer_units, dtype):
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_, self.n_layers_ = Y.shape[1], len(layer_units)
        if self.kind == "regressor":
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        factor = 2.0 if self.activation == "logistic" else 6.0
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
            b = self._random_state.uniform(-bound, bound, fan_out)
            self.coefs_.append(W.astype(dtype, copy=False))
            self.intercepts_.append(b.astype(dtype, copy=False))
        if self.perturb:
            signs = np.random.default_rng(0)
            for a in self.coefs_ + self.intercepts_:
                a *= 1 + self.perturb * signs.choice((-1.0, 1.0), a.shape)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [i.copy() for i in self.intercepts_]
        if self.solver in ("sgd", "adam"):
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_, self.validation_scores_ = np.inf, None
                self.best_validation_score_ = None

    def _forward(self, X):
        """Every layer's activations (the input first), as ``_forward_pass``."""
        activations = [X]
        hidden = ACTIVATIONS[self.activation]
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            z = activations[-1] @ W
            z += b
            (hidden if i + 1 < len(self.coefs_) else ACTIVATIONS[self.out_activation_])(z)
            activations.append(z)
        return activations

    def _loss_name(self):
        if self.kind == "regressor":
            return self.loss
        return "binary_log_loss" if self.out_activation_ == "logistic" else "log_loss"

    def _backprop(self, X, Y, w):
        """(loss with this batch's penalty, coef grads, intercept grads): ``_backprop``."""
        activations = self._forward(X)
        loss = LOSS_FUNCTIONS[self._loss_name()](Y, activations[-1], w)
        values = 0
        for s in self.coefs_:
            s = s.ravel()
            values += np.dot(s, s)
        sw_sum = X.shape[0] if w is None else w.sum()
        loss += (0.5 * self.alpha) * values / sw_sum
        last = len(self.coefs_) - 1
        delta = activations[-1] - Y
        if w is not None:
            delta *= w.reshape(-1, 1)
        coef_grads, intercept_grads = [None] * (last + 1), [None] * (last + 1)
        derivative = DERIVATIVES[self.activation]
        for i in range(last, -1, -1):
            if i < last:
                delta = delta @ self.coefs_[i + 1].T
                derivative(activations[i + 1], delta)
            g = activations[i].T @ delta
            g += self.alpha * self.coefs_[i]
            g /= sw_sum
            coef_grads[i] = g
            intercept_grads[i] = np.sum(delta, axis=0) / sw_sum
        return loss, coef_grads, intercept_grads

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X = np.asarray(X)
        X = np.ascontiguousarray(
            X, dtype=X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        )
        if self.kind == "classifier" and not incremental and not first and self.warm_start:
            labels = np.unique(np.asarray(y))
            if set(labels) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes "
                    "as in the previous call to fit."
                )
        relabel = first and (
            self.kind == "regressor" or not incremental or not hasattr(self, "classes_")
        )
        Y = self._targets(y, X.dtype, relabel, classes)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=X.dtype)
        layer_units = [X.shape[1], *sizes, Y.shape[1]]
        self._random_state = random_state(self.random_state)
        if first:
            self._initialize(Y, layer_units, X.dtype)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, w, layer_units)
        else:
            self._fit_stochastic(X, Y, w, incremental)
        if not all(np.isfinite(a).all() for a in self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data "
                "may contain large values and need to be preprocessed."
            )
        return self

    def fit(self, X, y, sample_weight=None):
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        if self.kind == "classifier" and not hasattr(self, "classes_"):
            Y = np.asarray(y)
            if Y.ndim == 2 and Y.shape[1] > 1:
                self.classes_, self.y_type_ = np.arange(Y.shape[1]), "multilabel"
            else:
                self.classes_ = np.unique(classes)
                self.y_type_ = "multiclass" if self.classes_.size > 2 else "binary"
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit_lbfgs(self, X, Y, w, layer_units):
        shapes = [(a, b) for a, b in zip(layer_units[:-1], layer_units[1:])]
        n_w = sum(a * b for a, b in shapes)

        def unpack(theta):
            at, bt = 0, n_w
            for i, (a, b) in enumerate(shapes):
                self.coefs_[i] = np.reshape(theta[at : at + a * b], (a, b))
                self.intercepts_[i] = theta[bt : bt + b]
                at, bt = at + a * b, bt + b

        def loss_grad(theta):
            unpack(theta)
            loss, cg, ig = self._backprop(X, Y, w)
            return loss, np.hstack([g.ravel() for g in cg + ig])

        theta0 = np.hstack([p.ravel() for p in self.coefs_ + self.intercepts_])
        result = scipy.optimize.minimize(
            loss_grad,
            theta0,
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        self.n_iter_ = min(result.nit, self.max_iter)
        self.lbfgs_status_ = result.status
        self.loss_ = result.fun
        unpack(result.x)

    def _fit_stochastic(self, X, Y, w, incremental):
        params = self.coefs_ + self.intercepts_
        if not incremental or not hasattr(self, "_optimizer"):
            if self.solver == "sgd":
                self._optimizer = SGD(
                    params,
                    self.learning_rate_init,
                    self.learning_rate,
                    self.momentum,
                    self.nesterovs_momentum,
                    self.power_t,
                )
            else:
                self._optimizer = Adam(
                    params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
                )
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.early_stopping:
            # stratified for binary classification only (one output column)
            stratify = Y if self.kind == "classifier" and self.n_outputs_ == 1 else None
            train, val = split_rows(
                X.shape[0], self.validation_fraction, self._random_state, stratify
            )
            X_train, Y_train, X_val, Y_val = X[train], Y[train], X[val], Y[val]
            w_train = None if w is None else w[train]
            w_val = None if w is None else w[val]
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase "
                    "'validation_fraction' or the size of your dataset."
                )
            if self.kind == "classifier":
                Y_val = self._labels(Y_val)
        else:
            X_train, Y_train, w_train = X, Y, w
        n = X_train.shape[0]
        order = np.arange(n, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            batch_size = int(np.clip(self.batch_size, 1, n))
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                order = shuffled(order, self._random_state)
            accumulated = 0.0
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                rows = order[start:stop] if self.shuffle else slice(start, stop)
                loss, cg, ig = self._backprop(
                    X_train[rows], Y_train[rows], None if w is None else w_train[rows]
                )
                accumulated += loss * (stop - start)
                self._optimizer.update_params(params, cg + ig)
            self.n_iter_ += 1
            self.loss_ = accumulated / n
            self.t_ += n
            self.loss_curve_.append(self.loss_)
            if self.early_stopping:
                self._validation_step(X_val, Y_val, w_val)
            else:
                if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                    self._no_improvement_count += 1
                else:
                    self._no_improvement_count = 0
                self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            self._optimizer.iteration_ends(self.t_)
            if self._no_improvement_count > self.n_iter_no_change:
                if self._optimizer.trigger_stopping():
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    stacklevel=2,
                )
        if self.early_stopping:
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts

    def _validation_step(self, X_val, Y_val, w_val):
        p = self._forward(X_val)[-1]
        if self.kind == "classifier":
            score = accuracy(Y_val, self._labels(p), w_val)
        else:
            score = r2(Y_val, p, w_val) if np.isfinite(p).all() else np.nan
        self.validation_scores_.append(score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_coefs = [c.copy() for c in self.coefs_]
            self._best_intercepts = [i.copy() for i in self.intercepts_]

    def predict_proba(self, X):
        p = self._forward(np.asarray(X, dtype=self.coefs_[0].dtype))[-1]
        return np.hstack([1 - p, p]) if p.shape[1] == 1 else p

    def predict(self, X):
        p = self._forward(np.asarray(X, dtype=self.coefs_[0].dtype))[-1]
        if self.kind == "regressor":
            return p.ravel() if p.shape[1] == 1 else p
        return self._labels(p)
