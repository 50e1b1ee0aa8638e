"""LeadLagGNN: one round of attention message passing over the lead-lag graph, in plain torch.

Each target asset j attends over every source i (itself included) with a
GAT-style score from both node embeddings and the edge's lagged
correlations; the messages (node value + edge value) are summed with those
weights and combined with j's own embedding to predict j's next return. The
attention weight alpha[i -> j], averaged over heads and over targets j != i,
is asset i's influence: how much the others' predictions lean on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True, slots=True)
class GNNParams:
    n_node_features: int
    n_edge_features: int
    hidden: int = 16
    heads: int = 2

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GNNParams:
        return cls(
            int(data["n_node_features"]),
            int(data["n_edge_features"]),
            int(data["hidden"]),
            int(data["heads"]),
        )


class LeadLagGNN(nn.Module):
    """nodes (B, k, F), edges (B, k_src, k_dst, E) -> (prediction (B, k), attention (B, H, k_src, k_dst))."""

    def __init__(self, params: GNNParams) -> None:
        super().__init__()
        h, heads = params.hidden, params.heads
        self.params = params
        self.embed = nn.Linear(params.n_node_features, h)
        self.att_src = nn.Linear(h, heads, bias=False)
        self.att_dst = nn.Linear(h, heads, bias=False)
        self.att_edge = nn.Linear(params.n_edge_features, heads)
        self.value_node = nn.Linear(h, h * heads)
        self.value_edge = nn.Linear(params.n_edge_features, h * heads, bias=False)
        self.readout = nn.Sequential(nn.Linear(2 * h, h), nn.ELU(), nn.Linear(h, 1))

    def forward(self, nodes: Tensor, edges: Tensor) -> tuple[Tensor, Tensor]:
        b, k, _ = nodes.shape
        heads, hid = self.params.heads, self.params.hidden
        x = F.elu(self.embed(nodes))  # (B, k, h)
        score = (
            self.att_src(x)[:, :, None, :]  # source i
            + self.att_dst(x)[:, None, :, :]  # target j
            + self.att_edge(edges)  # (B, i, j, H)
        )
        alpha = torch.softmax(F.leaky_relu(score, 0.2), dim=1)  # normalised over sources i
        value = self.value_node(x)[:, :, None, :] + self.value_edge(edges)  # (B, i, j, H*h)
        value = value.view(b, k, k, heads, hid)
        message = (alpha[..., None] * value).sum(dim=1).mean(dim=2)  # (B, j, h)
        pred = self.readout(torch.cat([x, message], dim=-1)).squeeze(-1)
        return pred, alpha.permute(0, 3, 1, 2)


def influence_scores(attention: Tensor) -> Tensor:
    """(B, H, k_src, k_dst) attention -> (B, k) mean weight each source gets from the others."""
    k = attention.shape[-1]
    a = attention.mean(dim=1)
    off = a * (1 - torch.eye(k, dtype=a.dtype))
    return off.sum(dim=-1) / max(k - 1, 1)
