"""Order round trip through the order gateway and the real link, sim events/s, a ZeroMQ floor.

Orders take the path every strategy takes: the OrderGateway (pre-trade checks
with the limits opened up, order tracker, portfolio, journal) and then the
CerebellumLink.

(a) engine -> core -> fill report back, one order in flight, p50/p99 over N orders;
(b) sustained orders/s with a window of orders in flight;
(c) the sim venue's book events/s in fast-forward on one core (cerebellum_core bench-sim);
(d) a bare pyzmq DEALER/ROUTER echo between two processes on the same transport.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from engine.assembly import build_engine
from engine.config import CrucibleConfig, config_with_overrides, load_config
from engine.core import busy_poll
from engine.core.ids import ClientOrderIdGenerator
from engine.execution.process import resolve_binary
from engine.model.commands import NewOrder
from engine.model.enums import OrderStatus, OrderType, Side
from engine.model.events import Fill, OrderUpdate

_ECHO_SERVER = textwrap.dedent(
    """
    import sys, zmq
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.bind(sys.argv[1])
    print("READY", flush=True)
    while True:
        ident, msg = s.recv_multipart()
        if msg == b"quit":
            break
        s.send_multipart([ident, msg])
    """
)


def _bench_config(tmp: Path) -> CrucibleConfig:
    """Limits opened up so that the benchmark measures the path, not the throttles."""
    return config_with_overrides(
        {
            "risk": {
                "max_orders_per_sec_total": 1e6,
                "strategy": {
                    "max_orders_per_sec": 1e6,
                    "max_position_notional": 1e9,
                    "daily_loss_limit": 1e9,
                },
                "daily_loss_limit": 1e9,
                "max_drawdown_pct": 0.99,
                "max_order_notional": 1e9,
                "max_position_notional": 1e9,
                "max_total_exposure": 1e9,
            },
            "cerebellum": {
                "core": {
                    "risk": {
                        "duplicate_window_ms": 0,
                        "max_orders_per_sec_strategy": 1_000_000,
                        "max_orders_per_sec_total": 1_000_000,
                    }
                }
            },
            "engine": {"log_level": "WARNING"},
            "deployment": {"enabled": False},
            "watchtower": {"enabled": False},
        },
        root=tmp,
    )


_TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED)


async def _order_round_trips(n: int, window: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="crucible-bench-") as tmp:
        engine = build_engine(_bench_config(Path(tmp)))
        await engine.start()
        try:
            gateway = engine.gateway
            inst = gateway.instruments["BTC/USDT"]
            ids = ClientOrderIdGenerator("B")
            # Called by the gateway for every report of the bench's orders, like an agent's callback.
            on_done: list[Callable[[str], None]] = [lambda _cid: None]

            def on_update(update: OrderUpdate, _fill: Fill | None) -> None:
                if update.status in _TERMINAL:
                    on_done[0](update.client_order_id)

            gateway.register_strategy("bench", on_update)
            await asyncio.sleep(1.0)  # books warm up
            rtts = await _one_at_a_time(gateway, ids, inst.min_qty, on_done, n)
            throughput = await _pipelined(gateway, ids, inst.min_qty, on_done, n, window)
        finally:
            await engine.stop()
    return {
        "order_rtt_p50_us": float(np.percentile(rtts, 50)),
        "order_rtt_p99_us": float(np.percentile(rtts, 99)),
        "order_rtt_mean_us": float(rtts.mean()),
        "orders_per_s": float(throughput),
    }


def _market_order(ids: ClientOrderIdGenerator, i: int, qty: float) -> NewOrder:
    side = Side.BUY if i % 2 == 0 else Side.SELL
    return NewOrder(ids.next(), "bench", "BTC/USDT", side, OrderType.MARKET, qty)


async def _one_at_a_time(
    gateway: Any, ids: ClientOrderIdGenerator, qty: float, on_done: list[Any], n: int
) -> Any:
    """Round trips in µs (after 200 warm-up orders): submit, then await the final report."""
    loop = asyncio.get_running_loop()
    done: dict[str, asyncio.Future[float]] = {}

    def finished(cid: str) -> None:
        fut = done.pop(cid, None)
        if fut is not None and not fut.done():
            fut.set_result(time.perf_counter())

    on_done[0] = finished
    samples = []
    for i in range(n + 200):
        order = _market_order(ids, i, qty)
        fut: asyncio.Future[float] = loop.create_future()
        done[order.client_order_id] = fut
        t0 = time.perf_counter()
        await gateway.submit(order)
        if i >= 200:
            samples.append((await fut) - t0)
        else:
            await fut
    return np.array(samples) * 1e6


async def _pipelined(
    gateway: Any, ids: ClientOrderIdGenerator, qty: float, on_done: list[Any], n: int, window: int
) -> float:
    """Keep ``window`` orders in flight: each final report sends the next; orders per second."""
    finished = asyncio.Event()
    state = {"sent": 0, "completed": 0}

    def send_one() -> None:
        i = state["sent"]
        state["sent"] += 1
        gateway.submit_nowait(_market_order(ids, i, qty))

    def completed(_cid: str) -> None:
        state["completed"] += 1
        if state["completed"] >= n:
            finished.set()
        elif state["sent"] < n:
            send_one()

    on_done[0] = completed
    t0 = time.perf_counter()
    for _ in range(min(window, n)):
        send_one()
    await asyncio.wait_for(finished.wait(), 120)
    return n / (time.perf_counter() - t0)


def _zmq_echo(n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="crucible-echo-") as tmp:
        endpoint = f"ipc://{tmp}/echo.sock"
        server = subprocess.Popen(
            [sys.executable, "-c", _ECHO_SERVER, endpoint], stdout=subprocess.PIPE, text=True
        )
        assert server.stdout is not None
        server.stdout.readline()
        ctx = zmq.Context()
        dealer = ctx.socket(zmq.DEALER)
        dealer.connect(endpoint)
        payload = b'{"v":1,"type":"Heartbeat","req_id":1,"ts_init":0,"loop_age_ms":0}'
        samples = []
        for i in range(n + 200):
            t0 = time.perf_counter()
            dealer.send(payload)
            dealer.recv()
            if i >= 200:
                samples.append(time.perf_counter() - t0)
        dealer.send(b"quit")
        dealer.close(0)
        ctx.term()
        server.wait(5)
    return float(np.percentile(np.array(samples) * 1e6, 50))


def _sim_events_per_s(seconds: float) -> dict[str, Any]:
    binary = resolve_binary(load_config())
    out = subprocess.run(
        [str(binary), "bench-sim", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    n = 1_000 if args.quick else 10_000
    link = busy_poll.run(_order_round_trips(n, window=64))
    echo = _zmq_echo(n)
    sim = _sim_events_per_s(600.0 if args.quick else 3_600.0)
    result = {
        "bench": "link",
        "orders": n,
        **link,
        "zmq_echo_rtt_p50_us": echo,
        "rtt_vs_echo": link["order_rtt_p50_us"] / echo,
        "sim_events_per_s": float(sim["sim_events_per_s"]),
    }
    print(
        f"order round trip p50 {link['order_rtt_p50_us']:.0f} µs, p99 {link['order_rtt_p99_us']:.0f} µs "
        f"({result['rtt_vs_echo']:.2f}x a bare zmq echo of {echo:.0f} µs); "
        f"{link['orders_per_s']:,.0f} orders/s; sim {result['sim_events_per_s']:,.0f} events/s"
    )
    return result
