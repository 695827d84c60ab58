"""nnfast.to_onnx: every model's ONNX graph, run by onnxruntime, gives nnfast's outputs (to
1e-12 in float64, 1e-6 in float32), and pipelines convert through skl2onnx."""

import inspect
import sys
import warnings

import numpy as np
import pytest

import nnfast as nf

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

# How close the ONNX outputs must be to nnfast's, per parameter dtype.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}
NETWORK_DTYPES = [np.float64] + (
    [np.float32] if "dtype" in inspect.signature(nf.Network).parameters else []
)


def run(model_proto, X):
    session = ort.InferenceSession(
        model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return {o.name: v for o, v in zip(session.get_outputs(), session.run(None, {"X": X}))}


def quietly(fit, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args)


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(64, 3))


@pytest.mark.parametrize("dtype", NETWORK_DTYPES)
@pytest.mark.parametrize(
    "activation, output, loss",
    [
        ("sigmoid", "sigmoid", "mse"),
        ("tanh", "identity", "mse"),
        ("relu", "softmax", "cross_entropy"),
        ("step", "sigmoid", "binary_cross_entropy"),
        ("identity", "tanh", "mse"),
        (["relu", "tanh"], "softmax", "cross_entropy"),
        (["leaky_relu", "elu"], "identity", "mse"),
        (["softplus", "silu"], "identity", "mse"),
        (
            [
                nf.activations.get("leaky_relu", negative_slope=0.3),
                nf.activations.get("elu", alpha=0.7),
            ],
            "softplus",
            "mse",
        ),
    ],
)
def test_network(X, dtype, activation, output, loss, tmp_path):
    sizes = [3, 5, 4, 2] if isinstance(activation, list) else [3, 5, 2]
    options = {"dtype": np.dtype(dtype).name} if dtype is not np.float64 else {}
    net = nf.Network(
        sizes, activation=activation, output_activation=output, loss=loss, seed=1, **options
    )
    path = tmp_path / "net.onnx"
    proto = nf.to_onnx(net, path)
    assert onnx.load(str(path)) == proto
    graph = proto.graph
    assert [i.name for i in graph.input] == ["X"] and [o.name for o in graph.output] == ["output"]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    assert graph.input[0].type.tensor_type.elem_type == elem
    out = run(proto, X.astype(dtype))["output"]
    assert out.dtype == dtype and out.shape == (64, 2)
    np.testing.assert_allclose(out, net.feedforward(X.astype(dtype)), rtol=0, atol=TOLERANCE[dtype])


def test_gelu_network_in_the_onnx_reference_evaluator(X):
    """onnxruntime has no float64 Erf: the standard's reference evaluator runs the graph, with
    its Erf (a float approximation, 1e-7) replaced by SciPy's."""
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.op_run import OpRun
    from scipy.special import erf

    class Erf(OpRun):
        def _run(self, x):
            return (erf(x),)

    net = nf.Network([3, 6, 2], activation="gelu", output_activation="identity", seed=2)
    X = X * 4  # both tails of the CDF
    out = ReferenceEvaluator(nf.to_onnx(net), new_ops=[Erf]).run(None, {"X": X})[0]
    np.testing.assert_allclose(out, net.feedforward(X), rtol=0, atol=1e-12)


def test_the_largest_difference_is_rounding(X):
    """The parity number quoted in the docs: float64 outputs within a few ulps."""
    net = nf.Network([3, 64, 64, 10], activation="relu", loss="cross_entropy", seed=0)
    diff = np.abs(run(nf.to_onnx(net), X)["output"] - net.feedforward(X)).max()
    assert diff < 1e-15


def test_mlp_classifier_binary_multiclass_and_multilabel(X):
    labels = np.where(X[:, 0] > 0, "yes", "no")
    for y in (labels, np.digitize(X[:, 0], [-0.5, 0.5])):
        clf = quietly(nf.MLPClassifier((8,), max_iter=30, random_state=0).fit, X, y)
        out = run(nf.to_onnx(clf), X)
        np.testing.assert_array_equal(out["label"], clf.predict(X))
        np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-12)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    clf = quietly(nf.MLPClassifier((8,), max_iter=30, random_state=0).fit, X, Y)
    out = run(nf.to_onnx(clf), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-12)


def test_mlp_regressor(X):
    for y in (X[:, 0] ** 2, X[:, :2]):
        reg = quietly(nf.MLPRegressor((8,), max_iter=30, random_state=0).fit, X, y)
        out = run(nf.to_onnx(reg), X)["variable"]
        np.testing.assert_allclose(out, reg.predict(X).reshape(64, -1), rtol=0, atol=1e-12)


def test_logistic_regression(X):
    for y in (X[:, 0] + X[:, 1] > 0, np.digitize(X[:, 2], [-0.3, 0.3]) * 10):
        model = nf.LogisticRegression(learning_rate=0.1, max_epochs=40).fit(X, y)
        out = run(nf.to_onnx(model), X)
        np.testing.assert_array_equal(out["label"], model.predict(X))
        np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), rtol=0, atol=1e-12)


def test_perceptron(X):
    y = np.where(X[:, 0] - X[:, 1] > 0.2, "above", "below")
    model = nf.Perceptron(max_epochs=20).fit(X, y)
    out = run(nf.to_onnx(model), X)
    np.testing.assert_array_equal(out["label"], model.predict(X))
    z = X @ model.coef_ + model.intercept_
    np.testing.assert_allclose(out["scores"], np.column_stack([-z, z]), rtol=0, atol=1e-12)


def test_bad_models():
    with pytest.raises(TypeError, match="to_onnx takes a Network"):
        nf.to_onnx(object())
    for model in (nf.MLPClassifier(), nf.LogisticRegression(), nf.Perceptron()):
        with pytest.raises(ValueError, match="is not fitted yet"):
            nf.to_onnx(model)


def test_missing_onnx_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install onnx.*nnfast\[onnx\]"):
        nf.to_onnx(nf.Network([2, 1]))


# --- scikit-learn pipelines through skl2onnx ------------------------------------------------------


@pytest.fixture
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    pytest.importorskip("sklearn")
    from nnfast.export import register_skl2onnx

    register_skl2onnx()
    return module


@pytest.mark.parametrize(
    "make",
    [
        lambda: nf.MLPClassifier((8,), max_iter=30, random_state=0),
        lambda: nf.LogisticRegression(learning_rate=0.1, max_epochs=30),
        lambda: nf.Perceptron(max_epochs=10),
    ],
)
def test_pipeline_of_a_classifier(skl2onnx, make, X):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = X * 5 + 2
    y = np.where(X[:, 0] > 2, "a", "b")
    estimator = make()
    pipe = quietly(make_pipeline(StandardScaler(), estimator).fit, X, y)
    proto = skl2onnx.to_onnx(pipe, X, options={id(estimator): {"zipmap": False}})
    out = list(run(proto, X).values())
    np.testing.assert_array_equal(out[0], pipe.predict(X))
    if not isinstance(estimator, nf.Perceptron):
        np.testing.assert_allclose(out[1], pipe.predict_proba(X), rtol=0, atol=1e-12)
    # skl2onnx's default: the probabilities as one {class: probability} dict per row
    rows = list(run(nf.to_onnx(pipe), X).values())[1]
    assert isinstance(rows, list) and sorted(rows[0]) == ["a", "b"]
    if not isinstance(estimator, nf.Perceptron):
        np.testing.assert_allclose([r["b"] for r in rows], pipe.predict_proba(X)[:, 1], rtol=1e-6)
    floats = skl2onnx.to_onnx(
        pipe, X.astype(np.float32), options={id(estimator): {"zipmap": False}}
    )
    labels = list(run(floats, X.astype(np.float32)).values())[0]
    assert (labels == pipe.predict(X)).mean() > 0.95  # float32 input, float64 model


def test_pipeline_of_a_regressor(skl2onnx, X, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = quietly(
        make_pipeline(StandardScaler(), nf.MLPRegressor((8,), max_iter=30, random_state=0)).fit,
        X,
        X[:, 0] ** 2,
    )
    proto = nf.to_onnx(pipe, tmp_path / "pipe.onnx")
    assert (tmp_path / "pipe.onnx").stat().st_size > 0
    out = run(proto, X)["variable"]
    np.testing.assert_allclose(out.ravel(), pipe.predict(X), rtol=0, atol=1e-12)


def test_batch_normalised_network(X):
    """Batch normalisation by the running statistics, as feedforward applies it."""
    net = nf.Network(
        [3, 5, 4, 2],
        activation=["relu", "tanh"],
        output_activation="softmax",
        loss="cross_entropy",
        batch_norm=True,
        seed=2,
    )
    Y = np.eye(2)[(X[:, 0] > 0).astype(int)]
    net.train(X, Y, epochs=5, batch_size=16)  # statistics and scales away from their start
    assert not np.allclose(net.norms[0]["running_var"], 1.0)
    out = run(nf.to_onnx(net), X)["output"]
    np.testing.assert_allclose(out, net.feedforward(X), rtol=0, atol=1e-12)
