"""
Logistic regression by gradient descent
=======================================

Udacity's notebook "GradientDescent.ipynb": the 100 points, weights drawn with
``np.random.seed(44)`` from a normal of scale ``1/sqrt(n_features)``, bias 0, learning rate
0.01, 100 epochs of per-sample updates ``w += lr (y - p) x, b += lr (y - p)`` with
``p = sigmoid(w.x + b)``. That update is the gradient step of the log-loss (binary
cross-entropy) ``-(y ln p + (1 - y) ln(1 - p))``.

Every 10% of the epochs it prints the training loss and accuracy; here each epoch is one
warm-started ``fit``, so the loss is measured at the end of the epoch, as the notebook does.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.datasets import load_perceptron_points

# %%
# The log-loss
# ------------
# A confident right answer costs almost nothing, a confident wrong one costs a lot: the
# loss of one point is ``-ln p`` when its label is 1 and ``-ln(1 - p)`` when it is 0.
p = np.linspace(0.001, 0.999, 400)
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
ax.plot(p, -np.log(p), label="label 1: -ln p")
ax.plot(p, -np.log(1 - p), label="label 0: -ln(1 - p)")
ax.set(
    xlabel="predicted probability p of label 1",
    ylabel="log-loss",
    ylim=(0, 5),
    title="The log-loss of one point",
)
ax.legend()
plt.show()

# %%
# Gradient descent, one epoch at a time
# -------------------------------------
X, y = load_perceptron_points()
epochs, learnrate = 100, 0.01

np.random.seed(44)
weights = np.random.normal(scale=1 / X.shape[1] ** 0.5, size=X.shape[1])

model = nf.LogisticRegression(
    learning_rate=learnrate, max_epochs=1, batch_size=1, shuffle=False, warm_start=True
)
last_loss = None
lines, errors = [], []
for e in range(epochs):
    if e == 0:
        model.fit(X, y, coef_init=weights, intercept_init=0.0)
    else:
        model.fit(X, y)
    out = model.predict_proba(X)[:, 1]
    loss = nf.losses.binary_cross_entropy(y, out)
    lines.append((*model.coef_.ravel(), model.intercept_[0]))
    errors.append(loss)
    if e % (epochs // 10) == 0:
        print("\n========== Epoch", e, "==========")
        warning = "  WARNING - Loss Increasing" if last_loss and last_loss < loss else ""
        print("Train loss: ", loss, warning)
        last_loss = loss
        print("Accuracy: ", model.score(X, y))

print("\nFinal weights:", model.coef_.ravel(), "bias:", model.intercept_[0])
print("Final accuracy:", model.score(X, y))

# %%
# The boundary after each epoch, and the error
# --------------------------------------------
# As in the notebook: the line ``w1 x1 + w2 x2 + b = 0`` after every epoch (light to dark),
# the last one in black, and the log-loss per epoch.
fig, (ax, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
xs = np.array([-0.05, 1.05])
for (w1, w2, b), colour in zip(lines, plt.cm.Greens(np.linspace(0.2, 0.9, len(lines)))):
    ax.plot(xs, -w1 / w2 * xs - b / w2, color=colour, linewidth=0.8)
w1, w2, b = lines[-1]
ax.plot(xs, -w1 / w2 * xs - b / w2, color="k", linewidth=2.5, label="after the last epoch")
ax.scatter(*X[y == 1].T, color="#053061", edgecolors="white", s=40, label="label 1")
ax.scatter(*X[y == 0].T, color="#67001f", marker="s", edgecolors="white", s=40, label="label 0")
ax.set(
    xlim=(-0.05, 1.05),
    ylim=(-0.1, 1.1),
    xlabel="x1",
    ylabel="x2",
    title="Solution boundary after each epoch",
)
ax.legend(loc="lower left", fontsize="small")
nnfast.plot.loss_curve(errors, ax=right)
right.set(ylabel="log-loss at the end of the epoch", title="Error plot")
plt.show()
