"""The benchmark's GEMM floors (``bench/bench_backends.py``): each BLAS computes the same
products."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_backends.py"


@pytest.fixture(scope="module")
def bench():
    if not SCRIPT.exists():
        pytest.skip("bench/bench_backends.py is not in this tree")
    spec = importlib.util.spec_from_file_location("nnfast_bench_backends", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_scipy_matmul_writes_the_product_into_out(bench, ta, tb):
    rng = np.random.default_rng(0)
    a = rng.random((3, 5)).T if ta else rng.random((5, 3))
    b = rng.random((4, 3)).T if tb else rng.random((3, 4))
    out = np.full((5, 4), np.nan)
    bench.scipy_matmul(a, b, out)  # transposed views go in with a flag, not as copies
    np.testing.assert_allclose(out, a @ b, rtol=1e-14)


def test_gemm_bounds_compute_the_same_products_with_either_blas(bench):
    sizes, n_rows, batch = (7, 6, 3), 10, 4
    numpy_bound = bench.GemmBound(sizes, n_rows, batch)
    scipy_bound = bench.GemmBound(sizes, n_rows, batch, matmul=bench.scipy_matmul)
    numpy_bound.run()
    scipy_bound.run()
    for (_, a, b, c), (_, _, _, c_scipy) in zip(numpy_bound.calls, scipy_bound.calls):
        np.testing.assert_allclose(c_scipy, a @ b, rtol=1e-13)
        np.testing.assert_allclose(c, c_scipy, rtol=1e-13)


def test_scipy_matmul_refuses_an_out_it_cannot_write_in_place(bench):
    with pytest.raises(ValueError, match="out must be a C-contiguous array"):
        bench.scipy_matmul(np.ones((2, 3)), np.ones((3, 4)), np.empty((4, 2)).T)
