"""scikit-learn's own MLP tests, run against nnfast's estimators.

    python tools/sklearn_mlp_tests.py                    # one line per test; exit 1 on a failure
    python tools/sklearn_mlp_tests.py --against sklearn  # control: the same file on scikit-learn
    python tools/sklearn_mlp_tests.py -- -k partial_fit  # arguments after -- go to pytest

Copies ``sklearn/neural_network/tests/test_mlp.py`` from the installed scikit-learn into a
temporary folder, changes its one import line

    from sklearn.neural_network import MLPClassifier, MLPRegressor

to import nnfast's classes, and runs pytest on it in a subprocess (so that a crash or a
hang is reported, not suffered), with scikit-learn's own ``conftest.py`` as a plugin (it
provides the ``global_random_seed`` fixture; ``SKLEARN_TESTS_GLOBAL_RANDOM_SEED`` works as in
scikit-learn). No test is edited. A test listed in ``EXCLUDED`` would be deselected, with
the reason given there; the list is empty: every test runs, those reading scikit-learn's
private attributes (``_optimizer``, ``_no_improvement_count``, ``_loss_grad_lbfgs``) too.

If scikit-learn's file changes shape (the import line is missing or doubled, or another
line imports the MLP classes from scikit-learn, or an excluded test no longer exists), the
script stops with an error instead of testing scikit-learn's classes or a stale list.

Prints ``PASS``, ``FAIL``, ``ERROR``, ``SKIP`` or ``EXCLUDED`` and the test's id per line,
then a count; the exit status is 0 only when no test failed or errored (2 for a crash, a
hang or a file of the wrong shape).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

IMPORT_LINE = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
REPLACEMENT = "from nnfast import MLPClassifier, MLPRegressor"

#: Deselected tests, by function name, and why (none: every test runs, including those that
#: read scikit-learn's private attributes, which nnfast's estimators provide).
EXCLUDED = {}

#: A line importing the MLP classes from scikit-learn (what must not survive the rewrite).
_SKLEARN_MLP_IMPORT = re.compile(
    r"^\s*(from\s+sklearn\.neural_network(\.\w+)*\s+import\b.*\bMLP(Classifier|Regressor)\b"
    r"|import\s+sklearn\.neural_network\b)",
    re.MULTILINE,
)


class ShapeError(RuntimeError):
    """scikit-learn's test file no longer has the shape this script relies on."""


def source_path():
    """``test_mlp.py`` of the installed scikit-learn."""
    import sklearn

    path = Path(sklearn.__file__).resolve().parent / "neural_network" / "tests" / "test_mlp.py"
    if not path.is_file():
        raise ShapeError(
            f"{path} does not exist: this scikit-learn ({sklearn.__version__}) "
            "was installed without its tests"
        )
    return path


def rewrite(text):
    """``text`` with its one ``IMPORT_LINE`` importing nnfast's classes instead.

    Raises ShapeError unless the line occurs exactly once (as a whole line) and no other
    line imports the MLP classes from scikit-learn afterwards.
    """
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.strip() == IMPORT_LINE]
    if len(at) != 1:
        raise ShapeError(
            f"expected the line {IMPORT_LINE!r} exactly once in scikit-learn's "
            f"test_mlp.py, found it {len(at)} times: the file changed shape, "
            "update tools/sklearn_mlp_tests.py"
        )
    i = at[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    ending = lines[i][len(lines[i].rstrip("\r\n")) :]
    lines[i] = indent + REPLACEMENT + ending
    result = "".join(lines)
    left = _SKLEARN_MLP_IMPORT.search(result)
    if left:
        raise ShapeError(
            f"test_mlp.py still imports from scikit-learn's neural_network after "
            f"the rewrite ({left.group(0).strip()!r}): its tests would run on "
            "scikit-learn's classes; update tools/sklearn_mlp_tests.py"
        )
    return result


def test_functions(text):
    """Names of the module-level test functions of a test file."""
    return [
        node.name
        for node in ast.parse(text).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test")
    ]


def check_exclusions(text, excluded=None):
    """Raise ShapeError if an excluded test is not in the file (the list went stale)."""
    excluded = EXCLUDED if excluded is None else excluded
    missing = sorted(set(excluded) - set(test_functions(text)))
    if missing:
        raise ShapeError(
            f"excluded tests {missing} are not in test_mlp.py any more: update "
            "EXCLUDED in tools/sklearn_mlp_tests.py"
        )


def parse_junit(path):
    """[(test id, status, message)] from pytest's JUnit XML; status is PASS, FAIL, ERROR
    or SKIP (a test that failed in setup or teardown as well as in its call is one ERROR)."""
    results = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name")
        status, message = "PASS", ""
        for tag, label in (("failure", "FAIL"), ("error", "ERROR"), ("skipped", "SKIP")):
            found = case.find(tag)
            if found is not None:
                status = label
                message = (found.get("message") or found.text or "").strip()
                break
        previous = results.get(name)
        if previous is None or previous[0] == "PASS":
            results[name] = (status, message)
    return [(name, status, message) for name, (status, message) in results.items()]


_VERBOSE_LINE = re.compile(r"^[^\s:]+::(\S+)(?:\s+(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b)?")


def parse_verbose(output):
    """Results of the tests that finished, from ``pytest -v`` output (after a crash), and
    the test that was running (its id printed without a result), or None."""
    done, running = [], None
    for line in output.splitlines():
        match = _VERBOSE_LINE.match(line)
        if not match:
            continue
        if match.group(2) is None:
            running = match.group(1)
            continue
        status = {"PASSED": "PASS", "FAILED": "FAIL", "SKIPPED": "SKIP"}.get(
            match.group(2), match.group(2)
        )
        done.append((match.group(1), status, ""))
        running = None
    return done, running


def run(source, against="nnfast", excluded=None, pytest_args=(), timeout=1800.0, out=None):
    """Run the (rewritten) test file; print one line per test (to ``out``, default
    stdout); return the exit status."""
    out = sys.stdout if out is None else out
    excluded = EXCLUDED if excluded is None else excluded
    text = Path(source).read_text(encoding="utf-8")
    if against == "nnfast":
        check_exclusions(text, excluded)
        text = rewrite(text)
    else:
        excluded = {}
    folder = Path(tempfile.mkdtemp(prefix="nnfast-sklearn-tests-"))
    try:
        (folder / "test_mlp.py").write_text(text, encoding="utf-8")
        xml = folder / "results.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "test_mlp.py",
            "-v",
            "-p",
            "sklearn.conftest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-o",
            "junit_family=xunit2",
            f"--junitxml={xml}",
            "--rootdir",
            str(folder),
        ]
        for name in excluded:
            command += ["--deselect", f"test_mlp.py::{name}"]
        command += list(pytest_args)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        try:
            proc = subprocess.run(
                command,
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            output, code, hung = proc.stdout + proc.stderr, proc.returncode, False
        except subprocess.TimeoutExpired as expired:
            output = (
                (expired.stdout or b"").decode(errors="replace")
                if isinstance(expired.stdout, bytes)
                else (expired.stdout or "")
            )
            code, hung = None, True
        results = parse_junit(xml) if xml.exists() and not hung else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    crashed = results is None or (code is not None and code not in (0, 1, 5))
    if results is None:
        results, running = parse_verbose(output)
    else:
        running = None
    counts = {}
    for name, status, message in results:
        counts[status] = counts.get(status, 0) + 1
        first = message.splitlines()[0][:160] if message else ""
        print(
            f"{status:8} {name}" + (f"  -- {first}" if first and status != "PASS" else ""), file=out
        )
    for name, reason in excluded.items():
        counts["EXCLUDED"] = counts.get("EXCLUDED", 0) + 1
        print(f"{'EXCLUDED':8} {name}  -- {reason}", file=out)
    summary = ", ".join(
        f"{counts[k]} {k.lower()}"
        for k in ("PASS", "FAIL", "ERROR", "SKIP", "EXCLUDED")
        if counts.get(k)
    )
    print(f"{against}: {summary or 'no tests'}", file=out)
    if crashed:
        what = f"hung (killed after {timeout:.0f} s)" if hung else f"exited with {code}"
        print(
            f"CRASH: pytest {what}"
            + (f" while running {running}" if running else "")
            + "; the tests above finished. Last output:",
            file=out,
        )
        print("\n".join(output.splitlines()[-30:]), file=out)
        return 2
    return 1 if counts.get("FAIL") or counts.get("ERROR") else 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--against",
        choices=("nnfast", "sklearn"),
        default="nnfast",
        help="nnfast (default) or the unchanged file on scikit-learn",
    )
    parser.add_argument("--source", help="the test file (default: the installed scikit-learn's)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds before a hung run is killed (default 1800)",
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    try:
        source = Path(args.source) if args.source else source_path()
        return run(source, args.against, pytest_args=args.pytest_args, timeout=args.timeout)
    except ShapeError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
