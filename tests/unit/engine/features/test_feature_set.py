"""Feature set ids: stable, sensitive to names/order/parameters/version, enforced."""

from __future__ import annotations

import pytest

from engine.features.config import FeaturesConfig
from engine.features.factory import FeatureFactory
from engine.features.feature_set import FeatureSet, FeatureSetMismatch


def test_the_id_is_stable_across_factories_and_runs() -> None:
    assert FeatureFactory().feature_set_id == FeatureFactory(FeaturesConfig()).feature_set_id
    assert len(FeatureFactory().feature_set_id) == 16


def test_the_id_changes_with_parameters_names_order_and_version() -> None:
    base = FeatureSet(("a", "b"), 1, {"p": 1})
    variants = [
        FeatureSet(("a", "b"), 1, {"p": 2}),
        FeatureSet(("b", "a"), 1, {"p": 1}),
        FeatureSet(("a",), 1, {"p": 1}),
        FeatureSet(("a", "b"), 2, {"p": 1}),
    ]
    assert len({base.id, *(v.id for v in variants)}) == 5
    assert (
        FeatureFactory(FeaturesConfig(rsi_period=7)).feature_set_id
        != FeatureFactory().feature_set_id
    )


def test_a_model_refuses_to_run_on_another_feature_set() -> None:
    factory = FeatureFactory()
    factory.require(factory.feature_set_id)
    other = FeatureFactory(FeaturesConfig(volatility_window=30))
    with pytest.raises(
        FeatureSetMismatch, match=r"missing here: \[.m1_vol_30.*unknown to the model: \[.m1_vol_20"
    ):
        factory.require(other.feature_set_id, other.feature_names)
    with pytest.raises(FeatureSetMismatch, match="same names"):
        factory.require("0" * 16, factory.feature_names)


def test_a_description_round_trips_and_detects_tampering() -> None:
    fs = FeatureFactory().feature_set
    assert FeatureSet.from_dict(fs.to_dict()).id == fs.id
    tampered = fs.to_dict() | {"names": ["x", *fs.names]}
    with pytest.raises(FeatureSetMismatch, match="altered"):
        FeatureSet.from_dict(tampered)
    with pytest.raises(FeatureSetMismatch, match="malformed"):
        FeatureSet.from_dict({"names": ["a"]})
