"""Pure pre-trade checks. Each returns None (pass) or a Verdict naming what failed."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from engine.config import RiskConfig
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, TradingState


@dataclass(frozen=True, slots=True)
class Verdict:
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What the checks need to know besides the order itself."""

    state: TradingState
    entries_paused: bool
    mid: float | None
    mid_age_ms: float | None
    position_qty: float  # this strategy's signed position in the symbol
    open_same_side_qty: float  # this strategy's open orders on the order's side
    total_exposure: float  # sum of |position notional| over all symbols and strategies
    nav: float
    peak_nav: float
    day_start_nav: float


def increases_exposure(order: NewOrder, position_qty: float) -> bool:
    """True if the order would make the strategy's position larger in absolute size."""
    signed = order.qty * order.side.sign
    return abs(position_qty + signed) > abs(position_qty) + 1e-12


def check_state(order: NewOrder, ctx: OrderContext) -> Verdict | None:
    entry = increases_exposure(order, ctx.position_qty)
    if ctx.state is TradingState.HALTED and entry:
        return Verdict("HALTED", "trading is halted (kill switch): only reducing orders allowed")
    if ctx.state is TradingState.REDUCING and (entry or not order.reduce_only):
        return Verdict("REDUCE_ONLY", "trading is in reduce-only mode")
    if ctx.entries_paused and entry:
        return Verdict("ENTRIES_PAUSED", "entries are paused: only exits are allowed")
    return None


def check_reference(order: NewOrder, ctx: OrderContext, cfg: RiskConfig) -> Verdict | None:
    if ctx.mid is None or not math.isfinite(ctx.mid) or ctx.mid <= 0:
        return Verdict("STALE_REFERENCE", f"no mid price for {order.symbol}")
    if ctx.mid_age_ms is None or ctx.mid_age_ms > cfg.max_mid_age_ms:
        return Verdict(
            "STALE_REFERENCE", f"mid for {order.symbol} is older than {cfg.max_mid_age_ms} ms"
        )
    if order.order_type is OrderType.LIMIT and order.price is not None:
        dev_bps = abs(order.price / ctx.mid - 1.0) * 1e4
        if dev_bps > cfg.collar_bps:
            return Verdict(
                "PRICE_COLLAR",
                f"limit {order.price:g} is {dev_bps:.0f} bps from mid {ctx.mid:g} "
                f"(collar {cfg.collar_bps:g} bps)",
            )
    return None


def check_size(order: NewOrder, ctx: OrderContext, cfg: RiskConfig) -> Verdict | None:
    assert ctx.mid is not None
    px = order.price if order.price is not None else ctx.mid
    notional = order.qty * px
    if notional > cfg.max_order_notional:
        return Verdict(
            "MAX_NOTIONAL", f"order notional {notional:,.0f} > {cfg.max_order_notional:,.0f}"
        )
    if not increases_exposure(order, ctx.position_qty):
        return None
    projected = abs(ctx.position_qty + order.side.sign * (ctx.open_same_side_qty + order.qty)) * px
    if projected > cfg.max_position_notional:
        return Verdict(
            "MAX_POSITION",
            f"position incl. open orders would be {projected:,.0f} > {cfg.max_position_notional:,.0f}",
        )
    if ctx.total_exposure + notional > cfg.max_total_exposure:
        return Verdict(
            "MAX_EXPOSURE",
            f"total exposure would be {ctx.total_exposure + notional:,.0f} > {cfg.max_total_exposure:,.0f}",
        )
    return None


def check_loss_limits(order: NewOrder, ctx: OrderContext, cfg: RiskConfig) -> Verdict | None:
    if not increases_exposure(order, ctx.position_qty):
        return None
    day_loss = ctx.day_start_nav - ctx.nav
    if day_loss > cfg.daily_loss_limit:
        return Verdict(
            "DAILY_LOSS", f"daily loss {day_loss:,.0f} > limit {cfg.daily_loss_limit:,.0f}"
        )
    drawdown = 1.0 - ctx.nav / ctx.peak_nav if ctx.peak_nav > 0 else 0.0
    if drawdown > cfg.max_drawdown_pct:
        return Verdict("DRAWDOWN", f"drawdown {drawdown:.1%} > breaker {cfg.max_drawdown_pct:.1%}")
    return None


def pre_trade_check(order: NewOrder, ctx: OrderContext, cfg: RiskConfig) -> Verdict | None:
    """Run every check in order; the first failure wins."""
    return (
        check_state(order, ctx)
        or check_reference(order, ctx, cfg)
        or check_size(order, ctx, cfg)
        or check_loss_limits(order, ctx, cfg)
    )


class RateLimiter:
    """Sliding one-second window of order timestamps (ns), per key."""

    def __init__(self, per_second: float) -> None:
        self._limit = per_second
        self._times: dict[str, deque[int]] = {}

    def allow(self, key: str, now_ns: int) -> bool:
        q = self._times.setdefault(key, deque())
        while q and now_ns - q[0] >= 1_000_000_000:
            q.popleft()
        if len(q) >= self._limit:
            return False
        q.append(now_ns)
        return True
