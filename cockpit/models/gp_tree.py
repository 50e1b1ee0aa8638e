"""A GP expression string (prefix form, ``op(arg, arg)``) as a tree, for display only.

The engine parses expressions against its primitive set (``engine/forge/expression.py``);
this reads the same text into nested nodes to show it indented, and never
evaluates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[(),])")


@dataclass
class Node:
    label: str
    children: list[Node] = field(default_factory=list)

    def size(self) -> int:
        return 1 + sum(c.size() for c in self.children)

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children), default=0)


def parse(expression: str) -> Node:
    """The expression's tree; raises ValueError on text that is not ``name(args)`` nesting."""
    tokens: list[str] = []
    pos, text = 0, expression.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"unexpected {text[pos]!r} at {pos}")
        tokens.append(m.group(1))
        pos = m.end()
    node, end = _parse_at(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"trailing tokens after position {end}")
    return node


def _parse_at(tokens: list[str], i: int) -> tuple[Node, int]:
    if i >= len(tokens) or tokens[i] in "(),":
        raise ValueError("expected a name or a number")
    node = Node(tokens[i])
    i += 1
    if i < len(tokens) and tokens[i] == "(":
        i += 1
        while True:
            child, i = _parse_at(tokens, i)
            node.children.append(child)
            if i >= len(tokens):
                raise ValueError("unclosed parenthesis")
            if tokens[i] == ")":
                return node, i + 1
            if tokens[i] != ",":
                raise ValueError(f"expected ',' or ')', got {tokens[i]!r}")
            i += 1
    return node, i


def indented(expression: str, indent: str = "  ") -> str:
    """The expression pretty-printed one node per line (the raw text if it does not parse)."""
    try:
        root = parse(expression)
    except ValueError:
        return expression
    lines: list[str] = []

    def walk(node: Node, depth: int) -> None:
        lines.append(f"{indent * depth}{node.label}")
        for child in node.children:
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)
