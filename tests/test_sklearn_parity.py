"""scikit-learn's MLP training, re-derived without scikit-learn (bench/sklearn_reference.py),
against scikit-learn itself; and nnfast's estimators against scikit-learn
(bench/sklearn_parity.py's ``compare`` on its quick cases).

The re-derivation is the specification of what nnfast's estimators must compute for the
same ``random_state`` to give scikit-learn's model: these tests prove it, attribute by
attribute, to 1e-10 (it is bit for bit in practice), including the random draws (shuffles,
early-stopping split) and the conventions a kernel has to follow.
"""

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import nnfast

pytest.importorskip("sklearn", minversion="1.7")

BENCH = Path(__file__).resolve().parents[1] / "bench"
ATTRIBUTES = (
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "_no_improvement_count",
)


def load(name):
    path = BENCH / f"{name}.py"
    if not path.exists():
        pytest.skip(f"bench/{name}.py is not in this tree")
    key = f"nnfast_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="module")
def ref():
    return load("sklearn_reference")


@pytest.fixture(scope="module")
def parity():
    return load("sklearn_parity")


def assert_same_model(mine, theirs):
    for name in ATTRIBUTES:
        a, b = getattr(mine, name, "absent"), getattr(theirs, name, "absent")
        if isinstance(b, (float, list)) and b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, err_msg=name)
        else:
            assert a == b, name
    if hasattr(theirs, "_optimizer"):
        assert mine._optimizer.learning_rate == pytest.approx(
            theirs._optimizer.learning_rate, rel=1e-12, abs=0
        )
    assert len(mine.coefs_) == len(theirs.coefs_)
    for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def data(kind):
    from sklearn.datasets import load_breast_cancer, load_iris, load_linnerud

    rng = np.random.default_rng(0)
    if kind == "iris":
        X, y = load_iris(return_X_y=True)
    elif kind == "binary":
        X, y = load_breast_cancer(return_X_y=True)
        X, y = X[:200], y[:200]
    elif kind == "multilabel":
        X, y = load_iris(return_X_y=True)
        y = np.column_stack([y == 0, X[:, 0] > 5.8, y == 2]).astype(int)
    elif kind == "multioutput":
        X, y = load_linnerud(return_X_y=True)
        y = (y - y.mean(axis=0)) / y.std(axis=0)
    else:  # counts for loss="poisson"
        X = rng.uniform(-1, 1, (200, 3))
        y = rng.poisson(np.exp(X @ np.array([0.5, -0.3, 0.2]) + 1))
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def both(kind, make_params, X, y, train):
    """(re-derivation, scikit-learn) trained the same way: ``train(model)``."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    ref = load("sklearn_reference")
    sk_class = MLPRegressor if kind == "regressor" else MLPClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (train(ref.ReferenceMLP(kind, **make_params())), train(sk_class(**make_params())))


SETTINGS = [  # (data, estimator kind, parameters)
    ("iris", "classifier", {"solver": "sgd", "learning_rate_init": 0.1, "max_iter": 40}),
    (
        "iris",
        "classifier",
        {
            "solver": "sgd",
            "nesterovs_momentum": False,
            "max_iter": 40,
            "learning_rate": "invscaling",
            "learning_rate_init": 0.5,
        },
    ),
    (
        "iris",
        "classifier",
        {
            "solver": "sgd",
            "learning_rate": "adaptive",
            "tol": 0.05,
            "n_iter_no_change": 2,
            "learning_rate_init": 0.1,
            "max_iter": 300,
        },
    ),
    (
        "iris",
        "classifier",
        {
            "solver": "sgd",
            "momentum": 0.0,
            "shuffle": False,
            "batch_size": 16,
            "activation": "logistic",
            "max_iter": 30,
        },
    ),
    (
        "iris",
        "classifier",
        {
            "solver": "adam",
            "early_stopping": True,
            "max_iter": 60,
            "activation": "tanh",
            "learning_rate_init": 0.01,
        },
    ),
    (
        "binary",
        "classifier",
        {"solver": "adam", "early_stopping": True, "max_iter": 50, "validation_fraction": 0.2},
    ),
    ("binary", "classifier", {"solver": "lbfgs", "max_iter": 30, "alpha": 0.1}),
    (
        "multilabel",
        "classifier",
        {"solver": "adam", "early_stopping": True, "max_iter": 30, "batch_size": 7},
    ),
    ("multilabel", "classifier", {"solver": "lbfgs", "max_iter": 30}),
    (
        "multioutput",
        "regressor",
        {"solver": "sgd", "learning_rate_init": 0.01, "max_iter": 50, "batch_size": 4},
    ),
    ("multioutput", "regressor", {"solver": "lbfgs", "max_iter": 50}),
    (
        "multioutput",
        "regressor",
        {"solver": "adam", "early_stopping": True, "validation_fraction": 0.25, "max_iter": 50},
    ),
    (
        "counts",
        "regressor",
        {"loss": "poisson", "solver": "adam", "max_iter": 30, "learning_rate_init": 0.01},
    ),
    ("counts", "regressor", {"loss": "poisson", "solver": "lbfgs", "max_iter": 30}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize(
    "dataset,kind,params",
    SETTINGS,
    ids=[f"{d}-{p['solver']}-{i}" for i, (d, _, p) in enumerate(SETTINGS)],
)
def test_the_re_derivation_fits_scikit_learns_model(dataset, kind, params, weighted):
    X, y = data(dataset)
    w = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    mine, theirs = both(
        kind,
        lambda: {"hidden_layer_sizes": (6,), "random_state": 0, **params},
        X,
        y,
        lambda m: m.fit(X, y, sample_weight=w),
    )
    assert_same_model(mine, theirs)


@pytest.mark.parametrize("random_state", ["None", "RandomState", "int"])
def test_the_re_derivation_draws_from_the_same_random_state(random_state):
    X, y = data("iris")

    def params():
        state = {"None": None, "int": 7, "RandomState": np.random.RandomState(7)}[random_state]
        return {
            "hidden_layer_sizes": (5,),
            "solver": "sgd",
            "early_stopping": True,
            "max_iter": 20,
            "random_state": state,
        }

    def fit(model):
        np.random.seed(3)  # the global RandomState that random_state=None draws from
        return model.fit(X, y)

    assert_same_model(*both("classifier", params, X, y, fit))


@pytest.mark.parametrize(
    "extra",
    [
        {"early_stopping": True},
        {"learning_rate": "adaptive", "tol": 0.05, "n_iter_no_change": 2},
        {"learning_rate": "invscaling", "learning_rate_init": 0.3},
        {"solver": "adam"},
    ],
    ids=["early-stopping", "adaptive", "invscaling", "adam"],
)
def test_the_re_derivation_continues_like_scikit_learn_with_warm_start(extra):
    X, y = data("iris")

    def fit_three_times(model):
        for _ in range(3):
            model.fit(X, y)
        return model

    params = {
        "hidden_layer_sizes": (5,),
        "solver": "sgd",
        "max_iter": 15,
        "warm_start": True,
        "random_state": 2,
        **extra,
    }
    assert_same_model(*both("classifier", lambda: dict(params), X, y, fit_three_times))


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_re_derivation_continues_like_scikit_learn_with_partial_fit(solver):
    X, y = data("iris")
    order = np.random.default_rng(0).permutation(150)
    X, y = X[order], y[order]

    def chunks(model):
        for start in range(0, 150, 25):
            model.partial_fit(X[start : start + 40], y[start : start + 40], classes=[0, 1, 2])
        return model

    params = {
        "hidden_layer_sizes": (5,),
        "solver": solver,
        "random_state": 4,
        "learning_rate": "adaptive",
        "tol": 0.5,
        "n_iter_no_change": 1,
    }
    assert_same_model(*both("classifier", lambda: dict(params), X, y, chunks))


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_the_re_derivation_keeps_float32_as_scikit_learn_does(solver):
    """float32 X: the stochastic solvers compute and return float32; L-BFGS (SciPy's, in
    float64) returns float64 coefficients, so its forward passes run in float64 too."""
    X, y = data("iris")
    X = X.astype(np.float32)
    mine, theirs = both(
        "classifier",
        lambda: {"hidden_layer_sizes": (5,), "solver": solver, "max_iter": 20, "random_state": 0},
        X,
        y,
        lambda m: m.fit(X, y),
    )
    expected = np.float64 if solver == "lbfgs" else np.float32
    assert theirs.coefs_[0].dtype == mine.coefs_[0].dtype == expected
    assert_same_model(mine, theirs)


@pytest.mark.parametrize("n", [10, 11, 57, 150])
@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
@pytest.mark.parametrize("stratify", [None, "binary column", "classes"])
def test_split_rows_is_train_test_split(ref, n, fraction, stratify):
    from sklearn.model_selection import train_test_split

    strata = {
        None: None,
        "binary column": (np.arange(n) % 3 == 0).reshape(-1, 1),
        "classes": np.arange(n) % 3,
    }[stratify]
    try:
        train, test = train_test_split(
            np.arange(n), test_size=fraction, stratify=strata, random_state=np.random.RandomState(n)
        )
    except ValueError:  # e.g. fewer test rows than classes: the re-derivation refuses too
        with pytest.raises(ValueError):
            ref.split_rows(n, fraction, np.random.RandomState(n), strata)
        return
    mine = ref.split_rows(n, fraction, np.random.RandomState(n), strata)
    np.testing.assert_array_equal(mine[0], train)
    np.testing.assert_array_equal(mine[1], test)


def test_split_rows_refuses_a_class_of_one_as_scikit_learn_does(ref):
    from sklearn.model_selection import train_test_split

    y = np.array([[0], [0], [0], [1]], dtype=bool)
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['True'\]"):
        train_test_split(np.arange(4), test_size=0.5, stratify=y, random_state=0)
    with pytest.raises(ValueError, match=r"Classes with too few members are: \['True'\]"):
        ref.split_rows(4, 0.5, np.random.RandomState(0), y)


def test_scikit_learns_shuffle_is_an_in_place_shuffle_from_its_bit_generator(ref):
    """What lets a compiled loop draw scikit-learn's epoch orders itself: shuffling the order
    in place with ``Generator(random_state._bit_generator)`` (the algorithm nnfast's kernels
    reproduce) gives ``sklearn.utils.shuffle``'s orders and leaves the RandomState where
    scikit-learn leaves it."""
    from sklearn.utils import shuffle

    theirs, mine, kernel_like = (np.random.RandomState(3) for _ in range(3))
    a = b = np.arange(1797)
    c = np.arange(1797)
    generator = np.random.Generator(kernel_like._bit_generator)
    for _ in range(4):
        a = shuffle(a, random_state=theirs)
        b = ref.shuffled(b, mine)
        generator.shuffle(c)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert theirs.uniform() == mine.uniform() == kernel_like.uniform()


def test_squared_error_reports_the_mean_over_outputs_but_steps_on_their_sum(ref):
    """scikit-learn's multi-output squared error: the loss it reports (and hands L-BFGS) is
    averaged over the outputs, its gradient (output - y) is that of their sum. An
    implementation must reproduce both, not one consistent objective."""
    X, Y = data("multioutput")
    model = ref.ReferenceMLP(
        "regressor", hidden_layer_sizes=(4,), solver="lbfgs", max_iter=1, alpha=0.0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y)
    _, coef_grads, _ = model._backprop(X, Y, None)
    W, h = model.coefs_[0], 1e-6
    numeric = np.empty_like(W)
    for index in np.ndindex(*W.shape):
        saved = W[index]
        W[index] = saved + h
        up = model._backprop(X, Y, None)[0]
        W[index] = saved - h
        down = model._backprop(X, Y, None)[0]
        W[index] = saved
        numeric[index] = (up - down) / (2 * h)
    np.testing.assert_allclose(coef_grads[0], Y.shape[1] * numeric, rtol=1e-6, atol=1e-9)


# nnfast against scikit-learn. L-BFGS stopped at max_iter amplifies rounding: there the bound
# is 100 times the floor, the difference the re-derivation itself reaches from initial
# weights changed by one part in 10^15 (bench/sklearn_parity.py --sensitivity).
AT_THE_FLOOR = {"multioutput-lbfgs"}


@pytest.mark.parametrize(
    "name",
    [
        "iris-sgd-adaptive-early-stopping",
        "iris-adam-identity",
        "iris-lbfgs",
        "binary-sgd-nesterov",
        "multioutput-adam",
        "multioutput-lbfgs",
    ],
)
def test_nnfast_fits_scikit_learns_model(parity, name):
    case = parity.cases_named(name)[0]
    at_floor = name in AT_THE_FLOOR
    row = parity.compare(case, sensitivity=at_floor)
    assert row["errors"] == {}
    assert row["nnfast"]["n_iter_equal"]
    bound = max(1e-6, 100 * row["perturbed"]["coef_diff"]) if at_floor else 1e-6
    assert row["nnfast"]["coef_diff"] <= bound
    assert row["nnfast"]["loss"] == pytest.approx(
        row["sklearn"]["loss"], rel=1e-6 if not at_floor else 1e-1
    )


# MLPRegressor(loss="poisson"): scikit-learn 1.7+'s half Poisson deviance, exp output.
POISSON = [
    {"solver": "adam", "max_iter": 30, "learning_rate_init": 0.01},
    {"solver": "sgd", "max_iter": 30, "learning_rate_init": 0.01, "batch_size": 16},
    {"solver": "adam", "max_iter": 30, "early_stopping": True, "learning_rate_init": 0.01},
    {"solver": "lbfgs", "max_iter": 15},
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("params", POISSON, ids=[p["solver"] for p in POISSON])
def test_poisson_regressor_is_scikit_learns(params, weighted):
    from sklearn.neural_network import MLPRegressor

    X, y = data("counts")
    w = np.random.default_rng(1).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = [
            cls(loss="poisson", hidden_layer_sizes=(6,), random_state=0, **params).fit(
                X, y, sample_weight=w
            )
            for cls in (nnfast.MLPRegressor, MLPRegressor)
        ]
    mine, theirs = models
    assert mine.out_activation_ == theirs.out_activation_ == "exp"
    assert mine.n_iter_ == theirs.n_iter_
    assert mine.loss_ == pytest.approx(theirs.loss_, rel=1e-9)  # the deviance's constant too
    if params["solver"] != "lbfgs":
        np.testing.assert_allclose(mine.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    if params.get("early_stopping"):
        np.testing.assert_allclose(mine.validation_scores_, theirs.validation_scores_, rtol=1e-9)
    for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mine.predict(X), theirs.predict(X), rtol=1e-7)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_poisson_regressor_two_outputs_partial_fit_and_float32(backend):
    from sklearn.neural_network import MLPRegressor

    X, y = data("counts")
    Y = np.column_stack([y, y[::-1]])
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        mine = nnfast.MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), random_state=3)
        mine.set_params(backend=backend)
        theirs = MLPRegressor(loss="poisson", hidden_layer_sizes=(5,), random_state=3)
        for _ in range(3):
            mine.partial_fit(Xd, Y)
            theirs.partial_fit(Xd, Y)
        assert mine.coefs_[0].dtype == theirs.coefs_[0].dtype == dtype
        rtol = 1e-9 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(mine.loss_curve_, theirs.loss_curve_, rtol=rtol)
        np.testing.assert_allclose(mine.predict(Xd), theirs.predict(Xd), rtol=rtol * 10)
    # L-BFGS on the sum over the outputs (scikit-learn's scale of the objective and gtol)
    params = {"loss": "poisson", "hidden_layer_sizes": (5,), "random_state": 3}
    mine = nnfast.MLPRegressor(solver="lbfgs", max_iter=10, backend=backend, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine.fit(X, Y)
        theirs = MLPRegressor(solver="lbfgs", max_iter=10, **params).fit(X, Y)
    assert mine.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    np.testing.assert_allclose(mine.predict(X), theirs.predict(X), rtol=1e-7)


def test_poisson_regressor_refuses_negative_counts():
    X, y = data("counts")
    y = y.astype(float)
    y[7] = -1.0
    with pytest.raises(ValueError, match=r"y must be >= 0 for loss='poisson'"):
        nnfast.MLPRegressor(loss="poisson", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="loss must be one of"):
        nnfast.MLPRegressor(loss="gamma", max_iter=2).fit(X, y)
