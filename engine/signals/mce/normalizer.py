"""FeatureNormalizer: robust per-feature centring and scaling, fitted on history, saved as JSON.

x' = clip((x - median) / scale, -clip, clip) with scale = IQR / 1.349 (the
standard deviation for Gaussian data), falling back to the standard deviation
and then to 1 for constant features. JSON (not pickle) keeps the artifact
inspectable and safe to load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.core.errors import DataError

FloatArray = npt.NDArray[np.float64]

_IQR_TO_SIGMA = 1.349


@dataclass(frozen=True)
class FeatureNormalizer:
    names: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    clip: float = 5.0

    @classmethod
    def fit(cls, x: FloatArray, names: tuple[str, ...], clip: float = 5.0) -> FeatureNormalizer:
        """Fit on an (n, features) matrix of finite values."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(names) or len(x) < 2:
            raise DataError(f"normalizer needs (n >= 2, {len(names)}) values, got {x.shape}")
        if not np.isfinite(x).all():
            bad = [n for n, ok in zip(names, np.isfinite(x).all(axis=0), strict=True) if not ok]
            raise DataError(f"normalizer fit on non-finite values in {bad}")
        center = np.median(x, axis=0)
        q75, q25 = np.percentile(x, [75, 25], axis=0)
        scale = (q75 - q25) / _IQR_TO_SIGMA
        std = x.std(axis=0)
        scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
        return cls(names, tuple(map(float, center)), tuple(map(float, scale)), clip)

    def transform(self, x: FloatArray) -> FloatArray:
        """Normalise the last axis (features); non-finite inputs raise ``DataError``."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != len(self.names):
            raise DataError(f"expected {len(self.names)} features, got {x.shape[-1]}")
        if not np.isfinite(x).all():
            raise DataError("non-finite MCE features reached the normalizer")
        z = (x - np.asarray(self.center)) / np.asarray(self.scale)
        clipped: FloatArray = np.clip(z, -self.clip, self.clip)
        return clipped

    def to_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "center": list(self.center),
            "scale": list(self.scale),
            "clip": self.clip,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureNormalizer:
        try:
            names = tuple(str(n) for n in data["names"])
            center = tuple(float(v) for v in data["center"])
            scale = tuple(float(v) for v in data["scale"])
            clip = float(data.get("clip", 5.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"malformed normalizer JSON: {exc!r}") from None
        if not (len(names) == len(center) == len(scale)):
            raise DataError("normalizer JSON: names, center and scale differ in length")
        if not all(math.isfinite(v) for v in (*center, *scale)) or min(scale, default=1) <= 0:
            raise DataError("normalizer JSON: center/scale must be finite and scale positive")
        return cls(names, center, scale, clip)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> FeatureNormalizer:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read normalizer {path}: {exc}") from None
        if not isinstance(data, dict):
            raise DataError(f"normalizer {path} is not a JSON object")
        return cls.from_json(data)
