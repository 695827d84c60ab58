"""nnfast's estimators inside scikit-learn: its common checks, its tools, and its own
MLPClassifier / MLPRegressor as the reference for the training maths.

scikit-learn is an optional dependency (``pip install nnfast[sklearn]``); without it these
tests skip.
"""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

from sklearn import neural_network  # noqa: E402
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import nnfast as nf  # noqa: E402

ESTIMATORS = [nf.MLPClassifier(), nf.MLPRegressor(), nf.Perceptron(), nf.LogisticRegression()]


def expected_failures(estimator):
    """The checks a model declares it cannot pass, each with its reason (see the report)."""
    return estimator._expected_failed_checks()


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: type(est).__name__)
def test_scikit_learn_common_checks(estimator):
    """``check_estimator`` passes, except for the checks the model declares, with a reason,
    in ``_expected_failed_checks`` (and those must really fail: no stale excuses)."""
    declared = expected_failures(estimator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(estimator, on_fail=None, on_skip=None)
    # the models inherit sklearn.base.BaseEstimator (through nnfast._compat)
    assert not [w for w in caught if "inherit" in str(w.message)], caught
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    unexpected = {name: repr(exc)[:500] for name, exc in failed.items() if name not in declared}
    assert not unexpected, unexpected
    assert sorted(failed) == sorted(declared), "a declared failure now passes"
    assert sum(r["status"] == "passed" for r in results) > 45


def test_expected_failures_are_few_and_explained():
    for est in ESTIMATORS:
        for name, reason in expected_failures(est).items():
            assert name.startswith("check_") and len(reason) > 80
    assert expected_failures(nf.MLPRegressor()) == {}
    # check_class_weight_classifiers (class_weight={0: 1000, 1: 0.0001}) passes too, now that
    # the kernels take per-sample weights
    assert expected_failures(nf.MLPClassifier()) == {}


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


# --- scikit-learn's tools -------------------------------------------------------------------


def test_tags_and_clone():
    assert is_classifier(nf.MLPClassifier()) and is_regressor(nf.MLPRegressor())
    assert is_classifier(nf.Perceptron()) and is_classifier(nf.LogisticRegression())
    tags = nf.Perceptron().__sklearn_tags__()
    assert tags.classifier_tags.multi_class is False
    assert nf.MLPClassifier().__sklearn_tags__().classifier_tags.multi_label is True
    assert nf.MLPRegressor().__sklearn_tags__().target_tags.multi_output is True
    model = nf.MLPClassifier((7, 3), alpha=0.1, class_weight={0: 2}, random_state=4)
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert not hasattr(clone(model), "coefs_")


def test_pipeline_cross_val_score_and_grid_search_in_processes():
    X, y = data(150)
    pipe = make_pipeline(
        StandardScaler(), nf.MLPClassifier((8,), solver="lbfgs", max_iter=50, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
        assert pipe.score(X, y) > 0.9
        assert pipe.predict_proba(X).shape == (150, 3)
        scores = cross_val_score(pipe, X, y, cv=3)
        assert scores.shape == (3,) and scores.min() > 0.6
        search = GridSearchCV(
            pipe, {"mlpclassifier__hidden_layer_sizes": [(1,), (8,)]}, cv=2, n_jobs=2
        ).fit(X, y)
    assert search.best_params_["mlpclassifier__hidden_layer_sizes"] == (8,)
    assert search.cv_results_["mean_test_score"].shape == (2,)
    best = search.best_estimator_[-1]
    assert isinstance(best, nf.MLPClassifier) and best.coefs_[0].shape == (4, 8)
    # the refitted model is what the same parameters give here
    again = clone(pipe).set_params(**search.best_params_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again.fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), search.predict_proba(X))


def test_regressor_and_classics_in_a_grid_search():
    X, y = data()
    target = X @ [1.0, -2.0, 0.5, 0.0]
    search = GridSearchCV(nf.MLPRegressor((), solver="lbfgs"), {"alpha": [1e-4, 10.0]}, cv=2).fit(
        X, target
    )
    assert search.best_params_ == {"alpha": 1e-4} and search.best_score_ > 0.99
    search = GridSearchCV(nf.LogisticRegression(), {"learning_rate": [0.1, 1.0]}, cv=2)
    search.fit(X, y)
    assert search.best_estimator_.classes_.tolist() == [0, 1, 2]
    binary = (y > 0).astype(int)
    search = GridSearchCV(nf.Perceptron(), {"max_epochs": [1, 50]}, cv=2).fit(X, binary)
    assert search.best_score_ > 0.8


def test_html_repr_of_a_search():
    from sklearn.utils import estimator_html_repr

    html = estimator_html_repr(GridSearchCV(nf.MLPClassifier(), {"alpha": [1e-4, 1e-3]}))
    assert "MLPClassifier" in html


def test_warnings_and_errors_are_scikit_learns_too():
    X, y = data()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        nf.MLPClassifier((3,), max_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # scikit-learn's class silences it
        nf.MLPClassifier((3,), max_iter=2).fit(X, y)
    for model in (nf.MLPRegressor(), nf.Perceptron(), nf.LogisticRegression()):
        with pytest.raises(NotFittedError):
            model.predict(X)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = nf.MLPClassifier((3,), solver="lbfgs", max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, pd.Series(y))
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    pred = clf.predict(frame)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(X), pred)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(frame.rename(columns={"a": "z"}))


# --- the same training as scikit-learn's ------------------------------------------------------


def reference_data(kind):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 4))
    if kind == "regression":
        return X, X @ [1.0, -1.0, 0.5, 2.0] + 0.3 * np.sin(3 * X[:, 0])
    if kind == "multiclass":
        return X, np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    if kind == "binary":
        return X, np.where(X[:, 0] * X[:, 1] > 0, "yes", "no")
    return X, np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)


TRAINING = [
    dict(solver="sgd", learning_rate_init=0.05, alpha=0.01),
    dict(solver="sgd", nesterovs_momentum=False, batch_size=40, alpha=0.3),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, momentum=0.0),
    dict(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.3,
        momentum=0.0,
        tol=0.02,
        n_iter_no_change=2,
        max_iter=150,
    ),
    dict(solver="sgd", momentum=0.0, tol=0.01, n_iter_no_change=3, max_iter=150),
    dict(solver="lbfgs", max_iter=15, alpha=0.1),
]


@pytest.mark.parametrize("kind", ["regression", "multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("params", TRAINING, ids=lambda p: "-".join(map(str, p.values())))
def test_same_weights_as_scikit_learn_without_shuffling(kind, params):
    """Same initial draws, same updates (alpha, rates, the loss scale), same stopping epoch:
    without shuffling nnfast's run is scikit-learn's to rounding."""
    X, y = reference_data(kind)
    name = "MLPRegressor" if kind == "regression" else "MLPClassifier"
    params = {
        "hidden_layer_sizes": (5,),
        "activation": "tanh",
        "shuffle": False,
        "random_state": 0,
        "max_iter": 25,
        "tol": 0.0,
        **params,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(neural_network, name)(**params).fit(X, y)
        ours = getattr(nf, name)(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    if kind == "regression":
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-11)
    else:
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    if params["solver"] != "lbfgs":
        assert ours.t_ == theirs.t_
    if params["solver"] != "lbfgs" and params.get("alpha", 1e-4) <= 0.01:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0.01)


def test_adam_matches_scikit_learn_up_to_its_epsilon_placement():
    X, y = reference_data("multiclass")
    params = dict(hidden_layer_sizes=(5,), shuffle=False, random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = neural_network.MLPClassifier(**params).fit(X, y)
        ours = nf.MLPClassifier(**params).fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert np.abs(a - b).max() > 0  # Adam's epsilon term differs, slightly


def test_partial_fit_matches_scikit_learn():
    X, y = reference_data("multiclass")
    params = dict(
        hidden_layer_sizes=(5,),
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.1,
        momentum=0.0,
        shuffle=False,
        random_state=0,
    )
    theirs = neural_network.MLPClassifier(**params)
    ours = nf.MLPClassifier(**params)
    for rows in (slice(0, 50), slice(50, 70), slice(70, 120), slice(0, 120)):
        for model in (theirs, ours):
            model.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    assert ours.t_ == theirs.t_ == 240
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


WEIGHTS = {
    "integer": lambda n: 1 + np.arange(n) % 3,
    "fractional": lambda n: np.linspace(0.1, 1.0, n) ** 2,
    "with zeros": lambda n: np.where(np.arange(n) % 7 == 0, 0.0, 0.3 + np.arange(n) % 4),
}


@pytest.mark.parametrize("kind", ["regression", "multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("weights", list(WEIGHTS))
def test_sample_weights_equal_scikit_learns_for_lbfgs(kind, weights):
    """scikit-learn's weighted objective sum w_i L_i / sum w_i + alpha / (2 sum w) ||W||^2 is
    what nnfast's kernels minimise with lbfgs: the same run."""
    X, y = reference_data(kind)
    w = WEIGHTS[weights](len(X))
    name = "MLPRegressor" if kind == "regression" else "MLPClassifier"
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=10, alpha=0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(neural_network, name)(**params).fit(X, y, sample_weight=w)
        ours = getattr(nf, name)(**params).fit(X, y, sample_weight=w)
    assert ours.n_iter_ == theirs.n_iter_
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_full_batch_weighted_training_equals_scikit_learns(kind, solver):
    """One batch (batch_size >= n_samples): the batch's weight sum is sum(w), so nnfast's
    normalisation by batch_size * mean(w) is scikit-learn's; the runs agree (Adam up to
    its epsilon placement). t_ counts samples, not weights."""
    X, y = reference_data(kind)
    w = WEIGHTS["fractional"](len(X))
    name = "MLPRegressor" if kind == "regression" else "MLPClassifier"
    params = dict(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver=solver,
        alpha=0.05,
        batch_size=len(X),
        learning_rate_init=0.05,
        shuffle=False,
        random_state=0,
        max_iter=20,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = getattr(neural_network, name)(**params).fit(X, y, sample_weight=w)
        ours = getattr(nf, name)(**params).fit(X, y, sample_weight=w)
    assert ours.t_ == theirs.t_ == 20 * len(X)
    tolerance = dict(rtol=1e-9, atol=1e-11) if solver == "sgd" else dict(rtol=1e-3, atol=1e-4)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, **tolerance)


def test_weighted_mini_batches_differ_from_scikit_learn_only_by_the_batch_normalisation():
    """Documented difference: scikit-learn divides a batch's gradient by that batch's weight
    sum, nnfast by batch_size * mean(w). With batches of equal weight sums they agree."""
    X, y = reference_data("regression")
    params = dict(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver="sgd",
        alpha=0.05,
        batch_size=40,
        learning_rate_init=0.05,
        shuffle=False,
        random_state=0,
        max_iter=10,
        tol=0.0,
        momentum=0.0,
    )
    balanced = np.tile([0.5, 1.5, 1.0, 1.0], 30)  # every batch of 40 weighs 40
    skewed = np.repeat([0.5, 1.0, 1.5], 40)  # batches weigh 20, 40, 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for w in (balanced, skewed):
            theirs = neural_network.MLPRegressor(**params).fit(X, y, sample_weight=w)
            ours = nf.MLPRegressor(**params).fit(X, y, sample_weight=w)
            for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
            assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
