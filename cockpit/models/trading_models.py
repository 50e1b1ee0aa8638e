"""Table models for the blotter and positions (fed by bridge signals, no engine calls)."""

from __future__ import annotations

from cockpit import theme
from cockpit.models.columns import Column, fmt_num, fmt_qty, fmt_time_ns, sign_colour
from cockpit.models.keyed_table import KeyedTableModel
from engine.model.events import Fill, OrderUpdate
from engine.model.positions import Position

_side_colour = {"BUY": theme.BID, "SELL": theme.ASK}


def _side(v: object) -> str | None:
    return _side_colour.get(str(v))


class OrdersModel(KeyedTableModel):
    """Open orders (rows leave when the order is closed)."""

    def __init__(self) -> None:
        super().__init__(
            [
                Column("time", "Time", fmt_time_ns),
                Column("strategy_id", "Strategy"),
                Column("symbol", "Symbol"),
                Column("side", "Side", colour=_side),
                Column("order_type", "Type"),
                Column("price", "Price", fmt_num(2), align_right=True),
                Column("qty", "Qty", fmt_qty, align_right=True),
                Column("cum_qty", "Filled", fmt_qty, align_right=True),
                Column("status", "Status"),
                Column("client_order_id", "Client id"),
                Column("action", ""),
            ],
            key="client_order_id",
        )

    def on_update(self, u: OrderUpdate) -> None:
        if not u.status.is_open:
            self.remove(u.client_order_id)
            return
        self.upsert(
            {
                "time": u.ts_event,
                "strategy_id": u.strategy_id,
                "symbol": u.symbol,
                "side": u.side.value,
                "order_type": u.order_type.value,
                "price": u.price,
                "qty": u.qty,
                "cum_qty": u.cum_qty,
                "status": u.status.value,
                "client_order_id": u.client_order_id,
                "action": "",
            }
        )


class FillsModel(KeyedTableModel):
    """Every fill, newest last (bounded)."""

    def __init__(self, max_rows: int = 2_000) -> None:
        super().__init__(
            [
                Column("time", "Time", fmt_time_ns),
                Column("strategy_id", "Strategy"),
                Column("symbol", "Symbol"),
                Column("side", "Side", colour=_side),
                Column("price", "Price", fmt_num(2), align_right=True),
                Column("qty", "Qty", fmt_qty, align_right=True),
                Column("fee", "Fee", fmt_num(4), align_right=True),
                Column("liquidity", "Liq"),
                Column("exec_id", "Exec id"),
            ],
            key="exec_id",
            max_rows=max_rows,
        )

    def on_fill(self, f: Fill) -> None:
        self.upsert(
            {
                "time": f.ts_event,
                "strategy_id": f.strategy_id,
                "symbol": f.symbol,
                "side": f.side.value,
                "price": f.price,
                "qty": f.qty,
                "fee": f.fee,
                "liquidity": f.liquidity.value if f.liquidity else "",
                "exec_id": f.exec_id,
            }
        )


class PositionsModel(KeyedTableModel):
    """Positions per strategy and symbol, with unrealised PnL at the latest mark."""

    def __init__(self) -> None:
        pnl = sign_colour(theme.LONG, theme.SHORT)
        super().__init__(
            [
                Column("strategy_id", "Strategy"),
                Column("symbol", "Symbol"),
                Column("qty", "Position", fmt_qty, align_right=True, colour=pnl),
                Column("avg_price", "Avg price", fmt_num(2), align_right=True),
                Column("mark", "Mark", fmt_num(2), align_right=True),
                Column("upnl", "Unrealised", fmt_num(2), align_right=True, colour=pnl),
                Column("rpnl", "Realised", fmt_num(2), align_right=True, colour=pnl),
            ],
            key="key",
        )

    def set_position(self, pos: Position, mark: float | None) -> None:
        self.upsert(
            {
                "key": (pos.strategy_id, pos.symbol),
                "strategy_id": pos.strategy_id,
                "symbol": pos.symbol,
                "qty": pos.qty,
                "avg_price": pos.avg_price if pos.qty else None,
                "mark": mark,
                "upnl": pos.unrealized_pnl(mark) if mark is not None else None,
                "rpnl": pos.realized_pnl,
            }
        )
