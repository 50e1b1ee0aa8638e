"""Reading a user's OHLCV table (CSV, Parquet or Feather) and finding its columns.

The format comes from the file's extension; large files are read in chunks
behind a progress bar. Column names match common spellings in any case.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
from tqdm import tqdm

from engine.core.errors import DataError
from engine.marketdata.frames import BAR_COLUMNS

FORMATS: Final = {".csv": "csv", ".parquet": "parquet", ".feather": "feather"}
TIMESTAMP_NAMES: Final = (
    "timestamp",
    "ts",
    "open_time",
    "datetime",
    "date_time",
    "timestamp_ms",
    "ts_ms",
    "unix",
    "time",
    "date",
)
COLUMN_NAMES: Final = {
    "open": ("open", "o", "open_price", "price_open"),
    "high": ("high", "h", "high_price", "price_high"),
    "low": ("low", "l", "low_price", "price_low"),
    "close": ("close", "c", "close_price", "price_close"),
    "volume": ("volume", "vol", "v", "base_volume", "volume_base"),
}
_CSV_CHUNK_ROWS: Final = 200_000
_BATCH_ROWS: Final = 200_000


def file_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``feather`` from the file's extension; ``DataError`` otherwise."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported file type {Path(path).suffix or '(no extension)'!r}; "
            f"give a .csv, .parquet or .feather file"
        )
    return fmt


def read_table(path: Path, *, progress: bool = False) -> pd.DataFrame:
    """Read ``path`` as a table; an index written with the data becomes a column."""
    path = Path(path)
    fmt = file_format(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    readers: dict[str, Callable[[Path, bool], pd.DataFrame]] = {
        "csv": _read_csv,
        "parquet": _read_parquet,
        "feather": _read_feather,
    }
    try:
        frame = readers[fmt](path, progress)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"{path}: cannot read it as {fmt}: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame.reset_index(drop=True)


def _is_number(text: object) -> bool:
    try:
        return math.isfinite(float(str(text)))
    except ValueError:
        return False


def _read_csv(path: Path, progress: bool) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns
    # A file without a header row (e.g. Binance kline dumps): its first row is all numbers.
    headerless = len(header) >= len(BAR_COLUMNS) + 1 and all(_is_number(c) for c in header)
    chunks: list[pd.DataFrame] = []
    with (
        path.open("rb") as handle,
        tqdm(
            total=path.stat().st_size,
            desc=f"reading {path.name}",
            unit="B",
            unit_scale=True,
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        reader = pd.read_csv(
            handle,
            header=None if headerless else "infer",
            chunksize=_CSV_CHUNK_ROWS,
            skipinitialspace=True,
            # The default fast parser can be off by one unit in the last place.
            float_precision="round_trip",
        )
        for chunk in reader:
            chunks.append(chunk)
            bar.update(max(0, handle.tell() - bar.n))
    if not chunks:
        return pd.DataFrame(columns=header)
    frame = pd.concat(chunks, ignore_index=True)
    if headerless:
        frame.columns = pd.Index(
            ["timestamp", *BAR_COLUMNS, *(f"column_{i}" for i in range(6, frame.shape[1]))]
        )
    return frame


def _read_parquet(path: Path, progress: bool) -> pd.DataFrame:
    source = pq.ParquetFile(path)
    total = source.metadata.num_rows if source.metadata is not None else None
    batches = []
    with tqdm(
        total=total, desc=f"reading {path.name}", unit="row", disable=not progress, leave=False
    ) as bar:
        for batch in source.iter_batches(batch_size=_BATCH_ROWS):
            batches.append(batch)
            bar.update(batch.num_rows)
    table = pa.Table.from_batches(batches, schema=source.schema_arrow)
    return pd.DataFrame(table.to_pandas())


def _read_feather(path: Path, progress: bool) -> pd.DataFrame:
    try:
        reader = pa.ipc.open_file(path)
    except pa.ArrowInvalid:
        # Feather version 1 is not an Arrow IPC file; it is read in one go.
        return pd.DataFrame(feather.read_table(path).to_pandas())
    batches = []
    with tqdm(
        total=reader.num_record_batches,
        desc=f"reading {path.name}",
        unit="batch",
        disable=not progress,
        leave=False,
    ) as bar:
        for i in range(reader.num_record_batches):
            batches.append(reader.get_batch(i))
            bar.update(1)
    return pd.DataFrame(pa.Table.from_batches(batches, schema=reader.schema).to_pandas())


def _normalise_name(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def find_columns(columns: Sequence[object]) -> dict[str, str]:
    """Map ``timestamp`` and each OHLCV column to the file's column holding it.

    Names match case-insensitively, with spaces and dashes read as ``_``. When
    several spellings are present the earlier one in ``TIMESTAMP_NAMES`` /
    ``COLUMN_NAMES`` wins. Raises ``DataError`` for a missing column, two
    columns with the same name, or separate ``date`` and ``time`` columns.
    """
    by_name: dict[str, list[str]] = {}
    for column in columns:
        by_name.setdefault(_normalise_name(column), []).append(str(column))
    wanted = {"timestamp": TIMESTAMP_NAMES, **COLUMN_NAMES}
    found: dict[str, str] = {}
    missing: list[str] = []
    for role, names in wanted.items():
        present = [n for n in names if n in by_name]
        if not present:
            missing.append(f"{role} ({'/'.join(names)})")
            continue
        if len(by_name[present[0]]) > 1:
            raise DataError(f"columns {by_name[present[0]]} all read as {role}; keep one")
        found[role] = by_name[present[0]][0]
    if missing:
        raise DataError(
            f"missing columns: {', '.join(missing)}; the file has {[str(c) for c in columns]}"
        )
    if found["timestamp"] in by_name.get("time", []) + by_name.get("date", []) and {
        "date",
        "time",
    } <= set(by_name):
        raise DataError(
            "separate date and time columns are not supported; "
            "combine them into one timestamp column"
        )
    return found
