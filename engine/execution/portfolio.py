"""Portfolio: positions, cash, PnL, fees and exposure, built only from fills and marks.

Positions change only in ``on_fill``, at the fill's price and quantity (DESIGN
invariant 2). Marks are the venue's book mids; a position is valued at the
latest mark of its symbol or, when the symbol has never had one, at the last
price it traded at. How fresh a mark is matters to risk (a stale mark blocks
new exposure) but never makes a position count as zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from engine.execution.protocol import PositionSnapshot
from engine.model.events import Fill, PortfolioState
from engine.model.positions import Position


class Mark(NamedTuple):
    """A symbol's latest mark price and when it arrived (clock ns)."""

    price: float
    ts_ns: int


def apply_fill(pos: Position, fill: Fill) -> Position:
    """The position after ``fill`` (pure): average price on increase, realised PnL on decrease."""
    signed = fill.qty * fill.side.sign
    qty, avg, realized = pos.qty, pos.avg_price, pos.realized_pnl
    if qty == 0 or (qty > 0) == (signed > 0):
        new_qty = qty + signed
        avg = (avg * abs(qty) + fill.price * abs(signed)) / abs(new_qty)
        qty = new_qty
    else:
        closing = min(abs(signed), abs(qty))
        realized += closing * (fill.price - avg) * (1 if qty > 0 else -1)
        new_qty = qty + signed
        if abs(new_qty) < 1e-12:
            qty, avg = 0.0, 0.0
        elif (new_qty > 0) != (qty > 0):  # flipped: the remainder opens at the fill price
            qty, avg = new_qty, fill.price
        else:
            qty = new_qty
    fee = fill.fee if fill.fee_asset == "USDT" else 0.0
    return Position(pos.strategy_id, pos.symbol, qty, avg, realized - fee, pos.fees + fee)


class Portfolio:
    """Every strategy's positions, valued at mark; cash is derived, never tracked twice.

    ``cash`` = starting cash + realised PnL (after fees) - cost of the open positions,
    so ``nav`` = cash + value of the positions = starting cash + realised + unrealised.
    """

    def __init__(self, starting_cash: float) -> None:
        self.starting_cash = starting_cash
        self.positions: dict[tuple[str, str], Position] = {}
        self._marks: dict[str, Mark] = {}
        self._traded: dict[str, float] = {}  # symbol -> last fill price

    # -- inputs ------------------------------------------------------------------
    def on_fill(self, fill: Fill) -> Position:
        key = (fill.strategy_id, fill.symbol)
        pos = apply_fill(self.positions.get(key, Position(*key)), fill)
        self.positions[key] = pos
        self._traded[fill.symbol] = fill.price
        return pos

    def on_mark(self, symbol: str, price: float, ts_ns: int) -> None:
        self._marks[symbol] = Mark(price, ts_ns)

    def adopt(self, positions: Iterable[PositionSnapshot]) -> list[str]:
        """Take the venue's positions as the truth (reconcile); return the differences."""
        notes: list[str] = []
        theirs = {(p.strategy_id, p.symbol): p for p in positions}
        for key in set(self.positions) | set(theirs):
            mine = self.positions.get(key, Position(*key))
            venue = theirs.get(key)
            qty = venue.qty if venue else 0.0
            if abs(mine.qty - qty) > 1e-9:
                notes.append(f"position {key[0]} {key[1]}: engine {mine.qty:g} vs executor {qty:g}")
            self.positions[key] = Position(
                key[0],
                key[1],
                qty,
                venue.avg_price if venue else 0.0,
                venue.realized_pnl if venue else mine.realized_pnl,
                venue.fees if venue else mine.fees,
            )
        return notes

    # -- views ---------------------------------------------------------------------
    def mark(self, symbol: str) -> Mark | None:
        """The latest book mark of ``symbol`` (None if it never had one)."""
        return self._marks.get(symbol)

    def price(self, symbol: str) -> float | None:
        """The price ``symbol`` is valued at: its latest mark, else its last fill, else None."""
        mark = self._marks.get(symbol)
        if mark is not None:
            return mark.price
        return self._traded.get(symbol)

    def position(self, strategy_id: str, symbol: str) -> Position:
        return self.positions.get((strategy_id, symbol), Position(strategy_id, symbol))

    def net_qty(self, symbol: str) -> float:
        return sum(p.qty for (_, s), p in self.positions.items() if s == symbol)

    def _value_at(self, pos: Position) -> float:
        price = self.price(pos.symbol)
        return pos.avg_price if price is None else price

    def exposure(self) -> float:
        """Gross notional of every open position at its valuation price."""
        return sum(abs(p.qty) * self._value_at(p) for p in self.positions.values() if p.qty)

    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self.positions.values())

    def unrealized_pnl(self) -> float:
        return sum(p.unrealized_pnl(self._value_at(p)) for p in self.positions.values() if p.qty)

    def fees(self) -> float:
        return sum(p.fees for p in self.positions.values())

    @property
    def cash(self) -> float:
        cost = sum(p.qty * p.avg_price for p in self.positions.values() if p.qty)
        return self.starting_cash + self.realized_pnl() - cost

    def nav(self) -> float:
        """Net liquidation value at mark: starting cash + realised + unrealised PnL."""
        return self.starting_cash + self.realized_pnl() + self.unrealized_pnl()

    def strategy_pnl(self, strategy_id: str) -> float:
        """A strategy's realised (after fees) plus unrealised PnL over all its symbols."""
        return sum(
            p.realized_pnl + (p.unrealized_pnl(self._value_at(p)) if p.qty else 0.0)
            for (s, _), p in self.positions.items()
            if s == strategy_id
        )

    def strategies(self) -> set[str]:
        return {s for s, _ in self.positions}

    def held_symbols(self) -> set[str]:
        """Symbols in which some strategy has a position."""
        return {s for (_, s), p in self.positions.items() if p.qty}

    def state(
        self,
        ts_ns: int,
        peak_nav: float,
        day_start_nav: float,
        stale_symbols: tuple[str, ...] = (),
    ) -> PortfolioState:
        nav = self.nav()
        peak = max(peak_nav, nav)
        return PortfolioState(
            ts_event=ts_ns,
            nav=nav,
            realized_pnl=self.realized_pnl(),
            unrealized_pnl=self.unrealized_pnl(),
            exposure=self.exposure(),
            drawdown=1.0 - nav / peak if peak > 0 else 0.0,
            peak_nav=peak,
            day_pnl=nav - day_start_nav,
            positions=tuple(self.positions.values()),
            marks={s: m.price for s, m in self._marks.items()},
            cash=self.cash,
            fees=self.fees(),
            stale_symbols=stale_symbols,
        )
