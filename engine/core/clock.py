"""Clocks. Logic reads time only through a Clock (int nanoseconds, UTC)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time in nanoseconds since the Unix epoch."""

    def timestamp_ns(self) -> int: ...

    def monotonic_ns(self) -> int: ...


class LiveClock:
    """Wall-clock time for live running.

    The methods are the ``time`` functions themselves (no Python frame in between):
    the order path reads the clock several times per order.
    """

    timestamp_ns = staticmethod(time.time_ns)
    monotonic_ns = staticmethod(time.monotonic_ns)


class SimClock:
    """A clock that only moves when told to: deterministic tests and fast-forward."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def timestamp_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._now

    def advance(self, delta_ns: int) -> int:
        """Move time forward by ``delta_ns`` (never backwards) and return the new time."""
        if delta_ns < 0:
            raise ValueError("a SimClock never moves backwards")
        self._now += delta_ns
        return self._now

    def set(self, ts_ns: int) -> None:
        """Jump to ``ts_ns`` (must not be earlier than now)."""
        if ts_ns < self._now:
            raise ValueError("a SimClock never moves backwards")
        self._now = ts_ns
