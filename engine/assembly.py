"""build_engine(config): wires the engine's components in their start order."""

from __future__ import annotations

from engine.api import EngineCommands
from engine.config import CrucibleConfig
from engine.core.clock import Clock
from engine.execution.link import CerebellumLink
from engine.kernel import CrucibleEngine
from engine.risk.manager import RiskManager


def build_engine(config: CrucibleConfig, *, clock: Clock | None = None) -> CrucibleEngine:
    """Create the engine with every component the configuration asks for.

    Start order: the link to Cerebellum (market data and orders), then the
    risk manager (restores a persisted halt and re-applies it to the core).
    """
    engine = CrucibleEngine(config, clock=clock)
    link = CerebellumLink(
        config,
        engine.bus,
        engine.clock,
        engine.supervisor,
        engine.journal,
        loop_age_ms=lambda: engine.loop_age_ms,
    )
    risk = RiskManager(config, engine.bus, engine.clock, engine.supervisor, engine.journal, link)
    engine.add_component(link)
    engine.add_component(risk)
    engine.attach(link, risk, EngineCommands(link, risk, config.universe.symbols))
    return engine
