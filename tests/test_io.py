"""Model files for every kind of model: ``model.save(path)`` / ``nnfast.load(path)``.

A file is an .npz holding a JSON header (format, version, kind, hyperparameters, classes,
shapes) and plain float64 arrays; it is read with ``allow_pickle=False`` and checked before
anything is built, so a tampered or damaged file fails with a clear ValueError. Models also
pickle (joblib), which is how scikit-learn and Dask move them between processes.
"""

import json
import pickle
import warnings

import numpy as np
import pytest

import nnfast as nf


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    return X, y


def build(kind):
    """A model of each kind, fitted (or not), with the data to predict on."""
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        if kind == "mlp-binary":
            labels = np.where(y > 0, "yes", "no")
            model = nf.MLPClassifier(
                (4,), early_stopping=True, class_weight={"no": 2}, max_iter=15, random_state=0
            ).fit(X, labels)
        elif kind == "mlp-multiclass":
            model = nf.MLPClassifier(
                [5, 3], activation="tanh", solver="lbfgs", max_iter=10, random_state=1
            ).fit(X, y + 10)
        elif kind == "mlp-multilabel":
            Y = np.column_stack([y == 0, y == 2, X[:, 2] > 0]).astype(int)
            model = nf.MLPClassifier(
                (4,), solver="sgd", max_iter=5, dropout=0.1, random_state=2
            ).fit(X, Y)
        elif kind == "mlp-regressor":
            model = nf.MLPRegressor(
                (4,), solver="sgd", learning_rate="invscaling", max_iter=8, random_state=3
            ).fit(X, X @ [1.0, 2.0, 3.0])
        elif kind == "mlp-plain-sgd":  # no momentum: the optimizer keeps no moments at all
            model = nf.MLPRegressor(
                (4,), solver="sgd", momentum=0.0, max_iter=5, random_state=5
            ).fit(X, X @ [1.0, -1.0, 0.5])
        elif kind == "mlp-regressor-2":
            model = nf.MLPRegressor((), solver="lbfgs", random_state=4).fit(X, X[:, :2] * 3)
        elif kind == "perceptron":
            model = nf.Perceptron(max_epochs=5, shuffle=True, seed=1).fit(
                X, np.where(X[:, 0] > 0, "up", "down")
            )
        elif kind == "logistic":
            model = nf.LogisticRegression(max_epochs=30, class_weight={0: 2}).fit(X, y)
        elif kind == "logistic-binary":
            model = nf.LogisticRegression(max_epochs=30).fit(X, y > 0)
        elif kind == "network":
            model = nf.Network([3, 4, 2], activation="tanh", seed=0)
        else:  # unfitted estimators save their parameters only
            model = {
                "unfitted-mlp": nf.MLPRegressor((3, 2), alpha=0.5),
                "unfitted-perceptron": nf.Perceptron(learning_rate=0.5),
                "unfitted-logistic": nf.LogisticRegression(tol=0.1),
            }[kind]
    return model, X


KINDS = [
    "mlp-binary",
    "mlp-multiclass",
    "mlp-multilabel",
    "mlp-regressor",
    "mlp-plain-sgd",
    "mlp-regressor-2",
    "perceptron",
    "logistic",
    "logistic-binary",
    "network",
    "unfitted-mlp",
    "unfitted-perceptron",
    "unfitted-logistic",
]


def outputs(model, X):
    if isinstance(model, nf.Network):
        return [model.feedforward(X)]
    if not model.__sklearn_is_fitted__():
        return []
    methods = ("predict", "predict_proba", "decision_function")
    return [getattr(model, m)(X) for m in methods if hasattr(model, m)]


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind, tmp_path):
    model, X = build(kind)
    path = tmp_path / f"{kind}.npz"
    assert model.save(path) == str(path)
    loaded = nf.load(path)
    assert type(loaded) is type(model)
    for a, b in zip(outputs(model, X), outputs(loaded, X)):
        assert same(a, b)
    if isinstance(model, nf.Network):
        return
    assert loaded.get_params().keys() == model.get_params().keys()
    for key, value in model.get_params().items():
        assert same(loaded.get_params()[key], value), key
    for name in (
        "classes_",
        "n_features_in_",
        "n_iter_",
        "t_",
        "loss_curve_",
        "loss_",
        "validation_scores_",
        "validation_loss_curve_",
        "best_loss_",
        "best_validation_score_",
        "coef_",
        "intercept_",
        "errors_",
        "boundary_lines_",
        "out_activation_",
        "n_layers_",
    ):
        if hasattr(model, name):
            assert same(getattr(loaded, name), getattr(model, name)), name
    if hasattr(model, "history_"):
        assert loaded.history_.loss == model.history_.loss
        assert loaded.history_.learning_rate == model.history_.learning_rate


def test_unfitted_stays_unfitted(tmp_path):
    model, _ = build("unfitted-mlp")
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    assert not loaded.__sklearn_is_fitted__() and loaded.hidden_layer_sizes == (3, 2)


@pytest.mark.parametrize("kind", ["mlp-binary", "mlp-multilabel", "mlp-regressor", "mlp-plain-sgd"])
def test_a_loaded_model_trains_on_as_the_original(kind, tmp_path):
    """The optimizer state, the random generator and the stopping rule are saved too."""
    model, X = build(kind)
    model.save(tmp_path / "m.npz")
    loaded = nf.load(tmp_path / "m.npz")
    y = model.predict(X)
    for m in (model, loaded):  # mini-batches, so that the saved generator's shuffles matter
        m.set_params(early_stopping=False, warm_start=True, max_iter=3, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        model.fit(X, y)
        loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.network_.parameters, model.network_.parameters)
    assert loaded.t_ == model.t_ and loaded.loss_curve_ == model.loss_curve_


@pytest.mark.parametrize("kind", ["mlp-binary", "mlp-regressor-2", "perceptron", "logistic"])
def test_pickle_and_joblib(kind, tmp_path):
    model, X = build(kind)
    for loaded in (pickle.loads(pickle.dumps(model)), joblib_round_trip(model, tmp_path)):
        assert type(loaded) is type(model)
        for a, b in zip(outputs(model, X), outputs(loaded, X)):
            assert same(a, b)
    if hasattr(model, "coefs_"):  # the views into the flat buffer survive the pickle
        copy = pickle.loads(pickle.dumps(model))
        assert np.shares_memory(copy.coefs_[0], copy.network_.parameters)


def joblib_round_trip(model, tmp_path):
    joblib = pytest.importorskip("joblib")
    joblib.dump(model, tmp_path / "m.joblib")
    return joblib.load(tmp_path / "m.joblib")


def read(path):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(arrays.pop("header").tobytes().decode()), arrays


def write(path, header, arrays):
    text = json.dumps(header).encode()
    np.savez(path, header=np.frombuffer(text, dtype=np.uint8), **arrays)


def test_the_header_holds_parameters_classes_and_shapes(tmp_path):
    model, _ = build("mlp-binary")
    model.save(tmp_path / "m.npz")
    header, arrays = read(tmp_path / "m.npz")
    assert header["format"] == "nnfast" and header["kind"] == "MLPClassifier"
    assert header["params"]["hidden_layer_sizes"] == {"__tuple__": [4]}
    assert header["params"]["class_weight"] == {"__dict__": [["no", 2]]}
    assert header["params"]["max_iter"] == 15 and header["unsaved_params"] == []
    assert header["classes"] == {"dtype": "<U3", "values": ["no", "yes"]}
    assert header["layer_sizes"] == [3, 4, 1] and header["n_features_in"] == 3
    assert arrays["parameters"].shape == (3 * 4 + 4 * 1 + 4 + 1,)
    assert all(a.dtype == np.float64 for a in arrays.values())


def test_a_generator_random_state_is_not_saved(tmp_path):
    X, y = data()
    model = nf.MLPClassifier((3,), max_iter=2, random_state=np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.ConvergenceWarning)
        model.fit(X, y)
    model.save(tmp_path / "m.npz")
    header, _ = read(tmp_path / "m.npz")
    assert header["unsaved_params"] == ["random_state"]
    loaded = nf.load(tmp_path / "m.npz")
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def _set(*keys, value):
    def edit(header, arrays):
        target = header
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _drop_param(name):
    def edit(header, arrays):
        del header["params"][name]

    return edit


def _arrays(fn):
    def edit(header, arrays):
        fn(arrays)

    return edit


TAMPERINGS = {
    "layers vs hidden_layer_sizes": (
        "mlp-binary",
        _set("params", "hidden_layer_sizes", value={"__tuple__": [5]}),
        "layer_sizes",
    ),
    "bad activation": ("mlp-binary", _set("params", "activation", value="banana"), "activation"),
    "unknown parameter": ("mlp-binary", _set("params", "colour", value=1), "do not match"),
    "missing parameter": ("mlp-regressor", _drop_param("alpha"), "do not match"),
    "negative alpha": ("mlp-regressor", _set("params", "alpha", value=-1.0), "alpha"),
    "classes vs outputs": (
        "mlp-binary",
        _set("classes", "values", value=["a", "b", "c"]),
        "classes",
    ),
    "repeated classes": ("logistic", _set("classes", "values", value=[0, 0, 1]), "distinct"),
    "class dtype": ("perceptron", _set("classes", "dtype", value="<M8[s]"), "dtype"),
    "n_features": ("mlp-multiclass", _set("n_features_in", value=7), "layer_sizes"),
    "target": ("mlp-regressor", _set("target", value="binary"), "target"),
    "optimizer": ("mlp-regressor", _set("optimizer", "solver", value="os.system"), "optimizer"),
    "tagged value": (
        "mlp-binary",
        _set("params", "class_weight", value={"__dict__": 3}),
        "unexpected object",
    ),
    "unknown kind": ("logistic", _set("kind", value="Trojan"), "unknown model kind"),
    "format version": ("perceptron", _set("format_version", value=99), "format version 99"),
    "format": ("perceptron", _set("format", value="other"), "not an nnfast model file"),
    "short parameters": (
        "mlp-multilabel",
        _arrays(lambda a: a.__setitem__("parameters", a["parameters"][:-1])),
        "parameters",
    ),
    "NaN parameter": ("logistic", _arrays(lambda a: a["parameters"].__setitem__(0, np.nan)), "NaN"),
    "optimizer moments": (
        "mlp-regressor",
        _arrays(lambda a: a.__setitem__("optimizer_v", np.zeros(7))),
        "optimizer_m and optimizer_v",
    ),
    "missing array": ("perceptron", _arrays(lambda a: a.pop("coef")), "coef"),
    "coef shape": (
        "perceptron",
        _arrays(lambda a: a.__setitem__("coef", np.zeros(5))),
        "coef has shape",
    ),
    "negative errors": (
        "perceptron",
        _arrays(lambda a: a["errors"].__setitem__(0, -1.0)),
        "errors",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_file_is_refused(name, tmp_path):
    kind, edit, match = TAMPERINGS[name]
    model, _ = build(kind)
    path = tmp_path / "m.npz"
    model.save(path)
    header, arrays = read(path)
    edit(header, arrays)
    write(path, header, arrays)
    with pytest.raises(ValueError, match=match):
        nf.load(path)


def test_an_untouched_rewrite_still_loads(tmp_path):
    """The tampering tests fail because of the edit, not because of the rewriting."""
    model, X = build("mlp-binary")
    model.save(tmp_path / "m.npz")
    write(tmp_path / "m.npz", *read(tmp_path / "m.npz"))
    np.testing.assert_array_equal(nf.load(tmp_path / "m.npz").predict(X), model.predict(X))


def test_pickled_and_broken_files_are_refused(tmp_path):
    model, _ = build("mlp-regressor")
    path = tmp_path / "m.npz"
    model.save(path)
    header, arrays = read(path)
    # an object array (a pickle inside the .npz) is never unpickled
    np.savez(
        tmp_path / "obj.npz",
        header=np.frombuffer(json.dumps(header).encode(), np.uint8),
        evil=np.array([{"a": 1}], dtype=object),
        **arrays,
    )
    with pytest.raises(ValueError, match="not a readable nnfast model file.*pickled objects"):
        nf.load(tmp_path / "obj.npz")
    # a header that is not JSON
    np.savez(tmp_path / "json.npz", header=np.frombuffer(b"{not json", np.uint8), **arrays)
    with pytest.raises(ValueError, match="corrupted header"):
        nf.load(tmp_path / "json.npz")
    # a truncated file (a copy cut short, e.g. by a full disk)
    raw = path.read_bytes()
    for size in (len(raw) // 2, 100, 0):
        (tmp_path / "cut.npz").write_bytes(raw[:size])
        with pytest.raises(ValueError, match="not a readable nnfast model file"):
            nf.load(tmp_path / "cut.npz")
    with pytest.raises(FileNotFoundError):
        nf.load(tmp_path / "missing.npz")
