"""
Victor Zhou's first neural network
==================================

"Machine Learning for Beginners: An Introduction to Neural Networks": a neuron, a 2-2-1
sigmoid network, and training it with per-sample SGD on the mean squared error (learning
rate 0.1, 1000 epochs) on four people, to guess gender from weight and height (shifted by
135 lb and 66 in), then predictions for Emily and Frank.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.datasets import load_gender

# A neuron: w = [0, 1], b = 4, x = [2, 3] -> sigmoid(7).
print("neuron:", nf.Neuron([0, 1], 4).feedforward([2, 3]))

# The post's feed-forward example: every neuron with w = [0, 1], b = 0, x = [2, 3].
net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
for W in net.weights:
    W[1, :] = 1.0
print("network output:", net.feedforward([2, 3])[0])

# %%
# Training
# --------
# The post prints the loss every 10 epochs; a ``Callback`` does it here.
data, all_y_trues = load_gender()  # weight - 135 lb, height - 66 in; 1 = female


class PrintLoss(nf.Callback):
    def on_epoch_end(self, epoch, history, network):
        if epoch % 100 == 0:
            print("Epoch %d loss: %.3f" % (epoch, network.loss(data, all_y_trues)))


net = nf.Network(
    [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", init="normal", seed=0
)
history = net.train(
    data,
    all_y_trues,
    epochs=1000,
    learning_rate=0.1,
    batch_size=1,
    shuffle=False,
    callbacks=[PrintLoss()],
)

emily = np.array([-7, -3])  # 128 pounds, 63 inches
frank = np.array([20, 2])  # 155 pounds, 68 inches
print("Emily: %.3f" % net.feedforward(emily)[0])  # the post: 0.951 - F
print("Frank: %.3f" % net.feedforward(frank)[0])  # the post: 0.039 - M

# %%
# The loss falls, and the four people end on the right sides
# ----------------------------------------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
nnfast.plot.loss_curve(history, ax=left)
nnfast.plot.decision_boundary(net, data, all_y_trues, ax=right)
for name, (x1, x2) in zip(("Emily", "Frank"), (emily, frank)):
    right.annotate(name, (x1, x2), xytext=(5, 5), textcoords="offset points")
    right.plot(x1, x2, "k*", markersize=10)
right.set(xlabel="weight - 135 (lb)", ylabel="height - 66 (in)", title="1 = female, 0 = male")
plt.show()
