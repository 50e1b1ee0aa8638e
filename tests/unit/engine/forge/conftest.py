"""Small trained specialists built from numpy data (no market data needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.forge.dataset import ForgeDataset
from engine.forge.gbm import train_gbm_specialists
from engine.forge.labels import ENTRY, EXIT, HOLD, chronological_split
from engine.forge.specialists import GBMSpecialist, GPSpecialist, RobustScaler

FEATURES = ("alpha", "beta", "gamma")


def feature_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(rng.normal(size=(n, len(FEATURES))), index=index, columns=list(FEATURES))


def labels_for(frame: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = frame["alpha"].to_numpy() + rng.normal(0, 1, len(frame))
    y = np.full(len(frame), HOLD)
    y[score > 1.0] = ENTRY
    y[score < -1.0] = EXIT
    return y


@pytest.fixture(scope="session")
def gbm_specialists() -> dict[str, GBMSpecialist]:
    train, cal = feature_frame(3000, 1), feature_frame(1500, 2)
    out = {}
    for kind in ("lightgbm", "xgboost"):
        _t, specs = train_gbm_specialists(
            kind,  # type: ignore[arg-type]
            train,
            labels_for(train, 3),
            cal,
            labels_for(cal, 4),
            feature_names=FEATURES,
            rounds=15,
            seed=0,
        )
        out[kind] = specs[0]
    return out


@pytest.fixture
def gp_specialist() -> GPSpecialist:
    train = feature_frame(2000, 5)
    return GPSpecialist(
        expression="signal(gt(zscore(alpha, w15), 0.5), lt(col(beta), -0.25))",
        feature_names=FEATURES,
        scaler=RobustScaler.fit(train.to_numpy()),
    )


def synthetic_dataset(n: int = 6000, seed: int = 0, embargo: int = 50) -> ForgeDataset:
    """A forge dataset over ``feature_frame`` columns: random-walk prices, labels from alpha."""
    frame = feature_frame(n, seed)
    rng = np.random.default_rng(seed + 100)
    # Prices drift with alpha a little, so specialists reading alpha trade something.
    ret = 0.0004 * frame["alpha"].to_numpy() + rng.normal(0, 0.001, n)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.concatenate(([100.0], close[:-1]))
    labels = labels_for(frame, seed + 200).astype(np.int8)
    return ForgeDataset(
        features=frame,
        open=open_,
        close=close,
        labels=labels,
        event_end=np.minimum(np.arange(n) + 5, n - 1),
        split=chronological_split(n, 0.6, 0.2, embargo),
    )
