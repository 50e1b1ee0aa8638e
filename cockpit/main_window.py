"""MainWindow: docks around the engine, status bar, layout persisted in QSettings."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow

from engine.config import CrucibleConfig
from engine.kernel import CrucibleEngine


class MainWindow(QMainWindow):
    """The cockpit's main window."""

    def __init__(
        self,
        engine: CrucibleEngine,
        config: CrucibleConfig,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._config = config
        self._on_closed = on_closed
        self.setWindowTitle(f"Crucible — {'PAPER' if config.venue.is_paper else 'LIVE'}")
        self.resize(1600, 1000)
        central = QLabel("Crucible", alignment=Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(central)
        self._settings = QSettings("Crucible", "Cockpit")
        geometry = self._settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._settings.setValue("geometry", self.saveGeometry())
        if self._on_closed is not None:
            self._on_closed()
        event.accept()
