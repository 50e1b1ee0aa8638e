"""Live inference votes exactly as the specialist's own batch signals (what the gauntlet judged)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.agents.feature_hub import FeatureHub
from engine.agents.inference import SpecialistRunner
from engine.core.errors import DataError
from engine.features.factory import FeatureFactory
from engine.forge.registry import AgentBundle
from engine.forge.specialists import GPSpecialist, RobustScaler
from tests.unit.engine.agents.test_agent import FEATURES, SYMBOL, _bars

TREES = (
    "signal(lt(roll_std(m1_ret_1, w60), col(m1_vol_3)), not_(lt(-0.41, col(m1_body))))",
    "signal(lt(0.2, col(m1_bb_pctb)), lt(delta(m1_rsi_2, w15), col(m1_ret_1)))",
    "signal(lt(col(m1_body), add(col(m1_macd), col(m1_ret_1))), lt(col(m1_ret_1), -0.1))",
)


def _bundle(names: tuple[str, ...], scaler: RobustScaler | None = None) -> AgentBundle:
    scaler = scaler or RobustScaler((0.0,) * len(names), (1.0,) * len(names))
    specialists = tuple(GPSpecialist(t, names, scaler) for t in TREES)
    return AgentBundle("BTCUSDT-parity", Path("."), {"symbol": SYMBOL}, specialists, names)


def test_trees_vote_on_the_window_as_their_batch_signals_do_on_the_same_rows() -> None:
    """Only the columns a tree reads are scaled live; the votes must not change for it."""
    factory = FeatureFactory(FEATURES)
    window, _ = FeatureHub(300).window_for(
        SYMBOL, FEATURES.model_dump(mode="json"), factory.feature_set_id
    )
    names = tuple(n for n in factory.feature_names if n.startswith("m1_"))
    bars = _bars(420, drift=0.0002)
    for bar in bars[:280]:
        assert window.update(bar)
    fitted = window.frame().loc[:, list(names)].dropna().to_numpy()
    bundle = _bundle(names, RobustScaler.fit(fitted))  # as the forge scales: not the identity
    runner = SpecialistRunner(bundle)
    seen: set[tuple[int, ...]] = set()
    for bar in bars[280:]:
        assert window.update(bar)
        values = window.latest(names, runner.rows_needed)
        live = runner.run(values).votes
        frame = window.frame().loc[:, list(names)].iloc[-runner.rows_needed :]
        batch = tuple(int(s.signals(frame)[-1]) for s in bundle.specialists)
        assert live == batch
        seen.add(live)
    assert len(seen) > 1  # the trees did vote differently over these bars
    assert runner.cost_ms is not None  # measured: the arena chooses loop or pool by it


def test_a_non_finite_feature_is_refused_by_name() -> None:
    names = tuple(n for n in FeatureFactory(FEATURES).feature_names if n.startswith("m1_"))
    runner = SpecialistRunner(_bundle(names))
    values = np.zeros((runner.rows_needed, len(names)))
    values[-1, names.index("m1_vol_3")] = np.nan
    with pytest.raises(DataError, match="m1_vol_3"):
        runner.run(values)
