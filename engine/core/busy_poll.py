"""A headless event loop that busy-polls briefly while an answer is due.

On this kind of machine (a virtual CPU that halts when idle) a process that
blocks in ``epoll_wait`` pays tens of microseconds to be woken again, more
than the order round trip it is waiting for. While an answer from the core is
due (``spin_while()`` is true) and nothing else is ready, this loop polls its
descriptors without blocking for up to ``spin_us`` before it sleeps: the
"busy spin" idle strategy of low-latency engines, spent only while an order is
in flight. It never spins past the loop's next timer. The cockpit runs on
Qt's loop (qasync) and never spins.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BusyPollSelector(selectors.EpollSelector):
    """An epoll selector that spins on ``select(0)`` before blocking, on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.spin_while: Callable[[], object] | None = None
        self.spin_ns = 0
        self.spins = 0  # select(0) calls made while spinning (for tests and diagnostics)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        spin_while = self.spin_while
        if self.spin_ns <= 0 or spin_while is None or timeout == 0 or not spin_while():
            return super().select(timeout)
        start = time.perf_counter_ns()
        budget = self.spin_ns if timeout is None else min(self.spin_ns, int(timeout * 1e9))
        poll = super().select
        while True:
            ready = poll(0)
            self.spins += 1
            if ready:
                return ready
            spent = time.perf_counter_ns() - start
            if spent >= budget or not spin_while():
                break
        if timeout is not None:
            timeout = max(0.0, timeout - spent / 1e9)
        return poll(timeout)


class BusyPollEventLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop on a BusyPollSelector (off until ``set_busy_poll``)."""

    def __init__(self) -> None:
        self._busy_selector = BusyPollSelector()
        super().__init__(self._busy_selector)

    def set_busy_poll(self, spin_while: Callable[[], object] | None, spin_us: float) -> None:
        """Spin up to ``spin_us`` before sleeping while ``spin_while()``; None or 0 turns it off."""
        self._busy_selector.spin_while = spin_while
        self._busy_selector.spin_ns = int(spin_us * 1_000) if spin_while is not None else 0

    @property
    def busy_poll_spins(self) -> int:
        return self._busy_selector.spins


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a BusyPollEventLoop (the headless engine and its benchmarks)."""
    with asyncio.Runner(loop_factory=BusyPollEventLoop) as runner:
        return runner.run(main)
