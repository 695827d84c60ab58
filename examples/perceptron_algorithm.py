"""The perceptron algorithm on Udacity's 100 points (lesson: "Perceptron Algorithm").

Like the lesson's solution: start from random weights (np.random.seed(42), W = rand(2),
b = rand() + max(x1)), learning rate 0.01, 25 passes; print the line after each pass and
the final accuracy. The points are not linearly separable (the best line gets 95 of 100
right), so the algorithm keeps moving the line and never has a pass without mistakes.
"""
import numpy as np

import nnfast as nf
from nnfast.datasets import load_perceptron_points

X, y = load_perceptron_points()

np.random.seed(42)
W = np.random.rand(2)
b = np.random.rand() + X[:, 0].max()

perceptron = nf.Perceptron(learning_rate=0.01, max_epochs=25)
perceptron.fit(X, y, coef_init=W, intercept_init=b)

print(f"start:    {W[0]:.4f} x1 + {W[1]:.4f} x2 + {b:.4f} = 0")
for epoch, ((w1, w2, bias), mistakes) in enumerate(
        zip(perceptron.boundary_lines_, perceptron.errors_), start=1):
    # The lesson plots each line as x2 = slope * x1 + intercept.
    print(f"pass {epoch:2d}: {mistakes:2d} mistakes, line x2 = {-w1 / w2:7.4f} x1 + "
          f"{-bias / w2:7.4f}")
print(perceptron)
print(f"accuracy after {perceptron.n_iter_} passes: {perceptron.score(X, y):.2f}")
