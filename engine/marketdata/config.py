"""Configuration section for engine.marketdata (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.core.errors import DataError
from engine.core.settings import FrozenModel
from engine.marketdata.timeframes import timeframe_ms


class DownloadConfig(FrozenModel):
    """History download (``crucible data download``): pagination, retries, timeouts."""

    page_limit: int = Field(default=1000, ge=1, le=5000)
    max_retries: int = Field(default=5, ge=0, le=50)
    backoff_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    request_timeout_s: float = Field(default=30.0, gt=0)
    flush_rows: int = Field(default=50_000, ge=1)


class SimulateConfig(FrozenModel):
    """Simulated history (``crucible data simulate``) from ``cerebellum_core history``."""

    days: int = Field(default=90, ge=1, le=3650)
    seed: int = 7
    timeout_s: float = Field(default=900.0, gt=0)


class LiveConfig(FrozenModel):
    """ccxt websocket source (a real exchange's public market data)."""

    exchange: str = "bybit"
    streams: tuple[Literal["trades", "book", "ohlcv"], ...] = ("trades", "book")
    book_depth: int = Field(default=50, ge=1, le=1000)
    silence_timeout_s: float = Field(default=30.0, gt=0)
    reconnect_backoff_s: float = Field(default=1.0, gt=0)
    reconnect_backoff_max_s: float = Field(default=30.0, gt=0)


class ReplayConfig(FrozenModel):
    """Replay of recorded files (Binance captures, L2 JSON lines, L2 Parquet recordings)."""

    files: tuple[Path, ...] = ()
    speed: float = Field(default=0.0, ge=0)
    depth: int = Field(default=20, ge=1, le=1000)


class L2CollectorConfig(FrozenModel):
    """L2 recorder: samples books at ``interval_ms`` and records every trade to Parquet."""

    enabled: bool = False
    depth: int = Field(default=20, ge=1, le=1000)
    interval_ms: int = Field(default=1_000, ge=1)
    rotate_minutes: float = Field(default=60.0, gt=0)
    flush_rows: int = Field(default=2_000, ge=1)
    record_trades: bool = True


class DataConfig(FrozenModel):
    """Settings of engine.marketdata."""

    source: Literal["venue", "ccxt", "replay"] = "venue"
    bar_timeframes: tuple[str, ...] = ("1m", "15m", "1h")
    book_max_age_ms: int = Field(default=5_000, gt=0)
    download: DownloadConfig = DownloadConfig()
    simulate: SimulateConfig = SimulateConfig()
    live: LiveConfig = LiveConfig()
    replay: ReplayConfig = ReplayConfig()
    l2: L2CollectorConfig = L2CollectorConfig()

    @field_validator("bar_timeframes")
    @classmethod
    def _check_timeframes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            lengths = [timeframe_ms(tf) for tf in value]
        except DataError as exc:
            raise ValueError(str(exc)) from None
        if not value or value[0] != "1m":
            raise ValueError("bar_timeframes must start with the base timeframe 1m")
        if any(n % lengths[0] for n in lengths) or lengths != sorted(set(lengths)):
            raise ValueError("bar_timeframes must be increasing multiples of 1m")
        return value

    @model_validator(mode="after")
    def _check_backoff(self) -> DataConfig:
        if self.live.reconnect_backoff_max_s < self.live.reconnect_backoff_s:
            raise ValueError("live.reconnect_backoff_max_s must be >= live.reconnect_backoff_s")
        return self
