"""Vectorized GP tree evaluation over whole columns, with a subtree cache.

A tree is walked once per evaluation; each operator runs on whole float32
columns, so the cost is a handful of numpy calls, not a Python loop per bar.
Results of non-trivial subtrees are kept in an LRU cache keyed by the
subtree's expression text: a population shares many subtrees (and every
rolling operator over a feature), so most of them are computed once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np
from deap import gp

from engine.forge.primitives import PRIMITIVES, UNCACHED


class TreeEvaluator:
    """Evaluate GP trees on a fixed set of float32 feature columns."""

    def __init__(
        self,
        columns: Mapping[str, np.ndarray],
        pset: gp.PrimitiveSetTyped,
        cache_bytes: int = 128 * 2**20,
    ) -> None:
        lengths = {c.size for c in columns.values()}
        if len(lengths) != 1:
            raise ValueError("feature columns must all have the same length")
        self.n_rows = lengths.pop()
        self._columns = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in columns.items()}
        self._context = pset.context
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self.hits = 0
        self.misses = 0

    def signals(self, tree: gp.PrimitiveTree) -> np.ndarray:
        """HOLD/ENTRY/EXIT per row (int8) for a tree rooted at ``signal``."""
        value, _key, end = self._eval(tree, 0)
        if end != len(tree):
            raise ValueError("malformed tree")
        return np.ascontiguousarray(np.broadcast_to(value, (self.n_rows,)), dtype=np.int8)

    def _terminal(self, node: Any) -> Any:
        if node.name in self._columns:
            return self._columns[node.name]
        if isinstance(node.value, str):
            return self._context[node.value]
        return node.value

    def _eval(self, tree: gp.PrimitiveTree, i: int) -> tuple[Any, str, int]:
        node = tree[i]
        if not isinstance(node, gp.Primitive):
            return self._terminal(node), node.format(), i + 1
        args = []
        keys = []
        j = i + 1
        for _ in range(node.arity):
            value, key, j = self._eval(tree, j)
            args.append(value)
            keys.append(key)
        key = f"{node.name}({','.join(keys)})"
        if node.name in UNCACHED:
            return PRIMITIVES[node.name][0](*args), key, j
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return cached, key, j
        self.misses += 1
        value = PRIMITIVES[node.name][0](*args)
        self._remember(key, value)
        return value, key, j

    def _remember(self, key: str, value: Any) -> None:
        size = int(getattr(value, "nbytes", 0))
        if size == 0 or size > self._cache_bytes:
            return
        if isinstance(value, np.ndarray):
            value.flags.writeable = False  # shared by every tree that reuses the subtree
        self._cache[key] = value
        self._cached_bytes += size
        while self._cached_bytes > self._cache_bytes:
            _old_key, old = self._cache.popitem(last=False)
            self._cached_bytes -= int(old.nbytes)
