"""LinkIo: the link's socket I/O on its own thread.

A slow GUI frame or a busy event loop delays neither heartbeats nor reports:
this thread owns the DEALER (commands/reports) and SUB (market data) sockets,
writes order intents to the journal just before sending them, sends
heartbeats carrying the engine loop's last-tick age, decodes every frame, and
hands decoded batches to the engine loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import zmq

from engine.execution import protocol
from engine.journal.writer import OrderIntentWriter
from engine.model.commands import NewOrder

log = logging.getLogger(__name__)

FrameBatch = list[Any]  # decoded replies/reports, or ProtocolError instances


class LinkIo(threading.Thread):
    """Socket I/O thread of the CerebellumLink."""

    def __init__(
        self,
        *,
        ctx: zmq.Context[Any],
        cmd_endpoint: str,
        md_endpoint: str,
        loop: asyncio.AbstractEventLoop,
        on_frames: Callable[[FrameBatch], None],
        on_market_data: Callable[[FrameBatch], None],
        heartbeat_interval_s: float,
        loop_age_ms: Callable[[], float],
        intent_writer: OrderIntentWriter | None,
        req_ids: itertools.count[int],
    ) -> None:
        super().__init__(name="cerebellum-link-io", daemon=True)
        self._ctx = ctx
        self._cmd_endpoint = cmd_endpoint
        self._md_endpoint = md_endpoint
        self._loop = loop
        self._on_frames = on_frames
        self._on_md = on_market_data
        self._hb_interval_ns = int(heartbeat_interval_s * 1e9)
        self._loop_age_ms = loop_age_ms
        self._intents = intent_writer
        self._req_ids = req_ids
        self._outbox: queue.SimpleQueue[tuple[bytes, NewOrder | None]] = queue.SimpleQueue()
        self._wake_endpoint = f"inproc://link-wake-{id(self)}"
        self._bound = threading.Event()
        self._stopping = False
        self._wake_lock = threading.Lock()
        self._wake_sock: zmq.Socket[Any] | None = None
        self._hb_sent: dict[int, int] = {}
        # Read by the engine loop (plain attribute reads are atomic under the GIL).
        self.last_rx_ns = 0
        self.last_heartbeat_reply_ns = 0
        self.rtt_us: float | None = None
        self.md_received = 0
        self.md_errors = 0
        self.frames_received = 0
        self.errors: list[str] = []

    # -- called from the engine loop -------------------------------------------
    def start_and_wait(self, timeout: float = 5.0) -> None:
        self.start()
        if not self._bound.wait(timeout):
            raise RuntimeError("link I/O thread did not start")
        sock = self._ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self._wake_endpoint)
        self._wake_sock = sock

    def send(self, frame: bytes, intent: NewOrder | None = None) -> None:
        """Queue a frame for sending (an order's intent is journaled first, on the I/O thread)."""
        self._outbox.put((frame, intent))
        self._wake()

    def _wake(self) -> None:
        # A full wake queue already guarantees a wake-up; the frame itself is in the outbox.
        with self._wake_lock, contextlib.suppress(zmq.Again):
            if self._wake_sock is not None:
                self._wake_sock.send(b"", zmq.NOBLOCK)

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping = True
        self._wake()
        self.join(timeout)
        with self._wake_lock:
            if self._wake_sock is not None:
                self._wake_sock.close(0)
                self._wake_sock = None

    # -- the thread ---------------------------------------------------------------
    def run(self) -> None:
        dealer = self._ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.IMMEDIATE, 1)  # never queue commands for a core that is not there
        dealer.setsockopt(zmq.ROUTING_ID, f"engine-{os.getpid()}-{os.urandom(3).hex()}".encode())
        dealer.connect(self._cmd_endpoint)
        sub = self._ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 100_000)
        sub.setsockopt(zmq.SUBSCRIBE, b"md.")
        sub.connect(self._md_endpoint)
        wake = self._ctx.socket(zmq.PULL)
        wake.setsockopt(zmq.LINGER, 0)
        wake.bind(self._wake_endpoint)
        self._bound.set()
        poller = zmq.Poller()
        poller.register(dealer, zmq.POLLIN)
        poller.register(sub, zmq.POLLIN)
        poller.register(wake, zmq.POLLIN)
        next_hb = time.monotonic_ns()
        try:
            while not self._stopping:
                now = time.monotonic_ns()
                if now >= next_hb:
                    self._send_heartbeat(dealer, now)
                    next_hb = now + self._hb_interval_ns
                timeout_ms = max(0, (next_hb - now) // 1_000_000) + 1
                events = dict(poller.poll(timeout_ms))
                if wake in events:
                    self._drain_wake(wake)
                    self._flush_outbox(dealer)
                if dealer in events:
                    self._read_commands(dealer)
                if sub in events:
                    self._read_market_data(sub)
        except Exception as exc:  # the thread must report, not vanish
            log.exception("link I/O thread failed")
            self.errors.append(repr(exc))
        finally:
            for sock in (dealer, sub, wake):
                sock.close(0)
            if self._intents is not None:
                self._intents.close()

    def _drain_wake(self, wake: zmq.Socket[Any]) -> None:
        while True:
            try:
                wake.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def _flush_outbox(self, dealer: zmq.Socket[Any]) -> None:
        batch: list[tuple[bytes, NewOrder | None]] = []
        while True:
            try:
                batch.append(self._outbox.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        intents = [intent for _, intent in batch if intent is not None]
        if intents and self._intents is not None:
            self._intents.write(intents, time.time_ns())
        for frame, _ in batch:
            try:
                dealer.send(frame, zmq.NOBLOCK)
            except zmq.Again:
                log.warning("command not sent: no connection to cerebellum_core")

    def _send_heartbeat(self, dealer: zmq.Socket[Any], now: int) -> None:
        req_id = next(self._req_ids)
        self._hb_sent[req_id] = now
        if len(self._hb_sent) > 64:  # replies that never came
            for old in sorted(self._hb_sent)[:-32]:
                del self._hb_sent[old]
        frame = protocol.encode_heartbeat(req_id, time.time_ns(), self._loop_age_ms())
        # Not connected: the silence is detected by the engine loop.
        with contextlib.suppress(zmq.Again):
            dealer.send(frame, zmq.NOBLOCK)

    def _read_commands(self, dealer: zmq.Socket[Any]) -> None:
        batch: FrameBatch = []
        while True:
            try:
                frame = dealer.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            now = time.monotonic_ns()
            self.last_rx_ns = now
            self.frames_received += 1
            try:
                msg = protocol.decode_message(frame)
            except protocol.ProtocolError as exc:
                batch.append(exc)
                continue
            if isinstance(msg, protocol.HeartbeatReply):
                self.last_heartbeat_reply_ns = now
                sent = self._hb_sent.pop(msg.req_id, None)
                if sent is not None:
                    self.rtt_us = (now - sent) / 1e3
            batch.append(msg)
        if batch:
            self._loop.call_soon_threadsafe(self._on_frames, batch)

    def _read_market_data(self, sub: zmq.Socket[Any]) -> None:
        batch: FrameBatch = []
        ts_init = time.time_ns()
        for _ in range(1_000):
            try:
                parts = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.md_received += 1
            if len(parts) != 2:
                self.md_errors += 1
                continue
            try:
                batch.append(protocol.decode_market_data(parts[1], ts_init))
            except protocol.ProtocolError as exc:
                self.md_errors += 1
                if self.md_errors <= 10:
                    log.warning("bad market data frame: %s", exc)
        if batch:
            self._loop.call_soon_threadsafe(self._on_md, batch)
