"""
Random restarts
===============

Gradient descent ends in the minimum nearest to where it starts. Random restarts train
several networks from different random weights and keep the best; nnfast trains them in
parallel threads (its kernels release the GIL) with ``restarts=``, and restart 0 is the run
``restarts=1`` would have made.

A network of 2 tanh units on XOR-like data (the four quadrants) ends in a different place
from each start: some starts carve the quadrants well, others get stuck with a region
missing.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot

rng = np.random.default_rng(3)
X = rng.uniform(-1, 1, size=(300, 2))
y = (X[:, 0] * X[:, 1] > 0).astype(int)


def train(restarts):
    net = nf.Network([2, 2, 1], activation="tanh", loss="binary_cross_entropy", seed=5)
    history = net.train(
        X,
        y,
        epochs=300,
        learning_rate=0.05,
        batch_size=32,
        seed=5,
        optimizer="adam",
        restarts=restarts,
    )
    return net, history


single, _ = train(1)
best, history = train(12)
print("final training loss of each restart:", np.round(history.restart_losses, 3))
print(
    f"kept restart {history.restart} (loss {min(history.restart_losses):.3f}); "
    f"restart 0 alone ends at {history.restart_losses[0]:.3f}"
)

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
axes[0].bar(
    range(12),
    history.restart_losses,
    color=["#67001f" if i == history.restart else "#92c5de" for i in range(12)],
)
axes[0].set(xlabel="restart", ylabel="final training loss", title="12 random starts")
nnfast.plot.decision_boundary(single, X, y, ax=axes[1], colorbar=False)
axes[1].set_title("restarts=1")
nnfast.plot.decision_boundary(best, X, y, ax=axes[2])
axes[2].set_title(f"restarts=12: the best is restart {history.restart}")
plt.show()
