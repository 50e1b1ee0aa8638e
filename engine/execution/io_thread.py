"""LinkIo: heartbeats on their own thread.

A slow GUI frame or a busy event loop does not delay heartbeats: this thread
owns a second DEALER used only for Heartbeat, each carrying the engine loop's
last-tick age, so a frozen engine still trips the dead-man's switch. Replies
are handed to the engine loop with ``call_soon_threadsafe``. Orders, reports
and market data travel on the loop's own channels.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from engine.core.clock import Clock
from engine.execution import protocol

log = logging.getLogger(__name__)


class LinkIo(threading.Thread):
    """Heartbeat and market-data I/O thread of the CerebellumLink."""

    def __init__(
        self,
        *,
        ctx: zmq.Context[Any],
        cmd_endpoint: str,
        loop: asyncio.AbstractEventLoop,
        on_heartbeat: Callable[[protocol.HeartbeatReply], None],
        heartbeat_interval_s: float,
        loop_age_ms: Callable[[], float],
        req_ids: itertools.count[int],
        clock: Clock,
    ) -> None:
        super().__init__(name="cerebellum-link-io", daemon=True)
        self._ctx = ctx
        self._cmd_endpoint = cmd_endpoint
        self._loop = loop
        self._on_heartbeat = on_heartbeat
        self._hb_interval_ns = int(heartbeat_interval_s * 1e9)
        self._loop_age_ms = loop_age_ms
        self._req_ids = req_ids
        self._clock = clock
        self._started = threading.Event()
        self._stopping = False
        self._hb_sent: dict[int, int] = {}
        # Read by the engine loop (plain attribute reads are atomic under the GIL).
        self.last_heartbeat_reply_ns = 0
        self.rtt_us: float | None = None
        self.errors: list[str] = []

    def start_and_wait(self, timeout: float = 5.0) -> None:
        self.start()
        if not self._started.wait(timeout):
            raise RuntimeError("link I/O thread did not start")

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping = True
        self.join(timeout)

    def run(self) -> None:
        hb = self._ctx.socket(zmq.DEALER)
        hb.setsockopt(zmq.LINGER, 0)
        hb.setsockopt(zmq.IMMEDIATE, 1)
        hb.connect(self._cmd_endpoint)
        poller = zmq.Poller()
        poller.register(hb, zmq.POLLIN)
        self._started.set()
        next_hb = time.monotonic_ns()
        try:
            while not self._stopping:
                now = time.monotonic_ns()
                if now >= next_hb:
                    self._send_heartbeat(hb, now)
                    next_hb = now + self._hb_interval_ns
                # Wake at least every 50 ms so that stop() is noticed promptly.
                timeout_ms = min(max(0, (next_hb - now) // 1_000_000) + 1, 50)
                events = dict(poller.poll(timeout_ms))
                if hb in events:
                    self._read_heartbeats(hb)
        except Exception as exc:  # the thread must report, not vanish
            log.exception("link I/O thread failed")
            self.errors.append(repr(exc))
        finally:
            hb.close(0)

    def _send_heartbeat(self, hb: zmq.Socket[Any], now: int) -> None:
        req_id = next(self._req_ids)
        self._hb_sent[req_id] = now
        if len(self._hb_sent) > 64:  # replies that never came
            for old in sorted(self._hb_sent)[:-32]:
                del self._hb_sent[old]
        frame = protocol.encode_heartbeat(req_id, self._clock.timestamp_ns(), self._loop_age_ms())
        # Not connected: the silence is detected by the engine loop.
        with contextlib.suppress(zmq.Again):
            hb.send(frame, zmq.NOBLOCK)

    def _read_heartbeats(self, hb: zmq.Socket[Any]) -> None:
        while True:
            try:
                frame = hb.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            now = time.monotonic_ns()
            for envelope in frame.split(b"\n"):
                self._on_envelope(envelope, now)

    def _on_envelope(self, envelope: bytes, now: int) -> None:
        try:
            msg = protocol.decode_message(envelope)
        except protocol.ProtocolError as exc:
            log.warning("malformed heartbeat reply: %s", exc)
            return
        if isinstance(msg, protocol.HeartbeatReply):
            # On the engine's clock, which the link compares it with (silence detection);
            # the pacing and the round trip of heartbeats are real time.
            self.last_heartbeat_reply_ns = self._clock.monotonic_ns()
            sent = self._hb_sent.pop(msg.req_id, None)
            if sent is not None:
                self.rtt_us = (now - sent) / 1e3
            self._loop.call_soon_threadsafe(self._on_heartbeat, msg)
