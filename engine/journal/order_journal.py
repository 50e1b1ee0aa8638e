"""OrderJournal: the engine loop's journal of order intents and reports.

See ``OrderJournal``; the rows themselves are built and written by
``order_rows.OrderRows``, by default inside ``OrderWriterProcess``.
"""

from __future__ import annotations

from typing import Protocol

from engine.model.commands import NewOrder
from engine.model.events import OrderUpdate


class RowSink(Protocol):
    """Where OrderJournal sends its batches: OrderRows, or a process that owns one."""

    def write(self, intents: list[tuple[NewOrder, int]], updates: list[OrderUpdate]) -> None: ...

    def close(self) -> None: ...


class OrderJournal:
    """The engine loop's journal of order intents and reports (``orders`` and ``fills``).

    Intents are staged until their first report arrives and then written as one
    row with that state, which halves the order path's SQLite work (an INSERT and
    a later UPDATE become one INSERT). The intent log already holds every staged
    intent, and ``Journal.open`` restores the rows a crash kept from being written;
    an intent still unanswered after ``intent_hold_ns`` is written as PENDING_NEW.
    Batches go to ``sink``: the rows are written there (by default in a child
    process, see ``OrderWriterProcess``).
    """

    def __init__(self, sink: RowSink, intent_hold_ns: int = 250_000_000) -> None:
        self._sink = sink
        self._hold_ns = intent_hold_ns
        # client order id -> (order, ts, monotonic ns when staged); insertion = age order.
        self._held: dict[str, tuple[NewOrder, int, int]] = {}
        self._updates: list[OrderUpdate] = []

    @property
    def held(self) -> int:
        """Intents staged and not yet written."""
        return len(self._held)

    def stage_intent(self, order: NewOrder, ts: int, now_ns: int) -> None:
        self._held.setdefault(order.client_order_id, (order, ts, now_ns))

    def stage_update(self, update: OrderUpdate) -> None:
        self._updates.append(update)

    def flush(self, now_ns: int, *, everything: bool = False) -> None:
        """Write the staged reports, their orders' intents and every intent held too long."""
        held = self._held
        intents: list[tuple[NewOrder, int]] = []
        updates, self._updates = self._updates, []
        for u in updates:
            entry = held.pop(u.client_order_id, None)
            if entry is not None:
                intents.append((entry[0], entry[1]))
        expired_before = now_ns - self._hold_ns
        expired = []
        for cid, (_, _, staged) in held.items():
            if not everything and staged > expired_before:
                break
            expired.append(cid)
        for cid in expired:
            order, ts, _ = held.pop(cid)
            intents.append((order, ts))
        if intents or updates:
            self._sink.write(intents, updates)

    def close(self) -> None:
        self._sink.close()
