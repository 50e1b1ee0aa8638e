"""BarStore: Parquet by exchange/symbol/timeframe/month; merge, de-duplicate, load ranges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.errors import DataError
from engine.marketdata.frames import bars_from_arrays
from engine.marketdata.store import BarStore, dirname_to_symbol, symbol_to_dirname

T0_MS = 1_706_745_600_000 - 30 * 60_000  # 30 minutes before 2024-02-01T00:00Z


def _bars(n: int, start_ms: int = T0_MS, price: float = 100.0) -> pd.DataFrame:
    ts = start_ms + np.arange(n, dtype=np.int64) * 60_000
    close = price + np.arange(n, dtype=np.float64)
    return bars_from_arrays(
        ts,
        np.column_stack([close, close + 1, close - 1, close, np.full(n, 2.0)]),
        trades=np.arange(n),
        regime=np.array(["calm"] * n),
    )


def test_store_round_trips_a_frame_across_a_month_boundary(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    df = _bars(60)
    assert store.write("sim", "BTC/USDT", "1m", df) == 60
    files = sorted(p.name for p in store.partition("sim", "BTC/USDT", "1m").iterdir())
    assert files == ["2024-01.parquet", "2024-02.parquet"]
    loaded = store.load("sim", "BTC/USDT", "1m")
    pd.testing.assert_frame_equal(loaded, df)
    assert str(loaded.index.dtype) == "datetime64[ns, UTC]"


def test_store_write_merges_and_counts_only_new_timestamps(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    store.write("bybit", "ETH/USDT", "1m", _bars(40))
    revised = _bars(30, start_ms=T0_MS + 20 * 60_000, price=500.0)
    assert store.write("bybit", "ETH/USDT", "1m", revised) == 10
    loaded = store.load("bybit", "ETH/USDT", "1m")
    assert len(loaded) == 50
    assert loaded.index.is_unique
    assert loaded["close"].iloc[20] == 500.0  # the newer bar replaced the stored one


def test_store_load_filters_an_inclusive_range(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    df = _bars(60)
    store.write("sim", "SOL/USDT", "1m", df)
    part = store.load("sim", "SOL/USDT", "1m", start=df.index[10], end=df.index[40])
    assert part.index[0] == df.index[10]
    assert part.index[-1] == df.index[40]
    assert len(part) == 31
    empty = store.load("sim", "SOL/USDT", "1m", start=df.index[-1] + pd.Timedelta("1D"))
    assert empty.empty
    assert list(empty.columns)[:5] == ["open", "high", "low", "close", "volume"]


def test_store_load_of_an_absent_series_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no 1m bars stored for sim BTC/USDT.*crucible data"):
        BarStore(tmp_path).load("sim", "BTC/USDT", "1m")


def test_store_write_cleans_bad_rows_before_storing(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    df = _bars(10)
    df.iloc[3, 0] = np.nan
    assert store.write("sim", "BTC/USDT", "1m", df) == 9
    assert store.load("sim", "BTC/USDT", "1m")["open"].notna().all()


def test_store_reports_last_timestamp_symbols_and_timeframes(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    assert store.last_timestamp("sim", "BTC/USDT", "1m") is None
    df = _bars(45)
    store.write("sim", "BTC/USDT", "1m", df)
    store.write("sim", "ETH/USDT", "1m", df)
    store.write("sim", "ETH/USDT", "1h", _bars(3, start_ms=T0_MS - T0_MS % 3_600_000))
    assert store.last_timestamp("sim", "BTC/USDT", "1m") == df.index[-1]
    assert store.first_timestamp("sim", "BTC/USDT", "1m") == df.index[0]
    assert store.symbols("sim", "1m") == ["BTC/USDT", "ETH/USDT"]
    assert store.symbols("sim", "1h") == ["ETH/USDT"]
    assert store.timeframes("sim", "ETH/USDT") == ["1h", "1m"]
    assert store.exchanges() == ["sim"]


def test_store_delete_removes_one_series(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    store.write("sim", "BTC/USDT", "1m", _bars(5))
    assert store.delete("sim", "BTC/USDT", "1m")
    assert not store.delete("sim", "BTC/USDT", "1m")
    assert store.symbols("sim", "1m") == []


@pytest.mark.parametrize("symbol", ["../etc", "BTCUSDT", "btc/usdt", "BTC/USDT/X", ""])
def test_store_rejects_symbols_that_are_not_base_quote(tmp_path: Path, symbol: str) -> None:
    with pytest.raises(DataError, match="BASE/QUOTE"):
        BarStore(tmp_path).write("sim", symbol, "1m", _bars(2))


def test_store_rejects_bad_exchange_and_timeframe_names(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="exchange name"):
        BarStore(tmp_path).load("../x", "BTC/USDT", "1m")
    with pytest.raises(DataError, match="timeframe"):
        BarStore(tmp_path).load("sim", "BTC/USDT", "1minute")


def test_symbol_dirnames_round_trip_including_perpetuals() -> None:
    for symbol in ("BTC/USDT", "BTC/USDT:USDT", "1000PEPE/USDT"):
        assert dirname_to_symbol(symbol_to_dirname(symbol)) == symbol
