"""The ``nnfast`` command line, run as users run it: ``python -m nnfast ...`` in a subprocess.

Every error a user can cause (a missing file, an unknown column, text where numbers are
needed, a bad option value, a corrupted model file) must be one line on stderr, exit status
2 and no traceback. The subprocesses import the same nnfast as this test process (the
installed package in CI); the slow part of each is importing numpy and scipy, so the error
cases run in parallel.
"""

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata, resources

import numpy as np
import pytest

import nnfast
import nnfast._bench
from nnfast import cli
from nnfast.tabular import Table, TabularModel

MAJORITY = 0.6825  # share of the majority class (not admitted) in the admissions data
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))


def _env():
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("NNFAST_DEBUG", None)
    env.pop("NNFAST_BACKEND", None)
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_PARENT, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    return env


def nnfast_cmd(*args, cwd=None, timeout=120):
    """``python -m nnfast ARGS`` -> CompletedProcess (text stdout and stderr)."""
    # Never the repository root: ``-m`` puts the working directory first on sys.path, where
    # the source tree (without its compiled extension) would shadow the installed package.
    return subprocess.run(
        [sys.executable, "-m", "nnfast", *map(str, args)],
        cwd=cwd or tempfile.gettempdir(),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_main(*args, cwd):
    """``cli.main(ARGS)`` in this process, in directory ``cwd`` -> CompletedProcess-alike
    (faster than a subprocess, which spends most of its time importing numpy and scipy)."""
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([str(a) for a in args])
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _accuracy(stdout, part):
    match = re.search(rf"^{part}\s.*accuracy ([0-9.]+)", stdout, re.M)
    assert match, stdout
    return float(match.group(1))


# --- data ------------------------------------------------------------------------------------


def write_regression_csv(path, n=160, seed=0):
    """price = 3 x1 + 0.5 x2 + 2 [color == red] + 100 + noise; color is text (one-hot)."""
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n)
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, n)
    price = 3 * x1 + 0.5 * x2 + 2.0 * (color == "red") + 100 + rng.normal(scale=0.3, size=n)
    with open(path, "w") as f:
        f.write("x1,color,x2,price\n")
        for row in zip(x1, color, x2, price):
            f.write(f"{row[0]:.4f},{row[1]},{row[2]:.3f},{row[3]:.3f}\n")
    return path


# --- train, predict ----------------------------------------------------------------------------


def test_train_with_no_data_file_uses_the_admissions_data_and_beats_the_majority_class(tmp_path):
    proc = nnfast_cmd("train", "--save", "admit.npz", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "bundled student admissions data" in out
    assert "400 rows (300 train, 100 test)" in out
    assert "features: gre, gpa, rank\n" in out  # rank is a number, as in any copy of the file
    progress = re.findall(r"^epoch\s+(\d+)\s+loss ([0-9.]+)$", out, re.M)
    assert [int(e) for e, _ in progress] == [1] + list(range(10, 101, 10))
    assert float(progress[-1][1]) < float(progress[0][1])
    assert _accuracy(out, "test") > MAJORITY
    assert _accuracy(out, "train") > MAJORITY
    assert (tmp_path / "admit.npz").is_file()

    # predict on the bundled file (which has the target column too: it is ignored)
    with resources.as_file(resources.files("nnfast") / "data" / "student_data.csv") as data:
        pred = nnfast_cmd("predict", tmp_path / "admit.npz", data)
        truth = Table.read(data).column("admit")
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "admit"
    assert len(lines) == 401 and set(lines[1:]) <= {"0", "1"}
    assert np.mean(np.array(lines[1:]) == np.array(truth)) > MAJORITY


def test_default_training_beats_the_majority_class_across_seeds():
    accuracies = []
    for seed in range(10):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main(["train", "--seed", str(seed), "--print-every", "0"]) == 0
        accuracies.append(_accuracy(out.getvalue(), "test"))
    # 100 test rows, 68 of the majority class: logistic regression itself scores 0.67-0.73
    # on these splits, so some splits fall short; the defaults must not on average.
    assert np.mean(accuracies) > MAJORITY + 0.01, accuracies
    assert sum(a > MAJORITY for a in accuracies) >= 7, accuracies


def test_train_csv_with_a_category_and_a_regression_target_then_predict(tmp_path):
    data = write_regression_csv(tmp_path / "prices.csv")
    plot = tmp_path / "curves.png" if importlib.util.find_spec("matplotlib") else None
    proc = nnfast_cmd(
        "train",
        data,
        "--target",
        "price",
        "--hidden",
        "8,4",
        "--epochs",
        "150",
        "--test-size",
        "0.2",
        "--seed",
        "1",
        "--save",
        tmp_path / "m.npz",
        *(["--plot", plot] if plot else []),
        "--early-stopping",
        "--patience",
        "200",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "160 rows (128 train, 32 test); target 'price' (regression)" in out
    assert "features: x1, color (one-hot, 3 values), x2" in out
    assert "Network([5, 8, 4, 1]" in out
    assert re.search(r"^epoch\s+150\s+loss [0-9.]+\s+val_loss [0-9.]+$", out, re.M), out
    r2 = float(re.search(r"^test .*r2 (-?[0-9.]+)", out, re.M).group(1))
    rmse = float(re.search(r"^test .*rmse ([0-9.]+)", out, re.M).group(1))
    assert r2 > 0.8 and rmse < 1.5, out  # in the target's units (prices near 100, noise 0.3)
    if plot:  # matplotlib is optional (the [plot] extra)
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pred = nnfast_cmd("predict", tmp_path / "m.npz", data)
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "price" and len(lines) == 161
    printed = np.array([float(v) for v in lines[1:]])
    model = nnfast.load(tmp_path / "m.npz")
    assert isinstance(model, TabularModel) and model.classes is None
    table = Table.read(data)
    np.testing.assert_allclose(printed, model.predict(table), rtol=1e-5)
    assert np.corrcoef(printed, table.numbers("price"))[0, 1] > 0.9


def test_text_target_is_a_classification_and_predict_prints_its_labels(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(150, 2))
    labels = np.array(["low", "mid", "high"])[np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])]
    with open(tmp_path / "c.csv", "w") as f:
        f.write("a,b,level\n" + "".join(f"{a:.3f},{b:.3f},{c}\n" for (a, b), c in zip(X, labels)))
    proc = run_main(
        "train",
        "c.csv",
        "--target",
        "level",
        "--epochs",
        "60",
        "--save",
        "c.npz",
        "--print-every",
        "0",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "target 'level' (3 classes)" in proc.stdout
    assert "epoch" not in proc.stdout  # --print-every 0
    assert _accuracy(proc.stdout, "test") > 0.7
    pred = run_main("predict", "c.npz", "c.csv", cwd=tmp_path)
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "level" and set(lines[1:]) <= {"low", "mid", "high"}
    assert np.mean(np.array(lines[1:]) == labels) > 0.7


def test_predict_with_a_plain_network_file(tmp_path):
    net = nnfast.Network([2, 3, 1], seed=0)
    net.save(tmp_path / "net.npz")
    (tmp_path / "x.csv").write_text("u,v\n1,2\n-1,0.5\n")
    proc = run_main("predict", "net.npz", "x.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "prediction"
    expected = net.feedforward([[1, 2], [-1, 0.5]])[:, 0]
    np.testing.assert_allclose([float(v) for v in lines[1:]], expected, rtol=1e-5)


# --- info, bench, entry points -----------------------------------------------------------------


def test_info_prints_version_backend_blas_and_threads():
    proc = nnfast_cmd("info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    first = re.match(r"nnfast (\S+) \((.*)\)$", out.splitlines()[0])
    assert first and first.group(1) == nnfast.__version__
    # the subprocesses import the nnfast under test
    assert os.path.samefile(first.group(2), os.path.dirname(nnfast.__file__))
    assert re.search(r"^backend: (cython|numpy) \(available: ", out, re.M)
    assert f"numpy {np.__version__}" in out
    assert re.search(r"^cpu: .*\d+ cores \(\d+ usable\)$", out, re.M)
    assert re.search(r"^blas", out, re.M)
    if "blas: unknown" not in out:
        assert "threads:" in out


def test_bench_quick_prints_the_comparison_table():
    proc = nnfast_cmd(
        "bench", "--quick", "--workload", "W1", "--repeats", "1", "--target-time", "0.01"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the user's machine first, then times and ratios between implementations
    assert lines[0].startswith("Machine: ") and "cores" in lines[0] and "numpy " in lines[0]
    assert "BLAS" in lines[0] and "scipy " in lines[0]
    header = next(line for line in lines if line.startswith("| Workload | Unit |"))
    if "cython" in nnfast._bench.available_backends():
        assert "| numpy/cython |" in header
    assert "Target" not in proc.stdout and "Met" not in header  # the project's, in bench/
    row = [line for line in lines if line.startswith("| W1 tutorial")]
    assert len(row) == 1 and "ns/step" in row[0]


def test_console_script_is_nnfast_cli_main():
    """``nnfast`` = nnfast.cli:main, in pyproject.toml (source tree) and in the installed
    metadata (an editable install's metadata dates from its install, so it is not checked)."""
    checked = 0
    pyproject = os.path.join(PACKAGE_PARENT, "pyproject.toml")
    if os.path.exists(pyproject):
        text = open(pyproject, encoding="utf-8").read()
        scripts = re.search(r"^\[project\.scripts\]\n((?:[^\[].*\n?)*)", text, re.M)
        assert scripts and re.search(
            r'^nnfast\s*=\s*"nnfast\.cli:main"\s*$', scripts.group(1), re.M
        )
        checked += 1
    try:
        dist = metadata.distribution("nnfast")
    except metadata.PackageNotFoundError:
        dist = None
    if dist is not None and '"editable": true' not in (dist.read_text("direct_url.json") or ""):
        scripts = [e for e in dist.entry_points if e.group == "console_scripts"]
        assert [(e.name, e.value) for e in scripts] == [("nnfast", "nnfast.cli:main")]
        assert scripts[0].load() is cli.main
        checked += 1
    if not checked:
        pytest.skip("neither a source tree nor a regular install of nnfast")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"nnfast {nnfast.__version__}\n"


# --- errors: one line on stderr, exit status 2 -------------------------------------------------

ERROR_CASES = {
    # id: (arguments, a fragment the one line must contain)
    "missing data file": (["train", "missing.csv", "--target", "y"], "no such file: missing.csv"),
    "missing --target": (["train", "prices.csv"], "--target COL is required"),
    "unknown target column": (
        ["train", "prices.csv", "--target", "cost"],
        "no column 'cost'; its columns are x1, color, x2, price",
    ),
    "unknown categorical column": (
        ["train", "prices.csv", "--target", "price", "--categorical", "zip"],
        "no column 'zip'",
    ),
    "missing value in numbers": (
        ["train", "holes.csv", "--target", "y"],
        "column 'b' must hold numbers, but holes.csv line 3 has a missing value: 'NA'",
    ),
    "text in numbers": (
        ["train", "typo.csv", "--target", "y"],
        "line 3 has a value that is not a number: '2,5'",
    ),
    "text target for a regression": (
        ["train", "prices.csv", "--target", "color", "--task", "regression"],
        "column 'color' must hold numbers",
    ),
    "epochs not positive": (
        ["train", "--epochs", "0"],
        "argument --epochs: must be a positive integer",
    ),
    "epochs not a number": (
        ["train", "--epochs", "ten"],
        "argument --epochs: must be a positive integer",
    ),
    "hidden not sizes": (
        ["train", "--hidden", "16,x"],
        "argument --hidden: must be comma-separated",
    ),
    "test size too big": (
        ["train", "--test-size", "1.5"],
        "argument --test-size: must be a fraction",
    ),
    "test size all rows": (["train", "--test-size", "400"], "leaves no training rows"),
    "learning rate negative": (["train", "--learning-rate", "-0.1"], "argument --learning-rate"),
    "dropout 1": (["train", "--dropout", "1"], "argument --dropout: must be a number in [0, 1)"),
    "unknown activation": (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    "save to a missing directory": (
        ["train", "--save", "nowhere/m.npz"],
        "cannot write the model to nowhere/m.npz",
    ),
    "diverging training": (
        ["train", "--learning-rate", "1e6", "--optimizer", "sgd", "--print-every", "0"],
        "training diverged",
    ),
    "model not an npz": (
        ["predict", "garbage.npz", "prices.csv"],
        "garbage.npz is not a readable nnfast model file",
    ),
    "model truncated": (
        ["predict", "truncated.npz", "prices.csv"],
        "truncated.npz is not a readable nnfast model file",
    ),
    "model without header": (["predict", "headless.npz", "prices.csv"], "it has no header"),
    "model header corrupted": (["predict", "badheader.npz", "prices.csv"], "badheader.npz"),
    "missing model file": (["predict", "nomodel.npz", "prices.csv"], "no such file: nomodel.npz"),
    "predict data lacks a feature": (["predict", "m.npz", "holes.csv"], "no column 'x1'"),
    "predict unseen category": (
        ["predict", "m.npz", "purple.csv"],
        "column 'color' has the value 'purple' on purple.csv line 3",
    ),
    "no command": ([], "choose a command"),
    "unknown command": (["fit"], "invalid choice: 'fit'"),
    "bench bad option": (["bench", "--fast"], "unrecognized arguments: --fast"),
}


# These also run as subprocesses (the rest in this process): a traceback printed by the
# interpreter itself would show only there.
SUBPROCESS_CASES = (
    "missing data file",
    "text in numbers",
    "epochs not a number",
    "model truncated",
)


@pytest.fixture(scope="module")
def error_dir(tmp_path_factory):
    """A directory of broken inputs (and one good model, m.npz) for ERROR_CASES."""
    d = tmp_path_factory.mktemp("errors")
    write_regression_csv(d / "prices.csv", n=60)
    (d / "holes.csv").write_text("a,b,y\n1,2,0\n3,NA,1\n5,6,0\n7,8,1\n")
    (d / "typo.csv").write_text('a,y\n1,0\n"2,5",1\n3,0\n4,1\n')
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            cli.main(
                [
                    "train",
                    str(d / "prices.csv"),
                    "--target",
                    "price",
                    "--epochs",
                    "2",
                    "--save",
                    str(d / "m.npz"),
                ]
            )
            == 0
        )
    good = (d / "m.npz").read_bytes()
    (d / "garbage.npz").write_bytes(b"this is not a model\n" * 10)
    (d / "truncated.npz").write_bytes(good[: len(good) // 2])
    np.savez(d / "headless.npz", parameters=np.zeros(3))
    header = np.frombuffer(b'{"format": "nnfast", "format_vers', dtype=np.uint8)
    np.savez(d / "badheader.npz", header=header, parameters=np.zeros(3))
    rows = (d / "prices.csv").read_text().splitlines()
    (d / "purple.csv").write_text("\n".join([rows[0], rows[1], "0.5,purple,3,0"]) + "\n")
    return d


@pytest.fixture(scope="module")
def subprocess_errors(error_dir):
    with ThreadPoolExecutor(len(SUBPROCESS_CASES)) as pool:
        futures = {
            k: pool.submit(nnfast_cmd, *ERROR_CASES[k][0], cwd=error_dir) for k in SUBPROCESS_CASES
        }
        return {k: f.result() for k, f in futures.items()}


def check_error(proc, fragment):
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("nnfast: error: "), lines[0]
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_user_errors_are_one_line_and_exit_status_2(error_dir, case):
    args, fragment = ERROR_CASES[case]
    check_error(run_main(*args, cwd=error_dir), fragment)


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_user_errors_in_a_subprocess(subprocess_errors, case):
    check_error(subprocess_errors[case], ERROR_CASES[case][1])


def test_internal_errors_are_one_line_with_status_1_and_a_debug_switch(monkeypatch, capsys):
    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(cli, "_info", broken)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("nnfast: internal error: KeyError")
    monkeypatch.setenv("NNFAST_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["info"])


def test_warnings_are_one_line(monkeypatch, capsys):
    import warnings

    def warns(args):
        warnings.warn("something odd\nover two lines", RuntimeWarning, stacklevel=2)

    monkeypatch.setattr(cli, "_info", warns)
    assert cli.main(["info"]) == 0
    assert capsys.readouterr().err == "nnfast: warning: something odd over two lines\n"


@pytest.mark.parametrize("early_stopping", [False, True])
def test_train_marks_an_epoch_only_when_the_saved_weights_are_its(
    tmp_path, monkeypatch, early_stopping
):
    """Without early stopping the model is the last epoch's: nothing is marked as kept. With
    it (even when it never stops the run) the weights are the best epoch's, and the message
    and the plot say which."""
    pytest.importorskip("matplotlib")
    import nnfast.plot

    drawn = {}
    real = nnfast.plot.model_complexity

    def spy(history, ax=None):
        drawn["history"], drawn["ax"] = history, real(history, ax)
        return drawn["ax"]

    monkeypatch.setattr(nnfast.plot, "model_complexity", spy)
    options = ["--early-stopping", "--patience", "100"] if early_stopping else []
    proc = run_main("train", "--epochs", "40", "--plot", tmp_path / "c.png", *options, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    h = drawn["history"]
    labels = [line.get_label() for line in drawn["ax"].get_lines()]
    if not early_stopping:
        assert h.restored_epoch is None and "kept the weights" not in proc.stdout
        assert not any(label.startswith("weights kept") for label in labels)
        return
    assert h.stopped_epoch is None and h.restored_epoch == int(np.argmin(h.val_loss))
    assert f"kept the weights of epoch {h.restored_epoch + 1}" in proc.stdout
    assert f"weights kept: epoch {h.restored_epoch}" in labels


@pytest.mark.parametrize("peer", ["scikit-learn", "pytorch"])
def test_bench_peers_learn_the_same_task(peer):
    bench = nnfast._bench
    pytest.importorskip(bench.PEERS[peer])
    X, Y, _ = bench.digits_data()
    labels = Y.argmax(axis=1)
    model = bench.peer_trainer(peer, X, labels, 64, bench.W2_BATCH, bench.W2_LR, 0.0)(3)
    if peer == "scikit-learn":
        predicted = model.predict(X)
    else:
        import torch

        with torch.no_grad():
            predicted = model(torch.from_numpy(X)).argmax(1).numpy()
    assert np.mean(predicted == labels) > 0.9  # 3 epochs of the W2 network's training


@pytest.mark.parametrize("activation, optimizer", [("gelu", "adamw"), ("leaky_relu", "rmsprop")])
def test_train_takes_every_hidden_activation_and_optimizer(tmp_path, activation, optimizer):
    proc = run_main(
        "train",
        "--activation",
        activation,
        "--optimizer",
        optimizer,
        "--epochs",
        "3",
        "--save",
        "m.npz",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert nnfast.load(tmp_path / "m.npz").network.activations == (activation,)
