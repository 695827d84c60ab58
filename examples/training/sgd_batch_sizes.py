"""
Per-sample, mini-batch and full-batch gradient descent
======================================================

``batch_size`` chooses how many samples each update averages its gradient over: 1 is
per-sample (stochastic) gradient descent, ``None`` the full batch, anything between a
mini-batch. Smaller batches make more, noisier updates per epoch. nnfast runs whole epochs
in its compiled loop, so even per-sample SGD costs no Python per step.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
from nnfast.datasets import load_admissions

X, y = load_admissions(preprocess=True)

fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
for batch_size, label in (
    (1, "per sample (batch_size=1)"),
    (32, "mini-batch of 32"),
    (None, "full batch (batch_size=None)"),
):
    net = nf.Network([6, 8, 1], activation="sigmoid", loss="binary_cross_entropy", seed=0)
    start = time.perf_counter()
    history = net.train(X, y, epochs=300, learning_rate=0.1, batch_size=batch_size, seed=0)
    seconds = time.perf_counter() - start
    ax.plot(history.loss, label=f"{label}: {seconds * 1e3:.0f} ms for 300 epochs")
    print(
        f"{label:30s} final loss {history.loss[-1]:.4f}, "
        f"{seconds / 300 * 1e6:.0f} us per epoch of {X.shape[0]} samples"
    )
ax.set(
    xlabel="epoch (counted from 0)",
    ylabel="training loss (binary cross-entropy)",
    title="The same network, learning rate 0.1, three batch sizes",
)
ax.legend()
plt.show()

# %%
# With the same learning rate, per-sample SGD makes 400 updates per epoch and the full
# batch one: it falls fastest per epoch. The full batch's gradient is exact, so its curve
# is smooth; with a learning rate scaled up it would catch up in fewer, larger steps.
print(
    np.round(
        [
            nf.Network([6, 8, 1], loss="binary_cross_entropy", seed=0)
            .train(X, y, epochs=300, learning_rate=lr, batch_size=None)
            .loss[-1]
            for lr in (0.1, 1.0, 5.0)
        ],
        4,
    )
)
