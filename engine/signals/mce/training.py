"""Train the MCE: fit the normalizer, build windows and targets, train the TFT with early stopping.

``train_mce`` returns the fitted model, normalizer and metadata (with the
validation and held-out test metrics from ``evaluation``); ``save_mce``
writes them under one directory (``models/mce`` by default).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from engine.core.errors import DataError
from engine.signals.artifacts import save_torch_artifact
from engine.signals.mce.dataset import Split, SymbolSamples, split_indices, symbol_samples, windows
from engine.signals.mce.features import FEATURE_NAMES, FEATURE_VERSION, L2FeatureFrame
from engine.signals.mce.model import MCETemporalFusionTransformer, TFTParams
from engine.signals.mce.normalizer import FeatureNormalizer

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
NORMALIZER_FILE = "normalizer.json"
MODEL_KIND = "mce-tft"


@dataclass(frozen=True)
class MCETrainParams:
    seq_len: int = 32
    horizon_ms: int = 1000
    d_model: int = 16
    n_heads: int = 2
    dropout: float = 0.1
    learning_rate: float = 3e-3
    batch_size: int = 256
    max_epochs: int = 30
    patience: int = 4
    large_move_quantile: float = 0.9
    seed: int = 0
    max_train_samples: int | None = None
    threads: int = 1
    split: Split = field(default_factory=Split)


@dataclass
class PartData:
    """One split (train, validation or test) as model-ready arrays."""

    x: npt.NDArray[np.float32]
    skew_target: npt.NDArray[np.float32]
    pressure_label: npt.NDArray[np.float32]
    move_bps: FloatArray
    excursion_bps: FloatArray
    group: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class PreparedData:
    train: PartData
    validation: PartData
    test: PartData
    normalizer: FeatureNormalizer
    move_scale_bps: float
    large_move_bps: float
    horizon_steps: int
    symbols: list[str]


def _gather(
    samples: list[SymbolSamples], zs: list[FloatArray], parts: list[slice], seq_len: int
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int64]]:
    xs, moves, excs, groups = [], [], [], []
    for g, (s, z, part) in enumerate(zip(samples, zs, parts, strict=True)):
        ends = s.end_index[part]
        xs.append(windows(z, ends, seq_len))
        moves.append(s.move_bps[part])
        excs.append(s.excursion_bps[part])
        groups.append(np.full(len(ends), g, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(moves), np.concatenate(excs), np.concatenate(groups)


def prepare(frames: dict[str, L2FeatureFrame], p: MCETrainParams) -> PreparedData:
    """Targets, chronological splits, the normalizer (train split only) and windows."""
    samples = [symbol_samples(sym, fr, p.seq_len, p.horizon_ms) for sym, fr in frames.items()]
    samples = [s for s in samples if len(s.end_index) >= 50]
    if not samples:
        raise DataError("too few usable L2 snapshots to train the MCE (need >= 50 per symbol)")
    steps = [
        int(
            np.median(
                np.searchsorted(fr.ts_event, fr.ts_event + p.horizon_ms * 1_000_000)
                - np.arange(len(fr.ts_event))
            )
        )
        for fr in frames.values()
        if len(fr.ts_event)
    ]
    horizon_steps = max(max(steps, default=1), 1)
    splits = [split_indices(len(s.end_index), p.split, gap=horizon_steps) for s in samples]
    train_rows = np.concatenate(
        [
            s.features[: s.end_index[sp[0]][-1] + 1]
            for s, sp in zip(samples, splits, strict=True)
            if len(s.end_index[sp[0]])
        ]
    )
    normalizer = FeatureNormalizer.fit(train_rows, FEATURE_NAMES)
    zs = [normalizer.transform(s.features) for s in samples]
    parts = {
        name: _gather(samples, zs, [sp[i] for sp in splits], p.seq_len)
        for i, name in enumerate(("train", "validation", "test"))
    }
    train_move, train_exc = parts["train"][1], parts["train"][2]
    scale = float(np.std(train_move)) or 1.0
    large = float(np.quantile(train_exc, p.large_move_quantile))

    def part(name: str) -> PartData:
        x, move, exc, group = parts[name]
        label = exc > large if large > 0 else exc > 0
        return PartData(
            x=x.astype(np.float32),
            skew_target=np.tanh(move / scale).astype(np.float32),
            pressure_label=label.astype(np.float32),
            move_bps=move,
            excursion_bps=exc,
            group=group,
        )

    return PreparedData(
        train=part("train"),
        validation=part("validation"),
        test=part("test"),
        normalizer=normalizer,
        move_scale_bps=scale,
        large_move_bps=large,
        horizon_steps=horizon_steps,
        symbols=[s.symbol for s in samples],
    )


def _loss(
    model: nn.Module,
    x: torch.Tensor,
    skew: torch.Tensor,
    label: torch.Tensor,
    pos_weight: torch.Tensor,
) -> torch.Tensor:
    pred_skew, logit = model(x)
    mse = torch.mean((pred_skew - skew) ** 2)
    bce = nn.functional.binary_cross_entropy_with_logits(logit, label, pos_weight=pos_weight)
    return mse + bce


def _eval_loss(model: nn.Module, part: PartData, pos_weight: torch.Tensor, batch: int) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(part), batch * 4):
            sl = slice(i, i + batch * 4)
            x = torch.from_numpy(part.x[sl])
            loss = _loss(
                model,
                x,
                torch.from_numpy(part.skew_target[sl]),
                torch.from_numpy(part.pressure_label[sl]),
                pos_weight,
            )
            total += float(loss) * len(x)
            n += len(x)
    return total / max(n, 1)


def fit_model(
    data: PreparedData, p: MCETrainParams, progress: bool = False
) -> tuple[MCETemporalFusionTransformer, list[dict[str, float]]]:
    """Adam with early stopping on validation loss; returns the best model and the history."""
    from tqdm import tqdm

    torch.manual_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    torch.set_num_threads(p.threads)
    model = MCETemporalFusionTransformer(
        TFTParams(len(FEATURE_NAMES), p.seq_len, p.d_model, p.n_heads, p.dropout)
    )
    opt = torch.optim.Adam(model.parameters(), lr=p.learning_rate)
    rate = float(data.train.pressure_label.mean())
    pos_weight = torch.tensor(min((1 - rate) / max(rate, 1e-6), 20.0))
    train = data.train
    best = (float("inf"), copy.deepcopy(model.state_dict()))
    history: list[dict[str, float]] = []
    stale = 0
    epochs = tqdm(range(p.max_epochs), desc="mce train", unit="epoch", disable=not progress)
    for epoch in epochs:
        model.train()
        order = rng.permutation(len(train))
        if p.max_train_samples:
            order = order[: p.max_train_samples]
        total = 0.0
        for i in range(0, len(order), p.batch_size):
            idx = order[i : i + p.batch_size]
            loss = _loss(
                model,
                torch.from_numpy(train.x[idx]),
                torch.from_numpy(train.skew_target[idx]),
                torch.from_numpy(train.pressure_label[idx]),
                pos_weight,
            )
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(idx)
        val = _eval_loss(model, data.validation, pos_weight, p.batch_size)
        history.append({"epoch": epoch, "train_loss": total / len(order), "val_loss": val})
        epochs.set_postfix(train=f"{total / len(order):.4f}", val=f"{val:.4f}")
        if val < best[0] - 1e-5:
            best = (val, copy.deepcopy(model.state_dict()))
            stale = 0
        else:
            stale += 1
            if stale >= p.patience:
                break
    model.load_state_dict(best[1])
    model.eval()
    return model, history


def predict(
    model: MCETemporalFusionTransformer, x: npt.NDArray[np.float32], batch: int = 2048
) -> tuple[FloatArray, FloatArray]:
    """(skew, pressure probability) for an array of windows."""
    skews, probs = [], []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            s, logit = model(torch.from_numpy(x[i : i + batch]))
            skews.append(s.numpy())
            probs.append(torch.sigmoid(logit).numpy())
    return np.concatenate(skews).astype(np.float64), np.concatenate(probs).astype(np.float64)


@dataclass
class MCETrainResult:
    model: MCETemporalFusionTransformer
    normalizer: FeatureNormalizer
    metadata: dict[str, Any]
    data: PreparedData


def train_mce(
    frames: dict[str, L2FeatureFrame],
    p: MCETrainParams,
    *,
    source: str = "",
    progress: bool = False,
) -> MCETrainResult:
    """Prepare, fit and evaluate (validation and held-out test); metrics go in the metadata."""
    from engine.signals.mce.evaluation import evaluate_all

    data = prepare(frames, p)
    model, history = fit_model(data, p, progress)
    metrics = evaluate_all(model, data, p.seed)
    params = asdict(p)
    params["split"] = asdict(p.split)
    metadata = {
        "kind": MODEL_KIND,
        "feature_names": list(FEATURE_NAMES),
        "feature_version": FEATURE_VERSION,
        "tft": model.params.to_json(),
        "train_params": params,
        "horizon_ms": p.horizon_ms,
        "move_scale_bps": data.move_scale_bps,
        "large_move_bps": data.large_move_bps,
        "horizon_steps": data.horizon_steps,
        "symbols": data.symbols,
        "samples": {
            "train": len(data.train),
            "validation": len(data.validation),
            "test": len(data.test),
        },
        "history": history,
        "metrics": metrics,
        "source": source,
        "torch_version": torch.__version__,
    }
    return MCETrainResult(model, data.normalizer, metadata, data)


def save_mce(result: MCETrainResult, directory: Path) -> Path:
    """Write model.pt, metadata.json and normalizer.json into ``directory``."""
    result.normalizer.save(directory / NORMALIZER_FILE)
    meta = dict(result.metadata, normalizer_file=NORMALIZER_FILE)
    return save_torch_artifact(directory, result.model.state_dict(), meta)
