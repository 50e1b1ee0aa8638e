"""Expression strings parse back into the same trees, and only into safe ones."""

from __future__ import annotations

import random

import pytest

from engine.core.errors import DataError
from engine.forge.expression import parse_expression
from engine.forge.primitives import build_primitive_set, generate_typed

PSET = build_primitive_set(["alpha", "beta", "gamma"])


def test_parse_expression_round_trips_random_trees() -> None:
    from deap import gp

    random.seed(0)
    for _ in range(300):
        tree = gp.PrimitiveTree(generate_typed(PSET, 2, 6))
        text = str(tree)
        assert str(parse_expression(text, PSET)) == text


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("__import__('os').system('true')", "unexpected character|unknown symbol"),
        ("signal(gt(col(alpha), 0.5), os)", "unknown symbol"),
        ("signal(gt(col(alpha), 0.5))", "expected ','"),
        ("signal(gt(alpha, 0.5), true)", "ColumnRef"),
        ("signal(gt(col(alpha), 0.5), true) extra", "trailing"),
        ("signal(gt(col(alpha), 0.5), 1.0)", "constant"),
        ("const", "unknown symbol|not a value"),
        ("signal(gt(col(alpha), 0.5e), true)", "unexpected|expected"),
    ],
)
def test_parse_expression_rejects_anything_outside_the_primitive_set(text: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        parse_expression(text, PSET)


def test_build_primitive_set_rejects_feature_names_that_are_not_plain_identifiers() -> None:
    with pytest.raises(ValueError, match="cannot be a GP terminal"):
        build_primitive_set(["ok", "bad name"])
    with pytest.raises(ValueError, match="cannot be a GP terminal"):
        build_primitive_set(["signal"])
