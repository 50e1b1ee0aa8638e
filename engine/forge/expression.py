"""GP trees <-> expression strings, parsed against the fixed primitive set (no eval).

DEAP's own ``PrimitiveTree.from_string`` evaluates unknown tokens with ``eval``;
a registry file must never be able to run code, so this parser accepts only
operator and terminal names from the primitive set and plain float literals,
checks every argument's type, and rejects anything else with a clear error.
"""

from __future__ import annotations

import re
from typing import Any

from deap import gp

from engine.core.errors import DataError
from engine.forge.primitives import FloatSeries

_TOKEN_RE = re.compile(
    r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|([(),]))"
)
MAX_EXPRESSION_CHARS = 20_000


def _tokenize(expression: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise DataError(f"unexpected character {text[pos]!r} at {pos} in GP expression")
        name, number, punct = m.groups()
        if name is not None:
            tokens.append(("name", name))
        elif number is not None:
            tokens.append(("number", number))
        else:
            tokens.append(("punct", punct))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], pset: gp.PrimitiveSetTyped) -> None:
        self.tokens = tokens
        self.pos = 0
        self.pset = pset
        self.nodes: list[Any] = []

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise DataError("GP expression ends too early")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, punct: str) -> None:
        kind, value = self._next()
        if kind != "punct" or value != punct:
            raise DataError(f"GP expression: expected {punct!r}, found {value!r}")

    def parse(self, want: type) -> None:
        kind, value = self._next()
        if kind == "number":
            if want is not FloatSeries:
                raise DataError(f"GP expression: constant {value} where {want.__name__} is needed")
            self.nodes.append(gp.Terminal(float(value), False, FloatSeries))
            return
        if kind != "name" or value not in self.pset.mapping:
            raise DataError(f"GP expression: unknown symbol {value!r}")
        node = self.pset.mapping[value]
        if isinstance(node, type):  # an ephemeral class has no fixed value
            raise DataError(f"GP expression: {value!r} is not a value")
        if node.ret is not want:
            raise DataError(
                f"GP expression: {value!r} gives {node.ret.__name__}, {want.__name__} is needed"
            )
        self.nodes.append(node)
        if isinstance(node, gp.Primitive):
            self._expect("(")
            for i, arg_type in enumerate(node.args):
                if i:
                    self._expect(",")
                self.parse(arg_type)
            self._expect(")")


def parse_expression(expression: str, pset: gp.PrimitiveSetTyped) -> gp.PrimitiveTree:
    """Rebuild a tree from its expression string, or raise DataError saying why not."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise DataError(f"GP expression longer than {MAX_EXPRESSION_CHARS} characters")
    parser = _Parser(_tokenize(expression), pset)
    parser.parse(pset.ret)
    if parser.pos != len(parser.tokens):
        raise DataError("GP expression has trailing tokens")
    return gp.PrimitiveTree(parser.nodes)
