"""Risk tables: every limit with how much of it is used, and the latest risk events."""

from __future__ import annotations

from typing import Any

from cockpit import theme
from cockpit.models.columns import Column, fmt_time_ns
from cockpit.models.keyed_table import KeyedTableModel
from engine.config import RiskConfig
from engine.model.events import PortfolioState, RiskEvent


def _usage_text(v: Any, row: dict[str, Any]) -> str:
    return "" if v is None else f"{v:.0%}"


def _amount(v: Any, row: dict[str, Any]) -> str:
    if v is None:
        return ""
    return f"{v:.2%}" if row.get("pct") else f"{v:,.0f}"


class LimitsModel(KeyedTableModel):
    """Portfolio breakers, per-symbol and per-strategy limits: used / limit (usage 0..1+)."""

    def __init__(self, risk: RiskConfig) -> None:
        super().__init__(
            [
                Column("name", "Limit"),
                Column("usage", "Usage", row_fmt=_usage_text, sort_key=float),
                Column("used", "Used", row_fmt=_amount, align_right=True),
                Column("limit", "Limit", row_fmt=_amount, align_right=True),
                Column("note", "Note", colour=lambda v: theme.HALT if v else None),
            ],
            key="name",
        )
        self.risk = risk

    def _set(self, name: str, used: float, limit: float, note: str = "", pct: bool = False) -> None:
        used += 0.0  # no "-0"
        usage = used / limit if limit > 0 else 0.0
        self.upsert({"name": name, "used": used, "limit": limit, "usage": usage, "note": note,
                     "pct": pct})  # fmt: skip

    def on_portfolio(self, p: PortfolioState) -> None:
        r = self.risk
        self._set("gross exposure", p.exposure, r.max_total_exposure)
        self._set("daily loss (NAV breaker)", max(0.0, -p.day_pnl), r.daily_loss_limit)
        self._set("drawdown (breaker)", p.drawdown, r.max_drawdown_pct, pct=True)
        net: dict[str, float] = {}
        for pos in p.positions:
            net[pos.symbol] = net.get(pos.symbol, 0.0) + pos.qty
        for symbol, qty in sorted(net.items()):
            mark = p.marks.get(symbol)
            if mark is not None:
                stale = "stale mark: new exposure refused" if symbol in p.stale_symbols else ""
                self._set(f"{symbol} net position", abs(qty) * mark, r.max_position_notional,
                          stale)  # fmt: skip

    def on_strategies(self, rows: list[dict[str, Any]]) -> None:
        for s in rows:
            sid = s["strategy_id"]
            note = f"disabled: {s['disabled']}" if s.get("disabled") else ""
            self._set(f"{sid} daily loss", max(0.0, -s["day_pnl"]), s["daily_loss_limit"], note)
            self._set(f"{sid} position", s["position_notional"], s["max_position_notional"])


class RiskEventsModel(KeyedTableModel):
    """The latest risk events (newest last), bounded."""

    def __init__(self, max_rows: int = 200) -> None:
        super().__init__(
            [
                Column("ts", "Time", fmt_time_ns),
                Column("kind", "Kind", colour=lambda v: theme.HALT if v in (
                    "KILL_SWITCH", "DEADMAN", "LINK_DOWN") else theme.WARN if v == "LIMIT_BREACH"
                    else None),
                Column("scope", "Scope"),
                Column("message", "Message"),
            ],
            key="event_id",
            max_rows=max_rows,
        )  # fmt: skip

    def on_event(self, e: RiskEvent) -> None:
        target = f" {e.target}" if e.target else ""
        self.upsert({"event_id": e.event_id, "ts": e.ts_event, "kind": e.kind.value,
                     "scope": f"{e.scope.value}{target}", "message": e.message})  # fmt: skip
