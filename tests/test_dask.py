"""Scale out: GridSearchCV over nnfast estimators on a Dask cluster, through joblib.

nnfast has no Dask code of its own: its estimators follow scikit-learn's API and pickle, so
``joblib.parallel_config(backend="dask")`` sends scikit-learn's fits to the workers. A real
``LocalCluster`` of two worker processes makes every model, parameter set and result cross
a process boundary. Needs the ``distributed`` extra: ``pip install nnfast[distributed]``.

Only nnfast's own objects and methods are sent to the workers: a function defined in this
file would be pickled by reference to a test module the workers cannot import (that killed
the workers and hung CI once), and every wait on the cluster has a timeout.
"""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
pytest.importorskip("sklearn")

from sklearn.model_selection import GridSearchCV  # noqa: E402

import nnfast as nf  # noqa: E402


def data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.where(X[:, 0] + X[:, 1] * X[:, 2] > 0, "pos", "neg")


def search():
    return GridSearchCV(
        nf.MLPClassifier(max_iter=20, random_state=0),
        {"hidden_layer_sizes": [(2,), (6,)], "alpha": [1e-4, 1.0]},
        cv=3,
    )


WAIT = 120  # seconds; a dead worker must fail the test, not hang the run


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cluster start-up chatter
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = distributed.Client(cluster, timeout=WAIT)
        client.wait_for_workers(2, timeout=WAIT)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_grid_search_runs_on_the_dask_workers(client):
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        local = search().fit(X, y)
        with distributed.get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
            remote = search().fit(X, y)
    workers = {t["worker"] for t in tasks.data}
    assert len(tasks.data) >= 12 and workers <= set(client.scheduler_info()["workers"])
    # the results that came back from the workers are the ones computed here
    assert remote.best_params_ == local.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def test_models_round_trip_through_a_worker(client):
    X, y = data()
    params = dict(hidden_layer_sizes=(5,), max_iter=30, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        here = nf.MLPClassifier(**params).fit(X, y)
    # an unfitted model's bound fit method travels; the fitted model comes back pickled
    remote = client.submit(nf.MLPClassifier(**params).fit, X, y, pure=False).result(WAIT)
    assert isinstance(remote, nf.MLPClassifier) and remote.classes_.tolist() == ["neg", "pos"]
    np.testing.assert_array_equal(remote.network_.parameters, here.network_.parameters)
    # and a fitted model sent to a worker predicts there what it predicts here
    future = client.submit(here.predict_proba, X, pure=False)
    np.testing.assert_array_equal(future.result(WAIT), here.predict_proba(X))


def test_partial_fit_over_the_chunks_of_a_dask_array(client):
    """Out of core: a Dask array whose chunks are made on the workers, fed chunk by chunk to
    partial_fit (the loop the user guide shows), trains the model that the same chunks,
    in memory, train."""
    da = pytest.importorskip("dask.array")
    import dask

    X = da.random.RandomState(0).normal(size=(1200, 4), chunks=(200, 4))
    y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] > 0).astype(int)
    params = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        batch_size=20,
        learning_rate_init=0.05,
        random_state=0,
    )
    streamed = nf.MLPClassifier(**params)
    with distributed.get_task_stream(client) as tasks:
        for X_chunk, y_chunk in zip(X.to_delayed().ravel(), y.to_delayed().ravel()):
            X_np, y_np = dask.compute(X_chunk, y_chunk)  # one chunk in memory at a time
            streamed.partial_fit(X_np, y_np, classes=[0, 1])
    assert {t["worker"] for t in tasks.data} <= set(client.scheduler_info()["workers"])
    assert len(tasks.data) >= X.numblocks[0]
    X_all, y_all = dask.compute(X, y)
    in_memory = nf.MLPClassifier(**params)
    for start in range(0, 1200, 200):
        in_memory.partial_fit(
            X_all[start : start + 200], y_all[start : start + 200], classes=[0, 1]
        )
    np.testing.assert_array_equal(streamed.network_.parameters, in_memory.network_.parameters)
    assert streamed.t_ == 1200 and streamed.score(X_all, y_all) > 0.8
