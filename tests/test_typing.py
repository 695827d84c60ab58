"""The package's type hints reach its users: the PEP 561 marker ``py.typed`` is installed,
every module is fully annotated, and the annotations cost nothing at import.

Whether the annotations are right is mypy's job (``mypy``, configured in pyproject.toml).
"""

import ast
import importlib
import importlib.resources
import inspect
import json
import os
import subprocess
import sys

import pytest

import nnfast


def _modules():
    """Every module of the package, found from its files (``__main__`` runs the CLI: skipped)."""
    root = os.path.dirname(nnfast.__file__)
    names = []
    for folder, _, files in os.walk(root):
        package = os.path.relpath(folder, os.path.dirname(root)).replace(os.sep, ".")
        for file in files:
            if file.endswith(".py") and file != "__main__.py":
                stem = file[: -len(".py")]
                names.append(package if stem == "__init__" else f"{package}.{stem}")
    return sorted(names)


#: Every module of the package: each must be fully annotated.
MODULES = _modules()


def test_the_installed_package_is_marked_as_typed():
    # found as type checkers find it: in the nnfast that is imported (the wheel, in CI)
    marker = importlib.resources.files("nnfast").joinpath("py.typed")
    assert marker.is_file(), f"no py.typed beside {nnfast.__file__}"
    assert "partial" not in marker.read_text()  # the package's own hints, not stubs elsewhere


def _functions(module):
    """(qualified name, function) of every function and method written in ``module``."""
    path = inspect.getsourcefile(module)

    def own(fn):
        fn = inspect.unwrap(fn)
        return inspect.isfunction(fn) and inspect.getsourcefile(fn) == path

    for name, value in vars(module).items():
        if own(value):
            yield name, inspect.unwrap(value)
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for attr, member in vars(value).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                elif isinstance(member, property):
                    member = member.fget
                if own(member) and member.__name__ == attr:  # not aliases (__delitem__ = _fixed)
                    yield f"{name}.{attr}", inspect.unwrap(member)


def _missing_annotations(fn):
    """The parameters (and ``return``) of ``fn`` without an annotation; self/cls excepted."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_the_walk_finds_every_kind_of_module():
    assert {"nnfast", "nnfast.network", "nnfast._validation", "nnfast._reference.dense"} <= set(
        MODULES
    )
    assert "nnfast.__main__" not in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_every_function_of_an_annotated_module_is_annotated(name):
    module = importlib.import_module(name)
    found = dict(_functions(module))
    unannotated = {qual: m for qual, fn in found.items() if (m := _missing_annotations(fn))}
    assert not unannotated, f"{name}: {unannotated}"


def test_the_fallbacks_without_scikit_learn_are_annotated():
    # nnfast._compat defines its own estimator base classes only when scikit-learn is
    # missing: the walk runs in a subprocess that refuses to import it
    code = f"""
import importlib.abc, inspect, json, sys

class NoScikitLearn(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NoScikitLearn())
from nnfast import _compat
{inspect.getsource(_functions)}
{inspect.getsource(_missing_annotations)}
found = dict(_functions(_compat))
print(json.dumps({{
    "installed": _compat.SKLEARN_INSTALLED,
    "found": sorted(found),
    "unannotated": {{q: m for q, fn in found.items() if (m := _missing_annotations(fn))}},
}}))
"""
    env = dict(os.environ)
    env.pop("NNFAST_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["installed"] is False
    assert {"BaseEstimator.get_params", "ClassifierMixin.score", "_available_if.__get__"} <= set(
        out["found"]
    )
    assert not out["unannotated"], out["unannotated"]


def test_the_walk_finds_functions_methods_and_properties():
    import nnfast.datasets

    found = dict(_functions(nnfast.datasets))
    assert {"load_mnist", "_read", "Dataset.__new__", "Dataset.X"} <= set(found)
    assert _missing_annotations(lambda a, *, b=1: a) == ["a", "b", "return"]


def test_annotations_are_not_imported_at_run_time():
    # the aliases are imported under TYPE_CHECKING only
    code = f"""
import importlib, json, sys
for name in {[m for m in MODULES if m != "nnfast._typing"]!r}:
    importlib.import_module(name)
print(json.dumps("nnfast._typing" in sys.modules))
"""
    env = dict(os.environ)
    env.pop("NNFAST_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) is False


def _literal_strings(source, name):
    """The strings of the ``Literal[...]`` assigned to ``name`` in ``source``, or of the
    annotation of the parameter ``name`` of a function in it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            value = node.value
            break
        if isinstance(node, ast.arg) and node.arg == name and node.annotation is not None:
            value = node.annotation
            break
    else:
        raise AssertionError(f"no {name} found")
    return {c.value for c in ast.walk(value) if isinstance(c, ast.Constant)}


def test_literal_hints_list_the_options_the_code_checks():
    from nnfast import _typing, network, training

    assert _literal_strings(inspect.getsource(_typing), "Init") == set(network.INITIALISERS)
    assert _literal_strings(inspect.getsource(training), "on_divergence") == set(
        training.DIVERGENCE
    )
