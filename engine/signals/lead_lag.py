"""Cross-asset lead-lag graph from rolling lagged correlations of 1m log returns.

For a window of ``window`` returns ending at t and a lag l, the edge i -> j
carries corr(r_i[s - l], r_j[s]) over the window (lag 0 is the plain
correlation; a strong lag-1 value means i moves first). Node features are the
asset's last ``node_lags`` returns in units of its window volatility plus its
log volatility. The target (training only) is the next return in the same
units. Everything at t uses returns up to t.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_EPS = 1e-12
TARGET_CLIP = 5.0


@dataclass(frozen=True, slots=True)
class GraphParams:
    window: int = 120
    max_lag: int = 3
    node_lags: int = 3

    @property
    def n_edge_features(self) -> int:
        return self.max_lag + 1

    @property
    def n_node_features(self) -> int:
        return self.node_lags + 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GraphParams:
        return cls(int(data["window"]), int(data["max_lag"]), int(data["node_lags"]))


@dataclass(frozen=True, slots=True)
class GraphBatch:
    """``nodes`` (n, k, F), ``edges`` (n, k_src, k_dst, E); ``end_index`` = row of the last return."""

    nodes: FloatArray
    edges: FloatArray
    end_index: npt.NDArray[np.int64]


def lagged_correlations(windows: FloatArray, max_lag: int) -> FloatArray:
    """(n, W, k) return windows -> (n, k_src, k_dst, max_lag + 1) lagged correlations."""
    n, w, k = windows.shape
    out = np.zeros((n, k, k, max_lag + 1))
    for lag in range(max_lag + 1):
        a = windows[:, : w - lag, :]
        b = windows[:, lag:, :]
        a = a - a.mean(axis=1, keepdims=True)
        b = b - b.mean(axis=1, keepdims=True)
        cov = np.einsum("nti,ntj->nij", a, b) / (w - lag)
        sa = np.sqrt((a * a).mean(axis=1))
        sb = np.sqrt((b * b).mean(axis=1))
        out[..., lag] = cov / np.maximum(sa[:, :, None] * sb[:, None, :], _EPS)
    return out


def build_graphs(
    returns: FloatArray, params: GraphParams, ends: npt.NDArray[np.int64] | None = None
) -> GraphBatch:
    """Graphs for every t (or the given ``ends``) with a full window of returns up to t."""
    r = np.asarray(returns, dtype=np.float64)
    w = params.window
    if r.ndim != 2 or len(r) < w:
        raise ValueError(f"need a (T >= {w}, k) return matrix, got shape {r.shape}")
    if ends is None:
        ends = np.arange(w - 1, len(r), dtype=np.int64)
    views = np.lib.stride_tricks.sliding_window_view(r, w, axis=0)[ends - w + 1]  # (n, k, W)
    windows = np.moveaxis(views, -1, 1)
    vol = np.maximum(windows.std(axis=1), _EPS)  # (n, k)
    recent = windows[:, w - params.node_lags :, :] / vol[:, None, :]  # (n, lags, k)
    nodes = np.concatenate([np.moveaxis(recent, 1, 2), np.log(vol * 1e4)[:, :, None]], axis=2)
    edges = lagged_correlations(windows, params.max_lag)
    return GraphBatch(nodes=nodes, edges=edges, end_index=ends)


def next_return_targets(returns: FloatArray, batch: GraphBatch, params: GraphParams) -> FloatArray:
    """Next return (row end + 1) in units of the window volatility, clipped; NaN past the data."""
    r = np.asarray(returns, dtype=np.float64)
    out = np.full((len(batch.end_index), r.shape[1]), np.nan)
    ok = batch.end_index + 1 < len(r)
    ends = batch.end_index[ok]
    vol = np.exp(batch.nodes[ok, :, -1]) / 1e4
    out[ok] = np.clip(r[ends + 1] / vol, -TARGET_CLIP, TARGET_CLIP)
    return out
