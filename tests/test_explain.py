"""nnfast.explain: one training step in the tutorials' notation, held to the tutorials'
worked examples, to the NumPy reference and to finite differences."""

import numpy as np
import pytest

import nnfast as nf
from nnfast import _reference


def zhou_network(weight=None):
    """Victor Zhou's 2-2-1 sigmoid network; every weight ``weight`` (or w = [0, 1] per
    neuron when None), every bias 0."""
    net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
    for W in net.weights:
        if weight is None:
            W[1, :] = 1.0
        else:
            W[...] = weight
    return net


def test_zhou_feedforward_example(cython_kernels):
    step = nf.explain(zhou_network(), [2, 3], 1)
    assert step.kernel_backend == "cython"
    assert step.output[0] == 0.7216325609518421  # the post's number, from the kernel
    np.testing.assert_allclose(step.layers[0].a.kernel, [0.9525741268224334] * 2, rtol=1e-15)


def test_zhou_backprop_example():
    """The post's backprop example: Alice (x = [-2, -1], y = 1), all weights 1, biases 0:
    h1 = h2 = 0.0474, o1 = 0.524, dL/dw1 = 0.0214 (the post multiplies factors rounded to
    3 digits: -0.952 * 0.249 * -0.0904; unrounded it is 0.02147)."""
    step = nf.explain(zhou_network(1.0), [-2, -1], 1)
    hidden, output = step.layers
    np.testing.assert_allclose(hidden.z.kernel, [-3, -3])
    assert np.round(hidden.a.kernel, 4).tolist() == [0.0474, 0.0474]
    assert round(float(step.output[0]), 3) == 0.524
    assert abs(hidden.grad_W.kernel[0, 0] - 0.0214) < 1e-4  # w1: from x1 into h1
    assert abs(hidden.grad_W.kernel[0, 0] - -0.952 * 0.249 * -0.0904) < 1e-4
    # dL/dy_pred = -2 (1 - 0.524) = -0.952 and f'(0.0948) = 0.249 in the post
    assert abs(output.delta.kernel[0] - -0.952 * 0.249) < 1e-3


def test_udacity_backprop_example():
    """Udacity's worked example: x = [0.1, 0.3], y = 1, input-to-hidden weights
    [0.4, -0.2], hidden-to-output 0.1, no biases, sigmoids, learning rate 0.5 on the error
    (y - y_hat): output error term 0.122, hidden 0.003, weight steps 0.0302 and
    (0.00015, 0.00045). nnfast minimises (y - y_hat)^2, whose gradient is twice the lesson's
    error term, so learning rate 0.25 makes the same steps. (The lesson rounds the hidden
    error term to 0.003 before its last step; unrounded, 0.5 * 0.003046 * 0.3 = 0.000457.)"""
    net = nf.Network([2, 1, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
    net.weights[0][:, 0] = [0.4, -0.2]
    net.weights[1][0, 0] = 0.1
    step = nf.explain(net, [0.1, 0.3], 1, learning_rate=0.25)
    hidden, output = step.layers
    assert round(float(hidden.a.kernel[0]), 3) == 0.495
    assert round(float(step.output[0]), 3) == 0.512
    assert round(float(-output.delta.kernel[0] / 2), 3) == 0.122
    assert round(float(-hidden.delta.kernel[0] / 2), 3) == 0.003
    assert round(float(output.W_after.kernel[0, 0] - 0.1), 4) == 0.0302
    np.testing.assert_allclose(
        hidden.W_after.kernel[:, 0] - [0.4, -0.2], [0.5 * 0.003 * 0.1, 0.5 * 0.003 * 0.3], atol=1e-5
    )


@pytest.mark.parametrize(
    "sizes, activation, output, loss, y",
    [
        ([3, 4, 2], "tanh", "identity", "mse", [0.5, -1.0]),
        ([3, 5, 4, 1], "relu", "sigmoid", "binary_cross_entropy", 1),
        ([3, 4, 3], "sigmoid", "softmax", "cross_entropy", 2),
        ([3, 4, 2], "tanh", "sigmoid", "binary_cross_entropy", [1, 0]),
        ([3, 3, 3], "tanh", "softmax", "mse", [0, 1, 0]),
    ],
)
def test_kernel_reference_and_finite_differences_agree(sizes, activation, output, loss, y):
    net = nf.Network(sizes, activation=activation, output_activation=output, loss=loss, seed=3)
    before = net.parameters.copy()
    x = np.random.default_rng(1).normal(size=sizes[0])
    step = nf.explain(net, x, y, learning_rate=0.05)
    np.testing.assert_array_equal(net.parameters, before)  # the network is not changed
    assert step.max_difference_reference < 1e-12
    assert step.max_difference_finite < 1e-6
    assert step.max_difference_update < 1e-15
    assert len(step.layers) == len(sizes) - 1
    # the chain rule, layer by layer: delta_l = (delta_{l+1} W_{l+1}^T) * f'(z_l)
    for l in range(len(step.layers) - 1):
        here, above = step.layers[l], step.layers[l + 1]
        derivative = nf.activations.get(activation).derivative(here.z.kernel)
        np.testing.assert_allclose(
            here.delta.kernel, (above.W @ above.delta.kernel) * derivative, atol=1e-14
        )
        inputs = x if l == 0 else step.layers[l - 1].a.kernel
        np.testing.assert_allclose(
            here.grad_W.kernel, np.outer(inputs, here.delta.kernel), atol=1e-14
        )
    assert step.loss_after.kernel < step.loss.kernel  # a small step downhill


def test_a_wrong_reference_shows(monkeypatch):
    """The columns are computed separately: a reference that is off shows as a difference."""
    real = _reference.layer_outputs

    def off(spec, params, X, outs, pre_activations=False):
        real(spec, params, X, outs, pre_activations)
        for out in outs:
            out += 1e-3

    monkeypatch.setattr(_reference, "layer_outputs", off)
    step = nf.explain(zhou_network(), [2, 3], 1)
    assert step.max_difference_reference >= 1e-3


def test_text_and_html():
    step = nf.explain(zhou_network(1.0), [-2, -1], 1)
    text = str(step)
    for piece in (
        "z_1 = x W_1 + b_1",
        "a_2 = sigmoid(z_2)   = the prediction",
        "z_2 = a_1 W_2 + b_2",
        "delta_1 = (delta_2 W_2^T) * f'(z_1)",
        "dL/dW_1 = x^T delta_1",
        "W_2 = W_2 - eta dL/dW_2",
        "finite d.",
        "kernel",
        "reference",
        "0.047426",
    ):
        assert piece in text, piece
    assert text.index("Forward") < text.index("Backward") < text.index("Update")
    page = step._repr_html_()
    assert page.startswith('<table class="nnfast-explain">') and page.endswith("</table>")
    assert page.count("<tr>") == 1 + 3 + (2 * 2 + 1) + 3 * 2 + (2 * 2 + 1)
    assert "0.047426" in page and "finite differences" in page
    assert "loss 0.226866 -> " in repr(step)
    quick = nf.explain(zhou_network(1.0), [-2, -1], 1, finite_differences=False)
    assert quick.layers[0].grad_W.check is None and quick.max_difference_finite == 0.0
    assert "finite d." not in str(quick)


def test_bad_input():
    net = zhou_network()
    with pytest.raises(TypeError, match="explain needs an nnfast Network"):
        nf.explain(object(), [1, 2], 1)
    clf = nf.LogisticRegression(max_epochs=2).fit([[0, 0], [1, 1]], [0, 1])
    with pytest.raises(TypeError, match="pass its network_"):
        nf.explain(clf, [1, 2], 1)
    with pytest.raises(ValueError, match="explain shows one sample"):
        nf.explain(net, [[1, 2], [3, 4]], [1, 0])
    with pytest.raises(ValueError, match="X has 3 features per sample"):
        nf.explain(net, [1, 2, 3], 1)
    with pytest.raises(ValueError, match="learning_rate"):
        nf.explain(net, [1, 2], 1, learning_rate=0)
    with pytest.raises(ValueError, match="NaN"):
        nf.explain(net, [1, np.nan], 1)
