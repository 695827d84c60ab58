"""The MLP estimators keep float32 as scikit-learn's do: float32 X trains a float32 network on
the float32 kernels (coefs_, intercepts_ and predictions float32), every other X float64;
and they give scikit-learn's float32 model for the same random_state."""

import warnings

import numpy as np
import pytest

import nnfast

sklearn = pytest.importorskip("sklearn", minversion="1.7")
from sklearn import neural_network  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402


def digits(dtype):
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).astype(dtype), y[:400]


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnfast.exceptions.ConvergenceWarning)
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        return model.fit(X, y)


def relative_difference(ours, theirs):
    return max(
        float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_in_float32_out(dtype, sparse):
    X, y = digits(dtype)
    if sparse:
        X = pytest.importorskip("scipy.sparse").csr_array(X)
    expected = np.float32 if dtype == np.float32 else np.float64
    clf = fit(nnfast.MLPClassifier((6,), max_iter=3, random_state=0), X, y)
    reg = fit(nnfast.MLPRegressor((6,), max_iter=3, random_state=0), X, y.astype(float))
    for model in (clf, reg):
        assert model.network_.dtype == expected
        assert {a.dtype for a in model.coefs_ + model.intercepts_} == {np.dtype(expected)}
    assert clf.predict_proba(X).dtype == expected
    assert reg.predict(X).dtype == expected


def test_a_float32_model_predicts_float64_x_in_float32():
    X, y = digits(np.float32)
    clf = fit(nnfast.MLPClassifier((6,), max_iter=3, random_state=0), X, y)
    proba = clf.predict_proba(X.astype(np.float64))
    assert proba.dtype == np.float32
    np.testing.assert_array_equal(proba, clf.predict_proba(X))
    with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
        clf.predict(np.full((1, 64), 1e300))


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd", momentum=0.9, learning_rate_init=0.05, learning_rate="invscaling"),
        dict(solver="adam", early_stopping=True, alpha=0.01),
    ],
)
def test_float32_fits_scikit_learns_float32_model(params):
    """scikit-learn runs its float32 arrays through NumPy in float32 (NumPy 2 keeps Python
    scalars weak); nnfast's float32 kernels round differently in places (a batch's gradient
    is summed in another order): the two stay within 1e-6 of each other over 20 epochs."""
    X, y = digits(np.float32)
    kw = dict(hidden_layer_sizes=(15,), max_iter=20, random_state=1, **params)
    ours = fit(nnfast.MLPClassifier(**kw), X, y)
    theirs = fit(neural_network.MLPClassifier(**kw), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == np.float32
    assert relative_difference(ours, theirs) < 1e-6
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


def test_a_saved_float32_model_loads_as_float32_and_trains_on(tmp_path):
    X, y = digits(np.float32)
    model = fit(nnfast.MLPClassifier((6,), max_iter=3, random_state=0), X, y)
    loaded = nnfast.load(model.save(tmp_path / "model.npz"))
    assert loaded.network_.dtype == np.float32
    assert loaded._optimizer.state.m.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(a, b)
