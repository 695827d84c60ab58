"""A/B builds of the compiled kernels: the same training, side by side in one process.

    cp nnfast/_kernels*.so /tmp/a.so          # before the change
    python setup.py build_ext --inplace; cp nnfast/_kernels*.so /tmp/b.so
    python bench/ab.py /tmp/a.so /tmp/b.so                       # W3, 2 threads, plain SGD
    python bench/ab.py /tmp/a.so /tmp/b.so --workload MNIST --optimizer momentum --threads 1
    python bench/ab.py /tmp/a.so /tmp/b.so --workload W1 --threads 1 --rounds 30

Each build (a distinct file: a module cannot be loaded twice from one file) trains its own
copy of the workload's network, ``--epochs`` per timed run, the builds taking turns with the
order reversed every round, so none always runs right after the same thing. On more than one
thread every timed run starts after ``--rest`` seconds: an OpenBLAS pool that ran just before
(NumPy's and SciPy's are two) spins for ~0.1 s on a core the run needs, which made the build
that ran after NumPy's BLAS look ~0.1 s slower per W3 epoch (bench/RESULTS.md). The first
round warms up and is dropped. W3 also times its GEMMs alone through SciPy's BLAS (the floor
the kernels run on). This machine's speed drifts by tens of percent over minutes: compare the
builds' medians within one run, and repeat the run.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_backends, beside
import bench_backends as nb  # noqa: E402

from nnfast import one_hot  # noqa: E402
from nnfast._spec import ADAM, Hyper, OptimizerState  # noqa: E402


def load_kernels(path):
    """The kernel module in ``path`` (a .so file, or a directory holding one)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("_kernels*.so")) + sorted(path.glob("_kernels*.pyd"))
        if not found:
            raise SystemExit(f"no _kernels extension in {path}")
        path = found[0]
    spec = importlib.util.spec_from_file_location("nnfast._kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def workload(name, rows):
    """(X, one-hot Y, network factory, batch size, learning rate) of a benchmark workload."""
    if name == "W1":
        X, y = nb.tutorial_data()
        return X, y.reshape(-1, 1), nb.tutorial_network, 1, 0.1
    if name == "W2":
        X, Y, _ = nb.digits_data()
        return X, Y, nb.digits_network, 32, 0.05
    if name == "W3":
        X, Y, _ = nb.w3_data()
        return X, Y, nb.w3_network, nb.W3_BATCH, nb.W3_LR
    X, labels, _, _ = nb.mnist_data()
    X = np.ascontiguousarray(X[:rows])
    return X, one_hot(labels[:rows], 10), nb.mnist_network, nb.MNIST_BATCH, nb.MNIST_LR


def hyper_for(optimizer, lr, n_layers):
    dropout = (0.0,) * (n_layers - 1)
    if optimizer == "adam":
        return Hyper(learning_rate=lr / 50, optimizer=ADAM, dropout=dropout)
    momentum = 0.9 if optimizer == "momentum" else 0.0
    return Hyper(learning_rate=lr, momentum=momentum, dropout=dropout)


def run(args, out=sys.stdout):
    modules = [load_kernels(path) for path in args.builds]
    X, Y, make_network, batch, lr = workload(args.workload, args.rows)
    epochs = args.epochs or {"W1": 100_000, "W2": 50}.get(args.workload, 1)
    # W1 in ns per SGD step (4 per epoch), the others in ms per epoch
    w1 = args.workload == "W1"
    unit, scale = ("ns per step", 1e9 / X.shape[0]) if w1 else ("ms per epoch", 1e3)
    runs = {}
    for i, (path, kernels) in enumerate(zip(args.builds, modules)):
        label = f"{chr(ord('A') + i)} {Path(path).name}"
        net = make_network(0)
        hyper = hyper_for(args.optimizer, lr, net.spec.n_layers)
        workspace = kernels.Workspace(net.spec, X.shape[0], batch)
        state = OptimizerState(net.spec.n_params, hyper)
        history = np.zeros((epochs, 2))
        rng = np.random.default_rng(0)

        def epoch(
            kernels=kernels,
            net=net,
            hyper=hyper,
            workspace=workspace,
            state=state,
            history=history,
            rng=rng,
        ):
            kernels.train_epochs(
                net.spec,
                net.parameters,
                X,
                Y,
                epochs,
                batch,
                True,
                state,
                hyper,
                rng,
                workspace,
                history,
            )

        runs[label] = epoch
    if args.workload == "W3":
        bound = nb.GemmBound(nb.W3_SIZES, nb.W3_ROWS, nb.W3_BATCH, matmul=nb.scipy_matmul)
        runs["GEMMs alone (SciPy's BLAS)"] = lambda: bound.run(epochs)
    times = {label: [] for label in runs}
    with nb.blas_threads(args.threads):
        for r in range(args.rounds + 1):
            order = list(runs) if r % 2 == 0 else list(runs)[::-1]
            for label in order:
                if args.threads > 1:
                    time.sleep(args.rest)
                seconds, _ = nb._timed(runs[label])
                if r > 0:
                    times[label].append(seconds / epochs)
    first = statistics.median(times[next(iter(runs))])
    print(
        f"{args.workload}, {args.optimizer}, {args.threads} thread(s), {args.rounds} rounds "
        f"({unit}; ratio: median / A's median)",
        file=out,
    )
    for label, ts in times.items():
        med = statistics.median(ts)
        print(
            f"  {label:32s} median {med * scale:8.1f}  min {min(ts) * scale:8.1f}  "
            f"ratio {med / first:.3f}",
            file=out,
        )
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="+", help="kernel builds: .so files or directories")
    parser.add_argument("--workload", choices=["W1", "W2", "W3", "MNIST"], default="W3")
    parser.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds (after 1 warm-up)")
    parser.add_argument(
        "--rest",
        type=float,
        default=nb.REST_S,
        help="seconds of rest before each timed run on more than one thread",
    )
    parser.add_argument("--rows", type=int, default=20000, help="MNIST training rows")
    parser.add_argument(
        "--epochs",
        type=int,
        default=0,
        help="epochs per timed run (default: 100000 for W1, 50 for W2, else 1)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.threads < 1 or args.rest < 0 or args.epochs < 0:
        parser.error("--rounds and --threads must be >= 1, --rest and --epochs >= 0")
    run(args)


if __name__ == "__main__":
    main()
