"""
Predicting bike-sharing demand: a regression
============================================

Udacity's first project: predict how many bikes Capital Bikeshare rents each hour from
the season, month, hour, weekday, holiday and weather. ``load_bike_sharing(preprocess=True)``
does the project's preprocessing (one-hot encoded categories, standardised temperature,
humidity and wind); the counts are standardised too, and the last 21 days (504 hours) are
the test set, the 60 days before them the validation set.
"""

import matplotlib.pyplot as plt
import numpy as np

import nnfast as nf
import nnfast.plot
from nnfast.datasets import load_bike_sharing

data = load_bike_sharing(preprocess=True)
X, counts = data
print(f"{X.shape[0]} hours, {X.shape[1]} features: {', '.join(data.feature_names[:8])}, ...")

mean, std = counts.mean(), counts.std()
y = (counts - mean) / std
test, validation = slice(-21 * 24, None), slice(-81 * 24, -21 * 24)
X_train, y_train = X[: -81 * 24], y[: -81 * 24]

# %%
# Training
# --------
net = nf.Network([X.shape[1], 64, 1], activation="sigmoid", loss="mse", seed=0)
history = net.train(
    X_train,
    y_train,
    epochs=60,
    learning_rate=0.01,
    batch_size=32,
    optimizer="adam",
    seed=0,
    validation_data=(X[validation], y[validation]),
    early_stopping=nf.EarlyStopping(patience=10),
)
predicted = net.feedforward(X[test])[:, 0] * std + mean
rmse = np.sqrt(np.mean((predicted - counts[test]) ** 2))
print(
    f"{history.epochs} epochs (best: {history.best_epoch}); test RMSE {rmse:.0f} bikes "
    f"per hour (the counts' standard deviation is {std:.0f})"
)

nnfast.plot.model_complexity(history)
plt.show()

# %%
# Predictions for the last three weeks
# ------------------------------------
# The daily rhythm and the weekends are learned well; the days around Christmas, rarer in
# the training data, are overestimated.
fig, ax = plt.subplots(figsize=(12, 4), layout="constrained")
hours = np.arange(predicted.size)
ax.plot(hours, counts[test], label="rented", color="0.3", linewidth=1)
ax.plot(hours, predicted, label="predicted", color="C3", linewidth=1)
ticks = hours[::48]
ax.set_xticks(ticks, [data.sample_names[test][i][5:10] for i in ticks])
ax.set(xlabel="date (December 2012)", ylabel="bikes per hour", xlim=(0, hours[-1]))
ax.legend()
plt.show()
