"""KillSwitchBar: the always-visible kill switch, its two softer siblings, and the HALTED banner."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from cockpit import theme
from engine.model.enums import TradingState
from engine.model.events import TradingStateChanged


class KillSwitchBar(QWidget):
    """Big red KILL SWITCH; "Pause entries" and "Cancel all orders" beside it; HALTED banner."""

    sigResumeRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.kill = QPushButton("KILL SWITCH")
        self.kill.setToolTip(
            "Halt all order flow, cancel every order, flatten every position (Ctrl+Shift+K)"
        )
        self.kill.setMinimumSize(180, 40)
        self.kill.setStyleSheet(
            f"QPushButton {{ background: {theme.HALT}; color: white; font-weight: bold; font-size: 15px;"
            " border: 2px solid #ff8a80; border-radius: 4px; }"
            "QPushButton:pressed { background: #8e0000; }"
        )
        self.pause = QPushButton("Pause entries")
        self.pause.setCheckable(True)
        self.pause.setToolTip("No new entries; exits are still managed")
        self.pause.setMinimumHeight(32)
        self.cancel_all = QPushButton("Cancel all orders")
        self.cancel_all.setToolTip("Cancel every resting order; positions are kept")
        self.cancel_all.setMinimumHeight(32)
        self.banner = QLabel("")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet(
            f"background: {theme.HALT}; color: white; font-weight: bold; font-size: 15px; padding: 6px;"
        )
        self.banner.hide()
        self.resume = QPushButton("Resume…")
        self.resume.setMinimumHeight(32)
        self.resume.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.kill)
        layout.addWidget(self.pause)
        layout.addWidget(self.cancel_all)
        layout.addWidget(self.banner, 1)
        layout.addWidget(self.resume)
        self.resume.clicked.connect(self.sigResumeRequested.emit)
        self.state = TradingState.ACTIVE

    def on_trading_state(self, s: TradingStateChanged) -> None:
        self.state = s.state
        halted = s.state is not TradingState.ACTIVE
        self.banner.setVisible(halted)
        self.resume.setVisible(halted)
        if halted:
            self.banner.setText(f"{s.state.value} — {s.reason}" if s.reason else s.state.value)
        self.pause.blockSignals(True)
        self.pause.setChecked(s.entries_paused)
        self.pause.blockSignals(False)
        self.pause.setStyleSheet(
            f"background: {theme.WARN}; color: black;" if s.entries_paused else ""
        )
