"""Configuration section for engine.marketdata (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from engine.core.settings import FrozenModel


class DataConfig(FrozenModel):
    """Settings of engine.marketdata."""
