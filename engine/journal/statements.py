"""SQL shared by the journal's writers."""

from __future__ import annotations

from typing import Final

# An order as sent, before any answer: its row in ``orders`` (never overwrites one).
INSERT_INTENT: Final = (
    "INSERT OR IGNORE INTO orders (client_order_id, strategy_id, symbol, side, order_type, qty,"
    " price, time_in_force, post_only, reduce_only, status, ts_created, ts_updated)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,'PENDING_NEW',?,?)"
)
