"""The reliability catalogue (tests/reliability_cases.py), every case in a forked process of
its own: each must end clean (a documented error naming the argument) or accepted (a
legitimate input whose result passed its checks); never unclear, silent, destroyed, crashed
or hung. ``python tests/reliability_runner.py`` runs the same cases and prints the counts per
family and per outcome.
"""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return sys.modules[name]


runner = _load("reliability_runner")
catalogue = runner.load_catalogue()
NAMES = list(catalogue.CASES)


@pytest.fixture(scope="module")
def worker():
    reason = runner.supported()
    if reason:
        pytest.skip(reason)
    w = runner.Worker()
    yield w
    w.close()


def test_the_catalogue_covers_every_family_with_300_cases():
    counts = catalogue.summary()
    assert set(counts) == set(catalogue.FAMILIES), counts
    assert sum(counts.values()) >= 300, counts
    assert min(counts.values()) >= 30, counts


@pytest.mark.parametrize("name", NAMES)
def test_case(worker, name):
    result = worker.run(name)
    if result["outcome"] == "skipped":
        pytest.skip(result.get("detail", ""))
    assert result["outcome"] in runner.GOOD, f"{result['outcome']}: {result.get('detail')}"
