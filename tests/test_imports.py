"""What importing nnfast costs and how its modules depend on each other.

``import nnfast`` and ``nnfast train`` must not import scikit-learn (its import takes about a
second; the estimators load it when they are first used), nor matplotlib. The package's
modules form no import cycle, and each imports on its own in a fresh interpreter.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nnfast

PACKAGE = Path(nnfast.__file__).resolve().parent
HEAVY = ("sklearn", "matplotlib", "pandas", "onnx", "torch")


def fresh_python(code, cwd=None):
    """Run ``code`` in a new interpreter; returns its last line of output, parsed as JSON."""
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("NNFAST_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


LOADED = f"""
import json, sys
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def test_import_nnfast_imports_no_optional_package():
    assert fresh_python("import nnfast\n" + LOADED) == []


def test_the_estimators_load_scikit_learn_when_used():
    pytest.importorskip("sklearn")
    code = (
        "import nnfast\nfrom nnfast import MLPClassifier\n"
        "assert 'MLPClassifier' in dir(nnfast)\n" + LOADED
    )
    assert "sklearn" in fresh_python(code)


@pytest.mark.parametrize(
    "argv",
    [["train", "--help"], ["train", "--epochs", "2", "--save", "model.npz"]],
    ids=["help", "train"],
)
def test_nnfast_train_imports_no_optional_package(argv, tmp_path):
    code = (
        f"""
import contextlib, io
from nnfast.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main({argv!r})
    except SystemExit as exc:  # --help
        status = exc.code
assert status == 0, status
"""
        + LOADED
    )
    assert fresh_python(code, cwd=tmp_path) == []
    if "--save" in argv:  # and predicting with the saved model does not either
        (tmp_path / "rows.csv").write_text("gre,gpa,rank\n800,4.0,1\n")
        code = (
            """
import contextlib, io
from nnfast.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["predict", "model.npz", "rows.csv"]) == 0
"""
            + LOADED
        )
        assert fresh_python(code, cwd=tmp_path) == []


def _modules():
    """{module name: path} of every module of the package and its subpackages
    (``nnfast.__main__`` runs the command line when imported: left out of the imports
    below)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("nnfast", *path.relative_to(PACKAGE).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(test):
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_at_import_time(name, path):
    """The package modules ``name`` imports when it is imported: its module-level import
    statements (those inside functions run later, when called; those under
    ``if TYPE_CHECKING:`` never)."""
    found = set()
    package = name if path.stem == "__init__" else name.rpartition(".")[0]

    def visit(nodes):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.orelse)  # its body runs only under a type checker
                continue
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(filter(None, [*parent, base]))
                if base == "nnfast" or base.startswith("nnfast."):
                    found.add(base)
                    found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("nnfast"))
            visit(ast.iter_child_nodes(node))

    visit(ast.parse(path.read_text()).body)
    return found


def test_the_package_has_no_import_cycle():
    modules = _modules()
    # a module importing a package it is in (``from . import x``) has had that package's
    # __init__ run first anyway: only the other edges can make cycles
    graph = {
        name: sorted(
            m
            for m in _imported_at_import_time(name, path)
            if m in modules and m != name and not name.startswith(m + ".")
        )
        for name, path in modules.items()
    }
    state, cycles = {}, []

    def walk(name, trail):
        state[name] = "open"
        for dep in graph[name]:
            if state.get(dep) == "open":
                cycles.append(trail[trail.index(dep) :] + [dep])
            elif dep not in state:
                walk(dep, trail + [dep])
        state[name] = "done"

    for name in graph:
        if name not in state:
            walk(name, [name])
    assert not cycles, cycles
    assert "nnfast._validation" in graph["nnfast.data"]  # the walk sees real edges
    assert "nnfast._validation.labels" in graph["nnfast._validation.arrays"]


def test_every_module_imports_in_a_fresh_interpreter():
    names = [n for n in _modules() if n != "nnfast.__main__"]
    code = f"""
import importlib, json
for name in {names!r}:
    importlib.import_module(name)
print(json.dumps(len({names!r})))
"""
    assert fresh_python(code) == len(names)
