"""Event bus throughput: messages per second through a queued subscriber."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import numpy as np

from engine.core import topics
from engine.core.bus import EventBus
from engine.core.tasks import TaskSupervisor
from engine.model.enums import Side
from engine.model.market import Trade


async def _measure(n: int) -> float:
    sup = TaskSupervisor()
    bus = EventBus(sup, md_queue_size=n + 1)
    received = 0

    def on_trade(_topic: str, _msg: Any) -> None:
        nonlocal received
        received += 1

    bus.subscribe(topics.all_of("md.trade"), on_trade, name="bench")
    msg = Trade("BTC/USDT", 0, 0, 60000.0, 0.1, Side.BUY, "t")
    topic = topics.md_trade("BTC/USDT")
    t0 = time.perf_counter()
    for _ in range(n):
        bus.publish(topic, msg)
    await bus.flush(timeout=60)
    elapsed = time.perf_counter() - t0
    await sup.stop()
    assert received == n
    return n / elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    n = 20_000 if args.quick else 200_000
    rates = [asyncio.run(_measure(n)) for _ in range(3)]
    print(f"bus: {n} messages x 3 runs: {[f'{r:,.0f}/s' for r in rates]}")
    return {"bench": "bus", "bus_msgs_per_s_median": float(np.median(rates)), "messages": n}
