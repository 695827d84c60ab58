"""README.md is a tutorial that must run: every ```python block, in order, in one namespace
(as a reader pasting them into one session would), and its API reference must match
``nnfast.__all__`` (regenerate it with ``python tools/api_reference.py --write``).

A block preceded by ``<!-- requires: sklearn -->`` (comma-separated module names) is
skipped when one of those modules cannot be imported.
"""

import importlib.util
import inspect
import os
import re
import types
from pathlib import Path

import pytest

import nnfast

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOOL = ROOT / "tools" / "api_reference.py"
FENCE = re.compile(
    r"(?:<!--\s*requires:\s*(?P<requires>[\w.,\s-]+?)\s*-->\s*\n)?"
    r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*$",
    re.M | re.S,
)


def python_blocks(text):
    """[(line number, requirements, code)] of every ```python block of ``text``."""
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start("code"))  # the ```python line (1-based)
        requires = [r.strip() for r in (m.group("requires") or "").split(",") if r.strip()]
        blocks.append((line, requires, m.group("code")))
    return blocks


def readme_text():
    if not README.exists():
        pytest.skip(f"{README} is not here (tests run outside the source tree)")
    return README.read_text(encoding="utf-8")


BLOCKS = python_blocks(README.read_text(encoding="utf-8")) if README.exists() else []


def test_block_extraction():
    text = (
        "x\n```python\na = 1\n```\n<!-- requires: sklearn, scipy -->\n```python\nb = 2\n```\n"
        "```bash\nls\n```\n"
    )
    assert python_blocks(text) == [(2, [], "a = 1\n"), (6, ["sklearn", "scipy"], "b = 2\n")]


def test_readme_has_python_blocks():
    assert len(python_blocks(readme_text())) >= 3


@pytest.fixture(scope="module")
def namespace(tmp_path_factory):
    """One namespace for all blocks, run in a scratch directory (blocks may save files)."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("readme"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    state = {"ns": {"__name__": "__readme__"}, "failed": None}
    try:
        yield state
    finally:
        os.chdir(here)


@pytest.mark.parametrize(
    "line, requires, code", BLOCKS, ids=[f"line{line}" for line, _, _ in BLOCKS]
)
def test_readme_python_block(namespace, line, requires, code):
    for module in requires:
        pytest.importorskip(module)
    if namespace["failed"] is not None:
        pytest.fail(f"not run: the block at README.md line {namespace['failed']} failed")
    try:
        exec(compile(code, f"README.md:{line}", "exec"), namespace["ns"])
    except BaseException:
        namespace["failed"] = line
        raise


# --- the API reference ---------------------------------------------------------------------------


def _tool():
    if not TOOL.exists():
        pytest.skip(f"{TOOL} is not here (tests run outside the source tree)")
    spec = importlib.util.spec_from_file_location("api_reference", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference_section():
    tool = _tool()
    _, section, _ = tool.split_readme(readme_text())
    assert section, f"README.md has no '{tool.HEADING}' section"
    return tool, section


def test_api_reference_lists_every_public_name_with_its_signature():
    tool, section = _reference_section()
    for name in nnfast.__all__:
        obj = getattr(nnfast, name)
        if isinstance(obj, types.ModuleType):
            expected = f"**`nnfast.{name}`** (module)"
        else:
            expected = f"**`nnfast.{name}{tool.signature(obj)}`**"
        assert expected in section, (
            f"README's API reference lacks {expected} (or has an old "
            f"signature): run python tools/api_reference.py --write"
        )


def test_api_reference_has_nothing_stale():
    _, section = _reference_section()
    listed = re.findall(r"^- \*\*`nnfast\.(\w+)", section, re.M)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert sorted(listed) == sorted(nnfast.__all__), (
        f"listed but not public: {sorted(set(listed) - set(nnfast.__all__))}; public but not "
        f"listed: {sorted(set(nnfast.__all__) - set(listed))}"
    )


def test_api_reference_is_exactly_the_generated_section():
    tool, section = _reference_section()
    assert section.rstrip("\n") == tool.section().rstrip("\n"), (
        "README's API reference is out of date: run python tools/api_reference.py --write"
    )


def test_every_public_name_has_a_docstring_summary():
    tool = _tool()
    missing = [name for name in nnfast.__all__ if not tool.summary(getattr(nnfast, name))]
    assert not missing, f"public names without a docstring: {missing}"


def test_signature_leaves_out_annotations_and_addresses():
    tool = _tool()
    sentinel = object()

    def f(a: int, b: "str" = "x", *, c=sentinel) -> None:
        """Do f."""

    assert tool.signature(f) == "(a, b='x', *, c=<object>)"
    assert tool.signature(UserWarning) == ""
    assert inspect.signature(f).parameters["a"].annotation is int  # untouched
