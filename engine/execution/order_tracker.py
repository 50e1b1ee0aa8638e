"""OrderTracker: the engine's view of orders, and the one place a fill is recognised.

Each fill is reported once (``exec_id``); the portfolio applies it. Open
orders are indexed by strategy, and their unfilled quantity is summed per
(strategy, symbol, side), so a pre-trade check costs the same whatever the
session has sent. Closed orders and applied exec ids are kept up to a bound
(the newest), which leaves a long session's memory flat; the bounds are far
above what the core can replay.
"""

from __future__ import annotations

import logging
from collections import deque

from engine.execution.protocol import SnapshotReport
from engine.model.enums import OrderStatus, Side
from engine.model.events import Fill, OrderUpdate
from engine.model.orders import InvalidOrderTransition, OrderView

log = logging.getLogger(__name__)

_PENDING_NEW, _NEW, _PARTIALLY_FILLED = (
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
)


class OrderTracker:
    """Orders by client id; updated only from what was sent and what the core reported."""

    def __init__(self, max_closed: int = 100_000, max_exec_ids: int = 500_000) -> None:
        self.orders: dict[str, OrderView] = {}
        self.invalid_transitions = 0
        self._open: dict[str, dict[str, OrderView]] = {}  # strategy -> client id -> view
        # (strategy, symbol, side) -> unfilled quantity of its open orders
        self._leaves: dict[tuple[str, str, Side], float] = {}
        self._closed: deque[str] = deque()  # client ids in the order they closed
        self._max_closed = max_closed
        self._exec_ids: set[str] = set()
        self._exec_order: deque[str] = deque()
        self._max_exec_ids = max_exec_ids

    def on_submitted(self, view: OrderView) -> None:
        if view.client_order_id not in self.orders:
            self._store(view, None)

    def on_update(self, update: OrderUpdate) -> Fill | None:
        """Apply one report; return the Fill it carries (None if none or already applied)."""
        view = self.orders.get(update.client_order_id)
        prev = view
        if view is None:
            view = OrderView(
                update.client_order_id,
                update.strategy_id,
                update.symbol,
                update.side,
                update.order_type,
                update.qty,
                update.price,
                OrderStatus.PENDING_NEW,
            )
        try:
            self._store(view.apply(update), prev)
        except InvalidOrderTransition as exc:
            self.invalid_transitions += 1
            log.error("order %s: %s (report seq %d)", update.client_order_id, exc, update.seq)
        if not update.is_fill or update.exec_id in self._exec_ids:
            return None
        fill = Fill.from_update(update)
        self._remember_exec_id(fill.exec_id)
        return fill

    def _store(self, view: OrderView, prev: OrderView | None) -> None:
        # On every report: identity tests, not OrderStatus.is_open (an enum property).
        cid = view.client_order_id
        self.orders[cid] = view
        open_orders = self._open.get(view.strategy_id)
        if open_orders is None:
            open_orders = self._open[view.strategy_id] = {}
        was_open = open_orders.pop(cid, None)
        before = 0.0 if was_open is None else was_open.qty - was_open.cum_qty
        status = view.status
        is_open = status is _NEW or status is _PARTIALLY_FILLED or status is _PENDING_NEW
        after = view.qty - view.cum_qty if is_open else 0.0
        if is_open:
            open_orders[cid] = view
        if after != before:
            self._add_leaves(view, after - before)
        if not is_open and (was_open is not None or prev is None):
            self._closed.append(cid)
            if len(self._closed) > self._max_closed:
                self._forget_closed()

    def _add_leaves(self, view: OrderView, change: float) -> None:
        key = (view.strategy_id, view.symbol, view.side)
        leaves = self._leaves.get(key, 0.0) + change
        if leaves > 1e-12:
            self._leaves[key] = leaves
        else:
            self._leaves.pop(key, None)

    def open_qty(self, strategy_id: str, symbol: str, side: Side) -> float:
        """Unfilled quantity of the strategy's open orders in ``symbol`` on ``side``."""
        return self._leaves.get((strategy_id, symbol, side), 0.0)

    def _forget_closed(self) -> None:
        while len(self._closed) > self._max_closed:
            old = self._closed.popleft()
            kept = self.orders.get(old)
            if kept is not None and not kept.status.is_open:
                del self.orders[old]

    def _remember_exec_id(self, exec_id: str) -> None:
        self._exec_ids.add(exec_id)
        self._exec_order.append(exec_id)
        if len(self._exec_order) > self._max_exec_ids:
            self._exec_ids.discard(self._exec_order.popleft())

    def open_orders(self, strategy_id: str | None = None) -> list[OrderView]:
        if strategy_id is not None:
            return list(self._open.get(strategy_id, {}).values())
        return [o for by_id in self._open.values() for o in by_id.values()]

    def reconcile(self, snap: SnapshotReport) -> list[str]:
        """Adopt the executor's open orders; return human-readable discrepancies."""
        notes: list[str] = []
        live = {o.client_order_id: o for o in snap.open_orders}
        for view in self.open_orders():  # a copy: marking one CANCELED changes the index
            if view.client_order_id not in live:
                cid = view.client_order_id
                notes.append(f"order {cid} unknown to the executor: marked CANCELED")
                self._store(
                    OrderView(
                        view.client_order_id,
                        view.strategy_id,
                        view.symbol,
                        view.side,
                        view.order_type,
                        view.qty,
                        view.price,
                        OrderStatus.CANCELED,
                        view.cum_qty,
                        view.avg_price,
                        view.venue_order_id,
                        snap.ts_init,
                        "lost_on_reconcile",
                    ),
                    view,
                )
        for o in snap.open_orders:
            prev = self.orders.get(o.client_order_id)
            if prev is not None and prev.strategy_id != o.strategy_id:
                moved = self._open.get(prev.strategy_id, {}).pop(o.client_order_id, None)
                if moved is not None:
                    self._add_leaves(moved, moved.cum_qty - moved.qty)
            self._store(
                OrderView(
                    o.client_order_id,
                    o.strategy_id,
                    o.symbol,
                    o.side,
                    o.order_type,
                    o.qty,
                    o.price,
                    o.status,
                    o.cum_qty,
                    o.avg_price,
                    o.venue_order_id,
                    o.ts_event,
                ),
                prev,
            )
        return notes
