"""Fuzzing the public API with hypothesis: no crash, and both backends agree.

Random networks get random inputs: shapes (including empty and the wrong ones), dtypes
(float16/32/64, ints, bool, complex, object, strings), layouts (Fortran, strided views,
transposes, read-only, lists) and values (NaN, inf, huge, tiny, subnormal, -0.0), through
Network construction, feedforward, loss, gradients and train with random options, and
through Perceptron and LogisticRegression. What may come out:

- a result, the same on the Cython and NumPy backends (to rounding) for the same input;
- a ValueError or TypeError with a message (input validation), identical on both backends;
- a divergence RuntimeWarning, or FloatingPointError with on_divergence="raise";

and never anything else: no other exception, no crash, no non-finite weights after train.

Examples per test: ``NNFAST_FUZZ_EXAMPLES`` (default 20, derandomized so CI is stable;
more, e.g. ``NNFAST_FUZZ_EXAMPLES=2000``, is a random search, as is
``NNFAST_FUZZ_RANDOM=1``). The same tests run under AddressSanitizer (tools/asan/run.sh).
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nnfast
from nnfast import _backend

DEFAULT_EXAMPLES = 20
EXAMPLES = int(os.environ.get("NNFAST_FUZZ_EXAMPLES", "").strip() or DEFAULT_EXAMPLES)
# The short default run draws the same examples every time (stable CI); longer runs, or
# NNFAST_FUZZ_RANDOM=1, explore new ones.
DERANDOMIZE = EXAMPLES <= DEFAULT_EXAMPLES and not os.environ.get("NNFAST_FUZZ_RANDOM")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

BACKENDS = ("cython", "numpy")
HIDDEN = (
    "sigmoid",
    "tanh",
    "relu",
    "identity",
    "step",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "silu",
)
SMOOTH = ("sigmoid", "tanh", "identity")
OUTPUT_LOSS = (
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    ("identity", "mae"),
    ("identity", "huber"),
    ("exp", "poisson"),
)
SPECIALS = (np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 5e-324, -0.0, 0.0, 1e150, 3.0)
ALLOWED_WARNINGS = (
    "diverged",
    "overflow encountered",
    "invalid value encountered",
    "divide by zero encountered",
    "underflow encountered",
    "overflowed to infinity",  # Network's own warning: an exp (Poisson) output past 1e308
)


def backends():
    if _backend._kernels is None:
        if os.environ.get("NNFAST_REQUIRE_CYTHON", "").strip() == "1":
            pytest.fail("NNFAST_REQUIRE_CYTHON=1 but nnfast._kernels is not importable")
        return ("numpy",)
    return BACKENDS


# --- strategies -----------------------------------------------------------------------------


@st.composite
def networks(draw, valid=None):
    """(kwargs for Network, whether they are valid)."""
    if valid is None:
        valid = draw(st.integers(0, 4)) > 0
    n_hidden = draw(st.integers(0, 3))
    sizes = [draw(st.integers(1, 6)) for _ in range(n_hidden + 2)]
    hidden = draw(st.sampled_from(HIDDEN))
    activation = (
        hidden if draw(st.booleans()) else [draw(st.sampled_from(HIDDEN)) for _ in range(n_hidden)]
    )
    output, loss = draw(st.sampled_from(OUTPUT_LOSS))
    if output == "softmax":  # a softmax over one output is refused as unlearnable
        sizes[-1] = max(sizes[-1], 2)
    kwargs = dict(
        layer_sizes=sizes,
        activation=activation,
        output_activation=output,
        loss=loss,
        init=draw(st.sampled_from(["auto", "xavier", "he", "normal", "zeros"])),
        seed=draw(st.integers(0, 2**32)),
        batch_norm=draw(st.booleans()),
    )
    if not valid:
        key, bad = draw(
            st.sampled_from(
                [
                    ("batch_norm", "yes"),
                    ("layer_sizes", [3]),
                    ("layer_sizes", [2, 0, 1]),
                    ("layer_sizes", [2, -1]),
                    ("layer_sizes", [2.5, 1]),
                    ("layer_sizes", [True, 2]),
                    ("layer_sizes", "22"),
                    ("layer_sizes", None),
                    ("layer_sizes", [2, np.nan]),
                    ("activation", "mish"),
                    ("activation", "softmax"),
                    ("activation", 3),
                    ("activation", ["relu"] * 9),
                    ("output_activation", "selu"),
                    ("loss", "hinge"),
                    ("loss", None),
                    ("init", "orthogonal"),
                    ("seed", -1),
                    ("seed", "x"),
                    ("seed", 1.5),
                ]
            )
        )
        kwargs[key] = bad
    return kwargs


@st.composite
def arrays(draw, shape):
    """Any array-like of the given (or a nearby, wrong) shape, dtype, layout and values."""
    if draw(st.integers(0, 9)) == 0:  # a wrong shape or dimension count
        shape = draw(
            st.sampled_from(
                [
                    (),
                    (0,),
                    (0, shape[-1]),
                    (shape[0], 0),
                    shape + (1,),
                    (shape[0] + 1,) + shape[1:],
                    shape[:-1] + (shape[-1] + 2,),
                ]
            )
        )
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    scale = draw(st.sampled_from([1.0, 1.0, 1.0, 1e-300, 1e100, 1e300]))
    values = np.asarray(rng.normal(size=shape) * scale)
    if values.size and draw(st.integers(0, 3)) == 0:
        flat = values.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from(SPECIALS))
    kind = draw(
        st.sampled_from(
            ["float64"] * 6
            + [
                "float32",
                "float16",
                "int64",
                "int8",
                "uint8",
                "bool",
                "complex",
                "object",
                "object-mixed",
                "str",
                "list",
            ]
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind in ("int64", "int8", "uint8"):
            arr = np.nan_to_num(np.clip(values, -100, 100)).round().astype(kind)
        elif kind == "bool":
            arr = values > 0
        elif kind == "complex":
            arr = values + 1j * draw(st.sampled_from([0.0, 1.0]))
        elif kind == "object":
            arr = values.astype(object)
        elif kind == "object-mixed":
            arr = values.astype(object)
            if arr.size:
                arr.reshape(-1)[0] = draw(st.sampled_from([None, "1.0", [1.0], {}]))
        elif kind == "str":
            arr = values.astype(str)
        elif kind == "list":
            return values.tolist()
        else:
            arr = values.astype(kind)
    arr = np.asarray(arr)  # 0-d results of the conversions above are scalars
    layout = draw(
        st.sampled_from(["C", "C", "F", "strided", "transposed", "readonly", "negative-stride"])
    )
    if arr.ndim == 2 and layout == "F":
        arr = np.asfortranarray(arr)
    elif arr.ndim >= 1 and layout == "strided":
        big = np.zeros(tuple(2 * s + 1 for s in arr.shape), dtype=arr.dtype)
        view = big[tuple(slice(1, None, 2) for _ in arr.shape)]
        view[...] = arr
        arr = view
    elif arr.ndim == 2 and layout == "transposed":
        arr = np.ascontiguousarray(arr.T).T
    elif arr.ndim >= 1 and layout == "negative-stride":
        arr = np.ascontiguousarray(arr[::-1])[::-1]
    elif layout == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def targets(draw, kwargs, n):
    k = kwargs["layer_sizes"][-1]
    if kwargs["loss"] == "cross_entropy" and draw(st.booleans()):
        labels = draw(
            st.lists(st.integers(0, k + (draw(st.integers(0, 5)) == 0)), min_size=n, max_size=n)
        )
        return np.array(labels)
    Y = draw(arrays((n, k)))
    if isinstance(Y, np.ndarray) and Y.dtype.kind == "f" and kwargs["loss"] != "mse":
        with np.errstate(all="ignore"):
            Y = 1.0 / (1.0 + np.exp(-np.nan_to_num(Y, nan=0.5)))  # probabilities, mostly
    return Y


@st.composite
def train_options(draw, n_hidden):
    options = {}
    choices = {
        "epochs": [0, 1, 2, 3, -1, 1.5, "2"],
        "learning_rate": [1e-3, 0.1, 1.0, 1e3, 1e300, 0.0, -0.1, float("nan"), float("inf"), "0.1"],
        "batch_size": [1, 2, 3, 7, None, 10**9, 0, -2, 2.5],
        "shuffle": [True, False],
        "optimizer": [
            "sgd",
            "adam",
            nnfast.SGD(momentum=0.9),
            nnfast.SGD(momentum=0.5, nesterov=True),
            nnfast.Adam(beta_1=0.5),
            "rmsprop",
            None,
        ],
        "l1": [0.0, 1e-3, 1.0, -1.0, float("nan")],
        "l2": [0.0, 1e-3, 1.0, -1.0],
        "dropout": [0.0, 0.5, 0.99, 1.0, -0.1, [0.1] * n_hidden, [0.1] * (n_hidden + 1)],
        "validation_split": [0.0, 0.3, 0.99, 1.0, -0.5],
        "early_stopping": [None, True, nnfast.EarlyStopping(patience=1), "yes"],
        "on_divergence": ["warn", "raise", "ignore"],
        "lr_schedule": [
            None,
            nnfast.schedules.ExponentialDecay(0.5, 2),
            nnfast.schedules.InverseTimeDecay(1.0, 1, per="epoch"),
            nnfast.schedules.StepDecay(drop=0.5, every=1),
        ],
        "restarts": [1, 1, 2, 0],
        "seed": [0, 1, 2**40, -1, np.random.default_rng(3)],
    }
    for name, values in choices.items():
        if draw(st.integers(0, 2)) == 0:
            options[name] = draw(st.sampled_from(values))
    return options


# --- running on both backends ---------------------------------------------------------------


class Outcome:
    """What one call did: its value, or the exception it raised, and the warnings."""

    def __init__(self, fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn"):
                try:
                    self.value, self.error = fn(), None
                except Exception as exc:  # noqa: BLE001 - classified by check()
                    self.value, self.error = None, exc
        self.warnings = [(w.category, str(w.message)) for w in caught]

    def check(self, may_raise_fpe=False):
        if self.error is not None:
            allowed = (ValueError, TypeError) + ((FloatingPointError,) if may_raise_fpe else ())
            assert isinstance(self.error, allowed), f"{type(self.error).__name__}: {self.error}"
            assert type(self.error) not in (FloatingPointError,) or "diverged" in str(self.error)
            assert str(self.error).strip(), f"{type(self.error).__name__} without a message"
        for category, message in self.warnings:
            if category.__name__ == "DataConversionWarning":  # scikit-learn's, for y of (n, 1)
                continue
            assert issubclass(category, RuntimeWarning), (category, message)
            assert any(text in message for text in ALLOWED_WARNINGS), message
        return self


def on_backends(fn):
    """{backend: Outcome of fn()}: each backend starts from its own copy of the state fn
    builds (fn must create everything it mutates)."""
    outcomes = {}
    for name in backends():
        with nnfast.use_backend(name):
            outcomes[name] = Outcome(fn)
    return outcomes


def same_errors(outcomes):
    """Every backend raised the same error or none did; returns whether they raised."""
    errors = {
        name: (type(o.error), str(o.error)) if o.error else None for name, o in outcomes.items()
    }
    assert len(set(errors.values())) == 1, errors
    return next(iter(errors.values())) is not None


def close(a, b, rtol):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    finite = np.isfinite(a) & np.isfinite(b)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    np.testing.assert_allclose(
        a[finite], b[finite], rtol=rtol, atol=rtol * max(1.0, np.abs(b[finite]).max(initial=0.0))
    )


def moderate(*arrays_):
    """Inputs for which the backends must agree to rounding: finite, magnitudes < 1e6 and no
    values so tiny that subnormal rounding differs between BLAS and the fused loops."""
    for a in arrays_:
        try:
            v = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            return False
        if v.size and (
            not np.isfinite(v).all()
            or np.abs(v).max() > 1e6
            or ((v != 0) & (np.abs(v) < 1e-150)).any()
        ):
            return False
    return True


# --- the fuzz tests -------------------------------------------------------------------------


@FUZZ
@given(kwargs=networks(), data=st.data())
def test_network_construction_and_feedforward(kwargs, data):
    built = Outcome(lambda: nnfast.Network(**kwargs)).check()
    if built.error is not None:
        return
    n_in = kwargs["layer_sizes"][0]
    X = data.draw(arrays((data.draw(st.integers(1, 6)), n_in)), label="X")
    one = data.draw(st.booleans())
    if one and isinstance(X, np.ndarray) and X.ndim == 2 and len(X):
        X = X[0]

    def run():
        return nnfast.Network(**kwargs).feedforward(X)

    outcomes = {name: o.check() for name, o in on_backends(run).items()}
    if same_errors(outcomes):
        return
    for o in outcomes.values():
        assert o.value.dtype == np.float64
        assert o.value.ndim == np.ndim(X)
        assert o.value.shape[-1] == kwargs["layer_sizes"][-1]
        finite = o.value[np.isfinite(o.value)]
        if kwargs["output_activation"] in ("sigmoid", "softmax"):
            assert ((finite >= 0) & (finite <= 1)).all()
    if len(outcomes) == 2 and moderate(X):
        close(outcomes["cython"].value, outcomes["numpy"].value, 1e-9)


@FUZZ
@given(kwargs=networks(valid=True), data=st.data())
def test_loss_and_gradients(kwargs, data):
    n = data.draw(st.integers(1, 6))
    X = data.draw(arrays((n, kwargs["layer_sizes"][0])), label="X")
    Y = targets(data.draw, kwargs, n)

    def run():
        net = nnfast.Network(**kwargs)
        loss = net.loss(X, Y)
        dW, db = net.gradients(X, Y)
        return loss, dW, db

    outcomes = {name: o.check() for name, o in on_backends(run).items()}
    if same_errors(outcomes):
        return
    for o in outcomes.values():
        loss, dW, db = o.value
        assert isinstance(loss, float)
        assert not np.isnan(loss) or not moderate(X, Y)
        assert [w.shape for w in dW] == [
            (a, b) for a, b in zip(kwargs["layer_sizes"], kwargs["layer_sizes"][1:])
        ]
    smooth = all(a in SMOOTH for a in np.atleast_1d(kwargs["activation"]))
    if len(outcomes) == 2 and moderate(X, Y) and smooth:
        a, b = outcomes["cython"].value, outcomes["numpy"].value
        close(a[0], b[0], 1e-9)
        for ga, gb in zip(a[1] + a[2], b[1] + b[2]):
            close(ga, gb, 1e-8)


@FUZZ
@given(kwargs=networks(valid=True), data=st.data())
def test_train_with_random_options(kwargs, data):
    n = data.draw(st.integers(1, 8))
    X = data.draw(arrays((n, kwargs["layer_sizes"][0])), label="X")
    Y = targets(data.draw, kwargs, n)
    options = data.draw(train_options(len(kwargs["layer_sizes"]) - 2), label="options")
    seed = options.get("seed")
    if isinstance(seed, np.random.Generator):
        options["seed"] = 3  # a Generator is consumed: give each backend the same state

    def run():
        net = nnfast.Network(**kwargs)
        history = net.train(X, Y, **options)
        return net.parameters.copy(), history

    may_raise = options.get("on_divergence") == "raise"
    outcomes = {name: o.check(may_raise) for name, o in on_backends(run).items()}
    same_errors(outcomes) if not may_raise else None
    for o in outcomes.values():
        if o.error is None:
            params, history = o.value
            assert np.isfinite(params).all(), "train left non-finite weights"
            assert len(history.learning_rate) == history.epochs
    if len(outcomes) < 2 or any(o.error for o in outcomes.values()):
        return
    (pa, ha), (pb, hb) = outcomes["cython"].value, outcomes["numpy"].value
    smooth = all(a in SMOOTH for a in np.atleast_1d(kwargs["activation"]))
    calm = (
        options.get("learning_rate", 0.1) <= 1.0
        and moderate(X, Y)
        and smooth
        and kwargs["init"] != "normal"
        and not ha.stopped_epoch
        and not hb.stopped_epoch
        # batches of 2 rows: statistics so ill-conditioned that rounding is amplified
        and not kwargs["batch_norm"]
    )
    if calm:
        assert ha.epochs == hb.epochs
        close(pa, pb, 1e-6)
        close(ha.loss, hb.loss, 1e-6)


@FUZZ
@given(data=st.data(), model=st.sampled_from(["Perceptron", "LogisticRegression"]))
def test_classic_models(data, model):
    n, d = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 4))
    X = data.draw(arrays((n, d)), label="X")
    y = data.draw(
        st.one_of(
            st.lists(st.integers(0, 1), min_size=n, max_size=n).map(np.array),
            st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n).map(np.array),
            arrays((n,)),
        ),
        label="y",
    )
    X_new = data.draw(arrays((3, d)), label="X_new")
    make = getattr(nnfast, model)

    def run():
        m = (
            make(max_epochs=5, seed=0, shuffle=True)
            if model == "Perceptron"
            else make(max_epochs=5, seed=0, batch_size=2)
        )
        m.fit(X, y)
        return m.predict(X_new), m.decision_function(X_new)

    outcomes = {name: o.check() for name, o in on_backends(run).items()}
    same_errors(outcomes)
    if len(outcomes) == 2 and outcomes["numpy"].error is None and moderate(X, X_new):
        np.testing.assert_array_equal(outcomes["cython"].value[0], outcomes["numpy"].value[0])
        close(outcomes["cython"].value[1], outcomes["numpy"].value[1], 1e-9)


@FUZZ
@given(kwargs=networks(valid=True), data=st.data())
def test_kernels_on_both_paths_of_every_product(kwargs, data):
    """Valid input through the fused loops and through BLAS: the GEMM threshold moves to 0
    (every product is a dgemm, down to 1 x 1 x 1) or to infinity; batch sizes that do not
    divide n, larger than n, and 1 (the fused per-sample step). Parity with the reference
    and, under AddressSanitizer, every buffer access checked."""
    kernels = _backend._kernels
    if kernels is None:
        backends()
        pytest.skip("no compiled kernels")
    n = data.draw(st.integers(1, 40))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32)))
    X = rng.normal(size=(n, kwargs["layer_sizes"][0]))
    k = kwargs["layer_sizes"][-1]
    Y = (
        nnfast.one_hot(rng.integers(0, k, n), k)
        if kwargs["loss"] == "cross_entropy"
        else rng.random((n, k))
    )
    kwargs = dict(kwargs, activation=data.draw(st.sampled_from(SMOOTH + ("relu",))), init="auto")
    # batch normalisation: batches of at least 2 rows, and SGD (Adam's normalised steps turn
    # a pre-normalisation bias's rounding into whole steps, differently on each backend)
    norm = kwargs["batch_norm"] = kwargs["batch_norm"] and n >= 2
    options = dict(
        epochs=2,
        learning_rate=0.05,
        seed=1,
        batch_size=data.draw(st.sampled_from([2, 3, n, n + 5, None] + ([] if norm else [1]))),
        dropout=data.draw(st.sampled_from([0.0, 0.3])),
        optimizer=data.draw(
            st.sampled_from(["sgd", nnfast.SGD(momentum=0.9)] + ([] if norm else ["adam"]))
        ),
        l2=data.draw(st.sampled_from([0.0, 0.01])),
    )
    size = min(options["batch_size"] or n, n)
    assume(not norm or n % size != 1)
    threshold = data.draw(st.sampled_from([0, 1, 2**62]))
    saved = kernels.get_gemm_threshold()
    try:
        kernels.set_gemm_threshold(threshold)
        results = {}
        for name in BACKENDS:
            with nnfast.use_backend(name), warnings.catch_warnings():
                # a deep linear net with momentum may diverge: the same way on both backends
                warnings.simplefilter("ignore", RuntimeWarning)
                net = nnfast.Network(**kwargs)
                out = net.feedforward(X)
                loss = net.loss(X, Y)
                grads = net.gradients(X, Y)
                net.train(X, Y, **options)
                results[name] = (out, loss, grads[0] + grads[1], net.parameters.copy())
    finally:
        kernels.set_gemm_threshold(saved)
    (o1, l1, g1, p1), (o2, l2, g2, p2) = results["cython"], results["numpy"]
    close(o1, o2, 1e-10)
    close(l1, l2, 1e-10)
    for a, b in zip(g1, g2):
        close(a, b, 1e-8)
    close(p1, p2, 1e-6 if norm else 1e-7)
