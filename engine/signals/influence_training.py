"""Train the InfluenceMapper's GNN on aligned 1m closes; save state dict + JSON metadata.

Chronological split (train / validation), early stopping on validation MSE of
the next standardised return. The metadata keeps the symbol order, graph and
model parameters, the validation R^2 against a zero forecast and the mean
influence score of each asset on the validation span.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from engine.core.errors import DataError
from engine.signals.artifacts import save_torch_artifact
from engine.signals.gnn import GNNParams, LeadLagGNN, influence_scores
from engine.signals.lead_lag import GraphParams, build_graphs, next_return_targets

FloatArray = npt.NDArray[np.float64]
MODEL_KIND = "influence-gnn"


@dataclass(frozen=True)
class InfluenceTrainParams:
    window: int = 120
    max_lag: int = 3
    node_lags: int = 3
    hidden: int = 16
    heads: int = 2
    learning_rate: float = 1e-2
    batch_size: int = 128
    max_epochs: int = 60
    patience: int = 6
    validation: float = 0.25
    seed: int = 0
    threads: int = 1

    @property
    def graph(self) -> GraphParams:
        return GraphParams(self.window, self.max_lag, self.node_lags)


@dataclass
class InfluenceTrainResult:
    model: LeadLagGNN
    metadata: dict[str, Any]


def log_returns(closes: pd.DataFrame) -> FloatArray:
    """(T - 1, k) log returns of a complete (time x symbol) close frame."""
    values = closes.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all() or (values <= 0).any():
        raise DataError("closes must be finite and positive; align the symbols and drop gaps first")
    returns: FloatArray = np.diff(np.log(values), axis=0)
    return returns


def _tensors(
    returns: FloatArray, graph: GraphParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    batch = build_graphs(returns, graph)
    target = next_return_targets(returns, batch, graph)
    ok = np.isfinite(target).all(axis=1)
    return (
        torch.from_numpy(batch.nodes[ok].astype(np.float32)),
        torch.from_numpy(batch.edges[ok].astype(np.float32)),
        torch.from_numpy(target[ok].astype(np.float32)),
    )


def train_influence(
    closes: pd.DataFrame, p: InfluenceTrainParams, *, source: str = "", progress: bool = False
) -> InfluenceTrainResult:
    """Fit the GNN on ``closes`` (index time, one column per symbol) and evaluate it."""
    from tqdm import tqdm

    symbols = [str(c) for c in closes.columns]
    if len(symbols) < 2:
        raise DataError("the influence graph needs at least two symbols")
    returns = log_returns(closes)
    if len(returns) < p.window + 100:
        raise DataError(f"need at least {p.window + 100} aligned bars, got {len(returns) + 1}")
    torch.manual_seed(p.seed)
    torch.set_num_threads(p.threads)
    nodes, edges, target = _tensors(returns, p.graph)
    n_val = max(int(len(target) * p.validation), 1)
    cut = len(target) - n_val
    train_slice, val_slice = slice(0, max(cut - p.window, 1)), slice(cut, None)
    model = LeadLagGNN(
        GNNParams(p.graph.n_node_features, p.graph.n_edge_features, p.hidden, p.heads)
    )
    opt = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
    rng = np.random.default_rng(p.seed)
    n_train = train_slice.stop
    best = (float("inf"), copy.deepcopy(model.state_dict()))
    history: list[dict[str, float]] = []
    stale = 0
    for epoch in tqdm(
        range(p.max_epochs), desc="influence train", unit="epoch", disable=not progress
    ):
        model.train()
        permutation = torch.from_numpy(rng.permutation(n_train))
        for i in range(0, n_train, p.batch_size):
            order = permutation[i : i + p.batch_size]
            pred, _ = model(nodes[order], edges[order])
            loss = torch.mean((pred - target[order]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val = _mse(model, nodes[val_slice], edges[val_slice], target[val_slice])
        history.append({"epoch": epoch, "val_mse": val})
        if val < best[0] - 1e-5:
            best, stale = (val, copy.deepcopy(model.state_dict())), 0
        else:
            stale += 1
            if stale >= p.patience:
                break
    model.load_state_dict(best[1])
    model.eval()
    metrics = _evaluate(model, nodes[val_slice], edges[val_slice], target[val_slice], symbols)
    metadata = {
        "kind": MODEL_KIND,
        "symbols": symbols,
        "graph": p.graph.to_json(),
        "gnn": model.params.to_json(),
        "train_params": asdict(p),
        "samples": {"train": n_train, "validation": n_val},
        "history": history,
        "metrics": metrics,
        "source": source,
        "torch_version": torch.__version__,
    }
    return InfluenceTrainResult(model, metadata)


def _mse(
    model: LeadLagGNN, nodes: torch.Tensor, edges: torch.Tensor, target: torch.Tensor
) -> float:
    with torch.inference_mode():
        model.eval()
        pred, _ = model(nodes, edges)
        return float(torch.mean((pred - target) ** 2))


def _evaluate(
    model: LeadLagGNN,
    nodes: torch.Tensor,
    edges: torch.Tensor,
    target: torch.Tensor,
    symbols: list[str],
) -> dict[str, Any]:
    with torch.inference_mode():
        pred, attention = model(nodes, edges)
    resid = ((pred - target) ** 2).mean(dim=0)
    total = (target**2).mean(dim=0)
    influence = influence_scores(attention).mean(dim=0)
    return {
        "val_r2_vs_zero": {s: float(1 - resid[i] / total[i]) for i, s in enumerate(symbols)},
        "influence_mean": {s: float(influence[i]) for i, s in enumerate(symbols)},
        "lag1_corr_mean": _lag1(edges, symbols),
    }


def _lag1(edges: torch.Tensor, symbols: list[str]) -> dict[str, float]:
    """Mean lag-1 correlation i -> j (i leading j) over the evaluation span."""
    lag1 = edges[..., 1].mean(dim=0) if edges.shape[-1] > 1 else edges[..., 0].mean(dim=0)
    return {
        f"{a}->{b}": float(lag1[i, j])
        for i, a in enumerate(symbols)
        for j, b in enumerate(symbols)
        if i != j
    }


def save_influence(result: InfluenceTrainResult, directory: Path) -> Path:
    return save_torch_artifact(directory, result.model.state_dict(), result.metadata)
