"""build_engine(config): wires the engine's components in their start order."""

from __future__ import annotations

from engine.agents.arena import Arena
from engine.agents.singularity import Singularity
from engine.agents.training_history import TrainingHistory
from engine.agents.watchtower import Watchtower
from engine.alerts import AlertCenter
from engine.api import EngineCommands
from engine.config import CrucibleConfig
from engine.core.clock import Clock
from engine.execution.gateway import OrderGateway
from engine.execution.link import CerebellumLink
from engine.execution.order_tracker import OrderTracker
from engine.execution.portfolio import Portfolio
from engine.execution.process import resolve_binary
from engine.forge.supervisor import ForgeSupervisor
from engine.kernel import CrucibleEngine
from engine.marketdata.bar_aggregator import BarAggregator
from engine.marketdata.feed import MarketDataFeed
from engine.marketdata.l2_collector import L2Collector
from engine.marketdata.router import MarketDataRouter
from engine.marketdata.source import make_source
from engine.risk.manager import RiskManager
from engine.signals.influence import InfluenceMapper
from engine.signals.mce.engine import MicroCausalityEngine
from engine.signals.radar import TopologicalRadar
from engine.signals.warmup import SignalWarmup


def build_engine(config: CrucibleConfig, *, clock: Clock | None = None) -> CrucibleEngine:
    """Create the engine with every component the configuration asks for.

    Start order (stop runs in reverse):

    1. the link to Cerebellum (transport: commands, reports, and the venue's market
       data through the market-data router's integrity guards);
    2. the risk manager (restores a persisted halt), then the order gateway: the only
       door to the venue, which runs the risk checks and owns orders and positions;
    3. a market-data feed when ``data.source`` is ccxt or replay;
    4. bars from trades (1m, resampled 15m/1h), the L2 collector when enabled;
    5. the signals (radar, influence, MCE), each off the event loop, the bar-driven
       ones first warmed up on the venue's recent 1-minute bars;
    6. the arena: every registered agent, fed once per closed 1m bar;
    7. the forge supervisor (worker processes only when a task is submitted);
    8. the Singularity (keeps ``[deployment]`` filled with forge tasks) and the
       Watchtower (scores agents, reaps losers, asks for replacements).
    """
    engine = CrucibleEngine(config, clock=clock)
    bus, clk, sup = engine.bus, engine.clock, engine.supervisor
    alerts = AlertCenter(bus, clk)
    engine.add_component(alerts)  # first: it hears what every other part says
    router = MarketDataRouter(bus, clk, config.data)
    link = CerebellumLink(
        config,
        bus,
        clk,
        sup,
        engine.journal,
        loop_age_ms=lambda: engine.loop_age_ms,
        market_data=router,
    )
    orders = OrderTracker()
    portfolio = Portfolio(config.risk.starting_nav)
    risk = RiskManager(config, bus, clk, sup, engine.journal, portfolio, orders)
    gateway = OrderGateway(config, bus, clk, sup, link, risk, orders, portfolio, engine.journal)
    engine.add_component(link)
    engine.add_component(risk)
    engine.add_component(gateway)
    source = make_source(config, clk)
    if source is not None:
        engine.add_component(MarketDataFeed(bus, clk, config.data, sup, source))
    engine.add_component(BarAggregator(bus, clk, config.data, sup))
    if config.data.l2.enabled:
        l2_root = config.paths.resolve(config.paths.data_dir) / "l2"
        engine.add_component(L2Collector(bus, clk, config.data.l2, sup, l2_root))
    signals = config.signals
    bar_signals: list[TopologicalRadar | InfluenceMapper] = []
    if signals.radar.enabled:
        bar_signals.append(TopologicalRadar(bus, clk, config, sup, engine.cpu_pool))
    if signals.influence.enabled:
        bar_signals.append(InfluenceMapper(bus, clk, config, sup, engine.cpu_pool))
    if bar_signals:
        engine.add_component(SignalWarmup(gateway, config.universe.symbols, list(bar_signals)))
    for component in bar_signals:
        engine.add_component(component)
    if signals.mce.enabled:
        engine.add_component(MicroCausalityEngine(bus, clk, config, sup, engine.cpu_pool))
    arena = Arena(config, bus, clk, sup, engine.journal, gateway)
    forge = ForgeSupervisor(bus, clk, config, sup, journal=engine.journal)
    history = TrainingHistory(config, clk, resolve_binary(config), bus)
    singularity = Singularity(config, clk, sup, arena, forge, history)
    watchtower = Watchtower(
        config, bus, clk, sup, engine.journal, arena, singularity.request_replacement
    )
    singularity.watchtower = watchtower
    for part in (arena, forge, singularity, watchtower):
        engine.add_component(part)
    commands = EngineCommands(
        gateway,
        config.universe.symbols,
        arena,
        singularity=singularity,
        watchtower=watchtower,
        forge=forge,
        alerts=alerts,
    )
    engine.attach(link, gateway, commands)
    return engine
