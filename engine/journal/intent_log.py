"""OrderIntentLog: an append-only file of the order frames the engine is about to send.

Each line is ``<ts_ns> <frame>``, the frame being the exact NewOrder bytes that
go on the wire. The order-sending code appends the lines of a batch with one
``write(2)`` immediately before the frames leave, so no order reaches the venue
without a record. The write lands in the OS page cache, which survives a crash
or ``kill -9`` of the process (the same guarantee as the SQLite journal with
``synchronous=OFF``; an OS crash or power loss may lose the last lines). It
costs 2-8 µs per batch where a SQLite transaction costs 15-50 µs on the order path.

The ``orders`` table of the SQLite journal receives the same intents a few
milliseconds later; this file is the record that is already there when the
frame is sent. It is rotated (one previous file kept) when it grows past
``rotate_bytes`` at open.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class IntentRecord(msgspec.Struct, frozen=True):
    """One order as it was about to be sent (``ts``: when its line was written)."""

    client_order_id: str
    strategy_id: str
    symbol: str
    side: str
    order_type: str
    qty: float
    price: float | None = None
    time_in_force: str = "GTC"
    post_only: bool = False
    reduce_only: bool = False
    ts: int = 0


_DECODER = msgspec.json.Decoder(IntentRecord)  # the frame's other fields are ignored


class OrderIntentLog:
    """Appends order frames to ``path`` (see the module docstring)."""

    def __init__(self, path: Path, rotate_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > rotate_bytes:
            path.replace(path.with_name(path.name + ".1"))
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.appended = 0
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            os.write(self._fd, b"\n")  # end a line torn by a crash, so the next one stands alone

    def append(self, frames: list[bytes], ts: int) -> None:
        """Append one line per frame, in one write; raises OSError if the disk refuses."""
        if self._fd is None:
            raise OSError(f"intent log {self.path} is closed")
        prefix = b"%d " % ts
        data = b"".join(prefix + frame + b"\n" for frame in frames)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self.appended += len(frames)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_intents(path: Path, since_ns: int | None = None) -> list[IntentRecord]:
    """The intents in the log, oldest first; a torn or malformed line is skipped.

    With ``since_ns`` only the lines stamped at or after it, read from the end of the
    file backwards so that a large log costs only its tail.
    """
    if not path.exists():
        return []
    out: list[IntentRecord] = []
    for line in _lines_since(path, since_ns):
        ts_text, _, frame = line.partition(b" ")
        try:
            record = _DECODER.decode(frame)
            ts = int(ts_text)
        except (msgspec.DecodeError, ValueError):
            continue
        out.append(msgspec.structs.replace(record, ts=ts))
    return out


def _stamp(line: bytes) -> int | None:
    try:
        return int(line.partition(b" ")[0])
    except ValueError:
        return None


def _lines_since(path: Path, since_ns: int | None, block: int = 1 << 20) -> list[bytes]:
    if since_ns is None:
        return path.read_bytes().splitlines()
    kept: list[bytes] = []
    with path.open("rb") as f:
        pos = f.seek(0, os.SEEK_END)
        rest = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            lines = (f.read(step) + rest).split(b"\n")
            rest = lines.pop(0) if pos > 0 else b""  # may be cut: completed by the next block
            for line in reversed(lines):
                stamp = _stamp(line) if line else None
                if stamp is not None and stamp < since_ns:
                    return kept[::-1]
                if line:
                    kept.append(line)
    return kept[::-1]
