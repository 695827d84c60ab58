"""Sparse input: nnfast's MLPClassifier against scikit-learn's on hashed text features.

    python bench/sklearn_sparse.py                  # 20,000 documents, 2**18 features
    python bench/sklearn_sparse.py --quick          # 4,000 documents, 2 epochs
    python bench/sklearn_sparse.py --epochs 5 --json sparse.json

The corpus is made here, without a download: documents of 30 to 200 words drawn from a
50,000-word vocabulary whose frequencies follow Zipf's law (exponent 1.1), each document
about one of 5 topics, which gives its own 400 words 20 times their odds; the label is the
topic, and a fifth of the documents are held out. ``HashingVectorizer(n_features=2**18,
alternate_sign=False)`` (l2-normalised rows) turns them into a CSR matrix of about 0.03%
density. Both implementations fit ``MLPClassifier(hidden_layer_sizes=(64,), solver=...,
batch_size=200, max_iter=epochs, random_state=0)`` on it, each in a fresh process, for
'adam' and 'sgd': the wall time of ``fit``, the peak of the memory ``tracemalloc`` traces
during it (Python's and NumPy's allocations), the process's peak resident memory
(``ru_maxrss``, the data and the interpreter included), the test accuracy, and the largest
relative difference between the two models' coefficients (``coefs_`` and
``intercepts_``: max|a - b| / max|b| per array).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def corpus(n_docs, seed=0, vocabulary=50_000, topics=5, topic_words=400, boost=20.0):
    """(documents as strings, topic labels): the generated corpus described above."""
    rng = np.random.default_rng(seed)
    base = 1.0 / np.arange(1, vocabulary + 1) ** 1.1
    own = [rng.choice(vocabulary, topic_words, replace=False) for _ in range(topics)]
    weights = []
    for words in own:
        w = base.copy()
        w[words] *= boost
        weights.append(np.cumsum(w / w.sum()))
    labels = rng.integers(0, topics, n_docs)
    lengths = rng.integers(30, 201, n_docs)
    docs = []
    for label, length in zip(labels, lengths):
        ids = np.searchsorted(weights[label], rng.random(length))
        docs.append(" ".join(f"w{i}" for i in ids))
    return docs, labels


def make_data(n_docs, n_features, folder):
    """Vectorise the corpus once; the parts are saved for the worker processes."""
    import scipy.sparse
    from sklearn.feature_extraction.text import HashingVectorizer

    docs, y = corpus(n_docs)
    X = HashingVectorizer(n_features=n_features, alternate_sign=False).transform(docs)
    X = scipy.sparse.csr_matrix(X, dtype=np.float64)
    cut = int(0.8 * n_docs)
    paths = {}
    for name, part in (("train", slice(0, cut)), ("test", slice(cut, None))):
        paths[name] = str(Path(folder) / f"X_{name}.npz")
        scipy.sparse.save_npz(paths[name], X[part])
    paths["y"] = str(Path(folder) / "y.npy")
    np.save(paths["y"], y)
    return paths, {"shape": X.shape, "nnz": int(X.nnz), "density": X.nnz / np.prod(X.shape)}


def worker(args):
    """In a fresh process: fit one implementation, print its numbers as JSON."""
    import resource
    import tracemalloc
    import warnings

    import scipy.sparse

    X_train = scipy.sparse.load_npz(args.paths["train"])
    X_test = scipy.sparse.load_npz(args.paths["test"])
    y = np.load(args.paths["y"])
    y_train, y_test = y[: X_train.shape[0]], y[X_train.shape[0] :]
    if args.implementation == "sklearn":
        from sklearn.neural_network import MLPClassifier
    else:
        from nnfast import MLPClassifier
    model = MLPClassifier(
        hidden_layer_sizes=(64,),
        solver=args.solver,
        batch_size=200,
        max_iter=args.epochs,
        random_state=0,
        **({"learning_rate_init": 0.1} if args.solver == "sgd" else {}),
    )
    tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    np.savez(args.out, *[np.asarray(a) for a in model.coefs_ + model.intercepts_])
    print(
        json.dumps(
            {
                "seconds": seconds,
                "traced_peak": peak,
                "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "accuracy": accuracy,
                "n_iter": int(model.n_iter_),
                "loss": float(model.loss_),
            }
        )
    )


def run(implementation, solver, epochs, paths, folder):
    out = str(Path(folder) / f"{implementation}-{solver}.npz")
    command = [
        sys.executable,
        str(HERE),
        "--worker",
        implementation,
        "--solver",
        solver,
        "--epochs",
        str(epochs),
        "--paths",
        json.dumps(paths),
        "--out",
        out,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1]}, None
    with np.load(out) as f:
        arrays = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
    return json.loads(proc.stdout.strip().splitlines()[-1]), arrays


def difference(a, b):
    return max(float(np.max(np.abs(x - y))) / float(np.max(np.abs(y))) for x, y in zip(a, b))


def mb(n):
    return f"{n / 2**20:.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4,000 documents, 2 epochs")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--features", type=int, default=2**18)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--solvers", default="adam,sgd")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--solver", help=argparse.SUPPRESS)
    parser.add_argument("--paths", type=json.loads, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.implementation = args.worker
        worker(args)
        return 0
    docs = args.docs or (4_000 if args.quick else 20_000)
    epochs = args.epochs or (2 if args.quick else 5)
    import sklearn

    import nnfast

    rows = []
    with tempfile.TemporaryDirectory(prefix="nnfast-sparse-") as folder:
        start = time.perf_counter()
        paths, info = make_data(docs, args.features, folder)
        made = time.perf_counter() - start
        print(
            f"scikit-learn {sklearn.__version__}, nnfast {nnfast.__version__} (backend "
            f"{nnfast.get_backend()}), {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}; X {info['shape'][0]} x {info['shape'][1]}, "
            f"{info['nnz']} non-zeros (density {100 * info['density']:.3f}%), made in "
            f"{made:.1f} s; MLPClassifier((64,), batch_size=200, max_iter={epochs})"
        )
        print()
        print(
            "| solver | implementation | fit (s) | speed-up | traced peak (MB) | "
            "peak RSS (MB) | test accuracy | n_iter_ | loss_ | max rel. coef diff |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for solver in args.solvers.split(","):
            results = {
                name: run(name, solver, epochs, paths, folder) for name in ("sklearn", "nnfast")
            }
            sk, sk_coefs = results["sklearn"]
            for name in ("sklearn", "nnfast"):
                r, coefs = results[name]
                row = {"solver": solver, "implementation": name, **r}
                if "error" in r:
                    print(f"| {solver} | {name} | failed: {r['error'][:120]} |")
                    rows.append(row)
                    continue
                speed = sk.get("seconds", np.nan) / r["seconds"]
                diff = difference(coefs, sk_coefs) if sk_coefs is not None else np.nan
                row.update(speedup=speed, coef_diff=diff)
                rows.append(row)
                print(
                    f"| {solver} | {name} | {r['seconds']:.2f} | {speed:.1f}x | "
                    f"{mb(r['traced_peak'])} | {mb(r['maxrss'])} | {100 * r['accuracy']:.2f}% | "
                    f"{r['n_iter']} | {r['loss']:.6g} | {diff:.1e} |"
                )
    if args.json:
        Path(args.json).write_text(json.dumps({"data": info, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
