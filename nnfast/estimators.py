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

import numpy as np

from ._compat import ClassifierMixin, NnfastMixin, RegressorMixin, available_if
from ._mlp_base import _BaseMLP
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
    activation : str or list of str, default='relu'
        Hidden-layer activation: scikit-learn's 'relu', 'logistic' (nnfast's 'sigmoid'),
        'tanh', 'identity', or nnfast's 'leaky_relu', 'elu', 'gelu', 'softplus', 'silu';
        nnfast: a list gives one per hidden layer.
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
    clip_norm, clip_value : float or None, default=None
        nnfast: gradient clipping per batch inside the compiled loop, by the gradient's
        global L2 norm or each element ('sgd', 'adam'; see ``nnfast.training.train``).
    callbacks : list of nnfast.Callback or None, default=None
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

    Notes
    -----
    How scikit-learn's definitions map onto nnfast's kernels (``network_`` is an ordinary
    ``nnfast.Network``; its training is ``nnfast.training.train``); all of it holds for
    ``MLPRegressor`` too:

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
    _nnfast_tags = {"multi_label": True}

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        l1=0.0,
        dropout=0.0,
        restarts=1,
        n_jobs=None,
        backend=None,
        class_weight=None,
        clip_norm=None,
        clip_value=None,
        callbacks=None,
        scoring=None,
    ):
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
            ``batch_size * mean(w)`` rather than each batch's weight sum (see Notes).
        """
        return self._fit(X, y, sample_weight)

    @available_if(stochastic_only)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing the current run; returns self.

        ``classes`` (every label that will ever appear) is required on the first call.
        ``fit`` keeps the epochs done on Ctrl-C and returns, as scikit-learn's does;
        ``partial_fit``, which runs in the caller's loop, keeps them and re-raises the
        KeyboardInterrupt so that the loop stops too.
        """
        fitted = self._is_fitted()
        if (
            classes is not None
            and fitted
            and hasattr(self, "classes_")
            and not np.array_equal(np.unique(np.asarray(classes)), self.classes_)
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the last call to "
                f"partial_fit, was: {self.classes_!r}."
            )
        if classes is None and not fitted and (np.ndim(y) != 2 or np.shape(y)[1] == 1):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, y, first, incremental, classes):
        """(Y for the network, class codes or None); sets classes_ when starting over."""
        name = type(self).__name__
        if y.ndim == 2 and y.shape[1] > 1:
            if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
                raise ValueError(
                    "A 2-D y must be a 0/1 label indicator matrix (multilabel); "
                    "multiclass-multioutput is not supported."
                )
            if first:
                if not incremental and y.shape[1] > y.shape[0]:
                    raise ValueError(
                        f"y has {y.shape[1]} label columns for {y.shape[0]} "
                        f"samples: more classes than samples cannot be learnt "
                        f"(is y transposed?)."
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
            labels = np.unique(np.asarray(classes) if first and classes is not None else y)
        except TypeError:
            raise ValueError("Mix of label input types (string and number) in y.") from None
        if first:
            if labels.size < 2:
                raise ValueError(
                    f"{name} needs samples of at least two classes in y, got one "
                    f"class: {labels.tolist()!r}."
                )
            self.classes_ = labels
            self._target = "binary" if labels.size == 2 else "multiclass"
        elif self._target == "multilabel":
            raise ValueError(
                f"y holds class labels, but the model was fitted on {self._describe_target()}."
            )
        elif self.warm_start and not incremental and not np.array_equal(labels, self.classes_):
            raise ValueError(
                f"warm_start can only be used where `y` has the same classes as "
                f"in the previous call to fit. Previously got {self.classes_}, "
                f"`y` has {labels}."
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

    def _describe_target(self):
        if self._target == "multilabel":
            return f"a {self.classes_.size}-label indicator matrix"
        return f"class labels {self.classes_.tolist()!r}"

    def _class_weights(self, codes, incremental):
        if self.class_weight is None:
            return None
        if codes is None:
            raise ValueError("class_weight is not supported for multilabel y; pass sample_weight.")
        return class_weight_vector(
            self.class_weight, self.classes_, codes, balanced_ok=not incremental
        )

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


class MLPRegressor(NnfastMixin, RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on nnfast's kernels.

    Identity output trained on the mean squared error. nnfast's MSE is twice scikit-learn's
    "squared_error" (half the MSE): ``loss_curve_`` is in nnfast's convention, while
    ``alpha``, ``learning_rate_init``, ``epsilon`` and ``tol`` keep scikit-learn's meaning
    (see ``MLPClassifier``'s Notes, which hold for this model too). One output gives 1-D
    predictions, a 2-D y one column per output.

    Parameters
    ----------
    loss : {'squared_error', 'absolute_error', 'huber'}, default='squared_error'
        nnfast: 'absolute_error' trains on the mean absolute error and 'huber' on the mean
        Huber loss with delta 1 (``torch.nn.HuberLoss``), both in nnfast's convention (their
        objective is the mean itself: ``loss_curve_`` is it). scikit-learn's 'poisson' is not
        supported.
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
        'identity'.

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
    _nnfast_tags = {"multi_output": True}

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        l1=0.0,
        dropout=0.0,
        restarts=1,
        n_jobs=None,
        backend=None,
        clip_norm=None,
        clip_value=None,
        callbacks=None,
        scoring=None,
    ):
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

    #: loss -> nnfast's loss of the network (identity output)
    _LOSSES = {"squared_error": "mse", "absolute_error": "mae", "huber": "huber"}

    def _checked_params(self):
        if not isinstance(self.loss, str) or self.loss not in self._LOSSES:
            raise ValueError(f"loss must be one of {tuple(self._LOSSES)}, got {self.loss!r}.")
        return super()._checked_params()

    def _losses(self, target):
        return self._LOSSES[self.loss], "identity"

    def _expected_failed_checks(self):
        return {}

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y); returns self. ``sample_weight`` as in ``MLPClassifier.fit``."""
        return self._fit(X, y, sample_weight)

    @available_if(stochastic_only)
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
            raise ValueError("Input y contains infinity or a value too large for dtype('float64').")
        if first:
            self._target = "regression"
        elif Y.shape[1] != self.network_.n_outputs:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but the model was fitted with "
                f"{self.network_.n_outputs}."
            )
        return Y, None

    def predict(self, X):
        """Predictions, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        p = self._forward(X, "predict")
        return p.ravel() if p.shape[1] == 1 else p
