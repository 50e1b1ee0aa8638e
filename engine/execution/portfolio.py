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
from engine.model.enums import Side
from engine.model.events import Fill, PortfolioState
from engine.model.positions import Position
from engine.risk.manager import RiskInputs


class Mark(NamedTuple):
    """A symbol's latest mark price and when it arrived (clock ns)."""

    price: float
    ts_ns: int


def apply_fill(pos: Position, fill: Fill) -> Position:
    """The position after ``fill`` (pure): average price on increase, realised PnL on decrease."""
    signed = fill.qty if fill.side is Side.BUY else -fill.qty
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
    The pre-trade check reads NAV and exposure for every order, so both are kept
    up to date as fills and marks arrive (per symbol: net and gross quantity, cost =
    sum of qty x average price, and the price it is valued at) instead of being
    summed over every position each time; ``state()`` recomputes everything from
    the positions about once a second, which also clears any float drift.
    """

    def __init__(self, starting_cash: float) -> None:
        self.starting_cash = starting_cash
        self.positions: dict[tuple[str, str], Position] = {}
        self._by_strategy: dict[str, dict[str, Position]] = {}
        self._marks: dict[str, Mark] = {}
        self._traded: dict[str, float] = {}  # symbol -> last fill price
        self._net: dict[str, float] = {}
        self._gross: dict[str, float] = {}
        self._cost: dict[str, float] = {}  # symbol -> sum of qty x average price
        self._realized = 0.0
        self._fees = 0.0
        self._unrealized = 0.0  # sum over symbols of net x price - cost
        self._exposure = 0.0  # sum over symbols of gross x price

    # -- inputs ------------------------------------------------------------------
    def on_fill(self, fill: Fill) -> Position:
        key = (fill.strategy_id, fill.symbol)
        old = self.positions.get(key)
        if old is None:
            old = Position(*key)
        pos = apply_fill(old, fill)
        symbol = fill.symbol
        mark = self._marks.get(symbol)
        if mark is None and symbol not in self._traded and self._gross.get(symbol):
            # Held (adopted at reconcile) but never priced: valued at cost until now.
            self._revalue(symbol, -1.0)
            self._set(pos, old)
            self._traded[symbol] = fill.price
            self._revalue(symbol, 1.0)
            return pos
        before = mark.price if mark is not None else self._traded.get(symbol, 0.0)
        after = mark.price if mark is not None else fill.price
        self._traded[symbol] = fill.price
        # The symbol's share of unrealised PnL and exposure: out at the old figures, in at the new.
        unrealized, exposure = self._unrealized, self._exposure
        if self._gross.get(symbol):
            unrealized -= self._net[symbol] * before - self._cost[symbol]
            exposure -= self._gross[symbol] * before
        self._set(pos, old)
        gross = self._gross[symbol]
        if gross:
            unrealized += self._net[symbol] * after - self._cost[symbol]
            exposure += gross * after
        self._unrealized, self._exposure = unrealized, exposure
        return pos

    def on_mark(self, symbol: str, price: float, ts_ns: int) -> None:
        self._revalue(symbol, -1.0)
        self._marks[symbol] = Mark(price, ts_ns)
        self._revalue(symbol, 1.0)

    def _revalue(self, symbol: str, sign: float) -> None:
        """Add (+1) or take out (-1) the symbol's share of the unrealised PnL and exposure."""
        gross = self._gross.get(symbol)
        if not gross:
            return
        mark = self._marks.get(symbol)
        price = mark.price if mark is not None else self._traded.get(symbol)
        if price is None:  # never marked nor traded (adopted at reconcile): at cost
            self._exposure += sign * sum(
                abs(p.qty) * p.avg_price for (_, s), p in self.positions.items() if s == symbol
            )
            return
        self._unrealized += sign * (self._net[symbol] * price - self._cost[symbol])
        self._exposure += sign * gross * price

    def _set(self, pos: Position, old: Position) -> None:
        symbol = pos.symbol
        self.positions[(pos.strategy_id, symbol)] = pos
        mine = self._by_strategy.get(pos.strategy_id)
        if mine is None:
            mine = self._by_strategy[pos.strategy_id] = {}
        mine[symbol] = pos
        self._net[symbol] = self._net.get(symbol, 0.0) + pos.qty - old.qty
        self._gross[symbol] = self._gross.get(symbol, 0.0) + abs(pos.qty) - abs(old.qty)
        self._cost[symbol] = (
            self._cost.get(symbol, 0.0) + pos.qty * pos.avg_price - old.qty * old.avg_price
        )
        self._realized += pos.realized_pnl - old.realized_pnl
        self._fees += pos.fees - old.fees

    def adopt(self, positions: Iterable[PositionSnapshot]) -> list[str]:
        """Take the venue's positions as the truth (reconcile); return the differences."""
        notes: list[str] = []
        theirs = {(p.strategy_id, p.symbol): p for p in positions}
        adopted = []
        for key in set(self.positions) | set(theirs):
            mine = self.positions.get(key, Position(*key))
            venue = theirs.get(key)
            qty = venue.qty if venue else 0.0
            if abs(mine.qty - qty) > 1e-9:
                notes.append(f"position {key[0]} {key[1]}: engine {mine.qty:g} vs executor {qty:g}")
            adopted.append(
                Position(
                    key[0],
                    key[1],
                    qty,
                    venue.avg_price if venue else 0.0,
                    venue.realized_pnl if venue else mine.realized_pnl,
                    venue.fees if venue else mine.fees,
                )
            )
        self._rebuild(adopted)
        return notes

    def _rebuild(self, positions: Iterable[Position]) -> None:
        """Every aggregate from the positions (after a reconcile; also clears float drift)."""
        self.positions, self._by_strategy = {}, {}
        self._net, self._gross, self._cost = {}, {}, {}
        self._realized = self._fees = self._unrealized = self._exposure = 0.0
        for pos in positions:
            self._set(pos, Position(pos.strategy_id, pos.symbol))
        for symbol in self._gross:
            self._revalue(symbol, 1.0)

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
        return self._net.get(symbol, 0.0)

    def exposure(self) -> float:
        """Gross notional of every open position at its valuation price."""
        return self._exposure

    def realized_pnl(self) -> float:
        return self._realized

    def unrealized_pnl(self) -> float:
        return self._unrealized

    def fees(self) -> float:
        return self._fees

    @property
    def cash(self) -> float:
        return self.starting_cash + self._realized - sum(self._cost.values())

    def nav(self) -> float:
        """Net liquidation value at mark: starting cash + realised + unrealised PnL."""
        return self.starting_cash + self._realized + self._unrealized

    def strategy_pnl(self, strategy_id: str) -> float:
        """A strategy's realised (after fees) plus unrealised PnL over all its symbols."""
        total = 0.0
        marks, traded = self._marks, self._traded
        for symbol, p in self._by_strategy.get(strategy_id, {}).items():
            total += p.realized_pnl
            if p.qty:
                mark = marks.get(symbol)
                price = mark.price if mark is not None else traded.get(symbol)
                if price is not None:
                    total += p.qty * (price - p.avg_price)
        return total

    def risk_inputs(self, strategy_id: str, symbol: str) -> RiskInputs:
        """Everything a pre-trade check needs, read once (this runs for every order)."""
        mark = self._marks.get(symbol)
        price = mark.price if mark is not None else self._traded.get(symbol)
        pos = self.positions.get((strategy_id, symbol))
        return (
            None if mark is None else mark.price,
            0 if mark is None else mark.ts_ns,
            price,
            0.0 if pos is None else pos.qty,
            self._net.get(symbol, 0.0),
            self._exposure,
            self.starting_cash + self._realized + self._unrealized,
        )

    def strategies(self) -> set[str]:
        return set(self._by_strategy)

    def held_symbols(self) -> set[str]:
        """Symbols in which some strategy has a position."""
        return {s for s, gross in self._gross.items() if gross > 1e-12}

    def state(
        self,
        ts_ns: int,
        peak_nav: float,
        day_start_nav: float,
        stale_symbols: tuple[str, ...] = (),
    ) -> PortfolioState:
        self._rebuild(list(self.positions.values()))  # about once a second: drop float drift
        nav = self.nav()
        peak = max(peak_nav, nav)
        return PortfolioState(
            ts_event=ts_ns,
            nav=nav,
            realized_pnl=self._realized,
            unrealized_pnl=self.unrealized_pnl(),
            exposure=self.exposure(),
            drawdown=1.0 - nav / peak if peak > 0 else 0.0,
            peak_nav=peak,
            day_pnl=nav - day_start_nav,
            positions=tuple(self.positions.values()),
            marks={s: m.price for s, m in self._marks.items()},
            cash=self.cash,
            fees=self._fees,
            stale_symbols=stale_symbols,
        )
