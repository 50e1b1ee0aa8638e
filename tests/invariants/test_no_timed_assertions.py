"""No test asserts wall time or a rate: speed targets are met in benchmarks, never in tests.

A test that asserts "this took under 2 s" (or "over 95 ms", "under 5% CPU",
"a median under 2 ms") passes on the machine it was written on and fails on a
slower or busier one. Speed and memory figures belong to ``crucible bench
NAME`` (engine/bench, bench/run_all.py); a test checks behaviour: it stops,
nothing is left running, the result is right. Timeouts that only guard against
a hang (``asyncio.wait_for(..., 30)``, ``subprocess.run(timeout=...)``) are
arguments, not assertions, and are not looked at.

The scan (``ast``) flags an ``assert`` whose test compares (``<``, ``<=``,
``>``, ``>=``, or ``==`` against ``pytest.approx``) a time measurement with a
literal (a number, or an UPPER_CASE constant). A time measurement is an
expression that involves:

* a wall clock: ``time.monotonic()``, ``perf_counter()``, ``process_time()``,
  ``time.time()`` (and their ``_ns`` forms), ``loop.time()``, or a
  ``LiveClock()``'s ``monotonic_ns()`` / ``timestamp_ns()`` (a ``SimClock`` is
  deterministic and fine);
* a name, attribute or string key that reads as a duration, CPU time or rate:
  ``elapsed``, ``took``, ``duration``, ``wall``, ``cpu``, ``latency``, ``fps``,
  ``seconds``, or ending in ``_ms``, ``_us``, ``_ns``, ``_s``, ``per_s``;
* a variable assigned from one of these, or a call of a function in the same
  file that returns one.

``x >= 0`` (a measured figure is non-negative) is allowed: it holds on any
machine. ``x > 0`` is not: a coarse clock can measure zero.

Hypothesis times every example against a deadline (200 ms unless told
otherwise) and fails the test past it, so a ``@given`` test must also carry
``@settings(..., deadline=None, ...)``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

# PENDING: files whose timed assertions another change removes; delete each entry with its fix.
PENDING: frozenset[str] = frozenset()

_CLOCK_FUNCS = frozenset(
    f"{name}{suffix}"
    for name in ("time", "monotonic", "perf_counter", "process_time", "thread_time")
    for suffix in ("", "_ns")
)
_LIVE_CLOCK_METHODS = frozenset({"monotonic_ns", "timestamp_ns"})
_TIME_WORDS = frozenset(
    {"elapsed", "took", "duration", "wall", "cpu", "latency", "fps", "seconds", "secs"}
)
_TIME_UNITS = frozenset({"ms", "us", "ns", "s"})
_NOT_DURATIONS = frozenset({"ts", "timestamp", "count", "counts"})
_ORDER_OPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def reads_as_time(identifier: str) -> bool:
    """True for ``elapsed``, ``wall_s``, ``tda_median_ms``, ``msgs_per_s``, ``cpu``...

    False for timestamps (``ts_event_ns``, ``timestamp_ns``) and counts (``cpu_count``).
    """
    parts = [p for p in identifier.lower().split("_") if p]
    if not parts or _NOT_DURATIONS.intersection(parts):
        return False
    words = {"duration" if p == "durations" else p for p in parts}
    if _TIME_WORDS.intersection(words) or {"ms", "us"}.intersection(parts[1:]):
        return True
    per_unit = any(a == "per" and b in _TIME_UNITS for a, b in itertools.pairwise(parts))
    return per_unit or (len(parts) > 1 and parts[-1] in _TIME_UNITS)


@dataclass(frozen=True)
class Offender:
    path: str
    line: int
    source: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source}"


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp):
        return _is_literal(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    if isinstance(node, ast.Name):
        return node.id.isupper()
    return False


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and not isinstance(node.value, bool)


def _is_approx_of_literal(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "approx" and _is_literal(node.args[0])


def _string_key(node: ast.expr) -> str | None:
    """The text of a subscript key: ``"tda_median_ms"``, or the tail of ``f"{k}_median_ms"``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        last = node.values[-1]
        if isinstance(last, ast.Constant) and isinstance(last.value, str):
            return last.value
    return None


@dataclass
class _Names:
    """Within one function: variables that hold a time measurement, and LiveClock instances."""

    timed: set[str] = field(default_factory=set)
    clocks: set[str] = field(default_factory=set)

    def copy(self) -> _Names:
        return _Names(set(self.timed), set(self.clocks))

    def size(self) -> int:
        return len(self.timed) + len(self.clocks)


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of ``scope`` outside nested functions (a nested function is its own scope)."""
    out: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(ast.iter_child_nodes(node))
    return sorted(out, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def _is_live_clock_ctor(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "LiveClock") or (
        isinstance(func, ast.Attribute) and func.attr == "LiveClock"
    )


class _FileScan:
    """One test file: which names hold time measurements, and which asserts compare them."""

    def __init__(self, tree: ast.Module) -> None:
        self.clock_names: set[str] = set()  # from time import perf_counter [as pc]
        self.time_modules: set[str] = {"time"}  # import time [as t]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                self.clock_names |= {
                    a.asname or a.name for a in node.names if a.name in _CLOCK_FUNCS
                }
            elif isinstance(node, ast.Import):
                self.time_modules |= {a.asname or a.name for a in node.names if a.name == "time"}
        self.timed_funcs: set[str] = set()  # functions (in this file) that return a measurement
        self.offending: dict[int, ast.Assert] = {}
        while True:  # a helper may be defined after its caller: repeat until nothing is learnt
            known = len(self.timed_funcs)
            self.offending = {}
            self._scope(tree, _Names())
            if len(self.timed_funcs) == known:
                break

    def _scope(self, scope: ast.AST, outer: _Names) -> None:
        names = outer.copy()
        own = _own_nodes(scope)
        while True:  # t = perf_counter() - t0; x = t * 1e3: propagate until nothing changes
            size = names.size()
            for node in own:
                self._learn(node, names)
            if names.size() == size:
                break
        for node in own:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._scope(node, names)
            elif (
                isinstance(node, ast.Return)
                and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.value is not None
                and not isinstance(node.value, ast.Tuple)  # cpu, wall, spins: judged by name
                and self.is_timed(node.value, names)
            ):
                self.timed_funcs.add(scope.name)
            elif isinstance(node, ast.Assert) and any(
                isinstance(c, ast.Compare) and self._offending(c, names)
                for c in ast.walk(node.test)
            ):
                self.offending[node.lineno] = node

    def _learn(self, node: ast.AST, names: _Names) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._learn_target(target, node.value, names)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            if node.value is not None:
                self._learn_target(node.target, node.value, names)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            self._learn_target(node.target, node.iter, names)

    def _learn_target(self, target: ast.expr, value: ast.expr, names: _Names) -> None:
        if isinstance(target, ast.Name):
            if _is_live_clock_ctor(value):
                names.clocks.add(target.id)
            elif self.is_timed(value, names):
                names.timed.add(target.id)
        elif (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(value.elts) == len(target.elts)
        ):
            # From anything else (cpu, wall, spins = run(...)) only the names that read as time.
            for t, v in zip(target.elts, value.elts, strict=True):
                self._learn_target(t, v, names)

    def _is_clock_call(self, node: ast.Call, names: _Names) -> bool:
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in self.clock_names or func.id in self.timed_funcs
        if not isinstance(func, ast.Attribute):
            return False
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id in self.time_modules:
            return func.attr in _CLOCK_FUNCS
        if func.attr == "time" and "loop" in ast.unparse(receiver).lower():
            return True  # loop.time(), asyncio.get_running_loop().time()
        if func.attr in _LIVE_CLOCK_METHODS:
            return (
                isinstance(receiver, ast.Name) and receiver.id in names.clocks
            ) or _is_live_clock_ctor(receiver)
        return False

    def is_timed(self, node: ast.AST, names: _Names) -> bool:
        """Whether ``node`` involves a time measurement."""
        if isinstance(node, ast.Call):
            if self._is_clock_call(node, names):
                return True
            on_timed = isinstance(node.func, ast.Attribute) and self.is_timed(
                node.func.value, names
            )  # elapsed.total_seconds()
            args = [*node.args, *(k.value for k in node.keywords)]
            return on_timed or any(self.is_timed(a, names) for a in args)
        if isinstance(node, ast.Attribute):
            return reads_as_time(node.attr)  # fits.ten_seconds.r_squared is no time
        if isinstance(node, ast.Name):
            return node.id in names.timed or (not node.id.isupper() and reads_as_time(node.id))
        if isinstance(node, ast.Subscript):
            key = _string_key(node.slice)
            return reads_as_time(key) if key is not None else self.is_timed(node.value, names)
        return any(
            self.is_timed(child, names)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr | ast.comprehension)
        )

    def _offending(self, compare: ast.Compare, names: _Names) -> bool:
        left = compare.left
        for op, right in zip(compare.ops, compare.comparators, strict=True):
            if self._offending_pair(left, op, right, names):
                return True
            left = right
        return False

    def _offending_pair(
        self, left: ast.expr, op: ast.cmpop, right: ast.expr, names: _Names
    ) -> bool:
        if isinstance(op, ast.Eq | ast.NotEq):
            return (_is_approx_of_literal(right) and self.is_timed(left, names)) or (
                _is_approx_of_literal(left) and self.is_timed(right, names)
            )
        if not isinstance(op, _ORDER_OPS):
            return False
        if (isinstance(op, ast.GtE) and _is_zero(right)) or (
            isinstance(op, ast.LtE) and _is_zero(left)
        ):
            return False  # non-negative: true on any machine
        return (_is_literal(right) and self.is_timed(left, names)) or (
            _is_literal(left) and self.is_timed(right, names)
        )


def _decorator_calls(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[ast.Call]:
    return [
        d
        for d in func.decorator_list
        if isinstance(d, ast.Call)
        and (d.func.attr if isinstance(d.func, ast.Attribute) else getattr(d.func, "id", ""))
        == name
    ]


def _hypothesis_deadlines(tree: ast.Module) -> dict[int, ast.AST]:
    """``@given`` tests without ``@settings(deadline=None)``: hypothesis would time them."""
    found: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not _decorator_calls(node, "given"):
            continue
        untimed = any(
            k.arg == "deadline" and isinstance(k.value, ast.Constant) and k.value.value is None
            for call in _decorator_calls(node, "settings")
            for k in call.keywords
        )
        if not untimed:
            line = min(d.lineno for d in node.decorator_list)
            found[line] = node
    return found


def timed_assertions(source: str, path: str = "<sample>") -> list[Offender]:
    """Every ``assert`` in ``source`` that compares a time measurement with a literal, and
    every ``@given`` test that hypothesis would hold to a deadline."""
    tree = ast.parse(source)
    scan = _FileScan(tree)
    lines = source.splitlines()
    found = {**scan.offending, **_hypothesis_deadlines(tree)}
    return [Offender(path, line, lines[line - 1].strip()) for line in sorted(found)]


def _test_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(TESTS.rglob("*.py")):
        yield path.relative_to(TESTS).as_posix(), path


def test_no_test_asserts_wall_time_or_a_rate() -> None:
    offenders = [
        offender
        for rel, path in _test_files()
        if rel not in PENDING
        for offender in timed_assertions(path.read_text(encoding="utf-8"), f"tests/{rel}")
    ]
    assert not offenders, (
        "these assertions check wall time or a rate, which fails on a slower machine; assert "
        "the behaviour instead and report the figure from a benchmark (crucible bench NAME); "
        "give a @given test @settings(deadline=None):\n" + "\n".join(str(o) for o in offenders)
    )


def test_pending_entries_name_existing_files() -> None:
    assert {rel for rel in PENDING if not (TESTS / rel).is_file()} == set()


FLAGGED = {
    "elapsed against a float": "elapsed = time.monotonic() - t0\nassert elapsed < 2.0\n",
    "elapsed with a message": 'assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"\n',
    "clock call in the assert": "assert time.monotonic() - t0 < 2.0\n",
    "imported clock": (
        "from time import perf_counter as pc\nt = pc() - t0\nms = t * 1e3\nassert ms <= 5\n"
    ),
    "range of took": "assert 6.0 <= took < 15.0\n",
    "benchmark key": 'assert result["tda_median_ms"] <= 20\n',
    "f-string key": 'assert result[f"{key}_median_ms"] > 0\n',
    "attribute positive": "assert all(u.compute_ms > 0 for u in live)\n",
    "timed helper": (
        "async def _lateness():\n"
        "    t0 = time.perf_counter()\n"
        "    await asyncio.sleep(0.002)\n"
        "    return time.perf_counter() - t0\n"
        "def test():\n"
        "    assert busy_poll.run(_lateness()) < 0.009\n"
    ),
    "cpu from a tuple": "cpu, wall, spins = run()\nassert cpu < 0.05\n",
    "live clock": (
        "clock = LiveClock()\nt0 = clock.monotonic_ns()\n"
        "assert (clock.monotonic_ns() - t0) / 1e6 >= 95\n"
    ),
    "loop time": "t0 = loop.time()\nx = loop.time() - t0\nassert x < LIMIT\n",
    "rate": 'assert result["bus_msgs_per_s_median"] >= 100_000\n',
    "approx": "assert wall == pytest.approx(0.2, abs=0.05)\n",
    "hypothesis deadline": "@given(st.integers())\ndef test(x):\n    assert x == x\n",
    "hypothesis settings with a deadline": (
        "@settings(max_examples=5)\n@given(st.integers())\ndef test(x):\n    assert x == x\n"
    ),
}

NOT_FLAGGED = {
    "non-negative figure": "assert u.compute_ms >= 0\n",
    "finite figure": 'assert math.isfinite(result["tda_p99_ms"])\n',
    "p99 over median": 'assert result["tda_p99_ms"] >= result["tda_median_ms"] >= 0\n',
    "hang guard in a call": "assert wait_gone(kids, timeout=10.0) == set()\n",
    "sim clock": (
        "clock = SimClock(T0)\nt0 = clock.monotonic_ns()\nassert clock.monotonic_ns() - t0 >= 95\n"
    ),
    "counter from a timed tuple": "cpu, wall, spins = run()\nassert spins > 0\n",
    "return code": "rc = proc.wait(timeout=30)\nassert rc == 0\n",
    "lags are not time": "assert np.all(a[:60] > band)\nassert lag > 2\n",
    "timestamps equal": "assert clock.timestamp_ns() == T0 + 20\n",
    "a timestamp after another": "assert bar.ts_event_ns > T0\n",
    "a cpu count": "cpu_count = os.cpu_count()\nassert cpu_count >= 2\n",
    "hypothesis without a deadline": (
        "@settings(max_examples=5, deadline=None)\n@given(st.integers())\n"
        "def test(x):\n    assert x == x\n"
    ),
}


@pytest.mark.parametrize("source", FLAGGED.values(), ids=FLAGGED.keys())
def test_the_scan_flags_a_timed_assertion(source: str) -> None:
    assert len(timed_assertions(source)) == 1


@pytest.mark.parametrize("source", NOT_FLAGGED.values(), ids=NOT_FLAGGED.keys())
def test_the_scan_passes_a_behavioural_assertion(source: str) -> None:
    assert timed_assertions(source) == []


def test_the_scan_names_the_file_and_line() -> None:
    source = "import time\n\nt0 = time.monotonic()\nelapsed = time.monotonic() - t0\n"
    source += "assert elapsed < 2.0\n"
    assert [str(o) for o in timed_assertions(source, "tests/x.py")] == [
        "tests/x.py:5: assert elapsed < 2.0"
    ]
