"""
Export a trained model to ONNX
==============================

``nnfast.to_onnx`` writes a ``Network`` or a fitted estimator as an ONNX graph, which
onnxruntime (and every other ONNX runtime: C, C#, Java, the browser) runs without Python
or nnfast. Classifiers have skl2onnx's two outputs, ``label`` and ``probabilities``; a
scikit-learn pipeline holding an nnfast estimator converts through skl2onnx. Install the
packages with ``pip install "nnfast[onnx]"``.
"""

import warnings

import numpy as np
import onnxruntime as ort
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nnfast as nf

# short trainings: the estimators warn that more epochs would still improve the loss
warnings.filterwarnings("ignore", category=nf.ConvergenceWarning)

X, y = load_digits(return_X_y=True)
clf = nf.MLPClassifier((32,), max_iter=50, random_state=0).fit(X / 16, y)

model = nf.to_onnx(clf)
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
print("inputs: ", [(i.name, i.type, i.shape) for i in session.get_inputs()])
print("outputs:", [(o.name, o.type, o.shape) for o in session.get_outputs()])
labels, probabilities = session.run(None, {"X": X / 16})
print("labels equal predict():", bool((labels == clf.predict(X / 16)).all()))
print(
    "largest difference from predict_proba():",
    np.abs(probabilities - clf.predict_proba(X / 16)).max(),
)

# %%
# A pipeline
# ----------
# ``nf.to_onnx`` hands a pipeline to skl2onnx, with nnfast's converters registered. By
# skl2onnx's default the probabilities come as one dictionary per row (``zipmap``); the
# option ``{"zipmap": False}`` of ``skl2onnx.to_onnx`` gives a plain array instead.
pipe = make_pipeline(StandardScaler(), nf.MLPClassifier((32,), max_iter=50, random_state=0)).fit(
    X, y
)
session = ort.InferenceSession(
    nf.to_onnx(pipe, X=X).SerializeToString(), providers=["CPUExecutionProvider"]
)
labels, probabilities = session.run(None, {"X": X.astype(np.float64)})
print("pipeline labels equal predict():", bool((labels == pipe.predict(X)).all()))
print("first row's probabilities:", {k: round(v, 4) for k, v in probabilities[0].items()})
