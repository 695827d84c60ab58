"""Saturated activations and confident wrong predictions stay finite, without warnings."""

import warnings

import numpy as np
import pytest

import nnfast
from nnfast import _backend, activations, losses


@pytest.fixture
def no_warnings():
    """Overflow, division by zero and invalid values become errors (underflow to 0 is fine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def test_sigmoid_saturates_exactly(no_warnings):
    z = np.array([1000.0, -1000.0, 750.0, -750.0, 40.0, -40.0])
    s = activations.sigmoid(z)
    assert np.isfinite(s).all()
    np.testing.assert_array_equal(s[:4], [1.0, 0.0, 1.0, 0.0])
    assert 0.0 < s[5] < 1e-17 and s[4] == 1.0
    np.testing.assert_array_equal(activations.sigmoid.derivative(z[:4]), 0.0)


def test_softmax_of_huge_logits(no_warnings):
    np.testing.assert_array_equal(activations.softmax(np.array([1000.0, 0.0])), [1.0, 0.0])
    np.testing.assert_array_equal(
        activations.softmax(np.array([[0.0, 1000.0], [-1000.0, 0.0]])), [[0.0, 1.0], [0.0, 1.0]]
    )
    p = activations.softmax(np.array([-1000.0, -1000.0, -1000.0]))
    np.testing.assert_allclose(p, 1 / 3, rtol=1e-15)
    J = activations.softmax.jacobian(np.array([1000.0, 0.0]))
    assert np.isfinite(J).all()


def test_tanh_and_relu_of_huge_inputs(no_warnings):
    z = np.array([1e300, -1e300, 1e6, -1e6])
    np.testing.assert_array_equal(activations.tanh(z), [1, -1, 1, -1])
    np.testing.assert_array_equal(activations.tanh.derivative(z), 0.0)
    np.testing.assert_array_equal(activations.relu(z), [1e300, 0, 1e6, 0])
    np.testing.assert_array_equal(activations.relu.derivative(z), [1, 0, 1, 0])
    np.testing.assert_array_equal(activations.identity.derivative(z), 1.0)


def test_cross_entropies_of_certain_probabilities(no_warnings):
    bce, ce = losses.binary_cross_entropy, losses.cross_entropy
    right = bce([1.0, 0.0], [1.0, 0.0])
    wrong = bce([1.0, 0.0], [0.0, 1.0])
    assert right == pytest.approx(0.0, abs=1e-15)
    assert np.isfinite(wrong) and 30 < wrong < 1000
    assert ce([[1.0, 0.0]], [[1.0, 0.0]]) == pytest.approx(0.0, abs=1e-15)
    wrong = ce([[1.0, 0.0]], [[0.0, 1.0]])
    assert np.isfinite(wrong) and 30 < wrong < 1000
    assert ce([0, 1], [[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(0.0, abs=1e-15)
    # 0 * ln 0 = 0: classes with y = 0 cost nothing, whatever their probability
    assert ce([[0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0]]) == pytest.approx(0.0, abs=1e-15)
    for g in (
        bce.gradient([1.0, 0.0], [0.0, 1.0]),
        ce.gradient([[1.0, 0.0]], [[0.0, 1.0]]),
        bce.gradient([1.0, 0.0], [1.0, 0.0]),
    ):
        assert np.isfinite(g).all()
    assert bce.gradient([1.0, 0.0], [0.0, 1.0])[0] < 0 < bce.gradient([1.0, 0.0], [0.0, 1.0])[1]


def _single_layer(output, loss, weight):
    net = nnfast.Network([2, 3], activation=[], output_activation=output, loss=loss)
    net.weights[0][:] = weight * np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -1.0]])
    net.biases[0][:] = 0.0
    return net


def test_bce_network_with_huge_logits(backend, no_warnings):
    net = _single_layer("sigmoid", "binary_cross_entropy", 1e4)
    X = np.array([[1.0, 1.0], [-1.0, 0.5]])
    Z = X @ net.weights[0]  # logits up to 3e4 in size
    P = net.feedforward(X)
    np.testing.assert_array_equal(P, (Z > 0).astype(float))  # saturated, exactly
    for Y in ((Z > 0).astype(float), (Z < 0).astype(float), np.full(Z.shape, 0.5)):
        expected = np.mean(np.maximum(Z, 0) - Y * Z + np.log1p(np.exp(-np.abs(Z))))
        loss = net.loss(X, Y)
        assert np.isfinite(loss)
        assert loss == pytest.approx(expected, rel=1e-12, abs=1e-300)
        dW, db = net.gradients(X, Y)
        dZ = (P - Y) / Y.size  # sigmoid(z) - y, exactly 0 or +-1 here
        np.testing.assert_allclose(dW[0], X.T @ dZ, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(db[0], dZ.sum(axis=0), rtol=1e-12, atol=1e-300)
    assert net.loss(X, (Z > 0).astype(float)) == 0.0  # right and certain
    assert net.loss(X, (Z < 0).astype(float)) == pytest.approx(np.abs(Z).mean(), rel=1e-12)


def test_cross_entropy_network_with_huge_logits(backend, no_warnings):
    net = _single_layer("softmax", "cross_entropy", 1e4)
    X = np.array([[1.0, 1.5], [-1.0, 0.5], [0.2, -3.0]])
    Z = X @ net.weights[0]
    P = net.feedforward(X)
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-15)
    winners = Z.argmax(axis=1)
    np.testing.assert_array_equal(P.argmax(axis=1), winners)
    for labels in (winners, (winners + 1) % 3):
        loss = net.loss(X, labels)
        expected = np.mean(Z.max(axis=1) - Z[np.arange(3), labels])  # log-sum-exp - z_y
        assert np.isfinite(loss)
        assert loss == pytest.approx(expected, rel=1e-12, abs=1e-300)
        dW, db = net.gradients(X, labels)
        assert np.isfinite(dW[0]).all() and np.isfinite(db[0]).all()
        dZ = (P - nnfast.one_hot(labels, 3)) / 3
        np.testing.assert_allclose(dW[0], X.T @ dZ, rtol=1e-12, atol=1e-300)
    assert net.loss(X, (winners + 1) % 3) > 1e3


def test_training_on_saturated_outputs_stays_finite(backend):
    net = nnfast.Network(
        [2, 4, 1],
        activation="tanh",
        output_activation="sigmoid",
        loss="binary_cross_entropy",
        seed=0,
    )
    net.weights[1][:] *= 1e4
    X = np.array([[1.0, 2.0], [-1.0, -2.0], [0.5, -0.5], [3.0, 1.0]])
    Y = 1.0 - (net.feedforward(X) > 0.5)  # every prediction confidently wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = net.train(X, Y, epochs=5, learning_rate=1e-3, batch_size=2)
    assert len(history.loss) == 5 and np.isfinite(history.loss).all()
    assert history.loss[0] > 100  # the huge, finite loss of certain wrong answers
    assert np.isfinite(net.parameters).all()


def test_mse_with_saturated_sigmoid_output_has_zero_not_nan_gradient(backend, no_warnings):
    net = _single_layer("sigmoid", "mse", 1e4)
    X = np.array([[1.0, 1.0]])
    dW, db = net.gradients(X, np.array([[0.0, 1.0, 0.0]]))
    assert np.isfinite(dW[0]).all()
    np.testing.assert_array_equal(dW[0], 0.0)  # sigmoid'(+-3e4) underflows to 0


def test_huge_inputs_through_tanh_and_relu_layers(backend, no_warnings):
    X = np.array([[1e6, -1e6], [1e150, 3.0], [-1e150, -1e150]])
    for hidden in ("tanh", "relu", "sigmoid"):
        net = nnfast.Network([2, 5, 3], activation=hidden, loss="cross_entropy", seed=1)
        P = net.feedforward(X)
        assert np.isfinite(P).all(), hidden
        np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
        loss = net.loss(X, [0, 1, 2])
        assert np.isfinite(loss), hidden
        dW, db = net.gradients(X, [0, 1, 2])
        assert all(np.isfinite(g).all() for g in dW + db), hidden


def test_kernels_sigmoid_saturation(backend, no_warnings):
    net = nnfast.Network([1, 1], activation=[], output_activation="sigmoid")
    net.weights[0][:] = 1.0
    out = net.feedforward(np.array([[1000.0], [-1000.0], [0.0]]))[:, 0]
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.5])
    soft = nnfast.Network([1, 2], activation=[], output_activation="softmax")
    soft.weights[0][:] = [[1000.0, 0.0]]
    np.testing.assert_array_equal(soft.feedforward(np.array([1.0])), [1.0, 0.0])
    assert _backend.kernels().name == backend


def test_nan_through_a_relu_layer_is_not_hidden(backend):
    """Overflow mid-training makes NaN pre-activations; relu must pass NaN on (as np.maximum
    does), so the epoch loss is NaN and the divergence guard fires, on both backends."""
    net = nnfast.Network([1, 1, 1], activation="relu", seed=0)
    net.weights[0][:] = np.nan
    grad = np.empty(net.spec.n_params)
    nnfast._backend.kernels().loss_and_gradient(
        net.spec, net.parameters, np.ones((1, 1)), np.zeros((1, 1)), 0.0, 0.0, grad
    )
    dW, db = net.spec.unpack(grad)
    assert np.isnan(dW[1]).all() and np.isnan(db[1]).all()
    # the public methods refuse NaN weights before the kernel runs
    with pytest.raises(ValueError, match="parameters contain NaN or infinity"):
        net.gradients([[1.0]], [0.0])
    with pytest.raises(ValueError, match="parameters contain NaN or infinity"):
        net.train([[1.0], [2.0]], [0.0, 1.0], epochs=3, batch_size=1)
    # and NaN made mid-training (an overflow) stops it as a divergence
    net = nnfast.Network([1, 1, 1], activation="relu", seed=0)
    net.weights[0][:] = 1e200
    with pytest.warns(RuntimeWarning, match="diverged"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="(invalid value|overflow)")
            history = net.train([[1e200], [2e200]], [0.0, 1.0], epochs=3, batch_size=1)
    assert not np.isfinite(history.loss[0]) and history.stopped_epoch == 0
