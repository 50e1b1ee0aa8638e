"""Portfolio: positions from fills only, NAV at mark, cash derived, unmarked symbols at their last price."""

from __future__ import annotations

import random

import pytest

from engine.execution.portfolio import Portfolio, apply_fill
from engine.execution.protocol import PositionSnapshot
from engine.model.enums import Side
from engine.model.events import Fill
from engine.model.positions import Position


def _fill(
    i: int,
    side: Side,
    qty: float,
    price: float,
    *,
    strategy: str = "s",
    symbol: str = "BTC/USDT",
    fee: float = 0.0,
) -> Fill:
    return Fill(f"E{i}", f"c{i}", strategy, symbol, side, qty, price, fee, "USDT", None, i, i)


def _loop_position(fills: list[tuple[int, float, float]]) -> tuple[float, float]:
    """Reference: average-cost accounting, one unit at a time."""
    qty, cost, realized = 0.0, 0.0, 0.0
    for sign, q, px in fills:
        for _ in range(round(q * 10)):
            unit = 0.1 * sign
            if qty == 0 or (qty > 0) == (unit > 0):
                cost += unit * px
                qty += unit
            else:
                avg = cost / qty
                realized += 0.1 * (px - avg) * (1 if qty > 0 else -1)
                qty += unit
                cost = avg * qty
            if abs(qty) < 1e-9:
                qty, cost = 0.0, 0.0
    return qty, realized


def test_apply_fill_matches_a_unit_by_unit_reference_on_random_fills() -> None:
    rng = random.Random(3)
    for _ in range(200):
        fills = [
            (rng.choice((1, -1)), rng.randint(1, 20) / 10, round(rng.uniform(90, 110), 1))
            for _ in range(rng.randint(1, 12))
        ]
        pos = Position("s", "X")
        for i, (sign, q, px) in enumerate(fills):
            pos = apply_fill(pos, _fill(i, Side.BUY if sign > 0 else Side.SELL, q, px, symbol="X"))
        ref_qty, ref_realized = _loop_position(fills)
        assert pos.qty == pytest.approx(ref_qty, abs=1e-9)
        assert pos.realized_pnl == pytest.approx(ref_realized, abs=1e-6)


def test_nav_is_cash_plus_positions_at_mark_and_fees_come_off_realised_pnl() -> None:
    pf = Portfolio(10_000.0)
    pf.on_fill(_fill(1, Side.BUY, 2.0, 100.0, fee=0.5))
    pf.on_fill(_fill(2, Side.SELL, 1.0, 110.0, fee=0.25))
    pf.on_mark("BTC/USDT", 120.0, 1)
    pos = pf.position("s", "BTC/USDT")
    assert pos.qty == pytest.approx(1.0)
    assert pos.realized_pnl == pytest.approx(10.0 - 0.75)
    assert pf.fees() == pytest.approx(0.75)
    # Cash: 10,000 - 200 - 0.5 + 110 - 0.25.
    assert pf.cash == pytest.approx(9_909.25)
    assert pf.nav() == pytest.approx(pf.cash + 1.0 * 120.0)
    assert pf.nav() == pytest.approx(10_000.0 + pf.realized_pnl() + pf.unrealized_pnl())
    assert pf.exposure() == pytest.approx(120.0)


def test_a_position_without_a_mark_counts_at_its_last_traded_price_not_zero() -> None:
    pf = Portfolio(1_000.0)
    pf.on_fill(_fill(1, Side.BUY, 1.0, 50.0, symbol="SOL/USDT"))
    pf.on_fill(_fill(2, Side.SELL, 0.5, 40.0, strategy="t", symbol="SOL/USDT"))
    assert pf.mark("SOL/USDT") is None
    assert pf.price("SOL/USDT") == pytest.approx(40.0)
    assert pf.exposure() == pytest.approx(1.0 * 40.0 + 0.5 * 40.0)
    assert pf.unrealized_pnl() == pytest.approx(1.0 * (40.0 - 50.0))


def test_an_old_mark_keeps_valuing_the_position_at_its_last_price() -> None:
    pf = Portfolio(0.0)
    pf.on_fill(_fill(1, Side.BUY, 1.0, 100.0))
    pf.on_mark("BTC/USDT", 90.0, 5)
    pf.on_fill(_fill(2, Side.BUY, 1.0, 95.0, strategy="t"))
    assert pf.mark("BTC/USDT") == (90.0, 5)
    assert pf.exposure() == pytest.approx(180.0)  # the mark wins over a later fill price
    assert pf.net_qty("BTC/USDT") == pytest.approx(2.0)
    assert pf.held_symbols() == {"BTC/USDT"}


def test_strategy_pnl_counts_only_that_strategy() -> None:
    pf = Portfolio(0.0)
    pf.on_fill(_fill(1, Side.BUY, 1.0, 100.0, strategy="a", fee=1.0))
    pf.on_fill(_fill(2, Side.SELL, 1.0, 100.0, strategy="b"))
    pf.on_mark("BTC/USDT", 110.0, 1)
    assert pf.strategy_pnl("a") == pytest.approx(10.0 - 1.0)
    assert pf.strategy_pnl("b") == pytest.approx(-10.0)
    assert pf.strategies() == {"a", "b"}


def test_adopting_the_venues_positions_reports_each_difference() -> None:
    pf = Portfolio(0.0)
    pf.on_fill(_fill(1, Side.BUY, 1.0, 100.0, strategy="a"))
    notes = pf.adopt([PositionSnapshot("b", "BTC/USDT", -2.0, 101.0, 3.0, 0.5)])
    assert sorted(notes) == [
        "position a BTC/USDT: engine 1 vs executor 0",
        "position b BTC/USDT: engine 0 vs executor -2",
    ]
    assert pf.position("a", "BTC/USDT").qty == 0.0
    assert pf.position("b", "BTC/USDT") == Position("b", "BTC/USDT", -2.0, 101.0, 3.0, 0.5)


def test_nav_and_exposure_kept_up_to_date_equal_a_sum_over_the_positions() -> None:
    rng = random.Random(11)
    pf = Portfolio(50_000.0)
    symbols = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
    for i in range(2_000):
        symbol = rng.choice(symbols)
        if rng.random() < 0.4:
            pf.on_mark(symbol, rng.uniform(90, 110), i)
        else:
            side = rng.choice((Side.BUY, Side.SELL))
            pf.on_fill(
                _fill(i, side, rng.randint(1, 30) / 10, rng.uniform(90, 110),
                      strategy=rng.choice("abc"), symbol=symbol, fee=rng.uniform(0, 0.1))
            )  # fmt: skip
        if i % 97 == 0 or i == 1_999:
            held = [p for p in pf.positions.values() if p.qty]
            price = {p.symbol: pf.price(p.symbol) or p.avg_price for p in held}
            unrealized = sum(p.qty * (price[p.symbol] - p.avg_price) for p in held)
            realized = sum(p.realized_pnl for p in pf.positions.values())
            assert pf.unrealized_pnl() == pytest.approx(unrealized, abs=1e-6)
            assert pf.exposure() == pytest.approx(
                sum(abs(p.qty) * price[p.symbol] for p in held), abs=1e-6
            )
            assert pf.nav() == pytest.approx(50_000.0 + realized + unrealized, abs=1e-6)
            for s in "abc":
                mine = [p for p in pf.positions.values() if p.strategy_id == s]
                expected = sum(
                    p.realized_pnl + p.qty * (price.get(p.symbol, p.avg_price) - p.avg_price)
                    for p in mine
                )
                assert pf.strategy_pnl(s) == pytest.approx(expected, abs=1e-6)
    state = pf.state(0, 0.0, 0.0)  # recomputed from scratch: the same figures
    assert state.nav == pytest.approx(pf.nav(), abs=1e-9)
