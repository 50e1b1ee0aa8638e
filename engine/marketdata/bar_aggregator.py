"""BarAggregator: builds live bars from the trade stream on the bus, whatever the venue.

Subscribes to ``md.trade.*`` and publishes closed bars on
``md.bar.<symbol>.<tf>`` for every configured timeframe: 1m from trades
(``BarBuilder``, a minute without trades closes as a flat zero-volume bar),
higher timeframes by resampling the closed 1m bars (``BarResampler``). A
timer closes bars whose minute has passed even when no trade arrives. The
timer runs on the venue's time, estimated as the last trade's ``ts_event``
plus the local time elapsed since it arrived (minus a grace period for late
trades), so a venue or replay clock that differs from the local one never
fabricates or skips bars.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from engine.core import topics
from engine.core.bus import EventBus, Subscription
from engine.core.clock import Clock
from engine.core.errors import DataError
from engine.core.tasks import TaskSupervisor
from engine.marketdata.bars import BarBuilder, BarResampler
from engine.marketdata.config import DataConfig
from engine.model.market import Bar, Trade

log = logging.getLogger(__name__)

_TICK_S = 0.5
_GRACE_NS = 2_000_000_000


class BarAggregator:
    """Engine component turning ``md.trade`` into ``md.bar`` (1m and resampled)."""

    def __init__(
        self, bus: EventBus, clock: Clock, config: DataConfig, supervisor: TaskSupervisor
    ) -> None:
        self.name = "bars"
        self.bus = bus
        self.clock = clock
        self.config = config
        self.supervisor = supervisor
        self.builders: dict[str, BarBuilder] = {}
        self.resamplers: dict[str, list[BarResampler]] = {}
        self._venue_time: dict[str, tuple[int, int]] = {}
        self.published = 0
        self.rejected_trades = 0
        self._sub: Subscription | None = None
        self._timer: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        if self._sub is not None:
            return
        # Direct: a bar update per trade is cheaper than a mailbox wake-up per burst.
        self._sub = self.bus.subscribe(
            topics.all_of("md.trade"), self.on_trade, name=f"{self.name}:trades", direct=True
        )
        self._timer = self.supervisor.spawn(f"{self.name}:timer", self._close_elapsed())

    async def stop(self) -> None:
        if self._sub is None:
            return
        self.bus.unsubscribe(self._sub)
        self._sub = None
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None

    def _builder(self, symbol: str) -> BarBuilder:
        builder = self.builders.get(symbol)
        if builder is None:
            builder = self.builders[symbol] = BarBuilder(symbol, self.config.bar_timeframes[0])
            self.resamplers[symbol] = [BarResampler(tf) for tf in self.config.bar_timeframes[1:]]
        return builder

    def on_trade(self, _topic: str, trade: Trade) -> None:
        """Bus handler: add a trade, publish the bars it closed."""
        try:
            closed = self._builder(trade.symbol).on_trade(trade)
            self._venue_time[trade.symbol] = (trade.ts_event, self.clock.monotonic_ns())
        except DataError as exc:
            self.rejected_trades += 1
            log.warning("%s", exc)
            return
        self._publish(trade.symbol, closed)

    def on_time(self, local_ns: int) -> None:
        """Close every bar whose interval ended (in venue time) by monotonic ``local_ns``."""
        for symbol, builder in self.builders.items():
            seen = self._venue_time.get(symbol)
            if seen is None:
                continue
            venue_now = seen[0] + max(0, local_ns - seen[1]) - _GRACE_NS
            self._publish(symbol, builder.on_time(venue_now))

    def _publish(self, symbol: str, closed: list[Bar]) -> None:
        for bar in closed:
            self._emit(bar)
            for resampler in self.resamplers[symbol]:
                for higher in resampler.on_bar(bar):
                    self._emit(higher)

    def _emit(self, bar: Bar) -> None:
        self.published += 1
        self.bus.publish(topics.md_bar(bar.symbol, bar.timeframe), bar)

    async def _close_elapsed(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            self.on_time(self.clock.monotonic_ns())
