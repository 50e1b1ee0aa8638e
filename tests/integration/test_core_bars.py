"""Warm-up bars: the real engine asks the real cerebellum_core for recent 1m bars.

The simulated venue backfills ``sim.backfill_minutes`` (default 2600) before real
time starts, so a fresh engine can warm the default feature set up at once
(about 2,220 bars) plus the 300 rows agents keep (docs/protocol.md, ``Bars``).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

from engine.execution import protocol
from engine.model.market import Bar
from tests.kit.engine_harness import running_engine

SYMBOL = "BTC/USDT"
WANTED = 2600
MINUTE_NS = 60_000_000_000


def _assert_warm_up_bars(bars: list[Any], ts_open: list[int], prices: list[list[float]]) -> None:
    assert len(bars) == WANTED
    assert all(b - a == MINUTE_NS for a, b in itertools.pairwise(ts_open)), (
        "open times are not consecutive minutes"
    )
    assert all(t % MINUTE_NS == 0 for t in ts_open)
    # The newest is the last minute that has ended.
    now_ns = time.time_ns()
    assert ts_open[-1] + MINUTE_NS <= now_ns < ts_open[-1] + 2 * MINUTE_NS + 10 * 10**9
    for row in prices:
        assert all(math.isfinite(p) and p > 0 for p in row), row
        o, h, lo, c = row
        assert lo <= min(o, c), row
        assert h >= max(o, c), row


async def test_gateway_recent_bars_returns_2600_minutes_at_start(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    t0 = time.monotonic()
    async with running_engine(tmp_path, cerebellum_binary) as engine:
        started = time.monotonic() - t0
        bars: list[Bar] = await engine.gateway.recent_bars(SYMBOL, "1m", WANTED)
    print(f"engine started in {started:.2f} s; {len(bars)} bars")
    _assert_warm_up_bars(
        bars,
        [b.ts_open for b in bars],
        [[b.open, b.high, b.low, b.close] for b in bars],
    )


async def test_core_serves_2600_minutes_in_pages_over_the_engine_link(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    """The same 2600 bars through the engine's link, newest page first, each page the
    bars that opened before the previous one (every reply within 64 KiB)."""

    async def page(link: Any, limit: int, before_ms: int | None) -> protocol.BarsReport:
        def encode(req_id: int) -> bytes:
            body: dict[str, Any] = {
                "v": 1,
                "type": "Bars",
                "req_id": req_id,
                "symbol": SYMBOL,
                "timeframe": "1m",
                "limit": limit,
            }
            if before_ms is not None:
                body["before_ms"] = before_ms
            return json.dumps(body, separators=(",", ":")).encode()

        reply = await link.request(encode)
        assert isinstance(reply, protocol.BarsReport), reply
        return reply

    async with running_engine(tmp_path, cerebellum_binary) as engine:
        rows: list[tuple[Any, ...]] = []
        requests = 0
        while len(rows) < WANTED and requests < 10:
            before = rows[0][0] if rows else None
            reply = await page(engine.link, WANTED - len(rows), before)
            requests += 1
            if not reply.bars:
                break
            rows[:0] = reply.bars
    print(f"{len(rows)} bars in {requests} requests")
    assert requests <= 4
    _assert_warm_up_bars(
        rows,
        [r[0] * 1_000_000 for r in rows],
        [[r[1], r[2], r[3], r[4]] for r in rows],
    )
    assert all(r[5] >= 0 and r[6] is not None and r[6] >= 0 for r in rows)
