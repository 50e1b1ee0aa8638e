"""Engine pre-trade checks (pure)."""

from __future__ import annotations

import pytest

from engine.config import RiskConfig, StrategyLimits
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, Side, TradingState
from engine.risk.checks import (
    OrderContext,
    OrderRates,
    TokenBucket,
    increases_exposure,
    pre_trade_check,
)

LIMITS = StrategyLimits(max_position_notional=15_000, daily_loss_limit=500)
CFG = RiskConfig(
    max_order_notional=10_000,
    max_position_notional=20_000,
    max_total_exposure=30_000,
    collar_bps=100,
    max_mid_age_ms=1_000,
    daily_loss_limit=1_000,
    max_drawdown_pct=0.1,
    strategy=LIMITS,
)


def _ctx(**kw: object) -> OrderContext:
    base: dict[str, object] = {
        "state": TradingState.ACTIVE,
        "entries_paused": False,
        "strategy_disabled": False,
        "mark": 100.0,
        "mark_age_ms": 10.0,
        "last_price": 100.0,
        "position_qty": 0.0,
        "open_same_side_qty": 0.0,
        "symbol_net_qty": 0.0,
        "total_exposure": 0.0,
        "nav": 100_000.0,
        "peak_nav": 100_000.0,
        "day_start_nav": 100_000.0,
        "strategy_day_pnl": 0.0,
        "limits": LIMITS,
    }
    base.update(kw)
    return OrderContext(**base)  # type: ignore[arg-type]


def _order(
    side: Side = Side.BUY, qty: float = 1.0, price: float | None = 100.0, reduce_only: bool = False
) -> NewOrder:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return NewOrder("c", "s", "BTC/USDT", side, kind, qty, price, reduce_only=reduce_only)


@pytest.mark.parametrize(
    ("order", "ctx", "code"),
    [
        (_order(), _ctx(state=TradingState.HALTED), "HALTED"),
        (_order(), _ctx(entries_paused=True), "ENTRIES_PAUSED"),
        (_order(), _ctx(state=TradingState.REDUCING), "REDUCE_ONLY"),
        (_order(), _ctx(strategy_disabled=True), "STRATEGY_DISABLED"),
        (_order(), _ctx(mark=None, mark_age_ms=None), "STALE_MARK"),
        (_order(), _ctx(mark_age_ms=5_000.0), "STALE_MARK"),
        (_order(price=102.0), _ctx(), "PRICE_COLLAR"),
        (_order(qty=101.0), _ctx(), "MAX_NOTIONAL"),
        (
            _order(qty=50.0),
            _ctx(position_qty=60.0, open_same_side_qty=50.0),
            "STRATEGY_MAX_POSITION",
        ),
        (_order(qty=50.0), _ctx(symbol_net_qty=160.0), "MAX_POSITION"),
        (_order(qty=50.0), _ctx(total_exposure=26_000.0), "MAX_EXPOSURE"),
        (_order(), _ctx(nav=98_500.0, peak_nav=98_600.0), "DAILY_LOSS"),
        (_order(), _ctx(nav=95_000.0, peak_nav=110_000.0, day_start_nav=95_500.0), "DRAWDOWN"),
        (_order(), _ctx(strategy_day_pnl=-501.0), "STRATEGY_DAILY_LOSS"),
    ],
)
def test_pre_trade_check_names_the_failed_check(
    order: NewOrder, ctx: OrderContext, code: str
) -> None:
    verdict = pre_trade_check(order, ctx, CFG)
    assert verdict is not None
    assert verdict.code == code


@pytest.mark.parametrize(
    "ctx",
    [
        _ctx(state=TradingState.HALTED),
        _ctx(state=TradingState.REDUCING),
        _ctx(entries_paused=True),
        _ctx(strategy_disabled=True),
        _ctx(mark=None, mark_age_ms=None),
        _ctx(mark_age_ms=60_000.0),
        _ctx(nav=90_000.0, peak_nav=120_000.0),
        _ctx(strategy_day_pnl=-10_000.0),
        _ctx(symbol_net_qty=500.0, total_exposure=90_000.0),
    ],
)
def test_a_reduce_only_exit_passes_whatever_blocks_entries(ctx: OrderContext) -> None:
    held = ctx._replace(position_qty=2.0)
    exit_order = _order(side=Side.SELL, qty=1.0, price=None, reduce_only=True)
    assert pre_trade_check(exit_order, held, CFG) is None


def test_a_plain_reducing_order_is_refused_only_when_reduce_only_is_required() -> None:
    plain_exit = _order(side=Side.SELL, qty=1.0, price=None)
    assert pre_trade_check(plain_exit, _ctx(entries_paused=True, position_qty=2.0), CFG) is None
    verdict = pre_trade_check(plain_exit, _ctx(state=TradingState.REDUCING, position_qty=2.0), CFG)
    assert verdict is not None
    assert verdict.code == "REDUCE_ONLY"


def test_a_stale_mark_still_collars_nothing_but_limits_an_exit_by_its_own_price() -> None:
    limit_exit = _order(side=Side.SELL, qty=200.0, price=100.0, reduce_only=True)
    verdict = pre_trade_check(
        limit_exit, _ctx(mark=None, mark_age_ms=None, position_qty=300.0), CFG
    )
    assert verdict is not None
    assert verdict.code == "MAX_NOTIONAL"


def test_plain_order_within_limits_passes() -> None:
    assert pre_trade_check(_order(), _ctx(), CFG) is None


def test_increases_exposure_handles_flips() -> None:
    assert increases_exposure(_order(Side.SELL, qty=3.0), 1.0)  # 1 -> -2
    assert not increases_exposure(_order(Side.SELL, qty=2.0), 1.0)  # 1 -> -1
    assert increases_exposure(_order(Side.BUY, qty=0.1), 0.0)


def test_a_token_bucket_allows_its_rate_in_a_burst_then_refills_with_time() -> None:
    bucket = TokenBucket(3)
    t0 = 1_000_000_000
    assert [bucket.take(t0 + i) for i in range(4)] == [True, True, True, False]
    assert not bucket.take(t0 + 300_000_000)  # 0.9 of a token back after 0.3 s
    assert bucket.take(t0 + 340_000_000)
    assert [bucket.take(t0 + 5_000_000_000) for _ in range(4)] == [True, True, True, False]
    assert not bucket.take(t0)  # a clock that steps back never refills


def test_order_rates_keep_each_strategys_own_limit_and_the_total() -> None:
    rates = OrderRates(total_per_second=4)
    t0 = 1_000_000_000
    assert [rates.allow("a", t0, 2) for _ in range(3)][2] is not None
    assert rates.allow("b", t0, 2) is None
    assert rates.allow("b", t0, 2) is None
    total = rates.allow("c", t0, 10)  # a, a, b, b took the 4 orders of the second
    assert total is not None
    assert "in total" in total.reason
    assert rates.allow("c", t0 + 250_000_000, 10) is None  # one total token back
