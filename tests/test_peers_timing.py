"""The benchmarks' timing protocols (bench/peers.py, bench/ab.py): implementations or builds
take turns, and on more than one thread every timed run starts after a rest, so no other
library's thread pool still spins on a core."""

import importlib.util
import io
import shutil
import statistics
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_script(name):
    path = BENCH / name
    if not path.exists():
        pytest.skip(f"bench/{name} is not in this tree")
    spec = importlib.util.spec_from_file_location(f"nnfast_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)  # a script may put its checkout first; other tests must not see it
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@pytest.fixture(scope="module")
def peers():
    return load_script("peers.py")


class FakeTrainer:
    start_epochs = 1

    def __init__(self, key, events):
        self.key = key
        self.events = events

    def prepare(self, n):
        pass

    def reset(self):
        pass

    def epochs(self, n):
        self.events.append(("run", self.key))
        return 0.0


def timed_events(peers, monkeypatch, n_threads, repeats=3):
    events = []
    monkeypatch.setattr(peers.time, "sleep", lambda s: events.append(("rest", s)))
    trainers = [FakeTrainer(key, events) for key in ("a", "b")]
    timings, _ = peers.measure(trainers, 1, repeats, 1e-12, lambda msg: None, n_threads)
    assert {k: len(v) for k, v in timings.items()} == {"a": repeats, "b": repeats}
    return events[len(trainers) :]  # after one calibration run each


def test_each_timed_run_on_two_threads_follows_a_rest(peers, monkeypatch):
    events = timed_events(peers, monkeypatch, n_threads=2)
    runs = [i for i, e in enumerate(events) if e[0] == "run"]
    assert [events[i][1] for i in runs] == ["a", "b", "b", "a", "a", "b"]  # turns rotate
    assert all(events[i - 1] == ("rest", peers.nb.REST_S) for i in runs)
    assert len(events) == 2 * len(runs)


def test_one_thread_runs_back_to_back(peers, monkeypatch):
    # pinned to one CPU with every library at one thread, there is no pool to wait for
    assert [e[0] for e in timed_events(peers, monkeypatch, n_threads=1)] == ["run"] * 6


def test_settings_line_names_the_rest_only_when_a_run_had_it(peers):
    settings = {"repeats": 7, "target_s": 0.25, "quick": False}
    old = peers.settings_line([{"settings": settings}])
    assert "rest" not in old
    new = peers.settings_line([{"settings": dict(settings, rest_s=0.25)}])
    assert new.startswith(old) and "after 0.25 s of rest" in new


def test_ab_times_each_build_in_turns(cython_kernels, tmp_path, monkeypatch):
    ab = load_script("ab.py")
    builds = []
    for name in ("a", "b"):  # two files: one file's module loads once per process
        builds.append(tmp_path / f"{name}{Path(cython_kernels.__file__).suffix}")
        shutil.copy(cython_kernels.__file__, builds[-1])
    rests, turns = [], []
    monkeypatch.setattr(ab.time, "sleep", rests.append)
    timed = ab.nb._timed

    def record(fn):  # which build ran: its epoch closure's bound kernel module
        turns.append(Path(fn.__defaults__[0].__file__).stem)
        return timed(fn)

    monkeypatch.setattr(ab.nb, "_timed", record)
    args = ab.argparse.Namespace(
        builds=[str(b) for b in builds],
        workload="W2",
        optimizer="momentum",
        threads=2,
        rounds=3,
        rest=0.5,
        rows=0,
        epochs=2,
    )
    out = io.StringIO()
    times = ab.run(args, out)
    assert [len(t) for t in times.values()] == [3, 3]
    assert rests == [0.5] * 8  # before every run, the warm-up round's too
    assert turns == ["a", "b", "b", "a", "a", "b", "b", "a"]  # order reversed every round
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("W2, momentum, 2 thread(s), 3 rounds")
    assert [line.split()[:2] for line in lines[1:]] == [
        ["A", builds[0].name],
        ["B", builds[1].name],
    ]


def test_ab_reports_w1_per_sgd_step(cython_kernels, tmp_path):
    ab = load_script("ab.py")
    build = tmp_path / f"w1{Path(cython_kernels.__file__).suffix}"
    shutil.copy(cython_kernels.__file__, build)
    args = ab.argparse.Namespace(
        builds=[str(build)],
        workload="W1",
        optimizer="sgd",
        threads=1,
        rounds=2,
        rest=0.0,
        rows=0,
        epochs=50,
    )
    out = io.StringIO()
    times = ab.run(args, out)
    header, line = out.getvalue().splitlines()
    assert header == "W1, sgd, 1 thread(s), 2 rounds (ns per step; ratio: median / A's median)"
    per_epoch = statistics.median(times[f"A {build.name}"])
    assert line.split()[3] == f"{per_epoch * 1e9 / 4:.1f}"  # the tutorial's 4 rows per epoch


def test_ab_refuses_nonsense(tmp_path):
    ab = load_script("ab.py")
    with pytest.raises(SystemExit):
        ab.main([str(tmp_path), "--rounds", "0"])
    with pytest.raises(SystemExit, match="no _kernels extension"):
        ab.main([str(tmp_path)])


@pytest.mark.parametrize("threads, rests", [(1, 0), (2, 6), (None, 6)])
def test_backend_table_rests_unless_on_one_thread(threads, rests, monkeypatch):
    # nnfast._bench.measure (``nnfast bench``, and bench_backends.py): None is the default
    # BLAS threads, possibly several
    from nnfast import _bench as bench

    slept = []
    monkeypatch.setattr(bench.time, "sleep", slept.append)
    t = bench.measure(
        lambda b, n: (1.0, n),
        ["cython", "numpy"],
        {"cython": 1, "numpy": 1},
        3,
        1e-9,
        threads=threads,
    )
    assert [len(v["per_unit"]) for v in t.values()] == [3, 3]
    assert slept == [bench.REST_S] * rests
