"""float32 MNIST: nnfast's MLPClassifier against scikit-learn's, both given float32 X.

    NNFAST_DATA=/path/to/data python bench/sklearn_mnist.py
    python bench/sklearn_mnist.py --solvers adam --epochs 3 --rows 20000

Fits ``MLPClassifier(hidden_layer_sizes=(128,), batch_size=128, max_iter=10,
random_state=0)`` with ``solver='adam'`` and with ``solver='sgd', momentum=0.9,
learning_rate_init=0.01`` on MNIST's training images (pixels / 255 in float32, from
``nnfast.datasets.load_mnist``, never downloaded here), each implementation in turn, and
prints one markdown row per fit: wall time of ``fit``, the speed-up (scikit-learn's time /
nnfast's), test accuracy on the 10,000 test images, ``coefs_``' dtype and the largest
relative difference between the two models' coefficients. Skips with a note when the data
set is not found.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np


def fit(cls, X, y, **params):
    model = cls(hidden_layer_sizes=(128,), batch_size=128, random_state=0, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        model.fit(X, y)
    return model, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solvers", default="adam,sgd")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rows", type=int, default=None, help="training rows (default all)")
    args = parser.parse_args(argv)
    import sklearn
    from sklearn.neural_network import MLPClassifier as SkMLP

    import nnfast
    from nnfast.datasets import load_mnist

    try:
        (X, y), (Xt, yt) = load_mnist(dtype="float32", download=False)
    except (OSError, ValueError) as exc:
        print(f"MNIST not found ({exc}); set NNFAST_DATA.")
        return 0
    X, y = np.ascontiguousarray(X[: args.rows]), np.asarray(y)[: args.rows]
    print(
        f"scikit-learn {sklearn.__version__}, nnfast {nnfast.__version__}, {os.cpu_count()} "
        f"CPUs, load average {os.getloadavg()[0]:.2f}; X {X.shape} {X.dtype}, "
        f"MLPClassifier((128,), batch_size=128, max_iter={args.epochs})"
    )
    print()
    print(
        "| solver | implementation | fit (s) | speed-up | test accuracy | coefs_ dtype | "
        "max rel. coef diff |"
    )
    print("|---|---|---|---|---|---|---|")
    for solver in args.solvers.split(","):
        params = {"solver": solver, "max_iter": args.epochs}
        if solver == "sgd":
            params.update(momentum=0.9, learning_rate_init=0.01)
        theirs, t_sk = fit(SkMLP, X, y, **params)
        ours, t_nf = fit(nnfast.MLPClassifier, X, y, **params)
        diff = max(
            float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
            for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
        )
        for name, model, seconds in (("sklearn", theirs, t_sk), ("nnfast", ours, t_nf)):
            accuracy = float(np.mean(model.predict(Xt) == np.asarray(yt)))
            print(
                f"| {solver} | {name} | {seconds:.2f} | {t_sk / seconds:.1f}x | "
                f"{100 * accuracy:.2f}% | {model.coefs_[0].dtype} | "
                f"{0.0 if model is theirs else diff:.1e} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
