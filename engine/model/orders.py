"""Engine-side order view and the order status transition table.

The table equals cerebellum_core's ``orders/status.rs`` (checked against
``cerebellum_core transitions`` by tests/invariants/test_order_state_tables.py).
PENDING_NEW is the initial state: sent, not yet accepted. It is never a wire
status; REJECTED is legal only from it.
"""

from __future__ import annotations

import msgspec

from engine.model.enums import OrderStatus, OrderType, Side
from engine.model.events import OrderUpdate

S = OrderStatus

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED}),
    S.NEW: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}),
    # A partial fill may be followed by more partial fills (same status again).
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
}


class InvalidOrderTransition(ValueError):
    """An order update that the status machine does not allow."""


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    """Raise InvalidOrderTransition if ``current -> new`` is not a legal edge."""
    if new not in ORDER_TRANSITIONS[current]:
        raise InvalidOrderTransition(f"illegal order transition {current} -> {new}")


class OrderView(msgspec.Struct, frozen=True):
    """The engine's current picture of one order (replaced, never mutated)."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    qty: float
    price: float | None
    status: OrderStatus
    cum_qty: float = 0.0
    avg_price: float = 0.0
    venue_order_id: str | None = None
    ts_last: int = 0
    reason: str | None = None

    @property
    def leaves_qty(self) -> float:
        return max(self.qty - self.cum_qty, 0.0) if self.status.is_open else 0.0

    def apply(self, update: OrderUpdate) -> OrderView:
        """Return the view after ``update``; raises on an illegal transition."""
        check_transition(self.status, update.status)
        return OrderView(
            self.client_order_id,
            self.strategy_id,
            self.symbol,
            self.side,
            self.order_type,
            self.qty,
            self.price,
            update.status,
            update.cum_qty,
            update.avg_price,
            update.venue_order_id or self.venue_order_id,
            update.ts_event,
            update.reason,
        )
