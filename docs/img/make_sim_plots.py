"""Draw docs/img/sim_stylized_facts.png: the simulator's stylized facts.

Usage: ``python docs/img/make_sim_plots.py [--binary PATH] [--days 30] [--seed 42]``

It runs ``cerebellum_core history`` exactly as
``tests/integration/test_sim_stylized_facts.py`` does and reuses that test's
functions, so the picture shows what the test asserts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
REGIME_COLORS = {
    "calm": "#ffffff",
    "trending": "#dbe9f6",
    "volatile": "#fde0c5",
    "crash": "#f4b6b6",
}


def load_facts() -> ModuleType:
    path = ROOT / "tests" / "integration" / "test_sim_stylized_facts.py"
    spec = importlib.util.spec_from_file_location("sim_facts", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default_bin = os.environ.get(
        "CRUCIBLE_CEREBELLUM_BIN",
        str(ROOT / "cerebellum_core" / "target" / "release" / "cerebellum_core"),
    )
    parser.add_argument("--binary", default=default_bin)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(Path(__file__).with_name("sim_stylized_facts.png")))
    args = parser.parse_args()
    f = load_facts()
    binary = Path(args.binary)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        f.run_history(binary, out / "bars", args.days * 1440, args.seed)
        l2 = out / "l2" / "book.jsonl"
        extra = ["--flow-scale", "1", "--l2-out", str(l2), "--l2-hz", "1", "--l2-depth", "50"]
        f.run_history(binary, out / "l2", 60, args.seed + 1, extra)
        bars = f.load_bars(out / "bars")
        depth = f.depth_profiles(l2)

    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    fig.suptitle(
        f"cerebellum_core simulated venue: {args.days} days of 1-minute bars, seed {args.seed}",
        fontsize=13,
    )

    ax = axes[0, 0]
    btc = bars["BTC/USDT"]
    days = (btc["ts_ms"] - btc["ts_ms"].iloc[0]) / 86_400_000
    regime = btc["regime"].to_numpy()
    start = 0
    for i in range(1, len(regime) + 1):
        if i == len(regime) or regime[i] != regime[start]:
            ax.axvspan(days.iloc[start], days.iloc[i - 1], color=REGIME_COLORS[regime[start]], lw=0)
            start = i
    for sym in f.SYMBOLS:
        c = bars[sym]["close"].to_numpy()
        ax.plot(days, c / c[0], lw=0.7, label=sym)
    ax.set_title("Prices (normalised) over latent regimes")
    ax.set_xlabel("day")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, ec="0.7") for c in REGIME_COLORS.values()]
    leg1 = ax.legend(loc="upper left", fontsize=8)
    ax.add_artist(leg1)
    ax.legend(
        handles, list(REGIME_COLORS), loc="lower left", fontsize=7, title="regime", title_fontsize=7
    )

    ax = axes[0, 1]
    for sym in f.SYMBOLS:
        r = f.log_returns(bars[sym])
        z = (r - r.mean()) / r.std()
        hist, edges = np.histogram(z, bins=np.linspace(-12, 12, 121), density=True)
        centers = 0.5 * (edges[1:] + edges[:-1])
        kurt = stats.kurtosis(r, fisher=True, bias=False)
        ax.semilogy(
            centers[hist > 0],
            hist[hist > 0],
            ".",
            ms=3,
            label=f"{sym} (excess kurtosis {kurt:.1f})",
        )
    grid = np.linspace(-12, 12, 400)
    ax.semilogy(grid, stats.norm.pdf(grid), "k--", lw=1, label="normal")
    ax.set_ylim(1e-6, 1)
    ax.set_title("Standardised 1m returns: fat tails")
    ax.legend(fontsize=7)

    ax = axes[0, 2]
    lags = np.arange(1, f.MAX_LAG + 1)
    n = len(f.log_returns(btc))
    band = 1.96 / np.sqrt(n)
    for sym in f.SYMBOLS:
        r = f.log_returns(bars[sym])
        ax.plot(lags, f.acf(np.abs(r), range(1, f.MAX_LAG + 1)), lw=1, label=f"|r| {sym}")
    r = f.log_returns(btc)
    ax.plot(lags, f.acf(r, range(1, f.MAX_LAG + 1)), color="0.4", lw=0.8, label="r BTC/USDT")
    ax.axhspan(-band, band, color="0.85", label="95% band 1.96/sqrt(n)")
    ax.axvline(30, color="0.5", ls=":", lw=1)
    ax.set_xlabel("lag (minutes)")
    ax.set_title("Autocorrelation: |r| persists, r does not")
    ax.legend(fontsize=7)

    ax = axes[1, 0]
    ks = range(-5, 11)
    btc_r = f.log_returns(btc)
    for sym in ("ETH/USDT", "SOL/USDT"):
        cc = f.cross_correlation(btc_r, f.log_returns(bars[sym]), ks)
        ax.plot(list(cc), list(cc.values()), "o-", label=f"corr(BTC_t, {sym}_t+k)")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("k (minutes)")
    ax.set_title("Lead-lag: BTC leads (peak at k > 0)")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    names = ["calm", "trending", "volatile", "crash"]
    width = 0.25
    for i, sym in enumerate(f.SYMBOLS):
        vol = f.regime_vol(bars[sym])
        ax.bar(
            np.arange(4) + (i - 1) * width, [vol.get(g, np.nan) for g in names], width, label=sym
        )
    ax.set_xticks(range(4), names)
    ax.set_ylabel("std of 1m log return (bps)")
    ax.set_title("Volatility by latent regime")
    ax.legend(fontsize=8)

    ax = axes[1, 2]
    for sym in f.SYMBOLS:
        p = depth[sym]
        ax.plot(
            np.arange(len(p)), p / p.max(), lw=1.2, label=f"{sym} (peak at {int(p.argmax())} ticks)"
        )
    ax.set_xlabel("distance from best quote (ticks)")
    ax.set_ylabel("mean resting size / max")
    ax.set_title("Average depth profile (1 h of L2 at serve rates)")
    ax.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
