"""Large mini-batches on a team of threads (csrc/_team.h, ``run_batch``) against one thread.

A team splits a batch's rows for the forward pass and the deltas, then the parameters for
the step, so every sum runs over the same terms in the same order on any number of threads:
without BLAS (the scalar loops) training gives bitwise the same parameters; with BLAS,
whose kernels may round a share of the rows differently at its edges, the same to the last
bits. Only the epoch's summed loss adds the parts' sums in another order. The tests lower
the work from which a team runs a batch so that small networks use one.
"""

import multiprocessing
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnfast

SETTINGS = [
    # (hidden activation, optimizer, weighted, dropout, l1, l2): plain and momentum SGD step
    # in the weight GEMM; the others through the gradient and the optimizer's update
    ("relu", "sgd", False, 0.0, 0.0, 0.0),
    ("tanh", nnfast.SGD(momentum=0.9), True, 0.0, 0.0, 0.0),
    ("sigmoid", nnfast.Adam(), False, 0.0, 0.0, 0.0),
    ("relu", nnfast.SGD(momentum=0.9, nesterov=True), True, 0.0, 0.0, 0.0),
    ("tanh", "sgd", False, 0.0, 0.001, 0.01),  # the penalty covers weights, not biases
    ("relu", "sgd", False, 0.2, 0.0, 0.0),  # dropout: one thread (masks in row order)
]

NO_BLAS = 1 << 62  # gemm threshold: every product in the kernels' own loops


@pytest.fixture
def team(cython_kernels):
    """The kernel module, its team and GEMM settings restored after the test; every batch
    is large enough for a team."""
    k = cython_kernels
    saved, threshold = k.team_settings(work=0, rows=1), k.get_gemm_threshold()
    yield k
    k.team_settings(**saved)
    k.set_gemm_threshold(threshold)


def data(n=150, d=7, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n), rng.random(n) + 0.5


def train(setting, X, labels, weights, epochs=3, sizes=(37, 21), batch_size=32):
    activation, optimizer, weighted, dropout, l1, l2 = setting
    net = nnfast.Network(
        [X.shape[1], *sizes, int(labels.max()) + 1],
        activation=activation,
        loss="cross_entropy",
        seed=1,
    )
    with nnfast.use_backend("cython"):
        history = net.train(
            X,
            labels,
            epochs=epochs,
            learning_rate=0.05,
            batch_size=batch_size,
            seed=2,
            optimizer=optimizer,
            dropout=dropout,
            l1=l1,
            l2=l2,
            sample_weight=weights if weighted else None,
        )
        out = net.feedforward(X)
    return net.parameters.copy(), np.array(history.loss), out


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("threads", [2, 3, 5])
def test_team_matches_one_thread_bitwise_without_blas(setting, threads, team):
    X, labels, w = data()
    team.set_gemm_threshold(NO_BLAS)
    team.team_settings(threads=1)
    params, loss, out = train(setting, X, labels, w)
    team.team_settings(threads=threads)
    assert team.team_threads() == threads
    got = train(setting, X, labels, w)
    assert team.team_workers() >= threads - 1  # the batches did run on workers
    np.testing.assert_array_equal(got[0], params)
    np.testing.assert_array_equal(got[2], out)
    np.testing.assert_allclose(got[1], loss, rtol=1e-14)


@pytest.mark.parametrize("setting", SETTINGS[:3])
def test_team_matches_one_thread_with_blas(setting, team):
    X, labels, w = data()
    team.set_gemm_threshold(0)
    team.team_settings(threads=1)
    params, loss, _ = train(setting, X, labels, w)
    team.team_settings(threads=2)
    got = train(setting, X, labels, w)
    np.testing.assert_allclose(got[0], params, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[1], loss, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 9),
    hidden=st.lists(st.integers(1, 12), min_size=0, max_size=3),
    k=st.integers(2, 5),
    n=st.integers(5, 70),
    batch=st.integers(2, 40),
    threads=st.integers(2, 4),
    blas=st.booleans(),
    optimizer=st.sampled_from(["sgd", "momentum", "adam"]),
    seed=st.integers(0, 2**16),
)
def test_team_matches_the_reference(
    d, hidden, k, n, batch, threads, blas, optimizer, seed, cython_kernels
):
    # Random shapes, including layers narrower than the team and batches with fewer rows
    # than it has threads, against the NumPy backend.
    kernels = cython_kernels
    saved = kernels.team_settings(threads=threads, work=0, rows=1)
    threshold = kernels.get_gemm_threshold()
    kernels.set_gemm_threshold(0 if blas else NO_BLAS)
    opt = {"sgd": "sgd", "momentum": nnfast.SGD(momentum=0.9), "adam": nnfast.Adam()}
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    labels = rng.integers(0, k, n)
    labels[:k] = np.arange(k)
    results = []
    try:
        for backend in ("cython", "numpy"):
            net = nnfast.Network(
                [d, *hidden, k], activation="relu", loss="cross_entropy", seed=seed
            )
            with nnfast.use_backend(backend):
                history = net.train(
                    X,
                    labels,
                    epochs=2,
                    learning_rate=0.05,
                    batch_size=batch,
                    seed=seed,
                    optimizer=opt[optimizer],
                )
            results.append((net.parameters.copy(), np.array(history.loss)))
    finally:
        kernels.team_settings(**saved)
        kernels.set_gemm_threshold(threshold)
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9)


def test_concurrent_runs_share_the_team_safely(team):
    # A run that finds the team busy runs its batches' parts on its own thread.
    X, labels, w = data()
    team.team_settings(threads=2)
    team.set_gemm_threshold(NO_BLAS)
    expected = [train(s, X, labels, w) for s in SETTINGS]
    blas_before = team.blas_threads_now()
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
        np.testing.assert_array_equal(got[0], want[0])
    assert team.blas_threads_now() == blas_before  # the last run out restored it


def trained_in_child(queue):
    X, labels, w = data()
    params, loss, _ = train(SETTINGS[1], X, labels, w)
    queue.put((params, loss))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_child_starts_its_own_workers(team):
    # Threads do not survive fork: a child waiting on its parent's workers would hang.
    X, labels, w = data()
    team.team_settings(threads=2)
    params, loss, _ = train(SETTINGS[1], X, labels, w)
    assert team.team_workers() >= 1
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=trained_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join(60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got[0], params)
    np.testing.assert_array_equal(got[1], loss)


@pytest.fixture
def threadpoolctl(team):
    """threadpoolctl, for tests that set and read the BLAS's thread count (skipped where
    either cannot be done)."""
    module = pytest.importorskip("threadpoolctl")
    if team.blas_threads_now() is None:
        pytest.skip("the BLAS's thread count cannot be read here")
    return module


def test_team_follows_the_blas(team, threadpoolctl):
    team.team_settings(threads=0)
    for n in (1, 2, 3):
        with threadpoolctl.threadpool_limits(n, user_api="blas"):
            assert team.team_threads() == n
    team.team_settings(threads=3)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert team.team_threads() == 3


def test_blas_is_held_at_one_thread_while_a_team_runs_and_restored(team, threadpoolctl):
    team.team_settings(threads=0)
    X, labels, w = data(n=400)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        seen = blas_threads_seen(
            team, lambda: train(SETTINGS[0], X, labels, w, epochs=300), wanted=1
        )
        assert 1 in seen
        assert team.blas_threads_now() == 2


def test_an_interrupted_team_run_restores_the_blas(team, threadpoolctl):
    # Ctrl-C in the middle of a run (the kernel sees it between batches and raises)
    import _thread

    team.team_settings(threads=0)
    X, labels, _ = data(n=400)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        net = nnfast.Network([7, 37, 4], loss="cross_entropy", seed=1)
        timer = threading.Timer(0.3, _thread.interrupt_main)
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt), nnfast.use_backend("cython"):
                net.train(X, labels, epochs=100_000, batch_size=32)
        finally:
            timer.cancel()
        assert team.blas_threads_now() == 2


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("threads", -1, ValueError),
        ("work", -1, ValueError),
        ("rows", 0, ValueError),
        ("threads", 2.0, TypeError),
        ("rows", True, TypeError),
    ],
)
def test_team_settings_refuse_nonsense(name, value, error, team):
    before = team.team_settings()
    with pytest.raises(error, match=f"{name} must be"):
        team.team_settings(**{"threads": 2, "work": 5, "rows": 3, name: value})
    assert team.team_settings() == before  # nothing set when one value is refused


def test_team_settings_return_the_old_ones(team):
    old = team.team_settings(threads=3, rows=7)
    assert old == {"threads": 0, "work": 0, "rows": 1}  # the fixture's
    assert team.team_settings(work=9) == {"threads": 3, "work": 0, "rows": 7}
    team.team_settings(**old)
    assert team.team_settings() == old


def blas_threads_seen(team, run, wanted=None, timeout=60.0):
    """The BLAS thread counts seen while ``run()`` trains on another thread.

    With ``wanted``, ``run()`` is repeated until that count has been seen (or ``timeout``
    seconds have passed): a run can end between two looks on a busy machine, so one run
    alone would make the test depend on timing. A count that must never be seen needs one
    run."""
    seen = set()
    done, stop = threading.Event(), threading.Event()

    def work():
        try:
            run()
            while wanted is not None and not stop.is_set():
                run()
        finally:
            done.set()

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + timeout
    while not done.is_set():  # training releases the GIL
        seen.add(team.blas_threads_now())
        if wanted in seen or time.monotonic() > deadline:
            stop.set()
        time.sleep(0.0005)
    worker.join()
    return seen


def test_small_batches_run_on_one_thread(team, threadpoolctl):
    # At least 32 rows per thread: batches of 40 rows take no team (the BLAS keeps its
    # threads), batches of 64 a team of two (the BLAS is held at one thread).
    X, labels, w = data(n=640)
    team.team_settings(rows=32)
    team.team_settings(threads=4)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        for batch, held in ((40, False), (64, True)):
            seen = blas_threads_seen(
                team,
                lambda: train(SETTINGS[0], X, labels, w, epochs=150, batch_size=batch),
                wanted=1 if held else None,
            )
            assert (1 in seen) == held, (batch, seen)


def test_team_is_race_free_under_threadsanitizer(tmp_path):
    # The team's C alone, hammered from three threads, built with -fsanitize=thread.
    import shutil
    import subprocess
    import sysconfig
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = root / "tools" / "tsan" / "team_stress.c"
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not source.exists():
        pytest.skip("needs a C compiler and the source tree")
    binary = tmp_path / "team_stress"
    build = subprocess.run(
        [
            compiler,
            "-O1",
            "-g",
            "-fsanitize=thread",
            "-pthread",
            f"-I{sysconfig.get_paths()['include']}",
            f"-I{root / 'csrc'}",
            str(source),
            "-o",
            str(binary),
        ],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.skip(f"no ThreadSanitizer build here: {build.stderr[-300:]}")
    run = subprocess.run(
        [str(binary)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"TSAN_OPTIONS": "halt_on_error=1 exitcode=66"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ThreadSanitizer" not in run.stderr
    assert run.stdout.startswith("ok: ")
