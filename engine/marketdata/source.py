"""MarketDataSource: the one interface of live, replayed and simulated market data.

A source yields the engine's normalized types (``BookSnapshot``, ``Trade``,
``Bar``, ``BookStatus``) from ``events()`` and releases its resources in
``close()``. The sim venue's data arrives through the Cerebellum link, which
publishes the same types on the bus; ccxt websockets (``CcxtLiveSource``) and
recorded files (``ReplaySource``) are sources run by ``MarketDataFeed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from engine.core.clock import Clock
from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade

if TYPE_CHECKING:
    from engine.config import CrucibleConfig

MarketEvent = BookSnapshot | Trade | Bar | BookStatus


@runtime_checkable
class MarketDataSource(Protocol):
    """A stream of normalized market data."""

    name: str

    def events(self) -> AsyncIterator[MarketEvent]:
        """Yield events until the source ends or is closed."""
        ...

    async def close(self) -> None:
        """Release connections and files (idempotent)."""
        ...


def make_source(config: CrucibleConfig, clock: Clock) -> MarketDataSource | None:
    """The source ``data.source`` asks for, or None for ``venue`` (the Cerebellum link publishes)."""
    data = config.data
    if data.source == "ccxt":
        from engine.marketdata.ccxt_source import CcxtLiveSource

        return CcxtLiveSource(config.universe.symbols, data.live, clock)
    if data.source == "replay":
        from engine.marketdata.replay_source import ReplaySource

        files = [config.paths.resolve(p) for p in data.replay.files]
        return ReplaySource(files, clock, speed=data.replay.speed, depth=data.replay.depth)
    return None
