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


class _SymbolBook:
    """One symbol: its positions summed over every strategy and the prices it is valued at."""

    __slots__ = ("cost", "gross", "mark", "mark_ts_ns", "net", "traded")

    def __init__(self) -> None:
        self.net = 0.0  # signed quantity over every strategy
        self.gross = 0.0  # sum of |quantity|
        self.cost = 0.0  # sum of quantity x average price
        self.mark: float | None = None  # the latest book mid
        self.mark_ts_ns = 0  # when it arrived (clock ns)
        self.traded: float | None = None  # the last fill price

    @property
    def price(self) -> float | None:
        """What the symbol is valued at: its mark, else its last fill, else None."""
        return self.mark if self.mark is not None else self.traded


class Portfolio:
    """Every strategy's positions, valued at mark; cash is derived, never tracked twice.

    ``cash`` = starting cash + realised PnL (after fees) - cost of the open positions,
    so ``nav`` = cash + value of the positions = starting cash + realised + unrealised.
    The pre-trade check reads NAV and exposure for every order, so both are kept
    up to date as fills and marks arrive (one book per symbol: net and gross
    quantity, cost, and the prices it is valued at) instead of being summed over
    every position each time; ``state()`` recomputes everything from the positions
    about once a second, which also clears any float drift.
    """

    def __init__(self, starting_cash: float) -> None:
        self.starting_cash = starting_cash
        self.positions: dict[tuple[str, str], Position] = {}
        self._by_strategy: dict[str, dict[str, Position]] = {}
        self._books: dict[str, _SymbolBook] = {}
        self._realized = 0.0
        self._fees = 0.0
        self._unrealized = 0.0  # sum over symbols of net x price - cost
        self._exposure = 0.0  # sum over symbols of gross x price

    # -- inputs ------------------------------------------------------------------
    def on_fill(self, fill: Fill) -> Position:
        symbol = fill.symbol
        key = (fill.strategy_id, symbol)
        old = self.positions.get(key)
        if old is None:
            old = Position(*key)
        pos = apply_fill(old, fill)
        book = self._book(symbol)
        self._revalue(symbol, book, -1.0)
        self._set(pos, old, book)
        book.traded = fill.price
        self._revalue(symbol, book, 1.0)
        return pos

    def on_mark(self, symbol: str, price: float, ts_ns: int) -> None:
        book = self._book(symbol)
        self._revalue(symbol, book, -1.0)
        book.mark, book.mark_ts_ns = price, ts_ns
        self._revalue(symbol, book, 1.0)

    def _book(self, symbol: str) -> _SymbolBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _SymbolBook()
        return book

    def _revalue(self, symbol: str, book: _SymbolBook, sign: float) -> None:
        """Add (+1) or take out (-1) the symbol's share of the unrealised PnL and exposure."""
        if not book.gross:
            return
        price = book.price
        if price is None:  # never marked nor traded (adopted at reconcile): at cost
            self._exposure += sign * sum(
                abs(p.qty) * p.avg_price for (_, s), p in self.positions.items() if s == symbol
            )
            return
        self._unrealized += sign * (book.net * price - book.cost)
        self._exposure += sign * book.gross * price

    def _set(self, pos: Position, old: Position, book: _SymbolBook) -> None:
        self.positions[(pos.strategy_id, pos.symbol)] = pos
        mine = self._by_strategy.get(pos.strategy_id)
        if mine is None:
            mine = self._by_strategy[pos.strategy_id] = {}
        mine[pos.symbol] = pos
        book.net += pos.qty - old.qty
        book.gross += abs(pos.qty) - abs(old.qty)
        book.cost += pos.qty * pos.avg_price - old.qty * old.avg_price
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
        for book in self._books.values():  # the prices stay
            book.net = book.gross = book.cost = 0.0
        self._realized = self._fees = self._unrealized = self._exposure = 0.0
        for pos in positions:
            self._set(pos, Position(pos.strategy_id, pos.symbol), self._book(pos.symbol))
        for symbol, book in self._books.items():
            self._revalue(symbol, book, 1.0)

    # -- views ---------------------------------------------------------------------
    def mark(self, symbol: str) -> Mark | None:
        """The latest book mark of ``symbol`` (None if it never had one)."""
        book = self._books.get(symbol)
        if book is None or book.mark is None:
            return None
        return Mark(book.mark, book.mark_ts_ns)

    def price(self, symbol: str) -> float | None:
        """The price ``symbol`` is valued at: its latest mark, else its last fill, else None."""
        book = self._books.get(symbol)
        return None if book is None else book.price

    def position(self, strategy_id: str, symbol: str) -> Position:
        return self.positions.get((strategy_id, symbol), Position(strategy_id, symbol))

    def net_qty(self, symbol: str) -> float:
        book = self._books.get(symbol)
        return 0.0 if book is None else book.net

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
        return self.starting_cash + self._realized - sum(b.cost for b in self._books.values())

    def nav(self) -> float:
        """Net liquidation value at mark: starting cash + realised + unrealised PnL."""
        return self.starting_cash + self._realized + self._unrealized

    def strategy_pnl(self, strategy_id: str) -> float:
        """A strategy's realised (after fees) plus unrealised PnL over all its symbols."""
        total = 0.0
        books = self._books
        for symbol, p in self._by_strategy.get(strategy_id, {}).items():
            total += p.realized_pnl
            if p.qty:
                price = books[symbol].price
                if price is not None:
                    total += p.qty * (price - p.avg_price)
        return total

    def risk_inputs(self, strategy_id: str, symbol: str) -> RiskInputs:
        """Everything a pre-trade check needs, read once (this runs for every order)."""
        pos = self.positions.get((strategy_id, symbol))
        qty = 0.0 if pos is None else pos.qty
        nav = self.starting_cash + self._realized + self._unrealized
        book = self._books.get(symbol)
        if book is None:
            return (None, 0, None, qty, 0.0, self._exposure, nav)
        return (book.mark, book.mark_ts_ns, book.price, qty, book.net, self._exposure, nav)

    def strategies(self) -> set[str]:
        return set(self._by_strategy)

    def held_symbols(self) -> set[str]:
        """Symbols in which some strategy has a position."""
        return {s for s, book in self._books.items() if book.gross > 1e-12}

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
            marks={s: b.mark for s, b in self._books.items() if b.mark is not None},
            cash=self.cash,
            fees=self._fees,
            stale_symbols=stale_symbols,
        )
