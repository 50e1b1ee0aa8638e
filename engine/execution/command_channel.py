"""CommandChannel: the command/report socket, owned by the engine's event loop.

Orders leave and reports arrive on the loop's own thread, so the order path
has no thread hand-offs: the DEALER's file descriptor is registered with the
loop (``add_reader``) and drained when it signals. ZeroMQ's descriptor is
edge-like (it signals a change, not a level), so the channel drains until
EAGAIN and re-checks after every send. Order frames are appended to the
intent log, one write per batch, immediately before they are sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, cast

import zmq

from engine.core.clock import Clock
from engine.execution import protocol
from engine.journal.intent_log import OrderIntentLog

log = logging.getLogger(__name__)

_POLLIN = int(zmq.POLLIN)  # plain ints: IntFlag arithmetic is slow on the hot path
_NOBLOCK = int(zmq.NOBLOCK)

# The core reads at most 1,024 envelopes from one frame; commands are a few hundred bytes,
# so a full frame stays far below ZeroMQ's message limit on the core (4 MiB).
MAX_ENVELOPES_PER_FRAME = 256
# A burst leaves in frames of this many commands, so that the core works on the first
# while the loop is still producing the next (one frame per turn made the two alternate).
FLUSH_AT = 32

FrameBatch = list[Any]  # decoded replies/reports, or ProtocolError instances


class CommandChannel:
    """DEALER to Cerebellum's ROUTER, driven by the asyncio loop."""

    def __init__(
        self,
        ctx: zmq.Context[Any],
        endpoint: str,
        loop: asyncio.AbstractEventLoop,
        on_frames: Callable[[FrameBatch], None],
        intent_log: OrderIntentLog | None,
        clock: Clock,
    ) -> None:
        self._loop = loop
        self._clock = clock
        self._on_frames = on_frames
        self._intents = intent_log
        self._sock: zmq.Socket[Any] = ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.IMMEDIATE, 1)  # never queue commands for a core that is not there
        self._sock.setsockopt(zmq.SNDHWM, 100_000)
        self._sock.setsockopt(zmq.RCVHWM, 100_000)
        self._sock.setsockopt(
            zmq.ROUTING_ID, f"engine-{os.getpid()}-{os.urandom(3).hex()}".encode()
        )
        self._sock.connect(endpoint)
        self._fd: int = self._sock.getsockopt(zmq.FD)
        self._outbox: list[tuple[bytes, bool]] = []
        self.flush_at = FLUSH_AT
        self._flush_scheduled = False
        self._drain_scheduled = False
        self.last_rx_ns = 0
        self.frames_received = 0
        self.unsent = 0
        loop.add_reader(self._fd, self._drain)

    def send(self, frame: bytes, is_order: bool = False, *, batch: bool = False) -> None:
        """Send a frame (an order's frame is appended to the intent log first).

        With ``batch`` the frame waits for the end of the current loop turn or until
        ``flush_at`` frames are waiting, so a burst of orders shares one message and
        one intent-log write; otherwise it leaves now.
        """
        self._outbox.append((frame, is_order))
        if not batch or len(self._outbox) >= self.flush_at:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._outbox = self._outbox, []
        if self._intents is not None:
            orders = [frame for frame, is_order in batch if is_order]
            if orders:
                self._intents.append(orders, self._clock.timestamp_ns())
        sock = self._sock
        # One message per batch, one envelope per line (the core answers each line).
        for start in range(0, len(batch), MAX_ENVELOPES_PER_FRAME):
            chunk = batch[start : start + MAX_ENVELOPES_PER_FRAME]
            message = chunk[0][0] if len(chunk) == 1 else b"\n".join(f for f, _ in chunk)
            try:
                sock.send(message, _NOBLOCK)
            except zmq.Again:
                self.unsent += len(chunk)
                log.warning("%d commands not sent: no connection to cerebellum_core", len(chunk))
        # A send can consume the descriptor's edge: look for already queued replies.
        if cast(int, sock.getsockopt(zmq.EVENTS)) & _POLLIN:
            self._schedule_drain()

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        batch: FrameBatch = []
        sock = self._sock
        decode = protocol.decode_frame
        frames = 0
        # Asking EVENTS costs ~2 µs, a read that finds nothing ~4 µs (pyzmq raises zmq.Again):
        # ask while frames trickle in (an order's answer), read until Again in a burst.
        # At most ~1000 envelopes per loop turn (a replay arrives as hundreds per frame).
        while frames < 1_000 and len(batch) < 1_000:
            if frames < 2:
                if not cast(int, sock.getsockopt(zmq.EVENTS)) & _POLLIN:
                    break
                frame = sock.recv(_NOBLOCK)
            else:
                try:
                    frame = sock.recv(_NOBLOCK)
                except zmq.Again:
                    break
            frames += 1
            # The core joins the envelopes for one peer with newlines (an Ack and its fills).
            batch += decode(frame)
        self.frames_received += frames
        if not batch:
            return
        self.last_rx_ns = self._clock.monotonic_ns()
        self._on_frames(batch)
        if frames >= 1_000 or len(batch) >= 1_000:
            self._schedule_drain()

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        self._sock.close(0)
        if self._intents is not None:
            self._intents.close()
