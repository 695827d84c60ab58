"""MLPClassifier / MLPRegressor, and the estimator conventions of Perceptron and
LogisticRegression, without scikit-learn: every rule re-derived here from its definition.

(tests/test_sklearn_compat.py checks the same estimators against scikit-learn itself.)
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nnfast as nf
from nnfast import _mlp_random, _mlp_scores
from nnfast.exceptions import NotFittedError


def blobs(n=120, d=3, k=3, seed=0, spread=0.6):
    """k well separated Gaussian clusters: X (n, d), integer labels (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 3.0, size=(k, d))
    y = np.arange(n) % k
    return centres[y] + rng.normal(0.0, spread, size=(n, d)), y


def linear_targets(n=100, d=3, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, outputs)) + 0.5
    return X, (Y[:, 0] if outputs == 1 else Y)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        return fn(*args, **kwargs)


def fit(model, *args, **kwargs):
    return quiet(model.fit, *args, **kwargs)


def stop_epoch(curve, tol, patience):
    """scikit-learn's rule on a loss curve: the epoch count at which training stops (an
    epoch stalls when its loss > best - tol; more than ``patience`` stalls in a row stop),
    or None if it never does."""
    best, count = np.inf, 0
    for epoch, loss in enumerate(curve):
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > patience:
            return epoch + 1
    return None


# --- what the classifier predicts ----------------------------------------------------------


def test_multiclass_with_string_labels():
    X, y = blobs()
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = fit(nf.MLPClassifier((10,), solver="lbfgs", max_iter=40, random_state=0), X, labels)
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, labels) == np.mean(clf.predict(X) == labels) > 0.9
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert (clf.out_activation_, clf.n_outputs_, clf.n_layers_) == ("softmax", 3, 3)
    assert [W.shape for W in clf.coefs_] == [(3, 10), (10, 3)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (3,)]


def test_binary_uses_one_sigmoid_output():
    X, y = blobs(k=2)
    labels = np.where(y == 1, 7, -3)
    clf = fit(nf.MLPClassifier((6,), solver="lbfgs", max_iter=40, random_state=0), X, labels)
    assert clf.classes_.tolist() == [-3, 7]
    assert (clf.out_activation_, clf.n_outputs_) == ("logistic", 1)
    proba = clf.predict_proba(X)
    p1 = clf.network_.feedforward(X)[:, 0]
    np.testing.assert_allclose(proba, np.column_stack([1 - p1, p1]))
    np.testing.assert_array_equal(clf.predict(X), np.where(p1 > 0.5, 7, -3))
    assert clf.network_.loss_function.name == "binary_cross_entropy"


def test_multilabel_indicator_targets():
    X, y = blobs(k=4)
    Y = np.column_stack([y % 2, y // 2, (y == 3)]).astype(int)
    clf = fit(nf.MLPClassifier((12,), solver="lbfgs", max_iter=60, random_state=0), X, Y)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert (clf.out_activation_, clf.n_outputs_) == ("logistic", 3)
    pred = clf.predict(X)
    assert pred.shape == (120, 3) and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, (clf.predict_proba(X) > 0.5).astype(int))
    # subset accuracy: every label of a sample right
    assert clf.score(X, Y) == np.mean((pred == Y).all(axis=1)) > 0.9


def test_coefs_are_views_of_the_network():
    """As scikit-learn's: coefs_ and intercepts_ are plain lists; changing the arrays in place
    changes the model at once (they are views of the flat buffer the kernels read), and
    arrays put in their place are checked and copied in before the next use."""
    X, y = blobs()
    clf = fit(nf.MLPClassifier((5,), max_iter=3, random_state=0), X, y)
    assert np.shares_memory(clf.coefs_[0], clf.network_.parameters)
    before = clf.predict_proba(X)
    clf.coefs_[1][...] = 0.0
    clf.intercepts_[1][...] = [5.0, 0.0, 0.0]
    assert (clf.predict(X) == 0).all() and not np.allclose(clf.predict_proba(X), before)
    clf.coefs_ = [np.ones((3, 5)), np.zeros((5, 3))]
    assert (clf.network_.weights[0] == 1).all()
    assert np.shares_memory(clf.coefs_[0], clf.network_.parameters)  # views again
    clf.coefs_[1] = np.full((5, 3), 0.5)
    clf.intercepts_[0] = np.full(5, 2.0)
    assert (clf.network_.weights[1] == 0.5).all() and (clf.network_.biases[0] == 2).all()
    state = dict(clf.__dict__)
    clf.predict(X)  # nothing was replaced: predict changes nothing
    assert clf.__dict__.keys() == state.keys()
    assert all(clf.__dict__[k] is v for k, v in state.items())
    for coefs, intercepts, match in [
        ([np.ones((3, 5))], None, "one array per layer each"),
        ([np.ones((3, 5)), np.zeros((4, 3))], None, r"coefs_\[1\] has shape \(4, 3\)"),
        (None, [np.full(5, np.nan), np.zeros(3)], r"intercepts_\[0\] contains NaN"),
    ]:
        trial = fit(nf.MLPClassifier((5,), max_iter=3, random_state=0), X, y)
        if coefs is not None:
            trial.coefs_ = coefs
        if intercepts is not None:
            trial.intercepts_ = intercepts
        with pytest.raises(ValueError, match=match):
            trial.predict(X)


def test_coefs_set_before_a_first_partial_fit_are_the_start():
    """scikit-learn's test_fit sets coefs_ and intercepts_ (and the counts) by hand, then
    calls partial_fit: it trains from those weights."""
    X = np.array([[0.6, 0.8, 0.7]])
    clf = nf.MLPClassifier(
        (2,),
        solver="sgd",
        learning_rate_init=0.1,
        alpha=0.1,
        activation="logistic",
        momentum=0,
        random_state=1,
    )
    clf.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]]), np.array([[0.1], [0.2]])]
    clf.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    clf.n_features_in_, clf.t_, clf.loss_curve_, clf.best_loss_ = 3, 0, [], np.inf
    clf._no_improvement_count = 0
    clf.partial_fit(X, [0], classes=[0, 1])
    # one step of plain SGD: the gradient of the output's logit is p - y = 0.7654...
    h = 1 / (1 + np.exp(-(X @ [[0.1, 0.2], [0.3, 0.1], [0.5, 0.0]] + 0.1)))
    p = 1 / (1 + np.exp(-(h @ [[0.1], [0.2]] + 1.0)))
    np.testing.assert_allclose(clf.intercepts_[1], 1.0 - 0.1 * (p[0] - 0.0), rtol=1e-12)
    assert clf.t_ == 1 and len(clf.loss_curve_) == 1


# --- the regressor --------------------------------------------------------------------------


def test_regressor_one_and_several_outputs():
    X, y = linear_targets()
    reg = fit(nf.MLPRegressor((), solver="lbfgs", random_state=0), X, y)  # linear model
    assert reg.predict(X).shape == (100,)
    assert reg.score(X, y) > 0.999999
    assert reg.out_activation_ == "identity" and reg.network_.loss_function.name == "mse"
    X2, Y2 = linear_targets(outputs=2)
    reg2 = fit(nf.MLPRegressor((4,), solver="lbfgs", activation="identity", random_state=0), X2, Y2)
    pred = reg2.predict(X2)
    assert pred.shape == (100, 2) and reg2.n_outputs_ == 2
    r2 = [
        1 - ((Y2[:, j] - pred[:, j]) ** 2).sum() / ((Y2[:, j] - Y2[:, j].mean()) ** 2).sum()
        for j in range(2)
    ]
    assert reg2.score(X2, Y2) == pytest.approx(np.mean(r2))


def test_r2_of_a_constant_target_is_finite():
    X, _ = linear_targets()
    reg = fit(nf.MLPRegressor((3,), max_iter=5, random_state=0), X, np.full(100, 2.0))
    assert reg.score(X, np.full(100, 2.0)) == 0.0  # 1 only if predicted exactly


# --- scikit-learn's schedules and stopping rule -------------------------------------------


def test_invscaling_rate_is_lr_over_samples_seen_to_the_power_t():
    X, y = blobs(n=90)
    clf = fit(
        nf.MLPClassifier(
            (5,),
            solver="sgd",
            learning_rate="invscaling",
            learning_rate_init=0.2,
            power_t=0.7,
            batch_size=30,
            max_iter=6,
            tol=0.0,
            random_state=0,
        ),
        X,
        y,
    )
    t = 90 * np.arange(6)  # samples seen before each epoch
    np.testing.assert_allclose(clf.history_.learning_rate, 0.2 / (t + 1) ** 0.7, rtol=1e-12)
    assert clf.t_ == 540


def test_invscaling_with_partial_fit_batches_of_any_size():
    X, y = blobs(n=90)
    clf = nf.MLPClassifier(
        (5,),
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.2,
        power_t=0.5,
        random_state=0,
    )
    seen = []
    for rows in (slice(0, 30), slice(30, 80), slice(80, 90), slice(0, 90)):
        seen.append(clf.t_ if seen else 0)
        clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        assert clf.n_iter_ == 1
    assert clf.t_ == 30 + 50 + 10 + 90
    np.testing.assert_allclose(
        clf.history_.learning_rate, 0.2 / (np.array(seen) + 1) ** 0.5, rtol=1e-12
    )


def test_adaptive_divides_the_rate_by_five_when_the_loss_stalls():
    X, y = blobs(n=60)
    clf = fit(
        nf.MLPClassifier(
            (5,),
            solver="sgd",
            learning_rate="adaptive",
            learning_rate_init=0.5,
            tol=0.05,
            n_iter_no_change=2,
            max_iter=300,
            random_state=0,
        ),
        X,
        y,
    )
    rates = np.array(clf.history_.learning_rate)
    steps = np.round(np.log(0.5 / rates) / np.log(5)).astype(int)
    np.testing.assert_allclose(rates, 0.5 / 5.0**steps, rtol=1e-12)
    assert steps[0] == 0 and steps.max() >= 2 and (np.diff(steps) >= 0).all()
    # the rule, replayed: a division each time more than 2 epochs in a row stalled
    best, count, expected = np.inf, 0, [0]
    for loss in clf.loss_curve_[:-1]:
        count = count + 1 if loss > best - 0.05 else 0
        best = min(best, loss)
        if count > 2:
            count = 0
            expected.append(expected[-1] + 1)
        else:
            expected.append(expected[-1])
    np.testing.assert_array_equal(steps, expected)
    # training stops once the rate would have to fall below 1e-6
    assert clf.n_iter_ < 300 and rates[-1] <= 1e-6 * 5


@pytest.mark.parametrize(
    "model, data",
    [
        (
            nf.MLPClassifier(
                (4,), learning_rate_init=0.01, tol=1e-3, n_iter_no_change=3, random_state=0
            ),
            blobs(n=60),
        ),
        (
            nf.MLPRegressor(
                (4,), learning_rate_init=0.01, tol=1e-2, n_iter_no_change=2, random_state=0
            ),
            linear_targets(n=60),
        ),
    ],
)
def test_training_stops_by_scikit_learns_rule(model, data):
    fit(model, *data)
    assert model.n_iter_ < 200
    assert stop_epoch(model.loss_curve_, model.tol, model.n_iter_no_change) == model.n_iter_
    assert model.best_loss_ == min(model.loss_curve_)
    assert model.history_.stopped_epoch == model.n_iter_ - 1


def test_max_iter_without_convergence_warns():
    X, y = blobs(n=60)
    with pytest.warns(nf.ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        nf.MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    assert issubclass(nf.ConvergenceWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", nf.ConvergenceWarning)
        nf.MLPClassifier((4,), max_iter=300, tol=10.0, random_state=0).fit(X, y)  # converges
        nf.MLPClassifier((4,), max_iter=3, random_state=0).partial_fit(X, y, classes=[0, 1, 2])


def test_lbfgs_minimises_the_full_batch_objective():
    X, y = blobs(n=60)
    with pytest.warns(nf.ConvergenceWarning, match="lbfgs failed to converge"):
        short = nf.MLPClassifier((6,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    assert short.n_iter_ == 3 and len(short.history_.loss) == 3
    clf = fit(nf.MLPClassifier((6,), solver="lbfgs", alpha=0.01, max_iter=30, random_state=0), X, y)
    assert clf.loss_ < short.loss_
    # loss_ is the objective at the final weights: the mean loss plus the L2 penalty
    penalty = 0.01 / (2 * 60) * sum((W**2).sum() for W in clf.coefs_)
    assert clf.loss_ == pytest.approx(
        nf.losses.cross_entropy(nf.one_hot(y, 3), clf.predict_proba(X)) + penalty, rel=1e-9
    )
    assert clf.history_.loss[-1] == clf.loss_
    # as scikit-learn's: no per-iteration records, no stopping-rule attributes
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert not hasattr(clf, name), name
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError) as caught:
        clf.partial_fit(X, y)
    # scikit-learn's available_if says why in the cause, the fallback in the message
    reason = f"{caught.value} {caught.value.__cause__}"
    assert "only available for stochastic optimizers" in reason
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        nf.MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)


def test_lbfgs_restarts_keep_the_lowest_objective():
    X, y = blobs(n=60, k=2, spread=2.5)
    one = fit(nf.MLPClassifier((3,), solver="lbfgs", max_iter=15, random_state=1), X, y)
    many = fit(
        nf.MLPClassifier((3,), solver="lbfgs", max_iter=15, random_state=1, restarts=4, n_jobs=2),
        X,
        y,
    )
    losses = many.history_.restart_losses
    assert len(losses) == 4 and many.history_.restart == int(np.argmin(losses))
    assert losses[0] == one.loss_ and many.loss_ == min(losses)  # restart 0: restarts=1's


def test_sgd_restarts_keep_the_best_run():
    X, y = blobs(n=60)
    one = fit(nf.MLPClassifier((3,), max_iter=20, random_state=2), X, y)
    many = fit(nf.MLPClassifier((3,), max_iter=20, random_state=2, restarts=3), X, y)
    assert len(many.history_.restart_losses) == 3
    assert many.history_.restart_losses[0] == one.loss_curve_[-1]
    assert many.loss_curve_[-1] == min(many.history_.restart_losses)


# --- early stopping ----------------------------------------------------------------------------


def test_early_stopping_on_the_validation_score():
    X, y = blobs(n=150, spread=2.0)
    clf = fit(
        nf.MLPClassifier(
            (8,), early_stopping=True, n_iter_no_change=4, learning_rate_init=0.01, random_state=0
        ),
        X,
        y,
    )
    n = clf.n_iter_
    assert n < 200 and clf.best_loss_ is None
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == n
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the rule on the score: more than 4 epochs in a row not above best + tol stop
    best, count = -np.inf, 0
    for i, score in enumerate(clf.validation_scores_):
        count = count + 1 if score < best + clf.tol else 0
        best = max(best, score)
        assert (count > 4) == (i == n - 1)
    # and the best epoch's weights are kept: a run stopped right after it ends there
    best_epoch = int(np.argmax(clf.validation_scores_))
    assert clf.history_.best_epoch == best_epoch
    again = fit(
        nf.MLPClassifier(
            (8,),
            early_stopping=True,
            n_iter_no_change=4,
            learning_rate_init=0.01,
            random_state=0,
            max_iter=best_epoch + 1,
        ),
        X,
        y,
    )
    np.testing.assert_array_equal(again.network_.parameters, clf.network_.parameters)


def test_validation_split_is_stratified_for_one_output_column():
    """scikit-learn's train_test_split, stratified by the binarized y when it has one column
    (binary targets), not for multiclass or multilabel y: ceil(fraction * n) rows held out,
    each class keeping its share, and a split that cannot be made is refused."""
    rs = np.random.RandomState(0)
    labels = np.repeat([False, True], [70, 30]).reshape(-1, 1)
    train, val = _mlp_random.split_rows(100, 0.2, rs, labels)
    assert len(val) == 20 and len(train) == 80 and not set(train) & set(val)
    assert labels[val].sum() == 6
    train, val = _mlp_random.split_rows(100, 0.25, rs)
    assert len(val) == 25 and sorted(np.r_[train, val]) == list(range(100))
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['True'\]"):
        _mlp_random.split_rows(4, 0.5, rs, np.array([[False], [False], [False], [True]]))
    with pytest.raises(ValueError, match=r"The least populated classes in y have only 1"):
        nf.MLPClassifier(early_stopping=True).fit([[1, 2], [2, 3], [3, 4], [4, 5]], [0, 0, 0, 1])


def test_early_stopping_regressor_scores_r2():
    X, y = linear_targets(n=80)
    reg = fit(nf.MLPRegressor((4,), early_stopping=True, max_iter=30, random_state=0), X, y)
    assert len(reg.validation_scores_) == reg.n_iter_
    assert all(s <= 1.0 for s in reg.validation_scores_)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        reg.partial_fit(X, y)


# --- continuing: partial_fit and warm_start -----------------------------------------------------


def test_warm_start_fits_again_from_the_weights_with_a_fresh_optimizer():
    """scikit-learn's warm_start: each fit starts a new optimizer from the current weights;
    t_, loss_curve_, best_loss_ and the no-improvement count carry over. Plain SGD at a
    constant rate keeps no state: two warm fits of 5 epochs are one fit of 10 (unshuffled,
    or every fit would draw the same shuffles again from random_state=0). Adam restarts
    its moments, so there they differ."""
    X, y = blobs(n=90)
    params = dict(hidden_layer_sizes=(6,), tol=0.0, batch_size=20, random_state=0, shuffle=False)
    sgd = dict(solver="sgd", momentum=0.0, learning_rate_init=0.05)
    once = fit(nf.MLPClassifier(max_iter=10, **params, **sgd), X, y)
    twice = nf.MLPClassifier(max_iter=5, warm_start=True, **params, **sgd)
    for _ in range(2):
        with pytest.warns(nf.ConvergenceWarning):
            twice.fit(X, y)
    np.testing.assert_array_equal(twice.network_.parameters, once.network_.parameters)
    assert twice.loss_curve_ == once.loss_curve_ and twice.n_iter_ == 5
    assert twice.t_ == once.t_ == 900 and twice.history_.epochs == 10
    adam_once = fit(nf.MLPClassifier(max_iter=10, **params), X, y)
    adam_twice = nf.MLPClassifier(max_iter=5, warm_start=True, **params)
    fit(adam_twice, X, y)
    fit(adam_twice, X, y)
    assert not np.array_equal(adam_twice.network_.parameters, adam_once.network_.parameters)
    assert adam_twice.loss_curve_[:5] == adam_once.loss_curve_[:5]


def test_partial_fit_epochs_equal_fit_epochs():
    X, y = blobs(n=90)
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        tol=0.0,
        batch_size=25,
        random_state=0,
        learning_rate_init=0.05,
        shuffle=False,
    )
    full = fit(nf.MLPClassifier(max_iter=4, **params), X, y)
    step = nf.MLPClassifier(**params)
    step.partial_fit(X, y, classes=np.unique(y))
    for _ in range(3):
        step.partial_fit(X, y)
    np.testing.assert_array_equal(step.network_.parameters, full.network_.parameters)
    assert step.loss_curve_ == full.loss_curve_


def test_partial_fit_classes():
    X, y = blobs(n=60)
    clf = nf.MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch need not hold them all
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_outputs_ == 3
    with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        clf.partial_fit(X[:2], [0, 5])
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        clf.partial_fit(X[:, :2], y)


def test_warm_start_needs_the_same_classes_and_layers():
    X, y = blobs(n=60)
    clf = fit(nf.MLPClassifier((4,), max_iter=2, warm_start=True, random_state=0), X, y)
    with pytest.raises(ValueError, match="same classes"):
        fit(clf, X[y < 2], y[y < 2])
    clf.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match="fit with warm_start=False to start over"):
        fit(clf, X, y)
    fit(clf.set_params(warm_start=False), X, y)
    assert clf.coefs_[0].shape == (3, 5)


# --- sample_weight and class_weight -------------------------------------------------------------

FULL_BATCH = {
    "lbfgs": dict(solver="lbfgs"),
    "adam": dict(solver="adam", learning_rate_init=0.01),  # auto: min(200, n)
    "sgd": dict(solver="sgd", learning_rate_init=0.1, batch_size=500),
}


@pytest.mark.filterwarnings("ignore:Got `batch_size`")
@pytest.mark.parametrize("solver", list(FULL_BATCH))
def test_integer_weights_equal_repeated_rows_for_full_batches(solver):
    """The weighted objective sum w L / sum w + alpha / (2 sum w) ||W||^2 is the mean over
    the repeated rows: with the full batch the two runs agree to rounding (the weighted
    run keeps its zero-weight rows, the repeated one has no copy of them)."""
    X, y = blobs(n=45)
    w = np.arange(45) % 4
    params = dict(
        hidden_layer_sizes=(5,), max_iter=15, random_state=0, alpha=0.01, **FULL_BATCH[solver]
    )
    weighted = fit(nf.MLPClassifier(**params), X, y, sample_weight=w)
    repeated = fit(nf.MLPClassifier(**params), np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(
        weighted.network_.parameters, repeated.network_.parameters, rtol=1e-9, atol=1e-11
    )
    np.testing.assert_allclose(weighted.history_.loss, repeated.history_.loss, rtol=1e-9)
    if solver != "lbfgs":  # t_ counts samples (rows), as scikit-learn's, not weights
        assert weighted.t_ == 45 * weighted.n_iter_
        assert repeated.t_ == w.sum() * repeated.n_iter_


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_unit_and_constant_weights(solver):
    """Unit weights are the unweighted run, bit for bit (mini-batches, shuffled); a constant
    weight k is the unweighted run with alpha / k (the penalty is relative to sum(w))."""
    X, y = blobs(n=90)
    params = dict(
        hidden_layer_sizes=(5,), solver=solver, max_iter=8, random_state=0, batch_size=16, alpha=0.3
    )
    plain = fit(nf.MLPClassifier(**params), X, y)
    ones = fit(nf.MLPClassifier(**params), X, y, sample_weight=np.ones(90))
    np.testing.assert_array_equal(ones.network_.parameters, plain.network_.parameters)
    threes = fit(nf.MLPClassifier(**params), X, y, sample_weight=np.full(90, 3.0))
    third = fit(nf.MLPClassifier(**{**params, "alpha": 0.1}), X, y)
    np.testing.assert_allclose(
        threes.network_.parameters, third.network_.parameters, rtol=1e-9, atol=1e-11
    )


def test_fractional_weights_keep_alpha_relative_to_the_total_weight():
    """w = m / 2 is the objective of the rows repeated m times, with the penalty of a total
    weight sum(w): the same as integer weights m with twice the alpha."""
    X, y = linear_targets(n=40)
    m = 1 + np.arange(40) % 3
    params = dict(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=10, random_state=0)
    half = fit(nf.MLPRegressor(alpha=0.1, **params), X, y, sample_weight=m / 2)
    whole = fit(nf.MLPRegressor(alpha=0.2, **params), X, y, sample_weight=m)
    np.testing.assert_allclose(
        half.network_.parameters, whole.network_.parameters, rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_any_non_negative_weights_train(solver):
    """Weights that are no small fractions (formerly refused) train, and the weighted
    lbfgs objective is the one minimised: its gradient vanishes at the solution."""
    X, y = linear_targets(n=60)
    w = np.linspace(0.1, 1.0, 60) ** 2
    reg = fit(
        nf.MLPRegressor(
            (4,),
            solver=solver,
            max_iter=300,
            random_state=0,
            alpha=0.5,
            tol=1e-10,
            learning_rate_init=0.02,
            batch_size=10,
        ),
        X,
        y,
        sample_weight=w,
    )
    assert np.isfinite(reg.network_.parameters).all() and reg.score(X, y, w) > 0.8
    if solver == "lbfgs":
        from nnfast import _backend

        net, grad = reg.network_, np.empty(reg.network_.spec.n_params)
        _backend.kernels().loss_and_gradient(
            net.spec, net.parameters, X, y.reshape(-1, 1), 0.0, 0.5 / (0.5 * w.sum()), grad, w
        )
        assert np.abs(grad).max() < 1e-4


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_zero_weight_samples_do_not_count(solver):
    """A zero-weight sample stays in the data (its label is a class, it takes its place in
    the shuffled batches and in t_), but what it holds does not move the weights."""
    X, y = blobs(n=60)
    w = np.where(np.arange(60) % 5 == 0, 0.0, 1.0 + np.arange(60) % 3)
    params = dict(
        hidden_layer_sizes=(5,),
        solver=solver,
        max_iter=6,
        random_state=0,
        batch_size=8,
        learning_rate_init=0.05,
    )
    a = fit(nf.MLPClassifier(**params), X, y, sample_weight=w)
    X2, y2 = X.copy(), y.copy()
    X2[w == 0] = 100.0 * np.random.default_rng(1).normal(size=X2[w == 0].shape)
    y2[w == 0] = (y2[w == 0] + 1) % 3
    b = fit(nf.MLPClassifier(**params), X2, y2, sample_weight=w)
    np.testing.assert_array_equal(a.network_.parameters, b.network_.parameters)
    if solver == "sgd":
        assert a.t_ == 60 * a.n_iter_
    else:  # the full batch: also the same as leaving them out
        c = fit(nf.MLPClassifier(**params), X[w > 0], y[w > 0], sample_weight=w[w > 0])
        np.testing.assert_allclose(
            a.network_.parameters, c.network_.parameters, rtol=1e-9, atol=1e-11
        )
    only_zero = np.where(y == 2, 0.0, 1.0)
    clf = fit(nf.MLPClassifier(**params), X, y, sample_weight=only_zero)
    assert clf.classes_.tolist() == [0, 1, 2]  # as scikit-learn: the label is a class


def test_class_weight():
    X, y = blobs(n=100, k=2, spread=2.0)
    y = np.where(np.arange(100) < 30, 0, 1)  # 30 / 70
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, random_state=0, alpha=0.05)
    by_dict = fit(nf.MLPClassifier(class_weight={0: 3}, **params), X, y)
    by_weight = fit(nf.MLPClassifier(**params), X, y, sample_weight=np.where(y == 0, 3, 1))
    np.testing.assert_array_equal(by_dict.network_.parameters, by_weight.network_.parameters)
    # balanced: n / (n_classes * count) = 100 / (2 * 30) and 100 / (2 * 70), exactly
    balanced = fit(nf.MLPClassifier(class_weight="balanced", **params), X, y)
    explicit = fit(
        nf.MLPClassifier(**params),
        X,
        y,
        sample_weight=np.where(y == 0, 100 / (2 * 30), 100 / (2 * 70)),
    )
    np.testing.assert_array_equal(balanced.network_.parameters, explicit.network_.parameters)
    # ... which is 7 : 3 with a total weight of 100 = (7 * 30 + 3 * 70) * 5/21
    counts = fit(
        nf.MLPClassifier(**{**params, "alpha": 0.05 * 21 / 5}),
        X,
        y,
        sample_weight=np.where(y == 0, 7, 3),
    )
    np.testing.assert_allclose(
        balanced.network_.parameters, counts.network_.parameters, rtol=1e-9, atol=1e-12
    )
    # sample_weight and class_weight multiply
    both = fit(
        nf.MLPClassifier(class_weight={1: 0.5}, **params), X, y, sample_weight=np.arange(100) % 3
    )
    product = fit(
        nf.MLPClassifier(**params),
        X,
        y,
        sample_weight=(np.arange(100) % 3) * np.where(y == 1, 0.5, 1.0),
    )
    np.testing.assert_array_equal(both.network_.parameters, product.network_.parameters)
    # extreme weights (scikit-learn's check_class_weight_classifiers): class 1 is ignored
    extreme = fit(nf.MLPClassifier(class_weight={0: 1000, 1: 1e-4}, **params), X, y)
    assert (extreme.predict(X) == 0).mean() > 0.9
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        nf.MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not among the classes"):
        nf.MLPClassifier(class_weight={5: 2}).fit(X, y)


def test_weighted_early_stopping_and_partial_fit():
    X, y = blobs(n=120)
    w = 0.5 + np.arange(120) % 4
    clf = fit(
        nf.MLPClassifier(
            (6,), early_stopping=True, random_state=0, max_iter=20, learning_rate_init=0.01
        ),
        X,
        y,
        sample_weight=w,
    )
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.validation_loss_curve_)
    score = _mlp_scores.ValidationScore(
        "multiclass", X, np.eye(3)[y], w, _mlp_scores.reported_loss("multiclass", None)
    )
    right = clf.predict(X) == y
    assert score(clf.network_)[0] == pytest.approx((w * right).sum() / w.sum())
    part = nf.MLPRegressor((3,), solver="sgd", random_state=0)
    Xr, yr = linear_targets(n=50)
    for _ in range(3):
        part.partial_fit(Xr, yr, sample_weight=np.linspace(0.2, 2.0, 50))
    assert part.t_ == 150 and np.isfinite(part.loss_)


def test_bad_weights_are_refused():
    X, y = blobs(n=30)
    with pytest.raises(ValueError, match="at least one positive weight"):
        nf.MLPClassifier().fit(X, y, sample_weight=np.zeros(30))
    with pytest.raises(ValueError, match="at least one non-zero"):
        nf.MLPClassifier(class_weight={0: 0, 1: 0, 2: 0}).fit(X, y)
    with pytest.raises(ValueError, match="Negative values"):
        nf.MLPClassifier().fit(X, y, sample_weight=-np.ones(30))
    with pytest.raises(ValueError, match="sample_weight has 3 weights for 30 samples"):
        nf.MLPClassifier().fit(X, y, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match="NaN or infinity"):
        nf.MLPClassifier().fit(X, y, sample_weight=np.full(30, np.inf))


def test_weighted_score():
    X, y = blobs(n=30)
    clf = fit(nf.MLPClassifier((4,), max_iter=2, random_state=0), X, y)
    right = clf.predict(X) == y
    w = np.arange(30.0)
    assert clf.score(X, y, sample_weight=w) == pytest.approx((w * right).sum() / w.sum())


# --- parameters, as scikit-learn handles them -------------------------------------------------


def test_parameters_are_stored_as_given_and_checked_in_fit():
    clf = nf.MLPClassifier(activation="bogus", alpha=-1, hidden_layer_sizes=[7])
    assert clf.get_params()["activation"] == "bogus"  # no error until fit
    X, y = blobs(n=30)
    with pytest.raises(ValueError, match=r"activation must be one of \('identity', "):
        clf.fit(X, y)
    clf.set_params(activation="tanh")
    with pytest.raises(ValueError, match="alpha must be in"):
        clf.fit(X, y)
    clf.set_params(alpha=0.0, max_iter=2)
    quiet(clf.fit, X, y)
    assert clf.hidden_layer_sizes == [7] and clf.coefs_[0].shape == (3, 7)
    copy = type(clf)(**clf.get_params())
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "coefs_")
    with pytest.raises(ValueError, match="Invalid parameter 'hidden' for estimator"):
        clf.set_params(hidden=3)
    for bad, error in [
        ({"solver": "newton"}, ValueError),
        ({"batch_size": 0}, ValueError),
        ({"shuffle": "yes"}, TypeError),
        ({"random_state": -2}, ValueError),
        ({"dropout": [0.1, 0.2]}, ValueError),
        ({"n_iter_no_change": 0}, ValueError),
        ({"backend": "gpu"}, ValueError),
        ({"hidden_layer_sizes": (3, 0)}, ValueError),
    ]:
        with pytest.raises(error):
            nf.MLPClassifier(**bad).fit(X, y)
    with pytest.raises(ValueError, match="loss must be one of \\('squared_error'"):
        nf.MLPRegressor(loss="gamma").fit(*linear_targets())


def test_repr_shows_the_changed_parameters():
    assert repr(nf.MLPClassifier()) == "MLPClassifier()"
    assert (
        repr(nf.MLPRegressor((5, 2), solver="sgd"))
        == "MLPRegressor(hidden_layer_sizes=(5, 2), solver='sgd')"
    )


def test_extras_dropout_l1_and_backend(cython_kernels):
    X, y = blobs(n=60)
    a = fit(nf.MLPClassifier((6,), max_iter=20, random_state=0, l1=0.01, dropout=0.2), X, y)
    b = fit(
        nf.MLPClassifier((6,), max_iter=20, random_state=0, l1=0.01, dropout=0.2, backend="numpy"),
        X,
        y,
    )
    np.testing.assert_allclose(a.network_.parameters, b.network_.parameters, rtol=1e-9, atol=1e-12)
    c = fit(nf.MLPClassifier((6,), max_iter=20, random_state=0), X, y)
    assert np.abs(a.coefs_[0]).sum() < np.abs(c.coefs_[0]).sum()  # l1 shrinks


def test_verbose_prints_each_epoch(capsys):
    X, y = blobs(n=30)
    fit(nf.MLPClassifier((3,), max_iter=3, verbose=True, random_state=0), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and len(lines) == 3


# --- input errors ---------------------------------------------------------------------------


def test_input_errors_are_clear():
    X, y = blobs(n=30)
    clf = nf.MLPClassifier((3,), max_iter=2)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        clf.predict(X)
    assert not hasattr(clf, "coefs_")
    one = quiet(nf.MLPClassifier((3,), max_iter=2).fit, X, np.zeros(30))  # as scikit-learn
    assert one.classes_.tolist() == [0.0] and (one.predict(X) == 0.0).all()
    assert one.predict_proba(X).shape == (30, 2)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, 30))
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="X has no features"):
        import scipy.sparse

        clf.fit(scipy.sparse.csr_matrix((X.shape[0], 0)), y)
    quiet(clf.fit, X, y)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.predict(X[0])
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 3"):
        clf.predict(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="0 feature"):
        clf.fit(np.zeros((3, 0)), [0, 1, 0])


def test_column_vector_y_is_raveled_with_a_warning():
    X, y = linear_targets(n=40)
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        reg = quiet(nf.MLPRegressor((3,), max_iter=2, random_state=0).fit, X, y[:, None])
    assert reg.predict(X).shape == (40,)


# --- Perceptron and LogisticRegression follow the same conventions -----------------------------


@pytest.mark.parametrize("cls", [nf.Perceptron, nf.LogisticRegression])
def test_classics_have_estimator_parameters(cls):
    X, y = blobs(n=40, k=2)
    model = cls()
    assert model.get_params()["seed"] is None
    model.set_params(max_epochs=3)
    assert model.max_epochs == 3
    clone = cls(**model.get_params())
    assert clone.get_params() == model.get_params()
    model.fit(X, y)
    assert model.n_features_in_ == 3 and model.classes_.tolist() == [0, 1]
    assert model.__sklearn_is_fitted__() and not clone.__sklearn_is_fitted__()
    w = np.arange(40.0)
    right = model.predict(X) == y
    assert model.score(X, y, sample_weight=w) == pytest.approx((w * right).sum() / w.sum())
    model.set_params(learning_rate=-1.0)  # not checked here, as in scikit-learn...
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(X, y)  # ...but in fit
    assert cls(learning_rate=-1.0).learning_rate == -1.0  # nor by the constructor
    assert cls(learning_rate=1).learning_rate == 1  # stored as given, int stays int


def test_logistic_regression_sample_and_class_weights():
    X, y = blobs(n=40, k=2, spread=2.0)
    w = np.arange(40) % 3
    weighted = nf.LogisticRegression(max_epochs=20).fit(X, y, sample_weight=w)
    repeated = nf.LogisticRegression(max_epochs=20).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-12)
    by_class = nf.LogisticRegression(max_epochs=20, class_weight={1: 2}).fit(X, y)
    by_sample = nf.LogisticRegression(max_epochs=20).fit(X, y, sample_weight=1 + (y == 1))
    np.testing.assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-12)
    with pytest.raises(ValueError, match="Reshape your data"):
        weighted.predict(X[0])


def test_perceptron_predicts_one_sample_as_a_call_and_refuses_continuous_y():
    p = nf.Perceptron.from_weights([1.0, 1.0], -1.0)
    assert p([1.0, 1.0]) == 1
    with pytest.raises(ValueError, match="Reshape your data"):
        p.predict([1.0, 1.0])
    with pytest.raises(ValueError, match="Unknown label type"):
        nf.Perceptron().fit(np.zeros((3, 2)), [0.5, 1.5, 2.5])
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        nf.Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])


# --- scikit-learn is optional -------------------------------------------------------------------


def test_nnfast_works_without_scikit_learn(tmp_path):
    """With scikit-learn unimportable: import, fit, predict, score, parameters, warnings and
    model files all work, and ``import nnfast`` never imports scikit-learn anyway."""
    code = f"""
import sys, warnings
sys.modules["sklearn"] = None  # any import of scikit-learn now fails
import numpy as np
import nnfast as nf
assert "sklearn" not in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3)); y = np.where(X[:, 0] > 0, "a", "b")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    clf = nf.MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
assert [type(w.message).__name__ for w in caught] == ["ConvergenceWarning"], caught
assert type(caught[0].message) is nf.ConvergenceWarning
assert clf.score(X, y) == np.mean(clf.predict(X) == y)
assert type(clf)(**clf.get_params()).get_params() == clf.get_params()
reg = nf.MLPRegressor((), solver="lbfgs").fit(X, X @ [1.0, 2.0, 3.0])
assert reg.score(X, X @ [1.0, 2.0, 3.0]) > 0.9999
path = {str(tmp_path / "m.npz")!r}
clf.save(path)
assert (nf.load(path).predict(X) == clf.predict(X)).all()
p = nf.Perceptron().fit(X, y)
assert p.set_params(max_epochs=2).get_params()["max_epochs"] == 2
print("ok")
"""
    env = dict(os.environ)
    env.pop("NNFAST_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(nf.__file__)),
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr
