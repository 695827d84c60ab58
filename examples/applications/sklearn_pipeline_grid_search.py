"""
A scikit-learn pipeline and a grid search
=========================================

nnfast's ``MLPClassifier`` takes scikit-learn's parameters and is a scikit-learn estimator,
so it goes into a ``Pipeline`` after a scaler and into ``GridSearchCV`` like any other.
The grid here: hidden layer sizes and L2 strength ``alpha``, 3-fold cross-validation on
scikit-learn's 8 x 8 digits.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnfast as nf

# short trainings: the estimators warn that more epochs would still improve the loss
warnings.filterwarnings("ignore", category=nf.ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0, stratify=y
)
pipe = make_pipeline(
    StandardScaler(), nf.MLPClassifier(max_iter=60, random_state=0, early_stopping=True)
)
pipe

# %%
# The search
# ----------
grid = {
    "mlpclassifier__hidden_layer_sizes": [(16,), (64,), (64, 64)],
    "mlpclassifier__alpha": [1e-4, 1e-2, 1.0],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)
print("best:", search.best_params_, f"cross-validated accuracy {search.best_score_:.4f}")
print(f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.4f}")

# %%
scores = search.cv_results_["mean_test_score"].reshape(3, 3)  # alpha x hidden sizes
fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(3), [str(s) for s in grid["mlpclassifier__hidden_layer_sizes"]])
ax.set_yticks(range(3), [str(a) for a in grid["mlpclassifier__alpha"]])
ax.set(xlabel="hidden_layer_sizes", ylabel="alpha", title="Mean cross-validated accuracy")
for (i, j), value in np.ndenumerate(scores):
    ax.text(
        j,
        i,
        f"{value:.3f}",
        ha="center",
        va="center",
        color="white" if value < scores.mean() else "black",
    )
fig.colorbar(image, ax=ax)
plt.show()
