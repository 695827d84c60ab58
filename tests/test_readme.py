"""README.md's tour must run: every ```python block, in order, in one namespace (as a
reader pasting them into one session would).

A block preceded by ``<!-- requires: sklearn -->`` (comma-separated module names) is
skipped when one of those modules cannot be imported.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
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
