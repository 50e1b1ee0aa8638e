"""EventBus: typed topics, one mailbox per subscriber, lossy only for market data.

Publishing never blocks and never awaits. Each subscriber has a mailbox drained
by its own supervised task, so a slow consumer delays only itself. Market-data
and signal topics go to a bounded queue that drops the *oldest* message when
full (the drop is counted and visible in ``stats()``); order, fill, risk and
lifecycle topics go to an unbounded queue and are never dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.core import topics
from engine.core.tasks import TaskSupervisor

log = logging.getLogger(__name__)

Handler = Callable[[str, Any], None] | Callable[[str, Any], Awaitable[None]]


@dataclass(eq=False)
class Subscription:
    """One subscriber: a pattern, a handler and its mailbox."""

    pattern: str
    handler: Handler
    name: str
    direct: bool
    lossy_capacity: int
    reliable: deque[tuple[str, Any]] = field(default_factory=deque)
    lossy: deque[tuple[str, Any]] = field(default_factory=deque)
    delivered: int = 0
    dropped: int = 0
    errors: int = 0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    is_async: bool = False
    active: bool = True

    def __post_init__(self) -> None:
        self.is_async = inspect.iscoroutinefunction(self.handler)

    @property
    def backlog(self) -> int:
        return len(self.reliable) + len(self.lossy)


class EventBus:
    """The engine's publish/subscribe hub."""

    def __init__(self, supervisor: TaskSupervisor, md_queue_size: int = 2048) -> None:
        self._supervisor = supervisor
        self._md_queue_size = md_queue_size
        self._subs: list[Subscription] = []
        # topic -> (message type, lossy, subscribers); cleared when subscriptions change.
        self._route_cache: dict[str, tuple[type, bool, list[Subscription]]] = {}
        self.published = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- subscribe -----------------------------------------------------------
    def subscribe(
        self, pattern: str, handler: Handler, *, name: str | None = None, direct: bool = False
    ) -> Subscription:
        """Deliver every message whose topic matches ``pattern`` to ``handler(topic, msg)``.

        ``direct=True`` calls a synchronous handler inline during ``publish`` (for
        cheap handlers that must not lag, such as the cockpit bridge); its
        exceptions are logged and counted like any other.
        """
        sub = Subscription(
            pattern=pattern,
            handler=handler,
            name=name or str(getattr(handler, "__qualname__", repr(handler))),
            direct=direct,
            lossy_capacity=self._md_queue_size,
        )
        if direct and sub.is_async:
            raise ValueError("a direct subscriber must be a plain function")
        self._subs.append(sub)
        self._route_cache.clear()
        if not direct:
            self._supervisor.spawn(f"bus:{sub.name}", self._drain(sub))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.active = False
        sub.wakeup.set()
        if sub in self._subs:
            self._subs.remove(sub)
            self._route_cache.clear()

    # -- publish -------------------------------------------------------------
    def publish(self, topic: str, msg: Any) -> None:
        """Route ``msg`` to every matching subscriber. Never blocks."""
        route = self._route_cache.get(topic)
        if route is None:
            route = self._route_cache[topic] = self._route(topic)
        expected, lossy, subs = route
        if not isinstance(msg, expected):
            raise TypeError(
                f"topic {topic!r} carries {expected.__name__}, got {type(msg).__name__}"
            )
        self.published += 1
        for sub in subs:
            if sub.direct:
                self._call_direct(sub, topic, msg)
                continue
            if lossy:
                if len(sub.lossy) >= sub.lossy_capacity:
                    sub.lossy.popleft()
                    sub.dropped += 1
                sub.lossy.append((topic, msg))
            else:
                sub.reliable.append((topic, msg))
            sub.wakeup.set()

    def publish_threadsafe(self, topic: str, msg: Any) -> None:
        """Publish from another thread (hops onto the bus's event loop)."""
        if self._loop is None:
            raise RuntimeError("bus not bound to a loop; call bind_loop() first")
        self._loop.call_soon_threadsafe(self.publish, topic, msg)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _route(self, topic: str) -> tuple[type, bool, list[Subscription]]:
        """What publishing on ``topic`` needs: its message type, lossiness, subscribers."""
        expected = topics.TOPIC_TYPES[topics.family_of(topic)]
        subs = [s for s in self._subs if topics.matches(s.pattern, topic)]
        return expected, topics.is_lossy(topic), subs

    def _call_direct(self, sub: Subscription, topic: str, msg: Any) -> None:
        try:
            sub.handler(topic, msg)
            sub.delivered += 1
        except Exception:
            sub.errors += 1
            log.exception("subscriber %r failed on %s", sub.name, topic)

    async def _drain(self, sub: Subscription) -> None:
        while sub.active:
            await sub.wakeup.wait()
            sub.wakeup.clear()
            while sub.active and (sub.reliable or sub.lossy):
                topic, msg = sub.reliable.popleft() if sub.reliable else sub.lossy.popleft()
                try:
                    result = sub.handler(topic, msg)
                    if sub.is_async:
                        await result  # type: ignore[misc]
                    sub.delivered += 1
                except Exception:
                    sub.errors += 1
                    log.exception("subscriber %r failed on %s", sub.name, topic)
                if sub.delivered % 64 == 0:
                    await asyncio.sleep(0)  # let others run during a burst

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until every mailbox is empty (tests and orderly shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(s.backlog for s in self._subs if not s.direct):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("bus did not drain in time")
            await asyncio.sleep(0.001)

    # -- introspection -------------------------------------------------------
    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self._subs)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per-subscriber counters: delivered, dropped, errors, backlog."""
        return {
            s.name: {
                "delivered": s.delivered,
                "dropped": s.dropped,
                "errors": s.errors,
                "backlog": s.backlog,
            }
            for s in self._subs
        }
