"""LogView: the engine's log lines in a dock (a logging handler feeding a Qt signal)."""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPlainTextEdit

from engine.logs import DATEFMT


class _Emitter(QObject):
    sigLine = Signal(str)


class QtLogHandler(logging.Handler):
    """Forwards records as text through a queued Qt signal (safe from any thread)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.emitter = _Emitter()
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", DATEFMT)
        )

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(RuntimeError):  # the widget is gone during shutdown
            self.emitter.sigLine.emit(self.format(record))


class LogView(QPlainTextEdit):
    def __init__(self, max_lines: int = 2_000) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setMaximumBlockCount(max_lines)
        self.setStyleSheet("font-family: monospace; font-size: 11px;")
        self.handler = QtLogHandler()
        self.handler.emitter.sigLine.connect(self.appendPlainText)
        logging.getLogger().addHandler(self.handler)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)
