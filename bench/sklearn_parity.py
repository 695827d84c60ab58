"""The same random_state, the same model? nnfast's MLP estimators against scikit-learn's.

    python bench/sklearn_parity.py                  # every case, 3 timed repeats each
    python bench/sklearn_parity.py --quick          # a few small cases, 1 repeat
    python bench/sklearn_parity.py --cases adam,lbfgs --reference
    python bench/sklearn_parity.py --json parity.json

Each case fits ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor`` and nnfast's
class of the same name with identical arguments (``random_state`` included) on a real data
set, and prints one markdown row: ``n_iter_`` of both and whether they are equal, the
largest relative difference of the coefficients, ``loss_`` of both, the median fit time of
both and the speed-up (scikit-learn's time / nnfast's). The coefficient difference is

    max over every array A of coefs_ + intercepts_:  max|A_nnfast - A_sklearn| / max|A_sklearn|

(the max norm of the difference relative to the max norm of scikit-learn's array, so a
near-zero entry cannot blow it up). ``--reference`` adds the same two numbers for
``bench/sklearn_reference.py``, scikit-learn's training loop re-derived in NumPy without
scikit-learn: it shows that the formulas nnfast is asked to implement are scikit-learn's
(it agrees to rounding, usually bit for bit). ``--sensitivity`` adds the difference that
the re-derivation reaches when its initial weights are changed by one part in 10^15: how
far rounding-level differences grow in that case, the floor under what an implementation
that rounds differently from scikit-learn can reach.

Data sets (``load_*``, bundled with scikit-learn, no download): digits (1797 x 64, 10
classes), iris (150 x 4, 3 classes), breast cancer (569 x 30, binary), a multilabel digits
variant (3 labels per image: even, >= 5, prime), diabetes (442 x 10, the target
standardised), linnerud (20 x 3, 3 outputs). Every X is standardised per column. With the
UCI bike-sharing ``day.csv`` (``--bike-dir``, else ``$NNFAST_BIKE_DIR``, else
``$NNFAST_DATA/bike-sharing``, where the data loaders look) also: 731 days x 11 features,
2 outputs (casual and registered riders, standardised) and the Poisson count ``cnt``;
without it those cases are skipped with a note.

A case is a data set, a protocol (``fit``; ``fit`` twice with ``warm_start``; ``partial_fit``
several times) and the estimator's arguments. ``compare(case)`` runs one and returns its
row as a dict: ``tests/test_sklearn_parity.py`` calls it on a small subset, without
pytest-benchmark.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import math
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _load_sibling(name):
    """A module from this folder, loaded by path (this script is not in a package)."""
    key = f"nnfast_bench_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


# --- data sets --------------------------------------------------------------------------------


def _standardise(X):
    X = np.asarray(X, dtype=np.float64)
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def bike_dir(directory=None):
    """Where ``day.csv`` is: ``directory``, else ``$NNFAST_BIKE_DIR``, else
    ``$NNFAST_DATA/bike-sharing`` (the data loaders' folder)."""
    if directory:
        return Path(directory)
    if os.environ.get("NNFAST_BIKE_DIR"):
        return Path(os.environ["NNFAST_BIKE_DIR"])
    return Path(os.environ.get("NNFAST_DATA", "data")) / "bike-sharing"


def _bike(directory, target):
    path = bike_dir(directory) / "day.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found (set --bike-dir, NNFAST_BIKE_DIR or NNFAST_DATA)"
        )
    table = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
    features = [
        "season",
        "yr",
        "mnth",
        "holiday",
        "weekday",
        "workingday",
        "weathersit",
        "temp",
        "atemp",
        "hum",
        "windspeed",
    ]
    X = _standardise(np.column_stack([table[f] for f in features]))
    if target == "counts":
        return X, table["cnt"].astype(np.float64)
    return X, _standardise(np.column_stack([table["casual"], table["registered"]]))


def load_dataset(name, bike=None):
    """(X, y) of a data set named in ``DATASETS``."""
    from sklearn import datasets

    if name.startswith("bike"):
        return _bike(bike, "counts" if name == "bike-counts" else "riders")
    if name == "digits-multilabel":
        X, y = datasets.load_digits(return_X_y=True)
        return _standardise(X), np.column_stack(
            [y % 2 == 0, y >= 5, np.isin(y, (2, 3, 5, 7))]
        ).astype(int)
    loader = {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "breast-cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
        "linnerud": datasets.load_linnerud,
    }[name]
    X, y = loader(return_X_y=True)
    if name in ("diabetes", "linnerud"):
        y = _standardise(y.reshape(len(y), -1))
        y = y.ravel() if y.shape[1] == 1 else y
    return _standardise(X), y


DATASETS = {  # name -> (estimator kind, what the target is)
    "digits": ("classifier", "10 classes"),
    "iris": ("classifier", "3 classes"),
    "breast-cancer": ("classifier", "binary"),
    "digits-multilabel": ("classifier", "3 labels"),
    "diabetes": ("regressor", "1 output"),
    "linnerud": ("regressor", "3 outputs"),
    "bike-riders": ("regressor", "2 outputs"),
    "bike-counts": ("regressor", "counts (Poisson)"),
}


# --- cases ------------------------------------------------------------------------------------


@dataclass
class Case:
    """One comparison: a data set, estimator arguments, sample weights or not, a protocol.

    ``protocol`` is "fit", "warm_start" (``fit`` twice with ``warm_start=True``) or
    "partial_fit" (``partial_fit`` ``partial_fits`` times). ``random_state`` given as
    ``("RandomState", seed)`` gives each estimator its own new ``RandomState(seed)``.
    """

    name: str
    dataset: str
    params: dict = field(default_factory=dict)
    sample_weight: bool = False
    protocol: str = "fit"
    partial_fits: int = 5
    dtype: str = "float64"

    def settings(self):
        shown = {k: v for k, v in self.params.items() if k != "random_state"}
        text = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        extras = []
        if self.sample_weight:
            extras.append("sample_weight")
        if self.protocol == "warm_start":
            extras.append("fit twice, warm_start")
        if self.protocol == "partial_fit":
            extras.append(f"partial_fit x{self.partial_fits}")
        if self.dtype != "float64":
            extras.append(f"X {self.dtype}")
        if self.params.get("random_state", 0) != 0:
            extras.append(f"random_state={self.params['random_state']!r}")
        return "; ".join([text] + extras) if extras else text


def _sgd(**kw):
    return {"solver": "sgd", "learning_rate_init": 0.01, **kw}


H = {"hidden_layer_sizes": (50,), "random_state": 0}
SMALL = {"hidden_layer_sizes": (10,), "random_state": 0}

CASES = [
    # solver='sgd': every schedule, without momentum, with plain and with Nesterov momentum
    Case("sgd-constant", "digits", {**H, **_sgd(momentum=0.0), "max_iter": 40}),
    Case(
        "sgd-constant-momentum", "digits", {**H, **_sgd(nesterovs_momentum=False), "max_iter": 40}
    ),
    Case("sgd-constant-nesterov", "digits", {**H, **_sgd(), "max_iter": 40}),
    Case(
        "sgd-invscaling",
        "digits",
        {
            **H,
            **_sgd(learning_rate="invscaling", momentum=0.0, learning_rate_init=0.5, power_t=0.25),
            "max_iter": 40,
        },
    ),
    Case(
        "sgd-invscaling-momentum",
        "digits",
        {
            **H,
            **_sgd(
                learning_rate="invscaling",
                nesterovs_momentum=False,
                learning_rate_init=0.2,
                power_t=0.25,
            ),
            "max_iter": 40,
        },
    ),
    Case(
        "sgd-invscaling-nesterov",
        "digits",
        {
            **H,
            **_sgd(learning_rate="invscaling", learning_rate_init=0.2, power_t=0.25),
            "max_iter": 40,
        },
    ),
    Case(
        "sgd-adaptive",
        "digits",
        {
            **H,
            **_sgd(learning_rate="adaptive", momentum=0.0, learning_rate_init=0.1),
            "tol": 1e-3,
            "n_iter_no_change": 2,
            "max_iter": 200,
        },
    ),
    Case(
        "sgd-adaptive-momentum",
        "digits",
        {
            **H,
            **_sgd(learning_rate="adaptive", nesterovs_momentum=False),
            "tol": 1e-3,
            "n_iter_no_change": 2,
            "max_iter": 200,
        },
    ),
    Case(
        "sgd-adaptive-nesterov",
        "digits",
        {
            **H,
            **_sgd(learning_rate="adaptive"),
            "tol": 1e-3,
            "n_iter_no_change": 2,
            "max_iter": 200,
        },
    ),
    Case(
        "sgd-deep-tanh",
        "digits",
        {
            "hidden_layer_sizes": (64, 32),
            "activation": "tanh",
            "random_state": 0,
            **_sgd(),
            "max_iter": 30,
        },
    ),
    # solver='adam'
    Case("adam", "digits", {**H, "max_iter": 200}),
    Case("adam-early-stopping", "digits", {**H, "early_stopping": True, "max_iter": 200}),
    Case(
        "adam-n_iter_no_change",
        "digits",
        {**H, "tol": 1e-3, "n_iter_no_change": 3, "max_iter": 200},
    ),
    Case("adam-batch-1", "digits", {**H, "batch_size": 1, "max_iter": 3}),
    Case("adam-batch-32", "digits", {**H, "batch_size": 32, "max_iter": 30}),
    Case(
        "adam-full-batch",
        "digits",
        {**H, "batch_size": 1797, "max_iter": 100, "learning_rate_init": 0.01},
    ),
    Case("adam-no-shuffle", "digits", {**H, "shuffle": False, "max_iter": 30}),
    Case("sgd-no-shuffle", "digits", {**H, **_sgd(), "shuffle": False, "max_iter": 30}),
    Case("adam-sample-weight", "digits", {**H, "max_iter": 30}, sample_weight=True),
    Case("sgd-sample-weight", "digits", {**H, **_sgd(), "max_iter": 30}, sample_weight=True),
    Case(
        "adam-early-stopping-sample-weight",
        "digits",
        {**H, "early_stopping": True, "max_iter": 200},
        sample_weight=True,
    ),
    Case("adam-RandomState", "digits", {**H, "max_iter": 20, "random_state": ("RandomState", 3)}),
    Case("adam-float32", "digits", {**H, "max_iter": 30}, dtype="float32"),
    Case(
        "adam-warm-start",
        "digits",
        {**H, "max_iter": 10, "warm_start": True},
        protocol="warm_start",
    ),
    Case("sgd-partial-fit", "digits", {**H, **_sgd()}, protocol="partial_fit"),
    Case(
        "sgd-invscaling-partial-fit",
        "digits",
        {**H, **_sgd(learning_rate="invscaling", learning_rate_init=0.2, power_t=0.25)},
        protocol="partial_fit",
    ),
    Case("adam-partial-fit", "digits", {**H}, protocol="partial_fit"),
    # solver='lbfgs'
    Case("lbfgs", "digits", {**H, "solver": "lbfgs", "max_iter": 100}),
    Case(
        "lbfgs-sample-weight",
        "digits",
        {**H, "solver": "lbfgs", "max_iter": 100},
        sample_weight=True,
    ),
    # binary, multi-class (iris), multilabel
    Case(
        "binary-adam-early-stopping",
        "breast-cancer",
        {**H, "early_stopping": True, "max_iter": 200},
    ),
    Case("binary-sgd-nesterov", "breast-cancer", {**H, **_sgd(), "max_iter": 100}),
    Case(
        "binary-lbfgs-logistic",
        "breast-cancer",
        {**H, "solver": "lbfgs", "activation": "logistic", "max_iter": 200},
    ),
    Case(
        "iris-sgd-adaptive-early-stopping",
        "iris",
        {
            **SMALL,
            **_sgd(learning_rate="adaptive", learning_rate_init=0.1),
            "activation": "tanh",
            "early_stopping": True,
            "validation_fraction": 0.2,
            "max_iter": 300,
        },
    ),
    Case(
        "iris-adam-identity",
        "iris",
        {**SMALL, "activation": "identity", "learning_rate_init": 0.01, "max_iter": 300},
    ),
    Case("iris-lbfgs", "iris", {**SMALL, "solver": "lbfgs", "max_iter": 200}),
    Case("multilabel-adam", "digits-multilabel", {**H, "max_iter": 50}),
    Case(
        "multilabel-sgd-early-stopping",
        "digits-multilabel",
        {**H, **_sgd(), "early_stopping": True, "max_iter": 100},
    ),
    Case("multilabel-lbfgs", "digits-multilabel", {**H, "solver": "lbfgs", "max_iter": 100}),
    # regression, one output and several
    Case("reg-sgd-momentum", "diabetes", {**H, **_sgd(), "max_iter": 100}),
    Case(
        "reg-sgd-invscaling",
        "diabetes",
        {
            **H,
            **_sgd(learning_rate="invscaling", learning_rate_init=0.1, power_t=0.25),
            "max_iter": 100,
        },
    ),
    Case("reg-adam", "diabetes", {**H, "learning_rate_init": 0.01, "max_iter": 200}),
    Case(
        "reg-adam-early-stopping",
        "diabetes",
        {**H, "early_stopping": True, "learning_rate_init": 0.01, "max_iter": 200},
    ),
    Case(
        "reg-adam-sample-weight",
        "diabetes",
        {**H, "learning_rate_init": 0.01, "max_iter": 100},
        sample_weight=True,
    ),
    Case("reg-lbfgs", "diabetes", {**H, "solver": "lbfgs", "max_iter": 200}),
    Case("multioutput-adam", "linnerud", {**SMALL, "learning_rate_init": 0.01, "max_iter": 200}),
    Case("multioutput-lbfgs", "linnerud", {**SMALL, "solver": "lbfgs", "max_iter": 200}),
    Case(
        "bike-adam-early-stopping",
        "bike-riders",
        {**H, "early_stopping": True, "learning_rate_init": 0.01, "max_iter": 200},
    ),
    Case("bike-lbfgs", "bike-riders", {**H, "solver": "lbfgs", "max_iter": 200}),
    Case(
        "poisson-adam",
        "bike-counts",
        {**SMALL, "loss": "poisson", "learning_rate_init": 0.01, "max_iter": 100},
    ),
    Case(
        "poisson-lbfgs",
        "bike-counts",
        {**SMALL, "loss": "poisson", "solver": "lbfgs", "max_iter": 200},
    ),
]

#: Small and quick: what ``--quick`` and the tests run.
QUICK = [
    "iris-sgd-adaptive-early-stopping",
    "iris-adam-identity",
    "iris-lbfgs",
    "binary-sgd-nesterov",
    "multioutput-adam",
    "multioutput-lbfgs",
]


def cases_named(patterns):
    """The cases whose name matches one of the comma-separated names or glob patterns."""
    chosen = [
        c for c in CASES if any(fnmatch.fnmatchcase(c.name, p.strip()) for p in patterns.split(","))
    ]
    if not chosen:
        raise SystemExit(
            f"no case matches {patterns!r}; cases: " + ", ".join(c.name for c in CASES)
        )
    return chosen


# --- running one case -------------------------------------------------------------------------


def _fresh(params):
    params = dict(params)
    state = params.get("random_state")
    if isinstance(state, tuple) and state[0] == "RandomState":
        params["random_state"] = np.random.RandomState(state[1])
    return params


def _train(make, case, X, y, w):
    """Fit a new estimator by the case's protocol; returns it."""
    model = make(**_fresh(case.params))
    if case.protocol == "fit":
        return model.fit(X, y, sample_weight=w)
    if case.protocol == "warm_start":
        model.fit(X, y, sample_weight=w)
        return model.fit(X, y, sample_weight=w)
    kw = {}
    if DATASETS[case.dataset][0] == "classifier":
        kw["classes"] = np.unique(y) if np.ndim(y) == 1 else None
    for i in range(case.partial_fits):
        model.partial_fit(X, y, sample_weight=w, **(kw if i == 0 else {}))
    return model


def _timed(make, case, X, y, w):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter is expected here
        model = _train(make, case, X, y, w)
    return model, time.perf_counter() - start


def coefficient_difference(model, truth):
    """max over arrays of max|a - b| / max|b| (b: ``truth``'s ``coefs_ + intercepts_``)."""
    worst = 0.0
    for a, b in zip(model.coefs_ + model.intercepts_, truth.coefs_ + truth.intercepts_):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return math.inf
        scale = max(float(np.max(np.abs(b))), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return worst


def estimators(kind):
    """(scikit-learn's class, nnfast's class) for "classifier" or "regressor"."""
    from sklearn import neural_network

    import nnfast

    if kind == "classifier":
        return neural_network.MLPClassifier, nnfast.MLPClassifier
    return neural_network.MLPRegressor, nnfast.MLPRegressor


def compare(case, repeats=1, reference=False, nnfast=True, bike=None, data=None, sensitivity=False):
    """Run one case; returns its row (a dict). Each fit is timed ``repeats`` times (the
    implementations taking turns); the median is reported. A fit that raises gives the
    error's text in place of its numbers."""
    kind = DATASETS[case.dataset][0]
    X, y = load_dataset(case.dataset, bike) if data is None else data
    X = np.ascontiguousarray(X, dtype=case.dtype)
    w = None
    if case.sample_weight:  # a fixed draw, the same for every implementation
        w = np.random.default_rng(12345).uniform(0.2, 3.0, X.shape[0])
    sk_class, nf_class = estimators(kind)
    makers = {"sklearn": sk_class}
    if nnfast:
        makers["nnfast"] = nf_class
    if reference:
        ref = _load_sibling("sklearn_reference")
        makers["reference"] = lambda **p: ref.ReferenceMLP(kind, **p)
    if sensitivity:
        ref = _load_sibling("sklearn_reference")
        makers["perturbed"] = lambda **p: ref.ReferenceMLP(kind, perturb=1e-15, **p)
    models, times, errors = {}, {k: [] for k in makers}, {}
    for r in range(repeats):
        names = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in names:
            if name in errors:
                continue
            try:
                models[name], seconds = _timed(makers[name], case, X, y, w)
            except Exception as error:  # noqa: BLE001 (reported in the row, the table goes on)
                errors[name] = f"{type(error).__name__}: {error}"
                continue
            times[name].append(seconds)
    row = {
        "case": case.name,
        "dataset": case.dataset,
        "target": DATASETS[case.dataset][1],
        "settings": case.settings(),
        "errors": errors,
    }
    for name in makers:
        model = models.get(name)
        row[name] = (
            None
            if model is None
            else {
                "n_iter": int(model.n_iter_),
                "loss": float(model.loss_),
                "time": statistics.median(times[name]),
                "coef_dtype": str(np.asarray(model.coefs_[0]).dtype),
            }
        )
        if name != "sklearn" and model is not None and "sklearn" in models:
            row[name]["coef_diff"] = coefficient_difference(model, models["sklearn"])
            row[name]["n_iter_equal"] = int(model.n_iter_) == int(models["sklearn"].n_iter_)
    return row


# --- the table --------------------------------------------------------------------------------


def _fmt(x, spec):
    return "-" if x is None else format(x, spec)


def warm_up():
    """One small fit of each class first, so that no case's time includes imports and
    first-call set-up."""
    X = np.random.default_rng(0).normal(size=(40, 3))
    for kind, y in (("classifier", (X[:, 0] > 0).astype(int)), ("regressor", X[:, 1])):
        for cls in estimators(kind):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)


def markdown(rows, reference=False, sensitivity=False):
    head = [
        "data set",
        "settings",
        "n_iter_ sklearn / nnfast",
        "equal",
        "max rel. coef diff",
        "loss_ sklearn",
        "loss_ nnfast",
        "time sklearn (s)",
        "time nnfast (s)",
        "speed-up",
    ]
    if reference:
        head += ["reference: n_iter_ equal, coef diff"]
    if sensitivity:
        head += ["1e-15 perturbed: n_iter_ equal, coef diff"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        sk, nf = row["sklearn"], row.get("nnfast")
        data = f"{row['dataset']} ({row['target']})"
        if sk is None:
            cells = [data, row["settings"], f"sklearn failed: {row['errors']['sklearn']}"]
            cells += [""] * (len(head) - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
            continue
        if nf is None:
            error = row["errors"].get("nnfast")
            note = "not run" if error is None else "nnfast failed: " + error.replace("|", "/")
            nf_cells = [
                f"{sk['n_iter']} / -",
                "-",
                note[:140],
                _fmt(sk["loss"], ".6g"),
                "-",
                _fmt(sk["time"], ".3f"),
                "-",
                "-",
            ]
        else:
            diff = nf["coef_diff"]
            dtype_note = (
                ""
                if nf["coef_dtype"] == sk["coef_dtype"]
                else f" ({nf['coef_dtype']} vs {sk['coef_dtype']})"
            )
            nf_cells = [
                f"{sk['n_iter']} / {nf['n_iter']}",
                "yes" if nf["n_iter_equal"] else "**no**",
                f"{diff:.1e}{dtype_note}",
                _fmt(sk["loss"], ".6g"),
                _fmt(nf["loss"], ".6g"),
                _fmt(sk["time"], ".3f"),
                _fmt(nf["time"], ".3f"),
                f"{sk['time'] / nf['time']:.1f}x",
            ]
        cells = [data, row["settings"]] + nf_cells
        for name, wanted in (("reference", reference), ("perturbed", sensitivity)):
            if wanted:
                ref = row.get(name)
                cells.append(
                    "-"
                    if ref is None
                    else f"{'yes' if ref['n_iter_equal'] else '**no**'}, {ref['coef_diff']:.1e}"
                )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def header(load_before=None):
    import sklearn

    import nnfast

    loads = [x for x in (load_before, _load()) if x is not None]
    return (
        f"scikit-learn {sklearn.__version__}, nnfast {nnfast.__version__} "
        f"(backend {nnfast.get_backend()}), numpy {np.__version__}, {os.cpu_count()} CPUs"
        + (", load average " + " -> ".join(f"{x:.2f}" for x in loads) if loads else "")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="only the small cases (" + ", ".join(QUICK) + "), 1 repeat",
    )
    parser.add_argument("--cases", help="comma-separated names or glob patterns")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed fits per implementation (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also fit bench/sklearn_reference.py's NumPy re-derivation",
    )
    parser.add_argument(
        "--sensitivity",
        action="store_true",
        help="also fit the re-derivation from initial weights changed by 1e-15",
    )
    parser.add_argument(
        "--no-nnfast",
        action="store_true",
        help="leave nnfast out (with --reference: check the re-derivation)",
    )
    parser.add_argument("--bike-dir", help="folder holding the bike-sharing day.csv")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    cases = (
        cases_named(args.cases)
        if args.cases
        else (cases_named(",".join(QUICK)) if args.quick else CASES)
    )
    repeats = args.repeats or (1 if args.quick else 3)
    load_before = _load()
    warm_up()
    rows, skipped = [], []
    for case in cases:
        try:
            data = load_dataset(case.dataset, args.bike_dir)
        except FileNotFoundError as error:
            skipped.append(f"{case.name}: {error}")
            continue
        rows.append(
            compare(
                case,
                repeats,
                args.reference,
                not args.no_nnfast,
                data=data,
                sensitivity=args.sensitivity,
            )
        )
        print(f"  {case.name}: done", file=sys.stderr, flush=True)
    print(header(load_before))
    print()
    print(markdown(rows, args.reference, args.sensitivity))
    if skipped:
        print()
        print("Skipped (data missing): " + "; ".join(skipped))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
