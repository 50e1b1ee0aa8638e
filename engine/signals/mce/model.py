"""A compact temporal fusion transformer (Lim et al. 2021) for two micro-structure targets.

Pieces kept from the TFT: per-variable embeddings with a variable selection
network, gated residual networks (GRN) with GLU gates and add & norm, an LSTM
encoder, and interpretable multi-head attention (heads share the value
projection and are averaged, so the attention weights read as one
distribution over past steps). Static covariates and the decoder are dropped:
the model reads the last ``seq_len`` snapshots of one symbol and predicts,
at the last step,

* ``skew``: tanh-scaled expected mid move over the horizon (-1..1), and
* ``pressure``: the logit of P(large move / liquidity shock within the horizon).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True, slots=True)
class TFTParams:
    n_features: int
    seq_len: int = 32
    d_model: int = 16
    n_heads: int = 2
    dropout: float = 0.1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TFTParams:
        return cls(
            n_features=int(data["n_features"]),
            seq_len=int(data["seq_len"]),
            d_model=int(data["d_model"]),
            n_heads=int(data["n_heads"]),
            dropout=float(data["dropout"]),
        )


class GatedLinearUnit(nn.Module):
    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(d_in, 2 * d_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(self.fc(self.dropout(x)), dim=-1)


class GateAddNorm(nn.Module):
    """GLU-gate ``x``, add ``residual``, layer-normalise."""

    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.glu = GatedLinearUnit(d_in, d_out, dropout)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        out: Tensor = self.norm(self.glu(x) + residual)
        return out


class GatedResidualNetwork(nn.Module):
    """GRN(a) = LayerNorm(skip(a) + GLU(W2 ELU(W1 a)))."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else nn.Identity()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_hidden)
        self.gate = GateAddNorm(d_hidden, d_out, dropout)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc2(F.elu(self.fc1(x)))
        out: Tensor = self.gate(h, self.skip(x))
        return out


class VariableSelectionNetwork(nn.Module):
    """Embed each scalar input, weight the variables by a softmax from a GRN over all of them."""

    def __init__(self, n_vars: int, d_model: int, dropout: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_vars, d_model) * 0.1)
        self.bias = nn.Parameter(torch.zeros(n_vars, d_model))
        self.selector = GatedResidualNetwork(n_vars * d_model, d_model, n_vars, dropout)
        self.var_grn = GatedResidualNetwork(d_model, d_model, d_model, dropout)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        emb = x.unsqueeze(-1) * self.weight + self.bias  # (B, L, V, d)
        weights = torch.softmax(self.selector(emb.flatten(-2)), dim=-1)  # (B, L, V)
        processed = self.var_grn(emb)
        return (processed * weights.unsqueeze(-1)).sum(dim=-2), weights


class InterpretableMultiHeadAttention(nn.Module):
    """Multi-head attention whose heads share V and are averaged (TFT, section 4.4)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_head = max(d_model // n_heads, 1)
        self.q = nn.Linear(d_model, self.d_head * n_heads)
        self.k = nn.Linear(d_model, self.d_head * n_heads)
        self.v = nn.Linear(d_model, self.d_head)
        self.out = nn.Linear(self.d_head, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: Tensor, keys: Tensor) -> tuple[Tensor, Tensor]:
        b, lq, _ = query.shape
        lk = keys.shape[1]
        q = self.q(query).view(b, lq, self.n_heads, self.d_head).transpose(1, 2)
        k = self.k(keys).view(b, lk, self.n_heads, self.d_head).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2) / self.d_head**0.5, dim=-1)  # (B,H,Lq,Lk)
        attn = self.dropout(attn).mean(dim=1)  # heads averaged: (B, Lq, Lk)
        return self.out(attn @ self.v(keys)), attn


class MCETemporalFusionTransformer(nn.Module):
    """Inputs (B, seq_len, n_features) of normalised features -> (skew, pressure_logit), each (B,)."""

    def __init__(self, params: TFTParams) -> None:
        super().__init__()
        d, p = params.d_model, params.dropout
        self.params = params
        self.vsn = VariableSelectionNetwork(params.n_features, d, p)
        self.lstm = nn.LSTM(d, d, batch_first=True)
        self.post_lstm = GateAddNorm(d, d, p)
        self.attention = InterpretableMultiHeadAttention(d, params.n_heads, p)
        self.post_attention = GateAddNorm(d, d, p)
        self.positionwise = GatedResidualNetwork(d, d, d, p)
        self.post_ff = GateAddNorm(d, d, p)
        self.skew_head = nn.Linear(d, 1)
        self.pressure_head = nn.Linear(d, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        skew, pressure, _, _ = self.explain(x)
        return skew, pressure

    def explain(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Like ``forward`` but also return variable-selection and attention weights."""
        selected, var_weights = self.vsn(x)
        encoded, _ = self.lstm(selected)
        temporal = self.post_lstm(encoded, selected)
        last = temporal[:, -1:, :]
        attended, attn = self.attention(last, temporal)
        enriched = self.post_attention(attended, last)
        h = self.post_ff(self.positionwise(enriched), last)[:, 0, :]
        skew = torch.tanh(self.skew_head(h)).squeeze(-1)
        pressure = self.pressure_head(h).squeeze(-1)
        return skew, pressure, var_weights[:, -1, :], attn[:, 0, :]
