"""FeatureFactory speed: batch over 500,000 1m bars, and incremental update time per bar.

Targets (issue 5): ``batch_500k_s`` <= 10 s, ``incremental_p99_ms`` <= 2 ms per
bar per symbol (wall clock per update; ``incremental_cpu_p99_ms`` is the same
from the thread's CPU time, which a busy machine's scheduling does not inflate). Bars are a seeded synthetic random walk whose volatility
switches regime, so every code path (flat windows, gaps in volume, jumps) is
exercised. Numba kernels are compiled before timing (reported separately).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from engine.features.factory import FeatureFactory
from engine.marketdata.bars import frame_to_bars


def synthetic_bars(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` 1m bars of a regime-switching random walk (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    regime_vol = np.array([4e-4, 1e-3, 3e-3])
    regime = np.repeat(rng.integers(0, 3, n // 500 + 1), 500)[:n]
    returns = rng.standard_normal(n) * regime_vol[regime]
    close = 30_000.0 * np.exp(np.cumsum(returns))
    open_ = np.concatenate([close[:1], close[:-1]])
    spread = np.abs(rng.standard_normal((2, n))) * regime_vol[regime] * 0.5
    high = np.maximum(open_, close) * (1 + spread[0])
    low = np.minimum(open_, close) * (1 - spread[1])
    volume = rng.gamma(2.0, 5.0, n) * (1 + 3 * (regime == 2))
    volume[rng.random(n) < 0.02] = 0.0
    index = pd.date_range("2023-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick = bool(getattr(args, "quick", False))
    batch_rows = 50_000 if quick else 500_000
    symbols, warm_bars, timed_bars = (3, 500, 2_000) if quick else (3, 3_000, 20_000)
    factory = FeatureFactory()

    t0 = time.perf_counter()
    factory.batch(synthetic_bars(3_000, seed=99))
    jit_s = time.perf_counter() - t0

    bars = synthetic_bars(batch_rows)
    t0 = time.perf_counter()
    features = factory.batch(bars)
    batch_s = time.perf_counter() - t0
    print(
        f"features: batch {batch_rows:,} bars x {len(factory.feature_names)} features "
        f"in {batch_s:.2f} s ({batch_rows / batch_s:,.0f} bars/s); compile+warm {jit_s:.2f} s"
    )

    samples: list[float] = []
    cpu_samples: list[float] = []
    for s in range(symbols):
        frame = synthetic_bars(warm_bars + timed_bars, seed=10 + s)
        stream = factory.incremental()
        series = frame_to_bars(frame, f"SYM{s}/USDT")
        for bar in series[:warm_bars]:
            stream.update(bar)
        for bar in series[warm_bars:]:
            t, c = time.perf_counter_ns(), time.thread_time_ns()
            stream.update(bar)
            cpu_samples.append((time.thread_time_ns() - c) / 1e6)
            samples.append((time.perf_counter_ns() - t) / 1e6)
    times = np.asarray(samples)
    cpu_p99 = float(np.percentile(cpu_samples, 99))
    p50, p99, p999 = (float(np.percentile(times, q)) for q in (50, 99, 99.9))
    print(
        f"features: incremental {len(times):,} updates ({symbols} symbols): "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, p99.9 {p999:.3f} ms, max {times.max():.3f} ms "
        f"(wall clock; CPU time p99 {cpu_p99:.3f} ms)"
    )
    complete = int(features.notna().all(axis=1).sum())
    return {
        "bench": "features",
        "batch_rows": batch_rows,
        "batch_s": round(batch_s, 3),
        # With --quick the 500k figure is scaled linearly from the smaller run (flagged).
        "batch_500k_s": round(batch_s * 500_000 / batch_rows, 3),
        "batch_500k_estimated": quick,
        "features": len(factory.feature_names),
        "feature_set_id": factory.feature_set_id,
        "complete_rows": complete,
        "jit_warmup_s": round(jit_s, 3),
        "incremental_updates": len(times),
        "incremental_p50_ms": round(p50, 4),
        "incremental_p99_ms": round(p99, 4),
        "incremental_p999_ms": round(p999, 4),
        "incremental_max_ms": round(float(times.max()), 4),
        # CPU time of the updating thread: the cost without other processes' preemption.
        "incremental_cpu_p99_ms": round(cpu_p99, 4),
    }
