"""RiskManager.check decides the common case without building the rule book's context.

That shortcut must never allow what ``pre_trade_check`` refuses, nor refuse what it
allows: thousands of random states (trading state, paused entries, disabled
strategies, fresh, stale and missing marks, limit prices near and far, open
orders, positions in profit and in loss, peaks and day starts) are put to both,
and their verdicts must be the same.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from engine.model.commands import NewOrder
from engine.model.enums import OrderStatus, OrderType, Side, TradingState
from engine.model.orders import OrderView
from engine.risk.checks import pre_trade_check
from tests.unit.engine.risk.test_manager import RISK, SEC, SYMBOL, Kit, start_kit

SYMBOLS = (SYMBOL, "ETH/USDT")
STRATEGIES = ("a", "b", "big")  # "big": no position limit of its own


def _rule_book(kit: Kit, order: NewOrder) -> str | None:
    """What pre_trade_check says of ``order`` in the kit's current state."""
    verdict = pre_trade_check(order, kit.risk.order_context(order), kit.risk._cfg)
    return None if verdict is None else verdict.code


def _shake(kit: Kit, rng: random.Random, i: int) -> None:
    """Move the state somewhere at random (small clock steps: no UTC day is crossed)."""
    risk = kit.risk
    kit.clock.advance(rng.randrange(0, SEC // 20))
    now = kit.clock.monotonic_ns()
    if rng.random() < 0.5:
        symbol = rng.choice(SYMBOLS)
        age_ms = rng.choice([0, 0, 10, 10, 900, 1_000, 1_100, 60_000])
        kit.portfolio.on_mark(symbol, rng.uniform(45_000, 55_000), now - age_ms * 1_000_000)
    if rng.random() < 0.3:
        kit.fill(
            rng.choice(STRATEGIES),
            rng.choice([Side.BUY, Side.SELL]),
            rng.choice([0.01, 0.05, 0.2]),
            rng.uniform(45_000, 55_000),
            rng.choice(SYMBOLS),
        )
    if rng.random() < 0.2:
        kit.orders.on_submitted(
            OrderView(
                f"open-{i}",
                rng.choice(STRATEGIES),
                rng.choice(SYMBOLS),
                rng.choice([Side.BUY, Side.SELL]),
                OrderType.LIMIT,
                rng.choice([0.05, 0.3]),
                50_000.0,
                OrderStatus.NEW,
            )
        )
    risk.state = rng.choices(list(TradingState), weights=[8, 1, 1])[0]
    risk.entries_paused = rng.random() < 0.1
    risk.disabled = {"a": "test"} if rng.random() < 0.1 else {}
    nav = kit.portfolio.nav()
    risk.peak_nav = nav * rng.choice([1.0, 1.01, 1.06])
    risk.day_start_nav = nav + rng.choice([0.0, 0.0, 500.0, 1_500.0])


def _random_order(rng: random.Random) -> NewOrder:
    order_type = rng.choice([OrderType.MARKET, OrderType.LIMIT])
    price = None if order_type is OrderType.MARKET else rng.uniform(40_000, 60_000)
    return NewOrder(
        "c",
        rng.choice(STRATEGIES),
        rng.choice(SYMBOLS),
        rng.choice([Side.BUY, Side.SELL]),
        order_type,
        rng.choice([0.01, 0.1, 0.3, 0.5, 1.2]),
        price,
        reduce_only=rng.random() < 0.2,
    )


async def test_the_shortcut_and_the_rule_book_give_the_same_verdicts(tmp_path: Path) -> None:
    unthrottled = {**RISK["strategy"], "max_orders_per_sec": 1e9}  # type: ignore[dict-item]
    big = {"max_position_notional": 1e6, "max_orders_per_sec": 1e9, "daily_loss_limit": 400.0}
    kit = await start_kit(
        tmp_path,
        strategy=unthrottled,
        strategy_overrides={"big": big},
        max_orders_per_sec_total=1e9,
    )
    rng = random.Random(20261203)
    seen: Counter[str | None] = Counter()
    try:
        for i in range(4_000):
            _shake(kit, rng, i)
            order = _random_order(rng)
            expected = _rule_book(kit, order)
            verdict = kit.risk.check(order)
            got = None if verdict is None else verdict.code
            assert got == expected, (i, order, got, expected)
            seen[got] += 1
    finally:
        await kit.close()
    # Every rule was met on the way, and many orders passed: both paths were exercised.
    assert set(seen) >= {
        None,
        "HALTED",
        "REDUCE_ONLY",
        "ENTRIES_PAUSED",
        "STRATEGY_DISABLED",
        "STALE_MARK",
        "PRICE_COLLAR",
        "MAX_NOTIONAL",
        "STRATEGY_MAX_POSITION",
        "MAX_POSITION",
        "MAX_EXPOSURE",
        "DAILY_LOSS",
        "DRAWDOWN",
        "STRATEGY_DAILY_LOSS",
    }, seen
    assert seen[None] > 600, seen
