"""Events the engine publishes on its bus. Immutable; past-tense or state names."""

from __future__ import annotations

from typing import Any

import msgspec

from engine.core.ids import new_event_id
from engine.model.enums import (
    AgentState,
    EngineState,
    ForgeStage,
    LinkStatus,
    Liquidity,
    OrderStatus,
    OrderType,
    RiskEventKind,
    Scope,
    Side,
    TradingState,
)
from engine.model.positions import Position


class OrderUpdate(msgspec.Struct, frozen=True):
    """A change of an order's state as reported by Cerebellum (journaled, sequenced)."""

    seq: int
    client_order_id: str
    venue_order_id: str | None
    strategy_id: str
    symbol: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    price: float | None
    qty: float
    cum_qty: float
    avg_price: float
    leaves_qty: float
    ts_event: int
    ts_init: int
    last_qty: float | None = None
    last_price: float | None = None
    fee: float | None = None
    fee_asset: str | None = None
    liquidity: Liquidity | None = None
    exec_id: str | None = None
    reason: str | None = None
    unsolicited: bool = False

    @property
    def is_fill(self) -> bool:
        return bool(self.last_qty) and self.exec_id is not None


class Fill(msgspec.Struct, frozen=True):
    """One execution of an order: the only thing that moves an agent's position."""

    exec_id: str
    client_order_id: str
    strategy_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    fee_asset: str
    liquidity: Liquidity | None
    ts_event: int
    ts_init: int
    unsolicited: bool = False

    @classmethod
    def from_update(cls, update: OrderUpdate) -> Fill:
        if not update.is_fill or update.last_price is None or update.last_qty is None:
            raise ValueError(f"order update {update.seq} carries no fill")
        return cls(
            exec_id=update.exec_id or "",
            client_order_id=update.client_order_id,
            strategy_id=update.strategy_id,
            symbol=update.symbol,
            side=update.side,
            qty=update.last_qty,
            price=update.last_price,
            fee=update.fee or 0.0,
            fee_asset=update.fee_asset or "USDT",
            liquidity=update.liquidity,
            ts_event=update.ts_event,
            ts_init=update.ts_init,
            unsolicited=update.unsolicited,
        )


class RiskEvent(msgspec.Struct, frozen=True):
    """A risk-relevant event: kill switch, dead-man's switch, limit breach, link loss."""

    kind: RiskEventKind
    message: str
    ts_event: int
    scope: Scope = Scope.GLOBAL
    target: str | None = None
    seq: int = 0
    source: str = "engine"
    event_id: str = msgspec.field(default_factory=new_event_id)


class TradingStateChanged(msgspec.Struct, frozen=True):
    """The effective trading state of a scope changed (engine and/or core)."""

    scope: Scope
    target: str | None
    state: TradingState
    reason: str
    ts_event: int
    entries_paused: bool = False


class LinkState(msgspec.Struct, frozen=True):
    """Health of the link to Cerebellum, published on every change and periodically."""

    status: LinkStatus
    ts_event: int
    session_id: str | None = None
    venue: str | None = None
    heartbeat_age_ms: float | None = None
    rtt_us: float | None = None
    last_seq: int = 0
    detail: str = ""


class EngineStateChanged(msgspec.Struct, frozen=True):
    state: EngineState
    ts_event: int
    detail: str = ""


class TaskFailed(msgspec.Struct, frozen=True):
    """A supervised background task raised; the engine kept running."""

    name: str
    error: str
    traceback: str
    ts_event: int


class AgentLifecycle(msgspec.Struct, frozen=True):
    agent_id: str
    symbol: str
    state: AgentState
    ts_event: int
    reason: str = ""
    event_id: str = msgspec.field(default_factory=new_event_id)


class Alert(msgspec.Struct, frozen=True):
    """Something a person should see; it stays until acknowledged (``engine/alerts.py``).

    ``severity``: ``info``, ``warning`` or ``critical``. A repeat of the same
    unacknowledged alert (same ``key``) raises ``count`` and ``ts_last``.
    """

    alert_id: int
    key: str
    severity: str
    source: str
    message: str
    ts_event: int
    ts_last: int
    count: int = 1
    acknowledged: bool = False


class AgentScored(msgspec.Struct, frozen=True):
    """The Watchtower's evaluation of one agent: its figures and verdict.

    ``verdict``: ``keep``, ``reap`` (and it was reaped), ``undecided`` (too few
    round trips yet). ``figures``: equity, pnl, realized_pnl, fees, position, trades,
    wins, hit_rate, sharpe, max_drawdown.
    """

    agent_id: str
    symbol: str
    ts_event: int
    verdict: str
    reason: str
    figures: dict[str, Any] = msgspec.field(default_factory=dict)


class AgentFault(msgspec.Struct, frozen=True):
    """An agent's decision failed (an exception or a timeout); counted, and an alert.

    ``paused`` is True when this fault paused the agent (too many in a row)."""

    agent_id: str
    symbol: str
    error: str
    consecutive: int
    ts_event: int
    paused: bool = False


class AgentDecision(msgspec.Struct, frozen=True):
    """What one agent decided on one bar, and why (also when it did nothing).

    ``action``: ``enter`` / ``exit`` (an order was sent), ``hold`` (in a position,
    keeping it), ``wait`` (flat, no entry), ``skip`` (no decision: warming up, an
    order in flight, paused, an error). ``detail`` holds the votes, Hedge weights,
    weighted shares, signals and the sizing breakdown.
    """

    agent_id: str
    symbol: str
    ts_event: int
    action: str
    reason: str
    qty: float = 0.0
    price: float | None = None
    client_order_id: str | None = None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class ForgeProgress(msgspec.Struct, frozen=True):
    """Progress of one forge task (stage, generation, fitness, timing)."""

    task_id: str
    symbol: str
    stage: ForgeStage
    ts_event: int
    generation: int = 0
    generations: int = 0
    best_fitness: float | None = None
    mean_fitness: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""
    agent_id: str | None = None


class SignalUpdate(msgspec.Struct, frozen=True):
    """A regime or micro-structure signal (TDA radar, influence, MCE).

    ``available`` is False when the signal could not be computed; ``reason``
    then says why. Consumers treat an unavailable signal as neutral, never as zero.
    """

    name: str
    symbol: str | None
    values: dict[str, float]
    ts_event: int
    compute_ms: float
    available: bool = True
    reason: str = ""
    flags: dict[str, bool] = msgspec.field(default_factory=dict)


class BookStatus(msgspec.Struct, frozen=True):
    """Integrity of one symbol's book: ``stale`` with a reason, or fresh again."""

    symbol: str
    stale: bool
    reason: str
    ts_event: int


class FeedStats(msgspec.Struct, frozen=True):
    """Market-data counters: messages per second, gaps, drops on the bus."""

    ts_event: int
    messages_per_s: float
    gaps: int
    dropped: int
    per_symbol: dict[str, Any] = msgspec.field(default_factory=dict)


class PortfolioState(msgspec.Struct, frozen=True):
    """NAV at mark prices, exposure and drawdown (published about once a second)."""

    ts_event: int
    nav: float
    realized_pnl: float
    unrealized_pnl: float
    exposure: float
    drawdown: float
    peak_nav: float
    day_pnl: float
    positions: tuple[Position, ...] = ()
    marks: dict[str, float] = msgspec.field(default_factory=dict)
    cash: float = 0.0
    fees: float = 0.0
    # Symbols whose mark is missing or older than risk.max_mid_age_ms: their positions
    # count at the last known price and new exposure on them is refused.
    stale_symbols: tuple[str, ...] = ()

    def net_position(self, symbol: str) -> float:
        return sum(p.qty for p in self.positions if p.symbol == symbol)


class RadarDiagram(msgspec.Struct, frozen=True):
    """The TDA radar's current persistence diagram, published with each live reading.

    ``diagrams`` maps ``"h0"``, ``"h1"``, ... to the finite (birth, death) pairs
    of the Vietoris-Rips diagram of the latest window's point cloud (log returns
    in basis points), the cloud whose landscape norms gave ``score``.
    ``ts_bar`` is the open time of the bar that completed the window.
    """

    ts_event: int
    ts_bar: int
    diagrams: dict[str, tuple[tuple[float, float], ...]]
    score: float | None = None
    regime_change_detected: bool = False


class RadarHistory(msgspec.Struct, frozen=True):
    """The radar's readings over the recent history it warmed up on (once, at start),
    so a chart of the score does not start empty: per bar its open time, score and
    hysteresis state (the values a live run over those bars would have published)."""

    ts_event: int
    ts_bar: tuple[int, ...]
    score: tuple[float, ...]
    detected: tuple[bool, ...]
