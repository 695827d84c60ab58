"""
Logic gates and XOR
===================

AND, OR, NOT and NAND are single perceptrons with hand-set weights: each draws one line
and outputs 1 on one side of it. XOR is not linearly separable, so no single perceptron
computes it; two layers do: ``XOR(a, b) = AND(NAND(a, b), OR(a, b))``. A small network
trained on the four points finds such a solution by itself.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.logic import AND, NAND, NOT, OR, XOR, truth_table, xor_network

for gate in (AND, OR, NAND):
    print(gate)
    for (a, b), out in gate.truth_table():
        print(f"  {a} {b} -> {out}")
print(NOT)
for (a,), out in NOT.truth_table():
    print(f"  {a} -> {out}")

net = xor_network()
print("XOR = AND(NAND(a, b), OR(a, b)) as", net)
print("  a b  XOR  network")
for (a, b), out in truth_table(XOR):
    print(f"  {a} {b}   {out}      {int(net.feedforward([a, b])[0])}")

# %%
# One line per gate
# -----------------
# Each gate's perceptron splits the plane with one line ``w1 a + w2 b + bias = 0``; the
# four corners are the inputs, coloured by the gate's output.
corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), layout="constrained")
for ax, gate in zip(axes, (AND, OR, NAND)):
    nnfast.plot.decision_boundary(
        gate, corners, gate.predict(corners), ax=ax, resolution=150, colorbar=ax is axes[-1]
    )
    ax.set_title(f"{gate.name}: w = {gate.coef_.tolist()}, b = {gate.intercept_:g}")
plt.show()

# %%
# XOR needs a hidden layer
# ------------------------
# A 2-4-1 network with tanh hidden units, trained on the four points by full-batch
# gradient descent on the binary cross-entropy, bends its boundary around the corners.
xor_labels = np.array([0, 1, 1, 0])
trained = nf.Network([2, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
trained.train(corners, xor_labels, epochs=2000, learning_rate=0.5, batch_size=None)
print("trained network:", np.round(trained.feedforward(corners).ravel(), 3))
ax = nnfast.plot.decision_boundary(trained, corners, xor_labels)
ax.set_title("XOR learned by a 2-4-1 network")
plt.show()
