"""Configuration section for engine.features (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from engine.core.errors import DataError
from engine.core.settings import FrozenModel
from engine.marketdata.timeframes import timeframe_ms


class ParticleFilterConfig(FrozenModel):
    """Bootstrap particle filter over 1m log returns (latent drift and log-variance)."""

    enabled: bool = True
    particles: int = Field(default=64, ge=8, le=4096)
    seed: int = 7
    drift_persistence: float = Field(default=0.95, ge=0, lt=1)
    drift_noise: float = Field(default=0.1, gt=0, le=5)
    logvar_noise: float = Field(default=0.1, gt=0, le=5)
    warmup: int = Field(default=60, ge=1)


class DecompositionConfig(FrozenModel):
    """Trailing-window trend/cycle decomposition of 1m log prices (off by default)."""

    enabled: bool = False
    window: int = Field(default=64, ge=8, le=1024)
    polyorder: int = Field(default=2, ge=1, le=4)

    @model_validator(mode="after")
    def _check_order(self) -> DecompositionConfig:
        if self.polyorder >= self.window - 1:
            raise ValueError("decomposition.polyorder must be smaller than window - 1")
        return self


def _positive_distinct(value: tuple[int, ...], name: str, minimum: int = 1) -> tuple[int, ...]:
    if not value or any(k < minimum for k in value) or len(set(value)) != len(value):
        raise ValueError(f"{name} must be distinct integers >= {minimum}")
    return value


class RegimeConfig(FrozenModel):
    """Per-symbol regime features over hours of 1m bars (volatility, trend, activity)."""

    enabled: bool = True
    vol_short: int = Field(default=30, ge=2)
    vol_long: int = Field(default=480, ge=3)
    trend_windows: tuple[int, ...] = (60, 240, 480)
    volume_short: int = Field(default=30, ge=1)
    volume_long: int = Field(default=480, ge=2)

    @field_validator("trend_windows")
    @classmethod
    def _check_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_distinct(value, "features.regime.trend_windows", 2)

    @model_validator(mode="after")
    def _check_order(self) -> RegimeConfig:
        if self.vol_short >= self.vol_long or self.volume_short >= self.volume_long:
            raise ValueError("features.regime short windows must be shorter than the long ones")
        return self


class CrossAssetConfig(FrozenModel):
    """Features of a symbol computed from the leader's 1m bars of the same minutes.

    ``lags``: the leader's one-bar log return ``k`` bars back (0 = the same
    minute); ``return_windows``: its log return over ``w`` bars; ``vol_windows``:
    its realised volatility; ``corr_window``: the rolling correlation of the
    symbol's one-bar returns with the leader's returns ``corr_lag`` bars
    earlier; ``gap_bars``: the leader's log return over that many bars minus the
    symbol's own (the move the symbol has not followed yet).
    """

    enabled: bool = True
    leader: str = "BTC/USDT"
    lags: tuple[int, ...] = (0, 1, 2)
    return_windows: tuple[int, ...] = (15, 60, 240)
    vol_windows: tuple[int, ...] = (20, 240)
    corr_window: int = Field(default=240, ge=3)
    corr_lag: int = Field(default=1, ge=0)
    gap_bars: int = Field(default=2, ge=1)

    @field_validator("lags")
    @classmethod
    def _check_lags(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_distinct(value, "features.cross_asset.lags", 0)

    @field_validator("return_windows")
    @classmethod
    def _check_returns(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_distinct(value, "features.cross_asset.return_windows", 1)

    @field_validator("vol_windows")
    @classmethod
    def _check_vols(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_distinct(value, "features.cross_asset.vol_windows", 2)

    @field_validator("leader")
    @classmethod
    def _check_leader(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("features.cross_asset.leader must name a symbol")
        return value


class FeaturesConfig(FrozenModel):
    """Settings of engine.features (each changes the feature set id)."""

    timeframes: tuple[str, ...] = ("1m", "15m", "1h")
    return_lags: tuple[int, ...] = (1, 5, 15)
    volatility_window: int = Field(default=20, ge=2)
    atr_period: int = Field(default=14, ge=1)
    rsi_period: int = Field(default=14, ge=1)
    macd_fast: int = Field(default=12, ge=1)
    macd_slow: int = Field(default=26, ge=2)
    macd_signal: int = Field(default=9, ge=1)
    bollinger_window: int = Field(default=20, ge=2)
    bollinger_k: float = Field(default=2.0, gt=0)
    volume_window: int = Field(default=20, ge=2)
    particle_filter: ParticleFilterConfig = ParticleFilterConfig()
    decomposition: DecompositionConfig = DecompositionConfig()
    regime: RegimeConfig = RegimeConfig()
    cross_asset: CrossAssetConfig = CrossAssetConfig()

    @field_validator("timeframes")
    @classmethod
    def _check_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            lengths = [timeframe_ms(tf) for tf in value]
        except DataError as exc:
            raise ValueError(str(exc)) from None
        if not value or value[0] != "1m":
            raise ValueError("features.timeframes must start with 1m (the base timeframe)")
        if any(n % lengths[0] for n in lengths) or lengths != sorted(set(lengths)):
            raise ValueError("features.timeframes must be increasing multiples of 1m")
        return value

    @field_validator("return_lags")
    @classmethod
    def _check_lags(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _positive_distinct(value, "features.return_lags", 1)

    @model_validator(mode="after")
    def _check_macd(self) -> FeaturesConfig:
        if self.macd_fast >= self.macd_slow:
            raise ValueError("features.macd_fast must be smaller than macd_slow")
        return self
