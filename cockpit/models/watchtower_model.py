"""WatchtowerModel: every evaluation, reap and replacement (journal ``watchtower_log``,
then live ``AgentScored`` and lifecycle events), newest last."""

from __future__ import annotations

import math
from typing import Any

from cockpit import theme
from cockpit.models.columns import Column, fmt_opt, fmt_pct, sign_colour
from cockpit.models.detail_models import fmt_clock
from cockpit.models.keyed_table import KeyedTableModel
from engine.model.enums import AgentState as Lifecycle
from engine.model.events import AgentLifecycle, AgentScored

_EVENT_COLOUR = {
    "keep": theme.LONG,
    "reap": theme.SHORT,
    "reaped": theme.SHORT,
    "replaced": theme.ACCENT,
    "undecided": theme.TEXT_DIM,
}


def _num(v: Any) -> float | None:
    if isinstance(v, int | float) and not (isinstance(v, float) and math.isnan(v)):
        return float(v)
    return None


class WatchtowerModel(KeyedTableModel):
    """Keyed by (ts, agent, event): a journal line and the live event it was are one row."""

    def __init__(self, max_rows: int = 2_000) -> None:
        pnl = sign_colour(theme.LONG, theme.SHORT)
        super().__init__(
            [
                Column("ts", "Time", fmt_clock),
                Column("agent_id", "Agent"),
                Column("symbol", "Symbol"),
                Column("event", "Event", colour=_EVENT_COLOUR.get),
                Column("pnl", "PnL", fmt_opt(2), align_right=True, colour=pnl),
                Column("sharpe", "Sharpe", fmt_opt(2), align_right=True),
                Column("drawdown", "Drawdown", fmt_pct(1), align_right=True),
                Column("trades", "Round trips", fmt_opt(0), align_right=True),
                Column("hit_rate", "Hit rate", fmt_pct(0), align_right=True),
                Column("reason", "Why / what replaced it"),
            ],
            key="key",
            max_rows=max_rows,
        )

    def _add(self, ts: int, agent_id: str, symbol: str, event: str, reason: str,
             figures: dict[str, Any]) -> None:  # fmt: skip
        self.upsert(
            {
                "key": (ts, agent_id, event),
                "ts": ts,
                "agent_id": agent_id,
                "symbol": symbol,
                "event": event,
                "pnl": _num(figures.get("pnl")),
                "sharpe": _num(figures.get("sharpe")),
                "drawdown": _num(figures.get("max_drawdown")),
                "trades": _num(figures.get("trades")),
                "hit_rate": _num(figures.get("hit_rate")),
                "reason": reason,
            }
        )

    def on_log(self, lines: list[dict[str, Any]]) -> None:
        """Journal lines (newest first, as ``watchtower_log`` returns them)."""
        for r in reversed(lines):
            self._add(int(r["ts"]), r["agent_id"], r["symbol"], r["event"], r["reason"],
                      r.get("figures") or {})  # fmt: skip

    def on_scored(self, e: AgentScored) -> None:
        self._add(e.ts_event, e.agent_id, e.symbol, e.verdict, e.reason, e.figures)

    def on_lifecycle(self, e: AgentLifecycle) -> None:
        if e.state is Lifecycle.REAPED:
            self._add(e.ts_event, e.agent_id, e.symbol, "reaped", e.reason, {})
