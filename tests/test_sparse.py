"""Sparse X (nnfast._spec.Csr): the first layer's products over the non-zeros, in the compiled
loop and the reference, equal to the same rows dense; and the MLP estimators on SciPy's sparse
matrices and arrays (CSR, CSC, COO), never densifying X."""

import tracemalloc
import warnings

import numpy as np
import pytest

import nnfast
from nnfast import _reference
from nnfast._spec import (
    ADAM,
    ADAM_SKLEARN,
    ADAMW,
    CROSS_ENTROPY,
    MEAN,
    RMSPROP,
    SGD,
    SGD_SKLEARN,
    SILU,
    SKLEARN,
    SOFTMAX,
    TANH,
    Csr,
    Hyper,
    OptimizerState,
    Spec,
)

sp = pytest.importorskip("scipy.sparse")


def sparse_case(seed, n=23, d=9, density=0.3, loss="cross_entropy"):
    rng = np.random.default_rng(seed)
    A = sp.random(n, d, density=density, format="csr", random_state=seed)
    A.data = rng.normal(size=A.nnz)
    A.data[A.indptr[0] : A.indptr[1]] = 0.0  # an empty row
    A.eliminate_zeros()
    out = "softmax" if loss == "cross_entropy" else "identity"
    net = nnfast.Network([d, 5, 3], activation="tanh", output_activation=out, loss=loss, seed=seed)
    Y = (
        nnfast.one_hot(rng.integers(0, 3, n), 3)
        if loss == "cross_entropy"
        else rng.normal(size=(n, 3))
    )
    return A, net, Y


HYPERS = {
    "sklearn-adam": Hyper(0.01, optimizer=ADAM_SKLEARN, l2=0.1, convention=SKLEARN),
    "sklearn-nesterov": Hyper(
        0.05, optimizer=SGD_SKLEARN, momentum=0.9, nesterov=True, l2=0.1, convention=SKLEARN
    ),
    "adam": Hyper(0.01, optimizer=ADAM, l1=0.01, convention=MEAN),
    "sgd": Hyper(0.05, optimizer=SGD, convention=MEAN),  # dense X takes the fused path here
}


def train(kernels, X, net, Y, hyper, batch, shuffle, w):
    params = net.parameters.copy()
    state = OptimizerState(net.spec.n_params, hyper)
    ws = kernels.Workspace(net.spec, X.shape[0], batch, sparse=isinstance(X, Csr))
    out = np.zeros((3, 2))
    rng = np.random.default_rng(7)
    kernels.train_epochs(net.spec, params, X, Y, 3, batch, shuffle, state, hyper, rng, ws, out, w)
    return params, out


@pytest.mark.parametrize("hyper", HYPERS)
@pytest.mark.parametrize("batch", [1, 4, 23])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_training_on_sparse_rows_equals_dense(hyper, batch, shuffle, weighted, cython_kernels):
    A, net, Y = sparse_case(batch + 10 * shuffle)
    w = np.random.default_rng(3).uniform(0.5, 2.0, A.shape[0]) if weighted else None
    X = Csr.of(A)
    dense = train(_reference, A.toarray(), net, Y, HYPERS[hyper], batch, shuffle, w)
    for kernels in (cython_kernels, _reference):
        params, out = train(kernels, X, net, Y, HYPERS[hyper], batch, shuffle, w)
        np.testing.assert_allclose(params, dense[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(out, dense[1], rtol=1e-10, atol=1e-12)


BATCH_NORM_HYPERS = {
    "adamw-clipped": Hyper(0.01, optimizer=ADAMW, weight_decay=0.05, clip_norm=0.5),
    "rmsprop-centered": Hyper(
        0.005, optimizer=RMSPROP, momentum=0.5, centered=True, clip_value=0.1, l2=0.01
    ),
    "sklearn-adam": Hyper(0.01, optimizer=ADAM_SKLEARN, l2=0.1, convention=SKLEARN),
}


@pytest.mark.parametrize("hyper", BATCH_NORM_HYPERS)
@pytest.mark.parametrize("batch", [4, 23])
def test_sparse_rows_with_batch_norm_equal_dense(hyper, batch, cython_kernels):
    """The sparse first layer feeds batch normalisation like dense rows do: training, forward
    (running statistics) and every layer's outputs."""
    A, _, Y = sparse_case(batch)
    spec = Spec((A.shape[1], 6, 5, 3), (TANH, SILU, SOFTMAX), CROSS_ENTROPY, batch_norm=True)
    rng = np.random.default_rng(batch)
    params0 = rng.normal(scale=0.5, size=spec.n_params)
    for v in spec.unpack_norm(params0)[3]:
        v[:] = np.abs(v) + 0.5
    h, X, D = BATCH_NORM_HYPERS[hyper], Csr.of(A), A.toarray()

    def run(kernels, X):
        params, state = params0.copy(), OptimizerState(spec.n_trainable, h)
        ws = kernels.Workspace(spec, X.shape[0], batch, sparse=isinstance(X, Csr))
        out = np.zeros((3, 2))
        kernels.train_epochs(
            spec, params, X, Y, 3, batch, True, state, h, np.random.default_rng(7), ws, out
        )
        pred = np.empty((X.shape[0], 3))
        kernels.forward(spec, params, X, pred)
        layers = [np.empty((X.shape[0], k)) for k in spec.sizes[1:]]
        kernels.layer_outputs(spec, params, X, layers, True)
        return [params, out, pred, *layers]

    # The hidden layers' biases are cancelled by the normalisation: their gradient is
    # rounding noise, which Adam's and RMSprop's steps scale up to the rate, and the running
    # means carry them; all to 1e-8, the other trainable parameters to 1e-10.
    tight = np.zeros(spec.n_params, bool)
    tight[: spec.n_trainable] = True
    for b in spec.unpack(tight)[1][:-1]:
        b[:] = False
    dense = run(_reference, D)
    assert not np.array_equal(dense[0], params0)
    for kernels in (cython_kernels, _reference):
        got = run(kernels, X)
        np.testing.assert_allclose(got[0][tight], dense[0][tight], rtol=1e-10, atol=1e-12)
        for a, b in zip(got, dense):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_forward_evaluate_gradient_on_sparse_rows(loss, cython_kernels):
    A, net, Y = sparse_case(5, n=700, d=40, density=0.05, loss=loss)  # forward in chunks too
    spec, params, D = net.spec, net.parameters, A.toarray()
    w = np.linspace(0.5, 1.5, A.shape[0])
    for kernels in (cython_kernels, _reference):
        X = Csr.of(A)
        out, expected = np.empty((A.shape[0], 3)), np.empty((A.shape[0], 3))
        kernels.forward(spec, params, X, out)
        _reference.forward(spec, params, D, expected)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            kernels.evaluate(spec, params, X, Y, w),
            _reference.evaluate(spec, params, D, Y, w),
            rtol=1e-12,
        )
        g, g_dense = np.empty(spec.n_params), np.empty(spec.n_params)
        value = kernels.loss_and_gradient(spec, params, X, Y, 0.01, 0.1, g, w)
        truth = _reference.loss_and_gradient(spec, params, D, Y, 0.01, 0.1, g_dense, w)
        assert value == pytest.approx(truth, rel=1e-12)
        np.testing.assert_allclose(g, g_dense, rtol=1e-10, atol=1e-13)


def test_csr_rows_slices_and_indices():
    A = sp.random(9, 6, density=0.4, format="csc", random_state=1)
    X, D = Csr.of(A), A.toarray()
    assert X.indices.dtype == X.indptr.dtype == np.intp and X.shape == (9, 6)
    for key in (slice(2, 7), slice(7, 20), slice(0, 9, 2), [8, 0, 8], D[:, 0] != 0):
        np.testing.assert_array_equal(X[key].scipy().toarray(), D[key])


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_broken_sparse_rows_are_refused_before_the_kernel(backend, request):
    kernels = request.getfixturevalue("cython_kernels") if backend == "cython" else _reference
    A, net, Y = sparse_case(2)
    spec, params = net.spec, net.parameters.copy()
    good = Csr.of(A)
    out = np.empty((A.shape[0], 3))
    bad_index = Csr(good.data, good.indices.copy(), good.indptr, good.shape)
    bad_index.indices[-1] = 10**9
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 9\)"):
        kernels.forward(spec, params, bad_index, out)
    shuffled = good.indptr.copy()
    shuffled[3], shuffled[4] = shuffled[4] + 1, shuffled[3]
    with pytest.raises(ValueError, match="indptr must not decrease"):
        kernels.evaluate(spec, params, Csr(good.data, good.indices, shuffled, good.shape), Y)
    short = Csr(good.data, good.indices, good.indptr[:-1], good.shape)
    with pytest.raises(ValueError, match="row pointers"):
        kernels.loss_and_gradient(spec, params, short, Y, 0.0, 0.0, None)
    hyper = HYPERS["sklearn-adam"]
    dense_ws = kernels.Workspace(spec, A.shape[0], 4)
    with pytest.raises(ValueError, match="sparse=True"):
        kernels.train_epochs(
            spec,
            params,
            good,
            Y,
            1,
            4,
            False,
            OptimizerState(spec.n_params, hyper),
            hyper,
            np.random.default_rng(0),
            dense_ws,
            np.zeros((1, 2)),
        )


# --- the estimators ---------------------------------------------------------------------------

FORMATS = ["csr_matrix", "csr_array", "csc_matrix", "csc_array", "coo_matrix"]


def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_estimators_fit_sparse_as_dense(fmt, solver):
    X, y = digits()
    S = getattr(sp, fmt)(X)
    kw = dict(hidden_layer_sizes=(12,), solver=solver, max_iter=6, random_state=0)
    if solver != "lbfgs":
        kw["early_stopping"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnfast.exceptions.ConvergenceWarning)
        dense = nnfast.MLPClassifier(**kw).fit(X, y)
        sparse = nnfast.MLPClassifier(**kw).fit(S, y)
    for a, b in zip(sparse.coefs_ + sparse.intercepts_, dense.coefs_ + dense.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(S), dense.predict_proba(X), rtol=1e-9)
    assert sparse.n_iter_ == dense.n_iter_ and sparse.loss_ == pytest.approx(dense.loss_)
    assert sparse.score(S, y) == dense.score(X, y)


def test_regressor_partial_fit_on_sparse_chunks():
    X, y = digits()
    S = sp.csr_array(X)
    dense, sparse = (nnfast.MLPRegressor((8,), random_state=1) for _ in range(2))
    for start in range(0, 300, 100):
        dense.partial_fit(X[start : start + 100], y[start : start + 100])
        sparse.partial_fit(S[start : start + 100], y[start : start + 100])
    np.testing.assert_allclose(sparse.predict(S), dense.predict(X), rtol=1e-9)


def test_sparse_input_is_checked():
    X, y = digits()
    model = nnfast.MLPClassifier((4,), max_iter=2, random_state=0)
    bad = sp.csr_matrix(X)
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(bad, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnfast.exceptions.ConvergenceWarning)
        model.fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError, match="X has 63 features, but MLPClassifier is expecting 64"):
        model.predict(sp.csr_matrix(X[:, :63]))


def test_a_wide_sparse_x_is_never_densified():
    """200,000 columns, 40 rows, 5 non-zeros a row: dense, X would take 64 MB; the model's
    parameters (200,000 x 2 weights, Adam's moments) take about 20 MB."""
    rng = np.random.default_rng(0)
    n, d = 40, 200_000
    cols = rng.integers(0, d, (n, 5))
    X = sp.csr_matrix((rng.random(n * 5), cols.ravel(), np.arange(0, n * 5 + 1, 5)), shape=(n, d))
    y = rng.integers(0, 2, n)
    model = nnfast.MLPClassifier((2,), max_iter=3, batch_size=8, random_state=0)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nnfast.exceptions.ConvergenceWarning)
        model.fit(X, y)
        model.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * 2**20, f"traced peak {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_sparse_fit_is_scikit_learns(solver):
    neural_network = pytest.importorskip("sklearn.neural_network")
    X, y = digits()
    S = sp.csr_matrix(X)
    kw = dict(hidden_layer_sizes=(12,), solver=solver, max_iter=8, random_state=3, alpha=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = nnfast.MLPClassifier(**kw).fit(S, y)
        theirs = neural_network.MLPClassifier(**kw).fit(S, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)
