"""Recent closed bars from the venue, read backwards in pages.

One reply holds about 1,000 bars (a message is at most 64 KiB), so a longer
history is read in pages going backwards with ``before_ms`` (docs/protocol.md,
``Bars``): each page ends just before the oldest bar already read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from engine.core.errors import OrderRejected
from engine.execution import protocol
from engine.model.market import Bar

PAGE = 1_000

Request = Callable[[Callable[[int], bytes]], Awaitable[Any]]


async def read_recent_bars(request: Request, symbol: str, timeframe: str, limit: int) -> list[Bar]:
    """Up to ``limit`` of the latest closed bars of ``symbol``, oldest first."""
    rows: list[tuple[int, float, float, float, float, float, int | None]] = []
    tf = timeframe
    while len(rows) < limit:
        before = rows[0][0] if rows else None
        encode = partial(
            _encode,
            symbol=symbol,
            timeframe=timeframe,
            limit=min(limit - len(rows), PAGE),
            before=before,
        )
        reply = await request(encode)
        if isinstance(reply, protocol.Reject):
            raise OrderRejected(reply.code, reply.reason)
        if not isinstance(reply, protocol.BarsReport):
            raise OrderRejected("UNEXPECTED", f"expected BarsReport, got {type(reply).__name__}")
        tf = reply.timeframe
        page = [r for r in reply.bars if before is None or r[0] < before]
        if not page:
            break
        rows[:0] = page
    return [
        Bar(symbol, tf, ts_ms * 1_000_000, o, h, lo, c, v, trades or 0, True)
        for ts_ms, o, h, lo, c, v, trades in rows[-limit:]
    ]


def _encode(req_id: int, *, symbol: str, timeframe: str, limit: int, before: int | None) -> bytes:
    return protocol.encode_bars(req_id, symbol, timeframe, limit, before)
