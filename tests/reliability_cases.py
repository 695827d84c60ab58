"""The reliability catalogue: what users do wrong (and right) with nnfast, case by case.

Each case is a function, registered with its family and what must happen:

- ``raises=(ValueError, ...)`` and ``names=r"regex"``: the call must fail with one of those
  exceptions, and the message must name what was wrong (the regex is searched for in it);
- no ``raises``: the input is legitimate; the function checks the result with ``assert``.

``reliability_runner.py`` runs each case in a forked process of its own and classifies how
it ended (clean, accepted, unclear, silent, destroyed, crash, hang). The families are the
ones of issue 17: bad arrays, bad hyperparameters, numerical trouble, model files,
interruption and concurrency, command line.
"""

from __future__ import annotations

import contextlib
import io as _io
import json
import os
import re
import signal
import socket
import tempfile
import threading
import time
import warnings
import zipfile

import numpy as np

FAMILIES = {
    "arrays": "bad arrays",
    "hyperparameters": "bad hyperparameters",
    "numerics": "numerical trouble",
    "files": "model files",
    "interruption": "interruption and concurrency",
    "cli": "command line",
}
TIMEOUT = 60.0
CASES = {}
_SCRATCH = None


class Case:
    def __init__(self, family, name, fn, raises, names, timeout):
        self.family, self.name, self.fn = family, name, fn
        self.raises, self.names, self.timeout = raises, names, timeout


def add(family, name, fn, raises=None, names=None, timeout=TIMEOUT):
    """Register ``fn`` as case ``family/name``."""
    assert family in FAMILIES, family
    key = f"{family}/{name}"
    assert key not in CASES, key
    if raises is not None and not isinstance(raises, tuple):
        raises = (raises,)
    CASES[key] = Case(family, key, fn, raises, names, timeout)
    return fn


def case(family, raises=None, names=None, timeout=TIMEOUT):
    """Decorator form of ``add``; the case is named after the function."""

    def register(fn):
        return add(family, fn.__name__, fn, raises, names, timeout)

    return register


class Destroyed(Exception):
    """A file the case guards was changed or removed."""


class CLIError(Exception):
    """``nnfast`` exited with status 2 and one error line (the message)."""


class CLIInternalError(Exception):
    """``nnfast`` exited with status 1 (an internal error) or printed a traceback."""


def scratch_root():
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = tempfile.mkdtemp(prefix="nnfast-reliability-")
    return _SCRATCH


def preload():
    """Import what the cases use once, in the worker, before it forks."""
    import scipy.optimize  # noqa: F401  (L-BFGS)

    import nnfast  # noqa: F401
    import nnfast.cli  # noqa: F401

    for module in ("pandas", "sklearn.base", "sklearn.pipeline"):
        try:
            __import__(module)
        except ImportError:
            pass
    scratch_root()


def execute(case):
    """Run ``case`` in this (forked) process; returns (outcome, detail)."""
    os.chdir(tempfile.mkdtemp(dir=scratch_root()))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case.fn()
    except Unavailable as exc:
        return "skipped", str(exc)
    except Destroyed as exc:
        return "destroyed", str(exc)
    except AssertionError as exc:
        return "silent", f"a check failed: {exc}"[:500]
    except BaseException as exc:  # noqa: BLE001 - classified here
        text = f"{type(exc).__name__}: {exc}"[:500]
        if case.raises is None:
            return "unclear", f"a legitimate input was refused: {text}"
        if not isinstance(exc, case.raises):
            expected = "/".join(t.__name__ for t in case.raises)
            return "unclear", f"expected {expected}, got {text}"
        if case.names and not re.search(case.names, str(exc)):
            return "unclear", f"the message does not name {case.names!r}: {text}"
        return "clean", text
    if case.raises is not None:
        return "silent", "no error was raised"
    return "accepted", ""


# --- helpers --------------------------------------------------------------------------------------


def nf():
    import nnfast

    return nnfast


def regression(n=40, d=3, k=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, k)) + 0.1 * rng.normal(size=(n, k))


def binary(n=40, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def classes3(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, np.argmax(X @ rng.normal(size=(d, 3)), axis=1)


def net(sizes=(3, 5, 1), **kw):
    return nf().Network(list(sizes), seed=0, **kw)


def mlp_classifier(**kw):
    return nf().MLPClassifier(
        **{"hidden_layer_sizes": (5,), "max_iter": 20, "random_state": 0, **kw}
    )


def mlp_regressor(**kw):
    return nf().MLPRegressor(
        **{"hidden_layer_sizes": (5,), "max_iter": 20, "random_state": 0, **kw}
    )


def fitted(kind):
    """A small fitted model of ``kind`` and the X it takes."""
    if kind == "network":
        X, Y = regression()
        n = net()
        n.train(X, Y, epochs=3)
        return n, X
    if kind == "perceptron":
        X, y = binary()
        return nf().Perceptron().fit(X, y), X
    if kind == "logistic":
        X, y = binary()
        return nf().LogisticRegression(max_epochs=5).fit(X, y), X
    if kind == "classifier":
        X, y = classes3()
        return mlp_classifier().fit(X, y), X
    if kind == "regressor":
        X, Y = regression()
        return mlp_regressor().fit(X, Y[:, 0]), X
    raise KeyError(kind)


def predictions(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X), dtype=np.float64)
    return model.feedforward(X)


def finite(*arrays):
    return all(np.isfinite(np.asarray(a, dtype=np.float64)).all() for a in arrays)


def consistent(history, validation=False, classify=False):
    """Every list of a History one entry per recorded epoch."""
    n = len(history.loss)
    assert len(history.learning_rate) == n, (n, len(history.learning_rate))
    if classify:
        assert len(history.accuracy) == n, (n, len(history.accuracy))
    if validation:
        assert len(history.val_loss) == n, (n, len(history.val_loss))
        if classify:
            assert len(history.val_accuracy) == n
    return n


@contextlib.contextmanager
def guard(*paths):
    """Fail with Destroyed if any of ``paths`` (files, FIFOs, links, directories) changed."""

    def snapshot(p):
        if not os.path.lexists(p):
            return None
        st = os.lstat(p)
        content = None
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, "rb") as f:
                content = f.read()
        link = os.readlink(p) if os.path.islink(p) else None
        listing = sorted(os.listdir(p)) if os.path.isdir(p) and not os.path.islink(p) else None
        return (st.st_mode, st.st_ino, content, link, listing)

    before = {p: snapshot(p) for p in paths}
    try:
        yield
    finally:
        for p, was in before.items():
            now = snapshot(p)
            if now != was:
                raise Destroyed(f"{p} changed: {was and was[:2]} -> {now and now[:2]}")


def interrupt_after(seconds):
    """Send this process a real SIGINT after ``seconds`` (as Ctrl-C does)."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    return timer


def expect_interrupt(call, within=10.0, after=0.5):
    """Run ``call`` under a SIGINT after ``after`` s; it must raise KeyboardInterrupt (or
    return, for estimators that keep what they learnt) within ``within`` s of the signal."""
    interrupt_after(after)
    start = time.monotonic()
    interrupted = False
    try:
        call()
    except KeyboardInterrupt:
        interrupted = True
    took = time.monotonic() - start
    assert took < after + within, f"took {took:.1f} s to stop"
    return interrupted


def cli(*args, stdin=None):
    """``nnfast ARGS`` in this process -> (stdout, stderr) on success; CLIError (exit 2, one
    line) or CLIInternalError (anything else) otherwise."""
    from nnfast import cli as cli_module

    out, err = _io.StringIO(), _io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("default")  # as a user's interpreter shows them
        try:
            status = cli_module.main([str(a) for a in args])
        except SystemExit as exc:  # --help / --version
            status = exc.code
    out, err = out.getvalue(), err.getvalue()
    if "Traceback" in out + err:
        raise CLIInternalError(f"a traceback was printed: {err[-300:]}")
    if status == 2:
        lines = [line for line in err.splitlines() if line.startswith("nnfast: error:")]
        assert len(lines) == 1, f"expected one error line, got {err!r}"
        raise CLIError(lines[0])
    if status != 0:
        raise CLIInternalError(f"exit status {status}: {err.strip()}")
    return out, err


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return path


def regression_csv(path="data.csv", n=60, extra=None):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, n)
    color = rng.choice(["red", "green", "blue"], n)
    y = 3 * x1 + 0.5 * x2 + 2.0 * (color == "red")
    header = ["x1", "color", "x2", "y"]
    rows = [[f"{a:.4f}", c, f"{b:.3f}", f"{t:.3f}"] for a, c, b, t in zip(x1, color, x2, y)]
    if extra:
        name, values = extra
        header.insert(0, name)
        rows = [[v] + r for v, r in zip(values(n), rows)]
    return write_csv(path, header, rows)


class Unavailable(Exception):
    """An optional package the case needs is not installed: the case is skipped."""


def optional(name):
    """Import the optional package ``name`` (pandas, scikit-learn), or skip the case."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise Unavailable(f"{name} is not installed") from None


def pandas():
    return optional("pandas")


# =================================================================================================
# bad arrays
# =================================================================================================

BAD_X = {
    # name: (builder of a bad X for d features and n rows, exception types)
    "nan": (lambda n, d: np.where(np.eye(n, d) > 0, np.nan, 1.0), (ValueError,)),
    "inf": (lambda n, d: np.full((n, d), -np.inf), (ValueError,)),
    "complex": (lambda n, d: np.ones((n, d)) + 1j, (TypeError, ValueError)),
    "strings": (lambda n, d: np.full((n, d), "a"), (TypeError, ValueError)),
    "object-none": (lambda n, d: np.array([[None] * d] * n, dtype=object), (TypeError, ValueError)),
    "ragged": (lambda n, d: [[1.0] * d, [1.0] * (d + 1)] * (n // 2), (ValueError,)),
    "3d": (lambda n, d: np.ones((n, d, 2)), (ValueError,)),
    "empty": (lambda n, d: np.ones((0, d)), (ValueError,)),
    "wrong-width": (lambda n, d: np.ones((n, d + 2)), (ValueError,)),
    "no-columns": (lambda n, d: np.ones((n, 0)), (ValueError,)),
    "scalar": (lambda n, d: 3.0, (ValueError, TypeError)),
    "dict": (lambda n, d: {"a": [1.0] * n}, (ValueError, TypeError)),
    "none": (lambda n, d: None, (ValueError, TypeError)),
}

X_NAME = r"\bX\b|\bx\b"


def _x_entry_points():
    """name -> (call(bad X), the number of features it takes)."""

    def network_call(method):
        def call(X):
            n = net()
            if method == "feedforward":
                return n.feedforward(X)
            Y = np.zeros((len(X) if hasattr(X, "__len__") and not isinstance(X, dict) else 4, 1))
            return getattr(n, method)(X, Y)

        return call

    def fit_call(make, y):
        return lambda X: make().fit(
            X, y(len(X) if hasattr(X, "__len__") and not isinstance(X, dict) else 4)
        )

    def predict_call(kind, method):
        def call(X):
            model, _ = fitted(kind)
            return getattr(model, method)(X)

        return call

    labels = lambda n: np.arange(max(n, 2))[: max(n, 2)] % 2  # noqa: E731
    return {
        "feedforward": (network_call("feedforward"), 3),
        "train": (network_call("train"), 3),
        "loss": (network_call("loss"), 3),
        "gradients": (network_call("gradients"), 3),
        "perceptron-fit": (fit_call(lambda: nf().Perceptron(), labels), 2),
        "logistic-fit": (fit_call(lambda: nf().LogisticRegression(max_epochs=3), labels), 2),
        "mlp-fit": (fit_call(mlp_classifier, labels), 3),
        "regressor-predict": (predict_call("regressor", "predict"), 3),
        "logistic-predict-proba": (predict_call("logistic", "predict_proba"), 2),
    }


def _register_bad_x():
    for entry, (call, d) in _x_entry_points().items():
        for bad, (build, errors) in BAD_X.items():
            if entry in ("perceptron-fit", "logistic-fit", "mlp-fit") and bad == "wrong-width":
                continue  # fit takes any width

            def fn(call=call, build=build, d=d):
                call(build(4, d))

            add("arrays", f"{entry}-X-{bad}", fn, errors, X_NAME)


_register_bad_x()


@case("arrays")
def layouts_and_dtypes_are_accepted():
    X, Y = regression()
    n = net()
    ref = n.feedforward(X)
    for variant in (
        X.astype(np.float32),
        np.asfortranarray(X),
        X[::1, :],
        X.tolist(),
        np.repeat(X, 2, axis=1)[:, ::2],
    ):
        got = n.feedforward(variant)
        assert np.allclose(got, ref, rtol=1e-6), "a layout changed the outputs"
    ro = X.copy()
    ro.setflags(write=False)
    assert np.array_equal(n.feedforward(ro), ref)
    assert np.array_equal(n.feedforward(X[0]), ref[0])


@case("arrays")
def integer_and_bool_X_are_numbers():
    n = net((2, 3, 1))
    a = n.feedforward(np.array([[1, 0], [0, 1]]))
    b = n.feedforward(np.array([[True, False], [False, True]]))
    assert np.array_equal(a, b) and finite(a)


@case("arrays")
def pandas_numeric_frame_is_accepted():
    pd = pandas()
    X, y = binary()
    df = pd.DataFrame(X, columns=["a", "b"])
    m = mlp_classifier().fit(df, pd.Series(y))
    assert list(m.feature_names_in_) == ["a", "b"]
    assert m.predict(df).shape == (len(y),)


@case("arrays", raises=(ValueError, TypeError), names=r"X.*'city'|'city'.*X")
def pandas_string_column_names_X_and_column():
    pd = pandas()
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "city": ["x", "y", "x", "y"]})
    mlp_classifier().fit(df, [0, 1, 0, 1])


@case("arrays", raises=(ValueError, TypeError), names=r"X.*'c'|'c'.*X")
def pandas_categorical_column_names_X_and_column():
    pd = pandas()
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": pd.Categorical(["u", "v", "u", "v"])})
    mlp_regressor().fit(df, [0.0, 1.0, 0.0, 1.0])


@case("arrays", raises=(ValueError, TypeError), names=r"X.*'when'|'when'.*X")
def pandas_datetime_column_names_X():
    pd = pandas()
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "when": pd.date_range("2024-01-01", periods=4)})
    nf().LogisticRegression().fit(df, [0, 1, 0, 1])


@case("arrays", raises=(ValueError, TypeError), names=r"\bX\b")
def pandas_nullable_with_missing_value():
    pd = pandas()
    df = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [1.0, 2, 3, 4]})
    mlp_classifier().fit(df, [0, 1, 0, 1])


@case("arrays", raises=(ValueError, TypeError), names=r"\bX\b")
def pandas_strings_to_perceptron():
    pd = pandas()
    nf().Perceptron().fit(pd.DataFrame({"a": ["1", "x"], "b": [1.0, 2.0]}), [0, 1])


@case("arrays")
def pandas_text_columns_through_table_encoder_in_a_pipeline():
    pd = pandas()
    make_pipeline = optional("sklearn.pipeline").make_pipeline

    df = pd.DataFrame({"size": np.arange(20.0), "color": ["red", "blue"] * 10})
    y = (np.arange(20) > 9).astype(int)
    model = make_pipeline(nf().TableEncoder(), mlp_classifier(max_iter=50)).fit(df, y)
    assert model.predict(df).shape == (20,)


Y_CASES = {
    # name: (call, exception types, regex for the argument)
    "Y-wrong-length": (lambda: net().train(np.ones((4, 3)), np.ones((5, 1))), ValueError, r"\bY\b"),
    "Y-nan": (lambda: net().loss(np.ones((2, 3)), [[np.nan], [1.0]]), ValueError, r"\bY\b"),
    "Y-wrong-columns": (
        lambda: net().gradients(np.ones((2, 3)), np.ones((2, 4))),
        ValueError,
        r"\bY\b",
    ),
    "Y-strings": (
        lambda: net().train(np.ones((2, 3)), ["a", "b"]),
        (TypeError, ValueError),
        r"\bY\b",
    ),
    "Y-bce-out-of-range": (
        lambda: net(loss="binary_cross_entropy").train(np.ones((2, 3)), [0.0, 2.0]),
        ValueError,
        r"\bY\b",
    ),
    "Y-ce-label-too-large": (
        lambda: net((3, 4, 3), loss="cross_entropy").train(np.ones((2, 3)), [0, 7]),
        ValueError,
        r"\bY\b",
    ),
    "Y-ce-negative-label": (
        lambda: net((3, 4, 3), loss="cross_entropy").train(np.ones((2, 3)), [0, -1]),
        ValueError,
        r"\bY\b",
    ),
    "Y-ce-fractional-label": (
        lambda: net((3, 4, 3), loss="cross_entropy").train(np.ones((2, 3)), [0, 1.5]),
        ValueError,
        r"\bY\b",
    ),
    "y-continuous-for-classifier": (
        lambda: mlp_classifier().fit(np.ones((3, 2)), [0.5, 1.5, 2.5]),
        ValueError,
        r"\by\b|label",
    ),
    "y-nan-for-regressor": (
        lambda: mlp_regressor().fit(np.ones((3, 2)), [0.0, np.nan, 1.0]),
        ValueError,
        r"\by\b",
    ),
    "y-mixed-types": (
        lambda: nf().LogisticRegression().fit(np.ones((3, 2)), np.array([1, "a", 2], dtype=object)),
        (ValueError, TypeError),
        r"\by\b",
    ),
    "y-none": (
        lambda: mlp_classifier().fit(np.ones((3, 2)), None),
        (ValueError, TypeError),
        r"\by\b",
    ),
    "y-2d-for-perceptron": (
        lambda: nf().Perceptron().fit(np.ones((2, 2)), [[0, 1], [1, 0]]),
        ValueError,
        r"\by\b",
    ),
    "y-wrong-length-for-perceptron": (
        lambda: nf().Perceptron().fit(np.ones((3, 2)), [0, 1]),
        ValueError,
        r"\by\b",
    ),
    "y-three-classes-for-perceptron": (
        lambda: nf().Perceptron().fit(np.ones((3, 2)), [0, 1, 2]),
        ValueError,
        r"\by\b",
    ),
    "step-unseen-label": (
        lambda: fitted("perceptron")[0].step(np.ones((2, 2)), [0, 5]),
        ValueError,
        r"\by\b",
    ),
    "partial-fit-unseen-label": (
        lambda: (
            mlp_classifier()
            .partial_fit(np.ones((2, 3)), [0, 1], classes=[0, 1])
            .partial_fit(np.ones((1, 3)), [9])
        ),
        ValueError,
        r"\by\b|9",
    ),
    "complex-labels": (
        lambda: nf().LogisticRegression().fit(np.ones((2, 2)), np.array([0, 1]) + 1j),
        (ValueError, TypeError),
        r"\by\b",
    ),
}

for _name, (_call, _errors, _names) in Y_CASES.items():
    add("arrays", _name, lambda _call=_call: _call(), _errors, _names)


WEIGHT_CASES = {
    "negative": [1.0, -1.0, 1.0, 1.0],
    "nan": [1.0, np.nan, 1.0, 1.0],
    "all-zero": [0.0, 0.0, 0.0, 0.0],
    "wrong-length": [1.0, 1.0],
    "2d": [[1.0, 1.0], [1.0, 1.0]],
    "strings": ["a", "b", "c", "d"],
}

for _name, _w in WEIGHT_CASES.items():
    add(
        "arrays",
        f"sample_weight-{_name}-network",
        lambda _w=_w: net().train(np.ones((4, 3)), np.ones((4, 1)), sample_weight=_w),
        (ValueError, TypeError),
        r"sample_weight",
    )
    add(
        "arrays",
        f"sample_weight-{_name}-estimator",
        lambda _w=_w: mlp_regressor().fit(np.ones((4, 3)), np.ones(4), sample_weight=_w),
        (ValueError, TypeError),
        r"sample_weight|[Ss]ample weights",
    )


@case("arrays")
def ten_to_the_six_labels_are_encoded_fast():
    from nnfast._validation import encode_labels

    y = np.random.default_rng(0).permutation(10**6)
    start = time.monotonic()
    classes, codes = encode_labels(y, "y", y.size)
    assert time.monotonic() - start < 10
    assert classes.size == 10**6 and np.array_equal(classes[codes], y)


@case("arrays", raises=ValueError, names=r"\by\b.*(memory|bytes)")
def ten_to_the_six_classes_refused_by_memory_not_hung():
    y = np.arange(10**6)
    nf().LogisticRegression(max_epochs=1).fit(np.zeros((10**6, 1)), y)


@case("arrays", raises=ValueError, names=r"n_classes.*(memory|bytes)")
def one_hot_of_a_trillion_classes():
    nf().one_hot([0, 1, 2], n_classes=10**12)


@case("arrays")
def one_hot_more_classes_than_labels_is_fine():
    assert nf().one_hot([0], 3).tolist() == [[1.0, 0.0, 0.0]]


ARRAY_HELPERS = {
    "one_hot-negative": (lambda: nf().one_hot([0, -1]), ValueError, r"labels"),
    "one_hot-fractional": (lambda: nf().one_hot([0.5]), ValueError, r"labels"),
    "one_hot-too-few-classes": (
        lambda: nf().one_hot([0, 3], n_classes=2),
        ValueError,
        r"labels|classes",
    ),
    "split-mismatched-lengths": (
        lambda: nf().train_test_split(np.ones(4), np.ones(5)),
        ValueError,
        r"array 1|samples",
    ),
    "split-test-size-1.5": (
        lambda: nf().train_test_split(np.ones(4), test_size=1.5),
        ValueError,
        r"test_size",
    ),
    "split-test-size-all": (
        lambda: nf().train_test_split(np.ones(4), test_size=4),
        ValueError,
        r"test_size",
    ),
    "split-no-arrays": (lambda: nf().train_test_split(), ValueError, r"array"),
    "scaler-nan": (lambda: nf().StandardScaler().fit([[np.nan, 1.0]]), ValueError, r"\bX\b"),
    "scaler-wrong-width": (
        lambda: nf().StandardScaler().fit(np.ones((3, 2))).transform(np.ones((3, 3))),
        ValueError,
        r"\bX\b",
    ),
    "neuron-nan-weights": (lambda: nf().Neuron([np.nan, 1.0], 0.0), ValueError, r"weights"),
    "neuron-wrong-width": (
        lambda: nf().Neuron([1.0, 1.0], 0.0).feedforward([1.0, 2.0, 3.0]),
        ValueError,
        r"\bx\b",
    ),
    "neuron-bias-string": (lambda: nf().Neuron([1.0], "b"), TypeError, r"bias"),
    "loss-shape-mismatch": (
        lambda: nf().losses.mse([1.0, 2.0], [1.0]),
        ValueError,
        r"y_true|y_pred",
    ),
    "encoder-1d": (lambda: nf().TableEncoder().fit(np.ones(3)), ValueError, r"\bX\b"),
    "encoder-unknown-feature": (
        lambda: nf().TableEncoder(features=["zz"]).fit(np.ones((3, 2))),
        ValueError,
        r"features.*zz|zz.*features",
    ),
    "encoder-unseen-category": (
        lambda: (
            nf()
            .TableEncoder()
            .fit(np.array([["a"], ["b"]] * 3, dtype=object))
            .transform(np.array([["c"]], dtype=object))
        ),
        ValueError,
        r"'c'|x0",
    ),
}

for _name, (_call, _errors, _names) in ARRAY_HELPERS.items():
    add("arrays", _name, lambda _call=_call: _call(), _errors, _names)


@case("arrays")
def perceptron_one_sample_step_is_the_lesson():
    p = nf().Perceptron.from_weights([3, 4], -10, learning_rate=0.1)
    p.step([[4, 5]], [0])
    assert np.allclose(p.coef_, [2.6, 3.5]) and np.isclose(p.intercept_, -10.1)


# =================================================================================================
# bad hyperparameters
# =================================================================================================

NETWORK_ARGS = {
    # name: (kwargs for Network, exception types, regex)
    "sizes-empty": (dict(layer_sizes=[]), ValueError, r"layer_sizes"),
    "sizes-one": (dict(layer_sizes=[3]), ValueError, r"layer_sizes"),
    "sizes-zero": (dict(layer_sizes=[3, 0, 1]), ValueError, r"layer_sizes\[1\]"),
    "sizes-negative": (dict(layer_sizes=[3, -2, 1]), ValueError, r"layer_sizes\[1\]"),
    "sizes-fraction": (dict(layer_sizes=[3, 1.5, 1]), TypeError, r"layer_sizes\[1\]"),
    "sizes-string": (dict(layer_sizes="abc"), TypeError, r"layer_sizes"),
    "sizes-none": (dict(layer_sizes=None), TypeError, r"layer_sizes"),
    "sizes-bool": (dict(layer_sizes=[3, True, 1]), TypeError, r"layer_sizes\[1\]"),
    "sizes-1e9": (dict(layer_sizes=[2, 10**9, 1]), ValueError, r"layer_sizes.*bytes"),
    "sizes-1e12-inputs": (dict(layer_sizes=[10**12, 1]), ValueError, r"layer_sizes.*bytes"),
    "activation-unknown": (
        dict(layer_sizes=[3, 2, 1], activation="mish"),
        ValueError,
        r"activation",
    ),
    "activation-number": (dict(layer_sizes=[3, 2, 1], activation=3), TypeError, r"activation"),
    "activation-count": (
        dict(layer_sizes=[3, 2, 2, 1], activation=["relu"]),
        ValueError,
        r"activation",
    ),
    "activation-softmax-hidden": (
        dict(layer_sizes=[3, 2, 1], activation="softmax"),
        ValueError,
        r"softmax",
    ),
    "loss-unknown": (dict(layer_sizes=[3, 1], loss="hinge"), ValueError, r"loss"),
    "loss-number": (dict(layer_sizes=[3, 1], loss=3), TypeError, r"loss"),
    "softmax-one-output": (
        dict(layer_sizes=[3, 1], output_activation="softmax"),
        ValueError,
        r"softmax.*single output|single output.*softmax",
    ),
    "cross-entropy-one-output": (
        dict(layer_sizes=[3, 1], loss="cross_entropy"),
        ValueError,
        r"softmax|output",
    ),
    "step-output-mse": (
        dict(layer_sizes=[3, 2, 1], output_activation="step"),
        ValueError,
        r"output_activation='step'",
    ),
    "step-output-bce": (
        dict(layer_sizes=[3, 1], output_activation="step", loss="binary_cross_entropy"),
        ValueError,
        r"output_activation",
    ),
    "init-unknown": (dict(layer_sizes=[3, 1], init="glorot"), ValueError, r"init"),
    "seed-negative": (dict(layer_sizes=[3, 1], seed=-1), ValueError, r"seed"),
    "seed-string": (dict(layer_sizes=[3, 1], seed="x"), TypeError, r"seed"),
}

for _name, (_kw, _errors, _names) in NETWORK_ARGS.items():
    add("hyperparameters", f"network-{_name}", lambda _kw=_kw: nf().Network(**_kw), _errors, _names)


TRAIN_ARGS = {
    # name: (train kwargs, exception types, regex)
    "epochs-negative": (dict(epochs=-1), ValueError, r"epochs"),
    "epochs-fraction": (dict(epochs=1.5), TypeError, r"epochs"),
    "epochs-string": (dict(epochs="10"), TypeError, r"epochs"),
    "epochs-1e12-unstoppable": (dict(epochs=10**12), ValueError, r"epochs.*(memory|bytes)"),
    "learning_rate-zero": (dict(learning_rate=0.0), ValueError, r"learning_rate"),
    "learning_rate-nan": (dict(learning_rate=float("nan")), ValueError, r"learning_rate"),
    "learning_rate-inf": (dict(learning_rate=float("inf")), ValueError, r"learning_rate"),
    "learning_rate-string": (dict(learning_rate="0.1"), TypeError, r"learning_rate"),
    "learning_rate-huge-int": (dict(learning_rate=10**400), ValueError, r"learning_rate"),
    "batch_size-zero": (dict(batch_size=0), ValueError, r"batch_size"),
    "batch_size-fraction": (dict(batch_size=2.5), TypeError, r"batch_size"),
    "optimizer-unknown": (dict(optimizer="lamb"), ValueError, r"optimizer"),
    "dropout-one": (dict(dropout=1.0), ValueError, r"dropout"),
    "dropout-negative": (dict(dropout=-0.1), ValueError, r"dropout"),
    "dropout-count": (dict(dropout=[0.1, 0.2, 0.3]), ValueError, r"dropout"),
    "l2-negative": (dict(l2=-1.0), ValueError, r"l2"),
    "l1-nan": (dict(l1=float("nan")), ValueError, r"l1"),
    "validation_split-one": (dict(validation_split=1.0), ValueError, r"validation_split"),
    "validation_split-all-rows": (dict(validation_split=0.99), ValueError, r"validation_split"),
    "validation_data-shape": (
        dict(validation_data=(np.ones((2, 4)), np.ones((2, 1)))),
        ValueError,
        r"validation_data\[0\]",
    ),
    "validation_data-not-pair": (
        dict(validation_data=np.ones((2, 3))),
        TypeError,
        r"validation_data",
    ),
    "validation_data-nan": (
        dict(validation_data=(np.full((2, 3), np.nan), np.ones((2, 1)))),
        ValueError,
        r"validation_data",
    ),
    "early_stopping-string": (dict(early_stopping="yes"), TypeError, r"early_stopping"),
    "restarts-zero": (dict(restarts=0), ValueError, r"restarts"),
    "restarts-1e12": (dict(restarts=10**12), ValueError, r"restarts"),
    "n_jobs-zero": (dict(restarts=2, n_jobs=0), ValueError, r"n_jobs"),
    "callbacks-object": (dict(callbacks=[object()]), TypeError, r"callbacks"),
    "on_divergence-unknown": (dict(on_divergence="ignore"), ValueError, r"on_divergence"),
    "lr_schedule-string": (dict(lr_schedule="exponential"), TypeError, r"lr_schedule"),
    "resume-with-restarts": (dict(resume=True, restarts=2), ValueError, r"resume|restarts"),
    "seed-float": (dict(seed=0.5), TypeError, r"seed"),
}

for _name, (_kw, _errors, _names) in TRAIN_ARGS.items():

    def _train_call(_kw=_kw):
        X, Y = regression(n=8)
        net().train(X, Y, **{"epochs": 2, **_kw})

    add("hyperparameters", f"train-{_name}", _train_call, _errors, _names)


OBJECT_ARGS = {
    "sgd-momentum-one": (lambda: nf().SGD(momentum=1.0), ValueError, r"momentum"),
    "sgd-nesterov-without-momentum": (
        lambda: nf().SGD(nesterov=True),
        ValueError,
        r"nesterov|momentum",
    ),
    "adam-beta1-one": (lambda: nf().Adam(beta_1=1.0), ValueError, r"beta_1"),
    "adam-epsilon-zero": (lambda: nf().Adam(epsilon=0.0), ValueError, r"epsilon"),
    "exponential-decay-zero": (
        lambda: nf().schedules.ExponentialDecay(decay_rate=0.0),
        ValueError,
        r"decay_rate",
    ),
    "step-decay-every-zero": (lambda: nf().schedules.StepDecay(every=0), ValueError, r"every"),
    "plateau-factor-one": (
        lambda: nf().schedules.ReduceOnPlateau(factor=1.0),
        ValueError,
        r"factor",
    ),
    "plateau-monitor": (
        lambda: nf().schedules.ReduceOnPlateau(monitor="acc"),
        ValueError,
        r"monitor",
    ),
    "early-stopping-patience": (lambda: nf().EarlyStopping(patience=-1), ValueError, r"patience"),
    # checked by fit, as scikit-learn does (the constructor stores them as given)
    "perceptron-rate-zero": (
        lambda: nf().Perceptron(learning_rate=0).fit(*binary()),
        ValueError,
        r"learning_rate",
    ),
    "perceptron-epochs-zero": (
        lambda: nf().Perceptron(max_epochs=0).fit(*binary()),
        ValueError,
        r"max_epochs",
    ),
    "perceptron-seed-string": (
        lambda: nf().Perceptron(seed="s").fit(*binary()),
        TypeError,
        r"seed",
    ),
    "logistic-batch-zero": (
        lambda: nf().LogisticRegression(batch_size=0).fit(*binary()),
        ValueError,
        r"batch_size",
    ),
    "logistic-tol-negative": (
        lambda: nf().LogisticRegression(tol=-1.0).fit(*binary()),
        ValueError,
        r"tol",
    ),
}

for _name, (_call, _errors, _names) in OBJECT_ARGS.items():
    add("hyperparameters", _name, lambda _call=_call: _call(), _errors, _names)


ESTIMATOR_ARGS = {
    "hidden-zero": (dict(hidden_layer_sizes=(0,)), ValueError, r"hidden_layer_sizes"),
    "hidden-negative": (dict(hidden_layer_sizes=(-3,)), ValueError, r"hidden_layer_sizes"),
    "hidden-string": (dict(hidden_layer_sizes="ab"), TypeError, r"hidden_layer_sizes"),
    "hidden-1e9": (dict(hidden_layer_sizes=(10**9,)), ValueError, r"hidden_layer_sizes.*bytes"),
    "activation": (dict(activation="mish"), ValueError, r"activation"),
    "solver": (dict(solver="newton"), ValueError, r"solver"),
    "alpha-negative": (dict(alpha=-1.0), ValueError, r"alpha"),
    "batch_size-zero": (dict(batch_size=0), ValueError, r"batch_size"),
    "learning_rate-name": (dict(learning_rate="fast"), ValueError, r"learning_rate"),
    "learning_rate_init-zero": (dict(learning_rate_init=0.0), ValueError, r"learning_rate_init"),
    "max_iter-zero": (dict(max_iter=0), ValueError, r"max_iter"),
    "momentum": (dict(momentum=1.5, solver="sgd"), ValueError, r"momentum"),
    "validation_fraction": (dict(validation_fraction=1.0), ValueError, r"validation_fraction"),
    "beta_1": (dict(beta_1=1.0), ValueError, r"beta_1"),
    "epsilon": (dict(epsilon=0.0), ValueError, r"epsilon"),
    "n_iter_no_change": (dict(n_iter_no_change=0), ValueError, r"n_iter_no_change"),
    "max_fun": (dict(max_fun=0, solver="lbfgs"), ValueError, r"max_fun"),
    "restarts": (dict(restarts=0), ValueError, r"restarts"),
    "n_jobs": (dict(n_jobs=0), ValueError, r"n_jobs"),
    "backend": (dict(backend="gpu"), ValueError, r"backend"),
    "random_state": (dict(random_state=-1), ValueError, r"random_state"),
    "class_weight-unknown-label": (dict(class_weight={"x": 2.0}), ValueError, r"class_weight"),
    "class_weight-name": (dict(class_weight="auto"), ValueError, r"class_weight"),
    "dropout-with-lbfgs": (dict(dropout=0.5, solver="lbfgs"), ValueError, r"dropout"),
    "shuffle-string": (dict(shuffle="yes"), TypeError, r"shuffle"),
}

for _name, (_kw, _errors, _names) in ESTIMATOR_ARGS.items():

    def _fit_call(_kw=_kw):
        X, y = classes3(n=30)
        mlp_classifier(**_kw).fit(X, y)

    add("hyperparameters", f"mlp-{_name}", _fit_call, _errors, _names)

add(
    "hyperparameters",
    "mlp-regressor-loss-gamma",
    lambda: mlp_regressor(loss="gamma").fit(np.ones((3, 2)), [1.0, 2.0, 3.0]),
    ValueError,
    r"loss",
)
add(
    "arrays",
    "mlp-regressor-poisson-negative-y",
    lambda: mlp_regressor(loss="poisson").fit(np.ones((3, 2)), [1.0, -2.0, 3.0]),
    ValueError,
    r"\by\b.*>= 0",
)


@case("hyperparameters")
def epochs_1e12_with_a_callback_that_stops():
    class Stop(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            return epoch >= 2

    X, Y = regression(n=8)
    h = net().train(X, Y, epochs=10**12, callbacks=[Stop()])
    assert h.epochs == 3 and h.stopped_epoch == 2


@case("hyperparameters")
def epochs_1e12_with_early_stopping():
    X, Y = regression(n=16)
    h = net().train(
        X, Y, epochs=10**12, learning_rate=0.05, early_stopping=True, validation_split=0.25
    )
    assert 0 < h.epochs < 10**6 and h.stopped_epoch is not None


@case("hyperparameters")
def batch_size_larger_than_the_data_is_full_batch():
    X, Y = regression(n=8)
    h = net().train(X, Y, epochs=2, batch_size=10**15)
    assert h.epochs == 2 and finite(h.loss)


@case("hyperparameters")
def perceptron_max_epochs_1e12_on_separable_data():
    X, y = binary()
    p = (
        nf()
        .Perceptron(max_epochs=10**12)
        .fit(X * 0 + np.sign(X[:, :1]) * [[1, 0]] + X * 0.01, (X[:, 0] > 0).astype(int))
    )
    assert p.n_iter_ < 1000 and p.errors_[-1] == 0


@case("hyperparameters")
def mlp_max_iter_1e12_stops_by_its_rule():
    X, y = binary(n=30)
    m = mlp_classifier(max_iter=10**12, learning_rate_init=0.05).fit(X, y)
    assert m.n_iter_ < 10**5 and len(m.loss_curve_) == m.n_iter_


@case("hyperparameters")
def restarts_are_not_all_made_up_front():
    X, Y = regression(n=8)
    n = net()
    h = n.train(X, Y, epochs=1, restarts=200, n_jobs=2)
    assert len(h.restart_losses) == 200 and finite(n.parameters)


@case("hyperparameters")
def logic_xor_network_is_feedforward_only():
    from nnfast.logic import xor_network

    n = xor_network()
    assert n.feedforward([[0, 1], [1, 1]]).ravel().tolist() == [1.0, 0.0]
    try:
        n.train([[0, 1]], [1], epochs=1)
    except ValueError as exc:
        assert "loss=None" in str(exc)
    else:
        raise AssertionError("a step network without a loss was trained")


# =================================================================================================
# numerical trouble
# =================================================================================================


def _diverge(batch_size, optimizer, lr):
    X, Y = regression(n=24, k=2)
    n = net((3, 8, 8, 2), activation="relu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = n.train(
            X, Y, epochs=200, learning_rate=lr, batch_size=batch_size, optimizer=optimizer, seed=1
        )
    said = [w for w in caught if "diverged" in str(w.message)]
    assert len(said) == 1, "no divergence warning"
    assert finite(n.parameters) and finite(n.feedforward(X)), "the kept weights are not usable"
    consistent(h)


for _batch in (1, 5, None):
    for _opt, _lr in (("sgd", 1e6), ("momentum", 1e6), ("adam", 1e100)):

        def _div(_batch=_batch, _opt=_opt, _lr=_lr):
            optimizer = nf().SGD(momentum=0.9) if _opt == "momentum" else _opt
            _diverge(_batch, optimizer, _lr)

        add("numerics", f"divergence-{_batch or 'full'}-{_opt}", _div)


@case("numerics", raises=FloatingPointError, names=r"learning_rate")
def divergence_raise():
    X, Y = regression()
    net().train(X, Y, epochs=100, learning_rate=1e8, on_divergence="raise", batch_size=None)


@case("numerics")
def full_batch_divergence_keeps_usable_weights():
    X, Y = regression(n=24, k=2)
    n = net((3, 4, 2), activation="identity")
    n.train(X, Y, epochs=200, learning_rate=3.35, batch_size=None, seed=1)
    assert finite(n.feedforward(X)), "weights of ~1e200 with NaN outputs were kept"


@case("numerics", raises=ValueError, names=r"parameters")
def training_from_nan_weights_is_refused():
    n = net()
    n.parameters[0] = np.nan
    n.train(*regression(), epochs=2)


@case("numerics", raises=ValueError, names=r"parameters")
def feedforward_with_nan_weights_is_reported():
    n = net()
    n.weights[1][...] = np.nan
    n.feedforward(np.ones((2, 3)))


@case("numerics", raises=ValueError, names=r"parameters")
def gradients_with_inf_weights_are_refused():
    n = net()
    n.biases[0][0] = np.inf
    n.gradients(*regression())


@case("numerics")
def feedforward_overflow_warns():
    n = net((3, 4, 1), activation="identity", output_activation="identity")
    n.parameters = np.full(n.spec.n_params, 1e200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = n.feedforward(np.full((2, 3), 1e200))
    assert finite(out) or any("overflowed" in str(w.message) for w in caught)


@case("numerics")
def training_from_huge_weights_keeps_usable_ones():
    n = net((3, 4, 1), activation="relu")
    n.parameters = np.full(n.spec.n_params, 1e200)
    X, Y = regression()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n.train(X, Y, epochs=5, learning_rate=0.1)
    assert any("diverged" in str(w.message) for w in caught) or finite(n.feedforward(X))


@case("numerics")
def huge_inputs_train_without_nan_weights():
    X, Y = regression()
    n = net()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        n.train(X * 1e300, Y, epochs=5)
    assert finite(n.parameters)


@case("numerics")
def sample_weight_1e308_gives_a_finite_loss():
    X, Y = regression(n=8)
    n = net()
    h = n.train(X, Y, epochs=3, sample_weight=np.full(8, 1e308))
    ref = net().train(X, Y, epochs=3, sample_weight=np.ones(8))
    assert finite(h.loss) and np.allclose(h.loss, ref.loss)
    assert np.isfinite(n.loss(X, Y, sample_weight=np.full(8, 1e308)))


@case("numerics")
def sample_weight_subnormal_gives_a_finite_loss():
    X, Y = regression(n=8)
    h = net().train(X, Y, epochs=3, sample_weight=np.full(8, 5e-324))
    assert finite(h.loss)


@case("numerics")
def estimator_sample_weight_1e308():
    X, y = classes3(n=30)
    m = mlp_classifier().fit(X, y, sample_weight=np.full(30, 1e308))
    assert finite(m.loss_curve_) and finite(m.predict_proba(X))


@case("numerics", raises=ValueError, names=r"non-finite parameter weights.*input data")
def scikit_learn_nonfinite_params():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    nf().MLPRegressor().fit(X, rng.standard_normal(size=10))


@case("numerics", raises=ValueError, names=r"non-finite parameter weights")
def mlp_regressor_diverging_sgd():
    X, Y = regression(n=60, d=4)
    mlp_regressor(solver="sgd", learning_rate_init=1e6, max_iter=50).fit(X, Y[:, 0])


@case("numerics")
def mlp_diverging_fit_leaves_it_unfitted():
    X, Y = regression(n=60, d=4)
    m = mlp_regressor(solver="sgd", learning_rate_init=1e6, max_iter=50)
    try:
        m.fit(X, Y[:, 0])
    except ValueError:
        pass
    assert not hasattr(m, "coefs_") and not hasattr(m, "n_iter_")


@case("numerics", raises=ValueError, names=r"non-finite parameter weights")
def mlp_lbfgs_on_huge_values():
    X = np.finfo(np.float64).max * np.random.default_rng(0).uniform(size=(20, 2))
    mlp_regressor(solver="lbfgs").fit(X, np.arange(20.0))


@case("numerics")
def logistic_regression_huge_rate_keeps_finite_probabilities():
    X, y = binary()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        m = nf().LogisticRegression(learning_rate=1e300, max_epochs=20).fit(X * 1e300, y)
    assert finite(m.predict_proba(X))


@case("numerics", raises=ValueError, names=r"\bX\b")
def perceptron_weights_overflow():
    X = np.array([[1e308, 1e308], [-1e308, -1e308], [1e308, -1e308], [-1e308, 1e308]])
    nf().Perceptron(learning_rate=10, max_epochs=100).fit(X, [1, 0, 1, 0])


@case("numerics")
def regression_target_of_1e300():
    X, Y = regression()
    n = net()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        n.train(X, Y * 1e300, epochs=5)
    assert finite(n.parameters) and finite(n.feedforward(X))


@case("numerics")
def softmax_cross_entropy_with_extreme_logits_is_finite():
    n = net((2, 3), activation=[], loss="cross_entropy")
    n.parameters = np.concatenate([np.full(6, 1e5), np.zeros(3)])
    X = np.array([[1e3, -1e3], [-1e3, 1e3]])
    assert np.isfinite(n.loss(X, [0, 2]))
    dW, db = n.gradients(X, [0, 2])
    assert finite(*dW, *db)


@case("numerics")
def all_restarts_diverging_keep_usable_weights():
    X, Y = regression()
    n = net()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        h = n.train(X, Y, epochs=50, learning_rate=1e8, batch_size=None, restarts=3)
    assert finite(n.parameters) and finite(n.feedforward(X)) and len(h.restart_losses) == 3


@case("numerics")
def weights_assigned_with_overflowing_float32_are_refused_or_finite():
    n = net()
    try:
        n.parameters = np.full(n.spec.n_params, 3e38, dtype=np.float32) * np.float32(10)
    except ValueError as exc:
        assert "parameters" in str(exc)
    else:
        raise AssertionError("infinite float32 parameters were accepted")


@case("numerics")
def logistic_predicts_equal_probabilities_only_when_it_should():
    m, X = fitted("logistic")
    p = m.predict_proba(X)
    assert finite(p) and not np.allclose(p, 0.5)


@case("numerics")
def float32_parameters_assignment_is_converted():
    n = net()
    n.parameters = n.parameters.astype(np.float32)
    assert n.parameters.dtype == np.float64 and finite(n.feedforward(np.ones((1, 3))))


# --- public state that kernels read: validated on assignment --------------------------------------


@case("numerics", raises=ValueError, names=r"parameters")
def parameters_of_the_wrong_length():
    n = nf().Network([2000, 5000, 10], seed=0)
    n.parameters = np.zeros(1)


@case("numerics")
def parameters_of_the_wrong_length_never_reach_the_kernel():
    n = nf().Network([200, 500, 10], seed=0)
    try:
        n.parameters = np.zeros(1)
    except ValueError:
        pass
    n.train(np.zeros((4, 200)), np.zeros((4, 10)), epochs=1, batch_size=1)
    assert finite(n.parameters)


@case("numerics", raises=ValueError, names=r"parameters")
def issue_example_parameters_of_one_value_then_train():
    n = nf().Network([2000, 5000, 10], seed=0)
    X = np.random.default_rng(0).normal(size=(20, 2000))
    n.parameters = np.zeros(1)
    n.train(X, np.zeros((20, 10)), epochs=1, batch_size=1)


@case("numerics", raises=(ValueError, AttributeError), names=r"coef_")
def issue_example_perceptron_coef_replaced_then_step():
    p = nf().Perceptron().fit(*binary(n=200, d=50))
    p.coef_ = np.zeros(1)
    p.step(*binary(n=200, d=50))


@case("numerics", raises=(ValueError, AttributeError), names=r"n_features_in_")
def issue_example_perceptron_n_features_replaced_then_step():
    p = nf().Perceptron().fit(*binary(n=200, d=2))
    p.n_features_in_ = 5000
    p.step(np.ones((200, 5000)), np.arange(200) % 2)


@case("numerics", raises=ValueError, names=r"parameters")
def issue_example_callback_assigns_parameters():
    class Shrink(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            network.parameters = np.zeros(3)

    X = np.random.default_rng(0).normal(size=(20, 300))
    nf().Network([300, 800, 10], seed=0).train(
        X, np.zeros((20, 10)), epochs=5, batch_size=1, callbacks=[Shrink()]
    )


@case("numerics")
def issue_example_gradients_and_probabilities_after_bad_assignments():
    n = net()
    try:
        n.parameters = np.zeros(2)
    except ValueError:
        pass
    dW, db = n.gradients(*regression())
    assert finite(*dW, *db) and any(np.abs(w).sum() > 0 for w in dW)
    m, X = fitted("logistic")
    try:
        m.network_.parameters = np.zeros(1)
    except ValueError:
        pass
    assert not np.allclose(m.predict_proba(X), 0.5)
    c, X = fitted("classifier")
    try:
        c.network_.parameters = np.zeros(1)
    except ValueError:
        pass
    assert finite(c.predict_proba(X)) and not np.allclose(c.predict_proba(X), 1 / 3)


@case("numerics")
def non_contiguous_parameters_are_copied_in():
    n = net()
    values = np.arange(2.0 * n.spec.n_params)[::2] / 100
    n.parameters = values
    assert np.array_equal(n.parameters, values) and n.parameters.flags.c_contiguous
    n.train(*regression(), epochs=1)


@case("numerics", raises=ValueError, names=r"parameters")
def parameters_float32_in_place_dtype_change():
    n = net()
    n.parameters.dtype = np.float32
    n.feedforward(np.ones((1, 3)))


@case("numerics", raises=ValueError, names=r"parameters")
def parameters_changed_in_place_to_another_shape():
    n = net()
    n.parameters.shape = (1, -1)
    n.train(*regression(), epochs=1)


@case("numerics", raises=ValueError, names=r"parameters")
def parameters_made_read_only():
    n = net()
    n.parameters.setflags(write=False)
    n.train(*regression(), epochs=1)


@case("numerics", raises=ValueError, names=r"resize|own")
def parameters_resize_is_refused():
    n = net()
    n.parameters.resize(1, refcheck=False)


@case("numerics")
def weights_item_assignment_sets_the_layer():
    n = net((2, 2, 1))
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    n.weights[0] = W
    n.biases[1] = [0.5]
    assert np.array_equal(n.weights[0], W) and n.parameters[0] == 1.0 and n.biases[1][0] == 0.5


@case("numerics", raises=ValueError, names=r"weights\[0\]")
def weights_item_of_the_wrong_shape():
    net((2, 2, 1)).weights[0] = np.ones((3, 3))


@case("numerics", raises=ValueError, names=r"weights\[1\]")
def weights_item_nan():
    net((2, 2, 1)).weights[1] = [[np.nan], [1.0]]


@case("numerics", raises=TypeError, names=r"weights")
def weights_list_append():
    net().weights.append(np.ones((1, 1)))


@case("numerics")
def weights_whole_list_assignment():
    n = net((2, 2, 1))
    n.weights = [np.ones((2, 2)), np.ones((2, 1))]
    assert (n.parameters[:6] == 1).all()


@case("numerics", raises=AttributeError, names=r"spec")
def spec_is_read_only():
    from nnfast._spec import Spec

    net().spec = Spec((1, 1), (0,), 0)


@case("numerics", raises=ValueError, names=r"coef_")
def perceptron_coef_of_the_wrong_length():
    p, X = fitted("perceptron")
    p.coef_ = np.zeros(1)


@case("numerics", raises=AttributeError, names=r"n_features_in_")
def perceptron_n_features_is_read_only():
    p, X = fitted("perceptron")
    p.n_features_in_ = 7


@case("numerics")
def perceptron_coef_replaced_correctly_steps():
    p, X = fitted("perceptron")
    p.coef_ = [1.0, -1.0]
    p.intercept_ = 0.5
    p.step(X, (X[:, 0] > X[:, 1]).astype(int))
    assert finite(p.coef_) and p.coef_.shape == (2,)


@case("numerics", raises=ValueError, names=r"resize|own")
def perceptron_coef_resized_in_place():
    p, X = fitted("perceptron")
    p.coef_.resize(1, refcheck=False)


@case("numerics", raises=ValueError, names=r"coef_")
def logistic_coef_of_the_wrong_shape():
    m, _ = fitted("logistic")
    m.coef_ = np.zeros((3, 3))


@case("numerics", raises=ValueError, names=r"coefs_\[0\]")
def mlp_coefs_item_of_the_wrong_shape():
    m, _ = fitted("classifier")
    m.coefs_[0] = np.zeros((1, 1))


@case("numerics")
def mlp_coefs_item_assignment_changes_predictions():
    m, X = fitted("classifier")
    before = m.predict_proba(X)
    m.coefs_[1] = np.zeros_like(m.coefs_[1])
    after = m.predict_proba(X)
    assert not np.allclose(before, after) and finite(after)


@case("numerics", raises=ValueError, names=r"intercepts_")
def mlp_intercepts_nan():
    m, X = fitted("regressor")
    m.intercepts_ = [np.full_like(b, np.nan) for b in m.intercepts_]  # a plain list, as in
    m.predict(X)  # scikit-learn: checked when it is next used


@case("arrays")
def mlp_classifier_of_one_class_predicts_it():
    """As scikit-learn's: y of one class fits, and that class is every prediction."""
    m = mlp_classifier().fit(np.ones((3, 2)), [1, 1, 1])
    assert m.predict(np.zeros((2, 2))).tolist() == [1, 1]


@case("numerics", raises=ValueError, names=r"\bX\b")
def mlp_with_a_replaced_network_refuses_the_width():
    m, X = fitted("classifier")
    m.network_ = nf().Network([9, 3], loss="cross_entropy")
    m.predict_proba(X)


# =================================================================================================
# model files
# =================================================================================================


def _model_file(name="model.npz"):
    net().save(name)
    return name


def _write_npz(path, header, **arrays):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    np.savez(path, header=np.frombuffer(text, dtype=np.uint8), **arrays)
    return path


def _network_header(**changes):
    header = {
        "format": "nnfast",
        "format_version": 1,
        "kind": "Network",
        "layer_sizes": [3, 5, 1],
        "activation": ["sigmoid"],
        "output_activation": "identity",
        "loss": "mse",
        "init": "auto",
    }
    header.update(changes)
    return header


def device_node(name="null"):
    """A character device like /dev/null, made in the case's directory (never the real one:
    a save that replaced it would break the machine); None where mknod is not allowed."""
    import stat

    try:
        os.mknod(name, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (OSError, AttributeError):
        return None
    return name


@case("files")
def save_to_a_device_node():
    path = device_node()
    if path is None:  # not allowed here: the FIFO and socket cases cover the same check
        return
    with guard(path):
        try:
            net().save(path)
        except ValueError as exc:
            assert "null" in str(exc) and "not a regular file" in str(exc), str(exc)
        else:
            raise AssertionError("save wrote over a device node and reported success")


@case("files", raises=ValueError, names=r"fifo.*FIFO")
def save_to_a_fifo():
    os.mkfifo("fifo")
    with guard("fifo"):
        net().save("fifo")


@case("files", raises=(ValueError, OSError), names=r"sock.*socket")
def save_to_a_socket():
    s = socket.socket(socket.AF_UNIX)
    s.bind("sock")
    with guard("sock"):
        net().save("sock")


@case("files", raises=(ValueError, OSError), names=r"adir.*directory")
def save_to_a_directory():
    os.mkdir("adir")
    with open("adir/inside", "w") as f:
        f.write("keep")
    with guard("adir", "adir/inside"):
        net().save("adir")


@case("files", raises=OSError, names=r"nowhere/m\.npz")
def save_into_a_missing_folder():
    net().save("nowhere/m.npz")


@case("files")
def save_into_a_read_only_folder_names_the_path():
    os.mkdir("ro")
    os.chmod("ro", 0o555)
    try:
        net().save("ro/m.npz")
    except PermissionError as exc:
        assert "ro/m.npz" in str(exc) and ".nnfast-" not in str(exc), str(exc)
    else:  # the superuser may write anyway: then the file must load
        assert os.getuid() == 0 and nf().load("ro/m.npz") is not None
    finally:
        os.chmod("ro", 0o755)


@case("files")
def save_through_a_symlink_keeps_the_link():
    _model_file("real.npz")
    os.symlink("real.npz", "link.npz")
    net((3, 5, 1), activation="tanh").save("link.npz")
    assert os.path.islink("link.npz") and nf().load("real.npz").activations == ("tanh",)


@case("files", raises=OSError, names=r"loop\.npz")
def save_to_a_symlink_loop():
    os.symlink("loop.npz", "loop.npz")
    net().save("loop.npz")


@case("files", raises=ValueError, names=r"good\.npz.*(NaN|finite)")
def save_nan_model_over_a_good_file():
    _model_file("good.npz")
    bad = net()
    bad.parameters[2] = np.nan
    with guard("good.npz"):
        bad.save("good.npz")


@case("files", raises=TypeError, names=r"path")
def save_to_an_int_path():
    net().save(3)


@case("files", raises=ValueError, names=r"path")
def save_to_an_empty_path():
    net().save("")


@case("files", raises=ValueError, names=r"NUL|path")
def save_to_a_path_with_nul():
    net().save("a\0b.npz")


@case("files")
def save_to_a_read_only_file():
    _model_file("locked.npz")
    os.chmod("locked.npz", 0o444)
    try:
        with guard("locked.npz"):
            net((3, 2, 1)).save("locked.npz")
    except PermissionError as exc:
        assert "locked.npz" in str(exc)
    except Destroyed:
        assert os.getuid() == 0  # the superuser may replace it (and load it back)
        assert nf().load("locked.npz").layer_sizes == [3, 2, 1]


for _kind in ("network", "perceptron", "logistic", "classifier", "regressor"):

    def _round_trip(_kind=_kind):
        model, X = fitted(_kind)
        model.save("m.npz")
        back = nf().load("m.npz")
        assert np.array_equal(predictions(back, X), predictions(model, X))

    add("files", f"round-trip-{_kind}", _round_trip)


@case("files")
def round_trip_unfitted_estimator():
    mlp_classifier().save("u.npz")
    assert not hasattr(nf().load("u.npz"), "coefs_")


@case("files")
def round_trip_pathlib_and_bytes_paths():
    import pathlib

    net().save(pathlib.Path("p.npz"))
    net().save(b"b.npz")
    assert nf().load(pathlib.Path("p.npz")) and nf().load(b"b.npz")


LOAD_BYTES = {
    "random-bytes": (lambda: os.urandom(4096), r"not a readable.*not a \.npz"),
    "empty": (lambda: b"", r"empty"),
    "text": (lambda: b"hello world\n" * 10, r"not a readable"),
    "json": (lambda: json.dumps({"layer_sizes": [3, 1]}).encode(), r"JSON"),
    "pickle": (lambda: __import__("pickle").dumps({"a": np.zeros(3)}, protocol=4), r"pickle"),
    "pickle-protocol-2": (lambda: __import__("pickle").dumps([1, 2], protocol=2), r"pickle"),
    "zip-magic-only": (lambda: b"PK\x03\x04" + bytes(60), r"not a readable"),
    "npy-magic-only": (lambda: b"\x93NUMPY" + bytes(40), r"\.npy"),
}

for _name, (_content, _names) in LOAD_BYTES.items():

    def _load_bytes(_content=_content):
        with open("junk.npz", "wb") as f:
            f.write(_content())
        nf().load("junk.npz")

    add("files", f"load-{_name}", _load_bytes, ValueError, r"junk\.npz.*(" + _names + ")")


@case("files", raises=ValueError, names=r"a\.npy.*plain \.npy")
def load_a_plain_npy():
    np.save("a.npy", np.arange(5.0))
    nf().load("a.npy")


@case("files", raises=ValueError, names=r"plain\.npz.*header")
def load_an_npz_without_header():
    np.savez("plain.npz", parameters=np.zeros(3))
    nf().load("plain.npz")


for _cut in (0.1, 0.5, 0.9, 0.99):

    def _truncated(_cut=_cut):
        data = open(_model_file(), "rb").read()
        with open("cut.npz", "wb") as f:
            f.write(data[: int(len(data) * _cut)])
        nf().load("cut.npz")

    add("files", f"load-truncated-{int(_cut * 100)}", _truncated, ValueError, r"cut\.npz")


@case("files", raises=ValueError, names=r"deep\.npz.*(nests|corrupted)")
def load_deeply_nested_json_header():
    _write_npz("deep.npz", ("[" * 200000 + "]" * 200000).encode(), parameters=np.zeros(3))
    nf().load("deep.npz")


@case("files", raises=ValueError, names=r"huge\.npz")
def load_header_claiming_huge_layers():
    _write_npz("huge.npz", _network_header(layer_sizes=[3, 10**9, 2]), parameters=np.zeros(10))
    nf().load("huge.npz")


@case("files", raises=ValueError, names=r"bomb\.npz")
def load_a_zip_bomb():
    header = _io.BytesIO()
    np.save(header, np.frombuffer(json.dumps(_network_header()).encode(), np.uint8))
    member = _io.BytesIO()
    np.save(member, np.zeros(2**27 // 8))
    with zipfile.ZipFile("bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("header.npy", header.getvalue())
        z.writestr("parameters.npy", member.getvalue())
    nf().load("bomb.npz")


@case("files", raises=ValueError, names=r"lying\.npz")
def load_member_whose_size_disagrees_with_its_header():
    header = _io.BytesIO()
    np.save(header, np.frombuffer(json.dumps(_network_header()).encode(), np.uint8))
    member = _io.BytesIO()
    np.save(member, np.zeros(26))
    raw = member.getvalue().replace(b"(26,)", b"(99,)")
    with zipfile.ZipFile("lying.npz", "w") as z:
        z.writestr("header.npy", header.getvalue())
        z.writestr("parameters.npy", raw)
    nf().load("lying.npz")


@case("files", raises=ValueError, names=r"nan\.npz.*(NaN|finite)")
def load_nan_parameters():
    _write_npz("nan.npz", _network_header(), parameters=np.full(26, np.nan))
    nf().load("nan.npz")


def _tabular_file(edit):
    from nnfast.tabular import TableEncoder, TabularModel

    n = nf().Network([1, 2, 1], seed=0)
    enc = TableEncoder().fit(np.arange(6.0).reshape(-1, 1))
    model = TabularModel(n, enc, "y", None, 1.0, 2.0)
    header, arrays = model._to_file()
    header.update(format="nnfast", format_version=1, kind="TabularModel")
    edit(header, arrays)
    _write_npz("tab.npz", header, **arrays)
    return nf().load("tab.npz")


add(
    "files",
    "load-tabular-nan-target-mean",
    lambda: _tabular_file(lambda h, a: h.update(target_mean=float("nan"))),
    ValueError,
    r"tab\.npz.*target_mean",
)
add(
    "files",
    "load-tabular-zero-target-scale",
    lambda: _tabular_file(lambda h, a: h.update(target_scale=0.0)),
    ValueError,
    r"tab\.npz.*target_scale",
)
add(
    "files",
    "load-tabular-inf-scale",
    lambda: _tabular_file(lambda h, a: a.update(scale=np.array([np.inf]))),
    ValueError,
    r"tab\.npz.*scale",
)
add(
    "files",
    "load-tabular-bad-categories",
    lambda: _tabular_file(lambda h, a: h.update(categories={"x0": [1, 2]})),
    ValueError,
    r"tab\.npz",
)


@case("files")
def load_tabular_round_trip():
    model = _tabular_file(lambda h, a: None)
    assert model.target_mean == 1.0 and model.target_scale == 2.0


@case("files", raises=ValueError, names=r"obj\.npz.*pickle")
def load_object_array_member():
    np.savez(
        "obj.npz",
        header=np.frombuffer(json.dumps(_network_header()).encode(), np.uint8),
        parameters=np.array([{"a": 1}], dtype=object),
    )
    nf().load("obj.npz")


@case("files", raises=ValueError, names=r"int\.npz.*dtype")
def load_integer_parameters():
    _write_npz("int.npz", _network_header(), parameters=np.zeros(26, dtype=np.int64))
    nf().load("int.npz")


@case("files")
def load_float32_parameters():
    _write_npz("f32.npz", _network_header(), parameters=np.zeros(26, dtype=np.float32))
    assert nf().load("f32.npz").parameters.dtype == np.float64


LOAD_HEADERS = {
    "unknown-kind": dict(kind="Pipeline"),
    "kind-list": dict(kind=["Network"]),
    "version-2": dict(format_version=2),
    "format-other": dict(format="keras"),
    "sizes-string": dict(layer_sizes="abc"),
    "sizes-negative": dict(layer_sizes=[3, -5, 1]),
    "activation-unknown": dict(activation=["mish"]),
    "loss-unknown": dict(loss="hinge"),
    "softmax-one-output": dict(output_activation="softmax"),
    "step-output": dict(output_activation="step"),
}

for _name, _changes in LOAD_HEADERS.items():
    add(
        "files",
        f"load-header-{_name}",
        lambda _changes=_changes: nf().load(
            _write_npz("h.npz", _network_header(**_changes), parameters=np.zeros(26))
        ),
        ValueError,
        r"h\.npz",
    )


@case("files", raises=ValueError, names=r"list\.npz")
def load_header_json_list():
    nf().load(_write_npz("list.npz", b"[1, 2, 3]", parameters=np.zeros(3)))


@case("files", raises=ValueError, names=r"fifo\.npz.*FIFO")
def load_from_a_fifo():
    os.mkfifo("fifo.npz")
    nf().load("fifo.npz")


@case("files", raises=ValueError, names=r"/dev/zero")
def load_from_dev_zero():
    nf().load("/dev/zero")


@case("files", raises=OSError, names=r"adir")
def load_a_directory():
    os.mkdir("adir")
    nf().load("adir")


@case("files", raises=FileNotFoundError, names=r"missing\.npz")
def load_a_missing_file():
    nf().load("missing.npz")


@case("files", raises=ValueError, names=r"many\.npz")
def load_an_archive_with_many_members():
    arrays = {f"a{i}": np.zeros(1) for i in range(100)}
    _write_npz("many.npz", _network_header(), parameters=np.zeros(26), **arrays)
    nf().load("many.npz")


@case("files", raises=ValueError, names=r"flip\.npz")
def load_a_corrupted_member():
    data = bytearray(open(_model_file(), "rb").read())
    i = data.find(b"parameters.npy") + 200
    data[i] ^= 0xFF
    with open("flip.npz", "wb") as f:
        f.write(bytes(data))
    nf().load("flip.npz")


# =================================================================================================
# interruption and concurrency
# =================================================================================================


def _train_interrupted(**kw):
    X, Y = regression(n=200, d=10, k=2)
    n = net((10, 64, 64, 2), activation="tanh")
    args = {"epochs": 10**6, "batch_size": 8, "learning_rate": 0.001, **kw}
    assert expect_interrupt(lambda: n.train(X, Y, **args)), "Ctrl-C was not raised"
    h = n.history
    assert h is not None and h.interrupted
    consistent(h, validation=bool(kw.get("validation_data") or kw.get("validation_split")))
    assert finite(n.parameters) and finite(n.feedforward(X))
    return n, h


add("interruption", "ctrl-c-train-all-epochs-in-one-call", lambda: _train_interrupted())
add("interruption", "ctrl-c-train-per-sample", lambda: _train_interrupted(batch_size=1))
add("interruption", "ctrl-c-train-full-batch", lambda: _train_interrupted(batch_size=None))
add(
    "interruption", "ctrl-c-train-with-validation", lambda: _train_interrupted(validation_split=0.2)
)
add(
    "interruption",
    "ctrl-c-train-with-validation-data",
    lambda: _train_interrupted(validation_data=regression(n=50, d=10, k=2, seed=3)),
)
add(
    "interruption",
    "ctrl-c-train-with-early-stopping",
    lambda: _train_interrupted(
        validation_split=0.2, early_stopping=nf().EarlyStopping(patience=10**9)
    ),
)
add(
    "interruption",
    "ctrl-c-train-adam-dropout",
    lambda: _train_interrupted(optimizer="adam", dropout=0.2),
)


@case("interruption")
def ctrl_c_train_with_a_slow_callback():
    class Slow(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            time.sleep(0.01)
            return False

    _train_interrupted(callbacks=[Slow()], validation_split=0.2)


@case("interruption")
def ctrl_c_train_restarts():
    n, h = _train_interrupted(restarts=4, n_jobs=2)
    assert hasattr(h, "restart_losses") and len(h.restart_losses) == 4


@case("interruption")
def ctrl_c_a_million_restarts():
    X, Y = regression(n=8)
    n = net()
    assert expect_interrupt(lambda: n.train(X, Y, epochs=1, restarts=10**6), after=1.0)
    assert n.history.interrupted and len(n.history.restart_losses) == 10**6
    assert finite(n.parameters) and finite(n.feedforward(X))


@case("interruption")
def the_generator_lock_is_held_while_the_kernel_draws():
    import nnfast

    if nnfast.get_backend() != "cython":
        return
    g = np.random.default_rng(0)
    X, Y = regression(n=20000, d=20)
    n = nf().Network([20, 64, 1], seed=g)
    t = threading.Thread(
        target=lambda: n.train(X, Y, epochs=30, batch_size=1, seed=g, learning_rate=1e-4)
    )
    t.start()
    time.sleep(0.3)
    held = not g.bit_generator.lock.acquire(blocking=False)
    if not held:
        g.bit_generator.lock.release()
    alive = t.is_alive()
    t.join()
    assert held or not alive, "the kernel drew from the Generator without holding its lock"


@case("interruption")
def ctrl_c_classification_history():
    X, y = classes3(n=300)
    n = net((3, 32, 3), loss="cross_entropy")
    assert expect_interrupt(lambda: n.train(X, y, epochs=10**6, batch_size=4, validation_split=0.2))
    consistent(n.history, validation=True, classify=True)


@case("interruption")
def ctrl_c_perceptron_fit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(2000, 5)), rng.integers(0, 2, 2000)
    p = nf().Perceptron(max_epochs=10**12, shuffle=True, seed=0)
    assert expect_interrupt(lambda: p.fit(X, y))
    assert p.n_iter_ == len(p.errors_) == len(p.boundary_lines_) > 0
    assert np.array_equal(p.boundary_lines_[-1], np.append(p.coef_, p.intercept_))


@case("interruption")
def ctrl_c_logistic_regression_fit():
    X, y = binary(n=2000, d=20)
    m = nf().LogisticRegression(max_epochs=10**9, batch_size=1, tol=0.0, n_iter_no_change=10**9)
    assert expect_interrupt(lambda: m.fit(X, y))
    if hasattr(m, "coef_"):
        assert m.n_iter_ == len(m.loss_curve_) and finite(m.predict_proba(X))


for _solver, _restarts in (("adam", 1), ("sgd", 1), ("adam", 3), ("lbfgs", 1), ("lbfgs", 3)):

    def _mlp_interrupted(_solver=_solver, _restarts=_restarts):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(3000, 20))
        y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
        m = mlp_classifier(
            hidden_layer_sizes=(200,),
            solver=_solver,
            max_iter=10**7,
            tol=0,
            n_iter_no_change=10**9,
            restarts=_restarts,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            expect_interrupt(lambda: m.fit(X, y), after=1.0)
        assert any("interrupted" in str(w.message) for w in caught)
        if hasattr(m, "coefs_"):
            assert m.n_iter_ <= len(m.history_.loss) and finite(m.predict_proba(X))
            assert m.history_.interrupted

    add("interruption", f"ctrl-c-mlp-{_solver}-restarts-{_restarts}", _mlp_interrupted)


@case("interruption")
def ctrl_c_mlp_before_the_first_epoch_leaves_it_unfitted():
    X = np.random.default_rng(0).normal(size=(20000, 50))
    y = (X[:, 0] > 0).astype(int)
    m = mlp_classifier(hidden_layer_sizes=(300, 300), batch_size=200, max_iter=5)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        expect_interrupt(lambda: m.fit(X, y), after=0.3)
    assert hasattr(m, "coefs_") == (getattr(m, "n_iter_", 0) > 0)


@case("interruption")
def ctrl_c_prediction_on_large_data():
    n = nf().Network([200, 3000, 3000, 10], seed=0)
    X = np.random.default_rng(0).normal(size=(50000, 200))
    assert expect_interrupt(lambda: n.feedforward(X), within=5)


@case("interruption")
def ctrl_c_cli_train_keeps_the_epochs_done():
    regression_csv("d.csv", n=2000)
    interrupt_after(1.0)
    out, err = cli(
        "train",
        "d.csv",
        "--target",
        "y",
        "--epochs",
        "1000000",
        "--hidden",
        "256,256",
        "--print-every",
        "0",
        "--batch-size",
        "1",
    )
    assert "interrupted" in err and "rmse" in out


@case("interruption", raises=RuntimeError, names=r"another thread")
def one_estimator_fitted_from_two_threads():
    X, y = binary(n=4000, d=10)
    m = mlp_classifier(hidden_layer_sizes=(50,), max_iter=40)
    errors = []

    def run():
        try:
            m.fit(X, y)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.n_iter_ == len(m.loss_curve_) <= 40, (m.n_iter_, len(m.loss_curve_))
    if errors:
        raise errors[0]


@case("interruption", raises=RuntimeError, names=r"another thread")
def one_network_trained_from_two_threads():
    X, Y = regression(n=4000, d=10)
    n = net((10, 50, 1))
    errors = []

    def run():
        try:
            n.train(X, Y, epochs=30, batch_size=4)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@case("interruption", raises=RuntimeError, names=r"another thread")
def one_perceptron_fitted_from_two_threads():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5000, 5)), rng.integers(0, 2, 5000)
    p = nf().Perceptron(max_epochs=3000)
    errors = []

    def run():
        try:
            p.fit(X, y)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert p.n_iter_ == len(p.errors_)
    if errors:
        raise errors[0]


@case("interruption")
def shared_generator_in_two_threads():
    g = np.random.default_rng(0)
    X, Y = regression(n=2000, d=10)
    nets = [nf().Network([10, 30, 1], seed=g) for _ in range(2)]
    assert not np.array_equal(nets[0].parameters, nets[1].parameters)
    threads = [
        threading.Thread(
            target=lambda n=n: n.train(X, Y, epochs=20, batch_size=8, dropout=0.2, seed=g)
        )
        for n in nets
    ]
    for t in threads:
        t.start()
    for _ in range(200):  # and the caller draws meanwhile, taking the same lock
        g.random(100)
    for t in threads:
        t.join()
    assert all(finite(n.parameters) for n in nets)


@case("interruption")
def predictions_while_fitting_in_another_thread():
    X, y = classes3(n=3000)
    m = mlp_classifier(max_iter=5).fit(X, y)
    done = threading.Event()

    def refit():
        m.set_params(hidden_layer_sizes=(7, 3))
        m.fit(X, y)
        done.set()

    t = threading.Thread(target=refit)
    t.start()
    while not done.is_set():
        try:
            assert finite(m.predict_proba(X))
        except (ValueError, AttributeError):
            pass  # between two states: refused, never a crash
    t.join()


@case("interruption")
def concurrent_feedforward_is_consistent():
    n = net((3, 50, 4))
    X = np.random.default_rng(0).normal(size=(5000, 3))
    ref = n.feedforward(X)
    results = []
    threads = [threading.Thread(target=lambda: results.append(n.feedforward(X))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, ref) for r in results)


class _Assign:
    def __init__(self, make):
        self.make = make

    def on_epoch_end(self, epoch, history, network):
        if epoch == 1:
            value = self.make(network)
            if isinstance(value, tuple):
                network.weights[value[0]] = value[1]
            else:
                network.parameters = value
        return epoch >= 3


CALLBACK_ASSIGNMENTS = {
    "valid": (lambda n: np.zeros(n.spec.n_params), None, None),
    "float32": (lambda n: np.ones(n.spec.n_params, dtype=np.float32), None, None),
    "wrong-length": (lambda n: np.zeros(1), ValueError, r"parameters"),
    "nan": (lambda n: np.full(n.spec.n_params, np.nan), ValueError, r"parameters"),
    "weights-item": (lambda n: (0, np.ones_like(n.weights[0])), None, None),
    "weights-item-wrong-shape": (lambda n: (0, np.ones((1, 1))), ValueError, r"weights\[0\]"),
}

for _name, (_make, _errors, _names) in CALLBACK_ASSIGNMENTS.items():

    def _callback_case(_make=_make):
        X, Y = regression(n=30)
        n = net()
        h = n.train(X, Y, epochs=100, callbacks=[_Assign(_make)])
        assert h.epochs == 4 and finite(n.parameters)
        consistent(h)

    add("interruption", f"callback-assigns-parameters-{_name}", _callback_case, _errors, _names)


@case("interruption", raises=RuntimeError, names=r"another thread|being trained")
def callback_trains_the_same_network():
    class Nested(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            network.train(*regression(), epochs=1)

    net().train(*regression(), epochs=3, callbacks=[Nested()])


@case("interruption")
def callback_raising_leaves_consistent_history():
    class Boom(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            if epoch == 2:
                raise KeyError("boom")

    n = net()
    try:
        n.train(*regression(), epochs=10, callbacks=[Boom()], validation_split=0.25)
    except KeyError:
        pass
    consistent(n.history, validation=True)
    assert n.history.epochs == 3


@case("interruption")
def callback_reinitialises_the_network():
    class Again(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            network.initialize(seed=epoch)

    n = net()
    h = n.train(*regression(), epochs=5, callbacks=[Again()])
    assert h.epochs == 5 and finite(n.parameters)


# =================================================================================================
# command line
# =================================================================================================


def _cli_case(name, args, fragment=None, setup=None, check=None):
    """A CLI case: ``fragment`` given -> an error (exit 2) whose line contains it (regex);
    else success, and ``check(out, err)`` holds."""

    def fn():
        if setup:
            setup()
        out, err = cli(*args)
        if check:
            assert check(out, err), (out[-400:], err[-400:])

    add("cli", name, fn, CLIError if fragment else None, fragment)


def _big_column():
    rng = np.random.default_rng(0)
    write_csv(
        "big.csv",
        ["x", "big", "y"],
        [
            [f"{v:.3f}", "1e308" if i % 2 else "-1e308", int(v > 0)]
            for i, v in enumerate(rng.normal(size=60))
        ],
    )


def _ids():
    rng = np.random.default_rng(0)
    write_csv(
        "ids.csv",
        ["id", "name", "when", "x", "color", "y"],
        [
            [
                f"A{i:04d}",
                f"person{i}",
                f"2024-01-{i % 28 + 1:02d}",
                f"{v:.3f}",
                ["red", "blue"][i % 2],
                int(v > 0),
            ]
            for i, v in enumerate(rng.normal(size=80))
        ],
    )


_cli_case("epochs-1e12", ["train", "--epochs", 10**12], r"--epochs.*(memory|bytes)")
_cli_case("epochs-1e30", ["train", "--epochs", 10**30], r"--epochs")
_cli_case("hidden-1e9", ["train", "--hidden", 10**9], r"--hidden.*(memory|bytes)")
_cli_case("hidden-two-1e5", ["train", "--hidden", "100000,100000"], r"--hidden")
_cli_case("hidden-zero", ["train", "--hidden", "0"], r"--hidden")
_cli_case("hidden-text", ["train", "--hidden", "big"], r"--hidden")
_cli_case("epochs-zero", ["train", "--epochs", "0"], r"--epochs")
_cli_case("learning-rate-nan", ["train", "--learning-rate", "nan"], r"--learning-rate")
_cli_case("dropout-one", ["train", "--dropout", "1"], r"--dropout")
_cli_case("test-size-all-rows", ["train", "--test-size", "400"], r"test-size|training rows")
_cli_case(
    "column-of-1e308", ["train", "big.csv", "--target", "y"], r"'big'.*too large", setup=_big_column
)
_cli_case(
    "target-of-1e308-regression",
    ["train", "big.csv", "--target", "big", "--task", "regression"],
    r"'big'.*too large",
    setup=_big_column,
)
_cli_case(
    "id-and-date-columns-dropped-with-a-warning",
    ["train", "ids.csv", "--target", "y", "--epochs", "3", "--print-every", "0"],
    setup=_ids,
    check=lambda out, err: (
        all(f"'{c}'" in err for c in ("id", "name", "when"))
        and "features: x, color (one-hot, 2 values)" in out
    ),
)
_cli_case(
    "features-selects",
    ["train", "ids.csv", "--target", "y", "--epochs", "2", "--features", "x", "--print-every", "0"],
    setup=_ids,
    check=lambda out, err: "features: x\n" in out,
)
_cli_case(
    "drop-removes",
    [
        "train",
        "ids.csv",
        "--target",
        "y",
        "--epochs",
        "2",
        "--drop",
        "color,id,name,when",
        "--print-every",
        "0",
    ],
    setup=_ids,
    check=lambda out, err: "features: x\n" in out and "warning" not in err,
)
_cli_case(
    "categorical-keeps-an-id",
    [
        "train",
        "ids.csv",
        "--target",
        "y",
        "--epochs",
        "2",
        "--features",
        "x,name",
        "--categorical",
        "name",
        "--print-every",
        "0",
    ],
    setup=_ids,
    check=lambda out, err: "name (one-hot, 80 values)" in out,
)
_cli_case(
    "features-unknown",
    ["train", "ids.csv", "--target", "y", "--features", "zz"],
    r"'zz'",
    setup=_ids,
)
_cli_case(
    "features-and-drop",
    ["train", "ids.csv", "--target", "y", "--features", "x", "--drop", "id"],
    r"--features.*--drop",
    setup=_ids,
)
_cli_case(
    "drop-the-target",
    ["train", "ids.csv", "--target", "y", "--drop", "y"],
    r"target.*--drop|--drop.*target",
    setup=_ids,
)
_cli_case(
    "bundled-rank-is-a-number",
    ["train", "--epochs", "2", "--print-every", "0"],
    check=lambda out, err: "features: gre, gpa, rank\n" in out,
)
_cli_case(
    "bundled-file-given-the-same",
    ["train", "student.csv", "--target", "admit", "--epochs", "2", "--print-every", "0"],
    setup=lambda: __import__("shutil").copy(
        __import__("nnfast").__path__[0] + "/data/student_data.csv", "student.csv"
    ),
    check=lambda out, err: "features: gre, gpa, rank\n" in out,
)
_cli_case("missing-data-file", ["train", "nope.csv", "--target", "y"], r"nope\.csv")
_cli_case("data-is-a-directory", ["train", ".", "--target", "y"], r"directory")
_cli_case(
    "binary-data-file",
    ["train", "bin.csv", "--target", "y"],
    r"bin\.csv",
    setup=lambda: open("bin.csv", "wb").write(os.urandom(2000)),
)
_cli_case(
    "empty-data-file",
    ["train", "e.csv", "--target", "y"],
    r"e\.csv",
    setup=lambda: open("e.csv", "w").close(),
)
_cli_case(
    "header-only",
    ["train", "h.csv", "--target", "y"],
    r"h\.csv",
    setup=lambda: open("h.csv", "w").write("x,y\n"),
)
_cli_case(
    "ragged-rows",
    ["train", "r.csv", "--target", "y"],
    r"r\.csv line 3",
    setup=lambda: open("r.csv", "w").write("x,y\n1,2\n3\n"),
)
_cli_case(
    "nul-byte",
    ["train", "n.csv", "--target", "y"],
    r"n\.csv",
    setup=lambda: open("n.csv", "w").write("x,y\n1,2\n3\0,4\n"),
)
_cli_case(
    "huge-field",
    ["train", "f.csv", "--target", "y"],
    r"f\.csv",
    setup=lambda: open("f.csv", "w").write("x,y\n" + "9" * 200000 + ",1\n"),
)
_cli_case(
    "unknown-target",
    ["train", "d.csv", "--target", "cost"],
    r"'cost'",
    setup=lambda: regression_csv("d.csv"),
)
_cli_case(
    "constant-target",
    ["train", "c.csv", "--target", "y"],
    r"'y'.*single value",
    setup=lambda: write_csv("c.csv", ["x", "y"], [[i, "a"] for i in range(20)]),
)
_cli_case(
    "missing-number",
    ["train", "m.csv", "--target", "y"],
    r"'x'.*m\.csv line 3",
    setup=lambda: write_csv(
        "m.csv", ["x", "y"], [[1, 0], ["NA", 1]] + [[i, i % 2] for i in range(9)]
    ),
)
_cli_case(
    "save-to-a-fifo",
    ["train", "--save", "p.npz", "--epochs", "1"],
    r"p\.npz",
    setup=lambda: os.mkfifo("p.npz"),
)


@case("cli")
def save_to_a_device_node_from_the_cli():
    path = device_node()
    if path is None:
        return
    with guard(path):
        try:
            cli("train", "--save", path, "--epochs", "1")
        except CLIError as exc:
            assert "null" in str(exc), str(exc)
        else:
            raise AssertionError("nnfast train --save wrote over a device node")


_cli_case("save-to-a-directory", ["train", "--save", ".", "--epochs", "1"], r"directory")
_cli_case(
    "save-to-a-missing-folder", ["train", "--save", "no/m.npz", "--epochs", "1"], r"no/m\.npz"
)
_cli_case(
    "plot-to-a-fifo",
    ["train", "--plot", "p.png", "--epochs", "1"],
    r"p\.png",
    setup=lambda: os.mkfifo("p.png"),
)
_cli_case(
    "diverging",
    ["train", "--learning-rate", "1e300", "--optimizer", "sgd", "--print-every", "0"],
    r"diverged.*--learning-rate",
)
_cli_case(
    "batch-size-huge",
    ["train", "--batch-size", 10**20, "--epochs", "2", "--print-every", "0"],
    check=lambda out, err: "test " in out,
)
_cli_case(
    "seed-huge",
    ["train", "--seed", 10**30, "--epochs", "2", "--print-every", "0"],
    check=lambda out, err: "test " in out,
)
_cli_case(
    "predict-corrupt-model",
    ["predict", "bad.npz", "d.csv"],
    r"bad\.npz",
    setup=lambda: (regression_csv("d.csv"), open("bad.npz", "wb").write(os.urandom(300))),
)
_cli_case(
    "predict-missing-model",
    ["predict", "none.npz", "d.csv"],
    r"none\.npz",
    setup=lambda: regression_csv("d.csv"),
)
_cli_case(
    "predict-network-wrong-width",
    ["predict", "n.npz", "d.csv"],
    r"d\.csv|columns",
    setup=lambda: (regression_csv("d.csv"), nf().Network([2, 1]).save("n.npz")),
)
_cli_case(
    "predict-round-trip",
    ["predict", "m.npz", "d.csv"],
    setup=lambda: (
        regression_csv("d.csv"),
        cli("train", "d.csv", "--target", "y", "--epochs", "2", "--save", "m.npz"),
    ),
    check=lambda out, err: out.splitlines()[0] == "y" and len(out.splitlines()) == 61,
)
_cli_case("unknown-option", ["train", "--fast"], r"--fast")
_cli_case("no-command", [], r"command")


# --- the count (the suite's own test checks it) ---------------------------------------------------


def summary():
    counts = {}
    for c in CASES.values():
        counts[c.family] = counts.get(c.family, 0) + 1
    return counts


# =================================================================================================
# more of each family: the next things a determined user tries
# =================================================================================================

MORE_ARRAYS = {
    "sparse-X-with-nan-to-estimator": (
        lambda: mlp_classifier().fit(
            __import__("scipy.sparse", fromlist=["x"]).csr_matrix(np.diag([1.0, np.nan, 1, 1])),
            [0, 1, 0, 1],
        ),
        (TypeError, ValueError),
        r"\bX\b",
    ),
    "sparse-X-to-network": (
        lambda: net((4, 2, 1)).feedforward(
            __import__("scipy.sparse", fromlist=["x"]).csr_matrix(np.eye(4))
        ),
        (TypeError, ValueError),
        r"\bX\b",
    ),
    "generator-X": (
        lambda: net().feedforward(x for x in range(3)),
        (TypeError, ValueError),
        r"\bX\b",
    ),
    "string-X": (lambda: net().feedforward("abc"), (TypeError, ValueError), r"\bX\b"),
    "series-X-to-estimator": (
        lambda: mlp_regressor().fit(pandas().Series([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0]),
        ValueError,
        r"\bX\b",
    ),
    "validation-weights-negative": (
        lambda: net().train(
            np.ones((4, 3)),
            np.ones((4, 1)),
            epochs=1,
            validation_data=(np.ones((2, 3)), np.ones((2, 1)), [-1.0, 1.0]),
        ),
        ValueError,
        r"validation_data\[2\]",
    ),
    "partial-fit-without-classes": (
        lambda: mlp_classifier().partial_fit(np.ones((2, 3)), [0, 1]),
        ValueError,
        r"classes",
    ),
    "partial-fit-with-early-stopping": (
        lambda: mlp_classifier(early_stopping=True).partial_fit(
            np.ones((2, 3)), [0, 1], classes=[0, 1]
        ),
        ValueError,
        r"early_stopping",
    ),
    "warm-start-new-sizes": (
        lambda: (
            mlp_classifier(warm_start=True)
            .fit(*classes3())
            .set_params(hidden_layer_sizes=(9,))
            .fit(*classes3())
        ),
        ValueError,
        r"warm_start",
    ),
    "coef-init-wrong-shape": (
        lambda: nf().LogisticRegression().fit(*binary(), coef_init=np.zeros(5)),
        ValueError,
        r"coef_init",
    ),
    "from-weights-nan": (
        lambda: nf().Perceptron.from_weights([np.nan, 1.0], 0.0),
        ValueError,
        r"weights",
    ),
    "perceptron-classes-three": (
        lambda: setattr(fitted("perceptron")[0], "classes_", [0, 1, 2]),
        ValueError,
        r"classes_",
    ),
    "mlp-classes-replaced-then-predict": (
        lambda: (lambda m: (setattr(m, "classes_", np.array(["a"])), m.predict(np.ones((2, 3)))))(
            fitted("classifier")[0]
        ),
        ValueError,
        r"classes_",
    ),
    "logistic-classes-replaced-then-predict": (
        lambda: (lambda m: (setattr(m, "classes_", []), m.predict(np.ones((2, 2)))))(
            fitted("logistic")[0]
        ),
        ValueError,
        r"classes_",
    ),
    "scaler-1e308-column": (
        lambda: nf().StandardScaler().fit([[1e308, 1.0], [-1e308, 2.0], [1e308, 3.0]]),
        ValueError,
        r"X column 0",
    ),
    "scaler-inverse-before-fit": (
        lambda: nf().StandardScaler().inverse_transform([[1.0]]),
        RuntimeError,
        r"fit",
    ),
    "encoder-transform-before-fit": (
        lambda: nf().TableEncoder().transform(np.ones((2, 2))),
        (AttributeError, RuntimeError, ValueError),
        r"fit",
    ),
    "encoder-features-and-drop": (
        lambda: nf().TableEncoder(features=["x0"], drop=["x1"]).fit(np.ones((3, 2))),
        ValueError,
        r"features.*drop",
    ),
    "encoder-everything-dropped": (
        lambda: nf().TableEncoder().fit(np.array([[f"id{i}"] for i in range(30)], dtype=object)),
        ValueError,
        r"x0|feature columns",
    ),
    "encoder-text-column-with-a-missing-value": (
        lambda: nf().TableEncoder().fit(np.array([["a"], [None], ["b"], ["a"]], dtype=object)),
        ValueError,
        r"x0",
    ),
    "one-hot-zero-classes": (lambda: nf().one_hot([], n_classes=0), ValueError, r"n_classes"),
    "neuron-softmax": (
        lambda: nf().Neuron([1.0], 0.0, activation="softmax"),
        ValueError,
        r"softmax",
    ),
    "activation-lookup": (lambda: nf().activations.get("nope"), ValueError, r"activation"),
    "loss-lookup": (lambda: nf().losses.get("nope"), ValueError, r"loss"),
    "backend-unknown": (lambda: nf().set_backend("gpu"), ValueError, r"backend"),
}

for _name, (_call, _errors, _names) in MORE_ARRAYS.items():
    add("arrays", _name, lambda _call=_call: _call(), _errors, _names)


@case("arrays")
def table_encoder_dates_and_ids_dropped_in_python():
    pd = pandas()
    df = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(40)],
            "x": np.arange(40.0),
            "when": pd.date_range("2024-01-01", periods=40),
            "day": [f"2024-02-{i % 28 + 1:02d}" for i in range(40)],
            "color": ["red", "blue"] * 20,
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = nf().TableEncoder().fit(df)
    assert set(enc.dropped_) == {"id", "when", "day"}, enc.dropped_
    assert all(any(f"'{c}'" in str(w.message) for w in caught) for c in ("id", "when", "day"))
    out = enc.transform(df)
    assert out.shape == (40, 3) and finite(out)
    assert enc.get_feature_names_out().tolist() == ["x", "color=blue", "color=red"]


@case("arrays")
def table_encoder_is_cloneable_and_works_without_sklearn_imported():
    import sys

    enc = nf().TableEncoder(categorical=["x0"])
    assert enc.get_params() == {"categorical": ["x0"], "drop": (), "features": None}
    out = enc.fit_transform(np.array([[1.0, 2.0], [2.0, 3.0], [1.0, 4.0]]))
    assert out.shape == (3, 3)
    if "sklearn.base" in sys.modules:
        from sklearn.base import clone

        assert clone(enc).get_params() == enc.get_params()


@case("arrays")
def numpy_integer_hyperparameters_are_numbers():
    X, Y = regression(n=8)
    h = net((3, np.int64(4), 1)).train(
        X, Y, epochs=np.int64(2), batch_size=np.uint8(3), learning_rate=np.float32(0.1)
    )
    assert h.epochs == 2


MORE_HYPER = {
    "callbacks-single-object": (dict(callbacks=nf().Callback()), TypeError, r"callbacks"),
    "callbacks-string": (dict(callbacks="early"), TypeError, r"callbacks"),
    "seed-random-state": (dict(seed=np.random.RandomState(0)), TypeError, r"seed"),
    "schedule-plateau-needs-validation": (
        dict(lr_schedule=nf().schedules.ReduceOnPlateau(monitor="val_loss")),
        ValueError,
        r"val_loss|validation",
    ),
    "dropout-string": (dict(dropout="half"), TypeError, r"dropout"),
    "optimizer-class-not-instance": (dict(optimizer=nf().Adam), ValueError, r"optimizer"),
}

for _name, (_kw, _errors, _names) in MORE_HYPER.items():

    def _more_train(_kw=_kw):
        X, Y = regression(n=8)
        net().train(X, Y, **{"epochs": 2, **_kw})

    add("hyperparameters", f"train-{_name}", _more_train, _errors, _names)


@case("hyperparameters")
def callbacks_none_is_no_callbacks():
    X, Y = regression(n=8)
    assert net().train(X, Y, epochs=2, callbacks=None).epochs == 2


@case("hyperparameters")
def n_jobs_of_a_million_threads_is_capped():
    X, Y = regression(n=8)
    h = net().train(X, Y, epochs=1, restarts=300, n_jobs=10**6)
    ref = net().train(X, Y, epochs=1, restarts=300, n_jobs=1)
    assert h.restart_losses == ref.restart_losses


@case("hyperparameters", raises=ValueError, names=r"restarts")
def lbfgs_restarts_1e12():
    mlp_classifier(solver="lbfgs", restarts=10**12).fit(*binary())


@case("hyperparameters")
def lbfgs_restarts_are_deterministic():
    X, y = binary()
    a = mlp_classifier(solver="lbfgs", restarts=3, n_jobs=1).fit(X, y)
    b = mlp_classifier(solver="lbfgs", restarts=3, n_jobs=3).fit(X, y)
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


@case("hyperparameters")
def huge_max_iter_and_max_fun_for_lbfgs():
    m = mlp_classifier(solver="lbfgs", max_iter=10**20, max_fun=10**20).fit(*binary())
    assert m.n_iter_ >= 1


@case("hyperparameters")
def generator_seed_with_restarts():
    X, Y = regression(n=8)
    g = np.random.Generator(np.random.PCG64(3).jumped())
    h = net().train(X, Y, epochs=2, restarts=3, seed=g)
    assert len(h.restart_losses) == 3


@case("hyperparameters")
def pickled_and_copied_models_keep_working():
    import copy
    import pickle

    for kind in ("network", "perceptron", "logistic", "classifier"):
        model, X = fitted(kind)
        for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), copy.copy(model)):
            assert np.array_equal(predictions(other, X), predictions(model, X))
    n, X = fitted("network")
    other = pickle.loads(pickle.dumps(n))
    other.weights[0] = np.zeros_like(other.weights[0])
    assert not np.array_equal(other.feedforward(X), n.feedforward(X))


@case("files", raises=OSError, names=r"afile/m\.npz")
def save_under_a_file_as_if_it_were_a_folder():
    open("afile", "w").close()
    with guard("afile"):
        net().save("afile/m.npz")


@case("files", raises=OSError, names=r"x{300}")
def save_with_a_name_too_long():
    net().save("x" * 300 + ".npz")


@case("files")
def save_from_two_threads_to_one_path():
    models = [net((3, 5, 1)), net((3, 6, 1))]
    threads = [
        threading.Thread(target=lambda m=m: [m.save("same.npz") for _ in range(20)]) for m in models
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert nf().load("same.npz").layer_sizes in ([3, 5, 1], [3, 6, 1])
    assert os.listdir(".") == ["same.npz"], os.listdir(".")


@case("files")
def save_to_a_dangling_symlink_creates_its_target():
    os.symlink("target.npz", "dangling.npz")
    net().save("dangling.npz")
    assert os.path.islink("dangling.npz") and nf().load("target.npz")


@case("files", raises=ValueError, names=r"fake\.npz")
def load_a_zip_of_directories():
    with zipfile.ZipFile("fake.npz", "w") as z:
        z.writestr("header.npy/", b"")
    nf().load("fake.npz")


@case("files", raises=ValueError, names=r"sizes\.npz")
def load_header_with_giant_integer_sizes():
    _write_npz("sizes.npz", _network_header(layer_sizes=[3, 10**400, 1]), parameters=np.zeros(26))
    nf().load("sizes.npz")


@case("files", raises=ValueError, names=r"pf\.npz")
def load_perceptron_header_claiming_a_billion_passes():
    p, _ = fitted("perceptron")
    p.save("pf.npz")
    with np.load("pf.npz") as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop("header").tobytes())
    header["n_iter"] = 10**9
    _write_npz("pf.npz", header, **arrays)
    nf().load("pf.npz")


@case("files", raises=ValueError, names=r"opt\.npz")
def load_estimator_with_a_broken_optimizer_state():
    m, _ = fitted("classifier")
    m.save("opt.npz")
    with np.load("opt.npz") as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(arrays.pop("header").tobytes())
    header["optimizer"] = {"solver": "adam", "learning_rate": 0.1, "step": "nope"}
    _write_npz("opt.npz", header, **arrays)
    nf().load("opt.npz")


@case("interruption")
def ctrl_c_during_save_keeps_the_old_file():
    import nnfast.io as nio

    _model_file("keep.npz")
    before = open("keep.npz", "rb").read()
    big = nf().Network([2000, 3000, 10], seed=0)
    original = np.savez

    def slow(*args, **kwargs):
        time.sleep(2.0)
        return original(*args, **kwargs)

    nio.np.savez = slow
    try:
        expect_interrupt(lambda: big.save("keep.npz"), after=0.5)
    finally:
        nio.np.savez = original
    assert open("keep.npz", "rb").read() == before and os.listdir(".") == ["keep.npz"]


@case("interruption")
def ctrl_c_mlp_partial_fit_keeps_the_model():
    X = np.random.default_rng(0).normal(size=(20000, 50))
    y = (X[:, 0] > 0).astype(int)
    m = mlp_classifier(hidden_layer_sizes=(300,), batch_size=1)
    m.partial_fit(X[:100], y[:100], classes=[0, 1])
    assert expect_interrupt(lambda: [m.partial_fit(X, y) for _ in range(1000)], after=0.5), (
        "the loop of partial_fit calls went on after Ctrl-C"
    )
    assert m.n_iter_ in (0, 1) and len(m.loss_curve_) >= 1 and finite(m.predict_proba(X[:10]))


@case("interruption")
def threads_assign_weights_while_training():
    X, Y = regression(n=2000, d=10)
    n = net((10, 40, 1))
    stop = threading.Event()

    def poke():
        while not stop.is_set():
            n.weights[0] = np.zeros((10, 40))
            n.parameters = n.parameters * 0.5

    t = threading.Thread(target=poke)
    t.start()
    try:
        n.train(X, Y, epochs=20, batch_size=4, learning_rate=1e-3)
    finally:
        stop.set()
        t.join()
    assert finite(n.parameters) and len(n.parameters) == n.spec.n_params


MORE_CLI = [
    (
        "too-many-classes",
        ["train", "t.csv", "--target", "id"],
        r"'id'.*classes",
        lambda: write_csv("t.csv", ["id", "x"], [[f"u{i}", i] for i in range(60)]),
        None,
    ),
    (
        "two-rows",
        ["train", "two.csv", "--target", "y", "--epochs", "2", "--print-every", "0"],
        None,
        lambda: write_csv("two.csv", ["x", "y"], [[1, 0], [2, 1], [3, 0], [4, 1]]),
        lambda out, err: "test " in out,
    ),
    (
        "predict-text-in-a-number-column",
        ["predict", "m.npz", "p.csv"],
        r"'x1'",
        lambda: (
            regression_csv("d.csv"),
            cli("train", "d.csv", "--target", "y", "--epochs", "2", "--save", "m.npz"),
            write_csv("p.csv", ["x1", "color", "x2"], [["oops", "red", 1.0]]),
        ),
        None,
    ),
    (
        "predict-with-an-estimator-file",
        ["predict", "e.npz", "e.csv"],
        None,
        lambda: (
            fitted("logistic")[0].save("e.npz"),
            write_csv("e.csv", ["a", "b"], [[0.5, 1.0], [-1.0, 0.2]]),
        ),
        lambda out, err: len(out.splitlines()) == 3,
    ),
    (
        "predict-with-an-unfitted-estimator",
        ["predict", "u.npz", "e.csv"],
        r"fit",
        lambda: (mlp_classifier().save("u.npz"), write_csv("e.csv", ["a", "b"], [[0.5, 1.0]])),
        None,
    ),
    (
        "features-all-dates",
        ["train", "ids.csv", "--target", "y", "--features", "when"],
        r"no feature columns|when",
        _ids,
        None,
    ),
    (
        "test-size-one-row",
        ["train", "--test-size", "1", "--epochs", "2", "--print-every", "0"],
        None,
        None,
        lambda out, err: "399 train, 1 test" in out,
    ),
    (
        "huge-csv-refused",
        ["train", "huge.csv", "--target", "y"],
        r"huge\.csv",
        lambda: _sparse_file("huge.csv"),
        None,
    ),
    ("bench-bad-workload", ["bench", "--workload", "W99"], r"W99|workload", None, None),
    (
        "categorical-target-regression",
        ["train", "d.csv", "--target", "color", "--task", "regression"],
        r"'color'",
        lambda: regression_csv("d.csv"),
        None,
    ),
]


def _sparse_file(name):
    """A file whose size (not its content) is far beyond memory: a sparse file."""
    from nnfast._validation import memory_limit

    with open(name, "w") as f:
        f.write("x,y\n1,2\n")
        f.truncate((memory_limit() or 2**40) * 4)


for _name, _args, _fragment, _setup, _check in MORE_CLI:
    _cli_case(_name, _args, _fragment, setup=_setup, check=_check)


@case("arrays", raises=ValueError, names=r"\by\b.*samples")
def multilabel_with_more_classes_than_samples():
    mlp_classifier().fit(np.ones((2, 3)), np.eye(2, 50, dtype=int))


@case("arrays")
def partial_fit_may_name_more_classes_than_its_first_batch():
    m = mlp_classifier().partial_fit(np.ones((2, 3)), [0, 1], classes=np.arange(10))
    assert m.classes_.size == 10 and m.predict_proba(np.ones((1, 3))).shape == (1, 10)


@case("arrays", raises=ValueError, names=r"\by\b.*(memory|bytes)")
def mlp_with_a_million_classes_refused_by_memory():
    mlp_classifier().fit(np.zeros((10**6, 1)), np.arange(10**6))


def pretend_memory(nbytes):
    """Make nnfast believe the machine has ``nbytes`` of memory (in this forked case only)."""
    import nnfast._run as r
    import nnfast._validation as v
    import nnfast._validation.resources as vr
    import nnfast.perceptron as p
    import nnfast.training as t

    v.memory_limit = vr.memory_limit = p.memory_limit = t.memory_limit = r.memory_limit = lambda: (
        nbytes
    )


@case("numerics")
def perceptron_unending_passes_stop_before_memory_runs_out():
    pretend_memory(8 * 2**20)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = nf().Perceptron(max_epochs=10**30).fit(X, y)
    assert any("would not fit in memory" in str(w.message) for w in caught)
    assert 0 < p.n_iter_ == len(p.errors_) == len(p.boundary_lines_)


@case("numerics")
def training_a_callback_never_stops_ends_before_memory_runs_out():
    pretend_memory(8 * 2**20)

    class Never(nf().Callback):
        def on_epoch_end(self, epoch, history, network):
            return False

    X, Y = regression(n=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = net().train(X, Y, epochs=10**12, callbacks=[Never()], batch_size=4)
    assert any("would not fit in memory" in str(w.message) for w in caught)
    assert 0 < h.epochs < 10**6
    consistent(h)


@case("numerics", raises=TypeError, names=r"network_")
def mlp_network_replaced_by_none():
    m, X = fitted("classifier")
    m.network_ = None
    m.predict(X)


@case("numerics", raises=TypeError, names=r"network_")
def logistic_network_replaced_by_a_dict():
    m, X = fitted("logistic")
    m.network_ = {}
    m.predict_proba(X)
