"""Configuration section for engine.signals (defaults here; resources/crucible.toml may override)."""

from __future__ import annotations

from engine.core.settings import FrozenModel


class SignalsConfig(FrozenModel):
    """Settings of engine.signals."""
