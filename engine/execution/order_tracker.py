"""OrderTracker: the engine's view of orders and fill-driven positions.

Positions change only here, only on a fill, at the fill's price and quantity
(DESIGN invariant 2). Each fill is applied once (``exec_id``).
"""

from __future__ import annotations

import logging

from engine.execution.protocol import SnapshotReport
from engine.model.enums import OrderStatus
from engine.model.events import Fill, OrderUpdate
from engine.model.orders import InvalidOrderTransition, OrderView
from engine.model.positions import Position

log = logging.getLogger(__name__)


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

    def __init__(self) -> None:
        self.orders: dict[str, OrderView] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self._exec_ids: set[str] = set()
        self.invalid_transitions = 0

    def on_submitted(self, view: OrderView) -> None:
        self.orders.setdefault(view.client_order_id, view)

    def on_update(self, update: OrderUpdate) -> Fill | None:
        """Apply one report; return the Fill it carries (None if none or already applied)."""
        view = self.orders.get(update.client_order_id)
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
            self.orders[update.client_order_id] = view.apply(update)
        except InvalidOrderTransition as exc:
            self.invalid_transitions += 1
            log.error("order %s: %s (report seq %d)", update.client_order_id, exc, update.seq)
        if not update.is_fill or update.exec_id in self._exec_ids:
            return None
        fill = Fill.from_update(update)
        self._exec_ids.add(fill.exec_id)
        key = (fill.strategy_id, fill.symbol)
        self.positions[key] = apply_fill(self.positions.get(key, Position(*key)), fill)
        return fill

    def open_orders(self, strategy_id: str | None = None) -> list[OrderView]:
        return [
            o
            for o in self.orders.values()
            if o.status.is_open and (strategy_id is None or o.strategy_id == strategy_id)
        ]

    def position(self, strategy_id: str, symbol: str) -> Position:
        return self.positions.get((strategy_id, symbol), Position(strategy_id, symbol))

    def reconcile(self, snap: SnapshotReport) -> list[str]:
        """Adopt the executor's view; return human-readable discrepancies."""
        notes: list[str] = []
        live = {o.client_order_id: o for o in snap.open_orders}
        for cid, view in list(self.orders.items()):
            if view.status.is_open and cid not in live:
                notes.append(f"order {cid} unknown to the executor: marked CANCELED")
                self.orders[cid] = OrderView(
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
                )
        for o in snap.open_orders:
            self.orders[o.client_order_id] = OrderView(
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
