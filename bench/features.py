"""What each training feature costs inside the compiled loop: ratios measured in one run.

    python bench/features.py                        # W2 optimizers/clipping, W3 batch norm
    python bench/features.py --group W2 --rounds 15 --threads 1
    python bench/features.py --group W3 --threads 2

Every configuration trains its own copy of the workload's network through the compiled
``train_epochs`` (the whole run of epochs in one call), the configurations taking turns
with the order reversed every round; the first round warms up and is dropped. Each row is
its median time per epoch and the ratio to the group's baseline (the same run without the
feature): a feature that left the compiled loop would show the reference backend's factor
(the last column: one epoch of the reference backend on the same configuration over the
compiled median), not a few tens of percent. Compare ratios within one run; this machine
drifts.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_backends, beside
import bench_backends as nb  # noqa: E402

from nnfast import _backend, _reference  # noqa: E402
from nnfast._spec import (  # noqa: E402
    ADAGRAD,
    ADAM,
    ADAMW,
    COSINE,
    ONE_CYCLE,
    RMSPROP,
    Hyper,
    OptimizerState,
)


def w2():
    X, Y, _ = nb.digits_data()
    base = dict(learning_rate=0.05)
    configs = {
        "sgd (baseline)": Hyper(**base),
        "momentum 0.9": Hyper(**base, momentum=0.9),
        "adam": Hyper(0.001, optimizer=ADAM),
        "adamw": Hyper(0.001, optimizer=ADAMW, weight_decay=0.01),
        "rmsprop": Hyper(0.001, optimizer=RMSPROP, rho=0.99),
        "rmsprop centered + momentum": Hyper(
            0.001, optimizer=RMSPROP, rho=0.99, centered=True, momentum=0.9
        ),
        "adagrad": Hyper(0.01, optimizer=ADAGRAD),
        "sgd, clip_norm=1": Hyper(**base, clip_norm=1.0),
        "sgd, clip_value=0.1": Hyper(**base, clip_value=0.1),
        # schedules spanning more steps than the runs take: at a rate of 0, BLAS would skip
        # the fused step's product and time less work
        "sgd, cosine decay per step": Hyper(
            **base, schedule=COSINE, decay_steps=1e7, warmup_steps=50.0
        ),
        "sgd, one-cycle per step": Hyper(
            **base,
            schedule=ONE_CYCLE,
            total_steps=1e7,
            pct_start=0.3,
            div_factor=25.0,
            final_div_factor=1e4,
        ),
    }
    spec = nb.digits_network(0).spec
    return X, Y, {name: (spec, h) for name, h in configs.items()}, 32, 50


def w3():
    X, Y, _ = nb.w3_data()
    spec = nb.w3_network(0).spec
    normalised = spec._replace(batch_norm=True)
    sgd, momentum = Hyper(nb.W3_LR), Hyper(nb.W3_LR, momentum=0.9)
    configs = {
        "sgd (baseline)": (spec, sgd),
        "sgd, batch_norm": (normalised, sgd),
        "momentum 0.9": (spec, momentum),
        "momentum 0.9, batch_norm": (normalised, momentum),
    }
    return X, Y, configs, nb.W3_BATCH, 1


def params_for(spec, seed=0):
    """The workload network's initial parameters, with batch normalisation's scale 1, shift
    0, running mean 0 and variance 1 after them."""
    plain = spec._replace(batch_norm=False)
    net = nb.digits_network(seed) if plain == nb.digits_network(0).spec else nb.w3_network(seed)
    params = np.zeros(spec.n_params)
    params[: plain.n_params] = net.parameters
    gammas, _, _, variances = spec.unpack_norm(params)
    for a in gammas + variances:
        a[:] = 1.0
    return params


def trainer(kernels, spec, hyper, X, Y, batch, epochs):
    params = params_for(spec)
    state = OptimizerState(spec.n_trainable, hyper)
    workspace = kernels.Workspace(spec, X.shape[0], batch)
    history = np.zeros((epochs, 2))
    rng = np.random.default_rng(0)

    def run():
        kernels.train_epochs(
            spec, params, X, Y, epochs, batch, True, state, hyper, rng, workspace, history
        )

    return run


def measure(group, rounds, threads, out=sys.stdout):
    X, Y, configs, batch, epochs = {"W2": w2, "W3": w3}[group]()
    kernels = _backend.kernels("cython", "float64")
    runs = {
        name: trainer(kernels, spec, hyper, X, Y, batch, epochs)
        for name, (spec, hyper) in configs.items()
    }
    times = {name: [] for name in runs}
    with nb.blas_threads(threads):
        for r in range(rounds + 1):
            for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
                if threads > 1:
                    time.sleep(nb.REST_S)
                start = time.perf_counter()
                runs[name]()
                if r > 0:
                    times[name].append((time.perf_counter() - start) / epochs)
        numpy_times = {}
        for name, (spec, hyper) in configs.items():
            reference = trainer(_reference, spec, hyper, X, Y, batch, 1)
            start = time.perf_counter()
            reference()
            numpy_times[name] = time.perf_counter() - start
    base = statistics.median(next(iter(times.values())))
    print(
        f"{group}, {threads} thread(s), {rounds} rounds of {epochs} epoch(s), batch {batch} "
        f"(ms per epoch; ratio: median / the baseline's median; numpy: one epoch of the "
        f"reference backend / the compiled median)",
        file=out,
    )
    for name, ts in times.items():
        med = statistics.median(ts)
        print(
            f"  {name:30s} median {med * 1e3:9.2f}  min {min(ts) * 1e3:9.2f}  "
            f"ratio {med / base:6.3f}  numpy {numpy_times[name] / med:6.1f}x",
            file=out,
        )
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", choices=["W2", "W3", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be >= 1")
    for group in ["W2", "W3"] if args.group == "all" else [args.group]:
        measure(group, args.rounds, args.threads)


if __name__ == "__main__":
    main()
