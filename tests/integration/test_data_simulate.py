"""Simulated history from the real cerebellum_core binary, into the store and back.

* ``crucible data simulate`` fills 90 days x 3 symbols of 1m bars; loading them works
  (acceptance 4) and the FeatureFactory turns them into finite model inputs.
* The simulator's L2 JSON lines replay with an unbroken sequence, and 1m bars
  rebuilt from its trades by ``BarBuilder`` match the bars it wrote itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.core.errors import DataError
from engine.features.factory import FeatureFactory
from engine.features.sanitize import check_finite, drop_warmup
from engine.marketdata.bars import BarBuilder, bars_to_frame
from engine.marketdata.frames import find_gaps
from engine.marketdata.integrity import BookIntegrityGuard
from engine.marketdata.replay import read_l2_jsonl
from engine.marketdata.simulate import read_history_csv, run_history
from engine.marketdata.store import BarStore
from engine.model.market import BookSnapshot, Trade

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


@pytest.mark.slow
def test_simulate_90_days_of_3_symbols_then_load_them(
    tmp_path: Path, cerebellum_binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "crucible.toml"
    config.write_text(f'[paths]\nroot = "{tmp_path}"\ndata_dir = "data"\n')
    t0 = time.perf_counter()
    code = main(
        [
            "--config",
            str(config),
            "data",
            "simulate",
            "--symbols",
            ",".join(SYMBOLS),
            "--days",
            "90",
            "--seed",
            "11",
            "--binary",
            str(cerebellum_binary),
            "--no-progress",
        ]
    )
    simulate_s = time.perf_counter() - t0
    assert code == 0
    assert capsys.readouterr().out.count("129600 bars") == 3

    store = BarStore(tmp_path / "data" / "bars")
    assert store.symbols("sim", "1m") == sorted(SYMBOLS)
    t0 = time.perf_counter()
    frames = {s: store.load("sim", s, "1m") for s in SYMBOLS}
    load_s = time.perf_counter() - t0
    for frame in frames.values():
        assert len(frame) == 90 * 24 * 60
        assert frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
        assert find_gaps(pd.DatetimeIndex(frame.index)) == ()
        assert set(frame["regime"].unique()) <= {"calm", "trending", "volatile", "crash"}
    assert not frames["BTC/USDT"]["close"].equals(frames["ETH/USDT"]["close"])

    factory = FeatureFactory()
    t0 = time.perf_counter()
    features = drop_warmup(factory.batch(frames["BTC/USDT"]))
    features_s = time.perf_counter() - t0
    check_finite(features, "sim BTC/USDT features")
    print(
        f"\nsimulate 90 d x 3 symbols: {simulate_s:.1f} s; load 3 x {len(frames['BTC/USDT'])} bars: "
        f"{load_s:.2f} s; features on one symbol: {features_s:.2f} s ({len(features)} rows kept)"
    )


def test_sim_l2_replays_without_gaps_and_its_trades_rebuild_its_bars(
    tmp_path: Path, cerebellum_binary: Path
) -> None:
    l2 = tmp_path / "l2.jsonl"
    files = run_history(
        cerebellum_binary,
        ["BTC/USDT", "ETH/USDT"],
        60,
        5,
        tmp_path,
        extra_args=["--l2-out", str(l2), "--l2-hz", "2", "--l2-depth", "5"],
    )
    guards = {s: BookIntegrityGuard(s, max_age_ms=60_000) for s in ("BTC/USDT", "ETH/USDT")}
    builders = {s: BarBuilder(s) for s in guards}
    built: dict[str, list] = {s: [] for s in guards}
    books = stale = 0
    for record in read_l2_jsonl(l2):
        guard = guards[record.symbol]
        if isinstance(record, BookSnapshot):
            snap, _status = guard.on_snapshot(record)
            books += 1
            stale += snap.stale
            assert 1 <= len(snap.bids) <= 5
        elif isinstance(record, Trade):
            guard.on_trade(record)
            built[record.symbol] += builders[record.symbol].on_trade(record)
    assert books > 100
    assert stale == 0
    assert all(g.gaps == 0 for g in guards.values())

    for symbol, path in files.items():
        expected = read_history_csv(path)
        got = bars_to_frame(built[symbol])
        common = got.index.intersection(expected.index)
        assert len(common) >= 50
        for col in ("open", "high", "low", "close"):
            np.testing.assert_array_equal(got.loc[common, col], expected.loc[common, col])
        np.testing.assert_allclose(
            got.loc[common, "volume"], expected.loc[common, "volume"], rtol=1e-9
        )
        traded = expected.loc[common, "trades"] > 0
        assert (got.loc[common, "trades"][traded] == expected.loc[common, "trades"][traded]).all()


def test_run_history_without_the_binary_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="make setup"):
        run_history(tmp_path / "missing", ["BTC/USDT"], 10, 1, tmp_path)


def test_run_history_reports_the_simulators_error(tmp_path: Path, cerebellum_binary: Path) -> None:
    with pytest.raises(DataError, match=r"history failed.*DOGE/USDT"):
        run_history(cerebellum_binary, ["DOGE/USDT"], 10, 1, tmp_path)
