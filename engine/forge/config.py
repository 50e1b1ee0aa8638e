"""Configuration section for engine.forge (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from engine.core.settings import FrozenModel


class ForgeConfig(FrozenModel):
    """Settings of engine.forge."""
