"""MarketDataRouter: integrity checks and publishing for every market-data path.

Books pass through a per-symbol ``BookIntegrityGuard`` (gaps, crossed books,
silence mark them stale; ``md.status.<symbol>`` announces every change).
Trades go to ``md.trade.<symbol>``, bars to ``md.bar.<symbol>.<tf>``. A stale
``BookStatus`` from a source marks the guard stale; freshness is only ever
declared by the guard, on the next good snapshot. Used by MarketDataFeed
(ccxt and replay sources) and by the Cerebellum link (the venue's PUB stream).
"""

from __future__ import annotations

import asyncio

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.marketdata.config import DataConfig
from engine.marketdata.integrity import BookIntegrityGuard
from engine.marketdata.source import MarketEvent
from engine.model.events import BookStatus
from engine.model.market import Bar, BookSnapshot, Trade


class MarketDataRouter:
    """Routes normalized market events to their topics after the integrity checks."""

    def __init__(self, bus: EventBus, clock: Clock, config: DataConfig) -> None:
        self.bus = bus
        self.clock = clock
        self.config = config
        self.guards: dict[str, BookIntegrityGuard] = {}
        self.counts = {"books": 0, "trades": 0, "bars": 0, "status": 0}

    def guard(self, symbol: str) -> BookIntegrityGuard:
        guard = self.guards.get(symbol)
        if guard is None:
            guard = self.guards[symbol] = BookIntegrityGuard(symbol, self.config.book_max_age_ms)
        return guard

    def _publish_status(self, status: BookStatus | None) -> None:
        if status is not None:
            self.counts["status"] += 1
            self.bus.publish(topics.md_status(status.symbol), status)

    def handle(self, event: MarketEvent) -> None:
        """Route one event to its topic (after the integrity checks)."""
        if isinstance(event, BookSnapshot):
            snap, status = self.guard(event.symbol).on_snapshot(event)
            self._publish_status(status)
            self.counts["books"] += 1
            self.bus.publish(topics.md_book(snap.symbol), snap)
        elif isinstance(event, Trade):
            self._publish_status(self.guard(event.symbol).on_trade(event))
            self.counts["trades"] += 1
            self.bus.publish(topics.md_trade(event.symbol), event)
        elif isinstance(event, Bar):
            self.counts["bars"] += 1
            self.bus.publish(topics.md_bar(event.symbol, event.timeframe), event)
        elif isinstance(event, BookStatus) and event.stale:
            self._publish_status(self.guard(event.symbol).mark_stale(event.reason, event.ts_event))

    def mark_all_stale(self, reason: str) -> None:
        now = self.clock.timestamp_ns()
        for guard in self.guards.values():
            self._publish_status(guard.mark_stale(reason, now))

    async def watch_age(self) -> None:
        """Mark books stale when their stream goes quiet (run as a supervised task)."""
        interval = max(self.config.book_max_age_ms / 2000.0, 0.05)
        while True:
            await asyncio.sleep(interval)
            now = self.clock.timestamp_ns()
            for guard in list(self.guards.values()):
                self._publish_status(guard.check_age(now))
