"""The numbers of Victor Zhou's "Machine Learning for Beginners: An Introduction to Neural
Networks" (victorzhou.com/blog/intro-to-neural-networks), on both backends."""

import math

import numpy as np
import pytest

import nnfast

# name: (weight, height) shifted by (135 lb, 66 in), gender 1 = female
PEOPLE = {
    "Alice": ([-2, -1], 1),
    "Bob": ([25, 6], 0),
    "Charlie": ([17, 4], 0),
    "Diana": ([-15, -6], 1),
}
X = np.array([x for x, _ in PEOPLE.values()], dtype=float)
Y = np.array([y for _, y in PEOPLE.values()], dtype=float)


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_neuron(backend):
    """A neuron with w = [0, 1], b = 4 on x = [2, 3]: sigmoid(7) = 0.999..."""
    net = nnfast.Network([2, 1], output_activation="sigmoid")
    net.weights[0][:, 0] = [0, 1]
    net.biases[0][:] = 4
    out = net.feedforward(np.array([2.0, 3.0]))
    assert out.shape == (1,)
    assert out[0] == pytest.approx(0.9990889488055994, rel=1e-15, abs=0)
    assert out[0] == pytest.approx(sigmoid(7.0), rel=1e-15)


def tutorial_network():
    """The 2-2-1 network where every neuron has w = [0, 1], b = 0."""
    net = nnfast.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid")
    net.weights[0][:] = [[0, 0], [1, 1]]  # W[input, unit]: input 0 weighs 0, input 1 weighs 1
    net.weights[1][:] = [[0], [1]]
    for b in net.biases:
        b[:] = 0
    return net


def test_feedforward_of_the_2_2_1_network(backend):
    out = tutorial_network().feedforward([2.0, 3.0])
    assert out[0] == pytest.approx(0.7216325609518421, rel=1e-15)
    h = sigmoid(3.0)  # both hidden units: 0 * 2 + 1 * 3
    assert out[0] == pytest.approx(sigmoid(h), rel=1e-15)


def test_mse_example():
    assert nnfast.losses.mse([1, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert nnfast.losses.mse(np.array([1, 0, 0, 1]), np.array([0, 0, 0, 0])) == 0.5


def test_partial_derivative_for_alice(backend):
    """All weights 1 and biases 0: dL/dw1 for Alice is 0.0214 (the tutorial rounds its
    intermediate values; the exact chain-rule value is 0.02147...)."""
    net = nnfast.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse")
    for W in net.weights:
        W[...] = 1.0
    for b in net.biases:
        b[...] = 0.0
    x, y = np.array([-2.0, -1.0]), 1.0
    assert net.loss([x], [y]) == pytest.approx((1 - net.feedforward(x)[0]) ** 2, rel=1e-14)
    dW, db = net.gradients([x], [y])
    d_w1 = dW[0][0, 0]
    assert abs(d_w1 - 0.0214) < 1e-4  # 0.0214 to four decimals, as in the tutorial
    # the tutorial's chain rule, unrounded
    h = sigmoid(x.sum())  # h1 = h2 = f(-3)
    o = sigmoid(2 * h)  # y_pred = f(w5 h1 + w6 h2 + b3)
    dL_dypred = -2 * (y - o)
    dypred_dh1 = 1.0 * o * (1 - o)  # w5 f'(sum_o1)
    dh1_dw1 = x[0] * h * (1 - h)  # x1 f'(sum_h1)
    assert d_w1 == pytest.approx(dL_dypred * dypred_dh1 * dh1_dw1, rel=1e-12)
    assert d_w1 == pytest.approx(0.021469535265811114, rel=1e-12)
    assert o == pytest.approx(0.524, abs=5e-4)


def test_training_the_gender_classifier(backend):
    net = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", seed=1
    )
    history = net.train(X, Y, epochs=1000, learning_rate=0.1, batch_size=1)
    assert len(history.loss) == 1000
    assert all(np.isfinite(history.loss))
    assert history.loss[-1] < 0.01
    assert history.loss[-1] < history.loss[0] / 10
    assert net.loss(X, Y) < 0.01
    emily, frank = net.feedforward(np.array([[-7.0, -3.0], [20.0, 2.0]]))[:, 0]
    assert emily > 0.5  # female
    assert frank < 0.5  # male
    np.testing.assert_array_equal(net.feedforward(X)[:, 0] > 0.5, Y == 1)


@pytest.mark.parametrize("seed", [0, 2])
def test_training_converges_from_other_seeds(seed, backend):
    net = nnfast.Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", seed=seed
    )
    history = net.train(X, Y, epochs=1000, learning_rate=0.1, batch_size=1)
    assert history.loss[-1] < 0.05 and history.loss[-1] < history.loss[0]
    emily, frank = net.feedforward(np.array([[-7.0, -3.0], [20.0, 2.0]]))[:, 0]
    assert emily > 0.5 > frank
