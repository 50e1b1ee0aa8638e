"""OrderTracker: positions move only on fills, at fill price and quantity, once per exec id."""

from __future__ import annotations

import random

import msgspec
import pytest

from engine.execution.order_tracker import OrderTracker, apply_fill
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import Fill, OrderUpdate
from engine.model.orders import OrderView
from engine.model.positions import Position


def _update(
    seq: int,
    status: OrderStatus,
    *,
    cum: float,
    last: float | None = None,
    px: float | None = None,
    exec_id: str | None = None,
    side: Side = Side.BUY,
) -> OrderUpdate:
    return OrderUpdate(
        seq=seq,
        client_order_id="c1",
        venue_order_id="V1",
        strategy_id="s",
        symbol="BTC/USDT",
        side=side,
        order_type=OrderType.LIMIT,
        status=status,
        price=100.0,
        qty=2.0,
        cum_qty=cum,
        avg_price=px or 0.0,
        leaves_qty=2.0 - cum,
        ts_event=seq,
        ts_init=seq,
        last_qty=last,
        last_price=px,
        fee=0.0 if last else None,
        fee_asset="USDT" if last else None,
        liquidity=Liquidity.MAKER if last else None,
        exec_id=exec_id,
    )


def test_new_order_does_not_move_the_position() -> None:
    t = OrderTracker()
    assert t.on_update(_update(1, OrderStatus.NEW, cum=0.0)) is None
    assert t.position("s", "BTC/USDT").qty == 0.0


def test_fill_moves_position_at_fill_price_and_a_replayed_fill_is_ignored() -> None:
    t = OrderTracker()
    t.on_update(_update(1, OrderStatus.NEW, cum=0.0))
    fill = t.on_update(
        _update(2, OrderStatus.PARTIALLY_FILLED, cum=0.5, last=0.5, px=99.5, exec_id="E1")
    )
    assert fill is not None
    assert t.position("s", "BTC/USDT").qty == pytest.approx(0.5)
    assert t.position("s", "BTC/USDT").avg_price == pytest.approx(99.5)
    assert (
        t.on_update(
            _update(2, OrderStatus.PARTIALLY_FILLED, cum=0.5, last=0.5, px=99.5, exec_id="E1")
        )
        is None
    )
    assert t.position("s", "BTC/USDT").qty == pytest.approx(0.5)


def test_illegal_transition_is_counted_not_applied_silently() -> None:
    t = OrderTracker()
    t.on_update(_update(1, OrderStatus.NEW, cum=0.0))
    t.on_update(_update(2, OrderStatus.CANCELED, cum=0.0))
    t.on_update(_update(3, OrderStatus.NEW, cum=0.0))
    assert t.invalid_transitions == 1
    assert t.orders["c1"].status is OrderStatus.CANCELED


def _loop_position(fills: list[tuple[int, float, float]]) -> tuple[float, float]:
    """Reference: FIFO-free average-cost accounting, one unit at a time."""
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
            pos = apply_fill(
                pos,
                Fill(
                    f"E{i}",
                    "c",
                    "s",
                    "X",
                    Side.BUY if sign > 0 else Side.SELL,
                    q,
                    px,
                    0.0,
                    "USDT",
                    None,
                    i,
                    i,
                ),
            )
        ref_qty, ref_realized = _loop_position(fills)
        assert pos.qty == pytest.approx(ref_qty, abs=1e-9)
        assert pos.realized_pnl == pytest.approx(ref_realized, abs=1e-6)


def _report(
    seq: int, cid: str, strategy: str, status: OrderStatus, exec_id: str | None = None
) -> OrderUpdate:
    filled = status is OrderStatus.FILLED
    return msgspec.structs.replace(
        _update(
            seq,
            status,
            cum=2.0 if filled else 0.0,
            last=2.0 if filled else None,
            px=100.0 if filled else None,
            exec_id=exec_id,
        ),
        client_order_id=cid,
        strategy_id=strategy,
    )


def test_open_orders_follow_every_transition_per_strategy() -> None:
    t = OrderTracker()
    for i, strategy in enumerate(["a", "a", "b"]):
        t.on_submitted(
            OrderView(
                f"o{i}",
                strategy,
                "BTC/USDT",
                Side.BUY,
                OrderType.LIMIT,
                2.0,
                100.0,
                OrderStatus.PENDING_NEW,
            )
        )
    t.on_update(_report(1, "o0", "a", OrderStatus.NEW))
    t.on_update(_report(2, "o1", "a", OrderStatus.NEW))
    t.on_update(_report(3, "o1", "a", OrderStatus.FILLED, "E1"))
    t.on_update(_report(4, "o2", "b", OrderStatus.CANCELED))
    assert [o.client_order_id for o in t.open_orders("a")] == ["o0"]
    assert t.open_orders("b") == []
    assert [o.client_order_id for o in t.open_orders()] == ["o0"]
    assert t.open_orders("a")[0].status is OrderStatus.NEW
    assert t.open_orders("nobody") == []


def test_a_long_session_keeps_only_the_newest_closed_orders_and_exec_ids() -> None:
    t = OrderTracker(max_closed=3, max_exec_ids=4)
    t.on_update(_report(1, "resting", "s", OrderStatus.NEW))
    for i in range(10):
        t.on_update(_report(2 + 2 * i, f"f{i}", "s", OrderStatus.NEW))
        t.on_update(_report(3 + 2 * i, f"f{i}", "s", OrderStatus.FILLED, f"E{i}"))
    assert sorted(t.orders) == ["f7", "f8", "f9", "resting"]  # open orders are never dropped
    assert [o.client_order_id for o in t.open_orders()] == ["resting"]
    assert t.position("s", "BTC/USDT").qty == pytest.approx(20.0)
    # A replay of a recent fill is still recognised and ignored.
    assert t.on_update(_report(99, "f9", "s", OrderStatus.FILLED, "E9")) is None
    assert t.position("s", "BTC/USDT").qty == pytest.approx(20.0)
