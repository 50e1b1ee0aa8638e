"""ReplaySource: recorded files played back as a MarketDataSource.

Formats are recognised by content: raw Binance websocket captures
(``<ns> {json}`` lines), wire-format JSON lines (``{"v":1,...}``, e.g. the
simulator's ``--l2-out``), and Crucible's own Parquet recordings (a file or a
folder). Files are read in a worker thread in batches, so a large file never
blocks the event loop. ``speed`` 0 plays as fast as possible; otherwise the
gaps between ``ts_event`` are slept, divided by ``speed``. With a
``SimClock`` the clock follows the replayed ``ts_event`` (so the replay runs
fast-forward whatever the speed). ``ts_init`` is
re-stamped with the engine clock (it means "received by the engine").
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Final

from msgspec.structs import replace

from engine.core.clock import Clock, SimClock
from engine.core.errors import DataError
from engine.marketdata.recording import read_l2_parquet
from engine.marketdata.replay import MarketRecord, read_binance_capture, read_l2_jsonl
from engine.marketdata.source import MarketEvent
from engine.model.events import BookStatus
from engine.model.market import BookSnapshot

log = logging.getLogger(__name__)

_BATCH: Final = 2_000


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    return str(line).lstrip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read recording {path}: {exc}") from None
    return ""


def recording_format(path: Path | str) -> str:
    """``parquet``, ``jsonl`` (wire format) or ``binance`` (raw capture), from the content."""
    path = Path(path)
    if path.is_dir() or path.suffix == ".parquet":
        return "parquet"
    if not path.is_file():
        raise DataError(f"recording {path} does not exist")
    head = _first_line(path)
    if head.startswith("{"):
        return "jsonl"
    if head[:1].isdigit():
        return "binance"
    raise DataError(f"{path}: not a Binance capture, wire JSON lines or a Parquet recording")


def open_recording(path: Path | str, *, depth: int = 20) -> Iterator[MarketRecord]:
    """Iterate any supported recording at ``path``.

    Snapshots rebuilt from a Binance capture get ``seq`` 0: their update ids
    are not contiguous per message, and the capture reader has already
    checked the diff sequence (a break yields a stale ``BookStatus``).
    """
    fmt = recording_format(path)
    if fmt == "parquet":
        return read_l2_parquet(path)
    if fmt == "jsonl":
        return read_l2_jsonl(path)
    return (
        replace(r, seq=0) if isinstance(r, BookSnapshot) else r
        for r in read_binance_capture(path, depth=depth)
    )


class ReplaySource:
    """Plays recorded files, one after another, as normalized market data."""

    def __init__(
        self, paths: Sequence[Path | str], clock: Clock, *, speed: float = 0.0, depth: int = 20
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.name = "replay"
        self.paths = [Path(p) for p in paths]
        self.clock = clock
        self.speed = speed
        self.depth = depth
        self.played = 0
        self._closed = False

    async def close(self) -> None:
        self._closed = True

    def _stamp(self, record: MarketRecord) -> MarketEvent:
        if isinstance(self.clock, SimClock) and record.ts_event > self.clock.timestamp_ns():
            self.clock.set(record.ts_event)
        if isinstance(record, BookStatus):
            return record
        return replace(record, ts_init=self.clock.timestamp_ns())

    async def events(self) -> AsyncIterator[MarketEvent]:
        first_event: int | None = None
        started = self.clock.monotonic_ns()
        for path in self.paths:
            records = open_recording(path, depth=self.depth)
            while not self._closed:
                batch = await asyncio.to_thread(list, itertools.islice(records, _BATCH))
                if not batch:
                    break
                for record in batch:
                    if self._closed:
                        return
                    if self.speed > 0:
                        first_event = record.ts_event if first_event is None else first_event
                        due = (record.ts_event - first_event) / 1e9 / self.speed
                        delay = due - (self.clock.monotonic_ns() - started) / 1e9
                        if delay > 0:
                            await asyncio.sleep(delay)
                    self.played += 1
                    yield self._stamp(record)
                await asyncio.sleep(0)
            log.info("replay of %s done (%d events so far)", path.name, self.played)
