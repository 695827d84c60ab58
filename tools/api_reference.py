"""Print the README's "API reference" section, generated from ``nnfast.__all__``.

    python tools/api_reference.py            # print the section (markdown)
    python tools/api_reference.py --write    # replace the section at the end of README.md
    python tools/api_reference.py --check    # exit 1 if README.md's section is out of date

One entry per public name: its signature (classes: the constructor's; annotations left
out) and the first paragraph of its docstring; for classes their public methods, for
modules their public names. tests/test_readme.py holds README.md to this output.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
from pathlib import Path

HEADING = "## API reference"
README = Path(__file__).resolve().parents[1] / "README.md"


def summary(obj):
    """The first paragraph of ``obj``'s docstring on one line, in markdown."""
    doc = inspect.getdoc(obj) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = text.replace("``", "`")
    if text.endswith("::"):  # reST: "... with bias correction::" introduces a literal block
        text = text[:-2] + "."
    return text


def signature(obj):
    """``(a, b=1, *, c=None)``: the call signature without annotations ("" for exceptions
    and warnings, whose constructors take any arguments)."""
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return ""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    empty = inspect.Parameter.empty
    sig = sig.replace(
        parameters=[p.replace(annotation=empty) for p in sig.parameters.values()],
        return_annotation=inspect.Signature.empty,
    )
    return re.sub(r"<([\w.]+) object at 0x[0-9a-f]+>", r"<\1>", str(sig))


#: The estimator protocol's classes: scikit-learn's when it is installed, nnfast._compat's
#: fallback otherwise. Their methods are listed apart, the same with or without scikit-learn.
PROTOCOL_CLASSES = {"BaseEstimator", "ClassifierMixin", "RegressorMixin", "TransformerMixin"}
PROTOCOL_METHODS = ("fit_transform", "get_params", "score", "set_params")


def public_methods(cls):
    """The public methods and properties nnfast itself defines on ``cls``."""
    names = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or not (
            inspect.isfunction(member) or inspect.ismethod(member) or isinstance(member, property)
        ):
            continue
        fn = member.fget if isinstance(member, property) else member
        owner = getattr(fn, "__qualname__", "").split(".")[0]
        if getattr(fn, "__module__", "").startswith("nnfast") and owner not in PROTOCOL_CLASSES:
            names.append(name)
    return names


def protocol_methods(cls):
    """The estimator protocol's methods ``cls`` has (from scikit-learn or the fallback)."""
    if not hasattr(cls, "get_params"):
        return []
    mine = public_methods(cls)
    return [name for name in PROTOCOL_METHODS if hasattr(cls, name) and name not in mine]


def module_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and not isinstance(v, types.ModuleType)
            and (
                getattr(v, "__module__", None) == module.__name__
                or type(v).__module__ == module.__name__
            )
        ]
    return list(names)


def entry(name, obj):
    """The markdown lines of one public name."""
    if isinstance(obj, types.ModuleType):
        lines = [f"- **`nnfast.{name}`** (module): {summary(obj) or '(undocumented)'}"]
        names = module_names(obj)
        if names:
            lines.append(f"  Names: {', '.join(f'`{n}`' for n in names)}.")
        return lines
    kind = (
        "function"
        if not inspect.isclass(obj)
        else "warning"
        if issubclass(obj, Warning)
        else "exception"
        if issubclass(obj, BaseException)
        else "class"
    )
    lines = [f"- **`nnfast.{name}{signature(obj)}`** ({kind}): {summary(obj) or '(undocumented)'}"]
    if kind == "class" or kind == "exception":
        methods = public_methods(obj)
        if methods:
            lines.append(f"  Methods and properties: {', '.join(f'`{m}`' for m in methods)}.")
        protocol = protocol_methods(obj)
        if protocol:
            lines.append(
                f"  Estimator protocol (scikit-learn's when installed): "
                f"{', '.join(f'`{m}`' for m in protocol)}."
            )
    return lines


def section():
    """The whole section, from its heading to the end, as one string (ending in a newline)."""
    import nnfast

    groups = {"Classes": [], "Functions": [], "Modules": []}
    for name in sorted(nnfast.__all__, key=str.lower):
        obj = getattr(nnfast, name)
        group = (
            "Modules"
            if isinstance(obj, types.ModuleType)
            else "Classes"
            if inspect.isclass(obj)
            else "Functions"
        )
        groups[group] += entry(name, obj)
    out = [
        HEADING,
        "",
        "Every public name of `nnfast` (`nnfast.__all__`), with its signature and the first "
        "paragraph of its docstring (`help(nnfast.Name)` has the rest). Generated by "
        "`python tools/api_reference.py --write`; `tests/test_readme.py` checks that it is "
        "current.",
    ]
    for title, lines in groups.items():
        if lines:
            out += ["", f"### {title}", "", *lines]
    return "\n".join(out) + "\n"


def split_readme(text):
    """(text before the section, the section, text after it) of README.md's text."""
    start = text.find("\n" + HEADING + "\n")
    if start < 0:
        return text, "", ""
    start += 1
    following = re.search(r"^## ", text[start + len(HEADING) :], re.M)
    end = len(text) if following is None else start + len(HEADING) + following.start()
    return text[:start], text[start:end], text[end:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update README.md in place")
    mode.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    new = section()
    if not (args.write or args.check):
        sys.stdout.write(new)
        return 0
    text = README.read_text(encoding="utf-8")
    before, old, after = split_readme(text)
    if args.check:
        if old.rstrip("\n") != new.rstrip("\n"):
            print(
                f"{README} has a stale or missing '{HEADING}' section: run "
                f"python tools/api_reference.py --write",
                file=sys.stderr,
            )
            return 1
        return 0
    if not old:  # append at the end
        before = before.rstrip("\n") + "\n\n"
    elif after:
        new += "\n"
    README.write_text(before + new + after, encoding="utf-8")
    print(f"updated the '{HEADING}' section of {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
