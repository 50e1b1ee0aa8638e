"""The GP primitive set: typed, protected, vectorized operators over whole columns.

Every operator takes and returns numpy arrays (float32 where the value is a
number, bool for conditions) or Python scalars for constants, so one call
computes a node for every bar at once. Types (strongly-typed GP):

* ``ColumnRef``  a raw (normalized) feature column; only rolling operators and
  ``col`` take one, so rolling work is always over a feature and can be cached.
* ``FloatSeries`` / ``BoolSeries``  numbers and conditions per bar.
* ``WindowLen``  a rolling window length, one of ``WINDOWS``.
* ``EntryExit``  the root: ``signal(entry, exit)`` -> HOLD/ENTRY/EXIT per bar.

The set is fixed: an expression string names only these operators, the
feature columns, the window and boolean terminals and float literals, which is
what lets the registry rebuild trees without evaluating any code.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from deap import gp

WINDOWS: tuple[int, ...] = (5, 15, 30, 60, 240)
_EPS = np.float32(1e-6)
_LEAF_READS_DATA = 0.8
FEATURE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ColumnRef:
    """GP type of a feature column (input of rolling operators)."""


class FloatSeries:
    """GP type of a float32 value per bar (or a float constant)."""


class BoolSeries:
    """GP type of a condition per bar."""


class WindowLen:
    """GP type of a rolling window length in bars."""


class EntryExit:
    """GP type of the tree's output: a signal per bar."""


Array = Any  # numpy array or Python scalar; numpy's own typing is too loose to help here


def add(a: Array, b: Array) -> Array:
    return a + b


def sub(a: Array, b: Array) -> Array:
    return a - b


def mul(a: Array, b: Array) -> Array:
    return a * b


def div(a: Array, b: Array) -> Array:
    """Protected division: 0 where the divisor is (near) zero."""
    b = np.asarray(b, dtype=np.float32)
    safe = np.abs(b) > _EPS
    return np.where(safe, np.asarray(a, dtype=np.float32) / np.where(safe, b, 1.0), 0.0).astype(
        np.float32
    )


def absolute(a: Array) -> Array:
    return np.abs(a)


def gt(a: Array, b: Array) -> Array:
    return np.greater(a, b)


def lt(a: Array, b: Array) -> Array:
    return np.less(a, b)


def and_(a: Array, b: Array) -> Array:
    return np.logical_and(a, b)


def or_(a: Array, b: Array) -> Array:
    return np.logical_or(a, b)


def not_(a: Array) -> Array:
    return np.logical_not(a)


def if_then_else(cond: Array, a: Array, b: Array) -> Array:
    return np.where(cond, a, b).astype(np.float32)


def col(x: np.ndarray) -> np.ndarray:
    return x


def _rolling_sum(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Causal rolling sum of the last ``w`` values and the count used (expanding at the start)."""
    c = np.cumsum(x, dtype=np.float64)
    out = c.copy()
    out[w:] = c[w:] - c[:-w]
    count = np.minimum(np.arange(1, x.size + 1, dtype=np.float64), w)
    return out, count


def roll_mean(x: np.ndarray, w: int) -> np.ndarray:
    s, count = _rolling_sum(x, w)
    return np.asarray(s / count, dtype=np.float32)


def roll_std(x: np.ndarray, w: int) -> np.ndarray:
    x64 = x.astype(np.float64)
    s, count = _rolling_sum(x64, w)
    s2, _ = _rolling_sum(x64 * x64, w)
    mean = s / count
    return np.asarray(np.sqrt(np.maximum(s2 / count - mean * mean, 0.0)), dtype=np.float32)


def zscore(x: np.ndarray, w: int) -> np.ndarray:
    mean = roll_mean(x, w)
    return np.asarray(div(x - mean, roll_std(x, w)), dtype=np.float32)


def delta(x: np.ndarray, w: int) -> np.ndarray:
    """x[t] - x[t-w] (x[t] - x[0] during the first w bars)."""
    out = np.empty_like(x)
    out[w:] = x[w:] - x[:-w]
    out[:w] = x[:w] - x[:1]
    return out


def signal(entry: Array, exit_: Array) -> np.ndarray:
    """ENTRY where ``entry`` holds, else EXIT where ``exit_`` holds, else HOLD."""
    e = np.asarray(entry, dtype=bool).view(np.int8)
    x = np.asarray(exit_, dtype=bool).view(np.int8)
    # entry -> 1; otherwise exit -> 2; otherwise 0 (integer arithmetic, no masks).
    return np.asarray(np.maximum((x - e) * np.int8(2), np.int8(0)) + e, dtype=np.int8)


def random_constant() -> float:
    """Ephemeral constant: features are normalized, so constants live near zero."""
    return round(random.uniform(-2.0, 2.0), 2)


# name -> (function, argument types, return type); the fixed operator table.
PRIMITIVES: dict[str, tuple[Callable[..., Any], tuple[type, ...], type]] = {
    "add": (add, (FloatSeries, FloatSeries), FloatSeries),
    "sub": (sub, (FloatSeries, FloatSeries), FloatSeries),
    "mul": (mul, (FloatSeries, FloatSeries), FloatSeries),
    "div": (div, (FloatSeries, FloatSeries), FloatSeries),
    "absolute": (absolute, (FloatSeries,), FloatSeries),
    "if_then_else": (if_then_else, (BoolSeries, FloatSeries, FloatSeries), FloatSeries),
    "col": (col, (ColumnRef,), FloatSeries),
    "roll_mean": (roll_mean, (ColumnRef, WindowLen), FloatSeries),
    "roll_std": (roll_std, (ColumnRef, WindowLen), FloatSeries),
    "zscore": (zscore, (ColumnRef, WindowLen), FloatSeries),
    "delta": (delta, (ColumnRef, WindowLen), FloatSeries),
    "gt": (gt, (FloatSeries, FloatSeries), BoolSeries),
    "lt": (lt, (FloatSeries, FloatSeries), BoolSeries),
    "and_": (and_, (BoolSeries, BoolSeries), BoolSeries),
    "or_": (or_, (BoolSeries, BoolSeries), BoolSeries),
    "not_": (not_, (BoolSeries,), BoolSeries),
    "signal": (signal, (BoolSeries, BoolSeries), EntryExit),
}
# Primitives whose result is worth caching (the others are as cheap as a lookup).
UNCACHED = frozenset({"col", "signal"})
BOOL_TERMINALS = {"true": True, "false": False}
WINDOW_TERMINALS = {f"w{w}": w for w in WINDOWS}


def build_primitive_set(feature_names: Sequence[str]) -> gp.PrimitiveSetTyped:
    """The strongly-typed primitive set over ``feature_names`` (each a ColumnRef terminal)."""
    pset = gp.PrimitiveSetTyped("forge", [], EntryExit)
    reserved = set(PRIMITIVES) | set(BOOL_TERMINALS) | set(WINDOW_TERMINALS) | {"const"}
    for name in feature_names:
        if not FEATURE_NAME_RE.match(name) or name in reserved:
            raise ValueError(f"feature name {name!r} cannot be a GP terminal")
    if len(set(feature_names)) != len(feature_names):
        raise ValueError("feature names must be unique")
    for name, (func, ins, ret) in PRIMITIVES.items():
        pset.addPrimitive(func, list(ins), ret, name=name)
    for name in feature_names:
        pset.addTerminal(name, ColumnRef, name=name)
    for name, w in WINDOW_TERMINALS.items():
        pset.addTerminal(w, WindowLen, name=name)
    for name, b in BOOL_TERMINALS.items():
        pset.addTerminal(b, BoolSeries, name=name)
    pset.addEphemeralConstant("const", random_constant, FloatSeries)
    return pset


def generate_typed(
    pset: gp.PrimitiveSetTyped, min_: int, max_: int, type_: type | None = None
) -> list[Any]:
    """DEAP's half-and-half generation, made safe and useful for this typed set.

    A type with no primitive (ColumnRef, WindowLen) always gets a terminal and a
    type with no terminal (EntryExit) always gets a primitive, whatever the
    depth. Where a branch stops, a number usually becomes ``col(feature)``
    rather than a constant and a condition usually becomes a comparison rather
    than ``true``/``false``, so random trees read the data instead of being
    constant (leaves may then sit up to two levels below ``max_``).
    """
    ret = pset.ret if type_ is None else type_
    height = random.randint(min_, max_)
    full = random.random() < 0.5
    leaf_primitive: dict[type, list[Any]] = {
        FloatSeries: [p for p in pset.primitives[FloatSeries] if p.name == "col"],
        BoolSeries: [p for p in pset.primitives[BoolSeries] if p.name in ("gt", "lt")],
    }
    expr: list[Any] = []
    stack: list[tuple[int, type]] = [(0, ret)]
    while stack:
        depth, node_type = stack.pop()
        terminals = pset.terminals[node_type]
        primitives = pset.primitives[node_type]
        stop = depth >= height or (
            not full and depth >= min_ and random.random() < pset.terminalRatio
        )
        if stop and leaf_primitive.get(node_type) and random.random() < _LEAF_READS_DATA:
            primitives = leaf_primitive[node_type]
            stop = False
        if terminals and (stop or not primitives):
            term = random.choice(terminals)
            expr.append(term() if isinstance(term, gp.MetaEphemeral) else term)
        else:
            prim = random.choice(primitives)
            expr.append(prim)
            stack.extend((depth + 1, arg) for arg in reversed(prim.args))
    return expr
