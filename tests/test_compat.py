"""The estimator protocol comes from scikit-learn when it is installed (``nnfast._compat``),
from a minimal fallback when it is not; either way the estimators work and score the same.

scikit-learn's absence is simulated in a subprocess by a meta-path finder that refuses to
import it.
"""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nnfast as nf

ESTIMATORS = ("MLPClassifier", "MLPRegressor", "LogisticRegression", "Perceptron", "TableEncoder")

BLOCK_SKLEARN = """
import sys

class NoScikitLearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoScikitLearn())
"""

# Every estimator used as a user without scikit-learn would: fit, predict, score, the
# parameters, a clone from them, repr, files. Prints the scores as JSON.
USE_ESTIMATORS = """
import json, warnings
import numpy as np
import nnfast as nf
from nnfast import _compat

rng = np.random.default_rng(0)
X = rng.normal(size=(80, 3))
labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
target = X @ [1.0, -2.0, 0.5]
scores = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", nf.ConvergenceWarning)
    models = {
        "MLPClassifier": nf.MLPClassifier((5,), max_iter=30, random_state=0).fit(X, labels),
        "MLPRegressor": nf.MLPRegressor((4,), solver="lbfgs", max_iter=50,
                                        random_state=0).fit(X, target),
        "LogisticRegression": nf.LogisticRegression(max_epochs=50).fit(X, labels),
        "Perceptron": nf.Perceptron(max_epochs=5).fit(X, labels),
    }
for name, model in models.items():
    y = target if name == "MLPRegressor" else labels
    scores[name] = model.score(X, y)
    scores[name + " weighted"] = model.score(X, y, sample_weight=np.arange(80.0))
    params = model.get_params()
    copy = type(model)(**params)
    assert copy.get_params() == params and copy is not model
    assert model.set_params(**params) is model
    assert repr(model).startswith(name)
encoder = nf.TableEncoder().fit(X)
assert encoder.fit_transform(X).shape == (80, 3) and "categorical" in encoder.get_params()
scores["sklearn_installed"] = _compat.SKLEARN_INSTALLED
print(json.dumps(scores))
"""


def run_python(code):
    env = dict(os.environ)
    env.pop("NNFAST_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_without_scikit_learn_the_estimators_work_and_score_the_same():
    without = json.loads(run_python(BLOCK_SKLEARN + USE_ESTIMATORS).splitlines()[-1])
    assert without.pop("sklearn_installed") is False
    if not _have_sklearn():
        return
    with_sklearn = json.loads(run_python(USE_ESTIMATORS).splitlines()[-1])
    assert with_sklearn.pop("sklearn_installed") is True
    # scikit-learn's accuracy_score / r2_score in one, nnfast.metrics in the other
    assert without.keys() == with_sklearn.keys()
    for name, value in without.items():
        assert value == pytest.approx(with_sklearn[name], rel=1e-12, abs=1e-15), name


def test_the_meta_path_blocker_does_block_scikit_learn():
    out = run_python(
        BLOCK_SKLEARN + "import importlib.util\n"
        "try:\n    import sklearn\nexcept ImportError:\n    print('blocked')"
    )
    assert out.strip() == "blocked"


def _have_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


# --- with scikit-learn: its protocol, not a copy of it ----------------------------------------


@pytest.fixture
def sklearn():
    return pytest.importorskip("sklearn", minversion="1.6")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_the_estimators_are_scikit_learn_estimators(sklearn, name):
    from sklearn.base import BaseEstimator

    model = getattr(nf, name)()
    assert isinstance(model, BaseEstimator)
    assert "<style>" in model._repr_html_()  # scikit-learn's HTML repr
    assert model.__sklearn_tags__() is not None


def test_metadata_routing_in_a_grid_search(sklearn):
    """sample_weight reaches fit only when requested (scikit-learn's metadata routing)."""
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    weights = np.where(y == 1, 5.0, 1.0)
    seen = []

    class LogisticSpy(nf.LogisticRegression):
        def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
            seen.append(sample_weight)
            return super().fit(X, y, coef_init, intercept_init, sample_weight)

    class MLPSpy(nf.MLPClassifier):
        def fit(self, X, y, sample_weight=None):
            seen.append(sample_weight)
            return super().fit(X, y, sample_weight)

    searches = [
        (LogisticSpy(max_epochs=20), {"learning_rate": [0.01, 0.1]}),
        (MLPSpy((3,), solver="lbfgs", max_iter=20), {"alpha": [1e-4, 1e-2]}),
    ]
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        for model, grid in searches:
            seen.clear()
            requested = model.set_fit_request(sample_weight=True).set_score_request(
                sample_weight=False
            )
            GridSearchCV(requested, grid, cv=2).fit(X, y, sample_weight=weights)
            assert len(seen) == 5  # 2 candidates x 2 folds, and the refit
            assert all(w is not None and set(w) == {1.0, 5.0} for w in seen), seen
            unrequested = type(model)(**model.get_params())
            with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
                GridSearchCV(unrequested, grid, cv=2).fit(X, y, sample_weight=weights)
