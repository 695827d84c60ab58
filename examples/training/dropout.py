"""
Dropout
=======

During training, dropout switches off each hidden unit with probability ``dropout`` at
every update (and scales the others up by ``1 / (1 - rate)``, so nothing changes at
prediction time). No unit can rely on another one being there, which works against
overfitting: the validation loss stays lower for longer.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons

import nnfast as nf
import nnfast.plot

X, y = make_moons(n_samples=400, noise=0.35, random_state=0)
X_train, X_val, y_train, y_val = X[:120], X[120:], y[:120], y[120:]

fig, axes = plt.subplots(2, 2, figsize=(12, 9), layout="constrained")
for column, rate in enumerate((0.0, 0.5)):
    net = nf.Network([2, 128, 128, 1], activation="relu", loss="binary_cross_entropy", seed=0)
    history = net.train(
        X_train,
        y_train,
        epochs=300,
        learning_rate=0.005,
        batch_size=16,
        optimizer="adam",
        seed=0,
        dropout=rate,
        validation_data=(X_val, y_val),
    )
    print(
        f"dropout {rate}: validation loss lowest {min(history.val_loss):.3f} (epoch "
        f"{history.best_epoch}), at the end {history.val_loss[-1]:.3f}"
    )
    nnfast.plot.model_complexity(history, ax=axes[0, column])
    axes[0, column].set_title(f"dropout={rate}")
    axes[0, column].set_ylim(0, 1.2)
    nnfast.plot.decision_boundary(net, X_train, y_train, ax=axes[1, column], colorbar=column == 1)
plt.show()
