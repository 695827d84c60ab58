"""
The model-complexity graph and early stopping
=============================================

A network much larger than its 100 noisy training points learns them, then their noise:
the training loss keeps falling while the loss on held-out validation data falls, then
rises. The epoch where the validation loss is lowest is where to stop; early stopping
watches it and gives the network back the weights of that epoch.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons

import nnfast as nf
import nnfast.plot

X, y = make_moons(n_samples=300, noise=0.35, random_state=0)
X_train, X_val, y_train, y_val = X[:100], X[100:], y[:100], y[100:]


def network():
    return nf.Network([2, 64, 64, 1], activation="relu", loss="binary_cross_entropy", seed=0)


overfit = network()
history = overfit.train(
    X_train,
    y_train,
    epochs=600,
    learning_rate=0.01,
    batch_size=16,
    optimizer="adam",
    seed=0,
    validation_data=(X_val, y_val),
)
stopped = network()
early = stopped.train(
    X_train,
    y_train,
    epochs=600,
    learning_rate=0.01,
    batch_size=16,
    optimizer="adam",
    seed=0,
    validation_data=(X_val, y_val),
    early_stopping=nf.EarlyStopping(patience=30),
)
print(
    f"without early stopping: {history.epochs} epochs, validation loss at the end "
    f"{history.val_loss[-1]:.3f}, lowest {min(history.val_loss):.3f} "
    f"(epoch {history.best_epoch})"
)
print(
    f"with early stopping:    stopped after epoch {early.stopped_epoch}, weights of epoch "
    f"{early.best_epoch} (validation loss {early.val_loss[early.best_epoch]:.3f})"
)

# %%
# The graph
# ---------
# Epochs are counted from 0, as ``History.best_epoch`` counts them.
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.3), sharey=True, layout="constrained")
nnfast.plot.model_complexity(history, ax=left)
left.set_title("600 epochs: the validation loss turns up")
nnfast.plot.model_complexity(early, ax=right)
right.set_title("Early stopping (patience 30)")
plt.show()

# %%
# What the two networks learned
# -----------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
nnfast.plot.decision_boundary(overfit, X_train, y_train, ax=left, colorbar=False)
left.set_title("600 epochs: boundary around the noise")
nnfast.plot.decision_boundary(stopped, X_train, y_train, ax=right)
right.set_title(f"weights of epoch {early.best_epoch}")
plt.show()
