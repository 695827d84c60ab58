"""Two builds of the compiled kernels, loaded side by side, on the same random cases: every
output, optimizer state, sample order and generator state must be bitwise equal.

    cp nnfast/_kernels*.so /tmp/a.so          # before the change
    python setup.py build_ext --inplace; cp nnfast/_kernels.cpython*.so /tmp/b.so
    python bench/bitwise.py /tmp/a.so /tmp/b.so                   # 400 networks, 50 perceptrons
    python bench/bitwise.py /tmp/a.so /tmp/b.so --teams 2,3 --cases 150
    python bench/bitwise.py /tmp/a32.so /tmp/b32.so --dtype float32

Each case is a random network (1-3 layers of 1-12 units, every hidden activation, every
output/loss pair, one-hot or soft labels, sample weights on 30%, the GEMM threshold at 0,
4096 or off) run through ``forward``, ``evaluate`` and ``loss_and_gradient``, then 4 + 2
epochs of ``train_epochs`` under one of nine optimizer, schedule and penalty settings
(dropout on 30%) with a batch size from 1 to n; then perceptron runs. ``--teams`` repeats the
networks with every batch on a team of that many threads. Exits 1 at the first difference.
"""

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

import nnfast
from nnfast._spec import ADAM, EXPONENTIAL, INVERSE_TIME, Hyper, OptimizerState

HIDDEN = ("sigmoid", "tanh", "relu", "identity", "step")
OUTPUT_LOSS = (
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
)
SETTINGS = {
    "sgd": dict(learning_rate=0.05),
    "momentum": dict(learning_rate=0.02, momentum=0.9),
    "nesterov": dict(learning_rate=0.02, momentum=0.8, nesterov=True),
    "adam": dict(learning_rate=0.01, optimizer=ADAM),
    "adam_custom": dict(learning_rate=0.01, optimizer=ADAM, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
    "penalty": dict(learning_rate=0.05, l1=0.01, l2=0.1),
    "exponential": dict(
        learning_rate=0.05, schedule=EXPONENTIAL, decay_rate=0.9, decay_steps=3.0, staircase=True
    ),
    "inverse_time": dict(
        learning_rate=0.05, schedule=INVERSE_TIME, decay_rate=0.5, decay_steps=2.0, power=0.7
    ),
    "everything": dict(
        learning_rate=0.02,
        momentum=0.5,
        nesterov=True,
        l1=0.001,
        l2=0.01,
        schedule=EXPONENTIAL,
        decay_rate=0.95,
        decay_steps=2.0,
    ),
}
THRESHOLDS = (0, 4096, 1 << 62)


def load_kernels(path, dtype):
    """The kernel module in ``path``: a copy of nnfast._kernels (float64) or _kernels32."""
    name = "nnfast._kernels" if dtype == "float64" else "nnfast._kernels32"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same(a, b):
    """Bitwise equality of two results (arrays, numbers, tuples, dicts)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, str)):  # generator states: exact integers
        return type(a) is type(b) and a == b
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def network_case(rng, dtype):
    """(spec, params, X, Y, sample weights or None, hyper, batch size, threshold) at random."""
    L = int(rng.integers(1, 4))
    sizes = [int(n) for n in rng.integers(1, 13, L + 1)]
    output, loss = OUTPUT_LOSS[rng.integers(len(OUTPUT_LOSS))]
    if output == "softmax":  # a softmax over one output is refused
        sizes[-1] = max(sizes[-1], 2)
    hidden = [HIDDEN[i] for i in rng.integers(len(HIDDEN), size=L - 1)]
    net = nnfast.Network(
        sizes,
        activation=hidden or "sigmoid",
        output_activation=output,
        loss=loss,
        seed=int(rng.integers(2**31)),
    )
    n = int(rng.integers(1, 40))
    X = rng.normal(size=(n, sizes[0]))
    k = sizes[-1]
    if loss == "cross_entropy":
        Y = np.eye(k)[rng.integers(0, k, n)] if rng.random() < 0.5 else rng.dirichlet(np.ones(k), n)
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n, k)).astype(float) if rng.random() < 0.5 else rng.random((n, k))
    else:
        Y = rng.normal(size=(n, k))
    w = rng.uniform(0.2, 3.0, n) if rng.random() < 0.3 else None
    options = dict(SETTINGS[list(SETTINGS)[rng.integers(len(SETTINGS))]])
    if L > 1 and rng.random() < 0.3:
        options["dropout"] = tuple(float(r) for r in rng.choice([0.0, 0.2, 0.5], L - 1))
    hyper = Hyper(**options)
    batch = int(rng.integers(1, n + 1))
    threshold = THRESHOLDS[rng.integers(len(THRESHOLDS))]

    def cast(a):
        return None if a is None else np.ascontiguousarray(a, dtype=dtype)

    return (net.spec, cast(net.parameters), cast(X), cast(Y), cast(w), hyper, batch, threshold)


def run_network(kernels, case, dtype, seed):
    spec, params, X, Y, w, hyper, batch, threshold = case
    params = params.copy()
    kernels.set_gemm_threshold(threshold)
    out = np.empty((X.shape[0], spec.sizes[-1]), dtype)
    kernels.forward(spec, params, X, out)
    evaluated = kernels.evaluate(spec, params, X, Y, w)
    grad = np.empty_like(params)
    loss = kernels.loss_and_gradient(spec, params, X, Y, hyper.l1, hyper.l2, grad, w)
    state = OptimizerState(spec.n_params, hyper, dtype)
    workspace = kernels.Workspace(spec, X.shape[0], batch)  # in the module's dtype
    rng = np.random.default_rng(seed)
    history = np.zeros((6, 2))
    runs = [
        kernels.train_epochs(
            spec, params, X, Y, 4, batch, True, state, hyper, rng, workspace, history, w
        )
    ]
    runs.append(
        kernels.train_epochs(
            spec, params, X, Y, 2, batch, True, state, hyper, rng, workspace, history[4:], w
        )
    )
    return {
        "forward": out,
        "evaluate": evaluated,
        "loss": loss,
        "grad": grad,
        "runs": runs,
        "history": history,
        "params": params,
        "m": state.m,
        "v": state.v,
        "step": state.step,
        "order": workspace.order,
        "rng": rng.bit_generator.state,
    }


def run_perceptron(kernels, rng, dtype, seed):
    n, d = int(rng.integers(1, 40)), int(rng.integers(1, 6))
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X @ rng.normal(size=d) + rng.normal(scale=0.3, size=n) > 0).astype(np.intp)
    params = np.zeros(d + 1, dtype)
    order = np.arange(n, dtype=np.intp)
    errors, lines = np.zeros(30, np.intp), np.zeros((30, d + 1), dtype)
    generator = np.random.default_rng(seed)
    done = kernels.perceptron_epochs(
        X, y, params, float(rng.uniform(0.01, 1.0)), 30, True, generator, order, errors, lines
    )
    return {
        "done": done,
        "params": params,
        "errors": errors,
        "lines": lines,
        "order": order,
        "rng": generator.bit_generator.state,
    }


def compare(a, b, args, out=sys.stdout):
    """Run every case on both builds; returns the number of comparisons (all equal)."""
    compared = 0
    rounds = [(None, args.cases)] + [(t, args.team_cases) for t in args.teams]
    for team, count in rounds:
        saved = [k.team_settings(threads=team, work=0, rows=1) if team else None for k in (a, b)]
        try:
            rng = np.random.default_rng(args.seed)
            for i in range(count):
                case = network_case(rng, args.dtype)
                seed = int(rng.integers(2**31))
                results = [run_network(k, case, args.dtype, seed) for k in (a, b)]
                for key in results[0]:
                    compared += 1
                    if not same(results[0][key], results[1][key]):
                        print(f"DIFFERENT: network case {i} (team {team}), {key}", file=out)
                        return None
        finally:
            for k, old in zip((a, b), saved):
                k.set_gemm_threshold(4096)
                if old is not None:
                    k.team_settings(**old)
    rng = np.random.default_rng(args.seed + 1)
    for i in range(args.perceptrons):
        seed = int(rng.integers(2**31))
        state = rng.bit_generator.state
        results = []
        for k in (a, b):
            rng.bit_generator.state = state
            results.append(run_perceptron(k, rng, args.dtype, seed))
        for key in results[0]:
            compared += 1
            if not same(results[0][key], results[1][key]):
                print(f"DIFFERENT: perceptron case {i}, {key}", file=out)
                return None
    return compared


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs=2, help="the two kernel builds (.so files)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--cases", type=int, default=400, help="networks on one thread")
    parser.add_argument("--teams", default="", help="team sizes to repeat on, e.g. 2,3")
    parser.add_argument("--team-cases", type=int, default=150, help="networks per team size")
    parser.add_argument("--perceptrons", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.teams = [int(t) for t in args.teams.split(",") if t]
    for path in args.builds:
        if not Path(path).is_file():
            parser.error(f"no such build: {path}")
    a, b = (load_kernels(path, args.dtype) for path in args.builds)
    compared = compare(a, b, args)
    if compared is None:
        sys.exit(1)
    print(
        f"bitwise equal: {compared} comparisons ({args.cases} networks, teams "
        f"{args.teams or 'none'} x {args.team_cases}, {args.perceptrons} perceptrons, "
        f"{args.dtype})"
    )


if __name__ == "__main__":
    main()
