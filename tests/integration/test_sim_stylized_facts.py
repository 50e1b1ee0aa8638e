"""The simulated venue shows the stylized facts of Cont (2001) on 1-minute bars.

Runs the release binary: 30 simulated days x 3 symbols of 1-minute bars
(``history``, default flow scale) plus one hour of L2 samples at serve flow
rates, computes each figure, prints it, and asserts it. ``docs/img/make_sim_plots.py``
draws the same figures from the same functions.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
TICKS = {"BTC/USDT": 0.5, "ETH/USDT": 0.05, "SOL/USDT": 0.01}
DAYS = 30
SEED = 42
MAX_LAG = 240
DEPTH_LEVELS = 50


@dataclass(frozen=True)
class SimSample:
    """Bars and L2 depth of one simulated run."""

    bars: dict[str, pd.DataFrame]
    depth: dict[str, np.ndarray]  # mean resting qty by distance from the best, both sides averaged


def run_history(
    binary: Path, out: Path, minutes: int, seed: int, extra: list[str] | None = None
) -> None:
    """Run ``cerebellum_core history`` and fail with its stderr if it fails."""
    cmd = [
        str(binary),
        "history",
        "--symbols",
        ",".join(SYMBOLS),
        "--minutes",
        str(minutes),
        "--seed",
        str(seed),
        "--out",
        str(out),
        *(extra or []),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"history failed ({done.returncode}): {done.stderr[-2000:]}")


def load_bars(out: Path) -> dict[str, pd.DataFrame]:
    return {s: pd.read_csv(out / f"{s.replace('/', '-')}_1m.csv") for s in SYMBOLS}


def depth_profiles(l2_path: Path, levels: int = DEPTH_LEVELS) -> dict[str, np.ndarray]:
    """Mean resting quantity by distance (in ticks) from the best quote of its side."""
    sums = {s: np.zeros(levels) for s in SYMBOLS}
    counts = dict.fromkeys(SYMBOLS, 0)
    with l2_path.open() as f:
        for line in f:
            if '"BookSnapshot"' not in line:
                continue
            msg = json.loads(line)
            sym = msg["symbol"]
            if not msg["bids"] or not msg["asks"]:
                continue
            tick = TICKS[sym]
            for levels_, sign in ((msg["bids"], -1.0), (msg["asks"], 1.0)):
                best = levels_[0][0]
                for price, qty in levels_:
                    d = round((price - best) / tick * sign)
                    if 0 <= d < levels:
                        sums[sym][d] += qty
            counts[sym] += 2
    return {s: sums[s] / max(counts[s], 1) for s in SYMBOLS}


def log_returns(bars: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(bars["close"].to_numpy(dtype=float)))


def acf(x: np.ndarray, lags: range) -> np.ndarray:
    y = x - x.mean()
    den = float(y @ y)
    return np.array([float(y[:-k] @ y[k:]) / den for k in lags])


def robust_acf_t(x: np.ndarray, lags: range) -> np.ndarray:
    """ACF divided by its heteroskedasticity-robust standard error (Taylor 1984; Lo & MacKinlay).

    The textbook band 1.96/sqrt(n) assumes i.i.d. returns; with volatility
    clustering the sampling error of the raw-return ACF is larger, so the
    robust band is the honest test of "no linear predictability".
    """
    y = x - x.mean()
    out = []
    for k in lags:
        p = y[:-k] * y[k:]
        out.append(float(p.sum()) / float(np.sqrt((p * p).sum())))
    return np.array(out)


def cross_correlation(lead: np.ndarray, follower: np.ndarray, lags: range) -> dict[int, float]:
    """corr(lead_t, follower_{t+k}) for each k."""
    out = {}
    n = len(lead)
    for k in lags:
        a, b = (lead[: n - k], follower[k:]) if k >= 0 else (lead[-k:], follower[: n + k])
        out[k] = float(np.corrcoef(a, b)[0, 1])
    return out


def regime_vol(bars: pd.DataFrame) -> dict[str, float]:
    """Std of 1-minute log returns (bps) by the regime label at the bar's close."""
    r = log_returns(bars)
    regime = bars["regime"].to_numpy()[1:]
    return {
        g: float(r[regime == g].std() * 1e4)
        for g in ("calm", "trending", "volatile", "crash")
        if (regime == g).sum() > 30
    }


def first_lag_below(values: np.ndarray, band: float) -> int | None:
    below = np.nonzero(values < band)[0]
    return int(below[0]) + 1 if below.size else None


@pytest.fixture(scope="module")
def sample(cerebellum_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> SimSample:
    out = tmp_path_factory.mktemp("sim_facts")
    run_history(cerebellum_binary, out / "bars", DAYS * 1440, SEED)
    l2 = out / "l2" / "book.jsonl"
    run_history(
        cerebellum_binary,
        out / "l2",
        60,
        SEED + 1,
        ["--flow-scale", "1", "--l2-out", str(l2), "--l2-hz", "1", "--l2-depth", str(DEPTH_LEVELS)],
    )
    return SimSample(bars=load_bars(out / "bars"), depth=depth_profiles(l2))


def test_sim_one_minute_returns_have_excess_kurtosis_above_three(sample: SimSample) -> None:
    for sym in SYMBOLS:
        r = log_returns(sample.bars[sym])
        kurt = float(stats.kurtosis(r, fisher=True, bias=False))
        print(
            f"{sym}: {len(r)} 1m returns, std {r.std() * 1e4:.2f} bps, excess kurtosis {kurt:.2f}"
        )
        assert kurt > 3.0


def test_sim_absolute_returns_autocorrelate_significantly_beyond_lag_thirty(
    sample: SimSample,
) -> None:
    for sym in SYMBOLS:
        r = log_returns(sample.bars[sym])
        band = 1.96 / np.sqrt(len(r))
        a = acf(np.abs(r), range(1, MAX_LAG + 1))
        first = first_lag_below(a, band)
        print(
            f"{sym}: |r| ACF lag1 {a[0]:.3f} lag10 {a[9]:.3f} lag30 {a[29]:.3f} lag60 {a[59]:.3f} "
            f"lag120 {a[119]:.3f} lag240 {a[239]:.3f}; band {band:.4f}; first lag below band: {first or f'> {MAX_LAG}'}"
        )
        assert np.all(a[:60] > band), "every lag 1..60 above the 95% band"


def test_sim_raw_returns_are_uncorrelated_beyond_lag_two(sample: SimSample) -> None:
    lags = range(3, 61)
    for sym in SYMBOLS:
        r = log_returns(sample.bars[sym])
        band = 1.96 / np.sqrt(len(r))
        a = acf(r, range(1, 61))
        t = robust_acf_t(r, lags)
        naive_out = int((np.abs(a[2:]) > band).sum())
        robust_out = int((np.abs(t) > 1.96).sum())
        print(
            f"{sym}: raw ACF lag1 {a[0]:+.3f} lag2 {a[1]:+.3f}; lags 3..60: max |acf| {np.abs(a[2:]).max():.4f}, "
            f"outside robust 95% band {robust_out}/58 (chance ~3), max |t| {np.abs(t).max():.2f}; "
            f"outside naive 1.96/sqrt(n) band {naive_out}/58"
        )
        assert robust_out <= 10
        assert np.abs(a[2:]).max() < 0.04


def test_sim_btc_leads_eth_and_sol(sample: SimSample) -> None:
    btc = log_returns(sample.bars["BTC/USDT"])
    for sym in ("ETH/USDT", "SOL/USDT"):
        cc = cross_correlation(btc, log_returns(sample.bars[sym]), range(-5, 11))
        peak = max(cc, key=lambda k: cc[k])
        shown = " ".join(f"{k:+d}:{v:.3f}" for k, v in cc.items())
        print(f"corr(BTC_t, {sym}_t+k): {shown}; peak at k={peak}")
        assert peak > 0


def test_sim_volatility_is_clearly_higher_in_volatile_and_crash_regimes(sample: SimSample) -> None:
    for sym in SYMBOLS:
        vol = regime_vol(sample.bars[sym])
        share = sample.bars[sym]["regime"].value_counts(normalize=True).round(3).to_dict()
        print(
            f"{sym}: 1m vol by regime (bps) { {k: round(v, 2) for k, v in vol.items()} }, time share {share}"
        )
        assert vol["volatile"] > 1.5 * vol["calm"]
        assert vol["crash"] > 1.5 * vol["calm"]


def test_sim_depth_profile_rises_away_from_the_best_then_falls(sample: SimSample) -> None:
    for sym in SYMBOLS:
        p = sample.depth[sym]
        peak = int(p.argmax())
        print(
            f"{sym}: mean depth by distance from best (ticks 0..9) {np.round(p[:10], 3).tolist()}, "
            f"peak at {peak} ({p[peak] / p[0]:.2f}x the best level), level 49 {p[-1]:.3f}"
        )
        assert peak >= 1
        assert p[peak] > 1.2 * p[0]
        assert p[-1] < 0.7 * p[peak]
