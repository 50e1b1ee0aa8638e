"""OrderWriterProcess: the ``orders`` and ``fills`` rows, written by a child process.

On the order path SQLite is the engine loop's largest single cost (about 12 us
an order at 15,000 orders a second). A thread would not help, since binding and
stepping statements need the interpreter lock between rows. So the loop hands each batch
to a child process over a pipe: length-prefixed msgpack, a few microseconds
a batch. The child merges whatever has arrived into one transaction
(``OrderRows``), so a backlog costs fewer commits, not more.

Nothing is lost when the engine dies: the child reads the pipe to its end and
exits. If the child dies, the engine writes the rows itself from then on
(``OrderRows`` in process) and logs it. A full pipe (1 MiB) blocks the loop:
the journal applies back-pressure rather than drop a row.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import msgspec

from engine.journal.intent_log import IntentRecord
from engine.journal.order_rows import OrderRows
from engine.model.commands import NewOrder
from engine.model.events import OrderUpdate

log = logging.getLogger(__name__)


class _Report(msgspec.Struct):
    """An OrderUpdate as the child decodes it (the fields its rows need)."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: str
    order_type: str
    qty: float
    status: str
    cum_qty: float
    avg_price: float
    ts_event: int
    price: float | None = None
    venue_order_id: str | None = None
    reason: str | None = None
    last_qty: float | None = None
    last_price: float | None = None
    fee: float | None = None
    fee_asset: str | None = None
    liquidity: str | None = None
    exec_id: str | None = None
    unsolicited: bool = False


Batch = tuple[list[tuple[IntentRecord, int]], list[_Report]]

_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_PIPE_BYTES = 1 << 20
_HEADER = 4
_ACK = 8  # the child's running count of committed batches
NICENESS = 10


class OrderWriterProcess:
    """The parent's end: sends batches to the child, or writes them itself if it died.

    The child acknowledges each batch it has committed (a running count on its
    stdout); batches not yet acknowledged are kept, and written here if the
    child dies, so a crash of the child loses no row (the writes are idempotent).
    """

    def __init__(self, path: Path, proc: subprocess.Popen[bytes]) -> None:
        self.path = path
        self._proc = proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        self._fd: int | None = proc.stdin.fileno()
        self._ack_fd = proc.stdout.fileno()
        os.set_blocking(self._ack_fd, False)
        self._ack_buf = b""
        self._encoder = msgspec.msgpack.Encoder()
        self._fallback: OrderRows | None = None
        self._unacked: deque[tuple[int, list[tuple[NewOrder, int]], list[OrderUpdate]]] = deque()
        self.batches = 0
        self.acknowledged = 0

    @classmethod
    def start(cls, path: Path) -> OrderWriterProcess:
        # The child imports this package from where the parent did, installed or not.
        source_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.journal.order_writer_child", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # Ctrl+C stops the engine, which then closes the pipe
        )
        assert proc.stdin is not None
        # A 64 KiB pipe (the default, if the larger one is refused) only pushes back sooner.
        with contextlib.suppress(OSError):
            fcntl.fcntl(proc.stdin.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        return cls(path, proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def unacknowledged(self) -> int:
        """Batches sent and not yet acknowledged by the child."""
        return len(self._unacked)

    @property
    def in_process(self) -> bool:
        """True once the child is gone and the rows are written here."""
        return self._fallback is not None

    def write(self, intents: list[tuple[NewOrder, int]], updates: list[OrderUpdate]) -> None:
        if self._fallback is not None or self._fd is None:
            self._rows().write(intents, updates)
            return
        self.batches += 1
        self._unacked.append((self.batches, intents, updates))
        payload = self._encoder.encode((intents, updates))
        data = memoryview(len(payload).to_bytes(_HEADER, "little") + payload)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            log.error("order journal process died (%s): writing order rows in process", exc)
            self._take_over()
            return
        self._read_acks()

    def _read_acks(self) -> None:
        while True:
            try:
                chunk = os.read(self._ack_fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._ack_buf += chunk
        whole = len(self._ack_buf) - len(self._ack_buf) % _ACK
        if whole:
            self.acknowledged = int.from_bytes(self._ack_buf[whole - _ACK : whole], "little")
            self._ack_buf = self._ack_buf[whole:]
        while self._unacked and self._unacked[0][0] <= self.acknowledged:
            self._unacked.popleft()

    def _take_over(self) -> None:
        """Write here every batch the child did not acknowledge, and from now on."""
        self._close_pipe()
        with contextlib.suppress(OSError):
            self._read_acks()
        rows = self._rows()
        while self._unacked:
            _, intents, updates = self._unacked.popleft()
            rows.write(intents, updates)

    def _rows(self) -> OrderRows:
        if self._fallback is None:
            self._fallback = OrderRows(self.path)
        return self._fallback

    def _close_pipe(self) -> None:
        if self._fd is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        self._fd = None

    def close(self, timeout: float = 10.0) -> None:
        """Close the pipe and wait for the child to commit what it holds."""
        self._close_pipe()
        try:
            code = self._proc.wait(timeout)
            if code:
                log.error("order journal process exited with code %s", code)
        except subprocess.TimeoutExpired:
            log.error("order journal process did not finish in %.0f s; killed", timeout)
            self._proc.kill()
            self._proc.wait(5)
        self._read_acks()
        if self._unacked:
            log.error(
                "order journal process left %d batches: writing them here", len(self._unacked)
            )
            self._take_over()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        if self._fallback is not None:
            self._fallback.close()


def serve(path: Path, fd: int = 0, ack_fd: int = 1) -> int:
    """The child: read batches from ``fd`` until it closes, committing as they come.

    After each commit the running count of batches handled goes to ``ack_fd``. A batch
    that cannot be committed is not acknowledged: the child exits, and the engine
    writes it (and what follows) itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A background writer: when the CPUs are contended, the engine loop and the core go
    # first (the pipe absorbs bursts, and pushes back if the journal falls behind).
    os.nice(NICENESS)
    rows = OrderRows(path)
    decoder = msgspec.msgpack.Decoder(Batch)
    buf = bytearray()
    handled = 0
    while True:
        chunk = os.read(fd, _PIPE_BYTES)
        buf += chunk
        intents: list[tuple[IntentRecord, int]] = []
        updates: list[_Report] = []
        start = 0
        count = 0
        while len(buf) - start >= _HEADER:
            n = int.from_bytes(buf[start : start + _HEADER], "little")
            if len(buf) - start - _HEADER < n:
                break
            body = bytes(buf[start + _HEADER : start + _HEADER + n])
            start += _HEADER + n
            count += 1
            try:
                more_intents, more_updates = decoder.decode(body)
            except msgspec.DecodeError as exc:
                log.error("order journal process: bad batch skipped: %s", exc)
                continue
            intents += more_intents
            updates += more_updates
        del buf[:start]
        if (intents or updates) and not _commit(rows, intents, updates):
            rows.close()
            return 1
        if count:
            handled += count
            os.write(ack_fd, handled.to_bytes(_ACK, "little"))
        if not chunk:
            break
    rows.close()
    return 0


def _commit(
    rows: OrderRows, intents: list[tuple[IntentRecord, int]], updates: list[_Report]
) -> bool:
    for attempt in range(3):
        try:
            rows.write(intents, updates)
            return True
        except sqlite3.Error as exc:
            log.error("order journal process: commit failed (attempt %d): %s", attempt + 1, exc)
            time.sleep(0.05 * (attempt + 1))
    log.error(
        "order journal process: %d orders and %d reports not committed; leaving them to the engine",
        len(intents),
        len(updates),
    )
    return False
