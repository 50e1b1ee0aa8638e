"""Pure pre-trade checks. Each returns None (pass) or a Verdict naming what failed.

An *entry* is an order that makes its strategy's position larger in absolute
size, and faces every check. An order that only reduces a position is never
refused for a stale or missing mark, paused entries, a disabled strategy, a
position or exposure limit or a tripped breaker, so risk never traps a
position; it still meets the order-size limit, the collar (when there is a
mark), the reduce-only rule of a REDUCING engine and the rate limits.

``RiskManager.check`` decides the common case (ACTIVE, fresh mark, inside every
limit) with the same comparisons on plain numbers before it builds a context
for these rules; a new rule goes into both, and
``tests/unit/engine/risk/test_check_shortcut.py`` holds them to the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from engine.config import RiskConfig, StrategyLimits
from engine.model.commands import NewOrder
from engine.model.enums import OrderType, Side, TradingState


@dataclass(frozen=True, slots=True)
class Verdict:
    code: str
    reason: str


class OrderContext(NamedTuple):
    """What the checks need to know besides the order itself (a tuple: built per order)."""

    state: TradingState
    entries_paused: bool
    strategy_disabled: bool
    mark: float | None  # the symbol's latest mark price (None: never had one)
    mark_age_ms: float | None
    last_price: float | None  # what the symbol is valued at (mark, else last fill)
    position_qty: float  # this strategy's signed position in the symbol
    open_same_side_qty: float  # this strategy's open orders on the order's side
    symbol_net_qty: float  # every strategy's net position in the symbol
    total_exposure: float  # sum of |position notional| over all symbols and strategies
    nav: float
    peak_nav: float
    day_start_nav: float
    strategy_day_pnl: float  # this strategy's PnL since 00:00 UTC
    limits: StrategyLimits


def increases_exposure(order: NewOrder, position_qty: float) -> bool:
    """True if the order would make the strategy's position larger in absolute size."""
    signed = order.qty if order.side is Side.BUY else -order.qty
    return abs(position_qty + signed) > abs(position_qty) + 1e-12


def _halted(order: NewOrder, ctx: OrderContext, entry: bool) -> Verdict | None:
    """The trading state: halted, reducing, a disabled strategy, paused entries."""
    state = ctx.state
    if state is not TradingState.ACTIVE:
        if state is TradingState.HALTED and entry:
            return Verdict(
                "HALTED", "trading is halted (kill switch): only reducing orders allowed"
            )
        if state is TradingState.REDUCING and (entry or not order.reduce_only):
            return Verdict("REDUCE_ONLY", "trading is in reduce-only mode")
    if entry and ctx.strategy_disabled:
        return Verdict(
            "STRATEGY_DISABLED", f"{order.strategy_id} is disabled: only reducing orders allowed"
        )
    if entry and ctx.entries_paused:
        return Verdict("ENTRIES_PAUSED", "entries are paused: only exits are allowed")
    return None


def _reference(order: NewOrder, ctx: OrderContext, cfg: RiskConfig, entry: bool) -> Verdict | None:
    """Entries need a fresh mark; a limit order with a fresh mark stays inside the collar."""
    mark, age = ctx.mark, ctx.mark_age_ms
    if mark is None or age is None or age > cfg.max_mid_age_ms or not mark > 0:
        if not entry:
            return None
        if mark is None:
            return Verdict("STALE_MARK", f"no mark for {order.symbol}: new exposure refused")
        return Verdict(
            "STALE_MARK",
            f"mark for {order.symbol} is older than {cfg.max_mid_age_ms} ms: "
            "new exposure refused until a fresh one arrives",
        )
    if order.order_type is OrderType.LIMIT and order.price is not None:
        dev_bps = abs(order.price / mark - 1.0) * 1e4
        if dev_bps > cfg.collar_bps:
            return Verdict(
                "PRICE_COLLAR",
                f"limit {order.price:g} is {dev_bps:.0f} bps from mark {mark:g} "
                f"(collar {cfg.collar_bps:g} bps)",
            )
    return None


def _size(order: NewOrder, ctx: OrderContext, cfg: RiskConfig, entry: bool) -> Verdict | None:
    """Order notional; for entries the strategy's and the symbol's positions and exposure."""
    px = order.price if order.price is not None else (ctx.mark or ctx.last_price)
    if px is None:
        return None  # a reducing market order in a symbol never priced: nothing to value
    notional = order.qty * px
    if notional > cfg.max_order_notional:
        return Verdict(
            "MAX_NOTIONAL", f"order notional {notional:,.0f} > {cfg.max_order_notional:,.0f}"
        )
    if not entry:
        return None
    signed = order.qty if order.side is Side.BUY else -order.qty
    sign = 1.0 if signed > 0 else -1.0
    mine = abs(ctx.position_qty + sign * ctx.open_same_side_qty + signed) * px
    if mine > ctx.limits.max_position_notional:
        return Verdict(
            "STRATEGY_MAX_POSITION",
            f"{order.strategy_id}'s position incl. open orders would be {mine:,.0f} "
            f"> {ctx.limits.max_position_notional:,.0f}",
        )
    net = abs(ctx.symbol_net_qty + signed) * px
    if net > cfg.max_position_notional and net > abs(ctx.symbol_net_qty) * px:
        return Verdict(
            "MAX_POSITION",
            f"net {order.symbol} position would be {net:,.0f} > {cfg.max_position_notional:,.0f}",
        )
    if ctx.total_exposure + notional > cfg.max_total_exposure:
        return Verdict(
            "MAX_EXPOSURE",
            f"total exposure would be {ctx.total_exposure + notional:,.0f} "
            f"> {cfg.max_total_exposure:,.0f}",
        )
    return None


def breached_daily_loss(nav: float, day_start_nav: float, cfg: RiskConfig) -> Verdict | None:
    day_loss = day_start_nav - nav
    if day_loss > cfg.daily_loss_limit:
        return Verdict(
            "DAILY_LOSS", f"daily loss {day_loss:,.0f} > limit {cfg.daily_loss_limit:,.0f}"
        )
    return None


def breached_drawdown(nav: float, peak_nav: float, cfg: RiskConfig) -> Verdict | None:
    drawdown = 1.0 - nav / peak_nav if peak_nav > 0 else 0.0
    if drawdown > cfg.max_drawdown_pct:
        return Verdict("DRAWDOWN", f"drawdown {drawdown:.1%} > breaker {cfg.max_drawdown_pct:.1%}")
    return None


def breached_strategy_loss(
    strategy_id: str, day_pnl: float, limits: StrategyLimits
) -> Verdict | None:
    if -day_pnl > limits.daily_loss_limit:
        return Verdict(
            "STRATEGY_DAILY_LOSS",
            f"{strategy_id} lost {-day_pnl:,.0f} today > limit {limits.daily_loss_limit:,.0f}",
        )
    return None


def _losses(order: NewOrder, ctx: OrderContext, cfg: RiskConfig) -> Verdict | None:
    """An entry meets the daily-loss and drawdown breakers and its strategy's loss limit."""
    nav = ctx.nav
    if ctx.day_start_nav - nav > cfg.daily_loss_limit:
        return breached_daily_loss(nav, ctx.day_start_nav, cfg)
    if ctx.peak_nav > 0 and 1.0 - nav / ctx.peak_nav > cfg.max_drawdown_pct:
        return breached_drawdown(nav, ctx.peak_nav, cfg)
    if -ctx.strategy_day_pnl > ctx.limits.daily_loss_limit:
        return breached_strategy_loss(order.strategy_id, ctx.strategy_day_pnl, ctx.limits)
    return None


def pre_trade_check(
    order: NewOrder, ctx: OrderContext, cfg: RiskConfig, entry: bool | None = None
) -> Verdict | None:
    """Every check in order, the first failure wins (``entry``: if the caller knows it).

    State, then reference price and collar, then size and position limits, then
    (entries only) the loss limits. The verdicts are built only on failure.
    """
    if entry is None:
        entry = increases_exposure(order, ctx.position_qty)
    verdict = _halted(order, ctx, entry) or _reference(order, ctx, cfg, entry)
    if verdict is None:
        verdict = _size(order, ctx, cfg, entry)
        if verdict is None and entry:
            verdict = _losses(order, ctx, cfg)
    return verdict


class OrderRates:
    """Orders per second per strategy (each with its own limit) and in total, in one call."""

    def __init__(self, total_per_second: float) -> None:
        self._strategies: dict[str, TokenBucket] = {}
        self._total = TokenBucket(total_per_second)

    def allow(self, strategy_id: str, now_ns: int, per_second: float) -> Verdict | None:
        """None and the order counted, or the limit it would break (then not counted)."""
        bucket = self._strategies.get(strategy_id)
        if bucket is None or bucket.rate != per_second:
            bucket = self._strategies[strategy_id] = TokenBucket(per_second)
        if not bucket.take(now_ns):
            return Verdict("RATE_LIMIT", f"more than {per_second:g} orders/s for {strategy_id}")
        if not self._total.take(now_ns):
            bucket.give_back()
            return Verdict("RATE_LIMIT", f"more than {self._total.rate:g} orders/s in total")
        return None


class TokenBucket:
    """At most ``rate`` orders in any second on average, and never a burst above ``rate``.

    Tokens refill continuously at ``rate`` per second up to ``rate``; an order takes one.
    O(1) per order, unlike a window of timestamps.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._per_ns = rate * 1e-9
        self._last_ns = 0  # clock ns of the last refill

    def take(self, now_ns: int) -> bool:
        tokens = self._tokens
        if now_ns > self._last_ns:
            tokens += (now_ns - self._last_ns) * self._per_ns
            if tokens > self.rate:
                tokens = self.rate
            self._last_ns = now_ns
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    def give_back(self) -> None:
        self._tokens = min(self.rate, self._tokens + 1.0)
