"""Agent: one registered bundle trading one symbol, deciding once per closed bar.

On each bar the agent (1) updates its Hedge weights from the return each
specialist's own vote earned on the bar that just closed, (2) tallies this
bar's votes with those weights (``engine.forge.ensemble``, the rule the
gauntlet judged), (3) checks its exit rules when it holds a position, or
sizes an entry by fractional Kelly when the vote says enter. The result is a
``Plan``; the Arena sends its order through the order gateway as the agent's
own strategy id. Holdings change only in ``on_report``, from fills.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.agents.config import AgentsConfig
from engine.agents.feature_hub import FeatureWindow
from engine.agents.hedge import equal_weights, hedge_update, next_position, vote_loss
from engine.agents.inference import Inference, SpecialistRunner
from engine.agents.rules import Barriers, adaptive_timeout_bars, exit_reason
from engine.agents.signal_board import SignalSnapshot
from engine.agents.sizing import entry_size
from engine.agents.state import AgentState, TradeRecord
from engine.forge.ensemble import ENTRY, EXIT, HOLD, tally
from engine.forge.registry import AgentBundle
from engine.model.enums import AgentState as Lifecycle
from engine.model.enums import OrderStatus, Side
from engine.model.events import Fill, OrderUpdate

CLASS_NAMES = {HOLD: "HOLD", ENTRY: "ENTRY", EXIT: "EXIT"}
_TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


@dataclass(frozen=True, slots=True)
class Plan:
    """What an agent wants on this bar: an order (enter / exit) or why there is none."""

    action: str  # enter, exit, hold, wait, skip
    reason: str
    qty: float = 0.0
    side: Side | None = None
    width: float = 0.0  # the barrier width an entry opens with
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def sends_order(self) -> bool:
        return self.action in ("enter", "exit") and self.qty > 0


@dataclass(frozen=True, slots=True)
class Market:
    """The venue facts an entry needs: lot, minimum, and the strategy's position limit."""

    lot_size: float
    min_qty: float
    max_position_notional: float
    regime_thresholds: tuple[float, float]  # the radar's exit and enter thresholds


class Agent:
    """A live agent: its bundle, its feature window and its fill-driven state."""

    def __init__(
        self,
        bundle: AgentBundle,
        window: FeatureWindow,
        config: AgentsConfig,
        state: AgentState | None = None,
    ) -> None:
        self.bundle = bundle
        self.id = bundle.agent_id
        self.symbol = bundle.symbol
        self.window = window
        self._config = config
        self.runner = SpecialistRunner(bundle)
        self.kinds = tuple(s.kind for s in bundle.specialists)
        self.barriers = Barriers.from_metadata(dict(bundle.metadata.get("labels") or {}))
        self.trade_stats: dict[str, Any] = dict(bundle.metadata.get("trade_stats") or {})
        self.timeout_bars = adaptive_timeout_bars(self.trade_stats, config.exits)
        n = len(bundle.specialists)
        self.state = state or AgentState(
            self.id, self.symbol, config.capital_per_agent, config.capital_per_agent
        )
        if len(self.state.weights) != n:
            self.state.weights = equal_weights(n)
            self.state.specialist_positions = [0] * n
        self.lifecycle = Lifecycle.ACTIVE
        self.pause_reason = ""

    @property
    def trading(self) -> bool:
        return self.lifecycle is Lifecycle.ACTIVE

    def ready(self) -> str | None:
        """None when the window can feed a decision, else why not."""
        have = self.window.finite_rows(self.bundle.feature_names)
        need = self.runner.rows_needed
        if have < need:
            return f"features warming up ({have}/{need} rows)"
        return None

    # -- the per-bar decision ----------------------------------------------------------
    def infer(self) -> Inference:
        """The specialists' votes on the latest bar (CPU work: the Arena runs it off the loop)."""
        return self.runner.run(
            self.window.latest(self.bundle.feature_names, self.runner.rows_needed)
        )

    def decide(self, inference: Inference, signals: SignalSnapshot, market: Market) -> Plan:
        """Learn from the last bar, tally this one, and plan (the state's memory moves here)."""
        st, cfg = self.state, self._config
        bar_return = self.window.bar_return
        if bar_return is not None:
            losses = [
                vote_loss(p, bar_return, cfg.hedge_return_scale) for p in st.specialist_positions
            ]
            st.weights = hedge_update(st.weights, losses, cfg.hedge_eta)
        st.specialist_positions = [
            next_position(p, v)
            for p, v in zip(st.specialist_positions, inference.votes, strict=True)
        ]
        st.bars_seen += 1
        close = self.window.closes[-1]
        st.last_close = close
        votes = tally(inference.votes, st.weights)
        detail: dict[str, Any] = {
            "votes": [CLASS_NAMES[v] for v in inference.votes],
            "kinds": list(self.kinds),
            "weights": list(st.weights),
            "shares": list(votes.shares),
            "signals": signals.as_dict(),
        }
        if st.pending_order is not None:
            return Plan("skip", f"order {st.pending_order} in flight", detail=detail)
        if not st.flat:
            reason = exit_reason(
                qty=st.qty,
                entry_price=st.entry_price,
                entry_ts=st.entry_ts,
                entry_width=st.entry_width,
                close=close,
                bar_close_ts=self.window.bar_close_ts,
                tally=votes,
                signals=signals,
                barriers=self.barriers,
                timeout_bars=self.timeout_bars,
                config=cfg.exits,
            )
            if reason is None:
                return Plan("hold", "no exit rule holds", detail=detail)
            return Plan("exit", reason, qty=st.qty, side=Side.SELL, detail=detail)
        if not votes.enters:
            return Plan("wait", f"no entry vote (top {CLASS_NAMES[votes.top]})", detail=detail)
        width = self.barriers.width(self.window.ewm_vol(self.barriers.vol_span))
        if not math.isfinite(width) or width <= 0:
            return Plan("skip", "volatility for the barriers still warming up", detail=detail)
        p_win, p_loss, payoff = self._odds(inference)
        size = entry_size(
            equity=st.equity(close),
            cash=st.cash,
            price=close,
            probability=p_win,
            loss_probability=p_loss,
            payoff_ratio=payoff,
            signals=signals,
            config=cfg.sizing,
            regime_thresholds=market.regime_thresholds,
            lot_size=market.lot_size,
            min_qty=market.min_qty,
            max_position_notional=market.max_position_notional,
        )
        detail["sizing"] = size.as_dict()
        if size.qty <= 0:
            return Plan("wait", f"entry voted, no size ({size.limited_by})", detail=detail)
        return Plan("enter", "entry vote", qty=size.qty, side=Side.BUY, width=width, detail=detail)

    def _odds(self, inference: Inference) -> tuple[float, float, float]:
        """(P(win), P(loss), payoff ratio) of an entry now.

        With boosters: their Hedge-weighted calibrated P(ENTRY) and P(EXIT) (the label's
        upper and lower barrier), paying the barrier ratio. Trees have no probabilities:
        a bundle of trees alone bets the gauntlet's holdout win rate and payoff ratio.
        """
        pairs = [
            (w, p)
            for w, p in zip(self.state.weights, inference.probabilities, strict=True)
            if p is not None
        ]
        total = sum(w for w, _ in pairs)
        if pairs and total > 0:
            p_win = sum(w * p[ENTRY] for w, p in pairs) / total
            p_loss = sum(w * p[EXIT] for w, p in pairs) / total
            return p_win, p_loss, self.barriers.payoff_ratio
        win_rate = float(self.trade_stats.get("win_rate", 0.0) or 0.0)
        payoff = float(self.trade_stats.get("payoff_ratio", 0.0) or 0.0)
        return win_rate, 1.0 - win_rate, payoff

    def order_sent(self, client_order_id: str, plan: Plan) -> None:
        self.state.pending_order = client_order_id
        self.state.pending_reason = plan.reason
        self.state.pending_width = plan.width

    def order_failed(self) -> None:
        """The order never reached the venue (refused or the link is down)."""
        self.state.pending_order = None

    # -- reports: the only place holdings change ----------------------------------------
    def on_report(self, update: OrderUpdate, fill: Fill | None) -> TradeRecord | None:
        trade = None
        if fill is not None:
            fee = fill.fee if fill.fee_asset == "USDT" else 0.0
            trade = self.state.apply_fill(fill.side, fill.qty, fill.price, fee, fill.ts_event)
        if update.client_order_id == self.state.pending_order and update.status in _TERMINAL:
            self.state.pending_order = None
        return trade

    # -- pause / errors -----------------------------------------------------------------
    def pause(self, reason: str) -> None:
        self.lifecycle, self.pause_reason = Lifecycle.PAUSED, reason

    def resume(self) -> None:
        self.lifecycle, self.pause_reason = Lifecycle.ACTIVE, ""
        self.state.consecutive_errors = 0

    def record_error(self) -> bool:
        """Count a failed decision; True when it is one too many in a row (pause the agent)."""
        self.state.errors += 1
        self.state.consecutive_errors += 1
        return self.state.consecutive_errors >= self._config.max_consecutive_errors

    def record_success(self) -> None:
        self.state.consecutive_errors = 0
