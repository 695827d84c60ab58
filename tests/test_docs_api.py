"""The API reference (docs/api.rst) documents every public name of ``nnfast``."""

import re
import types
from pathlib import Path

import pytest

import nnfast

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
DIRECTIVE = re.compile(
    r"^\.\. (?:auto)?(?P<kind>class|function|module|exception|currentmodule)::\s*"
    r"(?P<target>[\w.]+)"
    r"(?P<options>(?:\n[ \t]+.*)*)",
    re.M,
)


def documented(text):
    """{dotted name} of every object an autodoc directive of ``text`` documents, with the
    members listed under ``:members:`` (as module.member / Class.member; a bare
    ``:members:``, which documents them all, as Class.*)."""
    names = set()
    module = "nnfast"  # autodoc's current module: set by currentmodule and automodule
    for m in DIRECTIVE.finditer(text):
        if m.group("kind") == "currentmodule":
            module = m.group("target")
            continue
        target = m.group("target")
        if m.group("kind") == "module":
            module = target
        elif "." not in target:
            target = f"{module}.{target}"
        names.add(target)
        members = re.search(r":members:([^\n]*(?:\n[ \t]{4,}[^:\s][^\n]*)*)", m.group("options"))
        if members:
            listed = [m for m in re.split(r"[,\s]+", members.group(1).strip()) if m]
            names.update(f"{target}.{member}" for member in listed or ["*"])
    return names


def api_text():
    if not API.exists():
        pytest.skip(f"{API} is not here (tests run outside the source tree)")
    return API.read_text(encoding="utf-8")


def test_directive_parsing():
    text = (
        ".. currentmodule:: nnfast\n\n.. autoclass:: Network\n   :members: train, save,\n"
        "             copy\n\n.. automodule:: nnfast.export\n   :members: to_onnx\n"
        "   :no-index:\n\n.. autofunction:: register_skl2onnx\n\n.. currentmodule:: nnfast\n\n"
        ".. autofunction:: nnfast.load\n\n.. autoclass:: Callback\n   :members:\n"
    )
    assert documented(text) == {
        "nnfast.Network",
        "nnfast.Network.train",
        "nnfast.Network.save",
        "nnfast.Network.copy",
        "nnfast.export",
        "nnfast.export.to_onnx",
        "nnfast.export.register_skl2onnx",
        "nnfast.load",
        "nnfast.Callback",
        "nnfast.Callback.*",
    }


@pytest.mark.parametrize("name", nnfast.__all__)
def test_every_public_name_is_documented(name):
    names = documented(api_text())
    obj = getattr(nnfast, name)
    where = {f"nnfast.{name}"}
    if not isinstance(obj, types.ModuleType):
        # documented where it is defined, e.g. nnfast.to_onnx as nnfast.export.to_onnx
        where.add(f"{obj.__module__}.{obj.__name__}")
    assert where & names, f"docs/api.rst documents none of {sorted(where)}"


def test_every_public_name_has_a_docstring():
    missing = [name for name in nnfast.__all__ if not (getattr(nnfast, name).__doc__ or "").strip()]
    assert not missing, f"public names without a docstring: {missing}"


@pytest.mark.parametrize(
    "name", [n for n in nnfast.__all__ if isinstance(getattr(nnfast, n), type)]
)
def test_every_public_method_is_documented(name):
    """The public methods a class defines itself are listed under its :members:."""
    cls = getattr(nnfast, name)
    names = documented(api_text())
    listed = {
        n.rsplit(".", 1)[1]
        for n in names
        if n.rsplit(".", 1)[0] in (f"nnfast.{name}", f"{cls.__module__}.{name}")
    }
    documented_bases = [
        base for base in cls.__mro__[1:] if getattr(nnfast, base.__name__, None) is base
    ]
    own = {
        attr
        for klass in cls.__mro__
        if klass.__module__.startswith("nnfast") and klass not in documented_bases
        for attr, value in vars(klass).items()
        if not attr.startswith("_")
        and callable(value)
        and not isinstance(value, type)
        and not any(attr in vars(base) for base in documented_bases)  # e.g. Callback's hooks
    }
    own.discard("hyper")  # optimizers' and schedules' record for the kernels, not user API
    protocol = {"get_params", "set_params", "fit_transform", "score"}  # scikit-learn's
    missing = sorted(own - listed - protocol) if "*" not in listed else []
    assert not missing, f"{name}: methods not in docs/api.rst: {missing}"
