"""Configuration section for engine.features (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from engine.core.settings import FrozenModel


class FeaturesConfig(FrozenModel):
    """Settings of engine.features."""
