"""MCE training on constructed books: it learns the imbalance, saves, reloads, and matches live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.core.errors import DataError
from engine.model.market import BookSnapshot
from engine.signals.mce.dataset import horizon_targets
from engine.signals.mce.engine import MCEPipeline, MCEPredictor
from engine.signals.mce.features import l2_feature_frame
from engine.signals.mce.training import MCETrainParams, predict, save_mce, train_mce
from tests.unit.engine.signals.books import imbalance_stream

PARAMS = MCETrainParams(
    seq_len=8, horizon_ms=100, d_model=8, max_epochs=4, patience=2, batch_size=128, threads=1
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = l2_feature_frame(imbalance_stream(6000, seed=11))
    result = train_mce({"BTC/USDT": frame}, PARAMS, source="constructed")
    directory = tmp_path_factory.mktemp("mce")
    save_mce(result, directory)
    return directory


def test_horizon_targets_move_and_excursion() -> None:
    mid = np.array([100.0, 101.0, 99.0, 100.0])
    ts = np.array([0, 100, 200, 300]) * 1_000_000
    move, exc, valid = horizon_targets(mid, ts, 200)
    assert list(valid) == [True, True, False, False]
    assert move[0] == pytest.approx(np.log(99 / 100) * 1e4)
    assert exc[0] == pytest.approx(abs(np.log(99 / 100)) * 1e4)


def test_mce_training_learns_the_book_imbalance(trained: Path) -> None:
    meta = MCEPredictor.load(trained).metadata
    tft = meta["metrics"]["tft"]
    print("constructed-book MCE:", tft["skew_sign"], tft.get("pressure_auc"))
    assert tft["skew_sign"]["accuracy"] > 0.6
    assert tft["skew_sign"]["p_value"] < 0.01
    assert meta["samples"]["test"] > 500
    assert meta["history"]


def test_mce_pipeline_per_snapshot_equals_batch_prediction(trained: Path) -> None:
    predictor = MCEPredictor.load(trained)
    events = list(imbalance_stream(60, seed=99))
    pipe = MCEPipeline("BTC/USDT", predictor)
    live = []
    for ev in events:
        if isinstance(ev, BookSnapshot):
            reading = pipe.process(ev)
            if reading is not None:
                live.append((reading.skew, reading.pressure))
        else:
            pipe.on_trade(ev)
    frame = l2_feature_frame(events)
    z = predictor.normalizer.transform(frame.features.to_numpy())
    from engine.signals.mce.dataset import windows

    ends = np.arange(PARAMS.seq_len - 1, len(z))
    x = windows(z, ends, PARAMS.seq_len).astype(np.float32)
    from engine.signals.artifacts import load_torch_artifact
    from engine.signals.mce.model import MCETemporalFusionTransformer, TFTParams

    state, meta = load_torch_artifact(trained)
    model = MCETemporalFusionTransformer(TFTParams.from_json(meta["tft"]))
    model.load_state_dict(state)
    skew, pressure = predict(model, x)
    assert len(live) == len(skew) == 60 - PARAMS.seq_len + 1
    np.testing.assert_allclose([s for s, _ in live], skew, atol=1e-5)
    np.testing.assert_allclose([p for _, p in live], pressure, atol=1e-5)
    assert all(-1 < s < 1 and 0 < p < 1 for s, p in live)


def test_mce_training_with_too_little_data_says_so() -> None:
    frame = l2_feature_frame(imbalance_stream(30, seed=1))
    with pytest.raises(DataError, match="too few"):
        train_mce({"BTC/USDT": frame}, PARAMS)
