"""
MNIST, and what the first layer learns
======================================

The handwritten digits: 60,000 training and 10,000 test images of 28 x 28 pixels,
loaded by ``nnfast.datasets.load_mnist`` (from ``$NNFAST_DATA``, the cache
``~/.cache/nnfast``, or downloaded once and checked against SHA-256). A 784-64-10 network
trained for a few epochs on 20,000 of the images gets most test digits right; the weights
into each hidden unit, drawn as a 28 x 28 image, show the strokes that unit looks for.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.datasets import load_mnist

(X_train, y_train), (X_test, y_test) = load_mnist()
print(
    f"train {X_train.shape} {X_train.dtype} in [{X_train.min()}, {X_train.max()}], "
    f"test {X_test.shape}"
)

fig, axes = plt.subplots(2, 8, figsize=(10, 3), layout="constrained")
for ax, image, label in zip(axes.ravel(), X_train, y_train):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()

# %%
# Training
# --------
# 20,000 training images, mini-batches of 64, SGD with momentum; the last 5,000 of them
# held out to watch the validation loss.
net = nf.Network([784, 64, 10], activation="relu", loss="cross_entropy", seed=0)
start = time.perf_counter()
history = net.train(
    X_train[:20000],
    y_train[:20000],
    epochs=8,
    learning_rate=0.05,
    batch_size=64,
    optimizer=nf.SGD(momentum=0.9),
    seed=0,
    validation_split=0.25,
)
seconds = time.perf_counter() - start
accuracy = (net.feedforward(X_test).argmax(axis=1) == y_test).mean()
print(f"{history.epochs} epochs in {seconds:.1f} s; test accuracy {accuracy:.4f}")

nnfast.plot.loss_curve(history)
plt.show()

# %%
# The first layer's weights
# -------------------------
# Red pixels push a unit's input up, blue ones down: each unit weighs a pattern of strokes.
fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
nnfast.plot.first_layer_weights(net, image_shape=(28, 28), ax=ax)
plt.show()

# %%
# The digits it gets wrong
# ------------------------
predicted = net.feedforward(X_test).argmax(axis=1)
wrong = np.flatnonzero(predicted != y_test)[:16]
fig, axes = plt.subplots(2, 8, figsize=(10, 3.2), layout="constrained")
for ax, i in zip(axes.ravel(), wrong):
    ax.imshow(X_test[i].reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{y_test[i]} as {predicted[i]}", fontsize="small")
    ax.axis("off")
plt.show()
