"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by nnfast's compiled loop.

Switching is changing the import: the parameters have scikit-learn's names, defaults and
meanings (``hidden_layer_sizes``, ``activation``, ``solver``, ``alpha``, ``batch_size``,
``learning_rate``, ... ``max_fun``), and so do the methods and fitted attributes. nnfast's
own features come as further parameters (``l1``, ``dropout``, ``restarts``, ``n_jobs``,
``backend``, ``class_weight``) and attributes (``validation_loss_curve_``, ``history_``,
``network_``). ``MLPClassifier``'s Notes say how scikit-learn's definitions map onto
nnfast's kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ._compat import ClassifierMixin, NnfastMixin, RegressorMixin, available_if
from ._mlp_base import TARGETS, _BaseMLP
from ._mlp_solvers import stochastic_only
from ._validation import (
    check_memory,
    check_y_column,
    checked_classes,
    class_weight_vector,
    classification_labels,
    encode_labels,
    one_hot_codes,
    to_array,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import ArrayLike, NDArray
    from scipy.sparse import sparray, spmatrix
    from typing_extensions import Self

    from ._mlp_solvers import Params
    from ._typing import FloatArray, RealArray
    from .callbacks import Callback

    #: The hidden layers' activations by name (scikit-learn's, then nnfast's own).
    Activation = Literal[
        "identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "silu"
    ]

__all__ = ["MLPClassifier", "MLPRegressor"]


class MLPClassifier(NnfastMixin, ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on nnfast's kernels.

    Two classes: one sigmoid output and binary cross-entropy; more: softmax and
    cross-entropy; a 2-D 0/1 indicator y (multilabel): one sigmoid output per label.
    Labels may be of any type (``classes_`` holds them, sorted). The Notes below say how
    every scikit-learn parameter maps onto nnfast's kernels.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer.
    activation : str, or list or tuple of str, default='relu'
        Hidden-layer activation: scikit-learn's 'relu', 'logistic' (nnfast's 'sigmoid'),
        'tanh', 'identity', or nnfast's 'leaky_relu', 'elu', 'gelu', 'softplus', 'silu';
        nnfast: a list (or tuple) gives one per hidden layer.
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
    random_state : int, RandomState, numpy Generator or None, default=None
        The initial weights, the early-stopping split and the shuffles, drawn as
        scikit-learn draws them (see Notes); also seeds dropout and restarts.
    tol : float, default=1e-4
        Improvement below which an epoch counts as "no improvement" (and 'lbfgs''s gtol).
    verbose : bool or int >= 0, default=False
        Print the loss of every epoch (when true or non-zero).
    warm_start : bool, default=False
        ``fit`` starts from the previous fit's weights (and keeps its records) instead of
        drawing new ones.
    momentum : float, default=0.9
        SGD momentum.
    nesterovs_momentum : bool, default=True
        Nesterov momentum (when momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the validation accuracy
        stops improving; the best epoch's weights are kept.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's constants.
    n_iter_no_change : int or numpy.inf, default=10
        Epochs without improvement by ``tol`` tolerated (more stop training; ``numpy.inf``:
        never stop for that).
    max_fun : int, default=15000
        Most loss evaluations of 'lbfgs'.
    l1 : float, default=0.0
        nnfast: L1 penalty ``l1 * sum|W|`` added to the objective.
    dropout : float or sequence of float, default=0.0
        nnfast: inverted-dropout rate of every (or each) hidden layer ('sgd', 'adam').
    restarts : int, default=1
        nnfast: train this many differently initialised networks (in threads) and keep the
        one with the lowest final loss (the best validation score with early stopping).
        Restart 0 is the run ``restarts=1`` makes.
    n_jobs : int or None, default=None
        nnfast: threads for the restarts (None or -1: up to one per CPU).
    backend : {'cython', 'numpy'} or None, default=None
        nnfast: kernel backend for this model (None: the one in use).
    class_weight : dict, 'balanced' or None, default=None
        nnfast: weight of each class's samples in the loss (see ``fit``'s sample_weight).
    clip_norm, clip_value : float or None, default=None
        nnfast: gradient clipping per batch inside the compiled loop, by the gradient's
        global L2 norm or each element ('sgd', 'adam'; see ``nnfast.training.train``).
    callbacks : list or tuple of nnfast.Callback, or None, default=None
        nnfast: called after every epoch of 'sgd' and 'adam' (e.g. ``nnfast.ModelCheckpoint``;
        one returning True stops training), after the estimator's own stopping rule.
    scoring : str, callable or None, default=None
        nnfast: with ``early_stopping``, the validation score to stop on: a scikit-learn
        scorer name ('f1_macro', 'neg_log_loss', ...) or a callable(estimator, X, y)
        returning a number, greater being better; None: accuracy (R^2 for the regressor).
        ``validation_scores_`` records it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_, intercepts_ : lists of ndarray
        Views of ``network_``'s weights and biases: changed in place, they change the model;
        arrays put in their place (``coefs_[0] = W``, or ``coefs_ = [...]`` as scikit-learn's
        tests do before a first ``partial_fit``) are checked and copied in.
    loss_curve_ : list of float
        Training loss of each epoch ('sgd', 'adam'), in scikit-learn's scale.
    loss_, best_loss_ : float
        Last and best training loss (``best_loss_`` is None with early stopping; for
        'lbfgs' ``loss_`` is the final objective and there is no ``best_loss_``).
    validation_scores_ : list of float or None
        Validation accuracy per epoch (early stopping only).
    validation_loss_curve_ : list of float or None
        nnfast: the data loss on the validation rows per epoch (early stopping only), in
        scikit-learn's scale.
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
    _optimizer, _no_improvement_count
        scikit-learn's private state, which its own tests read: the optimizer (its
        ``learning_rate``, and for Adam ``t``) and the epochs without improvement.
    history_ : nnfast.History
        Everything recorded per epoch (loss, accuracy, val_loss, learning_rate, ...).
    network_ : nnfast.Network
        The trained network.

    Notes
    -----
    Training follows scikit-learn's ``_fit`` step by step (all of this holds for
    ``MLPRegressor`` too); each epoch of mini-batches runs in one call of the backend's
    ``train_epochs`` kernel, and what scikit-learn does between epochs is done here in
    Python, in its order:

    - **Randomness.** ``random_state`` becomes a ``RandomState`` at every ``fit`` and
      ``partial_fit`` call, as scikit-learn's ``check_random_state`` makes it (None: NumPy's
      global one; an int: ``RandomState(int)``; a RandomState: itself; nnfast also takes a
      ``Generator``). From it, in scikit-learn's order: the initial weights (layer by layer,
      W then b, uniform within ``sqrt(f / (fan_in + fan_out))``, f = 2 for 'logistic' and 6
      otherwise, cast to X's dtype), the early-stopping split (``train_test_split``'s
      arithmetic: ``ceil(validation_fraction * n)`` held out, stratified by the binarized y
      when it is one column, with its error when a class has a single member) and each
      epoch's shuffle, drawn by the kernel from the RandomState's own bit generator: the
      orders ``sklearn.utils.shuffle`` draws. Dropout and restarts draw from a generator
      seeded from the RandomState's state, never shifting those draws.
    - **Per epoch**: ``t_`` grows by the training rows, the epoch's loss joins
      ``loss_curve_``, the no-improvement count moves (the training loss above
      ``best_loss_ - tol``, or with ``early_stopping`` the validation score, accuracy or
      R^2, below ``best_validation_score_ + tol``; a NaN score resets it, as scikit-learn's),
      the best-scoring weights are kept, 'invscaling' sets the rate to ``learning_rate_init /
      (t_ + 1) ** power_t`` (``t_`` over all fits), and after more than
      ``n_iter_no_change`` epochs without improvement 'adaptive' divides the rate by 5 (and
      stops once it is at or below 1e-6); the other schedules stop. ``fit`` warns at
      ``max_iter`` (``ConvergenceWarning``).
    - **warm_start and partial_fit**, as scikit-learn's: every ``fit`` starts a new optimizer
      (rate, momentum, Adam's moments) from the current weights, ``partial_fit`` keeps it;
      ``t_``, ``loss_curve_``, ``best_loss_``, the no-improvement count, the validation
      scores and the best weights carry over; each call starts from the sample order
      0..n-1 and draws its shuffles from ``random_state`` again.
    - **Divergence.** A fit whose weights stop being finite raises scikit-learn's
      ValueError ("Solver produced non-finite parameter weights..."), the model keeping the
      weights of its last finite epoch; with ``early_stopping`` scikit-learn's best weights
      are kept instead and the epochs it would run to ``max_iter`` are recorded as NaN.
    - **Each mini-batch as scikit-learn's**, in the compiled loop: its gradient is that of
      ``(sum_B w_i l_i + alpha / 2 ||W||^2) / S_B``, ``S_B`` the batch's weight sum (the
      last, shorter batch included), with scikit-learn's per-sample losses ``l_i`` (the
      squared error halved and averaged over the outputs, stepping on ``output - y``; the
      log losses summed over the outputs); its share of ``loss_`` is that objective before
      the step, and an epoch reports ``sum_B |B| objective_B / n``. The updates are
      scikit-learn's: SGD's velocity carries the rate (``v = momentum v - lr g``; ``w += v``,
      or ``w += momentum v - lr g`` with Nesterov), Adam folds its bias corrections into the
      rate.
    - **lbfgs** is ``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` on the backend's
      full-batch ``loss_and_gradient`` kernel, scaled to scikit-learn's objective (with its
      ``alpha / (2 sum(w)) ||W||^2``), with scikit-learn's options (``maxiter=max_iter,
      maxfun=max_fun, gtol=tol``): ``n_iter_ = min(nit, max_iter)``, ``loss_`` the final
      objective, no ``loss_curve_`` (``history_.loss`` holds it per iteration).
    - **sample_weight / class_weight** are per-sample weights in the kernels (``class_weight``,
      nnfast's addition for the classifier, multiplies ``sample_weight`` by the weight of each
      sample's class; ``"balanced"`` is ``n_samples / (n_classes * count(class))``). The
      objective is scikit-learn's: ``sum_i w_i L_i / sum_i w_i`` plus ``alpha / (2 *
      sum_i w_i) * ||W||^2``, so integer weights equal repeated rows for the full batch and
      scaling all weights by k is like dividing ``alpha`` by k. Zero-weight samples stay in
      the data, as in scikit-learn (their labels count in ``classes_``, they take their
      place in the batches and in ``t_``). A mini-batch's gradient is divided by the
      batch's own weight sum, as scikit-learn's.
    - **Sparse X** (SciPy's matrices and arrays, any format, converted to CSR once) in
      ``fit``, ``partial_fit`` and the predictions: the first layer's forward product and
      weight gradient run over the non-zeros in the compiled loop, O(nnz x hidden) a batch;
      the dense parameter update per step is scikit-learn's too.
    - **Threads.** One estimator is fitted by one thread at a time: a second concurrent
      ``fit`` or ``partial_fit`` raises RuntimeError. The compiled loop holds the random
      generator's ``bit_generator.lock`` while it draws.

    Examples
    --------
    >>> import numpy as np, nnfast as nf
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = ["no", "yes", "yes", "no"]
    >>> clf = nf.MLPClassifier((8,), activation="tanh", solver="lbfgs", random_state=0)
    >>> clf.fit(X, y).predict(X).tolist()
    ['no', 'yes', 'yes', 'no']
    """

    _estimator_type = "classifier"
    _kinds = ("binary", "multiclass", "multilabel")
    _nnfast_tags = {"multi_label": True, "sparse": True}

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] | NDArray[np.integer[Any]] = (100,),
        activation: Activation | list[Activation] | tuple[Activation, ...] = "relu",
        *,
        solver: Literal["lbfgs", "sgd", "adam"] = "adam",
        alpha: float = 0.0001,
        batch_size: int | Literal["auto"] = "auto",
        learning_rate: Literal["constant", "invscaling", "adaptive"] = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        l1: float = 0.0,
        dropout: float | Sequence[float] = 0.0,
        restarts: int = 1,
        n_jobs: int | None = None,
        backend: Literal["cython", "numpy"] | None = None,
        class_weight: dict[Any, float] | Literal["balanced"] | None = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        callbacks: list[Callback] | tuple[Callback, ...] | None = None,
        scoring: str | Callable[..., float] | None = None,
    ) -> None:
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
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.callbacks = callbacks
        self.scoring = scoring

    def fit(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train on (X, y); returns self.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix / array of shape (n_samples, n_features)
            Sparse X (CSR; CSC and other formats are converted to CSR once) is never
            densified: the first layer's products run over its non-zeros.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample (any real number; at least one positive):
            the loss is ``sum_i w_i L_i / sum_i w_i`` and the L2 penalty ``alpha / (2 *
            sum_i w_i) * ||W||^2``, as in scikit-learn, so an integer weight k is k repeated
            rows and a weight of 0 makes the sample not count (it still takes its place in
            the batches). Multiplied by ``class_weight``'s weights. Each mini-batch's step is
            normalised by the batch's own weight sum, as scikit-learn's (see Notes).
        """
        return self._fit(X, y, sample_weight)

    @available_if(stochastic_only)
    def partial_fit(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> Self:
        """One epoch over (X, y), continuing the current run; returns self.

        ``classes`` (every label that will ever appear) is required on the first call.
        ``fit`` keeps the epochs done on Ctrl-C and returns, as scikit-learn's does;
        ``partial_fit``, which runs in the caller's loop, keeps them and re-raises the
        KeyboardInterrupt so that the loop stops too.
        """
        known = "classes_" in self.__dict__
        if classes is not None and known:
            if not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )
        if classes is None and not known and (np.ndim(y) != 2 or np.shape(y)[1] == 1):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(
        self, y: NDArray[Any], first: bool, incremental: bool, classes: ArrayLike | None
    ) -> tuple[FloatArray, NDArray[np.intp] | None]:
        """(Y for the network, class codes or None), as scikit-learn's LabelBinarizer makes
        them: one column ``y == classes_[1]`` for two classes (zeros for one), one-hot
        columns for more, the indicator matrix itself for multilabel y. ``classes_`` is set
        when the labels start over (as in scikit-learn: a fresh fit, or the first
        partial_fit, from ``classes``)."""
        relabel = "classes_" not in self.__dict__ or (not self.warm_start and not incremental)
        if y.ndim == 2 and y.shape[1] > 1:
            if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
                raise ValueError(
                    "A 2-D y must be a 0/1 label indicator matrix (multilabel); "
                    "multiclass-multioutput is not supported."
                )
            if relabel:
                if not incremental and y.shape[1] > y.shape[0]:
                    raise ValueError(
                        f"y has {y.shape[1]} label columns for {y.shape[0]} samples: more "
                        f"classes than samples cannot be learnt (is y transposed?)."
                    )
                self._target, self.classes_ = "multilabel", np.arange(y.shape[1])
            elif self._target != "multilabel" or y.shape[1] != self.classes_.size:
                raise ValueError(
                    f"y has {y.shape[1]} label columns, but the model was fitted "
                    f"on {self._describe_target()}."
                )
            return np.ascontiguousarray(y, dtype=np.float64), None
        y = check_y_column(y)
        if y.ndim != 1:
            raise ValueError(
                f"y must be 1-D class labels or a 2-D indicator matrix, got shape {y.shape}."
            )
        y = classification_labels(y)
        try:
            present = np.unique(y)
            labels = np.unique(np.asarray(classes)) if relabel and classes is not None else present
        except TypeError:
            raise ValueError("Mix of label input types (string and number) in y.") from None
        if relabel:
            self.classes_ = labels
            self._target = "binary" if labels.size <= 2 else "multiclass"
        elif self._target == "multilabel":
            raise ValueError(
                f"y holds class labels, but the model was fitted on {self._describe_target()}."
            )
        elif self.warm_start:
            if set(present.tolist()) != set(self.classes_.tolist()):
                raise ValueError(
                    f"warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {present}"
                )
        elif np.setdiff1d(present, self.classes_).size:
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {present}."
            )
        codes = encode_labels(y, "y", y.shape[0], self.classes_)[1]
        if self._target == "binary":
            return (codes == 1).astype(np.float64).reshape(-1, 1), codes
        k = self.classes_.size
        check_memory(
            8 * codes.size * k,
            "y",
            lambda: f"y has {k} classes: the one-hot targets of {codes.size} rows x {k} classes",
        )
        return one_hot_codes(codes, k), codes

    def _describe_target(self) -> str:
        if self._target == "multilabel":
            return f"a {self.classes_.size}-label indicator matrix"
        return f"class labels {self.classes_.tolist()!r}"

    def _class_weights(
        self, codes: NDArray[np.intp] | None, incremental: bool
    ) -> FloatArray | None:
        if self.class_weight is None:
            return None
        if codes is None:
            raise ValueError("class_weight is not supported for multilabel y; pass sample_weight.")
        return class_weight_vector(
            self.class_weight, self.classes_, codes, balanced_ok=not incremental
        )

    def predict(self, X: ArrayLike | spmatrix | sparray) -> NDArray[Any]:
        """Predicted labels: ``classes_`` (shape (n,)), or a 0/1 int matrix for multilabel."""
        p = self._forward(X, "predict")
        if self._target == "multiclass":
            return checked_classes(self.classes_, p.shape[1])[p.argmax(axis=1)]
        if self._target == "binary":
            if self.classes_.size == 1:  # one class seen: it is the only answer
                return np.repeat(self.classes_, p.shape[0])
            return checked_classes(self.classes_, 2)[(p[:, 0] > 0.5).astype(np.intp)]
        return (p > 0.5).astype(int)

    def predict_proba(self, X: ArrayLike | spmatrix | sparray) -> RealArray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order
        (for multilabel: each label's probability)."""
        p = self._forward(X, "predict_proba")
        if self._target == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X: ArrayLike | spmatrix | sparray) -> RealArray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(NnfastMixin, RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on nnfast's kernels.

    Identity output trained on scikit-learn's "squared_error" (half the mean squared error),
    with scikit-learn's parameters, draws and rules (see ``MLPClassifier``'s Notes, which
    hold for this model too). One output gives 1-D predictions, a 2-D y one column per
    output.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'absolute_error', 'huber'}, default='squared_error'
        'poisson' is scikit-learn's (1.7+) half Poisson deviance with a log link: an
        exponential output (``out_activation_ = 'exp'``), the loss ``sum over outputs of
        y log(y / p) - y + p`` per sample, its gradient ``p - y`` at the output's z. Unlike
        scikit-learn, which reports a NaN loss for them, a negative y is refused with a
        ValueError. nnfast: 'absolute_error' trains on the absolute error and 'huber' on the
        Huber loss with delta 1 (``torch.nn.HuberLoss``), each averaged over the outputs and
        then over the samples (weighted) as scikit-learn averages its per-sample losses,
        with its penalty (``loss_curve_`` is that objective).
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun, l1, dropout, restarts, n_jobs, backend, clip_norm, clip_value, \
callbacks, scoring
        As ``MLPClassifier``'s; with ``early_stopping`` the validation score is R^2.

    Attributes
    ----------
    loss_curve_, loss_, best_loss_, validation_scores_, validation_loss_curve_, \
best_validation_score_, n_iter_, t_, n_features_in_, feature_names_in_, n_layers_, \
n_outputs_, coefs_, intercepts_, history_, network_
        As ``MLPClassifier``'s (the validation scores are R^2).
    out_activation_ : str
        'identity', or 'exp' with ``loss='poisson'``.

    Examples
    --------
    >>> import numpy as np, nnfast as nf
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1); y = 2 * X.ravel() + 1
    >>> reg = nf.MLPRegressor((), solver="lbfgs", random_state=0).fit(X, y)
    >>> round(reg.score(X, y), 6)
    1.0
    """

    _estimator_type = "regressor"
    _kinds = ("regression",)
    _nnfast_tags = {"multi_output": True, "sparse": True}

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] | NDArray[np.integer[Any]] = (100,),
        activation: Activation | list[Activation] | tuple[Activation, ...] = "relu",
        *,
        loss: Literal["squared_error", "poisson", "absolute_error", "huber"] = "squared_error",
        solver: Literal["lbfgs", "sgd", "adam"] = "adam",
        alpha: float = 0.0001,
        batch_size: int | Literal["auto"] = "auto",
        learning_rate: Literal["constant", "invscaling", "adaptive"] = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        l1: float = 0.0,
        dropout: float | Sequence[float] = 0.0,
        restarts: int = 1,
        n_jobs: int | None = None,
        backend: Literal["cython", "numpy"] | None = None,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        callbacks: list[Callback] | tuple[Callback, ...] | None = None,
        scoring: str | Callable[..., float] | None = None,
    ) -> None:
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
        self.clip_norm = clip_norm
        self.clip_value = clip_value
        self.callbacks = callbacks
        self.scoring = scoring

    #: loss -> nnfast's loss of the network (an identity output but for 'poisson')
    _LOSSES = {
        "squared_error": "mse",
        "poisson": "poisson",
        "absolute_error": "mae",
        "huber": "huber",
    }

    def _checked_params(self) -> Params:
        if not isinstance(self.loss, str) or self.loss not in self._LOSSES:
            raise ValueError(f"loss must be one of {tuple(self._LOSSES)}, got {self.loss!r}.")
        return super()._checked_params()

    def _losses(self, target: str) -> tuple[str, str]:
        if self.loss == "poisson":
            return TARGETS["poisson"][:2]
        return self._LOSSES[self.loss], "identity"

    def _expected_failed_checks(self) -> dict[str, str]:
        return {}

    def fit(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train on (X, y); returns self. ``sample_weight`` as in ``MLPClassifier.fit``."""
        return self._fit(X, y, sample_weight)

    @available_if(stochastic_only)
    def partial_fit(
        self,
        X: ArrayLike | spmatrix | sparray,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """One epoch over (X, y), continuing the current run; returns self. Ctrl-C keeps
        the model consistent and re-raises (see ``MLPClassifier.partial_fit``)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _targets(
        self, y: NDArray[Any], first: bool, incremental: bool, classes: ArrayLike | None
    ) -> tuple[FloatArray, None]:
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
            raise ValueError("Input y contains infinity or a value too large for dtype('float64').")
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError(
                "y must be >= 0 for loss='poisson' (the Poisson deviance of a negative count "
                f"is undefined), got a minimum of {Y.min():g}."
            )
        if first:
            self._target = "regression"
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but the model was fitted with {self.n_outputs_}."
            )
        return Y, None

    def predict(self, X: ArrayLike | spmatrix | sparray) -> RealArray:
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        p = self._forward(X, "predict")
        return p.ravel() if p.shape[1] == 1 else p
