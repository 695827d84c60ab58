"""Logistic regression by gradient descent (Udacity notebook "GradientDescent.ipynb").

The notebook's setup: the 100 points, weights drawn with np.random.seed(44) from a normal
of scale 1/sqrt(n_features), bias 0, learning rate 0.01, 100 epochs of per-sample updates
w += lr (y - p) x, b += lr (y - p). Every 10% of the epochs it prints the training loss
(mean binary cross-entropy) and accuracy; here each epoch is one warm-started ``fit`` so
the loss is measured at the end of the epoch, as the notebook does.
"""
import numpy as np

import nnfast as nf
from nnfast.datasets import load_perceptron_points

X, y = load_perceptron_points()
epochs, learnrate = 100, 0.01

np.random.seed(44)
weights = np.random.normal(scale=1 / X.shape[1] ** 0.5, size=X.shape[1])

model = nf.LogisticRegression(learning_rate=learnrate, max_epochs=1, batch_size=1,
                              shuffle=False, warm_start=True)
last_loss = None
for e in range(epochs):
    if e == 0:
        model.fit(X, y, coef_init=weights, intercept_init=0.0)
    else:
        model.fit(X, y)
    if e % (epochs // 10) == 0:
        out = model.predict_proba(X)[:, 1]
        loss = nf.losses.binary_cross_entropy(y, out)
        print("\n========== Epoch", e, "==========")
        warning = "  WARNING - Loss Increasing" if last_loss and last_loss < loss else ""
        print("Train loss: ", loss, warning)
        last_loss = loss
        print("Accuracy: ", model.score(X, y))

print("\nFinal weights:", model.coef_.ravel(), "bias:", model.intercept_[0])
print("Final accuracy:", model.score(X, y))
