"""PopulationPanels: the docks of the living population and the wiring that feeds them.

Arena (agents table) and the selected agent's detail, the Forge, the regime
radar, the MCE gauges, the influence graph, the risk panel, the Watchtower
log and the alerts. Each panel reads from models fed by the bridge (what the
engine publishes) and EngineQueries (what the cockpit asks), and sends intent
to the CommandFacade. Nothing here calls engine internals.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from cockpit.bridge import EngineBridge
from cockpit.charts.gauges import MceGauges
from cockpit.charts.influence_graph import InfluenceGraph
from cockpit.charts.price_chart import PriceChart
from cockpit.charts.radar_chart import RadarChart
from cockpit.commands import CommandFacade
from cockpit.models.agents_model import AgentsModel
from cockpit.models.alerts_model import AlertsModel
from cockpit.models.columns import digits_of
from cockpit.models.regime_series import RegimeSeries
from cockpit.models.watchtower_model import WatchtowerModel
from cockpit.queries import EngineQueries
from cockpit.views.agent_detail_view import AgentDetailView
from cockpit.views.alerts_view import AlertsView
from cockpit.views.arena_view import ArenaView, Confirm
from cockpit.views.forge_panel import ForgePanel
from cockpit.views.risk_panel import RiskPanel
from cockpit.views.watchtower_view import WatchtowerView
from engine.agents.summary import AgentDetail
from engine.config import CrucibleConfig
from engine.execution.protocol import Instrument
from engine.model.events import AgentLifecycle, AgentScored, SignalUpdate

DETAIL_REFRESH_MS = 5_000


def scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a scroll area: it may be taller than its dock without making the window so."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class PopulationPanels(QObject):
    """Creates the panels (``widgets``: dock name -> (title, widget)) and connects them."""

    def __init__(
        self,
        config: CrucibleConfig,
        bridge: EngineBridge,
        facade: CommandFacade,
        queries: EngineQueries,
        chart: PriceChart,
        instrument: Callable[[str], Instrument | None],
        confirm: Confirm,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._config = config
        self._queries = queries
        self._instrument = instrument
        symbols = tuple(config.universe.symbols)
        exits = config.agents.exits
        radar = config.signals.radar
        self.agents_model = AgentsModel(self.digits)
        self.arena = ArenaView(self.agents_model, facade, symbols, confirm)
        self.detail = AgentDetailView()
        self.forge = ForgePanel(facade, queries, symbols)
        self.regimes = RegimeSeries(self)
        self.radar = RadarChart(
            self.regimes, radar.enter_threshold, radar.exit_threshold, radar.homology_dimensions
        )
        self.gauges = MceGauges(symbols, exits.mce_skew_against, exits.mce_pressure_prob)
        self.influence = InfluenceGraph(symbols)
        self.risk = RiskPanel(config.risk)
        self.watchtower_model = WatchtowerModel()
        self.watchtower = WatchtowerView(self.watchtower_model, config.watchtower)
        self.alerts_model = AlertsModel()
        self.alerts = AlertsView(self.alerts_model, facade)
        self.widgets: dict[str, tuple[str, QWidget]] = {
            "arena": ("Arena", self.arena),
            "agent": ("Agent", self.detail),
            "forge": ("Forge", self.forge),
            "radar": ("Regime radar", self.radar),
            "mce": ("MCE gauges", scrolled(self.gauges)),
            "influence": ("Influence graph", self.influence),
            "risk": ("Risk", self.risk),
            "watchtower": ("Watchtower log", self.watchtower),
            "alerts": ("Alerts", self.alerts),
        }
        self._detail_timer = QTimer(self)
        self._detail_timer.setInterval(DETAIL_REFRESH_MS)
        self._detail_timer.timeout.connect(self._refresh_detail)
        self._detail_timer.start()
        self._connect(bridge, facade, queries, chart)

    def digits(self, symbol: str) -> tuple[int, int]:
        """Decimals of a price and of a quantity of ``symbol`` (the instrument's tick and lot)."""
        inst = self._instrument(symbol)
        if inst is None:
            return 2, 6
        return digits_of(inst.tick_size), digits_of(inst.lot_size, 6)

    def _connect(
        self, b: EngineBridge, facade: CommandFacade, q: EngineQueries, chart: PriceChart
    ) -> None:
        q.sigAgents.connect(self.agents_model.update_agents)
        q.sigSlots.connect(lambda slots: self.forge.slots_model.update_slots(
            slots, time.monotonic_ns()))  # fmt: skip
        q.sigStrategyRisk.connect(self.risk.limits_model.on_strategies)
        q.sigAlerts.connect(self.alerts_model.on_alerts)
        q.sigAgentDetail.connect(self._on_detail)
        q.sigAgentDetailFailed.connect(self._on_detail_failed)
        q.sigWatchtowerLog.connect(self.watchtower_model.on_log)
        b.sigAgentScored.connect(self._on_scored)
        b.sigAgentLifecycle.connect(self._on_lifecycle)
        b.sigAgentDecision.connect(self.detail.on_decision)
        b.sigAlert.connect(self.alerts_model.on_alert)
        b.sigForgeProgress.connect(self.forge.on_progress)
        b.sigRadarHistory.connect(self.regimes.set_history)
        b.sigRadarDiagram.connect(self.regimes.add)
        b.sigRadarDiagram.connect(self.radar.on_diagram)
        b.sigSignalUpdated.connect(self._on_signal)
        b.sigSignalsFrame.connect(self.gauges.on_frame)
        b.sigPortfolioChanged.connect(self.risk.on_portfolio)
        b.sigTradingStateChanged.connect(self.risk.on_trading_state)
        b.sigRiskEvent.connect(self.risk.on_risk_event)
        b.sigFillReceived.connect(chart.add_fill)
        self.regimes.sigChanged.connect(lambda: chart.set_regimes(self.regimes.periods()))
        self.arena.sigAgentSelected.connect(self._on_selected)
        facade.sigAgentsChanged.connect(q.poll)

    def start(self) -> None:
        """First reads (the journal's history of tasks and evaluations)."""
        self._queries.poll()
        self._queries.forge_runs()
        self._queries.watchtower_log()

    # -- slots ------------------------------------------------------------------------
    def _on_signal(self, u: SignalUpdate) -> None:
        self.radar.on_signal(u)
        self.influence.on_signal(u)

    def _on_scored(self, e: AgentScored) -> None:
        self.agents_model.on_scored(e)
        self.watchtower_model.on_scored(e)

    def _on_lifecycle(self, e: AgentLifecycle) -> None:
        self.agents_model.on_lifecycle(e)
        self.watchtower_model.on_lifecycle(e)
        self._queries.poll()
        # A replacement is journaled (not published) when the new agent joins: read the log.
        self._queries.watchtower_log()

    def _on_selected(self, agent_id: str) -> None:
        if not agent_id:
            return
        self._queries.agent_detail(agent_id)

    def _refresh_detail(self) -> None:
        if self.detail.agent_id and self.detail.isVisible():
            self._queries.agent_detail(self.detail.agent_id)

    def _on_detail(self, d: AgentDetail) -> None:
        agent = d.summary.agent_id
        if agent != self.arena.selected_agent():
            return
        self.agents_model.seed_equity(agent, list(d.equity))
        self.detail.show_detail(
            d, self.agents_model.equity_samples(agent), self.digits(d.summary.symbol)
        )

    def _on_detail_failed(self, agent_id: str, reason: str) -> None:
        if agent_id == self.arena.selected_agent():
            self.detail.clear(f"{agent_id}: {reason}")
