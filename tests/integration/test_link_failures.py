"""Fail-closed behaviour: dead-man's switch, a killed core, reconciliation after restart."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from engine.core import topics
from engine.core.errors import LinkDown
from engine.model.enums import LinkStatus, OrderStatus, OrderType, RiskEventKind, Side
from engine.model.events import OrderUpdate, RiskEvent
from tests.kit.engine_harness import running_engine, wait_until

SYMBOL = "ETH/USDT"


async def test_deadman_switch_cancels_resting_orders_when_engine_freezes(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    async with running_engine(
        tmp_path, cerebellum_binary, cerebellum={"deadman_timeout_ms": 800}
    ) as engine:
        events: list[RiskEvent] = []
        updates: list[OrderUpdate] = []
        engine.bus.subscribe(topics.RISK_EVENT, lambda _t, e: events.append(e), direct=True)
        engine.bus.subscribe(
            topics.all_of("exec.order"), lambda _t, u: updates.append(u), direct=True
        )
        await wait_until(lambda: engine.risk.mid(SYMBOL)[0] is not None, 10)
        mid, _ = engine.risk.mid(SYMBOL)
        tick = engine.link.instruments[SYMBOL].tick_size
        price = round(round(mid * 0.99 / tick) * tick, 8)  # type: ignore[operator]
        ack = await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.LIMIT, 0.1, price)
        io = engine.link.io
        assert io is not None
        await wait_until(
            lambda: io.last_heartbeat_reply_ns > 0, 5, "a first heartbeat (arms the switch)"
        )
        # Simulate a frozen engine loop: the I/O thread keeps heartbeating, but with a huge
        # loop age, which the core must treat as no heartbeat at all.
        engine.link._loop_age_ms = lambda: 60_000.0
        waited = await wait_until(
            lambda: any(e.kind is RiskEventKind.DEADMAN for e in events), 5, "a DEADMAN risk event"
        )
        await wait_until(
            lambda: (
                engine.gateway.orders.orders[ack.client_order_id or ""].status
                is OrderStatus.CANCELED
            )
        )
        cancel = [u for u in updates if u.status is OrderStatus.CANCELED][-1]
        print(f"dead-man fired {waited:.2f} s after the freeze; cancel reason {cancel.reason!r}")
        assert cancel.reason == "deadman"


async def test_killed_core_goes_fail_closed_then_restarts_and_reconciles(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    cfg = {"silence_timeout_ms": 1_000, "heartbeat_interval_ms": 200, "reconnect_backoff_s": 0.2}
    async with running_engine(tmp_path, cerebellum_binary, cerebellum=cfg) as engine:
        events: list[RiskEvent] = []
        engine.bus.subscribe(topics.RISK_EVENT, lambda _t, e: events.append(e), direct=True)
        await wait_until(lambda: engine.risk.mid(SYMBOL)[0] is not None, 10)
        mid, _ = engine.risk.mid(SYMBOL)
        tick = engine.link.instruments[SYMBOL].tick_size
        price = round(round(mid * 0.99 / tick) * tick, 8)  # type: ignore[operator]
        ack = await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.LIMIT, 0.1, price)
        old_session = engine.link.session_id
        assert engine.link.process is not None
        old_pid = engine.link.process.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        await wait_until(lambda: engine.link.status is not LinkStatus.CONNECTED, 5, "fail-closed")
        with pytest.raises(LinkDown):
            await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.1)
        assert any(e.kind is RiskEventKind.LINK_DOWN for e in events)
        waited = await wait_until(
            lambda: engine.link.status is LinkStatus.CONNECTED, 20, "reconnect"
        )
        print(f"reconnected and reconciled {waited:.2f} s after fail-closed")
        assert engine.link.session_id != old_session
        assert engine.link.process.pid != old_pid
        assert any(e.kind is RiskEventKind.RECONCILED for e in events)
        # The order died with the old core: reconciliation must not leave it "open".
        assert (
            engine.gateway.orders.orders[ack.client_order_id or ""].status is OrderStatus.CANCELED
        )
        await wait_until(lambda: engine.risk.mid(SYMBOL)[0] is not None, 10)
        await engine.commands.submit_order(SYMBOL, Side.BUY, OrderType.MARKET, 0.1)
