"""FeatureNormalizer: robust scaling, JSON round trip, loud failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import DataError
from engine.signals.mce.normalizer import FeatureNormalizer

NAMES = ("a", "b", "c")


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(5, 2, 5000), rng.standard_t(2, 5000), np.ones(5000)]
    return x


def test_normalizer_centres_and_scales_robustly() -> None:
    norm = FeatureNormalizer.fit(_data(), NAMES)
    z = norm.transform(_data())
    assert abs(np.median(z[:, 0])) < 0.05
    assert 0.9 < z[:, 0].std() < 1.1
    assert np.abs(z).max() <= norm.clip
    assert (z[:, 2] == 0).all()  # a constant feature maps to 0, not NaN


def test_normalizer_json_round_trip(tmp_path: Path) -> None:
    norm = FeatureNormalizer.fit(_data(), NAMES)
    norm.save(tmp_path / "n.json")
    again = FeatureNormalizer.load(tmp_path / "n.json")
    assert again == norm


def test_normalizer_rejects_non_finite_input() -> None:
    norm = FeatureNormalizer.fit(_data(), NAMES)
    with pytest.raises(DataError, match="non-finite"):
        norm.transform(np.array([1.0, np.nan, 0.0]))
    bad = _data()
    bad[3, 1] = np.inf
    with pytest.raises(DataError, match=r"\['b'\]"):
        FeatureNormalizer.fit(bad, NAMES)


def test_normalizer_rejects_malformed_json(tmp_path: Path) -> None:
    (tmp_path / "n.json").write_text('{"names": ["a"], "center": [0.0], "scale": [0.0]}')
    with pytest.raises(DataError, match="scale positive"):
        FeatureNormalizer.load(tmp_path / "n.json")
