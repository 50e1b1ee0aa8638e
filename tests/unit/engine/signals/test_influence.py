"""InfluenceMapper: the leader gets the highest influence; the component degrades visibly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.core import topics
from engine.core.errors import DataError
from engine.model.market import Bar
from engine.signals.artifacts import ModelUnavailable
from engine.signals.influence import InfluenceMapper, InfluencePredictor
from engine.signals.influence_training import (
    InfluenceTrainParams,
    save_influence,
    train_influence,
)
from tests.kit.configs import make_config
from tests.unit.engine.signals.conftest import BusKit
from tests.unit.engine.signals.leaders import led_closes

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
PARAMS = InfluenceTrainParams(window=60, max_epochs=12, patience=3, threads=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    closes = led_closes(2500, "BTC/USDT", ["ETH/USDT", "SOL/USDT"], seed=1)
    result = train_influence(closes, PARAMS, source="synthetic")
    directory = tmp_path_factory.mktemp("influence")
    save_influence(result, directory)
    return directory


def test_influence_training_ranks_the_leader_first(trained: Path) -> None:
    predictor = InfluencePredictor.load(trained, SYMBOLS)
    influence = predictor.metadata["metrics"]["influence_mean"]
    print("synthetic influence:", influence)
    assert max(influence, key=influence.get) == "BTC/USDT"
    r2 = predictor.metadata["metrics"]["val_r2_vs_zero"]
    assert r2["ETH/USDT"] > 0.05


def test_influence_predictor_rejects_another_universe(trained: Path) -> None:
    with pytest.raises(ModelUnavailable, match="trained on"):
        InfluencePredictor.load(trained, ("BTC/USDT", "ETH/USDT"))


def test_influence_training_needs_enough_bars() -> None:
    with pytest.raises(DataError, match="at least"):
        train_influence(led_closes(100, "BTC/USDT", ["ETH/USDT"]), PARAMS)


async def test_influence_component_publishes_each_symbol(
    bus_kit: BusKit, trained: Path, tmp_path: Path
) -> None:
    config = make_config(tmp_path, signals={"influence": {"model_dir": str(trained)}})
    mapper = InfluenceMapper(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    await mapper.start()
    closes = led_closes(100, "BTC/USDT", ["ETH/USDT", "SOL/USDT"], seed=5)
    for ts, row in closes.iterrows():
        for s, c in row.items():
            bar = Bar(str(s), "1m", int(ts.value), c, c, c, c, 1.0)
            bus_kit.bus.publish(topics.md_bar(str(s), "1m"), bar)
    await mapper.idle()
    await mapper.stop()
    for s in SYMBOLS:
        got = bus_kit.recorder.of("influence", s)
        assert [u.available for u in got[:1]] == [False]
        live = [u for u in got if u.available]
        assert len(live) == len(closes) - 60
        assert all(0.0 <= u.values["influence"] <= 1.0 for u in live)
        assert all(np.isfinite(u.values["predicted_return_z"]) for u in live)
    ranks = {s: bus_kit.recorder.of("influence", s)[-1].values["influence_rank"] for s in SYMBOLS}
    assert sorted(ranks.values()) == [1.0, 2.0, 3.0]


async def test_influence_component_without_model_says_so_once(
    bus_kit: BusKit, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    mapper = InfluenceMapper(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    await mapper.start()
    await mapper.start()
    await mapper.stop()
    for s in SYMBOLS:
        got = bus_kit.recorder.of("influence", s)
        assert len(got) == 1
        assert not got[0].available
        assert "no trained model" in got[0].reason


async def test_influence_warm_start_publishes_at_once(
    bus_kit: BusKit, trained: Path, tmp_path: Path
) -> None:
    config = make_config(tmp_path, signals={"influence": {"model_dir": str(trained)}})
    closes = led_closes(100, "BTC/USDT", ["ETH/USDT", "SOL/USDT"], seed=6)
    bus_kit.clock.set(int(closes.index[-1].value) + 60_000_000_000)
    mapper = InfluenceMapper(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    mapper.warm_start(closes)
    await mapper.start()
    await mapper.stop()
    for s in SYMBOLS:
        got = bus_kit.recorder.of("influence", s)
        assert len(got) == 1
        assert got[0].available
