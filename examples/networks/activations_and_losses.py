"""
Activations, losses and their derivatives
=========================================

A neuron computes ``f(w.x + b)``. Backpropagation needs the derivative of every
activation ``f'(z)`` and of the loss with respect to the prediction; nnfast's activations
and losses are callable objects that carry both (``nf.activations.sigmoid.derivative``,
``nf.losses.mse.gradient``). Labels of several classes become one-hot rows for the softmax
output and the cross-entropy.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf

# %%
# Activations and their derivatives
# ----------------------------------
z = np.linspace(-4, 4, 401)
names = ["sigmoid", "tanh", "relu", "step", "identity"]
fig, axes = plt.subplots(1, len(names), figsize=(15, 3.2), sharex=True, layout="constrained")
for ax, name in zip(axes, names):
    f = nf.activations.get(name)
    ax.plot(z, f(z), label="f(z)")
    ax.plot(z, f.derivative(z), "--", label="f'(z)")
    ax.axhline(0, color="0.8", linewidth=0.8, zorder=0)
    ax.set(title=name, xlabel="z")
axes[0].legend()
plt.show()

# %%
# The sigmoid's derivative is written in terms of its value: ``f'(z) = f(z) (1 - f(z))``,
# largest (0.25) at ``z = 0``. Victor Zhou's neuron, ``w = [0, 1], b = 4`` on ``x = [2, 3]``:
print("sigmoid(7) =", nf.Neuron([0, 1], 4).feedforward([2, 3]))
print("sigmoid'(0) =", float(nf.activations.sigmoid.derivative(0.0)))

# %%
# Softmax and one-hot labels
# --------------------------
# Softmax turns a row of scores into probabilities that sum to 1; the cross-entropy
# compares them with the one-hot row of the true class.
scores = np.array([[2.0, 1.0, 0.1]])
probabilities = nf.activations.softmax(scores)
labels = nf.one_hot([0, 2, 1], 3)
print("softmax([2, 1, 0.1]) =", np.round(probabilities, 4))
print("one_hot([0, 2, 1]) =\n", labels)
print(
    "cross-entropy of that prediction for class 0:",
    nf.losses.cross_entropy(labels[:1], probabilities),
)

# %%
# Losses and their gradients
# --------------------------
# For one target ``y = 1``: the squared error, the binary cross-entropy (log-loss), and
# their derivatives with respect to the prediction ``p``, which start backpropagation.
p = np.linspace(0.01, 0.99, 300)[:, None]
ones = np.ones_like(p)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
for ax, name in zip(axes, ("mse", "binary_cross_entropy")):
    loss = nf.losses.get(name)
    values = [loss(ones[i : i + 1], p[i : i + 1]) for i in range(p.shape[0])]
    gradients = [loss.gradient(ones[i : i + 1], p[i : i + 1]).item() for i in range(p.shape[0])]
    ax.plot(p, values, label="L(1, p)")
    ax.plot(p, gradients, "--", label="dL/dp")
    ax.axhline(0, color="0.8", linewidth=0.8, zorder=0)
    ax.set(title=name, xlabel="prediction p (target 1)", ylim=(-6, 5))
    ax.legend()
plt.show()
