"""Importing a user's OHLCV file: formats, column spellings, timestamp units, timeframe
inference, validation (nothing written on failure), gaps, idempotent re-import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.errors import DataError
from engine.marketdata.frames import INDEX_NAME
from engine.marketdata.import_table import find_columns
from engine.marketdata.import_timestamps import infer_timeframe
from engine.marketdata.importer import prepare_import, write_import
from engine.marketdata.store import BarStore
from engine.marketdata.timeframes import timeframe_from_ms, timeframe_ms

T0 = pd.Timestamp("2024-01-31 20:00", tz="UTC")  # the file crosses a month boundary


def _bars(n: int = 200, step: str = "5min", start: pd.Timestamp = T0) -> pd.DataFrame:
    """A valid bar frame in the store's convention (the expected result of an import)."""
    index = pd.date_range(start, periods=n, freq=step, tz="UTC").as_unit("ns")
    rng = np.random.default_rng(3)
    close = 100.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    open_ = np.concatenate([[100.0], close[:-1]])
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + 0.25,
            "low": np.minimum(open_, close) - 0.25,
            "close": close,
            "volume": rng.uniform(1.0, 5.0, n).round(3),
        },
        index=index,
    )
    frame.index.name = INDEX_NAME
    return frame


def _table(bars: pd.DataFrame, ts_name: str = "timestamp", unit: str = "ms") -> pd.DataFrame:
    """``bars`` as a user's file would hold them: a timestamp column in ``unit``."""
    index = pd.DatetimeIndex(bars.index)
    stamps: object
    if unit == "iso":
        stamps = [t.isoformat() for t in index]
    elif unit == "datetime":
        stamps = index
    else:
        stamps = index.asi8 // {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    table = bars.reset_index(drop=True)
    table.insert(0, ts_name, stamps)
    return table


def _write(table: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        table.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_feather(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".feather"])
def test_import_of_each_format_round_trips_through_the_store(tmp_path: Path, suffix: str) -> None:
    bars = _bars()
    path = _write(_table(bars), tmp_path / f"btc{suffix}")
    frame, report = prepare_import(path)
    assert report.ok, report.problems
    assert report.file_format == suffix[1:]
    store = BarStore(tmp_path / "bars")
    assert write_import(store, "import", "BTC/USDT", "5m", frame) == len(bars)
    loaded = store.load("import", "BTC/USDT", "5m")
    pd.testing.assert_frame_equal(loaded, bars, check_freq=False, check_exact=True)
    assert sorted(p.name for p in store.partition("import", "BTC/USDT", "5m").iterdir()) == [
        "2024-01.parquet",
        "2024-02.parquet",
    ]


def test_import_of_a_parquet_file_with_a_datetime_index_reads_the_index(tmp_path: Path) -> None:
    bars = _bars(50)
    path = tmp_path / "indexed.parquet"
    bars.to_parquet(path)  # the timestamps are the index, not a column
    frame, report = prepare_import(path)
    assert report.ok, report.problems
    assert report.timestamp_column == INDEX_NAME
    assert report.timestamp_unit == "datetime"
    pd.testing.assert_frame_equal(frame, bars, check_freq=False, check_exact=True)


def test_import_infers_5m_from_a_five_minute_file(tmp_path: Path) -> None:
    frame, report = prepare_import(_write(_table(_bars()), tmp_path / "a.csv"))
    assert report.timeframe == "5m"
    assert report.timeframe_inferred
    assert report.gaps == ()
    assert len(frame) == 200


@pytest.mark.parametrize(
    ("step", "timeframe"), [("1min", "1m"), ("1h", "1h"), ("4h", "4h"), ("1D", "1d"), ("1s", "1s")]
)
def test_import_infers_the_timeframe_of_other_spacings(
    tmp_path: Path, step: str, timeframe: str
) -> None:
    bars = _bars(30, step=step, start=pd.Timestamp("2024-01-01", tz="UTC"))
    frame, report = prepare_import(_write(_table(bars), tmp_path / "a.csv"))
    assert report.ok, report.problems
    assert report.timeframe == timeframe
    assert len(frame) == 30


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns", "iso"])
def test_import_reads_epoch_units_by_magnitude_and_iso_strings(tmp_path: Path, unit: str) -> None:
    bars = _bars(40)
    frame, report = prepare_import(_write(_table(bars, unit=unit), tmp_path / "a.csv"))
    assert report.ok, report.problems
    assert report.timestamp_unit == unit
    pd.testing.assert_index_equal(frame.index, bars.index, exact=False)
    assert frame.index[0] == T0


def test_import_tells_epoch_milliseconds_from_seconds(tmp_path: Path) -> None:
    bars = _bars(10)
    seconds, s_report = prepare_import(_write(_table(bars, unit="s"), tmp_path / "s.csv"))
    millis, ms_report = prepare_import(_write(_table(bars, unit="ms"), tmp_path / "ms.csv"))
    assert (s_report.timestamp_unit, ms_report.timestamp_unit) == ("s", "ms")
    pd.testing.assert_frame_equal(seconds, millis, check_exact=True)
    assert millis.index[0] == T0


def test_import_flags_an_epoch_value_of_another_unit(tmp_path: Path) -> None:
    table = _table(_bars(10), unit="ms")
    table.loc[4, "timestamp"] = table.loc[4, "timestamp"] // 1000  # seconds among milliseconds
    frame, report = prepare_import(_write(table, tmp_path / "a.csv"))
    assert not report.ok
    assert frame.empty
    assert any("row 5" in p and "epoch ms" in p for p in report.problems)


@pytest.mark.parametrize(
    "names",
    [
        ("Time", "Open", "High", "Low", "Close", "Volume"),
        ("DATE", "o", "h", "l", "c", "v"),
        ("open_time", "open_price", "HIGH", "low", "Close", "vol"),
        ("Date Time", "open", "high", "low", "close", "Base Volume"),
    ],
)
def test_import_accepts_common_column_spellings_in_any_case(
    tmp_path: Path, names: tuple[str, ...]
) -> None:
    table = _table(_bars(20), unit="iso")
    table.columns = pd.Index(names)
    table["extra"] = 1
    frame, report = prepare_import(_write(table, tmp_path / "a.csv"))
    assert report.ok, report.problems
    assert report.timestamp_column == names[0]
    assert report.ignored_columns == ("extra",)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]


def test_import_reads_a_csv_without_header_as_binance_klines(tmp_path: Path) -> None:
    bars = _bars(12)
    table = _table(bars, unit="ms")
    table["close_time"] = table["timestamp"] + 299_999
    path = tmp_path / "BTCUSDT-5m-2024-01.csv"
    table.to_csv(path, index=False, header=False)
    frame, report = prepare_import(path)
    assert report.ok, report.problems
    assert report.ignored_columns == ("column_6",)
    pd.testing.assert_frame_equal(frame, bars, check_freq=False, check_exact=True)


def test_find_columns_names_what_is_missing() -> None:
    with pytest.raises(DataError, match=r"missing columns: volume"):
        find_columns(["time", "open", "high", "low", "close"])
    with pytest.raises(DataError, match="separate date and time"):
        find_columns(["date", "time", "open", "high", "low", "close", "volume"])


def test_import_of_an_unsupported_extension_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bars.xlsx"
    path.write_text("x")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'.*\.csv, \.parquet"):
        prepare_import(path)


def test_import_reports_duplicate_timestamps_with_row_numbers(tmp_path: Path) -> None:
    table = _table(_bars(10))
    table.loc[6, "timestamp"] = table.loc[5, "timestamp"]
    frame, report = prepare_import(_write(table, tmp_path / "a.csv"), sort=True)
    assert frame.empty
    assert report.problems == (
        "1 duplicate timestamp (row 7 repeats row 6 (2024-01-31 20:25:00+00:00))",
    )


def test_import_rejects_rows_out_of_order_unless_sort(tmp_path: Path) -> None:
    bars = _bars(10)
    table = _table(bars).iloc[[0, 1, 2, 4, 3, 5, 6, 7, 8, 9]].reset_index(drop=True)
    path = _write(table, tmp_path / "a.csv")
    frame, report = prepare_import(path)
    assert frame.empty
    assert len(report.problems) == 1
    assert report.problems[0].startswith("1 row out of order (row 5; row 5 at 2024-01-31 20:15")
    assert "--sort" in report.problems[0]
    frame, report = prepare_import(path, sort=True)
    assert report.ok
    assert report.sorted_rows == 1
    pd.testing.assert_frame_equal(frame, bars, check_freq=False, check_exact=True)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("open", -5.0, "1 row with a price <= 0 (row 4)"),
        ("volume", -1.0, "1 row with negative volume (row 4)"),
        ("close", np.nan, "1 row with missing or non-finite values (row 4)"),
        ("close", np.inf, "1 row with missing or non-finite values (row 4)"),
    ],
)
def test_import_rejects_bad_values(
    tmp_path: Path, column: str, value: float, expected: str
) -> None:
    table = _table(_bars(10))
    table.loc[3, column] = value
    frame, report = prepare_import(_write(table, tmp_path / "a.parquet"))
    assert frame.empty
    assert expected in report.problems


def test_import_rejects_high_below_low_and_counts_the_rows(tmp_path: Path) -> None:
    table = _table(_bars(20))
    for row in (2, 9):
        table.loc[row, ["high", "low"]] = table.loc[row, ["low", "high"]].to_numpy()
    frame, report = prepare_import(_write(table, tmp_path / "a.csv"))
    assert frame.empty
    assert report.problems == (
        "2 rows where high < max(open, close) or low > min(open, close) (rows 3, 10)",
    )
    assert "nothing written" in report.error()


def test_import_rejects_bars_off_the_timeframe_grid(tmp_path: Path) -> None:
    bars = _bars(10, start=T0 + pd.Timedelta(seconds=30))
    frame, report = prepare_import(_write(_table(bars), tmp_path / "a.csv"))
    assert frame.empty
    assert report.problems[0].startswith(
        "10 rows not on the 5m grid (rows 1, 2, 3, 4, 5 and 5 more"
    )


def test_import_reports_a_gap_but_keeps_every_row(tmp_path: Path) -> None:
    bars = _bars(100)
    kept = bars.drop(bars.index[40:52]).drop(bars.index[70:73])
    frame, report = prepare_import(_write(_table(kept), tmp_path / "a.csv"))
    assert report.ok
    assert report.timeframe == "5m"
    assert [g.missing for g in report.gaps] == [12, 3]
    assert report.missing_bars == 15
    assert report.largest_gaps(1)[0].after == bars.index[39]
    warning = report.gap_warning()
    assert warning is not None
    assert warning.startswith("a.csv: 2 gaps (15 bars missing at 5m)")
    assert "2 gaps (15 bars missing)" in report.summary()
    store = BarStore(tmp_path / "bars")
    assert write_import(store, "import", "BTC/USDT", "5m", frame) == len(kept)
    assert len(store.load("import", "BTC/USDT", "5m")) == len(kept)


def test_a_given_timeframe_that_differs_from_the_spacing_is_a_warning(tmp_path: Path) -> None:
    frame, report = prepare_import(_write(_table(_bars(10)), tmp_path / "a.csv"), timeframe="1m")
    assert report.ok
    assert len(frame) == 10
    assert report.warnings == ("the median spacing is 5m but --timeframe 1m was given",)
    assert not report.timeframe_inferred
    assert len(report.gaps) == 9


def test_reimporting_the_same_file_adds_no_rows(tmp_path: Path) -> None:
    bars = _bars()
    path = _write(_table(bars), tmp_path / "a.feather")
    store = BarStore(tmp_path / "bars")
    frame, _ = prepare_import(path)
    assert write_import(store, "import", "BTC/USDT", "5m", frame) == len(bars)
    frame, _ = prepare_import(path)
    assert write_import(store, "import", "BTC/USDT", "5m", frame) == 0
    pd.testing.assert_frame_equal(
        store.load("import", "BTC/USDT", "5m"), bars, check_freq=False, check_exact=True
    )


def test_infer_timeframe_uses_the_median_spacing() -> None:
    minute = 60_000_000_000
    ns = np.array([0, 5, 10, 15, 40, 45, 50], dtype=np.int64) * minute
    assert infer_timeframe(ns) == "5m"
    with pytest.raises(DataError, match="fewer than two bars"):
        infer_timeframe(np.array([0, 0], dtype=np.int64))
    with pytest.raises(DataError, match="whole number of seconds"):
        infer_timeframe(np.array([0, 1_500_000_000, 3_000_000_000], dtype=np.int64))


@pytest.mark.parametrize(
    ("ms", "timeframe"),
    [
        (1_000, "1s"),
        (30_000, "30s"),
        (300_000, "5m"),
        (5_400_000, "90m"),
        (14_400_000, "4h"),
        (86_400_000, "1d"),
        (604_800_000, "1w"),
        (864_000_000, "10d"),
    ],
)
def test_timeframe_from_ms_round_trips(ms: int, timeframe: str) -> None:
    assert timeframe_from_ms(ms) == timeframe
    assert timeframe_ms(timeframe) == ms
