"""LightGBM and XGBoost specialists: class-weighted training, sigmoid calibration, thresholds.

Calibration uses scikit-learn's CalibratedClassifierCV on a pre-fitted model
(``cv="prefit"`` where that exists, ``FrozenEstimator`` where it replaced it),
never with ``n_jobs`` (older versions reject it). Its fitted Platt parameters are
read back into plain floats so the registry stores JSON, not a pickled estimator.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.utils.class_weight import compute_sample_weight

from engine.core.errors import DataError
from engine.forge.specialists import (
    N_CLASSES,
    GBMKind,
    GBMSpecialist,
    ScoreMethod,
    SigmoidCalibration,
    feature_matrix,
    load_lightgbm,
    load_xgboost,
)

# (entry quantile, exit quantile) of calibrated probabilities on the calibration rows.
THRESHOLD_GRID: tuple[tuple[float, float], ...] = (
    (0.90, 0.50),
    (0.90, 0.80),
    (0.97, 0.50),
    (0.97, 0.80),
)


@dataclass(frozen=True, slots=True)
class TrainedBooster:
    """A fitted classifier and its serialized form (LightGBM text or XGBoost JSON)."""

    kind: GBMKind
    estimator: Any
    serialized: bytes


class MissingClasses(DataError):
    """Training or calibration labels lack a class, so no 3-class model can be built.

    Not a fault: the data hold too few outcomes of some kind (a calm stretch has
    no ENTRY labels, say). The forge skips the candidate and says why.
    """

    def __init__(self, where: str, missing: Sequence[int]) -> None:
        self.where = where
        self.missing = tuple(int(c) for c in missing)
        super().__init__(
            f"{where} labels lack classes {list(self.missing)}; cannot train a 3-class model"
        )


def _check_classes(y: np.ndarray, where: str) -> None:
    missing = sorted(set(range(N_CLASSES)) - set(np.unique(y).tolist()))
    if missing:
        raise MissingClasses(where, missing)


def fit_booster(
    kind: GBMKind,
    x: np.ndarray,
    y: np.ndarray,
    *,
    rounds: int,
    seed: int,
    feature_names: Sequence[str],
) -> TrainedBooster:
    """Fit a class-weighted (balanced) 3-class booster on one thread."""
    _check_classes(y, "training")
    weight = compute_sample_weight("balanced", y)
    frame = pd.DataFrame(x, columns=list(feature_names))
    if kind == "lightgbm":
        import lightgbm as lgb

        model = lgb.LGBMClassifier(
            n_estimators=rounds,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=200,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            reg_lambda=1.0,
            n_jobs=1,
            random_state=seed,
            verbose=-1,
        )
        model.fit(frame, y, sample_weight=weight)
        text = model.booster_.model_to_string()
        return TrainedBooster(kind, model, text.encode())
    if kind == "xgboost":
        import xgboost as xgb

        model = xgb.XGBClassifier(
            n_estimators=rounds,
            max_depth=4,
            learning_rate=0.05,
            subsample=0.8,
            colsample_bytree=0.8,
            min_child_weight=5.0,
            tree_method="hist",
            objective="multi:softprob",
            n_jobs=1,
            random_state=seed,
        )
        model.fit(frame, y, sample_weight=weight)
        raw = model.get_booster().save_raw(raw_format="json")
        return TrainedBooster(kind, model, bytes(raw))
    raise ValueError(f"unknown booster kind {kind!r}")


def _prefit_calibrator(estimator: Any) -> CalibratedClassifierCV:
    """A sigmoid CalibratedClassifierCV around an already fitted model, for this sklearn."""
    try:
        from sklearn.frozen import FrozenEstimator  # scikit-learn >= 1.6
    except ImportError:
        return CalibratedClassifierCV(estimator, method="sigmoid", cv="prefit")
    kwargs: dict[str, Any] = {"method": "sigmoid"}
    if "ensemble" in inspect.signature(CalibratedClassifierCV).parameters:
        kwargs["ensemble"] = False
    return CalibratedClassifierCV(FrozenEstimator(estimator), **kwargs)


def fit_calibration(
    estimator: Any, x: pd.DataFrame, y: np.ndarray
) -> tuple[SigmoidCalibration, Any]:
    """Fit Platt scaling on held-out rows; return its parameters and the sklearn object."""
    _check_classes(y, "calibration")
    calibrator = _prefit_calibrator(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        calibrator.fit(x, y)
    sets = []
    for cc in calibrator.calibrated_classifiers_:
        if len(cc.calibrators) != N_CLASSES:
            raise DataError(
                f"expected {N_CLASSES} calibrators, scikit-learn made {len(cc.calibrators)}"
            )
        sets.append(tuple((float(c.a_), float(c.b_)) for c in cc.calibrators))
    score: ScoreMethod = (
        "decision_function" if hasattr(estimator, "decision_function") else "predict_proba"
    )
    return SigmoidCalibration(tuple(sets), score), calibrator


def booster_from_bytes(kind: GBMKind, serialized: bytes) -> Any:
    """Rebuild a booster from its saved form (what the registry will load)."""
    return load_lightgbm(serialized.decode()) if kind == "lightgbm" else load_xgboost(serialized)


def train_gbm_specialists(
    kind: GBMKind,
    train: pd.DataFrame,
    y_train: np.ndarray,
    calibration: pd.DataFrame,
    y_calibration: np.ndarray,
    *,
    feature_names: tuple[str, ...],
    rounds: int,
    seed: int,
    grid: Sequence[tuple[float, float]] = THRESHOLD_GRID,
) -> tuple[TrainedBooster, list[GBMSpecialist]]:
    """Train one booster, calibrate it, and return one specialist per threshold pair.

    ``grid`` holds (entry, exit) quantiles of the calibrated probabilities on the
    calibration rows; each pair becomes one specialist sharing the booster.
    """
    trained = fit_booster(
        kind,
        feature_matrix(train, feature_names),
        y_train,
        rounds=rounds,
        seed=seed,
        feature_names=feature_names,
    )
    x_cal = pd.DataFrame(feature_matrix(calibration, feature_names), columns=list(feature_names))
    sigmoid, _ = fit_calibration(trained.estimator, x_cal, y_calibration)
    booster = booster_from_bytes(kind, trained.serialized)
    probe = GBMSpecialist(kind, booster, feature_names, sigmoid, 1.0, 1.0)
    proba = probe.proba(calibration)
    specialists = []
    for q_entry, q_exit in grid:
        specialists.append(
            GBMSpecialist(
                kind,
                booster,
                feature_names,
                sigmoid,
                entry_threshold=float(np.quantile(proba[:, 1], q_entry)),
                exit_threshold=float(np.quantile(proba[:, 2], q_exit)),
            )
        )
    return trained, specialists
