"""The MLP estimators' string options are spelled twice: in the tables that check them at
``fit`` and in the constructors' ``Literal`` hints that type checkers and IDEs read. The
hints are strings at run time (``from __future__ import annotations``), so they are parsed
here and held to the tables."""

import ast
import inspect

import pytest

from nnfast import _backend, estimators
from nnfast._mlp_base import ACTIVATIONS, LEARNING_RATES, SOLVERS
from nnfast.estimators import MLPClassifier, MLPRegressor


def _literals(node):
    """Every string inside a ``Literal[...]`` of an annotation's syntax tree."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Subscript) and getattr(sub.value, "id", None) == "Literal":
            found.update(
                c.value
                for c in ast.walk(sub.slice)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            )
    return found


def _hint(cls, name):
    annotation = inspect.signature(cls.__init__).parameters[name].annotation
    assert isinstance(annotation, str), annotation  # postponed, as the module asks
    return ast.parse(annotation, mode="eval")


def _alias(name):
    """The right-hand side of ``name = ...`` in the estimators' module (type-checking only)."""
    for node in ast.walk(ast.parse(inspect.getsource(estimators))):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return node.value
    raise AssertionError(f"{name} is not defined in nnfast.estimators")


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "param, options",
    [
        ("solver", SOLVERS),
        ("learning_rate", LEARNING_RATES),
        ("backend", _backend.BACKENDS),
        ("batch_size", ("auto",)),
    ],
)
def test_a_string_option_hint_lists_the_checked_options(cls, param, options):
    assert _literals(_hint(cls, param)) == set(options)


def test_the_regressor_loss_hint_lists_its_losses():
    assert _literals(_hint(MLPRegressor, "loss")) == set(MLPRegressor._LOSSES)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_the_activation_hint_lists_the_activation_table(cls):
    hint = _hint(cls, "activation")
    assert {n.id for n in ast.walk(hint) if isinstance(n, ast.Name)} >= {"Activation"}
    assert _literals(_alias("Activation")) == set(ACTIVATIONS)
