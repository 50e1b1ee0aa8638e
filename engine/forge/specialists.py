"""Specialists: the trained pieces an agent runs, identical in the gauntlet and after loading.

Each specialist turns a feature frame into HOLD/ENTRY/EXIT signals. The forge
builds them from in-memory training results *through the same safe formats the
registry writes* (GP expression string, LightGBM text, XGBoost JSON, JSON
parameters), so the signals the gauntlet judged are the signals a loaded bundle
produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from scipy.special import expit

from engine.core.errors import DataError
from engine.forge.evaluator import TreeEvaluator
from engine.forge.expression import parse_expression
from engine.forge.labels import ENTRY, EXIT, HOLD
from engine.forge.primitives import build_primitive_set

GBMKind = Literal["lightgbm", "xgboost"]
ScoreMethod = Literal["decision_function", "predict_proba"]
N_CLASSES = 3
TOP_FEATURES = 10
_CLIP = 20.0


class Specialist(Protocol):
    """Anything that maps a feature frame to signals."""

    @property
    def kind(self) -> str: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def signals(self, features: pd.DataFrame) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...


def feature_matrix(features: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The named columns as a float64 matrix; a missing column is a DataError."""
    if tuple(features.columns) == names:
        return np.ascontiguousarray(features.to_numpy(dtype=np.float64))
    missing = [n for n in names if n not in features.columns]
    if missing:
        raise DataError(f"feature frame lacks columns the model needs: {missing}")
    return np.ascontiguousarray(features.loc[:, list(names)].to_numpy(dtype=np.float64))


@dataclass(frozen=True, slots=True)
class RobustScaler:
    """Per-column (x - median) / scale fitted on training rows, clipped to +/-20."""

    median: tuple[float, ...]
    scale: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray) -> RobustScaler:
        median = np.median(x, axis=0)
        q75, q25 = np.percentile(x, [75, 25], axis=0)
        scale = (q75 - q25) / 1.349
        std = np.std(x, axis=0)
        scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
        return cls(tuple(map(float, median)), tuple(map(float, scale)))

    def subset(self, columns: list[int]) -> RobustScaler:
        """The scaler of just these columns (in this order)."""
        return RobustScaler(
            tuple(self.median[i] for i in columns), tuple(self.scale[i] for i in columns)
        )

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.median)) / np.asarray(self.scale)
        return np.asarray(np.clip(z, -_CLIP, _CLIP), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class GPSpecialist:
    """An evolved tree, kept as its expression string, over scaled feature columns."""

    expression: str
    feature_names: tuple[str, ...]
    scaler: RobustScaler
    kind: str = "gp"

    def signals(self, features: pd.DataFrame) -> np.ndarray:
        z = self.scaler.transform(feature_matrix(features, self.feature_names))
        pset = build_primitive_set(list(self.feature_names))
        columns = {name: z[:, i] for i, name in enumerate(self.feature_names)}
        evaluator = TreeEvaluator(columns, pset, cache_bytes=0)
        return evaluator.signals(parse_expression(self.expression, pset))

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "expression": self.expression,
            "feature_names": list(self.feature_names),
            "scaler": {"median": list(self.scaler.median), "scale": list(self.scaler.scale)},
        }


@dataclass(frozen=True, slots=True)
class SigmoidCalibration:
    """Platt scaling per class as fitted by scikit-learn, averaged over its calibrators.

    ``sets`` holds one (a, b) pair per class for every calibrated classifier
    scikit-learn kept (one with a pre-fitted model, several in ensemble mode).
    ``score`` is what scikit-learn calibrated: the model's ``decision_function``
    (raw margins) when it has one, else its ``predict_proba``.
    """

    sets: tuple[tuple[tuple[float, float], ...], ...]
    score: ScoreMethod = "predict_proba"

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, exactly as CalibratedClassifierCV computes them."""
        out = np.zeros_like(raw, dtype=np.float64)
        for pairs in self.sets:
            proba = np.zeros_like(raw, dtype=np.float64)
            for k, (a, b) in enumerate(pairs):
                # Same expression and dtypes as scikit-learn's _SigmoidCalibration.predict.
                proba[:, k] = expit(-(a * raw[:, k] + b))
            denominator = np.sum(proba, axis=1)[:, np.newaxis]
            uniform = np.full_like(proba, 1.0 / proba.shape[1])
            proba = np.divide(proba, denominator, out=uniform, where=denominator != 0)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
            out += proba
        return out / len(self.sets)


@dataclass(frozen=True, slots=True)
class GBMSpecialist:
    """A gradient-boosted classifier (LightGBM or XGBoost booster) with calibration."""

    kind: GBMKind
    booster: Any
    feature_names: tuple[str, ...]
    calibration: SigmoidCalibration
    entry_threshold: float
    exit_threshold: float

    def scores(self, features: pd.DataFrame) -> np.ndarray:
        """The uncalibrated per-class scores the calibration was fitted on."""
        return self.scores_of(feature_matrix(features, self.feature_names))

    def scores_of(self, x: np.ndarray) -> np.ndarray:
        """``scores`` of a matrix whose columns are ``feature_names`` in that order."""
        margins = self.calibration.score == "decision_function"
        if self.kind == "lightgbm":
            raw = self.booster.predict(x, raw_score=margins)
        else:  # in place: building a DMatrix costs milliseconds even for the one row a decision scores
            raw = self.booster.inplace_predict(x, predict_type="margin" if margins else "value")
        return np.asarray(raw).reshape(x.shape[0], N_CLASSES)

    def proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibration.apply(self.scores(features))

    def proba_of(self, x: np.ndarray) -> np.ndarray:
        """``proba`` of a matrix whose columns are ``feature_names`` in that order."""
        return self.calibration.apply(self.scores_of(x))

    def signals(self, features: pd.DataFrame) -> np.ndarray:
        return signals_from_proba(self.proba(features), self.entry_threshold, self.exit_threshold)

    def gain_importance(self) -> list[tuple[str, float]]:
        """Each feature's share of the booster's total split gain, largest first.

        LightGBM's ``gain`` and XGBoost's ``total_gain`` (both summed over every
        split on the feature), normalised to sum to one; unused features get 0.
        """
        names = self.feature_names
        gains = np.zeros(len(names), dtype=np.float64)
        if self.kind == "lightgbm":
            gains[:] = self.booster.feature_importance(importance_type="gain")
        else:
            position = {n: i for i, n in enumerate(names)}
            for key, value in self.booster.get_score(importance_type="total_gain").items():
                # Named features come back by name, unnamed ones as f<index>.
                i = position.get(key, int(key[1:]) if key[1:].isdigit() else -1)
                if 0 <= i < len(names):
                    gains[i] += float(value)
        total = float(gains.sum())
        shares = gains / total if total > 0 else gains
        order = sorted(range(len(names)), key=lambda i: (-shares[i], names[i]))
        return [(names[i], float(shares[i])) for i in order]

    def describe(self) -> dict[str, Any]:
        top = [[name, share] for name, share in self.gain_importance() if share > 0]
        return {
            "kind": self.kind,
            "feature_names": list(self.feature_names),
            "calibration": {
                "method": "sigmoid",
                "score": self.calibration.score,
                "sets": [[list(pair) for pair in pairs] for pairs in self.calibration.sets],
            },
            "entry_threshold": self.entry_threshold,
            "exit_threshold": self.exit_threshold,
            "top_features": top[:TOP_FEATURES],
        }


def signals_from_proba(
    proba: np.ndarray, entry_threshold: float, exit_threshold: float
) -> np.ndarray:
    """ENTRY where P(entry) clears its threshold, else EXIT where P(exit) clears its own."""
    out = np.full(proba.shape[0], HOLD, dtype=np.int8)
    out[proba[:, EXIT] >= exit_threshold] = EXIT
    out[proba[:, ENTRY] >= entry_threshold] = ENTRY
    return out


def load_lightgbm(model_text: str) -> Any:
    import lightgbm as lgb

    return lgb.Booster(model_str=model_text)


def load_xgboost(model_json: bytes) -> Any:
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(model_json))
    booster.set_param({"nthread": 1})
    return booster
