"""AgentState: what an agent holds and has done, changed only by its fills.

Position, entry price, cash (the agent's virtual balance), fees, realised PnL
and the trade log move only in ``apply_fill``, at the fill's price, quantity
and fee (DESIGN invariant 2): partial fills add up, and a fill away from the
decision price is booked at the fill price. The Hedge weights and the
specialists' own long/flat states move once per bar (they are the ensemble's
memory, not the agent's holdings). The whole state round-trips through JSON
for the journal, so an agent resumes where it stopped.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any

from engine.model.enums import Side

MAX_TRADES_KEPT = 500
TRADES_JOURNALED = 100  # the journal's fills table holds the full history
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One round trip, from the first entry fill to the fill that flattened it."""

    entry_ts: int
    exit_ts: int
    qty: float
    entry_price: float
    exit_price: float
    pnl: float  # after the fees of both legs
    fees: float
    exit_reason: str

    @property
    def held_bars(self) -> float:
        return (self.exit_ts - self.entry_ts) / 60e9


@dataclass
class AgentState:
    """An agent's book: fill-driven holdings plus its ensemble's per-bar memory."""

    agent_id: str
    symbol: str
    capital: float
    cash: float
    qty: float = 0.0
    entry_price: float = 0.0
    entry_ts: int = 0
    entry_width: float = 0.0  # the label barrier width (log) when the position opened
    # The open trade so far: its entry fees, largest size, and its exits.
    entry_fees: float = 0.0
    peak_qty: float = 0.0
    exit_gross: float = 0.0
    exit_fees: float = 0.0
    exit_qty: float = 0.0
    exit_notional: float = 0.0
    fees: float = 0.0
    realized_pnl: float = 0.0
    n_trades: int = 0
    n_wins: int = 0
    trades: deque[TradeRecord] = field(default_factory=lambda: deque(maxlen=MAX_TRADES_KEPT))
    # The order in flight (one at a time) and what the agent meant by it.
    pending_order: str | None = None
    pending_reason: str = ""
    pending_width: float = 0.0
    # The ensemble's memory (per bar, not per fill).
    weights: list[float] = field(default_factory=list)
    specialist_positions: list[int] = field(default_factory=list)
    last_close: float | None = None
    bars_seen: int = 0
    consecutive_errors: int = 0
    errors: int = 0

    # -- fills: the only place holdings change ----------------------------------------
    def apply_fill(
        self, side: Side, qty: float, price: float, fee: float, ts: int
    ) -> TradeRecord | None:
        """Book one fill; return the trade it completed, if it flattened the position."""
        signed = qty * side.sign
        self.cash -= signed * price + fee
        self.fees += fee
        if self.flat or (self.qty > 0) == (signed > 0):
            if self.flat:
                self._open_trade(ts)
            new_qty = self.qty + signed
            self.entry_price = (self.entry_price * abs(self.qty) + price * qty) / abs(new_qty)
            self.qty = new_qty
            self.peak_qty = max(self.peak_qty, abs(new_qty))
            self.entry_fees += fee
            self.realized_pnl -= fee
            return None
        closing = min(qty, abs(self.qty))
        gross = closing * (price - self.entry_price) * (1.0 if self.qty > 0 else -1.0)
        self.realized_pnl += gross - fee
        self.exit_gross += gross
        self.exit_fees += fee
        self.exit_qty += closing
        self.exit_notional += closing * price
        previous = self.qty
        self.qty += signed
        if abs(self.qty) > _EPS and (self.qty > 0) == (previous > 0):
            return None  # a partial exit: the trade goes on
        trade = TradeRecord(
            entry_ts=self.entry_ts,
            exit_ts=ts,
            qty=self.peak_qty,
            entry_price=self.entry_price,
            exit_price=self.exit_notional / self.exit_qty,
            pnl=self.exit_gross - self.entry_fees - self.exit_fees,
            fees=self.entry_fees + self.exit_fees,
            exit_reason=self.pending_reason or "fill",
        )
        self.trades.append(trade)
        self.n_trades += 1
        self.n_wins += trade.pnl > 0
        if abs(self.qty) > _EPS:  # through zero: the remainder opens a new trade here
            remainder = self.qty
            self._open_trade(ts)
            self.qty, self.entry_price, self.peak_qty = remainder, price, abs(remainder)
        else:
            self.qty, self.entry_price = 0.0, 0.0
        return trade

    def reconcile(self, venue_qty: float, price: float, ts: int) -> TradeRecord | None:
        """Adopt the venue's position after a restart found them apart (an operator's resume).

        Booked as one fill of the difference at ``price``, without a fee, through the
        same path as every fill, and named ``reconciled`` in the trade log.
        """
        difference = venue_qty - self.qty
        if abs(difference) < _EPS:
            return None
        self.pending_reason = "reconciled with the venue"
        side = Side.BUY if difference > 0 else Side.SELL
        return self.apply_fill(side, abs(difference), price, 0.0, ts)

    def _open_trade(self, ts: int) -> None:
        self.entry_ts, self.entry_width = ts, self.pending_width
        self.entry_fees = self.exit_gross = self.exit_fees = 0.0
        self.exit_qty = self.exit_notional = self.peak_qty = 0.0

    # -- views ---------------------------------------------------------------------------
    @property
    def flat(self) -> bool:
        return abs(self.qty) < _EPS

    def equity(self, mark: float | None) -> float:
        """Cash plus the position at ``mark`` (at its entry price when there is no mark)."""
        price = mark if mark is not None else self.entry_price
        return self.cash + self.qty * price

    def unrealized_pnl(self, mark: float | None) -> float:
        if self.flat or mark is None:
            return 0.0
        return self.qty * (mark - self.entry_price)

    # -- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Every field (lists copied) and the latest trades (saved on every bar: no deep copy
        of the whole trade log)."""
        data = {name: getattr(self, name) for name in _STATE_FIELDS}
        data["weights"] = list(self.weights)
        data["specialist_positions"] = list(self.specialist_positions)
        start = max(0, len(self.trades) - TRADES_JOURNALED)
        data["trades"] = [
            {name: getattr(t, name) for name in _TRADE_FIELDS}
            for t in itertools.islice(self.trades, start, None)
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentState:
        known = set(cls.__dataclass_fields__)
        fields = {k: v for k, v in data.items() if k in known and k != "trades"}
        state = cls(**fields)
        state.trades = deque(
            (TradeRecord(**t) for t in data.get("trades", [])), maxlen=MAX_TRADES_KEPT
        )
        return state


_TRADE_FIELDS = tuple(f.name for f in fields(TradeRecord))
_STATE_FIELDS = tuple(f.name for f in fields(AgentState) if f.name != "trades")
