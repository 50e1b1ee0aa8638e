"""RiskPanel: NAV, exposure, day PnL and drawdown; every limit with its usage; stale
symbols; the latest risk events. Fed by the bridge (portfolio, risk events, trading
state) and the queries poll (per-strategy figures)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from cockpit import theme
from cockpit.models.risk_models import LimitsModel, RiskEventsModel
from cockpit.views.blotter_view import fixed_column, make_table
from cockpit.views.progress_delegate import ProgressDelegate
from engine.config import RiskConfig
from engine.model.enums import Scope, TradingState
from engine.model.events import PortfolioState, RiskEvent, TradingStateChanged


class RiskPanel(QWidget):
    def __init__(self, risk: RiskConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.figures: dict[str, QLabel] = {}
        grid = QGridLayout()
        names = ("NAV", "Day PnL", "Drawdown", "Exposure", "Peak NAV", "Cash", "Fees", "State")
        for i, name in enumerate(names):
            title = QLabel(name)
            title.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 10px;")
            value = QLabel("—")
            value.setStyleSheet("font-size: 15px; font-weight: bold;")
            grid.addWidget(title, 0 if i < 4 else 2, i % 4)
            grid.addWidget(value, 1 if i < 4 else 3, i % 4)
            self.figures[name] = value
        self.stale = QLabel("stale marks: none")
        self.limits_model = LimitsModel(risk)
        self.limits = make_table(self.limits_model)
        usage = [c.key for c in self.limits_model.columns].index("usage")
        self.limits.setItemDelegateForColumn(usage, ProgressDelegate(self.limits, warn_at=0.75))
        fixed_column(self.limits, usage, 120)
        self.events_model = RiskEventsModel()
        self.events = make_table(self.events_model)
        self.events_model.rowsInserted.connect(lambda *_: self.events.scrollToBottom())
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.limits)
        split.addWidget(self.events)
        split.setSizes([260, 140])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(grid)
        layout.addWidget(self.stale)
        layout.addWidget(split, 1)
        self._risk = risk

    def on_portfolio(self, p: PortfolioState) -> None:
        f = self.figures
        f["NAV"].setText(f"{p.nav:,.2f}")
        f["Day PnL"].setText(f"{p.day_pnl:+,.2f}")
        f["Day PnL"].setStyleSheet(
            f"font-size: 15px; font-weight: bold; color: {theme.LONG if p.day_pnl >= 0 else theme.SHORT};"
        )
        dd_colour = theme.HALT if p.drawdown >= self._risk.max_drawdown_pct * 0.75 else theme.TEXT
        f["Drawdown"].setText(f"{p.drawdown:.2%} of {self._risk.max_drawdown_pct:.0%}")
        f["Drawdown"].setStyleSheet(f"font-size: 15px; font-weight: bold; color: {dd_colour};")
        f["Exposure"].setText(f"{p.exposure:,.0f}")
        f["Peak NAV"].setText(f"{p.peak_nav:,.2f}")
        f["Cash"].setText(f"{p.cash:,.2f}")
        f["Fees"].setText(f"{p.fees:,.2f}")
        if p.stale_symbols:
            self.stale.setText(f"stale marks: {', '.join(p.stale_symbols)} (new exposure refused)")
            self.stale.setStyleSheet(f"color: {theme.WARN};")
        else:
            self.stale.setText("stale marks: none")
            self.stale.setStyleSheet("")
        self.limits_model.on_portfolio(p)

    def on_trading_state(self, s: TradingStateChanged) -> None:
        if s.scope is not Scope.GLOBAL:
            return
        text = s.state.value + (" · entries paused" if s.entries_paused else "")
        colour = theme.LONG if s.state is TradingState.ACTIVE else theme.HALT
        self.figures["State"].setText(text)
        self.figures["State"].setStyleSheet(f"font-size: 15px; font-weight: bold; color: {colour};")
        self.figures["State"].setToolTip(s.reason)

    def on_risk_event(self, e: RiskEvent) -> None:
        self.events_model.on_event(e)
