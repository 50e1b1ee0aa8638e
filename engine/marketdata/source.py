"""MarketDataSource: the one interface of live, replayed and simulated market data.

A source yields the engine's normalized types (``BookSnapshot``, ``Trade``,
``Bar``, ``BookStatus``) from ``events()`` and releases its resources in
``close()``. The sim venue's data arrives through the Cerebellum link, which
publishes the same types on the bus; ccxt websockets (``CcxtLiveSource``) and
recorded files (``ReplaySource``) are sources run by ``MarketDataFeed``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade

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
