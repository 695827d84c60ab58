"""Victor Zhou's first neural network: guess gender from weight and height.

"Machine Learning for Beginners: An Introduction to Neural Networks": a neuron, a 2-2-1
sigmoid network, and training it with per-sample SGD on the mean squared error
(learn rate 0.1, 1000 epochs) on four people, printing the loss as it goes, then
predictions for Emily and Frank.
"""
import numpy as np

import nnfast as nf
from nnfast.datasets import load_gender

# A neuron: w = [0, 1], b = 4, x = [2, 3] -> sigmoid(7).
print("neuron:", nf.Neuron([0, 1], 4).feedforward([2, 3]))

# The post's feed-forward example: every neuron with w = [0, 1], b = 0, x = [2, 3].
net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", init="zeros")
for W in net.weights:
    W[1, :] = 1.0
print("network output:", net.feedforward([2, 3])[0])

data, all_y_trues = load_gender()  # weight - 135 lb, height - 66 in; 1 = female


class PrintLoss(nf.Callback):
    def on_epoch_end(self, epoch, history, network):
        if epoch % 100 == 0:
            print("Epoch %d loss: %.3f" % (epoch, network.loss(data, all_y_trues)))


net = nf.Network([2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse",
                 init="normal", seed=0)
net.train(data, all_y_trues, epochs=1000, learning_rate=0.1, batch_size=1, shuffle=False,
          callbacks=[PrintLoss()])

emily = np.array([-7, -3])  # 128 pounds, 63 inches
frank = np.array([20, 2])  # 155 pounds, 68 inches
print("Emily: %.3f" % net.feedforward(emily)[0])  # the post: 0.951 - F
print("Frank: %.3f" % net.feedforward(frank)[0])  # the post: 0.039 - M
