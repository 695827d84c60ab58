"""bench/peers.py's timing protocol: implementations take turns, and on more than one thread
every timed run starts after a rest, so no other library's thread pool still spins on a core."""
import importlib.util
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parents[1] / "bench" / "peers.py"


@pytest.fixture(scope="module")
def peers():
    if not PEERS.exists():
        pytest.skip("bench/peers.py is not in this tree")
    spec = importlib.util.spec_from_file_location("nnfast_bench_peers", PEERS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    return events[len(trainers):]  # after one calibration run each


def test_each_timed_run_on_two_threads_follows_a_rest(peers, monkeypatch):
    events = timed_events(peers, monkeypatch, n_threads=2)
    runs = [i for i, e in enumerate(events) if e[0] == "run"]
    assert [events[i][1] for i in runs] == ["a", "b", "b", "a", "a", "b"]  # turns rotate
    assert all(events[i - 1] == ("rest", peers.REST_S) for i in runs)
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
