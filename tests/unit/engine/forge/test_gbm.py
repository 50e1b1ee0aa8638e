"""LightGBM/XGBoost specialists: class weights, calibration parity, safe round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.core.errors import DataError
from engine.forge.gbm import booster_from_bytes, fit_booster, fit_calibration, train_gbm_specialists
from engine.forge.labels import ENTRY, EXIT, HOLD
from engine.forge.specialists import GBMSpecialist

NAMES = ("a", "b", "c", "d")


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(NAMES)))
    score = x[:, 0] - 0.5 * x[:, 1] + rng.normal(0, 1.0, n)
    y = np.full(n, HOLD, dtype=np.int64)
    y[score > 1.2] = ENTRY
    y[score < -1.2] = EXIT
    return pd.DataFrame(x, columns=list(NAMES)), y


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_calibration_parameters_reproduce_sklearn_predict_proba(kind: str) -> None:
    x, y = _data(3000, 0)
    xc, yc = _data(1500, 1)
    trained = fit_booster(kind, x.to_numpy(), y, rounds=20, seed=0, feature_names=NAMES)  # type: ignore[arg-type]
    sigmoid, sk = fit_calibration(trained.estimator, xc, yc)
    booster = booster_from_bytes(kind, trained.serialized)  # type: ignore[arg-type]
    spec = GBMSpecialist(kind, booster, NAMES, sigmoid, 0.5, 0.5)  # type: ignore[arg-type]
    np.testing.assert_allclose(spec.proba(xc), sk.predict_proba(xc), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_train_gbm_specialists_learn_the_signal_and_use_quantile_thresholds(kind: str) -> None:
    x, y = _data(4000, 2)
    xc, yc = _data(2000, 3)
    _trained, specs = train_gbm_specialists(
        kind,
        x,
        y,
        xc,
        yc,
        feature_names=NAMES,
        rounds=30,
        seed=1,  # type: ignore[arg-type]
    )
    assert len(specs) == 4
    proba = specs[0].proba(xc)
    assert np.allclose(proba.sum(axis=1), 1.0)
    # ENTRY probability ranks the true ENTRY rows higher than the rest.
    assert proba[yc == ENTRY, ENTRY].mean() > proba[yc != ENTRY, ENTRY].mean() + 0.1
    sig = specs[0].signals(xc)
    assert 0.05 < np.mean(sig == ENTRY) < 0.15
    assert specs[2].entry_threshold > specs[0].entry_threshold


def test_fit_booster_uses_balanced_class_weights_so_rare_classes_are_predicted() -> None:
    x, y = _data(4000, 4)
    trained = fit_booster("lightgbm", x.to_numpy(), y, rounds=30, seed=0, feature_names=NAMES)
    predicted = trained.estimator.predict(x)
    assert np.mean(predicted == ENTRY) > 0.5 * np.mean(y == ENTRY)


def test_fit_booster_missing_class_is_a_clear_error() -> None:
    x, y = _data(500, 5)
    y[y == EXIT] = HOLD
    with pytest.raises(DataError, match="lack classes"):
        fit_booster("lightgbm", x.to_numpy(), y, rounds=5, seed=0, feature_names=NAMES)


def test_gbm_specialist_missing_feature_column_is_a_clear_error() -> None:
    x, y = _data(2000, 6)
    _t, specs = train_gbm_specialists("lightgbm", x, y, x, y, feature_names=NAMES, rounds=5, seed=0)
    with pytest.raises(DataError, match="lacks columns"):
        specs[0].signals(x.drop(columns=["c"]))


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_gbm_describe_lists_its_top_features_by_share_of_split_gain(kind: str) -> None:
    x, y = _data(4000, 7)
    xc, yc = _data(2000, 8)
    _t, specs = train_gbm_specialists(
        kind,  # type: ignore[arg-type]
        x,
        y,
        xc,
        yc,
        feature_names=NAMES,
        rounds=20,
        seed=0,
    )
    ranked = specs[0].gain_importance()
    names = [name for name, _ in ranked]
    shares = [share for _, share in ranked]
    # The labels come from a - 0.5 b plus noise: a carries most gain, then b.
    assert names[:2] == ["a", "b"]
    assert sorted(names) == sorted(NAMES)
    assert sum(shares) == pytest.approx(1.0)
    assert shares == sorted(shares, reverse=True)
    top = specs[0].describe()["top_features"]
    assert top == [[n, s] for n, s in ranked if s > 0][:10]
    assert json.loads(json.dumps(top)) == top
