"""The engine's CerebellumLink against the real cerebellum_core over real sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.core import topics
from engine.core.errors import OrderRejected, RiskRejected
from engine.execution import protocol
from engine.model.commands import KillSwitch, NewOrder, Resume
from engine.model.enums import LinkStatus, OrderStatus, OrderType, Scope, Side, TradingState
from engine.model.events import Fill, OrderUpdate
from tests.kit.engine_harness import running_engine, wait_until

SYMBOL = "BTC/USDT"


def _on_tick(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 10)


async def _mid(engine, symbol: str = SYMBOL) -> float:  # type: ignore[no-untyped-def]
    await wait_until(lambda: engine.risk.mid(symbol)[0] is not None, 10, f"a {symbol} book")
    mid, _ = engine.risk.mid(symbol)
    assert mid is not None
    return mid


async def test_market_order_fills_at_book_prices_with_taker_fee(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        assert engine.link.status is LinkStatus.CONNECTED
        assert engine.link.venue == "sim"
        fills: list[Fill] = []
        engine.bus.subscribe(topics.all_of("exec.fill"), lambda _t, f: fills.append(f), direct=True)
        updates: list[OrderUpdate] = []
        engine.bus.subscribe(
            topics.all_of("exec.order"), lambda _t, u: updates.append(u), direct=True
        )
        books = []
        engine.bus.subscribe(topics.md_book(SYMBOL), lambda _t, b: books.append(b), direct=True)
        await wait_until(lambda: bool(books), 5, "a book")
        book = books[-1]
        ack = await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
        assert ack.client_order_id is not None
        await wait_until(lambda: sum(f.qty for f in fills) >= 0.01 - 1e-12, 5, "the fill")
        vwap = sum(f.qty * f.price for f in fills) / sum(f.qty for f in fills)
        best_ask = book.best_ask
        print(
            f"market buy 0.01 BTC: vwap {vwap:.2f}, best ask at send {best_ask:.2f}, fees {[f.fee for f in fills]}"
        )
        assert abs(vwap / best_ask - 1) < 0.002  # walked the book near the touch
        for f in fills:
            assert f.fee == pytest.approx(f.qty * f.price * 5.5e-4, rel=1e-6)
            assert f.liquidity is not None
            assert f.liquidity.value == "TAKER"
        pos = engine.gateway.portfolio.position("manual", SYMBOL)
        assert pos.qty == pytest.approx(0.01)
        assert pos.avg_price == pytest.approx(vwap)
        snap = await engine.commands.snapshot()
        assert snap.net_position(SYMBOL) == pytest.approx(0.01)
        # Accepted and filled in one venue turn: its fills are its only updates (no NEW first).
        statuses = [u.status for u in updates if u.client_order_id == ack.client_order_id]
        assert statuses[-1] is OrderStatus.FILLED
        assert OrderStatus.NEW not in statuses
        assert engine.gateway.orders.orders[ack.client_order_id].status is OrderStatus.FILLED
        assert engine.gateway.orders.invalid_transitions == 0


async def test_limit_order_rests_then_cancel_closes_it(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        updates: list[OrderUpdate] = []
        engine.bus.subscribe(
            topics.all_of("exec.order"), lambda _t, u: updates.append(u), direct=True
        )
        mid = await _mid(engine)
        tick = engine.link.instruments[SYMBOL].tick_size
        price = _on_tick(mid * 0.995, tick)  # 50 bps below: rests
        ack = await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, price)
        cid = ack.client_order_id
        assert cid is not None
        await wait_until(
            lambda: any(u.client_order_id == cid and u.status is OrderStatus.NEW for u in updates)
        )
        snap = await engine.commands.snapshot()
        assert [o.client_order_id for o in snap.open_orders] == [cid]
        assert snap.open_orders[0].price == pytest.approx(price)
        await engine.commands.cancel_order(cid)
        await wait_until(lambda: engine.gateway.orders.orders[cid].status is OrderStatus.CANCELED)
        assert (await engine.commands.snapshot()).open_orders == ()
        with pytest.raises(OrderRejected) as info:
            await engine.commands.cancel_order(cid)
        assert info.value.code in ("ORDER_CLOSED", "UNKNOWN_ORDER")


async def test_duplicate_client_order_id_is_idempotent(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        mid = await _mid(engine)
        tick = engine.link.instruments[SYMBOL].tick_size
        order = NewOrder(
            "dup-0001",
            "manual",
            SYMBOL,
            Side.SELL,
            OrderType.LIMIT,
            0.01,
            _on_tick(mid * 1.004, tick),
        )
        first = await engine.gateway.submit(order)
        second = await engine.gateway.submit(order)
        assert not first.duplicate
        assert second.duplicate
        assert second.venue_order_id == first.venue_order_id
        snap = await engine.commands.snapshot()
        assert [o.client_order_id for o in snap.open_orders] == ["dup-0001"]


async def test_invalid_orders_are_rejected_with_reasons(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        mid = await _mid(engine)
        cases = {
            "OFF_TICK": NewOrder(
                "bad-1", "manual", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, mid * 0.999 + 0.013
            ),
            "UNKNOWN_SYMBOL": NewOrder(
                "bad-2", "manual", "DOGE/USDT", Side.BUY, OrderType.MARKET, 1.0
            ),
            "INVALID_VALUE": NewOrder("bad-3", "manual", SYMBOL, Side.BUY, OrderType.MARKET, -1.0),
        }
        for code, order in cases.items():
            with pytest.raises(OrderRejected) as info:  # the core's own validation
                await engine.link.send_order_and_confirm(order)
            print(f"{code}: {info.value.reason}")
            assert info.value.code == code
        assert engine.link.status is LinkStatus.CONNECTED


async def test_an_order_the_core_refuses_is_closed_as_rejected_not_left_pending(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    """Through the gateway, with or without awaiting: the tracker closes it with the reason."""
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        mid = await _mid(engine)
        price = mid * 0.999 + 0.013  # off the tick: the core's own validation refuses it
        waited = NewOrder("off-1", "manual", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, price)
        with pytest.raises(OrderRejected, match="OFF_TICK"):
            await engine.gateway.submit(waited)
        in_flight = NewOrder("off-2", "manual", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, price)
        reply = await engine.gateway.submit_nowait(in_flight)
        assert reply.code == "OFF_TICK"
        for cid in ("off-1", "off-2"):
            view = engine.gateway.orders.orders[cid]
            assert view.status is OrderStatus.REJECTED
        assert not engine.gateway.orders.open_orders()


async def test_kill_switch_cancels_flattens_and_refuses_until_resume(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        mid = await _mid(engine)
        tick = engine.link.instruments[SYMBOL].tick_size
        await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.02)
        for i in range(3):
            px = _on_tick(mid * (0.995 - i * 0.001), tick)
            await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px)
        before = await engine.commands.snapshot()
        assert len(before.open_orders) == 3
        assert before.net_position(SYMBOL) != 0
        snap = await engine.commands.kill_switch("test")
        assert snap is not None
        after = await engine.commands.snapshot()
        assert after.open_orders == ()
        assert after.is_flat
        assert after.trading_state.global_state is TradingState.HALTED
        with pytest.raises(RiskRejected, match="HALTED"):
            await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
        with pytest.raises(OrderRejected) as info:  # the core refuses too (last hop)
            await engine.link.send_order_and_confirm(
                NewOrder("after-kill", "manual", SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
            )
        assert info.value.code == "HALTED"
        await engine.commands.resume()
        await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)


async def test_kill_switch_scoped_to_a_strategy_leaves_others_trading(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        mid = await _mid(engine)
        tick = engine.link.instruments[SYMBOL].tick_size
        px = _on_tick(mid * 0.995, tick)
        # Distinct prices: the core's duplicate guard would (rightly) refuse repeats.
        await engine.gateway.submit(
            NewOrder("a-1", "agent-a", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px)
        )
        await engine.gateway.submit(
            NewOrder("b-1", "agent-b", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px - tick)
        )
        await engine.link.send_kill_switch(
            KillSwitch(Scope.STRATEGY, "agent-a", TradingState.HALTED, "test")
        )
        snap = await engine.link.request_snapshot()
        assert [o.client_order_id for o in snap.open_orders] == ["b-1"]
        assert snap.trading_state.strategies.get("agent-a") is TradingState.HALTED
        with pytest.raises(OrderRejected, match="HALTED"):
            await engine.gateway.submit(
                NewOrder("a-2", "agent-a", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px - 2 * tick)
            )
        await engine.gateway.submit(
            NewOrder("b-2", "agent-b", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px - 3 * tick)
        )
        await engine.link.send_resume(Resume(Scope.STRATEGY, "agent-a"))
        await engine.gateway.submit(
            NewOrder("a-3", "agent-a", SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, px - 4 * tick)
        )


async def test_replayed_reports_are_applied_exactly_once(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        await _mid(engine)
        for qty in (0.01, 0.011, 0.009):
            await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, qty)
        await wait_until(
            lambda: engine.gateway.portfolio.position("manual", SYMBOL).qty >= 0.03 - 1e-9
        )
        last = engine.link.sequence.last_seq
        dups_before = engine.link.sequence.duplicates
        reply = await engine.link.request(lambda rid: protocol.encode_replay(rid, 1))
        assert isinstance(reply, protocol.ReplayDone)
        assert reply.to_seq == last
        await wait_until(lambda: engine.link.sequence.duplicates - dups_before >= last)
        assert engine.gateway.portfolio.position("manual", SYMBOL).qty == pytest.approx(0.03)


async def test_order_intents_are_journaled_before_sending(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    from engine.journal.intent_log import read_intents
    from engine.journal.queries import JournalReader

    async with running_engine(tmp_path, cerebellum_binary) as engine:
        await _mid(engine)
        ack = await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
        cid = ack.client_order_id or ""
        # The core acknowledged the order, so it was sent, so its intent was already durable.
        rows = [
            (r.strategy_id, r.symbol, r.side, r.qty)
            for r in read_intents(engine.journal.intent_path)
            if r.client_order_id == cid
        ]
        assert rows == [("manual", SYMBOL, "BUY", 0.01)]
        # The order's row in the journal follows within a few milliseconds, with its fill.
        reader = JournalReader(engine.journal.path)
        await wait_until(
            lambda: (reader.order(cid) or {}).get("status") == "FILLED", 2, "the journaled fill"
        )
        assert reader.fills("manual")[0]["client_order_id"] == cid
        reader.close()


def test_the_headless_loop_busy_polls_while_an_order_is_in_flight(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    """The link asks the headless loop to spin exactly while a reply is due, and stops asking
    when it stops (whether a given select then spins depends on timing, so that is not tested)."""
    from engine.core import busy_poll
    from engine.core.busy_poll import BusyPollEventLoop

    async def trade() -> tuple[bool, bool, bool, bool]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, BusyPollEventLoop)
        selector = loop._busy_selector
        async with running_engine(tmp_path, cerebellum_binary) as engine:
            await _mid(engine)
            spin_while = selector.spin_while
            assert spin_while is not None
            assert selector.spin_ns == engine.config.cerebellum.busy_poll_us * 1_000
            idle = spin_while()
            order = NewOrder("spin-1", "manual", SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
            reply = engine.gateway.submit_nowait(order)
            due = spin_while()  # sent, not yet answered
            await reply
            answered = spin_while()
        return idle, due, answered, selector.spin_while is None

    idle, due, answered, off_after_stop = busy_poll.run(trade())
    assert (idle, due, answered) == (False, True, False)
    assert off_after_stop


async def test_the_start_up_heap_is_kept_out_of_the_cyclic_collector(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    """Start-up objects are frozen while the engine runs (a full collection over them
    stalled the loop ~100 ms in `bench link`) and released when it stops."""
    import gc

    async with running_engine(tmp_path, cerebellum_binary) as engine:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # libraries, models and components
        assert engine.link.status is LinkStatus.CONNECTED
    assert gc.get_freeze_count() == 0
