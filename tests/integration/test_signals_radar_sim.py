"""TopologicalRadar on the sim venue's regime process (real cerebellum_core history).

Windows just after a switch into "crash" or "volatile" should score higher
than windows lying wholly inside a calm stretch. Reported: medians, Cohen's d,
the rank-biserial AUC and a one-sided Mann–Whitney p-value, per bar and per
switch event (one mean score per event: serial correlation inflates the
per-bar count, the per-event test does not lean on it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from engine.signals.bar_inputs import aligned_closes, read_history_dir
from engine.signals.config import RadarConfig
from engine.signals.radar import radar_frame
from engine.signals.sim_history import run_sim_history

MINUTES = 10_000
SEED = 7
AFTER = 15  # bars after a switch that count as "around" it


@pytest.fixture(scope="module")
def sim_bars(
    cerebellum_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("sim-bars")
    run_sim_history(cerebellum_binary, out, ("BTC/USDT", "ETH/USDT", "SOL/USDT"), MINUTES, SEED)
    return read_history_dir(out)


def _effect(a: pd.Series, b: pd.Series) -> dict[str, float]:
    test = mannwhitneyu(a, b, alternative="greater")
    return {
        "n_switch": len(a),
        "n_calm": len(b),
        "median_switch": float(a.median()),
        "median_calm": float(b.median()),
        "cohens_d": float((a.mean() - b.mean()) / np.sqrt((a.var() + b.var()) / 2)),
        "auc": float(test.statistic / (len(a) * len(b))),
        "p_value": float(test.pvalue),
    }


def test_radar_scores_switches_into_crash_or_volatile_above_calm(
    sim_bars: dict[str, pd.DataFrame],
) -> None:
    cfg = RadarConfig()
    closes = aligned_closes(sim_bars)
    regime = sim_bars["BTC/USDT"]["regime"].reindex(closes.index)
    frame = radar_frame(closes, cfg)
    score = frame["score"]

    prev = regime.shift()
    switches = np.nonzero(
        ((regime != prev) & regime.isin(["crash", "volatile"]) & prev.notna()).to_numpy()
    )[0]
    near = np.zeros(len(regime), dtype=bool)
    for i in switches:
        near[i : i + AFTER] = True
    calm = ((regime == "calm").rolling(cfg.window + 1).sum() == cfg.window + 1).to_numpy() & ~near
    per_bar = _effect(score[near].dropna(), score[calm].dropna())
    events = pd.Series([score.iloc[i : i + AFTER].mean() for i in switches]).dropna()
    calm_blocks = score[calm].dropna().iloc[:: cfg.window]  # non-overlapping calm windows
    per_event = _effect(events, calm_blocks)
    flags = frame["regime_change_detected"]
    print(
        f"\nradar on sim ({MINUTES} min, seed {SEED}, {len(switches)} switches into crash/volatile)"
    )
    print("  per bar:  ", {k: f"{v:.4g}" for k, v in per_bar.items()})
    print(
        "  per event:",
        {k: f"{v:.4g}" for k, v in per_event.items()},
    )
    print(
        f"  regime_change_detected: {flags[near].mean():.1%} of bars near switches, {flags[calm].mean():.1%} of calm bars"
    )
    assert len(switches) >= 10
    assert per_bar["median_switch"] > per_bar["median_calm"]
    assert per_bar["p_value"] < 1e-6
    assert per_event["p_value"] < 0.01
    assert flags[near].mean() > 3 * flags[calm].mean()
