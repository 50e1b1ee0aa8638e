"""build_engine(config): wires the engine's components in their start order."""

from __future__ import annotations

from engine.config import CrucibleConfig
from engine.core.clock import Clock
from engine.kernel import CrucibleEngine


def build_engine(config: CrucibleConfig, *, clock: Clock | None = None) -> CrucibleEngine:
    """Create the engine with every component the configuration asks for."""
    return CrucibleEngine(config, clock=clock)
