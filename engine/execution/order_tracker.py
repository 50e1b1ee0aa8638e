"""OrderTracker: the engine's view of orders and fill-driven positions.

Positions change only here, only on a fill, at the fill's price and quantity
(DESIGN invariant 2). Each fill is applied once (``exec_id``).

Open orders are indexed by strategy, so a pre-trade check costs what the
strategy has open, not what the session has ever sent. Closed orders and
applied exec ids are kept up to a bound (the newest), which leaves a long
session's memory flat; the bounds are far above what the core can replay.
"""

from __future__ import annotations

import logging
from collections import deque

from engine.execution.protocol import SnapshotReport
from engine.model.enums import OrderStatus
from engine.model.events import Fill, OrderUpdate
from engine.model.orders import InvalidOrderTransition, OrderView
from engine.model.positions import Position

log = logging.getLogger(__name__)

_PENDING_NEW, _NEW, _PARTIALLY_FILLED = (
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
)


def apply_fill(pos: Position, fill: Fill) -> Position:
    """The position after ``fill`` (pure): average price on increase, realised PnL on decrease."""
    signed = fill.qty * fill.side.sign
    qty, avg, realized = pos.qty, pos.avg_price, pos.realized_pnl
    if qty == 0 or (qty > 0) == (signed > 0):
        new_qty = qty + signed
        avg = (avg * abs(qty) + fill.price * abs(signed)) / abs(new_qty)
        qty = new_qty
    else:
        closing = min(abs(signed), abs(qty))
        realized += closing * (fill.price - avg) * (1 if qty > 0 else -1)
        new_qty = qty + signed
        if abs(new_qty) < 1e-12:
            qty, avg = 0.0, 0.0
        elif (new_qty > 0) != (qty > 0):  # flipped: the remainder opens at the fill price
            qty, avg = new_qty, fill.price
        else:
            qty = new_qty
    fee = fill.fee if fill.fee_asset == "USDT" else 0.0
    return Position(pos.strategy_id, pos.symbol, qty, avg, realized - fee, pos.fees + fee)


class OrderTracker:
    """Orders by client id, positions by (strategy, symbol); updated only from reports."""

    def __init__(self, max_closed: int = 100_000, max_exec_ids: int = 500_000) -> None:
        self.orders: dict[str, OrderView] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.invalid_transitions = 0
        self._open: dict[str, dict[str, OrderView]] = {}  # strategy -> client id -> view
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
        key = (fill.strategy_id, fill.symbol)
        self.positions[key] = apply_fill(self.positions.get(key, Position(*key)), fill)
        return fill

    def _store(self, view: OrderView, prev: OrderView | None) -> None:
        # On every report: identity tests, not OrderStatus.is_open (an enum property).
        cid = view.client_order_id
        self.orders[cid] = view
        open_orders = self._open.get(view.strategy_id)
        if open_orders is None:
            open_orders = self._open[view.strategy_id] = {}
        status = view.status
        if status is _NEW or status is _PARTIALLY_FILLED or status is _PENDING_NEW:
            open_orders[cid] = view
        elif open_orders.pop(cid, None) is not None or prev is None:
            self._closed.append(cid)
            if len(self._closed) > self._max_closed:
                self._forget_closed()

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

    def position(self, strategy_id: str, symbol: str) -> Position:
        return self.positions.get((strategy_id, symbol), Position(strategy_id, symbol))

    def reconcile(self, snap: SnapshotReport) -> list[str]:
        """Adopt the executor's view; return human-readable discrepancies."""
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
                self._open.get(prev.strategy_id, {}).pop(o.client_order_id, None)
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
        venue_positions = {(p.strategy_id, p.symbol): p for p in snap.positions}
        for key in set(self.positions) | set(venue_positions):
            mine = self.positions.get(key, Position(*key))
            theirs = venue_positions.get(key)
            qty = theirs.qty if theirs else 0.0
            if abs(mine.qty - qty) > 1e-9:
                notes.append(f"position {key[0]} {key[1]}: engine {mine.qty:g} vs executor {qty:g}")
            self.positions[key] = Position(
                key[0],
                key[1],
                qty,
                theirs.avg_price if theirs else 0.0,
                theirs.realized_pnl if theirs else mine.realized_pnl,
                theirs.fees if theirs else mine.fees,
            )
        return notes
