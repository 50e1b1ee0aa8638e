"""Simulated history: run ``cerebellum_core history`` and load its bars into the BarStore.

The Rust simulator (the same market model the sim venue serves live) writes
``<out>/<BASE-QUOTE>_1m.csv`` with ``ts_ms,open,high,low,close,volume,trades,regime``
per symbol; those bars are cleaned and stored under exchange ``sim``, so the
offline default has months of 1-minute bars for the forge. The run is
bounded by a timeout (the process is killed when it expires) and its
progress lines drive a progress bar.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.core.errors import DataError
from engine.marketdata.frames import clean_bars
from engine.marketdata.store import BarStore, symbol_to_dirname

log = logging.getLogger(__name__)

SIM_EXCHANGE: Final = "sim"
_PROGRESS_RE: Final = re.compile(r"history: (\d+)/(\d+) minutes")
_CSV_COLUMNS: Final = ("ts_ms", "open", "high", "low", "close", "volume", "trades", "regime")


@dataclass(frozen=True, slots=True)
class SimulatedSeries:
    """One symbol's simulated bars as stored."""

    symbol: str
    rows: int
    rows_added: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    regimes: dict[str, int] = field(default_factory=dict)


def read_history_csv(path: Path) -> pd.DataFrame:
    """Read one ``history`` CSV into a bar frame (``trades`` and ``regime`` included)."""
    try:
        raw = pd.read_csv(path, dtype={"regime": "str"})
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read simulated bars {path}: {exc}") from None
    missing = [c for c in _CSV_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}")
    raw = raw.rename(columns={"ts_ms": "ts"})
    raw["ts"] = pd.to_datetime(raw["ts"].to_numpy(dtype=np.int64), unit="ms", utc=True)
    frame, report = clean_bars(raw.set_index("ts"), "1m", context=str(path.name))
    if report.changed:
        log.warning("%s: %s", path.name, report.summary())
    return frame


def run_history(
    binary: Path,
    symbols: Sequence[str],
    minutes: int,
    seed: int,
    out_dir: Path,
    *,
    start_ms: int | None = None,
    timeout_s: float = 900.0,
    progress: bool = False,
    extra_args: Sequence[str] = (),
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Run the simulator's history mode; return symbol -> CSV path.

    ``stop`` kills the run when set (an engine stopping); ``on_progress(done, total)``
    hears the simulated minutes as they pass. Raises ``DataError`` if the binary is
    missing, fails, is stopped, or exceeds ``timeout_s``.
    """
    if not Path(binary).is_file():
        raise DataError(f"cerebellum_core binary not found at {binary}; build it with `make setup`")
    cmd = [
        str(binary),
        "history",
        "--symbols",
        ",".join(symbols),
        "--minutes",
        str(minutes),
        "--seed",
        str(seed),
        "--out",
        str(out_dir),
    ]
    if start_ms is not None:
        cmd += ["--start-ms", str(start_ms)]
    cmd += list(extra_args)
    log.info("running %s", " ".join(cmd))
    bar = tqdm(total=minutes, desc="simulating", unit="min", disable=not progress, leave=False)
    try:
        returncode, expired, tail = _watch(cmd, timeout_s, stop, bar, on_progress, minutes)
    finally:
        bar.close()
    if stop is not None and stop.is_set():
        raise DataError("cerebellum_core history stopped before it finished")
    if returncode != 0:
        why = f"timed out after {timeout_s:.0f} s" if expired else f"exit code {returncode}"
        raise DataError(f"cerebellum_core history failed ({why}): " + " | ".join(tail[-5:]))
    out: dict[str, Path] = {}
    for symbol in symbols:
        path = Path(out_dir) / f"{symbol_to_dirname(symbol)}_1m.csv"
        if not path.is_file():
            raise DataError(f"cerebellum_core history wrote no file for {symbol} ({path})")
        out[symbol] = path
    return out


def _watch(
    cmd: list[str],
    timeout_s: float,
    stop: threading.Event | None,
    bar: Any,
    on_progress: Callable[[int, int], None] | None,
    minutes: int,
) -> tuple[int, bool, list[str]]:
    """Run ``cmd`` until it ends, is stopped or times out: (exit code, timed out, last lines)."""
    tail: list[str] = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as proc:
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        def watch_stop() -> None:
            while proc.poll() is None:
                if stop is not None and stop.wait(0.2):
                    proc.kill()
                    return

        timer = threading.Timer(timeout_s, expire)
        timer.start()
        if stop is not None:
            threading.Thread(target=watch_stop, name="history-stop", daemon=True).start()
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                tail = [*tail[-19:], line.rstrip()]
                match = _PROGRESS_RE.search(line)
                if match:
                    bar.n = int(match.group(1))
                    bar.refresh()
                    if on_progress is not None:
                        on_progress(int(match.group(1)), minutes)
            proc.wait()
        finally:
            timer.cancel()
    return proc.returncode, expired.is_set(), tail


def simulate_into_store(
    store: BarStore,
    binary: Path,
    symbols: Sequence[str],
    *,
    days: int,
    seed: int,
    start: pd.Timestamp | None = None,
    replace: bool = True,
    timeout_s: float = 900.0,
    progress: bool = False,
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[SimulatedSeries]:
    """Simulate ``days`` of 1m bars for ``symbols`` and store them under exchange ``sim``.

    With ``replace`` the symbols' previous simulated bars are removed first, so
    one seed's history is never mixed with another's.
    """
    minutes = days * 24 * 60
    start_ms = None if start is None else int(pd.Timestamp(start).value // 1_000_000)
    results: list[SimulatedSeries] = []
    with tempfile.TemporaryDirectory(prefix="crucible-sim-") as tmp:
        files = run_history(
            binary,
            symbols,
            minutes,
            seed,
            Path(tmp),
            start_ms=start_ms,
            timeout_s=timeout_s,
            progress=progress,
            stop=stop,
            on_progress=on_progress,
        )
        for symbol, path in files.items():
            frame = read_history_csv(path)
            if replace:
                store.delete(SIM_EXCHANGE, symbol, "1m")
            added = store.write(SIM_EXCHANGE, symbol, "1m", frame)
            regimes = frame["regime"].value_counts().to_dict() if "regime" in frame else {}
            results.append(
                SimulatedSeries(
                    symbol,
                    len(frame),
                    added,
                    frame.index[0] if len(frame) else None,
                    frame.index[-1] if len(frame) else None,
                    {str(k): int(v) for k, v in regimes.items()},
                )
            )
    return results
