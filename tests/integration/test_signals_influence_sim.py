"""InfluenceMapper on the sim venue, where BTC leads ETH and SOL: BTC gets the highest influence."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.signals.bar_inputs import aligned_closes, read_history_dir
from engine.signals.influence import InfluencePredictor
from engine.signals.influence_training import InfluenceTrainParams, save_influence, train_influence
from engine.signals.sim_history import run_sim_history

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
MINUTES = 3000
SEED = 11


def test_influence_gnn_ranks_btc_first_on_the_sim(cerebellum_binary: Path, tmp_path: Path) -> None:
    run_sim_history(cerebellum_binary, tmp_path / "bars", SYMBOLS, MINUTES, SEED)
    closes = aligned_closes(read_history_dir(tmp_path / "bars", list(SYMBOLS)))
    params = InfluenceTrainParams(seed=SEED)
    result = train_influence(closes, params, source=f"sim {MINUTES} min seed {SEED}")
    save_influence(result, tmp_path / "model")
    predictor = InfluencePredictor.load(tmp_path / "model", SYMBOLS)
    metrics = predictor.metadata["metrics"]
    influence = metrics["influence_mean"]
    print(
        f"\ninfluence on sim ({MINUTES} min, seed {SEED}):",
        {k: f"{v:.3f}" for k, v in influence.items()},
    )
    print(
        "  validation R^2 vs zero forecast:",
        {k: f"{v:.3f}" for k, v in metrics["val_r2_vs_zero"].items()},
    )
    print("  lag-1 correlations:", {k: f"{v:.3f}" for k, v in metrics["lag1_corr_mean"].items()})
    assert max(influence, key=influence.get) == "BTC/USDT"
    assert influence["BTC/USDT"] > max(influence["ETH/USDT"], influence["SOL/USDT"]) + 0.05
    assert metrics["val_r2_vs_zero"]["ETH/USDT"] > 0.05
    returns = np.diff(np.log(closes.to_numpy()), axis=0)
    live = np.mean(
        [predictor.predict(returns[: t + 1])[0] for t in range(len(returns) - 50, len(returns))],
        axis=0,
    )
    assert predictor.symbols[int(live.argmax())] == "BTC/USDT"
