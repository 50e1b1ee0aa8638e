"""The ``orders`` and ``fills`` rows: statements, row builders and a batch writer.

Row builders read plain attributes, so they take the engine's own NewOrder
and OrderUpdate (whose enums are ``str``) as well as the order journal
process's lighter decoded structs, and SQLite binds the values as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from engine.journal.connection import connect
from engine.journal.statements import INSERT_INTENT


class _Owned(Protocol):
    """Whose order it is, and on what: common to an order and its reports."""

    @property
    def client_order_id(self) -> str: ...
    @property
    def strategy_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...


class OrderFields(_Owned, Protocol):
    """What an order's row needs (NewOrder has it)."""

    @property
    def order_type(self) -> str: ...
    @property
    def qty(self) -> float: ...
    @property
    def price(self) -> float | None: ...
    @property
    def time_in_force(self) -> str: ...
    @property
    def post_only(self) -> bool: ...
    @property
    def reduce_only(self) -> bool: ...


class ReportFields(_Owned, Protocol):
    """What an order's state and its fill need (OrderUpdate has it)."""

    @property
    def order_type(self) -> str: ...
    @property
    def qty(self) -> float: ...
    @property
    def price(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def cum_qty(self) -> float: ...
    @property
    def avg_price(self) -> float: ...
    @property
    def venue_order_id(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def ts_event(self) -> int: ...
    @property
    def last_qty(self) -> float | None: ...
    @property
    def last_price(self) -> float | None: ...
    @property
    def fee(self) -> float | None: ...
    @property
    def fee_asset(self) -> str | None: ...
    @property
    def liquidity(self) -> str | None: ...
    @property
    def exec_id(self) -> str | None: ...
    @property
    def unsolicited(self) -> bool: ...


UPSERT_ANSWERED = (
    "INSERT INTO orders (client_order_id, strategy_id, symbol, side, order_type, qty, price,"
    " time_in_force, post_only, reduce_only, status, cum_qty, avg_price, venue_order_id, reason,"
    " ts_created, ts_updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT(client_order_id) DO UPDATE SET status=excluded.status,"
    " cum_qty=excluded.cum_qty, avg_price=excluded.avg_price,"
    " venue_order_id=COALESCE(excluded.venue_order_id, venue_order_id), reason=excluded.reason,"
    " ts_updated=excluded.ts_updated"
    " WHERE status NOT IN ('FILLED','CANCELED','REJECTED') AND cum_qty <= excluded.cum_qty"
)
# A report updates its order's row; an order the engine did not send (the core's flatten
# and kill-switch orders, a venue's liquidation) gets its row from its first report, with
# the flags a report does not carry at their defaults (GTC, not post-only, not reduce-only).
UPSERT_REPORTED = (
    "INSERT INTO orders (client_order_id, strategy_id, symbol, side, order_type, qty, price,"
    " time_in_force, post_only, reduce_only, status, cum_qty, avg_price, venue_order_id, reason,"
    " ts_created, ts_updated) VALUES (?,?,?,?,?,?,?,'GTC',0,0,?,?,?,?,?,?,?)"
    " ON CONFLICT(client_order_id) DO UPDATE SET status=excluded.status,"
    " cum_qty=excluded.cum_qty, avg_price=excluded.avg_price,"
    " venue_order_id=COALESCE(excluded.venue_order_id, venue_order_id), reason=excluded.reason,"
    " ts_updated=excluded.ts_updated"
    # A replayed (older) report never moves an order backwards.
    " WHERE status NOT IN ('FILLED','CANCELED','REJECTED') AND cum_qty <= excluded.cum_qty"
)
INSERT_FILL = (
    "INSERT OR IGNORE INTO fills (exec_id, client_order_id, strategy_id, symbol, side, qty,"
    " price, fee, fee_asset, liquidity, unsolicited, ts_event) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def intent_row(o: OrderFields, ts: int) -> tuple[Any, ...]:
    """Parameters of INSERT_INTENT: the order as sent, PENDING_NEW."""
    return (
        o.client_order_id,
        o.strategy_id,
        o.symbol,
        o.side,
        o.order_type,
        o.qty,
        o.price,
        o.time_in_force,
        int(o.post_only),
        int(o.reduce_only),
        ts,
        ts,
    )


def answered_row(o: OrderFields, ts: int, u: ReportFields) -> tuple[Any, ...]:
    """Parameters of UPSERT_ANSWERED: the order as sent, in the state ``u`` reports."""
    return (
        o.client_order_id,
        o.strategy_id,
        o.symbol,
        o.side,
        o.order_type,
        o.qty,
        o.price,
        o.time_in_force,
        int(o.post_only),
        int(o.reduce_only),
        u.status,
        u.cum_qty,
        u.avg_price,
        u.venue_order_id,
        u.reason,
        ts,
        u.ts_event,
    )


def reported_row(u: ReportFields) -> tuple[Any, ...]:
    """Parameters of UPSERT_REPORTED."""
    return (
        u.client_order_id,
        u.strategy_id,
        u.symbol,
        u.side,
        u.order_type,
        u.qty,
        u.price,
        u.status,
        u.cum_qty,
        u.avg_price,
        u.venue_order_id,
        u.reason,
        u.ts_event,
        u.ts_event,
    )


def is_fill(u: ReportFields) -> bool:
    return bool(u.last_qty) and u.exec_id is not None


def fill_row(u: ReportFields) -> tuple[Any, ...]:
    """Parameters of INSERT_FILL for a report that carries a fill (``is_fill``)."""
    return (
        u.exec_id,
        u.client_order_id,
        u.strategy_id,
        u.symbol,
        u.side,
        u.last_qty,
        u.last_price,
        u.fee or 0.0,
        u.fee_asset or "USDT",
        u.liquidity,
        int(u.unsolicited),
        u.ts_event,
    )


class OrderRows:
    """Writes batches of order intents and reports as ``orders`` and ``fills`` rows."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the writer thread checkpoints
        self._conn.execute("PRAGMA synchronous=OFF")

    def write(
        self, intents: Sequence[tuple[OrderFields, int]], updates: Sequence[ReportFields]
    ) -> None:
        """Commit a batch; an order sent and answered within the batch becomes one row write.

        Reports arrive in sequence order, so an order's last update in the batch is its
        state; it is merged into the order's insert when the intent is in the same batch.
        """
        fills = [fill_row(u) for u in updates if is_fill(u)]
        latest = {u.client_order_id: u for u in updates}
        fresh: list[tuple[Any, ...]] = []
        answered: list[tuple[Any, ...]] = []
        for order, ts in intents:
            update = latest.pop(order.client_order_id, None)
            if update is None:
                fresh.append(intent_row(order, ts))
            else:
                answered.append(answered_row(order, ts, update))
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if fresh:
                conn.executemany(INSERT_INTENT, fresh)
            if answered:
                conn.executemany(UPSERT_ANSWERED, answered)
            if latest:
                conn.executemany(UPSERT_REPORTED, [reported_row(u) for u in latest.values()])
            if fills:
                conn.executemany(INSERT_FILL, fills)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
