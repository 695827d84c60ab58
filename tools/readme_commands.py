"""Print the set-up commands at the top of README.md, one per line, for ``.ci/run``.

They are the lines of the README's first ``bash`` block that are not comments: the command
that installs nnfast and runs its main job, then the one that installs the test dependencies
and runs the tests. CI runs exactly these, so the README cannot drift from what CI checks.
"""

import sys
from pathlib import Path


def setup_commands(readme_text):
    """The non-comment lines of the first fenced ``bash`` block of ``readme_text``."""
    lines = iter(readme_text.splitlines())
    for line in lines:
        if line.strip() == "```bash":
            break
    else:
        raise ValueError("README has no ```bash block")
    commands = []
    for line in lines:
        if line.strip() == "```":
            return commands
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    raise ValueError("README's first ```bash block is not closed")


def main(argv):
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "README.md"
    for command in setup_commands(path.read_text(encoding="utf-8")):
        print(command)


if __name__ == "__main__":
    main(sys.argv)
