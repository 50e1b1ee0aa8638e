"""MicroCausalityEngine on the bus: unavailable once without a model; skew and pressure with one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine.core import topics
from engine.model.market import BookSnapshot, Trade
from engine.signals.artifacts import ModelUnavailable
from engine.signals.mce.engine import MCEPredictor, MicroCausalityEngine
from engine.signals.mce.features import l2_feature_frame
from engine.signals.mce.training import MCETrainParams, save_mce, train_mce
from tests.kit.configs import make_config
from tests.unit.engine.signals.books import book, imbalance_stream
from tests.unit.engine.signals.conftest import BusKit

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    params = MCETrainParams(seq_len=6, horizon_ms=100, d_model=8, max_epochs=1, threads=1)
    result = train_mce({"BTC/USDT": l2_feature_frame(imbalance_stream(1500))}, params)
    directory = tmp_path_factory.mktemp("mce")
    save_mce(result, directory)
    return directory


def _publish(kit: BusKit, events: list[BookSnapshot | Trade]) -> None:
    for ev in events:
        topic = topics.md_trade(ev.symbol) if isinstance(ev, Trade) else topics.md_book(ev.symbol)
        kit.bus.publish(topic, ev)


async def test_mce_without_model_is_unavailable_once_per_symbol(
    bus_kit: BusKit, tmp_path: Path
) -> None:
    mce = MicroCausalityEngine(
        bus_kit.bus, bus_kit.clock, make_config(tmp_path), bus_kit.supervisor
    )
    await mce.start()
    _publish(bus_kit, list(imbalance_stream(20)))
    await mce.stop()
    for s in SYMBOLS:
        got = bus_kit.recorder.of("mce", s)
        assert len(got) == 1
        assert not got[0].available
        assert "MCE unavailable" in got[0].reason
        assert "neutral" in got[0].reason


async def test_mce_publishes_skew_and_pressure_per_snapshot(
    bus_kit: BusKit, model_dir: Path, tmp_path: Path
) -> None:
    config = make_config(tmp_path, signals={"mce": {"model_dir": str(model_dir)}})
    mce = MicroCausalityEngine(bus_kit.bus, bus_kit.clock, config, bus_kit.supervisor)
    await mce.start()
    events = list(imbalance_stream(40, symbol="ETH/USDT"))
    for ev in events:  # one at a time: one reading per snapshot
        _publish(bus_kit, [ev])
        await mce.idle()
    stale = book(99.0, 99.02, [1], [1], ts=10**15, symbol="ETH/USDT", stale=True)
    _publish(bus_kit, [stale])
    await mce.idle()
    await mce.stop()
    got = bus_kit.recorder.of("mce", "ETH/USDT")
    live = [u for u in got if u.available]
    assert len(live) == 40 - 6 + 1
    assert all(-1 < u.values["skew"] < 1 and 0 < u.values["pressure"] < 1 for u in live)
    assert all(math.isfinite(u.compute_ms) and u.compute_ms >= 0 for u in live)
    reasons = [u.reason for u in got if not u.available]
    assert reasons[0].startswith("warming up")
    assert "stale" in reasons[-1]
    assert len(reasons) == 2


def test_mce_predictor_refuses_a_model_trained_on_other_features(
    model_dir: Path, tmp_path: Path
) -> None:
    for f in model_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["feature_names"] = ["x"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelUnavailable, match="other features"):
        MCEPredictor.load(tmp_path)
