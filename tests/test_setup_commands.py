"""The README's two set-up commands, as CI reads them (tools/readme_commands.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def readme_commands():
    path = ROOT / "tools" / "readme_commands.py"
    if not path.exists():
        pytest.skip("tools/readme_commands.py is not in this tree")
    spec = importlib.util.spec_from_file_location("readme_commands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_starts_with_install_and_run_then_install_and_test(readme_commands):
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not in this tree")
    first, second = readme_commands.setup_commands(readme.read_text(encoding="utf-8"))
    assert first.startswith("pip install .") and first.endswith("nnfast train")
    assert second.startswith('pip install ".[test]"') and second.endswith("pytest")


def test_only_the_first_bash_block_counts(readme_commands):
    text = "intro\n```bash\n# a comment\npip install .\n\n  pytest  \n```\n```bash\nrm -rf /\n```\n"
    assert readme_commands.setup_commands(text) == ["pip install .", "pytest"]


@pytest.mark.parametrize("text", ["no block at all", "```bash\npip install .\n"])
def test_a_readme_without_a_closed_block_is_refused(readme_commands, text):
    with pytest.raises(ValueError, match="bash block"):
        readme_commands.setup_commands(text)
