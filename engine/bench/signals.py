"""Signal latency: TDA radar update (w=50, 4 assets), MCE per snapshot, GNN update.

Each figure is the wall time of one live update as the components run it
(radar: landscape norms + score; MCE: features + normalizer + TFT inference;
GNN: lead-lag graph + forward pass), single-threaded torch. Models use the
production architecture with untrained weights (timing does not depend on
the weight values), so the benchmark needs no artifact.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.model.enums import Side
from engine.model.market import Bar, BookSnapshot, Trade

SYMBOLS4 = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT")


def _stats(samples_ms: list[float]) -> tuple[float, float]:
    return float(np.median(samples_ms)), float(np.percentile(samples_ms, 99))


def _bars(n: int, seed: int) -> list[list[Bar]]:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(size=(n, len(SYMBOLS4))) * 1e-3, axis=0))
    return [
        [
            Bar(s, "1m", i * 60_000_000_000, c, c, c, c, 1.0)
            for s, c in zip(SYMBOLS4, row, strict=True)
        ]
        for i, row in enumerate(closes)
    ]


def bench_tda(updates: int) -> list[float]:
    from engine.signals.config import RadarConfig
    from engine.signals.radar import RadarState

    cfg = RadarConfig(window=50)
    state = RadarState(SYMBOLS4, cfg)
    return [r.compute_ms for row in _bars(cfg.window + 1 + updates, 1) for r in state.on_bars(row)]


def bench_gnn(updates: int) -> list[float]:
    import torch

    from engine.signals.gnn import GNNParams, LeadLagGNN
    from engine.signals.influence import InfluencePredictor, InfluenceState
    from engine.signals.lead_lag import GraphParams

    torch.set_num_threads(1)
    graph = GraphParams()
    model = LeadLagGNN(GNNParams(graph.n_node_features, graph.n_edge_features)).eval()
    state = InfluenceState(InfluencePredictor(model, graph, SYMBOLS4, {}))
    return [
        r.compute_ms for row in _bars(graph.window + 1 + updates, 2) for r in state.on_bars(row)
    ]


def _book_events(n: int, seed: int) -> list[BookSnapshot | Trade]:
    """Random-walk books for timing only (10 levels a side, a trade now and then)."""
    rng = np.random.default_rng(seed)
    mid = 1000.0
    out: list[BookSnapshot | Trade] = []
    for i in range(n):
        ts = i * 100_000_000
        mid += rng.choice([-0.01, 0.0, 0.01])
        sizes = rng.gamma(2.0, 1.0, size=(2, 10)) + 0.1
        offsets = 0.01 * (np.arange(10) + 1)
        bids = np.c_[mid - offsets, sizes[0]]
        asks = np.c_[mid + offsets, sizes[1]]
        out.append(BookSnapshot("BTC/USDT", ts, ts, bids, asks))
        if rng.random() < 0.3:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            out.append(Trade("BTC/USDT", ts + 1, ts + 1, mid, 0.1, side, str(i)))
    return out


def bench_mce(snapshots: int) -> list[float]:
    from engine.signals.mce.engine import MCEPipeline, MCEPredictor
    from engine.signals.mce.features import FEATURE_NAMES, l2_feature_frame
    from engine.signals.mce.model import MCETemporalFusionTransformer, TFTParams
    from engine.signals.mce.normalizer import FeatureNormalizer
    from engine.signals.mce.training import MCETrainResult, save_mce

    params = TFTParams(len(FEATURE_NAMES))
    events = _book_events(snapshots + params.seq_len + 50, 3)
    normalizer = FeatureNormalizer.fit(l2_feature_frame(events).features.to_numpy(), FEATURE_NAMES)
    from engine.signals.mce.features import FEATURE_VERSION

    meta = {
        "kind": "mce-tft",
        "feature_names": list(FEATURE_NAMES),
        "feature_version": FEATURE_VERSION,
        "tft": params.to_json(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        result = MCETrainResult(MCETemporalFusionTransformer(params), normalizer, meta, None)  # type: ignore[arg-type]
        save_mce(result, Path(tmp))
        predictor = MCEPredictor.load(Path(tmp), threads=1)
    pipe = MCEPipeline("BTC/USDT", predictor)
    times: list[float] = []
    for ev in events:
        if isinstance(ev, Trade):
            pipe.on_trade(ev)
            continue
        t0 = time.perf_counter()
        reading = pipe.process(ev)
        if reading is not None:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def run(args: argparse.Namespace) -> dict[str, Any]:
    n = 100 if args.quick else 1000
    out: dict[str, Any] = {"bench": "signals", "updates": n}
    for key, fn in (("tda", bench_tda), ("mce", bench_mce), ("gnn", bench_gnn)):
        samples = fn(n)
        med, p99 = _stats(samples)
        out[f"{key}_median_ms"] = med
        out[f"{key}_p99_ms"] = p99
        print(f"{key}: {len(samples)} updates, median {med:.3f} ms, p99 {p99:.3f} ms")
    return out
