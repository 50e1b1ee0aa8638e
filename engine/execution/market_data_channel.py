"""MarketDataChannel: the venue's PUB stream, read on the engine's event loop.

Market data is decoded where it is consumed: reading it on another thread
would make that thread compete for the interpreter lock exactly when the
reports of an order arrive (every fill also produces a trade on the stream).
The SUB descriptor is registered with the loop and drained until EAGAIN,
in batches of at most 1,000 messages so that a burst cannot starve the loop.

Market data yields to the order path: when the descriptor fires, the drain
waits two loop turns, so the order reports read in the same turn and the
tasks they wake (an agent awaiting its fill) run first. Every fill also
prints a trade on this stream, so without the deferral each order's round
trip would include the decoding and routing of its own trade.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import zmq

from engine.core.clock import Clock
from engine.execution import protocol
from engine.execution.market_data_wire import decode_market_data
from engine.model.market import BookSnapshot, Trade

log = logging.getLogger(__name__)

_POLLIN = int(zmq.POLLIN)  # a plain int: IntFlag arithmetic is slow on the hot path

MAX_BATCH = 1_000


class MarketDataChannel:
    """SUB to Cerebellum's PUB, driven by the asyncio loop."""

    def __init__(
        self,
        ctx: zmq.Context[Any],
        endpoint: str,
        loop: asyncio.AbstractEventLoop,
        on_market_data: Callable[[list[BookSnapshot | Trade]], None],
        clock: Clock,
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._on_md = on_market_data
        self._sock: zmq.Socket[Any] = ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.RCVHWM, 100_000)
        self._sock.setsockopt(zmq.SUBSCRIBE, b"md.")
        self._sock.connect(endpoint)
        self._fd: int = self._sock.getsockopt(zmq.FD)
        self._scheduled = False
        self.received = 0
        self.errors = 0
        loop.add_reader(self._fd, self._on_readable)

    def _on_readable(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._loop.call_soon, self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        sock = self._sock
        if sock.closed:  # a drain scheduled just before close()
            return
        batch: list[BookSnapshot | Trade] = []
        ts_init = self._clock.timestamp_ns()
        decode = decode_market_data
        n = 0
        while n < MAX_BATCH and cast(int, sock.getsockopt(zmq.EVENTS)) & _POLLIN:
            parts = sock.recv_multipart(zmq.NOBLOCK)
            n += 1
            if len(parts) != 2:
                self.errors += 1
                continue
            body = parts[1]
            # A symbol's trades of one core turn share a message, one envelope per line.
            for envelope in body.split(b"\n") if b"\n" in body else (body,):
                try:
                    batch.append(decode(envelope, ts_init))
                except protocol.ProtocolError as exc:
                    self.errors += 1
                    if self.errors <= 10:
                        log.warning("bad market data envelope: %s", exc)
        self.received += n
        if batch:
            self._on_md(batch)
        if n >= MAX_BATCH and not self._scheduled:
            # More may be queued; continue on the next loop turn (the descriptor will not re-fire).
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        self._sock.close(0)
