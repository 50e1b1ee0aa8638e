"""An order the engine did not send (the core's flatten or kill-switch orders, a venue's
liquidation) gets its journal row from its first report; later reports update it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.journal.migrations import migrate
from engine.journal.order_rows import OrderRows
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import OrderUpdate


def _report(status: OrderStatus, cum: float, seq: int) -> OrderUpdate:
    filled = cum > 0
    return OrderUpdate(
        seq=seq, client_order_id="flat-c0ffee-1", venue_order_id="S-9", strategy_id="agent-1",
        symbol="ETH/USDT", side=Side.SELL, order_type=OrderType.MARKET, status=status,
        price=None, qty=0.5, cum_qty=cum, avg_price=3_000.0 if filled else 0.0,
        leaves_qty=0.5 - cum, ts_event=seq, ts_init=seq,
        last_qty=cum if filled else None, last_price=3_000.0 if filled else None,
        fee=0.8 if filled else None, fee_asset="USDT" if filled else None,
        liquidity=Liquidity.TAKER if filled else None, exec_id=f"E{seq}" if filled else None,
    )  # fmt: skip


def test_a_report_of_an_order_never_sent_creates_its_row_and_then_updates_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite"
    conn = sqlite3.connect(path)
    migrate(conn)
    conn.close()
    rows = OrderRows(path)
    rows.write([], [_report(OrderStatus.NEW, 0.0, 1)])
    rows.write([], [_report(OrderStatus.FILLED, 0.5, 2)])
    rows.write([], [_report(OrderStatus.NEW, 0.0, 1)])  # a replayed, older report
    rows.close()
    conn = sqlite3.connect(path)
    order = conn.execute(
        "SELECT strategy_id, symbol, side, order_type, qty, status, cum_qty, venue_order_id"
        " FROM orders WHERE client_order_id='flat-c0ffee-1'"
    ).fetchall()
    fills = conn.execute("SELECT qty, price FROM fills").fetchall()
    conn.close()
    # The replayed NEW (older) did not move the filled order back.
    assert order == [("agent-1", "ETH/USDT", "SELL", "MARKET", 0.5, "FILLED", 0.5, "S-9")]
    assert fills == [(0.5, 3_000.0)]
