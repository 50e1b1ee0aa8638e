"""Held-out evaluation of the MCE against a logistic-regression baseline on the same features.

* Skew: accuracy of sign(skew) for the sign of the next mid move (moves of 0
  excluded) with a one-sided binomial test against 1/2, on all test samples
  and on a subsample spaced one horizon apart (non-overlapping targets, so the
  test's independence assumption is closer to true). A drifting test span
  makes "always up" beat 1/2, so a second test is against the test span's own
  majority rate (the best constant guess in hindsight).
* Pressure: ROC AUC for large moves with a 95% moving-block bootstrap interval
  (blocks keep the serial correlation of overlapping horizons).

The baseline is scikit-learn's LogisticRegression on the last snapshot's
normalised features (the model's inputs at the prediction step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

if TYPE_CHECKING:
    from engine.signals.mce.model import MCETemporalFusionTransformer
    from engine.signals.mce.training import PartData, PreparedData

FloatArray = npt.NDArray[np.float64]


def sign_accuracy(score: FloatArray, move: FloatArray, spacing: int = 1) -> dict[str, float]:
    """Accuracy of sign(score) on nonzero moves, every ``spacing``-th sample, with a binomial test."""
    s, m = score[::spacing], move[::spacing]
    mask = (m != 0) & (s != 0)
    hits = int((np.sign(s[mask]) == np.sign(m[mask])).sum())
    n = int(mask.sum())
    if not n:
        return {"accuracy": float("nan"), "n": 0, "p_value": 1.0, "up_rate": float("nan")}
    up = float((m[mask] > 0).mean())
    majority = max(up, 1 - up)
    return {
        "accuracy": hits / n,
        "n": n,
        "p_value": float(binomtest(hits, n, 0.5, alternative="greater").pvalue),
        "up_rate": up,
        "majority_rate": majority,
        "p_value_vs_majority": float(binomtest(hits, n, majority, alternative="greater").pvalue),
    }


def block_bootstrap_auc(
    label: FloatArray, score: FloatArray, block: int, reps: int = 300, seed: int = 0
) -> tuple[float, float, float]:
    """AUC and a 95% moving-block bootstrap interval."""
    auc = float(roc_auc_score(label, score))
    n = len(label)
    rng = np.random.default_rng(seed)
    block = max(1, min(block, n))
    starts_max = n - block + 1
    k = int(np.ceil(n / block))
    stats = []
    for _ in range(reps):
        starts = rng.integers(0, starts_max, size=k)
        idx = (starts[:, None] + np.arange(block)[None, :]).ravel()[:n]
        y = label[idx]
        if 0 < y.sum() < len(y):
            stats.append(roc_auc_score(y, score[idx]))
    lo, hi = np.percentile(stats, [2.5, 97.5]) if stats else (float("nan"), float("nan"))
    return auc, float(lo), float(hi)


def _metrics(
    skew: FloatArray, pressure: FloatArray, part: PartData, steps: int, seed: int
) -> dict[str, Any]:
    label = part.pressure_label.astype(np.float64)
    out: dict[str, Any] = {
        "skew_sign": sign_accuracy(skew, part.move_bps),
        "skew_sign_spaced": sign_accuracy(skew, part.move_bps, spacing=max(steps, 1)),
        "skew_move_corr": float(np.corrcoef(skew, part.move_bps)[0, 1])
        if np.std(skew) > 0
        else 0.0,
        "large_move_rate": float(label.mean()),
    }
    if 0 < label.sum() < len(label):
        auc, lo, hi = block_bootstrap_auc(label, pressure, block=max(5 * steps, 20), seed=seed)
        out["pressure_auc"] = {"auc": auc, "ci_low": lo, "ci_high": hi, "n": len(label)}
    return out


def logistic_baseline(data: PreparedData, seed: int) -> tuple[FloatArray, FloatArray]:
    """(signed score, large-move probability) on the test split from two logistic regressions."""
    x_train = data.train.x[:, -1, :].astype(np.float64)
    x_test = data.test.x[:, -1, :].astype(np.float64)
    move = data.train.move_bps
    nz = move != 0
    sign_model = LogisticRegression(max_iter=1000, random_state=seed).fit(x_train[nz], move[nz] > 0)
    score = sign_model.predict_proba(x_test)[:, 1] - 0.5
    press_model = LogisticRegression(max_iter=1000, class_weight="balanced", random_state=seed)
    press_model.fit(x_train, data.train.pressure_label > 0.5)
    return score, press_model.predict_proba(x_test)[:, 1]


def evaluate_all(
    model: MCETemporalFusionTransformer, data: PreparedData, seed: int = 0
) -> dict[str, Any]:
    """Test-split metrics of the TFT and of the logistic baseline."""
    from engine.signals.mce.training import predict

    skew, pressure = predict(model, data.test.x)
    base_skew, base_pressure = logistic_baseline(data, seed)
    return {
        "tft": _metrics(skew, pressure, data.test, data.horizon_steps, seed),
        "logistic": _metrics(base_skew, base_pressure, data.test, data.horizon_steps, seed),
        "test_samples": len(data.test),
    }
