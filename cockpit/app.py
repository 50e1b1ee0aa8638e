"""create_qapp() and run_cockpit(): the Qt application around the engine (qasync)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import traceback
from types import TracebackType

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.assembly import build_engine
from engine.config import CrucibleConfig

log = logging.getLogger(__name__)


def _install_excepthooks() -> None:
    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled exception in the cockpit:\n%s", text)
        app = QApplication.instance()
        if (
            isinstance(app, QApplication)
            and not app.closingDown()
            and threading.current_thread() is threading.main_thread()
        ):
            # Non-blocking: a nested modal loop inside an excepthook can deadlock shutdown.
            box = QMessageBox(
                QMessageBox.Icon.Critical, "Crucible error", f"{exc_type.__name__}: {exc}"
            )
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            log.error(
                "unhandled exception in thread %s:\n%s",
                args.thread.name if args.thread else "?",
                "".join(
                    traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
                ),
            )

    sys.excepthook = hook
    threading.excepthook = thread_hook


def create_qapp(argv: list[str] | None = None) -> QApplication:
    """Create (or return) the QApplication with Crucible's identity and theme."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(argv or sys.argv[:1])
    app.setApplicationName("Crucible")
    app.setOrganizationName("Crucible")
    # The asyncio loop must outlive the window: closing it stops the engine, then returns.
    app.setQuitOnLastWindowClosed(False)
    from cockpit.theme import apply_dark_theme

    apply_dark_theme(app)
    _install_excepthooks()
    return app


async def _run(config: CrucibleConfig) -> int:
    from cockpit.main_window import MainWindow

    engine = build_engine(config)
    closed = asyncio.Event()
    window = MainWindow(engine, config, on_closed=closed.set)
    window.show()
    try:
        await engine.start()
    except Exception as exc:
        log.exception("engine failed to start")
        QMessageBox.critical(window, "Crucible", f"The engine failed to start:\n{exc}")
        window.close()
        await engine.stop()
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, window.close)
    from cockpit import screenshots

    shots = screenshots.requested()
    tour = loop.create_task(screenshots.tour(window, shots)) if shots else None
    await closed.wait()
    if tour is not None and not tour.done():
        tour.cancel()
    await engine.stop()
    return 0


def run_cockpit(config: CrucibleConfig) -> int:
    """Open the cockpit window on a running engine; returns when the window closes."""
    create_qapp()
    return int(qasync.run(_run(config)))
