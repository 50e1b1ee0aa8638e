"""OrderTracker: a fill is recognised once per exec id; open orders and their quantities follow every report."""

from __future__ import annotations

import msgspec
import pytest

from engine.execution.order_tracker import OrderTracker
from engine.execution.portfolio import Portfolio
from engine.execution.protocol import OrderSnapshot, SnapshotReport, TradingStates
from engine.model.enums import Liquidity, OrderStatus, OrderType, Side
from engine.model.events import OrderUpdate
from engine.model.orders import OrderView


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


def _apply(t: OrderTracker, pf: Portfolio, update: OrderUpdate) -> bool:
    """What the gateway does with a report: the tracker recognises a fill, the portfolio applies it."""
    fill = t.on_update(update)
    if fill is not None:
        pf.on_fill(fill)
    return fill is not None


def test_new_order_carries_no_fill() -> None:
    t, pf = OrderTracker(), Portfolio(0.0)
    assert not _apply(t, pf, _update(1, OrderStatus.NEW, cum=0.0))
    assert pf.position("s", "BTC/USDT").qty == 0.0


def test_fill_moves_position_at_fill_price_and_a_replayed_fill_is_ignored() -> None:
    t, pf = OrderTracker(), Portfolio(0.0)
    _apply(t, pf, _update(1, OrderStatus.NEW, cum=0.0))
    partial = _update(2, OrderStatus.PARTIALLY_FILLED, cum=0.5, last=0.5, px=99.5, exec_id="E1")
    assert _apply(t, pf, partial)
    assert pf.position("s", "BTC/USDT").qty == pytest.approx(0.5)
    assert pf.position("s", "BTC/USDT").avg_price == pytest.approx(99.5)
    assert not _apply(t, pf, partial)
    assert pf.position("s", "BTC/USDT").qty == pytest.approx(0.5)


def test_open_quantity_per_strategy_symbol_and_side_follows_fills_and_closes() -> None:
    t = OrderTracker()
    t.on_submitted(
        OrderView(
            "c1", "s", "BTC/USDT", Side.BUY, OrderType.LIMIT, 2.0, 100.0, OrderStatus.PENDING_NEW
        )
    )
    assert t.open_qty("s", "BTC/USDT", Side.BUY) == pytest.approx(2.0)
    assert t.open_qty("s", "BTC/USDT", Side.SELL) == 0.0
    t.on_update(_update(1, OrderStatus.NEW, cum=0.0))
    t.on_update(_update(2, OrderStatus.PARTIALLY_FILLED, cum=0.5, last=0.5, px=99.5, exec_id="E1"))
    assert t.open_qty("s", "BTC/USDT", Side.BUY) == pytest.approx(1.5)
    t.on_update(_update(3, OrderStatus.CANCELED, cum=0.5))
    assert t.open_qty("s", "BTC/USDT", Side.BUY) == 0.0
    assert t.open_qty("other", "BTC/USDT", Side.BUY) == 0.0


def test_an_order_the_executor_files_under_another_strategy_moves_its_open_quantity() -> None:
    t = OrderTracker()
    t.on_submitted(
        OrderView(
            "c1", "s", "BTC/USDT", Side.BUY, OrderType.LIMIT, 2.0, 100.0, OrderStatus.PENDING_NEW
        )
    )
    snap = SnapshotReport(
        v=1,
        req_id=1,
        last_seq=0,
        session_id="S",
        ts_init=1,
        trading_state=TradingStates(),
        open_orders=(
            OrderSnapshot(
                "c1",
                "t",
                "BTC/USDT",
                Side.BUY,
                OrderType.LIMIT,
                2.0,
                0.5,
                99.5,
                OrderStatus.PARTIALLY_FILLED,
                1,
                "V1",
                100.0,
            ),
        ),
        positions=(),
        balances=(),
        mids={},
    )
    t.reconcile(snap)
    assert t.open_qty("s", "BTC/USDT", Side.BUY) == 0.0
    assert t.open_qty("t", "BTC/USDT", Side.BUY) == pytest.approx(1.5)


def test_illegal_transition_is_counted_not_applied_silently() -> None:
    t = OrderTracker()
    t.on_update(_update(1, OrderStatus.NEW, cum=0.0))
    t.on_update(_update(2, OrderStatus.CANCELED, cum=0.0))
    t.on_update(_update(3, OrderStatus.NEW, cum=0.0))
    assert t.invalid_transitions == 1
    assert t.orders["c1"].status is OrderStatus.CANCELED


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
    t, pf = OrderTracker(max_closed=3, max_exec_ids=4), Portfolio(0.0)
    _apply(t, pf, _report(1, "resting", "s", OrderStatus.NEW))
    for i in range(10):
        _apply(t, pf, _report(2 + 2 * i, f"f{i}", "s", OrderStatus.NEW))
        _apply(t, pf, _report(3 + 2 * i, f"f{i}", "s", OrderStatus.FILLED, f"E{i}"))
    assert sorted(t.orders) == ["f7", "f8", "f9", "resting"]  # open orders are never dropped
    assert [o.client_order_id for o in t.open_orders()] == ["resting"]
    assert pf.position("s", "BTC/USDT").qty == pytest.approx(20.0)
    # A replay of a recent fill is still recognised and ignored.
    assert not _apply(t, pf, _report(99, "f9", "s", OrderStatus.FILLED, "E9"))
    assert pf.position("s", "BTC/USDT").qty == pytest.approx(20.0)
