"""Configuration section for engine.signals (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from engine.core.settings import FrozenModel


class RadarConfig(FrozenModel):
    """TopologicalRadar: sliding-window persistence landscapes of multi-asset log returns."""

    enabled: bool = True
    window: int = Field(default=50, ge=8, le=1000)
    homology_dimensions: tuple[int, ...] = (0, 1)
    n_layers: int = Field(default=5, ge=1, le=50)
    n_bins: int = Field(default=100, ge=10, le=2000)
    score_norm: str = Field(default="l1", pattern="^(l1|l2)$")
    trailing: int = Field(default=120, ge=10, le=100_000)
    min_trailing: int = Field(default=30, ge=5)
    enter_threshold: float = Field(default=3.0, gt=0)
    exit_threshold: float = Field(default=1.5, ge=0)
    timeframe: str = "1m"

    @model_validator(mode="after")
    def _check_thresholds(self) -> RadarConfig:
        if self.exit_threshold >= self.enter_threshold:
            raise ValueError("exit_threshold must be below enter_threshold (hysteresis)")
        if self.min_trailing > self.trailing:
            raise ValueError("min_trailing must not exceed trailing")
        if not self.homology_dimensions or any(
            d not in (0, 1, 2) for d in self.homology_dimensions
        ):
            raise ValueError("homology_dimensions must be a non-empty subset of (0, 1, 2)")
        return self


class InfluenceConfig(FrozenModel):
    """InfluenceMapper: lead-lag graph + attention GNN over the universe's 1m returns."""

    enabled: bool = True
    model_dir: Path = Path("models/influence")
    timeframe: str = "1m"
    torch_threads: int = Field(default=1, ge=1, le=8)


class MCEConfig(FrozenModel):
    """Micro-causality engine: L2 features -> normalizer -> compact TFT -> skew, pressure."""

    enabled: bool = True
    model_dir: Path = Path("models/mce")
    torch_threads: int = Field(default=1, ge=1, le=8)
    min_interval_ms: int = Field(default=0, ge=0, le=60_000)


class SignalsConfig(FrozenModel):
    """Settings of engine.signals."""

    radar: RadarConfig = RadarConfig()
    influence: InfluenceConfig = InfluenceConfig()
    mce: MCEConfig = MCEConfig()
