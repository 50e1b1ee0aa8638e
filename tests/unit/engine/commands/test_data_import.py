"""``crucible data import`` end to end through the CLI entry point on a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.marketdata.store import BarStore

START = pd.Timestamp("2024-03-01", tz="UTC")


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "crucible.toml"
    config.write_text(f'[paths]\nroot = "{tmp_path}"\ndata_dir = "data"\n')
    return config


def _csv(tmp_path: Path, n: int = 300, edit: str | None = None) -> tuple[Path, pd.DataFrame]:
    """A 5-minute OHLCV CSV (epoch ms), optionally broken by ``edit``; and its clean table."""
    ts = pd.date_range(START, periods=n, freq="5min", tz="UTC")
    close = 50.0 + np.sin(np.arange(n) / 7.0)
    table = pd.DataFrame(
        {
            "open_time": ts.asi8 // 1_000_000,
            "Open": close - 0.1,
            "High": close + 0.5,
            "Low": close - 0.5,
            "Close": close,
            "Volume": np.full(n, 3.0),
        }
    )
    clean = table.copy()
    if edit == "duplicate":
        table.loc[10, "open_time"] = table.loc[9, "open_time"]
    elif edit == "negative price":
        table.loc[10, "Low"] = -1.0
    elif edit == "high below low":
        table.loc[10, "High"], table.loc[10, "Low"] = table.loc[10, "Low"], table.loc[10, "High"]
    elif edit == "gap":
        table = table.drop(index=range(100, 106)).reset_index(drop=True)
    path = tmp_path / "mine.csv"
    table.to_csv(path, index=False)
    return path, clean if edit is None else table


def _run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "data", *args])


def test_data_import_stores_a_file_that_info_lists_and_a_reimport_adds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    path, table = _csv(tmp_path)
    code = _run(config, "import", str(path), "--symbol", "eth/usdt", "--no-progress")
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == (
        "import ETH/USDT 5m: 300 rows 2024-03-01 00:00:00+00:00 .. 2024-03-02 00:55:00+00:00, "
        "timeframe 5m (inferred), no gaps; +300 new bars"
    )
    store = BarStore(tmp_path / "data" / "bars")
    loaded = store.load("import", "ETH/USDT", "5m")
    assert len(loaded) == 300
    np.testing.assert_array_equal(loaded["close"].to_numpy(), table["Close"].to_numpy())
    assert loaded.index[0] == START

    assert _run(config, "info", "--timeframe", "5m") == 0
    assert "import ETH/USDT 5m: 300 bars" in capsys.readouterr().out

    assert _run(config, "import", str(path), "--symbol", "ETH/USDT", "--no-progress") == 0
    assert capsys.readouterr().out.strip().endswith("+0 new bars")
    assert len(store.load("import", "ETH/USDT", "5m")) == 300


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("duplicate", "1 duplicate timestamp (row 11 repeats row 10"),
        ("negative price", "1 row with a price <= 0 (row 11)"),
        ("high below low", "1 row where high < max(open, close) or low > min(open, close)"),
    ],
)
def test_data_import_of_an_invalid_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str, message: str
) -> None:
    config = _config(tmp_path)
    path, _ = _csv(tmp_path, edit=edit)
    code = _run(config, "import", str(path), "--symbol", "BTC/USDT", "--no-progress")
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith(f"crucible: error: cannot import {path}, nothing written: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_data_import_of_an_unsupported_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bars.json"
    path.write_text("[]")
    code = _run(_config(tmp_path), "import", str(path), "--symbol", "BTC/USDT", "--no-progress")
    assert code == 2
    assert "unsupported file type '.json'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_data_import_warns_about_a_gap_and_imports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    path, table = _csv(tmp_path, edit="gap")
    code = _run(config, "import", str(path), "--symbol", "BTC/USDT", "--no-progress")
    captured = capsys.readouterr()
    assert code == 0
    assert "crucible: warning: mine.csv: 1 gaps (6 bars missing at 5m)" in captured.err
    assert "1 gaps (6 bars missing); +294 new bars" in captured.out
    loaded = BarStore(tmp_path / "data" / "bars").load("import", "BTC/USDT", "5m")
    assert len(loaded) == len(table) == 294
