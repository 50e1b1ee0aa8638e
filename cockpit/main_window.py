"""MainWindow: docks around the engine, the kill-switch bar, menus and saved layout.

Widgets read from models and emit intent to the CommandFacade; the
EngineBridge is their only source of engine events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenuBar,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from cockpit.bridge import EngineBridge
from cockpit.charts.book_heatmap import BookHeatmap
from cockpit.charts.price_chart import PriceChart
from cockpit.commands import CommandFacade
from cockpit.models.trading_models import FillsModel, OrdersModel, PositionsModel
from cockpit.population_panels import PopulationPanels
from cockpit.queries import EngineQueries
from cockpit.views.blotter_view import BlotterView, make_table
from cockpit.views.kill_switch_bar import KillSwitchBar
from cockpit.views.log_view import LogView
from cockpit.views.order_ticket import OrderTicket
from cockpit.views.status_bar import StatusBar
from engine.config import CrucibleConfig
from engine.kernel import CrucibleEngine
from engine.model.enums import EngineState
from engine.model.events import (
    EngineStateChanged,
    LinkState,
    OrderUpdate,
    PortfolioState,
    RiskEvent,
)
from engine.model.market import Bar, BookSnapshot, Trade

log = logging.getLogger(__name__)

LAYOUT_VERSION = 2  # 2: the population's docks
KILL_SHORTCUT = "Ctrl+Shift+K"


class MainWindow(QMainWindow):
    """The cockpit's main window."""

    def __init__(
        self,
        engine: CrucibleEngine,
        config: CrucibleConfig,
        on_closed: Callable[[], None] | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._config = config
        self._on_closed = on_closed
        self._settings = settings or QSettings("Crucible", "Cockpit")
        self.engine_running = False
        self.setWindowTitle(f"Crucible — {'PAPER' if config.venue.is_paper else 'LIVE'}")
        self.resize(1680, 1020)
        self.setDockNestingEnabled(True)

        self.bridge = EngineBridge(engine.bus, frame_ms=config.cockpit.frame_ms, parent=self)
        self.facade = CommandFacade(engine.commands, parent=self)
        self.queries = EngineQueries(engine.commands, parent=self)
        self.orders_model = OrdersModel()
        self.fills_model = FillsModel()
        self.positions_model = PositionsModel()

        self.heatmap = BookHeatmap(config.cockpit.heatmap_levels, config.cockpit.heatmap_columns)
        self.chart = PriceChart()
        self.ticket = OrderTicket(self.facade)
        self.blotter = BlotterView(self.orders_model, self.fills_model, self.facade)
        self.positions_view = make_table(self.positions_model)
        self.risk_label = QLabel("NAV —")
        self.risk_label.setStyleSheet("padding: 4px; font-family: monospace;")
        self.log_view = LogView()
        self.kill_bar = KillSwitchBar()
        self.status = StatusBar(config.venue.is_paper)
        self.setStatusBar(self.status)
        self.panels = PopulationPanels(
            config,
            self.bridge,
            self.facade,
            self.queries,
            self.chart,
            engine.commands.instrument,
            lambda title, text: self.confirm(title, text),
            parent=self,
        )

        self._build_toolbar()
        self._build_docks()
        self._build_menus()
        self._connect()
        self._restore_layout()
        self.set_symbol(config.universe.symbols[0])
        self.last_kill_snapshot: object | None = None
        if engine.state is EngineState.RUNNING:
            self._on_running()

    # -- construction ------------------------------------------------------------
    def _build_toolbar(self) -> None:
        """Menu bar and, under it, the trading strip (symbol, kill switch) across the window.

        The strip is the main window's menu widget, not a QToolBar: a toolbar can be
        hidden or overflow into its extension menu, and the kill switch must not.
        """
        self.menu_bar = QMenuBar()
        strip = QWidget()
        strip_layout = QHBoxLayout(strip)
        strip_layout.setContentsMargins(6, 0, 6, 0)
        self.symbol_box = QComboBox()
        self.symbol_box.addItems(list(self._config.universe.symbols))
        self.symbol_box.setMinimumWidth(120)
        strip_layout.addWidget(QLabel("Symbol"))
        strip_layout.addWidget(self.symbol_box)
        strip_layout.addWidget(self.kill_bar, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(0)
        top_layout.addWidget(self.menu_bar)
        top_layout.addWidget(strip)
        self.setMenuWidget(top)
        self.kill_action = QAction("Kill switch", self)
        self.kill_action.setShortcut(QKeySequence(KILL_SHORTCUT))
        self.kill_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.addAction(self.kill_action)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock.{name}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left, right, bottom = (
            Qt.DockWidgetArea.LeftDockWidgetArea,
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.setCentralWidget(self.heatmap)
        positions = QWidget()
        pl = QVBoxLayout(positions)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.risk_label)
        pl.addWidget(self.positions_view)
        p = self.panels.widgets
        self.docks = {
            "ticket": self._dock("Order ticket", "ticket", self.ticket, right),
            "positions": self._dock("Positions", "positions", positions, right),
            "chart": self._dock("Price (1m)", "chart", self.chart, bottom),
        }
        for name in ("arena", "agent", "forge"):
            self.docks[name] = self._dock(p[name][0], name, p[name][1], left)
        self.docks["blotter"] = self._dock("Orders and fills", "blotter", self.blotter, left)
        self.docks["watchtower"] = self._dock(p["watchtower"][0], "watchtower",
                                              p["watchtower"][1], left)  # fmt: skip
        self.docks["log"] = self._dock("Log", "log", self.log_view, left)
        for name in ("risk", "alerts", "radar", "mce", "influence"):
            self.docks[name] = self._dock(p[name][0], name, p[name][1], right)
        # The side columns run down to the status bar; the price chart sits under the heatmap.
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        d = self.docks
        for first, other in (("agent", "forge"), ("agent", "blotter"), ("agent", "watchtower"),
                             ("agent", "log"), ("positions", "risk"), ("positions", "alerts"),
                             ("radar", "mce"), ("radar", "influence")):  # fmt: skip
            self.tabifyDockWidget(d[first], d[other])
        for name in ("agent", "risk", "radar"):
            d[name].raise_()
        self.resizeDocks([d["arena"]], [720], Qt.Orientation.Horizontal)
        self.resizeDocks([d["ticket"]], [440], Qt.Orientation.Horizontal)
        self.resizeDocks([d["arena"], d["agent"]], [400, 560], Qt.Orientation.Vertical)
        self.resizeDocks([d["chart"]], [380], Qt.Orientation.Vertical)
        self.resizeDocks([d["ticket"], d["positions"], d["radar"]], [230, 330, 400],
                         Qt.Orientation.Vertical)  # fmt: skip
        self._default_state = self.saveState(LAYOUT_VERSION)

    def _build_menus(self) -> None:
        view = self.menu_bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        reset = view.addAction("Reset layout")
        reset.triggered.connect(self.reset_layout)
        trading = self.menu_bar.addMenu("&Trading")
        trading.addAction(self.kill_action)
        trading.addAction("Cancel all orders", self.facade.cancel_all)
        trading.addAction("Resume trading…", self._ask_resume)

    def _connect(self) -> None:
        b = self.bridge
        b.sigBookFrame.connect(self._on_book_frame)
        b.sigTradesFrame.connect(self._on_trades_frame)
        b.sigOrderUpdated.connect(self._on_order_update)
        b.sigFillReceived.connect(self.fills_model.on_fill)
        b.sigPortfolioChanged.connect(self._on_portfolio)
        b.sigTradingStateChanged.connect(self.kill_bar.on_trading_state)
        b.sigLinkStateChanged.connect(self._on_link_state)
        b.sigEngineStateChanged.connect(self.status.on_engine_state)
        b.sigEngineStateChanged.connect(self._on_engine_state)
        b.sigFeedRate.connect(self.status.on_feed_rate)
        b.sigBookStatusChanged.connect(self.status.on_book_status)
        b.sigRiskEvent.connect(self._on_risk_event)
        self.symbol_box.currentTextChanged.connect(self.set_symbol)
        self.kill_bar.kill.clicked.connect(self.trigger_kill_switch)
        self.kill_action.triggered.connect(self.trigger_kill_switch)
        self.kill_bar.pause.toggled.connect(self.facade.pause_entries)
        self.kill_bar.cancel_all.clicked.connect(self.facade.cancel_all)
        self.kill_bar.sigResumeRequested.connect(self._ask_resume)
        self.facade.sigCommandFailed.connect(lambda m: self.status.showMessage(m, 8000))
        self.facade.sigCommandSucceeded.connect(lambda m: self.status.showMessage(f"{m}: ok", 4000))
        self.facade.sigKillSwitchDone.connect(self._on_kill_done)
        self.facade.sigCommandFailed.connect(lambda m: log.warning("%s", m))
        self.queries.sigRecentBars.connect(self._on_recent_bars)
        self.queries.sigReadFailed.connect(lambda m: self.status.showMessage(m, 8000))
        self.panels.alerts_model.sigCountChanged.connect(self._on_alert_count)
        self.status.sigAlertsClicked.connect(self.show_alerts)

    # -- layout persistence ---------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self._settings.value("geometry")
        state = self._settings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry()
            self.setGeometry(screen)
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("state", self.saveState(LAYOUT_VERSION))
        self._settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()

    # -- slots ------------------------------------------------------------------------
    def set_symbol(self, symbol: str) -> None:
        if self.symbol_box.currentText() != symbol:
            self.symbol_box.setCurrentText(symbol)
        inst = self._engine.commands.instrument(symbol)
        self.heatmap.set_symbol(symbol, inst.tick_size if inst else 0.01)
        self.chart.set_symbol(symbol)
        self.ticket.set_symbol(symbol)
        self.status.set_symbol(symbol)
        self.docks["chart"].setWindowTitle(f"Price (1m) — {symbol}")
        self.chart.set_regimes(self.panels.regimes.periods())
        if self.engine_running:
            self.queries.recent_bars(symbol)

    def _on_engine_state(self, e: EngineStateChanged) -> None:
        if e.state is EngineState.RUNNING and not self.engine_running:
            self._on_running()

    def _on_running(self) -> None:
        """The engine is up: read what the panels start with (bars, tasks, evaluations)."""
        self.engine_running = True
        self.panels.start()
        if self.heatmap.symbol:
            self.queries.recent_bars(self.heatmap.symbol)

    def _on_recent_bars(self, symbol: str, bars: list[Bar]) -> None:
        self.chart.set_history(symbol, bars)

    def _on_alert_count(self, count: int, worst: str) -> None:
        self.status.set_alerts(count, worst)
        self.docks["alerts"].setWindowTitle(f"Alerts ({count})" if count else "Alerts")

    def show_alerts(self) -> None:
        self.docks["alerts"].show()
        self.docks["alerts"].raise_()

    def _on_book_frame(self, books: dict[str, list[BookSnapshot]]) -> None:
        symbol = self.heatmap.symbol
        if symbol is None:
            return
        if self.heatmap.bin == 0.01:  # instruments arrived after the window opened
            inst = self._engine.commands.instrument(symbol)
            if inst is not None and inst.tick_size != self.heatmap.bin:
                self.heatmap.set_symbol(symbol, inst.tick_size)
        mine = books.get(symbol)
        if mine:
            self.heatmap.add_books(mine)
            self.heatmap.render()
            self.ticket.set_mid(mine[-1].mid)

    def _on_trades_frame(self, trades: dict[str, list[Trade]]) -> None:
        mine = trades.get(self.heatmap.symbol or "")
        if mine:
            self.heatmap.add_trades(mine)
            self.chart.add_trades(mine)

    def _on_order_update(self, update: OrderUpdate) -> None:
        self.orders_model.on_update(update)

    def _on_portfolio(self, p: PortfolioState) -> None:
        for pos in p.positions:
            self.positions_model.set_position(pos, p.marks.get(pos.symbol))
        self.risk_label.setText(
            f"NAV {p.nav:,.2f}   day {p.day_pnl:+,.2f}   uPnL {p.unrealized_pnl:+,.2f}   "
            f"exposure {p.exposure:,.0f}   drawdown {p.drawdown:.2%}"
        )

    def _on_link_state(self, s: LinkState) -> None:
        self.status.on_link_state(s)

    def _on_risk_event(self, e: RiskEvent) -> None:
        self.status.showMessage(f"{e.kind.value}: {e.message}", 10_000)

    def trigger_kill_switch(self) -> None:
        log.warning("KILL SWITCH pressed")
        self.kill_bar.banner.setText("HALTING…")
        self.kill_bar.banner.show()
        self.facade.kill_switch()

    def _on_kill_done(self, snapshot: object) -> None:
        self.last_kill_snapshot = snapshot

    def confirm(self, title: str, text: str) -> bool:
        """Ask the user; tests replace this to answer without a dialog."""
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def _ask_resume(self) -> None:
        if self.confirm("Resume trading", "Trading is halted. Resume order flow for every agent?"):
            self.facade.resume()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.queries.stop()
        self.bridge.close()
        self.log_view.detach()
        if self._on_closed is not None:
            self._on_closed()
        event.accept()
