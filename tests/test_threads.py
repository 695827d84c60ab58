"""The compiled kernels' elementwise passes on worker threads (csrc/_pool.h) against one thread.

A threaded pass splits independent elements, rows, or whole columns of a column sum between
threads, so training must give bitwise the same numbers on any number of threads. The tests
shrink the grain (the least work a thread gets) so that small networks run every pass in
parts, and force the BLAS path, where the bias fill and the derivative product are passes.
"""
import multiprocessing
import threading

import numpy as np
import pytest

import nnfast

SETTINGS = [
    # (hidden activation, optimizer, weighted, dropout, l1, l2): plain and momentum SGD step
    # in the GEMMs (momentum's weight step is a pass); the others through the update pass
    ("relu", "sgd", False, 0.0, 0.0, 0.0),
    ("tanh", nnfast.SGD(momentum=0.9), True, 0.0, 0.0, 0.0),
    ("sigmoid", nnfast.Adam(), False, 0.2, 0.0, 0.0),
    ("relu", nnfast.SGD(momentum=0.9, nesterov=True), True, 0.1, 0.0, 0.0),
    ("tanh", "sgd", False, 0.0, 0.001, 0.01),  # the penalty covers weights, not biases
]


@pytest.fixture
def passes(cython_kernels):
    """The kernel module with its pass settings restored after the test; BLAS for every
    product, so the GEMM path's passes run."""
    saved = (cython_kernels.get_pass_threads(), cython_kernels.get_pass_grain(),
             cython_kernels.get_gemm_threshold())
    cython_kernels.set_gemm_threshold(0)
    yield cython_kernels
    cython_kernels.set_pass_threads(saved[0])
    cython_kernels.set_pass_grain(saved[1])
    cython_kernels.set_gemm_threshold(saved[2])


def data(n=150, d=7, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n), rng.random(n) + 0.5


def train(setting, X, labels, weights, epochs=3):
    activation, optimizer, weighted, dropout, l1, l2 = setting
    net = nnfast.Network([X.shape[1], 37, 21, 4], activation=activation,
                         loss="cross_entropy", seed=1)
    with nnfast.use_backend("cython"):
        history = net.train(X, labels, epochs=epochs, learning_rate=0.05, batch_size=32,
                            seed=2, optimizer=optimizer, dropout=dropout, l1=l1, l2=l2,
                            sample_weight=weights if weighted else None)
        out = net.feedforward(X)
    return net.parameters.copy(), np.array(history.loss), out


def assert_identical(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("threads", [2, 3, 5])
def test_threaded_passes_match_one_thread(setting, threads, passes):
    X, labels, w = data()
    passes.set_pass_threads(1)
    one = train(setting, X, labels, w)
    passes.set_pass_threads(threads)
    passes.set_pass_grain(8)
    assert passes.pass_thread_count() == threads
    many = train(setting, X, labels, w)
    assert passes.pool_workers() >= threads - 1  # the passes did run on workers
    assert_identical(one, many)


def test_concurrent_runs_share_the_pool_safely(passes):
    # A second run that finds the pool busy runs its passes on its own thread.
    X, labels, w = data()
    passes.set_pass_threads(2)
    passes.set_pass_grain(8)
    expected = [train(s, X, labels, w) for s in SETTINGS]
    results = [None] * len(SETTINGS)

    def run(i):
        results[i] = train(SETTINGS[i], X, labels, w)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(SETTINGS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive()
    for got, want in zip(results, expected):
        assert_identical(got, want)


def trained_in_child(queue):
    X, labels, w = data()
    params, loss, _ = train(SETTINGS[1], X, labels, w)
    queue.put((params, loss))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs fork")
def test_forked_child_starts_its_own_workers(passes):
    # Threads do not survive fork: a child waiting on its parent's workers would hang.
    X, labels, w = data()
    passes.set_pass_threads(2)
    passes.set_pass_grain(8)
    params, loss, _ = train(SETTINGS[1], X, labels, w)
    assert passes.pool_workers() >= 1
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=trained_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join(60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got[0], params)
    np.testing.assert_array_equal(got[1], loss)


def test_pass_threads_follow_the_blas(passes):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    passes.set_pass_threads(0)
    for n in (1, 2):
        with threadpoolctl.threadpool_limits(n, user_api="blas"):
            assert passes.pass_thread_count() == n
    passes.set_pass_threads(3)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert passes.pass_thread_count() == 3


@pytest.mark.parametrize("setter, value", [("set_pass_threads", -1), ("set_pass_grain", 0)])
def test_pass_settings_refuse_nonsense(setter, value, passes):
    with pytest.raises(ValueError, match="n must be"):
        getattr(passes, setter)(value)


def test_pool_is_race_free_under_threadsanitizer(tmp_path):
    # The pool's C alone, hammered from three threads, built with -fsanitize=thread.
    import shutil
    import subprocess
    import sysconfig
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = root / "tools" / "tsan" / "pool_stress.c"
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not source.exists():
        pytest.skip("needs a C compiler and the source tree")
    binary = tmp_path / "pool_stress"
    build = subprocess.run(
        [compiler, "-O1", "-g", "-fsanitize=thread", "-pthread",
         f"-I{sysconfig.get_paths()['include']}", f"-I{root / 'csrc'}", str(source),
         "-o", str(binary)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"no ThreadSanitizer build here: {build.stderr[-300:]}")
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120,
                         env={"TSAN_OPTIONS": "halt_on_error=1 exitcode=66"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ThreadSanitizer" not in run.stderr
    assert run.stdout.startswith("ok: ")
