"""MCE on held-out simulated L2 (real cerebellum_core history), against a logistic baseline.

Reported for both the TFT and a logistic regression on the same features:
skew's sign accuracy for the next mid move (binomial test against 1/2, on all
test samples and on samples one horizon apart) and pressure's AUC for large
moves with a 95% block-bootstrap interval. The model here is deliberately
small and briefly trained so that the test stays quick; `crucible mce train`
trains the full one.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.marketdata.replay import read_l2_jsonl
from engine.signals.mce.engine import MCEPredictor
from engine.signals.mce.features import l2_feature_frames
from engine.signals.mce.training import MCETrainParams, save_mce, train_mce
from engine.signals.sim_history import run_sim_history

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
MINUTES = 30
SEED = 5
L2_HZ = 5.0


def test_mce_skew_and_pressure_beat_chance_on_held_out_sim_l2(
    cerebellum_binary: Path, tmp_path: Path
) -> None:
    sim = run_sim_history(cerebellum_binary, tmp_path / "sim", SYMBOLS, MINUTES, SEED, l2_hz=L2_HZ)
    assert sim.l2_path is not None
    frames = l2_feature_frames(read_l2_jsonl(sim.l2_path))
    assert set(frames) == set(SYMBOLS)
    params = MCETrainParams(seq_len=16, max_epochs=4, patience=2, max_train_samples=8000, seed=SEED)
    result = train_mce(frames, params, source=f"sim {MINUTES} min seed {SEED} at {L2_HZ} Hz")
    save_mce(result, tmp_path / "model")
    metrics = MCEPredictor.load(tmp_path / "model").metadata["metrics"]
    print(
        f"\nMCE on held-out sim L2 ({MINUTES} min, seed {SEED}, {L2_HZ} Hz, horizon {params.horizon_ms} ms):"
    )
    print(json.dumps(metrics, indent=1))
    tft, logistic = metrics["tft"], metrics["logistic"]
    assert tft["skew_sign"]["accuracy"] > 0.5
    assert tft["skew_sign"]["p_value"] < 1e-3
    assert tft["skew_sign_spaced"]["p_value"] < 0.01
    assert tft["skew_sign"]["accuracy"] > tft["skew_sign"]["majority_rate"]
    assert tft["pressure_auc"]["auc"] > 0.5
    assert tft["pressure_auc"]["ci_low"] > 0.5
    assert logistic["pressure_auc"]["auc"] > 0.5  # the baseline is computed, not just named
