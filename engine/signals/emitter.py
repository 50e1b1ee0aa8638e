"""SignalEmitter: publishes one signal's updates and says once, not per tick, when it cannot run."""

from __future__ import annotations

import logging

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.clock import Clock
from engine.model.events import SignalUpdate

log = logging.getLogger(__name__)


class SignalEmitter:
    """Publish ``SignalUpdate`` on ``topics.signal(name, symbol)``.

    Values are published every time. An unavailable state is published and
    logged only when it changes (first time, a different reason, or after the
    signal was available), so a missing model does not flood the bus or the log.
    """

    def __init__(self, bus: EventBus, clock: Clock, name: str, symbol: str | None) -> None:
        self._bus = bus
        self._clock = clock
        self.name = name
        self.symbol = symbol
        self.topic = topics.signal(name, symbol)
        self._unavailable_reason: str | None = None
        self._ever_published = False

    @property
    def available(self) -> bool:
        return self._ever_published and self._unavailable_reason is None

    def publish(
        self,
        values: dict[str, float],
        compute_ms: float,
        flags: dict[str, bool] | None = None,
        ts_event: int | None = None,
    ) -> SignalUpdate:
        """Publish a computed update (and log the return to service once)."""
        if self._unavailable_reason is not None:
            log.info("signal %s is available again", self.topic)
        self._unavailable_reason = None
        self._ever_published = True
        update = SignalUpdate(
            name=self.name,
            symbol=self.symbol,
            values=values,
            ts_event=self._clock.timestamp_ns() if ts_event is None else ts_event,
            compute_ms=compute_ms,
            flags=flags or {},
        )
        self._bus.publish(self.topic, update)
        return update

    def unavailable(self, reason: str, compute_ms: float = 0.0) -> SignalUpdate | None:
        """Publish ``available=False`` with ``reason`` if the state changed; else nothing."""
        if self._unavailable_reason == reason:
            return None
        self._unavailable_reason = reason
        self._ever_published = True
        log.warning("signal %s unavailable: %s", self.topic, reason)
        update = SignalUpdate(
            name=self.name,
            symbol=self.symbol,
            values={},
            ts_event=self._clock.timestamp_ns(),
            compute_ms=compute_ms,
            available=False,
            reason=reason,
        )
        self._bus.publish(self.topic, update)
        return update
