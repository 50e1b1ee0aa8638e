"""L2 features over the real Binance ETHUSDT capture, and OFI's explanatory power.

Cont, Kukanov & Stoikov (2014) find that order-flow imbalance explains most of
the variance of short-horizon mid changes. Reported: R^2 of mid changes on
summed OFI over 1 s and 10 s intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.marketdata.replay import read_binance_capture
from engine.signals.mce.features import FEATURE_NAMES, l2_feature_frames
from engine.signals.mce.ofi import ofi_regression

CAPTURE = "l2/binance_spot_ethusdt_20240808.gz"


def test_l2_features_on_the_binance_capture_are_finite_and_ofi_explains_mid_changes(
    shared_data_dir: Path,
) -> None:
    frames = l2_feature_frames(read_binance_capture(shared_data_dir / CAPTURE))
    frame = frames["ETH/USDT"]
    values = frame.features.to_numpy()
    assert len(frame.mid) > 1000
    assert np.isfinite(values).all()
    assert list(frame.features.columns) == list(FEATURE_NAMES)
    fits = [ofi_regression(frame, ms) for ms in (1000, 10_000)]
    print(f"\nBinance ETHUSDT capture: {len(frame.mid)} book snapshots")
    for f in fits:
        print(
            f"  OFI -> mid change over {f.interval_ms} ms: R^2 {f.r_squared:.3f} ({f.intervals} intervals, beta {f.beta:.4g}, t {f.t_stat:.1f})"
        )
    one_second, ten_seconds = fits
    assert one_second.r_squared > 0.2
    assert ten_seconds.r_squared > 0.3
    assert one_second.beta > 0
    assert ten_seconds.beta > 0
