"""BusyPollEventLoop: spins only on demand, never past a timer, and still sleeps.

The selector's spin is timed with ``time.perf_counter_ns``; the selector tests
replace that clock with one that moves a fixed step per reading, so the number
of polls and the timeout of the blocking ``select`` that ends a spin are exact
on any machine. The loop tests record what the loop asks of its selector. How
much CPU the real loop spends while it waits, and how late a timer fires while
it spins, are benchmark figures (``crucible bench headless``:
``busy_poll_idle_cpu_fraction``, ``busy_poll_timer_late_ms``).
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from engine.core import busy_poll
from engine.core.busy_poll import BusyPollEventLoop, BusyPollSelector

US = 1_000  # ns


class _SteppingClock:
    """Stands in for the ``time`` module in busy_poll: each reading is ``step_ns`` later."""

    def __init__(self, step_ns: int) -> None:
        self.now = 0
        self.step_ns = step_ns

    def perf_counter_ns(self) -> int:
        self.now += self.step_ns
        return self.now


class _Epoll(selectors.EpollSelector):
    """The poll under the spin: records each timeout; blocks only if ``block``."""

    block = True

    def __init__(self) -> None:
        super().__init__()
        self.polls: list[float | None] = []

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.polls.append(timeout)
        return super().select(timeout if self.block else 0)


class _Selector(BusyPollSelector, _Epoll):
    """A BusyPollSelector that records what it is asked (``asked``) and what it polls."""

    made: ClassVar[list[_Selector]] = []

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[float | None] = []
        _Selector.made.append(self)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.asked.append(timeout)
        return super().select(timeout)


def _stepping_selector(
    monkeypatch: pytest.MonkeyPatch,
    step_ns: int,
    spin_ns: int,
    spin_while: Callable[[], bool] | bool = True,
) -> _Selector:
    monkeypatch.setattr(busy_poll, "time", _SteppingClock(step_ns))
    sel = _Selector()
    sel.block = False  # the stepping clock decides; nothing may really wait
    sel.spin_ns = spin_ns
    sel.spin_while = spin_while if callable(spin_while) else (lambda: spin_while)
    return sel


@pytest.fixture
def recording_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_Selector]]:
    """busy_poll.run builds its loop on a recording selector (real clock, real waits)."""
    _Selector.made.clear()
    monkeypatch.setattr(busy_poll, "BusyPollSelector", _Selector)
    yield _Selector.made
    _Selector.made.clear()


def test_the_selector_polls_until_its_budget_is_spent_then_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sel = _stepping_selector(monkeypatch, step_ns=1 * US, spin_ns=50 * US)
    with sel:
        assert sel.select(None) == []
    assert sel.spins == 50
    assert sel.polls == [0] * 50 + [None]  # 50 polls in its 50 us, then it sleeps


def test_the_selector_stops_spinning_once_no_answer_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    due = iter([True] * 4 + [False])  # asked on entry and after each poll
    sel = _stepping_selector(monkeypatch, step_ns=1 * US, spin_ns=50 * US, spin_while=due.__next__)
    with sel:
        assert sel.select(None) == []
    assert sel.polls == [0] * 4 + [None]


def test_the_selector_returns_at_once_what_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    sel = _stepping_selector(monkeypatch, step_ns=1 * US, spin_ns=50 * US)
    a, b = socket.socketpair()
    with sel, a, b:
        sel.register(a, selectors.EVENT_READ)
        b.send(b"x")
        assert [key.fileobj for key, _ in sel.select(None)] == [a]
    assert sel.polls == [0]


def test_spinning_never_delays_a_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    # A 10 ms spin budget, a timer due in 2 ms: it spins 2 ms, then polls without waiting.
    sel = _stepping_selector(monkeypatch, step_ns=100 * US, spin_ns=10_000 * US)
    with sel:
        assert sel.select(0.002) == []
    assert sel.spins == 20
    assert sel.polls == [0] * 20 + [0.0]


def test_a_selector_not_asked_to_spin_sleeps_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sel = _stepping_selector(monkeypatch, step_ns=1 * US, spin_ns=50 * US, spin_while=False)
    with sel:
        assert sel.select(0.5) == []
    assert (sel.spins, sel.polls) == (0, [0.5])


async def _spins_until_readable(spin: bool) -> int:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll((lambda: True) if spin else None, 50_000)
    a, b = socket.socketpair()
    got = asyncio.Event()
    loop.add_reader(a.fileno(), lambda: (a.recv(16), got.set()))
    spins_before = loop.busy_poll_spins
    sender = threading.Timer(0.005, b.send, (b"x",))
    sender.start()
    await asyncio.wait_for(got.wait(), 30)  # guards against a hang only
    loop.remove_reader(a.fileno())
    sender.join()
    a.close()
    b.close()
    return loop.busy_poll_spins - spins_before


def test_the_loop_spins_only_while_asked_to() -> None:
    assert busy_poll.run(_spins_until_readable(spin=True)) > 0
    assert busy_poll.run(_spins_until_readable(spin=False)) == 0


async def _sleep_while_spinning(seconds: float, spin_us: float, times: int = 1) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, BusyPollEventLoop)
    loop.set_busy_poll(lambda: True, spin_us)
    for _ in range(times):
        await asyncio.sleep(seconds)


def test_the_loop_tells_its_selector_when_the_next_timer_is_due(
    recording_loop: list[_Selector],
) -> None:
    busy_poll.run(_sleep_while_spinning(0.002, 10_000))  # a 10 ms budget, a 2 ms timer
    (sel,) = recording_loop
    assert sel.spins > 0
    # Every wait the loop asked for ended by the timer, so the spin budget was cut to it.
    waits = [t for t in sel.asked if t is not None and t > 0]
    assert waits
    assert all(t <= 0.002 for t in waits)


def test_after_its_budget_the_loop_sleeps_instead_of_burning_cpu(
    recording_loop: list[_Selector],
) -> None:
    # Spin 1 ms, then block; three sleeps, so one stalled spin on a busy machine changes nothing.
    busy_poll.run(_sleep_while_spinning(0.1, 1_000, times=3))
    (sel,) = recording_loop
    assert sel.spins > 0
    # Besides its select(0) spins, the selector made a blocking select: the loop slept.
    assert [t for t in sel.polls if t is None or t > 0]
