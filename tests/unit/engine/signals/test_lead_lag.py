"""Lead-lag graph: lagged correlations find the leader; graphs are causal."""

from __future__ import annotations

import numpy as np

from engine.signals.lead_lag import (
    GraphParams,
    build_graphs,
    lagged_correlations,
    next_return_targets,
)
from tests.unit.engine.signals.leaders import led_closes


def _returns(n: int = 600) -> tuple[np.ndarray, list[str]]:
    closes = led_closes(n, "BTC/USDT", ["ETH/USDT", "SOL/USDT"])
    return np.diff(np.log(closes.to_numpy()), axis=0), list(closes.columns)


def test_lagged_correlations_show_the_leader_at_lag_one() -> None:
    r, cols = _returns()
    c = lagged_correlations(r[None, :, :], max_lag=2)[0]
    btc, eth = cols.index("BTC/USDT"), cols.index("ETH/USDT")
    assert c[btc, eth, 1] > 0.4
    assert abs(c[eth, btc, 1]) < 0.15
    np.testing.assert_allclose(np.diagonal(c[..., 0]), 1.0)


def test_build_graphs_is_causal_under_truncation() -> None:
    r, _ = _returns()
    params = GraphParams(window=60, max_lag=2, node_lags=3)
    full = build_graphs(r, params)
    t = 200
    cut = build_graphs(r[: t + 1], params)
    np.testing.assert_allclose(cut.nodes[-1], full.nodes[t - 59])
    np.testing.assert_allclose(cut.edges[-1], full.edges[t - 59])
    assert full.nodes.shape[1:] == (3, params.n_node_features)
    assert full.edges.shape[1:] == (3, 3, params.n_edge_features)


def test_next_return_targets_are_nan_past_the_end_and_clipped() -> None:
    r, _ = _returns(300)
    params = GraphParams(window=60)
    batch = build_graphs(r, params)
    y = next_return_targets(r, batch, params)
    assert np.isnan(y[-1]).all()
    assert np.isfinite(y[:-1]).all()
    assert np.abs(y[:-1]).max() <= 5.0
