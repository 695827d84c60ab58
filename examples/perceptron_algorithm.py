"""
The perceptron algorithm
========================

The lesson "Perceptron Algorithm" on Udacity's 100 points: start from random weights
(``np.random.seed(42)``, ``W = rand(2)``, ``b = rand() + max(x1)``), learning rate 0.01,
25 passes. Each misclassified point moves the line towards itself (the perceptron trick):
``w += lr * x, b += lr`` for a point labelled 1 on the negative side, ``w -= lr * x,
b -= lr`` for a point labelled 0 on the positive side.

The points are not linearly separable (the best line gets 95 of 100 right), so the
algorithm keeps moving the line and never has a pass without mistakes.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.datasets import load_perceptron_points

X, y = load_perceptron_points()

np.random.seed(42)
W = np.random.rand(2)
b = np.random.rand() + X[:, 0].max()

perceptron = nf.Perceptron(learning_rate=0.01, max_epochs=25)
perceptron.fit(X, y, coef_init=W, intercept_init=b)

# %%
# The line after every pass
# -------------------------
# ``boundary_lines_`` holds ``[w1, w2, b]`` after each pass; the lesson draws each line as
# ``x2 = -w1 / w2 * x1 - b / w2``.
print(f"start:    {W[0]:.4f} x1 + {W[1]:.4f} x2 + {b:.4f} = 0")
for epoch, ((w1, w2, bias), mistakes) in enumerate(
    zip(perceptron.boundary_lines_, perceptron.errors_), start=1
):
    print(
        f"pass {epoch:2d}: {mistakes:2d} mistakes, line x2 = {-w1 / w2:7.4f} x1 + {-bias / w2:7.4f}"
    )
print(perceptron)
print(f"accuracy after {perceptron.n_iter_} passes: {perceptron.score(X, y):.2f}")

fig, (ax, right) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
xs = np.array([-0.05, 1.05])
lines = [np.r_[W, b]] + list(perceptron.boundary_lines_)
colours = plt.cm.viridis(np.linspace(0, 1, len(lines)))
for (w1, w2, bias), colour in zip(lines, colours):
    ax.plot(xs, -w1 / w2 * xs - bias / w2, color=colour, linewidth=1, alpha=0.8)
ax.plot(
    xs,
    -lines[-1][0] / lines[-1][1] * xs - lines[-1][2] / lines[-1][1],
    color="k",
    linewidth=2.5,
    label="after the last pass",
)
ax.scatter(*X[y == 1].T, color="#053061", edgecolors="white", s=40, label="label 1")
ax.scatter(*X[y == 0].T, color="#67001f", marker="s", edgecolors="white", s=40, label="label 0")
ax.set(
    xlim=(-0.05, 1.05),
    ylim=(-0.1, 1.1),
    xlabel="x1",
    ylabel="x2",
    title="The line moves with every misclassified point",
)
fig.colorbar(
    plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, len(lines) - 1)),
    ax=ax,
    label="pass (0 = the random start)",
)
ax.legend(loc="lower left", fontsize="small")
nnfast.plot.loss_curve(perceptron, ax=right)
plt.show()
