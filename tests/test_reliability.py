"""Reliability: bad input, divergence, Ctrl-C, threads and determinism.

- Input: every public entry point (Network, Perceptron, LogisticRegression, the estimators)
  refuses bad input with a ValueError/TypeError naming the argument, accepts any layout,
  dtype and pandas object it can convert, and validates each argument once per call.
- Divergence: a NaN/inf loss stops training at once with one warning (or a
  FloatingPointError) and the network keeps exactly the weights (and optimizer state) of
  its last finite epoch, on both backends, per-sample, mini-batch and full batch, with SGD,
  momentum and Adam.
- Ctrl-C: a real SIGINT to a training subprocess raises KeyboardInterrupt within a second;
  the weights are those of the last complete epoch (bit-identical to a re-run of that many
  epochs), ``history.interrupted`` is set and the model saves and loads.
- Threads: concurrent training of different networks equals training them in turn; a
  second trainer of one network gets RuntimeError; concurrent feedforward is consistent.
- Determinism: one seed, one result: across runs, processes and ``n_jobs``.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import nnfast
from nnfast import _reference, _validation

HERE = os.path.dirname(os.path.abspath(__file__))
BACKENDS = ("cython", "numpy")


def need_cython():
    """Skip without the extension (fail under NNFAST_REQUIRE_CYTHON=1, as conftest does)."""
    if nnfast._backend._kernels is None:
        message = "the compiled extension nnfast._kernels is not importable"
        if os.environ.get("NNFAST_REQUIRE_CYTHON", "").strip() == "1":
            pytest.fail(f"NNFAST_REQUIRE_CYTHON=1 but {message}", pytrace=False)
        pytest.skip(message)


def nnfast_path():
    """sys.path entry that imports the nnfast under test (installed or source tree)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))


def run_child(script, args, tmp_path, **popen):
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [nnfast_path()] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
        ),
    )
    env.pop("NNFAST_BACKEND", None)
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def regression(n=24, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, k)) + 0.1 * rng.normal(size=(n, k))


def digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# =============================================================================================
# Input validation (what tests/test_validation.py does not cover yet)
# =============================================================================================


def pandas():
    """pandas, or skip the test (it is not a dependency of nnfast)."""
    return pytest.importorskip("pandas")


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def perceptron():
    return nnfast.Perceptron(learning_rate=0.1, max_epochs=20, seed=0, shuffle=True)


def logistic():
    return nnfast.LogisticRegression(learning_rate=0.5, max_epochs=30, batch_size=4, seed=0)


CLASSIFIERS = {"Perceptron": perceptron, "LogisticRegression": logistic}


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
@pytest.mark.parametrize(
    "X, y, error, pattern",
    [
        (np.zeros((4, 2, 1)), [0, 1, 0, 1], ValueError, r"X must be 2-D.*\(4, 2, 1\)"),
        (np.zeros(4), [0, 1, 0, 1], ValueError, r"X must be 2-D"),
        (np.zeros((4, 2)), [[0, 1]] * 4, ValueError, r"\by\b.*(1-D|1d|shape)"),
        (
            np.zeros((4, 2)),
            [0, 1, 0],
            ValueError,
            r"X and y have different numbers of samples: 4 and 3",
        ),
        (np.zeros((3, 2)), [0, 1, 0, 1], ValueError, r"different numbers of samples: 3 and 4"),
        (np.array([[0.0, np.nan]] * 4), [0, 1, 0, 1], ValueError, r"X contains NaN or infinity"),
        (np.array([[0.0, -np.inf]] * 4), [0, 1, 0, 1], ValueError, r"X contains NaN or infinity"),
        (np.zeros((4, 2)), [0.0, 1.0, np.nan, 1.0], ValueError, r"y contains NaN or infinity"),
        (np.zeros((4, 2)) + 0j, [0, 1, 0, 1], (TypeError, ValueError), r"X must hold real numbers"),
        (
            np.array([[None, 1.0]] * 4, dtype=object),
            [0, 1, 0, 1],
            (TypeError, ValueError),
            r"\bX\b",
        ),
        (np.array([["a", "b"]] * 4), [0, 1, 0, 1], (TypeError, ValueError), r"\bX\b"),
        (np.zeros((0, 2)), [], ValueError, r"X is empty"),
        (np.zeros((4, 2)), [], ValueError, r"different numbers of samples: 4 and 0"),
    ],
    ids=[
        "X-3d",
        "X-1d",
        "y-2d",
        "fewer-y",
        "more-y",
        "X-nan",
        "X-inf",
        "y-nan",
        "X-complex",
        "X-object",
        "X-str",
        "empty",
        "y-empty",
    ],
)
def test_classic_models_refuse_bad_training_data(make, X, y, error, pattern):
    model = make()
    with pytest.raises(error, match=pattern):
        model.fit(X, y)
    assert not hasattr(model, "coef_")  # nothing was fitted


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_classic_models_refuse_bad_prediction_input(make, binary_data):
    X, y = binary_data
    model = make().fit(X, y)
    methods = ["predict", "decision_function"] + (
        ["predict_proba"] if hasattr(model, "predict_proba") else []
    )
    for method in methods:
        call = getattr(model, method)
        with pytest.raises(
            ValueError,
            match=rf"X has 3 features, but {type(model).__name__} is expecting 2 features",
        ):
            call(np.zeros((2, 3)))
        with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
            call(np.array([[np.inf, 0.0]]))
        with pytest.raises(ValueError, match=r"X is empty"):
            call(np.zeros((0, 2)))
        with pytest.raises(ValueError, match=r"X must be 1-D or 2-D"):
            call(np.zeros((1, 2, 2)))
        with pytest.raises((TypeError, ValueError), match=r"X must hold real numbers"):
            call(np.zeros((1, 2), dtype=complex))
        with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
            call(np.array([[None, 1.0]], dtype=object))
        with pytest.raises((TypeError, ValueError), match=r"\bX\b"):
            call(np.array([["a", "b"]]))


@pytest.mark.parametrize(
    "make, kwargs, error, pattern",
    [
        (nnfast.Perceptron, dict(learning_rate=0.0), ValueError, r"learning_rate must be in \(0"),
        (nnfast.Perceptron, dict(learning_rate=-1), ValueError, r"learning_rate"),
        (
            nnfast.Perceptron,
            dict(learning_rate=float("nan")),
            ValueError,
            r"learning_rate must be finite",
        ),
        (nnfast.Perceptron, dict(max_epochs=0), ValueError, r"max_epochs must be in \[1"),
        (nnfast.Perceptron, dict(max_epochs=2.5), TypeError, r"max_epochs must be an integer"),
        (nnfast.Perceptron, dict(seed=-3), ValueError, r"seed must be a non-negative integer"),
        (
            nnfast.LogisticRegression,
            dict(learning_rate=0),
            ValueError,
            r"learning_rate must be in \(0",
        ),
        (
            nnfast.LogisticRegression,
            dict(learning_rate="big"),
            TypeError,
            r"learning_rate must be a real",
        ),
        (nnfast.LogisticRegression, dict(batch_size=0), ValueError, r"batch_size must be in \[1"),
        (nnfast.LogisticRegression, dict(batch_size=-2), ValueError, r"batch_size"),
        (nnfast.LogisticRegression, dict(max_epochs=0), ValueError, r"max_epochs"),
        (nnfast.LogisticRegression, dict(l2=-1.0), ValueError, r"l2 must be in \[0"),
        (nnfast.LogisticRegression, dict(tol=-1.0), ValueError, r"tol"),
        (nnfast.LogisticRegression, dict(n_iter_no_change=0), ValueError, r"n_iter_no_change"),
    ],
)
def test_classic_models_refuse_bad_hyperparameters(make, kwargs, error, pattern):
    model = make(**kwargs)  # stored as given, as scikit-learn's constructors do...
    with pytest.raises(error, match=pattern):
        model.fit(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), [0, 1, 1, 0])


def test_perceptron_step_refuses_labels_it_has_not_seen(binary_data):
    X, y = binary_data
    p = perceptron().fit(X, y)
    before = (p.coef_.copy(), p.intercept_, p.n_iter_)
    with pytest.raises(
        ValueError,
        match=r"y holds labels \[2\] that are not among the model's "
        r"classes \[0, 1\]",
    ):
        p.step(X[:3], [0, 2, 1])
    with pytest.raises(ValueError, match=r"X has 3 features"):
        p.step(np.zeros((2, 3)), [0, 1])
    np.testing.assert_array_equal(p.coef_, before[0])
    assert (p.intercept_, p.n_iter_) == before[1:]
    labelled = nnfast.Perceptron().fit(X, np.where(y == 1, "spam", "ham"))
    with pytest.raises(ValueError, match=r"y holds labels \['eggs'\]"):
        labelled.step(X[:2], ["spam", "eggs"])


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_classic_models_need_two_classes_and_name_y(make):
    X = np.arange(8.0).reshape(4, 2)
    if make is logistic:
        with pytest.raises(ValueError, match=r"y must hold at least two classes"):
            make().fit(X, [3, 3, 3, 3])
    with pytest.raises(ValueError, match=r"y must hold two classes|y must hold at least"):
        make().fit(X, [0, 1, 2, 1]) if make is perceptron else make().fit(X, [5, 5, 5, 5])


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
@pytest.mark.parametrize(
    "y",
    [
        np.array([0, None, 1, 0], dtype=object),
        np.array([0, "a", 1, 0], dtype=object),
    ],
    ids=["None", "mixed-str-int"],
)
def test_unorderable_labels_name_the_argument(make, y):
    """np.unique raises "'<' not supported between 'NoneType' and 'int'": the message must
    say that y is at fault and what is expected."""
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises((TypeError, ValueError), match=r"\by\b"):
        make().fit(X, y)


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_complex_labels_are_refused(make):
    """Complex arrays are refused everywhere else: complex class labels too (scikit-learn:
    'Complex data not supported')."""
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises((TypeError, ValueError), match=r"\by\b.*complex|complex.*\by\b"):
        make().fit(X, np.array([0, 1, 0, 1]) + 1j)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, 1e20]),
        np.array([0, 1, 2**63], dtype=np.uint64),
        np.array([0, 1, 2**64 - 1], dtype=np.uint64),
    ],
    ids=["float-1e20", "uint64-2**63", "uint64-max"],
)
def test_huge_class_labels_are_reported_as_they_are(labels):
    """Casting to intp wraps these to -9223372036854775808 (with a RuntimeWarning), and the
    message then blames a negative label that is not in the data."""
    net = nnfast.Network([2, 3], activation=[], loss="cross_entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"Y holds label .*only 3 classes"):
            net.loss(np.zeros((3, 2)), labels)


# --- pandas ---------------------------------------------------------------------------------


def test_network_accepts_pandas_everywhere(backend):
    pd = pandas()
    X, Y = regression(n=20, k=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    series = pd.Series(Y[:, 0], name="target")
    net = nnfast.Network([3, 4, 1], activation="tanh", seed=0)
    ref = net.copy()
    np.testing.assert_array_equal(net.feedforward(frame), ref.feedforward(X))
    np.testing.assert_array_equal(net.feedforward(frame.iloc[0]), ref.feedforward(X[0]))
    assert net.loss(frame, series) == ref.loss(X, Y)
    g_pd, g_np = net.gradients(frame, series), ref.gradients(X, Y)
    for a, b in zip(g_pd[0] + g_pd[1], g_np[0] + g_np[1]):
        np.testing.assert_array_equal(a, b)
    net.train(
        frame,
        series,
        epochs=3,
        batch_size=4,
        seed=1,
        validation_data=(frame.iloc[:5], series.iloc[:5]),
    )
    ref.train(X, Y, epochs=3, batch_size=4, seed=1, validation_data=(X[:5], Y[:5]))
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    ce = nnfast.Network([3, 4, 3], loss="cross_entropy", seed=0)
    labels = pd.Series(np.arange(20) % 3)
    assert ce.loss(frame, labels) == ce.loss(X, labels.to_numpy())
    ce.train(frame, pd.DataFrame(nnfast.one_hot(labels.to_numpy(), 3)), epochs=1)


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_classic_models_accept_pandas(make, binary_data, backend):
    pd = pandas()
    X, y = binary_data
    names = np.array(["no", "yes"])[y]
    frame = pd.DataFrame(X, columns=["x1", "x2"])
    a = make().fit(frame, pd.Series(names))
    b = make().fit(X, names)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict(frame), b.predict(X))
    assert list(a.classes_) == ["no", "yes"]
    c = make().fit(frame, pd.Series(names, dtype="category"))
    np.testing.assert_array_equal(c.predict(frame), b.predict(X))


def test_pandas_nullable_numbers_are_numbers():
    """DataFrame.to_numpy() of the nullable Int64/Float64/boolean dtypes (what
    read_csv(dtype_backend="numpy_nullable") and convert_dtypes() give) is an object array:
    "X must hold real numbers, got dtype object" is wrong for a column of integers, and a
    missing value must read as "X contains NaN", not as a dtype problem."""
    pd = pandas()
    X = np.arange(12.0).reshape(6, 2)
    net = nnfast.Network([2, 3, 1], seed=0)
    expected = net.feedforward(X)
    for dtype in ("Int64", "Float64"):
        frame = pd.DataFrame(X).astype(dtype)
        np.testing.assert_array_equal(net.feedforward(frame), expected)
    mixed = pd.DataFrame(
        {"a": pd.array([1, 2, 3], dtype="Int64"), "b": pd.array([0.5, 1.5, 2.5], dtype="Float64")}
    )
    np.testing.assert_array_equal(
        net.feedforward(mixed), net.feedforward(np.array([[1, 0.5], [2, 1.5], [3, 2.5]]))
    )
    missing = pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"X contains NaN"):
        net.feedforward(missing)


def test_pandas_object_columns_are_refused_by_name():
    pd = pandas()
    net = nnfast.Network([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match=r"X must hold real numbers"):
        net.feedforward(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))


# --- layouts and copies ---------------------------------------------------------------------


def layouts(X):
    readonly = X.copy()
    readonly.flags.writeable = False
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    wide[::2, ::3] = X
    return {
        "C": X,
        "fortran": np.asfortranarray(X),
        "strided": wide[::2, ::3],
        "float32": X.astype(np.float32),
        "int": np.round(X * 4).astype(np.int64),
        "readonly": readonly,
        "list": X.tolist(),
    }


@pytest.mark.parametrize("make", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_classic_models_accept_every_layout(make, binary_data, backend):
    X, y = binary_data
    for name, given in layouts(X).items():
        clean = np.array(np.asarray(given, dtype=np.float64), order="C")
        a, b = make().fit(given, y), make().fit(clean, y)
        np.testing.assert_array_equal(a.coef_, b.coef_, err_msg=name)
        np.testing.assert_array_equal(a.predict(given), b.predict(clean), err_msg=name)
        np.testing.assert_array_equal(
            a.decision_function(given), b.decision_function(clean), err_msg=name
        )


def spy(monkeypatch, module, name, seen):
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        seen.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def test_training_hands_the_callers_buffers_to_the_kernel(monkeypatch, binary_data):
    """C-contiguous float64 input is never copied on the way to a kernel."""
    X, y = binary_data
    Y = y.astype(np.float64).reshape(-1, 1)
    seen = []
    spy(monkeypatch, _reference, "train_epochs", seen)
    spy(monkeypatch, _reference, "perceptron_epochs", seen)
    with nnfast.use_backend("numpy"):
        nnfast.Network([2, 3, 1], seed=0).train(X, Y, epochs=1)
        assert np.shares_memory(seen[-1][2], X) and np.shares_memory(seen[-1][3], Y)
        nnfast.LogisticRegression(max_epochs=1).fit(X, y)
        assert np.shares_memory(seen[-1][2], X)
        nnfast.Perceptron(max_epochs=1).fit(X, y)
        assert np.shares_memory(seen[-1][0], X)
        nnfast.Network([2, 3, 1], seed=0).train(np.asfortranarray(X), Y, epochs=1)
        assert seen[-1][2].flags.c_contiguous and not np.shares_memory(seen[-1][2], X)


class _CountingNumpy:
    """Stands in for ``np`` inside nnfast._validation's modules and counts the full-array scans
    (np.isfinite calls) made over arrays of a watched size."""

    def __init__(self, sizes):
        self.sizes, self.scans = set(sizes), 0

    def isfinite(self, x, *args, **kwargs):
        if np.size(x) in self.sizes:
            self.scans += 1
        return np.isfinite(x, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.mark.parametrize(
    "call",
    [
        "Network.feedforward",
        "Network.loss",
        "Network.train",
        "LogisticRegression.fit",
        "LogisticRegression.predict_proba",
        "Perceptron.fit",
    ],
)
def test_each_argument_is_validated_once_per_call(monkeypatch, call, binary_data):
    """Validation at the boundary, once: a second scan of a big X costs a pass over memory
    for nothing (a 1e6 x 100 X is 800 MB)."""
    X, y = binary_data
    X = np.repeat(X, 7, axis=0)[:203]  # a size no other array here has
    y = np.repeat(y, 7)[:203]
    counter = _CountingNumpy({X.size})
    model = {
        "Network": nnfast.Network([2, 3, 1], seed=0),
        "LogisticRegression": nnfast.LogisticRegression(max_epochs=1),
        "Perceptron": nnfast.Perceptron(max_epochs=1),
    }[call.split(".")[0]]
    if call == "LogisticRegression.predict_proba":
        model.fit(X, y)
    for module in (
        _validation.arrays,
        _validation.estimator_inputs,
        _validation.labels,
        _validation.weights,
    ):
        monkeypatch.setattr(module, "np", counter)
    method = getattr(model, call.split(".")[1])
    if call in ("Network.feedforward", "LogisticRegression.predict_proba"):
        method(X)
    elif call.startswith("Network"):
        method(X, y.astype(float), **({"epochs": 1} if call.endswith("train") else {}))
    else:
        method(X, y)
    assert counter.scans <= 1, f"{call} scanned X {counter.scans} times"


# --- estimators (when they exist) -----------------------------------------------------------


def estimators():
    if not hasattr(nnfast, "MLPClassifier"):
        pytest.skip("nnfast.MLPClassifier is not there yet")
    return nnfast.MLPClassifier, nnfast.MLPRegressor


def test_estimators_refuse_bad_input_by_name(binary_data):
    MLPClassifier, MLPRegressor = estimators()
    X, y = binary_data
    for Estimator in (MLPClassifier, MLPRegressor):
        make = lambda: Estimator(hidden_layer_sizes=(3,), max_iter=5, random_state=0)  # noqa
        for bad, error in [
            (np.where(X > 1, np.nan, X), ValueError),
            (np.where(X > 1, np.inf, X), ValueError),
            (X + 1j, (TypeError, ValueError)),
            (X.astype(object).astype(str), (TypeError, ValueError)),
            (X[:, :, None], ValueError),
            (np.zeros((0, 2)), ValueError),
        ]:
            with pytest.raises(error, match=r"\bX\b|[Ii]nput|array"):
                make().fit(bad, y[: len(bad)])
        with pytest.raises(ValueError):
            make().fit(X, y[:-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = make().fit(X, y)
        with pytest.raises(ValueError, match=r"features|feature"):
            fitted.predict(np.zeros((2, 3)))
        for bad in (
            {"learning_rate_init": 0.0},
            {"batch_size": 0},
            {"alpha": -1.0},
            {"activation": "swish"},
            {"solver": "rmsprop"},
            {"max_iter": 0},
        ):
            with pytest.raises((ValueError, TypeError)):
                Estimator(**bad).fit(X, y)


def test_estimators_accept_pandas_and_layouts(binary_data):
    MLPClassifier, _ = estimators()
    pd = pandas()
    X, y = binary_data
    make = lambda: MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)  # noqa
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = make().fit(X, y)
        for given in [
            pd.DataFrame(X, columns=["a", "b"]),
            np.asfortranarray(X),
            X.astype(np.float32),
            layouts(X)["strided"],
            layouts(X)["readonly"],
        ]:
            model = make().fit(given, pd.Series(y) if isinstance(given, pd.DataFrame) else y)
            np.testing.assert_allclose(model.predict_proba(given), ref.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_estimators_raise_scikit_learns_error_when_training_diverges(solver):
    """scikit-learn raises ValueError("Solver produced non-finite parameter weights...") (its
    test_nonfinite_params); a fresh fit that diverges leaves the model unfitted, a warm one
    keeps the last usable weights and finite records."""
    _, MLPRegressor = estimators()
    X, y = regression(n=60, d=4, k=1)
    options = dict(learning_rate_init=1e6) if solver == "sgd" else {}

    def make():
        return MLPRegressor(
            hidden_layer_sizes=(8,), solver=solver, max_iter=50, random_state=0, **options
        )

    huge = np.finfo(np.float64).max * np.random.default_rng(0).uniform(size=X.shape)
    data = (X, y[:, 0]) if solver == "sgd" else (huge, y[:, 0])
    model = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            model.fit(*data)
    assert not hasattr(model, "coefs_") and not hasattr(model, "n_iter_")
    if solver != "sgd":
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().set_params(learning_rate_init=1e-3, max_iter=3).fit(X, y[:, 0])
    model.set_params(warm_start=True, learning_rate_init=1e6, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            model.fit(X, y[:, 0])
    assert all(np.isfinite(a).all() for a in model.coefs_ + model.intercepts_)
    assert np.isfinite(model.predict(X)).all()
    assert np.isfinite(model.loss_curve_).all() and len(model.loss_curve_) >= 3


def test_scikit_learns_nonfinite_params_case():
    """scikit-learn's own test_nonfinite_params, on nnfast's MLPRegressor."""
    _, MLPRegressor = estimators()
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    y = rng.standard_normal(size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            ValueError,
            match="Solver produced non-finite parameter weights. "
            "The input data may contain large values and "
            "need to be preprocessed.",
        ):
            MLPRegressor().fit(X, y)


def test_estimator_partial_fit_refuses_unseen_labels(binary_data):
    MLPClassifier, _ = estimators()
    X, y = binary_data
    model = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
    model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"2"):
        model.partial_fit(X[:3], [0, 2, 1])


# =============================================================================================
# Divergence
# =============================================================================================


def quiet_numpy_overflow():
    warnings.filterwarnings(
        "ignore", message=r"(overflow|invalid value|divide by zero)", category=RuntimeWarning
    )


def train_diverging(net, X, Y, on_divergence="warn", **kwargs):
    """Train; returns (history, divergence warnings) or raises what train raises."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_numpy_overflow()
        history = net.train(X, Y, on_divergence=on_divergence, **kwargs)
    diverged = [w for w in caught if "diverged" in str(w.message)]
    others = [w for w in caught if w not in diverged]
    assert not others, [str(w.message) for w in others]
    return history, diverged


def check_last_finite_epoch(start, net, history, X, Y, kwargs, message):
    """``net`` holds exactly the weights after the epochs before the diverged one when they
    give finite outputs on X; else those the divergence message names (an earlier epoch's
    or the initial weights), which do. Either way they are usable."""
    assert history.stopped_epoch == history.epochs - 1
    assert not np.isfinite(history.loss[-1])
    assert np.isfinite(history.loss[:-1]).all()
    assert np.isfinite(net.parameters).all()
    assert np.isfinite(net.feedforward(X)).all()
    assert len(history.learning_rate) == history.epochs
    ref = start.copy()
    if history.epochs > 1:
        with warnings.catch_warnings():
            quiet_numpy_overflow()
            h = ref.train(X, Y, **dict(kwargs, epochs=history.epochs - 1))
        assert h.loss == history.loss[:-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        usable = np.isfinite(ref.feedforward(X)).all()
    if usable:
        assert "kept the weights of the last finite epoch" in message
    else:
        import re

        kept = re.search(r"kept the weights of the end of epoch (\d+)", message)
        epochs = int(kept.group(1)) + 1 if kept else 0
        assert kept or "kept the initial weights" in message, message
        ref = start.copy()
        if epochs:
            ref.train(X, Y, **dict(kwargs, epochs=epochs))
    np.testing.assert_array_equal(net.parameters, ref.parameters)


BATCH = {"per-sample": 1, "mini-batch": 5, "full-batch": None}
OPTIMIZER = {
    "sgd": lambda: "sgd",
    "momentum": lambda: nnfast.SGD(momentum=0.9),
    "nesterov": lambda: nnfast.SGD(momentum=0.9, nesterov=True),
    "adam": lambda: nnfast.Adam(),
}


@pytest.mark.parametrize("on_divergence", ["warn", "raise"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZER))
@pytest.mark.parametrize("batch", list(BATCH))
def test_divergence_stops_at_once_and_keeps_the_last_finite_epoch(
    batch, optimizer, on_divergence, backend
):
    X, Y = regression()
    start = nnfast.Network([3, 8, 8, 2], activation="relu", seed=0)
    lr = 1e100 if optimizer == "adam" else 1e6
    kwargs = dict(
        epochs=200,
        learning_rate=lr,
        batch_size=BATCH[batch],
        optimizer=OPTIMIZER[optimizer](),
        seed=1,
    )
    net = start.copy()
    if on_divergence == "raise":
        with pytest.raises(
            FloatingPointError, match=r"diverged.*epoch \d+.*learning_rate"
        ) as raised:
            train_diverging(net, X, Y, "raise", **kwargs)
        history, message = net.history, str(raised.value)
    else:
        history, diverged = train_diverging(net, X, Y, **kwargs)
        assert len(diverged) == 1 and diverged[0].category is RuntimeWarning
        message = str(diverged[0].message)
        assert f"epoch {history.stopped_epoch}" in message
    assert history is not None and history.epochs < 200
    check_last_finite_epoch(start, net, history, X, Y, kwargs, message)


# Runs that have finite epochs before they blow up (found by a search over learning rates):
# one kernel call runs all epochs, so the kernel's own roll-back is what is tested.
SLOW_BLOWUPS = {
    "per-sample-sgd": dict(
        sizes=[3, 8, 8, 2],
        activation="relu",
        learning_rate=3.35,
        batch_size=1,
        optimizer="sgd",
        first_bad=17,
    ),
    "mini-batch-momentum": dict(
        sizes=[3, 8, 8, 2],
        activation="relu",
        learning_rate=1120.0,
        batch_size=5,
        optimizer=nnfast.SGD(momentum=0.9),
        first_bad=9,
    ),
    "full-batch-sgd": dict(
        sizes=[3, 4, 2],
        activation="identity",
        learning_rate=3.35,
        batch_size=None,
        optimizer="sgd",
        first_bad=6,
    ),
    "full-batch-adam": dict(
        sizes=[3, 8, 8, 2],
        activation="relu",
        learning_rate=1e100,
        batch_size=None,
        optimizer="adam",
        first_bad=1,
    ),
}


@pytest.mark.parametrize("case", list(SLOW_BLOWUPS))
def test_divergence_after_finite_epochs(case, backend):
    c = dict(SLOW_BLOWUPS[case])
    X, Y = regression()
    start = nnfast.Network(c.pop("sizes"), activation=c.pop("activation"), seed=0)
    first_bad = c.pop("first_bad")
    kwargs = dict(epochs=200, seed=1, **c)
    net = start.copy()
    history, diverged = train_diverging(net, X, Y, **kwargs)
    assert len(diverged) == 1
    assert history.stopped_epoch == first_bad
    # the best epoch is one whose weights the run could keep, never the diverged one
    assert history.best_epoch == int(np.argmin(history.loss[:-1]))
    check_last_finite_epoch(start, net, history, X, Y, kwargs, str(diverged[0].message))


@pytest.mark.parametrize("case", ["per-sample-sgd", "full-batch-sgd"])
def test_divergence_in_the_last_epoch_is_reported(case, backend):
    """epochs = first_bad + 1: the non-finite epoch is the last one asked for. The kernel
    then returns n_epochs, as for a clean run, and train() compares `done < chunk`: no
    warning, and a NaN/inf at the end of history.loss."""
    c = dict(SLOW_BLOWUPS[case])
    X, Y = regression()
    start = nnfast.Network(c.pop("sizes"), activation=c.pop("activation"), seed=0)
    kwargs = dict(epochs=c.pop("first_bad") + 1, seed=1, **c)
    net = start.copy()
    history, diverged = train_diverging(net, X, Y, **kwargs)
    assert len(diverged) == 1, "the last epoch's loss is not finite, but nothing was said"
    check_last_finite_epoch(start, net, history, X, Y, kwargs, str(diverged[0].message))
    with pytest.raises(FloatingPointError):
        train_diverging(start.copy(), X, Y, "raise", **kwargs)


class RangeTest(nnfast.Callback):
    """A learning-rate range test: the rate grows by ``factor`` after every epoch."""

    def __init__(self, factor=1e8):
        self.factor = factor

    def adjust_learning_rate(self, epoch, history, lr):
        return lr * self.factor


@pytest.mark.parametrize("per_epoch", ["callback", "validation_data", "early_stopping"])
@pytest.mark.parametrize("on_divergence", ["warn", "raise"])
def test_divergence_is_caught_when_training_goes_epoch_by_epoch(per_epoch, on_divergence, backend):
    """With validation data, callbacks, early stopping or verbose, train() calls the kernel
    one epoch at a time; a diverged epoch is then the last (only) epoch of its call, `done ==
    chunk`, and training goes on: every later epoch restarts from the same last good weights
    and diverges again, history.loss fills with NaN, and no warning or error comes."""
    X, Y = regression()
    start = nnfast.Network([3, 8, 2], activation="tanh", seed=0)
    kwargs = dict(epochs=30, learning_rate=1e-3, batch_size=5, seed=1, callbacks=[RangeTest()])
    if per_epoch == "validation_data":
        kwargs["validation_data"] = (X[:6], Y[:6])
    elif per_epoch == "early_stopping":
        kwargs["early_stopping"] = nnfast.EarlyStopping(patience=100)
    net = start.copy()
    if on_divergence == "raise":
        with pytest.raises(FloatingPointError, match="diverged") as raised:
            train_diverging(net, X, Y, "raise", **kwargs)
        history, message = net.history, str(raised.value)
    else:
        history, diverged = train_diverging(net, X, Y, **kwargs)
        assert len(diverged) == 1, (
            f"{len(diverged)} divergence warnings; history.loss = {history.loss}"
        )
        message = str(diverged[0].message)
    assert history.epochs < 30
    check_last_finite_epoch(
        start, net, history, X, Y, dict(kwargs, callbacks=[RangeTest()]), message
    )


@pytest.mark.parametrize("epochs", [1, 3])
def test_an_update_that_overflows_the_weights_is_divergence(epochs, backend):
    """The loss of an epoch is measured on each batch *before* its update, so the last
    update of an epoch is never looked at: here it takes the weight from 1e10 to -inf while
    the epoch's loss is a finite 1e20. The epoch counts as good, last_good := -inf, and the
    network ends with infinite weights (and no warning when epochs=1)."""
    net = nnfast.Network([1, 1], activation=[], output_activation="identity", init="zeros")
    net.weights[0][:] = 1e10
    start = net.parameters.copy()
    history, diverged = train_diverging(
        net, np.ones((1, 1)), np.zeros((1, 1)), epochs=epochs, learning_rate=1e300, batch_size=1
    )
    assert np.isfinite(net.parameters).all(), net.parameters
    assert len(diverged) == 1
    np.testing.assert_array_equal(net.parameters, start)


def test_full_batch_overflow_in_the_weights_keeps_finite_weights(backend):
    """The same in a realistic run: full batch, ReLU, a far too large rate."""
    X, Y = regression(n=32, seed=1)
    net = nnfast.Network([3, 6, 6, 2], activation="relu", seed=0)
    history, diverged = train_diverging(
        net, X, Y, epochs=30, learning_rate=1e20, batch_size=None, seed=0
    )
    assert len(diverged) == 1
    assert np.isfinite(net.parameters).all()


def test_best_epoch_is_never_the_diverged_epoch(backend):
    """history.best_epoch = argmin(history.loss), and np.argmin picks a NaN: a NaN loss in
    the diverged epoch makes it the "best" one (EarlyStopping and restarts rely on it)."""
    X, Y = regression()
    for case in ("full-batch-sgd", "mini-batch-momentum", "per-sample-sgd"):
        c = dict(SLOW_BLOWUPS[case])
        net = nnfast.Network(c.pop("sizes"), activation=c.pop("activation"), seed=0)
        c.pop("first_bad")
        history, _ = train_diverging(net, X, Y, epochs=200, seed=1, **c)
        finite = np.asarray(history.loss[:-1])
        assert history.best_epoch == int(np.argmin(finite)), (case, history.loss)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_divergence_rolls_back_the_optimizer_state_too(optimizer, shuffle, backend):
    """The weights go back to the last finite epoch; so must the momentum (NaN/inf by then),
    the Adam moments, the step count and the sample order that resume=True (partial_fit,
    warm_start) continues from, or a resumed run starts from a poisoned state."""
    X, Y = regression()
    start = nnfast.Network([3, 8, 8, 2], activation="relu", seed=0)
    c = dict(SLOW_BLOWUPS["mini-batch-momentum"])
    for key in ("sizes", "activation", "first_bad"):
        c.pop(key)
    if optimizer == "adam":
        c.update(optimizer=nnfast.Adam(), learning_rate=1e100)
    kwargs = dict(epochs=200, shuffle=shuffle, seed=1, **c)
    net = start.copy()
    history, _ = train_diverging(net, X, Y, **kwargs)
    ref = start.copy()
    if history.epochs > 1:
        ref.train(X, Y, **dict(kwargs, epochs=history.epochs - 1))
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    # continue both with a sane rate: the same optimizer state must give the same weights
    calm = dict(kwargs, epochs=3, learning_rate=1e-4, resume=True, seed=2)
    h1, _ = train_diverging(net, X, Y, **calm)
    h2, _ = train_diverging(ref, X, Y, **calm)
    assert np.isfinite(h1.loss).all(), f"resumed training diverged at once: {h1.loss}"
    np.testing.assert_array_equal(net.parameters, ref.parameters)


def test_divergence_in_restarts_keeps_the_finite_runs(backend):
    X, Y = regression()
    net = nnfast.Network([3, 8, 8, 2], activation="relu", seed=0)
    history, diverged = train_diverging(
        net, X, Y, epochs=40, learning_rate=3.35, batch_size=1, seed=1, restarts=3, n_jobs=3
    )
    assert np.isfinite(net.parameters).all()
    assert np.isfinite(net.feedforward(X)).all()
    finite = [loss for loss in history.restart_losses if np.isfinite(loss)]
    if finite:  # the best finite run wins over any diverged one
        assert history.restart_losses[history.restart] == min(finite)


def test_training_after_a_divergence_error_works(backend):
    """The FloatingPointError leaves the lock released and the network usable."""
    X, Y = regression()
    net = nnfast.Network([3, 8, 8, 2], activation="relu", seed=0)
    with pytest.raises(FloatingPointError):
        train_diverging(net, X, Y, "raise", epochs=50, learning_rate=1e6, batch_size=4)
    history = net.train(X, Y, epochs=3, learning_rate=1e-3, batch_size=4)
    assert np.isfinite(history.loss).all() and np.isfinite(net.parameters).all()


# =============================================================================================
# Ctrl-C
# =============================================================================================

INTERRUPT_CHILD = textwrap.dedent("""
    import json, os, sys, time
    import numpy as np
    import nnfast

    backend, out_dir, restarts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    nnfast.set_backend(backend)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 16))
    Y = np.tanh(X @ rng.normal(size=(16, 4)))
    sizes = [16, 48, 48, 4]
    kw = dict(learning_rate=1e-3, batch_size=8, optimizer="adam", seed=1)

    def fresh():
        return nnfast.Network(sizes, activation="tanh", seed=0)

    t = time.perf_counter()
    fresh().train(X, Y, epochs=1, **kw)
    epoch = time.perf_counter() - t
    # restarts: long enough that waiting for the end would be seen (about 2 s of work)
    epochs = 10**6 if restarts == 1 else max(4, int(2.0 / epoch))
    print(json.dumps({"epoch_seconds": epoch, "file": nnfast.__file__}), flush=True)
    net = fresh()
    result = {"requested": epochs}
    try:
        net.train(X, Y, epochs=epochs, restarts=restarts, n_jobs=restarts, **kw)
    except KeyboardInterrupt:
        result["caught"] = time.monotonic()
    else:
        result["caught"] = None
    h = net.history
    result.update(epochs=h.epochs, interrupted=h.interrupted,
                  loss_finite=bool(np.isfinite(h.loss).all()),
                  finite=bool(np.isfinite(net.parameters).all()))
    if restarts == 1:
        ref = fresh()
        if h.epochs:
            ref.train(X, Y, epochs=h.epochs, **kw)
            result["same_losses"] = ref.history.loss == h.loss
        result["same_weights"] = bool(np.array_equal(ref.parameters, net.parameters))
        path = os.path.join(out_dir, "interrupted.npz")
        net.save(path)
        back = nnfast.load(path)
        result["loaded"] = bool(np.array_equal(back.parameters, net.parameters))
        steps = -(-X.shape[0] // kw["batch_size"])
        result["steps"] = int(net._optimizer_state.step[0])
        result["expected_steps"] = h.epochs * steps
        a, b = net.copy(), ref.copy()
        a.train(X, Y, epochs=1, resume=True, **dict(kw, seed=2))
        b.train(X, Y, epochs=1, resume=True, **dict(kw, seed=2))
        result["same_after_resume"] = bool(np.array_equal(a.parameters, b.parameters))
        net.train(X[:50], Y[:50], epochs=1, **kw)  # the training lock was released
    print(json.dumps(result), flush=True)
""")


def interrupt(backend, tmp_path, restarts=1):
    """Start the child, SIGINT it mid-training; returns (result dict, seconds from the
    signal to the KeyboardInterrupt being caught)."""
    if backend == "cython":
        need_cython()
    child = run_child(INTERRUPT_CHILD, [backend, tmp_path, restarts], tmp_path)

    def delay():
        first = child.stdout.readline()
        if not first:
            pytest.fail(f"child failed to start: {child.stderr.read()}")
        info = json.loads(first)
        assert os.path.samefile(info["file"], nnfast.__file__)
        # about 2.5 epochs in, so that some epochs are complete and one is half done
        return min(3.0, max(0.3, 2.5 * info["epoch_seconds"]))

    result, sent = sigint_child(child, delay)
    latency = None if result["caught"] is None else result["caught"] - sent
    return result, latency


def sigint_child(child, delay):
    """Wait ``delay()`` seconds (it may read the child's first lines), send SIGINT, and return
    the child's last output line as JSON with the time the signal went; the child is killed
    if anything fails on the way."""
    try:
        time.sleep(delay())
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), sent


@pytest.fixture(scope="module")
def interrupted_runs(tmp_path_factory):
    cache = {}

    def get(backend):
        if backend not in cache:
            cache[backend] = interrupt(backend, tmp_path_factory.mktemp(f"sigint-{backend}"))
        return cache[backend]

    return get


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_sigint_stops_training_at_the_last_complete_epoch(backend_name, interrupted_runs):
    result, latency = interrupted_runs(backend_name)
    assert latency is not None, "training was not interrupted"
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT"
    assert result["interrupted"] is True
    assert result["epochs"] < result["requested"]
    assert result["finite"] and result["loss_finite"]
    assert result["same_weights"], "weights are not those of the end of a complete epoch"
    if result["epochs"]:
        assert result["same_losses"]
    assert result["loaded"]


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_sigint_leaves_the_optimizer_state_at_the_same_epoch(backend_name, interrupted_runs):
    """Ctrl-C rolls the weights back to the last complete epoch, but not the optimizer
    state: Adam's moments and step count (and momentum) keep the half epoch's updates, so
    resume=True continues from a state that belongs to other weights."""
    result, _ = interrupted_runs(backend_name)
    assert result["steps"] == result["expected_steps"]
    assert result["same_after_resume"]


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_sigint_stops_restarts_too(backend_name, tmp_path):
    """With restarts > 1 the main thread waits in ThreadPoolExecutor.map; the
    KeyboardInterrupt is raised there, but leaving the `with` block joins the workers, which
    never see the signal (PyErr_CheckSignals is a no-op off the main thread): Ctrl-C waits
    for every restart to finish all its epochs."""
    result, latency = interrupt(backend_name, tmp_path, restarts=2)
    assert latency is not None
    assert latency < 1.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT"
    assert result["interrupted"] and result["finite"]


LONG_BATCH_CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import nnfast

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 256))
    Y = rng.normal(size=(5000, 4))
    net = nnfast.Network([256, 2048, 2048, 4], activation="tanh", seed=0)
    start = net.parameters.copy()
    print("ready", flush=True)
    try:
        net.train(X, Y, epochs=100, batch_size=None, learning_rate=1e-4)
        caught = None
    except KeyboardInterrupt:
        caught = time.monotonic()
    print(json.dumps({"caught": caught, "epochs": net.history.epochs,
                      "restored": bool(np.array_equal(net.parameters, start))}), flush=True)
""")


def test_sigint_during_one_long_batch(tmp_path):
    """Full batch on a big X: one batch is ~1.5e11 multiply-adds, seconds of BLAS. The
    kernel checks for signals between batches (after every 2^22 multiply-adds of completed
    batches, as documented), so Ctrl-C ends training when the batch in progress ends: the
    run still stops cleanly, at the last complete epoch, within one batch's time."""
    need_cython()
    child = run_child(LONG_BATCH_CHILD, [], tmp_path)

    def delay():
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        return 1.0  # inside the first batch (it takes a few seconds)

    result, sent = sigint_child(child, delay)
    assert result["caught"] is not None, "training ended before the signal: make X bigger"
    assert result["restored"] or result["epochs"] > 0
    latency = result["caught"] - sent
    assert latency < 30.0, f"KeyboardInterrupt came {latency:.2f} s after SIGINT"


def test_interrupt_in_process(backend):
    """The same through _thread.interrupt_main (what a SIGINT does), in this process: quick,
    and it runs the kernel's signal path under AddressSanitizer too (tools/asan)."""
    import _thread

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 16))
    Y = np.tanh(X @ rng.normal(size=(16, 3)))
    kw = dict(
        learning_rate=1e-3, batch_size=4, optimizer=nnfast.SGD(momentum=0.9), seed=1, dropout=0.1
    )
    start = nnfast.Network([16, 32, 32, 3], activation="relu", seed=0)
    net = start.copy()
    fired = []

    def fire():
        fired.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(0.3, fire)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            net.train(X, Y, epochs=10**6, **kw)
        caught = time.monotonic()
    finally:
        timer.cancel()
    assert fired and caught - fired[0] < 1.0
    h = net.history
    assert h.interrupted and np.isfinite(net.parameters).all()
    ref = start.copy()
    if h.epochs:
        ref.train(X, Y, epochs=h.epochs, **kw)
        assert ref.history.loss == h.loss
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    assert net.train(X[:20], Y[:20], epochs=1).epochs == 1  # the lock was released


# =============================================================================================
# Threads
# =============================================================================================


def thread_configs():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 8))
    labels = rng.integers(0, 3, 120)
    Y = np.tanh(X @ rng.normal(size=(8, 2)))
    return [
        (
            dict(layer_sizes=[8, 64, 64, 3], activation="relu", loss="cross_entropy"),
            X,
            labels,
            dict(epochs=8, batch_size=16, optimizer="adam", dropout=0.2, learning_rate=0.01),
        ),
        (
            dict(layer_sizes=[8, 16, 2], activation="tanh"),
            X,
            Y,
            dict(epochs=8, batch_size=1, optimizer=nnfast.SGD(momentum=0.9), learning_rate=0.01),
        ),
        (
            dict(layer_sizes=[8, 32, 2], activation="sigmoid"),
            X,
            Y,
            dict(epochs=30, batch_size=None, learning_rate=0.5, l2=1e-3),
        ),
        (
            dict(layer_sizes=[8, 128, 2], activation="relu"),
            X,
            Y,  # BLAS-sized products
            dict(
                epochs=8,
                batch_size=64,
                learning_rate=0.01,
                l1=1e-4,
                validation_data=(X[:20], Y[:20]),
            ),
        ),
    ]


def test_threads_training_different_networks_match_training_them_in_turn(backend):
    configs = thread_configs() * 2
    nets = [nnfast.Network(seed=i, **c) for i, (c, *_) in enumerate(configs)]
    sequential = [n.copy() for n in nets]
    for i, (net, (_, X, Y, kw)) in enumerate(zip(sequential, configs)):
        net.train(X, Y, seed=100 + i, **kw)
    barrier = threading.Barrier(len(nets))
    errors = []

    def work(i):
        try:
            with nnfast.use_backend(backend):  # use_backend is thread-local
                _, X, Y, kw = configs[i]
                barrier.wait()
                nets[i].train(X, Y, seed=100 + i, **kw)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(nets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (a, b) in enumerate(zip(nets, sequential)):
        np.testing.assert_array_equal(a.parameters, b.parameters, err_msg=f"network {i}")
        assert a.history.loss == b.history.loss


class _Hold(nnfast.Callback):
    """Parks the training thread inside train() (holding the lock) until released."""

    def __init__(self):
        self.inside, self.release = threading.Event(), threading.Event()

    def on_epoch_end(self, epoch, history, network):
        if epoch == 1:
            self.inside.set()
            assert self.release.wait(30)
        return False


def test_a_second_trainer_of_one_network_gets_a_runtime_error(backend):
    X, Y = regression(n=40)
    net = nnfast.Network([3, 16, 2], activation="tanh", seed=0)
    ref = net.copy()
    ref.train(X, Y, epochs=5, batch_size=4, seed=3, callbacks=[nnfast.Callback()])
    hold = _Hold()
    errors = []

    def first():
        try:
            with nnfast.use_backend(backend):
                net.train(X, Y, epochs=5, batch_size=4, seed=3, callbacks=[hold])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert hold.inside.wait(30)
        snapshot = net.parameters.copy()
        for kwargs in ({}, {"restarts": 2}, {"resume": True}):
            with pytest.raises(RuntimeError, match=r"being trained by another thread"):
                net.train(X, Y, epochs=5, batch_size=4, seed=99, **kwargs)
        np.testing.assert_array_equal(net.parameters, snapshot)  # the refused call did nothing
    finally:
        hold.release.set()
        thread.join(60)
    assert not errors, errors
    np.testing.assert_array_equal(net.parameters, ref.parameters)  # no corruption
    assert net.history.loss == ref.history.loss
    net.train(X, Y, epochs=1)  # released


def test_the_training_lock_is_released_after_any_exception(backend):
    X, Y = regression()
    net = nnfast.Network([3, 4, 2], seed=0)

    class Boom(nnfast.Callback):
        def __init__(self, exc):
            self.exc = exc

        def on_epoch_end(self, epoch, history, network):
            raise self.exc

    for exc in (ValueError("callback bug"), KeyboardInterrupt(), SystemExit(3)):
        with pytest.raises(type(exc)):
            net.train(X, Y, epochs=3, callbacks=[Boom(exc)])
    with pytest.raises(ValueError):
        net.train(X, Y, epochs=3, learning_rate=-1.0)
    assert net.train(X, Y, epochs=2).epochs == 2


def test_concurrent_feedforward_on_one_network(backend):
    rng = np.random.default_rng(0)
    net = nnfast.Network([20, 256, 256, 10], activation="relu", loss="cross_entropy", seed=0)
    batches = [rng.normal(size=(n, 20)) for n in (1, 7, 300, 700)]
    expected = [net.feedforward(X) for X in batches]
    single = net.feedforward(batches[0][0])
    barrier = threading.Barrier(8)
    mismatches, errors = [], []

    def work(k):
        try:
            with nnfast.use_backend(backend):
                barrier.wait()
                for r in range(6):
                    i = (k + r) % len(batches)
                    if not np.array_equal(net.feedforward(batches[i]), expected[i]):
                        mismatches.append((k, r, i))
                    if not np.array_equal(net.feedforward(batches[0][0]), single):
                        mismatches.append((k, r, "single"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not mismatches, (errors, mismatches[:5])


def test_feedforward_while_other_networks_train(backend):
    X, Y = regression(n=200, d=8, k=2)
    reader = nnfast.Network([8, 64, 2], activation="tanh", seed=1)
    expected = reader.feedforward(X)
    trainees = [nnfast.Network([8, 64, 64, 2], activation="relu", seed=i) for i in range(3)]
    refs = [t.copy() for t in trainees]
    for r in refs:
        r.train(X, Y, epochs=5, batch_size=8, seed=7)
    stop, bad = threading.Event(), []

    def read():
        with nnfast.use_backend(backend):
            while not stop.is_set():
                if not np.array_equal(reader.feedforward(X), expected):
                    bad.append(1)

    def train(net):
        with nnfast.use_backend(backend):
            net.train(X, Y, epochs=5, batch_size=8, seed=7)

    readers = [threading.Thread(target=read) for _ in range(2)]
    workers = [threading.Thread(target=train, args=(t,)) for t in trainees]
    for t in readers + workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not bad
    for a, b in zip(trainees, refs):
        np.testing.assert_array_equal(a.parameters, b.parameters)


# =============================================================================================
# Determinism
# =============================================================================================


def determinism_runs():
    """(name, network kwargs, data, train kwargs): shuffles, dropout, Adam, penalties,
    validation and early stopping, small fused loops and BLAS-sized products."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(150, 10))
    labels = rng.integers(0, 4, 150)
    Y = np.sin(X[:, :3])
    return [
        (
            "dropout-adam-ce",
            dict(layer_sizes=[10, 96, 96, 4], activation="relu", loss="cross_entropy"),
            X,
            labels,
            dict(
                epochs=6,
                batch_size=16,
                optimizer="adam",
                dropout=[0.3, 0.1],
                l2=1e-3,
                learning_rate=1e-3,
            ),
        ),
        (
            "per-sample-momentum",
            dict(layer_sizes=[10, 12, 3], activation="tanh"),
            X,
            Y,
            dict(
                epochs=5,
                batch_size=1,
                optimizer=nnfast.SGD(momentum=0.9, nesterov=True),
                learning_rate=1e-3,
                l1=1e-4,
            ),
        ),
        (
            "early-stopping",
            dict(layer_sizes=[10, 64, 3], activation="sigmoid"),
            X,
            Y,
            dict(
                epochs=40,
                batch_size=32,
                validation_split=0.2,
                learning_rate=0.5,
                early_stopping=nnfast.EarlyStopping(patience=3),
                lr_schedule=nnfast.schedules.ExponentialDecay(0.5, 10),
            ),
        ),
    ]


def train_all(backend):
    out = {}
    with nnfast.use_backend(backend):
        for name, net_kw, X, Y, kw in determinism_runs():
            net = nnfast.Network(seed=42, **net_kw)
            history = net.train(X, Y, seed=7, **kw)
            out[name] = [digest(net.parameters), digest(np.array(history.loss))]
    return out


DETERMINISM_CHILD = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import nnfast
    from test_reliability import train_all
    print(json.dumps({b: train_all(b) for b in sys.argv[2:]}))
""")


def test_same_seed_same_weights_across_runs_and_processes(tmp_path):
    backends = ["numpy"] + (["cython"] if nnfast._backend._kernels is not None else [])
    if len(backends) == 1:
        need_cython()
    here = {b: train_all(b) for b in backends}
    again = {b: train_all(b) for b in backends}
    assert here == again
    child = run_child(DETERMINISM_CHILD, [HERE, *backends], tmp_path)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    assert json.loads(out) == here


def test_seed_as_int_or_generator_is_the_same(backend):
    X, Y = regression(n=40)
    a = nnfast.Network([3, 8, 2], seed=3)
    b = nnfast.Network([3, 8, 2], seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.parameters, b.parameters)
    a.train(X, Y, epochs=4, batch_size=4, dropout=0.2, seed=5)
    b.train(X, Y, epochs=4, batch_size=4, dropout=0.2, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(a.parameters, b.parameters)


@pytest.mark.parametrize("n_jobs", [3, None])
def test_restarts_are_identical_across_n_jobs(n_jobs, backend):
    name, net_kw, X, Y, kw = determinism_runs()[0]
    results = []
    for jobs in (1, n_jobs):
        net = nnfast.Network(seed=42, **net_kw)
        history = net.train(X, Y, seed=7, restarts=3, n_jobs=jobs, **kw)
        results.append((digest(net.parameters), history.restart, history.restart_losses))
    assert results[0] == results[1]
