"""tools/sklearn_mlp_tests.py: scikit-learn's test file rewritten to import nnfast, and run.

The rewrite must fail loudly when scikit-learn's file changes shape (else its tests would
silently run on scikit-learn's own classes), and the run must report every test, a failure
and a crash.
"""

import importlib.util
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINE = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

GOOD = textwrap.dedent(f"""\
    import numpy as np
    {LINE}


    def test_uses_nnfast():
        assert MLPClassifier.__module__.startswith("nnfast")
        assert MLPRegressor.__module__.startswith("nnfast")
    """)


@pytest.fixture(scope="module")
def tool():
    path = ROOT / "tools" / "sklearn_mlp_tests.py"
    if not path.exists():
        pytest.skip("tools/sklearn_mlp_tests.py is not in this tree")
    spec = importlib.util.spec_from_file_location("sklearn_mlp_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rewrite_changes_the_import_line_and_nothing_else(tool):
    out = tool.rewrite(GOOD)
    before, after = GOOD.splitlines(), out.splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after)
    assert changed == [(LINE, "from nnfast import MLPClassifier, MLPRegressor")]


@pytest.mark.parametrize(
    "text",
    [
        GOOD.replace(LINE, "from sklearn.neural_network import MLPRegressor, MLPClassifier"),
        GOOD.replace(LINE, "from sklearn.neural_network import (MLPClassifier, MLPRegressor)"),
        GOOD.replace(LINE, "import numpy"),
        GOOD.replace(LINE, LINE + "\n" + LINE),
    ],
    ids=["reordered", "parenthesised", "missing", "twice"],
)
def test_rewrite_fails_loudly_when_the_line_is_not_there_once(tool, text):
    with pytest.raises(tool.ShapeError, match="exactly once"):
        tool.rewrite(text)


@pytest.mark.parametrize(
    "extra",
    [
        "from sklearn.neural_network._multilayer_perceptron import MLPRegressor",
        "    from sklearn.neural_network import MLPClassifier",
        "import sklearn.neural_network",
    ],
)
def test_rewrite_fails_when_another_line_imports_scikit_learns_classes(tool, extra):
    with pytest.raises(tool.ShapeError, match="still imports"):
        tool.rewrite(GOOD + "\n" + extra + "\n")


def test_rewrite_keeps_other_sklearn_imports(tool):
    text = GOOD.replace("import numpy as np", "from sklearn.datasets import load_iris")
    assert "from sklearn.datasets import load_iris" in tool.rewrite(text)


def test_an_excluded_test_that_no_longer_exists_is_an_error(tool):
    tool.check_exclusions(GOOD, {"test_uses_nnfast": "why"})
    with pytest.raises(tool.ShapeError, match="test_gone"):
        tool.check_exclusions(GOOD, {"test_gone": "why"})


def test_every_exclusion_has_a_reason(tool):
    assert all(isinstance(r, str) and len(r) > 40 for r in tool.EXCLUDED.values())


def test_parse_junit(tool, tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text(
        textwrap.dedent("""\
        <testsuites><testsuite>
          <testcase classname="test_mlp" name="test_a"/>
          <testcase classname="test_mlp" name="test_b[x]">
            <failure message="boom">tb</failure></testcase>
          <testcase classname="test_mlp" name="test_c"><skipped message="no pandas"/></testcase>
          <testcase classname="test_mlp" name="test_d">
            <error message="fixture">tb</error></testcase>
          <testcase classname="test_mlp" name="test_e"><failure message="call"/></testcase>
          <testcase classname="test_mlp" name="test_e"><error message="teardown"/></testcase>
        </testsuite></testsuites>
        """)
    )
    assert tool.parse_junit(xml) == [
        ("test_a", "PASS", ""),
        ("test_b[x]", "FAIL", "boom"),
        ("test_c", "SKIP", "no pandas"),
        ("test_d", "ERROR", "fixture"),
        ("test_e", "FAIL", "call"),
    ]


def test_parse_verbose_names_the_test_that_was_running(tool):
    output = (
        "test_mlp.py::test_a PASSED [ 33%]\ntest_mlp.py::test_b[1] FAILED [ 66%]\n"
        "test_mlp.py::test_c Fatal Python error: Aborted\n"
    )
    done, running = tool.parse_verbose(output)
    assert done == [("test_a", "PASS", ""), ("test_b[1]", "FAIL", "")]
    assert running == "test_c"


@pytest.mark.requires("sklearn")
def test_the_installed_file_has_the_shape_the_script_expects(tool):
    text = tool.source_path().read_text(encoding="utf-8")
    tool.check_exclusions(text)
    assert "from nnfast import MLPClassifier, MLPRegressor" in tool.rewrite(text)


def _fake_tests(tmp_path, body):
    path = tmp_path / "test_fake.py"
    path.write_text(GOOD + textwrap.dedent(body))
    return path


@pytest.mark.requires("sklearn")
def test_run_prints_each_test_and_fails_on_a_failure(tool, tmp_path, capsys):
    path = _fake_tests(
        tmp_path,
        """

        def test_fails():
            assert 1 == 2

        def test_left_out():
            assert False
        """,
    )
    status = tool.run(path, excluded={"test_left_out": "reads a private attribute"})
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert "PASS     test_uses_nnfast" in lines
    assert any(line.startswith("FAIL     test_fails  -- assert 1 == 2") for line in lines)
    assert "EXCLUDED test_left_out  -- reads a private attribute" in lines
    assert lines[-1] == "nnfast: 1 pass, 1 fail, 1 excluded"


@pytest.mark.requires("sklearn")
def test_run_passes_when_every_test_passes(tool, tmp_path, capsys):
    assert tool.run(_fake_tests(tmp_path, ""), excluded={}) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "nnfast: 1 pass"


@pytest.mark.requires("sklearn")
def test_run_reports_a_crash(tool, tmp_path, capsys):
    path = _fake_tests(
        tmp_path,
        """

        def test_crashes():
            import os
            os.abort()
        """,
    )
    status = tool.run(path, excluded={})
    out = capsys.readouterr().out
    assert status == 2
    assert "PASS     test_uses_nnfast" in out
    assert "CRASH: pytest exited with" in out and "while running test_crashes" in out


@pytest.mark.requires("sklearn")
def test_run_reports_a_hang(tool, tmp_path, capsys):
    path = _fake_tests(
        tmp_path,
        """

        def test_hangs():
            import time
            time.sleep(120)
        """,
    )
    status = tool.run(path, excluded={}, timeout=8)
    out = capsys.readouterr().out
    assert status == 2
    assert "CRASH: pytest hung (killed after 8 s) while running test_hangs" in out
