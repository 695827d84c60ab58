"""
Learning-rate decay
===================

A large learning rate moves fast but bounces around a minimum; a small one settles but
crawls. Schedules start large and decay: ``StepDecay`` halves the rate every few epochs,
``ExponentialDecay`` and ``InverseTimeDecay`` shrink it smoothly, per update step or per
epoch; ``ReduceOnPlateau`` cuts it when the loss stops improving. They run inside the
compiled loop; ``History.learning_rate`` records the rate of each epoch.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons

import nnfast as nf

X, y = make_moons(n_samples=500, noise=0.3, random_state=0)

schedules = {
    "constant": None,
    "StepDecay(drop=0.5, every=10)": nf.schedules.StepDecay(drop=0.5, every=10),
    "ExponentialDecay(0.93 per epoch)": nf.schedules.ExponentialDecay(
        decay_rate=0.93, decay_steps=1, per="epoch"
    ),
    "InverseTimeDecay(0.2 per epoch)": nf.schedules.InverseTimeDecay(
        decay_rate=0.2, decay_steps=1, per="epoch"
    ),
    "ReduceOnPlateau(factor=0.3, patience=3)": nf.schedules.ReduceOnPlateau(factor=0.3, patience=3),
}
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
for name, schedule in schedules.items():
    net = nf.Network([2, 32, 32, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    history = net.train(
        X, y, epochs=60, learning_rate=1.0, batch_size=4, seed=0, lr_schedule=schedule
    )
    left.plot(history.learning_rate, label=name)
    right.plot(history.loss, label=name)
    print(
        f"{name:42s} loss of the last epoch {history.loss[-1]:.4f}, "
        f"on all the data after it {net.loss(X, y):.4f}"
    )
left.set(
    xlabel="epoch (counted from 0)",
    ylabel="learning rate",
    yscale="log",
    title="The rate of each epoch (from 1.0)",
)
right.set(
    xlabel="epoch (counted from 0)",
    ylabel="training loss",
    ylim=(0.15, 1.2),
    title="Training loss: batches of 4, noisy moons",
)
right.legend(fontsize="small")
plt.show()

# %%
# At a constant rate of 1.0 the updates of such small batches keep jumping around, and the
# loss stays high; every schedule lets the steps shrink and the loss settle lower.
# ``StepDecay`` halves the rate at fixed epochs; ``ReduceOnPlateau`` waits until the loss
# stalls for 3 epochs, then cuts the rate to 30%.
