"""AgentSummary: one row of the agents table (what the cockpit and `EngineCommands` show)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.agents.state import TradeRecord
from engine.model.enums import AgentState as Lifecycle

if TYPE_CHECKING:
    from engine.agents.agent import Agent


@dataclass(frozen=True, slots=True)
class AgentSummary:
    agent_id: str
    symbol: str
    kinds: tuple[str, ...]
    lifecycle: Lifecycle
    reason: str
    position: float
    entry_price: float
    entry_ns: int  # when the open position was entered; 0 when flat
    mark: float | None
    cash: float
    equity: float
    unrealized_pnl: float
    realized_pnl: float  # after fees
    fees: float
    trades: int
    wins: int
    weights: tuple[float, ...]
    pending_order: str | None
    created_ns: int
    halted: bool

    @property
    def hit_rate(self) -> float:
        return self.wins / self.trades if self.trades else math.nan

    @property
    def side(self) -> str:
        """``long``, ``short`` or ``flat``."""
        if self.position > 1e-12:
            return "long"
        if self.position < -1e-12:
            return "short"
        return "flat"


def summarize(agent: Agent, mark: float | None, halted: bool) -> AgentSummary:
    st = agent.state
    return AgentSummary(
        agent_id=agent.id,
        symbol=agent.symbol,
        kinds=agent.kinds,
        lifecycle=agent.lifecycle,
        reason=agent.pause_reason,
        position=st.qty,
        entry_price=st.entry_price,
        entry_ns=st.entry_ts if abs(st.qty) > 1e-12 else 0,
        mark=mark,
        cash=st.cash,
        equity=st.equity(mark),
        unrealized_pnl=st.unrealized_pnl(mark),
        realized_pnl=st.realized_pnl,
        fees=st.fees,
        trades=st.n_trades,
        wins=st.n_wins,
        weights=tuple(st.weights),
        pending_order=st.pending_order,
        created_ns=int(agent.bundle.metadata.get("created_ns", 0) or 0),
        halted=halted,
    )


@dataclass(frozen=True, slots=True)
class AgentDetail:
    """Everything the cockpit's agent view shows."""

    summary: AgentSummary
    specialists: tuple[dict[str, Any], ...]  # kind, and the GP expression or top features
    trades: tuple[TradeRecord, ...]
    equity: tuple[tuple[int, float], ...]  # (ts ns, equity) from the Watchtower's samples
    decisions: tuple[dict[str, Any], ...]  # newest first, from the journal
    trade_stats: dict[str, Any]
    gauntlet: dict[str, Any]


def agent_detail(
    agent: Agent,
    mark: float | None,
    decisions: list[dict[str, Any]],
    performance: list[dict[str, Any]],
) -> AgentDetail:
    meta = agent.bundle.metadata
    specialists = tuple(
        {
            "kind": s.get("kind"),
            "expression": s.get("expression"),
            "top_features": s.get("top_features", []),
            "feature_names": s.get("feature_names", []),
        }
        for s in meta.get("specialists", [])
    )
    return AgentDetail(
        summarize(agent, mark, False),
        specialists,
        tuple(agent.state.trades),
        tuple((int(r["ts"]), float(r["equity"])) for r in performance),
        tuple(decisions),
        dict(meta.get("trade_stats") or {}),
        dict(meta.get("gauntlet") or {}),
    )
