"""The estimators' nnfast parameters from the toolbox: gradient clipping and callbacks passed
to the compiled training loop, and ``layer_outputs`` of the fitted network."""

import numpy as np
import pytest

import nnfast as nf

pytestmark = pytest.mark.filterwarnings("ignore::nnfast.ConvergenceWarning")


def digits_like(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    return X, y


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_clipping_reaches_the_training_loop(solver):
    """Clipping by value at 1e-12 all but stops training; without it the weights move."""
    X, y = digits_like()
    kwargs = dict(
        hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0, learning_rate_init=0.01
    )
    free = nf.MLPClassifier(**kwargs).fit(X, y)
    held = nf.MLPClassifier(clip_value=1e-12, **kwargs).fit(X, y)
    # the same initial weights, barely stepped
    initial = nf.MLPClassifier(**{**kwargs, "max_iter": 1, "learning_rate_init": 1e-300})
    initial.fit(X, y)
    moved_free = max(np.abs(a - b).max() for a, b in zip(free.coefs_, initial.coefs_))
    moved_held = max(np.abs(a - b).max() for a, b in zip(held.coefs_, initial.coefs_))
    # (Adam's step normalises the tiny gradient: 1e-12 / (1e-12 + epsilon) of the rate)
    assert moved_free > 1e-2 and moved_held < 1e-3 * moved_free
    reg = nf.MLPRegressor((5,), solver="sgd", clip_norm=1e-3, max_iter=3, random_state=0)
    reg.fit(X, X[:, 0])
    assert reg.n_iter_ == 3


def test_clipping_matches_train_on_the_same_network():
    """The estimator's run is Network.train's with clip_norm: the same weights."""
    X, y = digits_like()
    kwargs = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        momentum=0.0,
        max_iter=4,
        random_state=3,
        shuffle=False,
        batch_size=30,
        alpha=0.0,
        tol=0.0,
        learning_rate_init=0.5,
    )
    a = nf.MLPClassifier(clip_norm=0.05, **kwargs).fit(X, y)
    b = nf.MLPClassifier(clip_norm=1e9, **kwargs).fit(X, y)
    c = nf.MLPClassifier(**kwargs).fit(X, y)
    for W_b, W_c in zip(b.coefs_, c.coefs_):  # a norm never reached: no clipping
        np.testing.assert_allclose(W_b, W_c, rtol=1e-12, atol=1e-14)
    assert max(np.abs(Wa - Wc).max() for Wa, Wc in zip(a.coefs_, c.coefs_)) > 1e-3


def test_callbacks_run_every_epoch_and_may_stop():
    X, y = digits_like()
    seen = []

    class Stop(nf.Callback):
        def on_epoch_end(self, epoch, history, network):
            seen.append((epoch, network.layer_sizes))
            return epoch == 2

    clf = nf.MLPClassifier((5,), max_iter=20, random_state=0, callbacks=[Stop()]).fit(X, y)
    assert [e for e, _ in seen] == [0, 1, 2] and seen[0][1] == [6, 5, 3]
    assert clf.n_iter_ == 3


def test_checkpoint_of_an_estimators_network(tmp_path):
    X, y = digits_like()
    path = tmp_path / "net.npz"
    clf = nf.MLPClassifier(
        (5,), max_iter=6, random_state=0, callbacks=[nf.ModelCheckpoint(path, monitor="loss")]
    ).fit(X, y)
    saved = nf.load(path)
    best = int(np.argmin(clf.loss_curve_))
    assert saved.layer_sizes == clf.network_.layer_sizes
    if best == clf.n_iter_ - 1:  # the last epoch was the best: the weights it ends with
        np.testing.assert_array_equal(saved.parameters, clf.network_.parameters)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(clip_norm=0.0), ValueError, "clip_norm"),
        (dict(clip_value=-1.0), ValueError, "clip_value"),
        (dict(clip_norm="big"), TypeError, "clip_norm"),
        (dict(callbacks=print), TypeError, "callbacks must be None or a list"),
        (dict(callbacks=[object()]), TypeError, "on_epoch_end"),
    ],
)
def test_bad_values_are_refused_at_fit(kwargs, error, match):
    X, y = digits_like(30)
    with pytest.raises(error, match=match):
        nf.MLPClassifier((3,), max_iter=1, **kwargs).fit(X, y)


def test_layer_outputs_of_the_fitted_network():
    X, y = digits_like()
    clf = nf.MLPClassifier((5, 4), max_iter=5, random_state=0).fit(X, y)
    outs = clf.layer_outputs(X)
    assert [o.shape for o in outs] == [(150, 5), (150, 4), (150, 3)]
    np.testing.assert_allclose(outs[-1], clf.predict_proba(X), rtol=1e-12)
    z = clf.layer_outputs(X, pre_activations=True)[0]
    np.testing.assert_allclose(z, X @ clf.coefs_[0] + clf.intercepts_[0], rtol=1e-12)
    np.testing.assert_allclose(outs[0], np.maximum(z, 0.0), rtol=1e-12)
    with pytest.raises(Exception, match="not fitted"):
        nf.MLPRegressor().layer_outputs(X)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_layer_outputs_of_sparse_and_float32_rows(backend):
    sp = pytest.importorskip("scipy.sparse")
    X, y = digits_like()
    X[np.abs(X) < 0.7] = 0.0
    A = sp.csr_matrix(X.astype(np.float32))
    clf = nf.MLPClassifier((5, 4), max_iter=5, random_state=0, backend=backend).fit(A, y)
    outs, dense = clf.layer_outputs(A), clf.layer_outputs(X.astype(np.float32))
    assert [o.dtype for o in outs] == [np.float32] * 3
    for got, expected in zip(outs, dense):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outs[-1], clf.predict_proba(A), rtol=1e-6)


def test_files_written_before_the_new_parameters_still_load(tmp_path, monkeypatch):
    X, y = digits_like()
    clf = nf.MLPClassifier((4,), max_iter=3, random_state=0, clip_norm=2.0).fit(X, y)
    loaded = nf.load(clf.save(tmp_path / "now.npz"))
    assert loaded.clip_norm == 2.0 and loaded.callbacks is None
    params = clf.get_params(deep=False)
    for name in ("clip_norm", "clip_value", "callbacks"):  # as a file from before them
        del params[name]
    monkeypatch.setattr(clf, "get_params", lambda deep=False: params)
    old = nf.load(clf.save(tmp_path / "before.npz"))
    assert old.clip_norm is None
    np.testing.assert_array_equal(old.predict(X), clf.predict(X))


@pytest.mark.parametrize(
    "activation", ["leaky_relu", "gelu", ["elu", "logistic"], ("silu", "tanh")]
)
def test_nnfast_activations_and_one_per_layer(activation, tmp_path):
    X, y = digits_like()
    clf = nf.MLPClassifier((6, 5), activation=activation, max_iter=3, random_state=0).fit(X, y)
    names = [activation] * 2 if isinstance(activation, str) else list(activation)
    want = tuple("sigmoid" if a == "logistic" else a for a in names)
    assert clf.network_.activations == want
    hidden = clf.layer_outputs(X)[0]
    z = X @ clf.coefs_[0] + clf.intercepts_[0]
    np.testing.assert_allclose(hidden, nf.activations.get(want[0])(z), rtol=1e-12, atol=1e-15)
    loaded = nf.load(clf.save(tmp_path / "clf.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    clf.set_params(warm_start=True).fit(X, y)  # continues the same network


def test_glorot_factor_per_layer_as_scikit_learn():
    """One name keeps scikit-learn's draws; a list takes each layer's factor (logistic 2)."""
    X, y = digits_like()
    one = nf.MLPClassifier(
        (6, 5), activation="logistic", max_iter=1, learning_rate_init=1e-300, random_state=4
    ).fit(X, y)
    per = nf.MLPClassifier(
        (6, 5),
        activation=["logistic", "logistic"],
        max_iter=1,
        learning_rate_init=1e-300,
        random_state=4,
    ).fit(X, y)
    for a, b in zip(one.coefs_, per.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    mixed = nf.MLPClassifier(
        (6, 5),
        activation=["relu", "logistic"],
        max_iter=1,
        learning_rate_init=1e-300,
        random_state=4,
    ).fit(X, y)
    bound0 = np.sqrt(6.0 / (6 + 6))  # relu's factor for the first layer
    assert (
        np.abs(mixed.coefs_[0]).max() > np.sqrt(2.0 / 12)
        and np.abs(mixed.coefs_[0]).max() <= bound0
    )


@pytest.mark.parametrize(
    "activation, match",
    [
        ("swish", r"activation must be one of"),
        (["relu"], r"activation must be one name or 2 names"),
        (["relu", "mish"], r"activation\[1\] must be one of"),
    ],
)
def test_bad_activations_are_refused(activation, match):
    X, y = digits_like(30)
    with pytest.raises(ValueError, match=match):
        nf.MLPClassifier((3, 3), activation=activation, max_iter=1).fit(X, y)


@pytest.mark.parametrize("loss, name", [("absolute_error", "mae"), ("huber", "huber")])
def test_regressor_losses(loss, name):
    """The network minimises nnfast's mean of the loss; robust losses shrug off outliers."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 1))
    y = 2 * X[:, 0] + 0.01 * rng.normal(size=200)
    y[:10] += 50.0  # outliers
    kwargs = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=0.0, random_state=0)
    robust = nf.MLPRegressor(loss=loss, **kwargs).fit(X, y)
    squared = nf.MLPRegressor(**kwargs).fit(X, y)
    assert robust.network_.loss_function.name == name
    assert squared.network_.loss_function.name == "mse"
    residual = robust.predict(X) - y
    mean = (
        np.abs(residual)
        if loss == "absolute_error"
        else np.where(np.abs(residual) < 1, residual**2 / 2, np.abs(residual) - 0.5)
    )
    assert robust.loss_ == pytest.approx(mean.mean(), rel=1e-6)
    assert abs(robust.coefs_[0][0, 0] - 2.0) < 0.1 < abs(squared.intercepts_[0][0])
    sgd = nf.MLPRegressor((4,), loss=loss, solver="adam", max_iter=5, random_state=0).fit(X, y)
    assert sgd.network_.loss_function.name == name and len(sgd.loss_curve_) == 5


def test_regressor_loss_is_checked():
    with pytest.raises(
        ValueError, match=r"loss must be one of \('squared_error', 'poisson', 'absolute"
    ):
        nf.MLPRegressor(loss="gamma").fit(np.ones((4, 1)), np.ones(4))


def test_early_stopping_on_a_scorer():
    """scoring replaces the validation accuracy: its values are what validation_scores_
    records, what the stopping rule compares, and each is the scorer of that epoch's
    network on the held-out rows."""
    pytest.importorskip("sklearn")
    from sklearn.metrics import f1_score

    X, y = digits_like(300, seed=2)
    seen = []

    def macro_f1(estimator, X_val, y_val):
        value = f1_score(y_val, estimator.predict(X_val), average="macro")
        seen.append((value, estimator.network_.parameters.copy()))
        return value

    kwargs = dict(
        hidden_layer_sizes=(6,),
        early_stopping=True,
        max_iter=40,
        random_state=0,
        n_iter_no_change=3,
        learning_rate_init=0.01,
    )
    clf = nf.MLPClassifier(scoring=macro_f1, **kwargs).fit(X, y)
    assert [v for v, _ in seen] == clf.validation_scores_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    best = int(np.argmax(clf.validation_scores_))
    np.testing.assert_array_equal(clf.network_.parameters, seen[best][1])  # restored
    by_name = nf.MLPClassifier(scoring="f1_macro", **kwargs).fit(X, y)
    np.testing.assert_allclose(by_name.validation_scores_, clf.validation_scores_, rtol=1e-12)
    default = nf.MLPClassifier(**kwargs).fit(X, y)  # accuracy: other scores
    assert default.validation_scores_ != clf.validation_scores_


def test_a_regressor_scorer_and_its_targets():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, -2.0, 0.5]
    got = []

    def scorer(estimator, X_val, y_val):
        got.append(y_val.shape)
        return -float(np.mean(np.abs(estimator.predict(X_val) - y_val)))

    reg = nf.MLPRegressor(
        (5,), early_stopping=True, max_iter=5, random_state=0, scoring=scorer
    ).fit(X, y)
    assert got[0] == (12,) and reg.validation_scores_[0] < 0
    named = nf.MLPRegressor(
        (5,), early_stopping=True, max_iter=5, random_state=0, scoring="neg_mean_absolute_error"
    ).fit(X, y)
    np.testing.assert_allclose(named.validation_scores_, reg.validation_scores_, rtol=1e-12)


@pytest.mark.parametrize(
    "scoring, error, match",
    [
        ("no_such_score", ValueError, "no_such_score"),
        (3, TypeError, "scoring must be None, a scikit-learn scorer name or a callable"),
    ],
)
def test_bad_scorers_are_refused(scoring, error, match):
    pytest.importorskip("sklearn")
    X, y = digits_like(40)
    with pytest.raises(error, match=match):
        nf.MLPClassifier((3,), early_stopping=True, scoring=scoring).fit(X, y)
