"""AgentsModel: the Arena table, one row per agent (live, and reaped ones kept greyed).

Rows come from ``EngineCommands.list_agents()`` (polled), the Watchtower's
``AgentScored`` events (rolling Sharpe, drawdown, verdict) and lifecycle
events (a reaped agent stays, marked ``reaped``). Each agent keeps a bounded
series of equity samples for its sparkline.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from cockpit import theme
from cockpit.models.columns import (
    Column,
    Row,
    fmt_age_ns,
    fmt_opt,
    fmt_pct,
    fmt_price_row,
    fmt_qty_row,
    sign_colour,
)
from cockpit.models.keyed_table import KeyedTableModel
from engine.agents.summary import AgentSummary
from engine.model.enums import AgentState as Lifecycle
from engine.model.events import AgentLifecycle, AgentScored

STATES = ("flat", "long", "short", "paused", "reaped", "faulted", "loading")
EQUITY_SAMPLES = 720  # one per EQUITY_EVERY_S: an hour at 5 s
EQUITY_EVERY_S = 5.0
_STATE_COLOUR = {
    "long": theme.LONG,
    "short": theme.SHORT,
    "paused": theme.WARN,
    "reaped": theme.TEXT_DIM,
    "faulted": theme.HALT,
}
_VERDICT_COLOUR = {"keep": theme.LONG, "reap": theme.SHORT, "reaped": theme.SHORT}
DigitsFor = Callable[[str], tuple[int, int]]  # symbol -> (price decimals, qty decimals)


def state_of(s: AgentSummary) -> str:
    """flat / long / short for an active agent, else its lifecycle (paused, ...)."""
    if s.lifecycle is Lifecycle.ACTIVE:
        return s.side
    return s.lifecycle.value.lower()


def _weights(v: Any) -> str:
    return " / ".join(f"{w:.2f}" for w in v) if v else ""


def _trades(v: Any, row: Row) -> str:
    if not v:
        return "0"
    return f"{v} ({row.get('wins', 0) / v:.0%} won)"


def _verdict_tip(_v: Any, row: Row) -> str:
    return str(row.get("verdict_reason", ""))


def _last(v: Any) -> float:
    return float(v[-1]) if v else math.nan


class AgentsModel(KeyedTableModel):
    """The agents table (sort and filter it through ``AgentsFilter``)."""

    def __init__(self, digits_for: DigitsFor, now_ns: Callable[[], int] = time.time_ns) -> None:
        pnl = sign_colour(theme.LONG, theme.SHORT)
        super().__init__(
            [
                Column("agent_id", "Agent", tooltip=lambda v, _r: str(v)),
                Column("symbol", "Symbol"),
                Column("kinds", "Models"),
                Column("state", "State", colour=_STATE_COLOUR.get),
                Column("position", "Position", row_fmt=fmt_qty_row(), align_right=True,
                       colour=pnl),
                Column("entry_price", "Entry", row_fmt=fmt_price_row(), align_right=True),
                Column("unrealized_pnl", "uPnL", fmt_opt(2), align_right=True, colour=pnl),
                Column("realized_pnl", "rPnL (after fees)", fmt_opt(2), align_right=True,
                       colour=pnl),
                Column("sharpe", "Sharpe", fmt_opt(2), align_right=True, colour=pnl),
                Column("drawdown", "Drawdown", fmt_pct(1), align_right=True),
                Column("weights", "Hedge weights", _weights,
                       sort_key=lambda v: max(v) if v else None),
                Column("trades", "Round trips", row_fmt=_trades, align_right=True),
                Column("created_ns", "Age", fmt_age_ns(now_ns), align_right=True,
                       sort_key=lambda v: -v if v else None),
                Column("verdict", "Watchtower", colour=_VERDICT_COLOUR.get, tooltip=_verdict_tip),
                Column("equity", "Equity", lambda _v: "", sort_key=_last),
            ],
            key="agent_id",
        )  # fmt: skip
        self._digits_for = digits_for
        self._now_ns = now_ns
        self._scores: dict[str, AgentScored] = {}
        self._equity: dict[str, deque[tuple[int, float]]] = {}  # (ts ns, equity)
        self._equity_t: dict[str, float] = {}
        self._reaped: dict[str, str] = {}  # agent id -> why

    @property
    def equity_column(self) -> int:
        return [c.key for c in self.columns].index("equity")

    def equity_samples(self, agent_id: str) -> list[tuple[int, float]]:
        """(ts ns, equity) samples taken while the cockpit ran, oldest first."""
        return list(self._equity.get(agent_id, ()))

    # -- inputs ------------------------------------------------------------------------
    def update_agents(self, summaries: list[AgentSummary]) -> None:
        """The live agents now (a poll of list_agents)."""
        now = time.monotonic()
        ts = self._now_ns()
        live = set()
        for s in summaries:
            live.add(s.agent_id)
            samples = self._equity.setdefault(s.agent_id, deque(maxlen=EQUITY_SAMPLES))
            if not samples or now - self._equity_t.get(s.agent_id, 0.0) >= EQUITY_EVERY_S:
                samples.append((ts, s.equity))
                self._equity_t[s.agent_id] = now
            else:  # the newest sample follows the mark until the next one is due
                samples[-1] = (ts, s.equity)
            self.upsert(self._row(s))
        for key in self.keys():
            if key not in live and key not in self._reaped:
                row = self.row(key)
                if row is not None:
                    self.upsert(row | {"state": "reaped", "position": 0.0, "unrealized_pnl": 0.0})
        self.refresh_column("created_ns")

    def seed_equity(self, agent_id: str, equity: list[tuple[int, float]]) -> None:
        """Older samples from the journal (the Watchtower's) before the cockpit's own."""
        samples = self._equity.setdefault(agent_id, deque(maxlen=EQUITY_SAMPLES))
        first = samples[0][0] if samples else None
        older = [(int(t), float(v)) for t, v in equity if first is None or t < first]
        if older:
            merged = older + list(samples)
            samples.clear()
            samples.extend(merged[-EQUITY_SAMPLES:])

    def on_scored(self, event: AgentScored) -> None:
        self._scores[event.agent_id] = event
        row = self.row(event.agent_id)
        if row is not None:
            self.upsert(row | self._score_fields(event.agent_id))

    def on_lifecycle(self, event: AgentLifecycle) -> None:
        if event.state is Lifecycle.REAPED:
            self._reaped[event.agent_id] = event.reason
            row = self.row(event.agent_id)
            if row is not None:
                self.upsert(
                    row | {"state": "reaped", "position": 0.0, "unrealized_pnl": 0.0,
                           "verdict": "reaped", "verdict_reason": event.reason}
                )  # fmt: skip

    # -- rows --------------------------------------------------------------------------
    def _score_fields(self, agent_id: str) -> Row:
        scored = self._scores.get(agent_id)
        if scored is None:
            return {"sharpe": None, "drawdown": None, "verdict": "", "verdict_reason": ""}
        f = scored.figures
        return {
            "sharpe": f.get("sharpe"),
            "drawdown": f.get("max_drawdown"),
            "verdict": scored.verdict,
            "verdict_reason": scored.reason,
        }

    def _row(self, s: AgentSummary) -> Row:
        digits, qty_digits = self._digits_for(s.symbol)
        row: Row = {
            "agent_id": s.agent_id,
            "symbol": s.symbol,
            "kinds": "+".join(s.kinds),
            "state": state_of(s),
            "position": s.position,
            "entry_price": s.entry_price if s.position else None,
            "unrealized_pnl": s.unrealized_pnl,
            "realized_pnl": s.realized_pnl,
            "weights": tuple(round(w, 4) for w in s.weights),
            "trades": s.trades,
            "wins": s.wins,
            "created_ns": s.created_ns,
            "equity": tuple(v for _t, v in self._equity.get(s.agent_id, ())),
            "equity_now": s.equity,
            "digits": digits,
            "qty_digits": qty_digits,
            "halted": s.halted,
            "reason": s.reason,
        }
        return row | self._score_fields(s.agent_id)
