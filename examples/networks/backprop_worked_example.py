"""
Feedforward and backpropagation, number by number
=================================================

``nf.explain(net, x, y)`` shows one step of per-sample gradient descent in the tutorials'
notation: every ``z_l = a_{l-1} W_l + b_l`` and ``a_l = f(z_l)``, every ``delta_l = dL/dz_l``,
gradient ``dL/dW_l = a_{l-1}^T delta_l`` and update ``W_l - eta dL/dW_l``. Each number is
computed by the compiled kernel, beside the NumPy reference backend and finite
differences. Here it replays the worked examples of two tutorials.
"""

import numpy as np

import nnfast as nf

# %%
# Victor Zhou's feedforward example
# ---------------------------------
# A 2-2-1 sigmoid network whose every neuron has ``w = [0, 1]`` and ``b = 0``, on
# ``x = [2, 3]``: ``h1 = h2 = sigmoid(3) = 0.9526``, ``o1 = sigmoid(0.9526 + 0.9526) = 0.7216``.
net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
for W in net.weights:
    W[1, :] = 1.0
step = nf.explain(net, [2, 3], 1)
print("output:", step.output[0])

# %%
# Victor Zhou's backpropagation example
# -------------------------------------
# Alice (``x = [-2, -1]``, female: ``y = 1``), every weight 1 and every bias 0. The post
# finds ``h1 = 0.0474``, ``o1 = 0.524`` and ``dL/dw1 = 0.0214`` (``w1`` links ``x1`` to
# ``h1``: ``W_1[0, 0]`` here). The table shows every number of the step; ``print(step)``
# gives the same as text.
net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
for W in net.weights:
    W[...] = 1.0
step = nf.explain(net, [-2, -1], 1, learning_rate=0.1)
step

# %%
print("dL/dw1 =", step.layers[0].grad_W.kernel[0, 0])

# %%
# Udacity's backpropagation example
# ---------------------------------
# ``x = [0.1, 0.3]``, target 1, input-to-hidden weights ``[0.4, -0.2]``, hidden-to-output
# weight 0.1, sigmoids, no biases. The lesson's error term of the output is
# ``(y - y_hat) f'(z) = 0.122`` and its learning rate 0.5 multiplies that error. nnfast's
# ``mse`` is ``(y - y_hat)^2``, whose gradient is twice the lesson's (which differentiates
# ``(y - y_hat)^2 / 2``), so ``delta = -2 * 0.122`` and a learning rate of 0.25 takes the
# lesson's steps: 0.0302 for the hidden-to-output weight.
net = nf.Network([2, 1, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
net.weights[0][:, 0] = [0.4, -0.2]
net.weights[1][0, 0] = 0.1
step = nf.explain(net, [0.1, 0.3], 1, learning_rate=0.25)
print(step)
hidden, output = step.layers
print()
print(f"output error term (lesson's sign and scale): {-output.delta.kernel[0] / 2:.4f}")
print(f"hidden error term:                          {-hidden.delta.kernel[0] / 2:.4f}")
print(f"step of the hidden-to-output weight:        {output.W_after.kernel[0, 0] - 0.1:.4f}")
print(
    "steps of the input-to-hidden weights:       ",
    np.round(hidden.W_after.kernel[:, 0] - [0.4, -0.2], 6),
)
