"""PendingRequests: request ids, their reply futures and their deadlines.

Every command the link sends carries a ``req_id``; the core's Ack, Reject or
report answers with the same id. A reply that does not come before its
deadline fails its future with ``TimeoutError`` (the link's monitor calls
``expire`` ten times a second). Time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

from engine.core.clock import Clock
from engine.execution import protocol

log = logging.getLogger(__name__)


class PendingRequests:
    """Outstanding requests by id, each with a future and a deadline (clock ns)."""

    def __init__(self, clock: Clock, timeout_ms: int, req_ids: itertools.count[int]) -> None:
        self._clock = clock
        self._timeout_ns = timeout_ms * 1_000_000
        self._ids = req_ids
        # req_id -> (reply future, deadline, the new order's client id or None); public for
        # the busy-poll predicate's len().
        self.waiting: dict[int, tuple[asyncio.Future[Any], int, str | None]] = {}
        # Told of every Reject that answers a new order, before its future resolves: the
        # order gateway closes the order there (no callback per order in flight).
        self.on_order_reject: Callable[[str, protocol.Reject], None] | None = None

    def __len__(self) -> int:
        return len(self.waiting)

    def __bool__(self) -> bool:
        return bool(self.waiting)

    def open(
        self, timeout_ms: int | None = None, order_id: str | None = None
    ) -> tuple[int, asyncio.Future[Any]]:
        """A new request id and the future its reply will resolve (``order_id``: a new order's)."""
        req_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        timeout_ns = self._timeout_ns if timeout_ms is None else timeout_ms * 1_000_000
        self.waiting[req_id] = (fut, self._clock.monotonic_ns() + timeout_ns, order_id)
        return req_id, fut

    def resolve(self, msg: Any) -> None:
        """Hand a reply to whoever awaits its ``req_id`` (a stray Reject is logged)."""
        req_id = getattr(msg, "req_id", None)
        entry = self.waiting.pop(req_id, None) if req_id is not None else None
        if entry is not None:
            fut, _deadline, order_id = entry
            hook = self.on_order_reject
            if order_id is not None and hook is not None and isinstance(msg, protocol.Reject):
                hook(order_id, msg)
            if not fut.done():
                fut.set_result(msg)
        elif isinstance(msg, protocol.Reject):
            log.warning("cerebellum_core rejected a frame: %s %s", msg.code, msg.reason)

    def expire(self) -> int:
        """Fail the requests whose answer is overdue; return how many."""
        now = self._clock.monotonic_ns()
        expired = [rid for rid, (_, deadline, _) in self.waiting.items() if deadline <= now]
        for rid in expired:
            fut, _, _ = self.waiting.pop(rid)
            if not fut.done():
                fut.set_exception(TimeoutError(f"no answer to request {rid}"))
        return len(expired)

    def fail_all(self, exc: BaseException) -> None:
        for fut, _, _ in self.waiting.values():
            if not fut.done():
                fut.set_exception(exc)
        self.waiting.clear()
