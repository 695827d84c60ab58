"""Fixtures for the pytest-benchmark cases: one parameter per backend, the W2 data once."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_backends as bench  # noqa: E402


@pytest.fixture(params=bench.BACKENDS)
def backend(request):
    """Each backend in turn; cython is skipped when the extension is not built."""
    if request.param not in bench.available_backends():
        pytest.skip(f"the {request.param} backend is not available")
    return request.param


@pytest.fixture(scope="session")
def digits():
    """W2's data: (X standardised (1797, 64), one-hot Y (1797, 10), source description)."""
    return bench.digits_data()


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the CPU, BLAS libraries and their threads in saved benchmark JSON."""
    machine_info["nnfast"] = bench.machine_info()
