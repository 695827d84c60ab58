"""
L1 and L2 regularisation
========================

Both add a penalty on the weights to the loss: L1 adds ``l1 * sum |w|``, L2 adds
``l2 / 2 * sum w**2`` (never on the biases). L2's gradient ``l2 * w`` shrinks every weight
in proportion to its size, so weights get small but rarely zero; L1's ``l1 * sign(w)``
pulls every weight by the same amount, so the unimportant ones end at (or next to) zero:
a sparse network that ignores what does not matter.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons

import nnfast as nf
import nnfast.plot

rng = np.random.default_rng(0)
X, y = make_moons(n_samples=200, noise=0.25, random_state=1)
X = np.column_stack([X, rng.normal(size=(200, 8))])  # 8 inputs that are pure noise

runs = {"no penalty": {}, "L2 (l2=0.01)": {"l2": 0.01}, "L1 (l1=0.003)": {"l1": 0.003}}
nets = {}
for name, penalty in runs.items():
    net = nf.Network([10, 32, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    net.train(X, y, epochs=400, learning_rate=0.05, batch_size=16, seed=0, **penalty)
    nets[name] = net
    W = net.weights[0]
    accuracy = ((net.feedforward(X)[:, 0] > 0.5) == y).mean()
    print(
        f"{name:14s} first-layer weights below 0.01: {(np.abs(W) < 0.01).mean():4.0%}; "
        f"mean |w| from a real input {np.abs(W[:2]).mean():.3f}, from a noise input "
        f"{np.abs(W[2:]).mean():.3f}; training accuracy {accuracy:.3f}"
    )

# %%
# The weights
# -----------
# The first layer's weights, one row per input: L1 leaves the rows of the noise inputs
# nearly empty.
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
limit = max(np.abs(net.weights[0]).max() for net in nets.values())
for ax, (name, net) in zip(axes, nets.items()):
    image = ax.imshow(net.weights[0], cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set(title=name, xlabel="hidden unit", ylabel="input (0, 1: real; 2-9: noise)")
fig.colorbar(image, ax=axes, label="weight")
plt.show()

# %%
# The distribution of the weights
# -------------------------------
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
bins = np.linspace(-limit, limit, 61)
for name, net in nets.items():
    ax.hist(net.weights[0].ravel(), bins=bins, histtype="step", linewidth=2, label=name)
ax.set(
    xlabel="first-layer weight",
    ylabel="count",
    yscale="log",
    title="L1 piles weights at 0; L2 keeps them small",
)
ax.legend()
plt.show()
