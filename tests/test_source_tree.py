"""Importing nnfast from a folder without its compiled extension says so, once, clearly.

The usual case: running Python from the repository's root after ``pip install .``, where the
source folder shadows the installed package (and its extension). Each case runs in a fresh
interpreter on a copy of the package's Python files.
"""

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnfast

CHECK = """
import sys
import warnings
# an editable install's finder would find the development tree's extension for the copy
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import nnfast
print(nnfast.__file__)
print(nnfast.get_backend())
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
"""


def copy_package(root):
    """The installed package's Python files (no extension) in ``root``/nnfast."""
    source = Path(nnfast.__file__).parent
    extensions = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    shutil.copytree(
        source,
        root / "nnfast",
        ignore=lambda folder, names: [
            n for n in names if n.endswith(extensions) or n == "__pycache__"
        ],
    )
    return root / "nnfast"


def run(cwd, **env):
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NNFAST_BACKEND", "NNFAST_REQUIRE_CYTHON", "PYTHONPATH", "PYTHONSAFEPATH")
    }  # the current folder first, as by default
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def warnings_of(result):
    return [line for line in result.stdout.splitlines() if line.startswith("RuntimeWarning")]


@pytest.fixture
def source_tree(tmp_path):
    """A repository-shaped folder: the package without its extension, setup.py and csrc/."""
    package = copy_package(tmp_path)
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "csrc").mkdir()
    return tmp_path, package


def test_source_tree_without_extension_warns_once_what_to_do(source_tree):
    root, package = source_tree
    result = run(root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert Path(lines[0]).parent.resolve() == package.resolve()  # the copy was imported
    assert lines[1] == "numpy"
    [warning] = warnings_of(result)
    assert f"source tree, {package.resolve()}" in warning or f"source tree, {package}" in warning
    assert "installed copy" in warning and "Run from another folder" in warning
    assert "pip install -e ." in warning
    assert "circular" not in result.stdout + result.stderr


def test_require_cython_turns_the_warning_into_an_error(source_tree):
    root, _ = source_tree
    result = run(root, NNFAST_REQUIRE_CYTHON="1")
    assert result.returncode != 0
    assert (
        "ImportError: NNFAST_REQUIRE_CYTHON=1: nnfast was imported from its source tree"
        in result.stderr
    )
    assert "circular" not in result.stderr


def test_installed_copy_without_extension_says_it_is_not_built(tmp_path):
    package = copy_package(tmp_path)  # no setup.py or csrc/ beside it: an installed copy
    [warning] = warnings_of(run(tmp_path))
    assert f"not built in {package}" in warning or f"not built in {package.resolve()}" in warning
    assert "circular" not in warning


def test_a_broken_extension_is_reported_as_such(tmp_path):
    package = copy_package(tmp_path)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (package / f"_kernels{suffix}").write_bytes(b"not a shared library")
    [warning] = warnings_of(run(tmp_path))
    assert "could not be imported" in warning and "reinstall nnfast" in warning
