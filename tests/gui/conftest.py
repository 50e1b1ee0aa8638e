"""Cockpit fixtures: a real engine + core on a qasync loop, the real window offscreen."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from cockpit.app import create_qapp
from cockpit.main_window import MainWindow
from engine.assembly import build_engine
from engine.config import CrucibleConfig
from engine.kernel import CrucibleEngine
from tests.kit.engine_harness import engine_config


@pytest.fixture(scope="session")
def qapp() -> QApplication:
    return create_qapp()


@dataclass
class Cockpit:
    window: MainWindow
    engine: CrucibleEngine
    config: CrucibleConfig
    loop: qasync.QEventLoop
    settings_path: Path

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def wait(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> float:
        async def poll() -> float:
            t0 = self.loop.time()
            while not predicate():
                if self.loop.time() - t0 > timeout:
                    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
                await asyncio.sleep(0.01)
            return self.loop.time() - t0

        return float(self.loop.run_until_complete(poll()))

    def close(self) -> None:
        self.window.close()
        self.run(self.engine.stop())


def open_cockpit(
    qapp: QApplication, tmp_path: Path, binary: Path, loop: qasync.QEventLoop
) -> Cockpit:
    config = engine_config(tmp_path, binary)
    engine = build_engine(config)
    settings_path = tmp_path / "cockpit.ini"
    window = MainWindow(
        engine, config, settings=QSettings(str(settings_path), QSettings.Format.IniFormat)
    )
    window.confirm = lambda _title, _text: True  # type: ignore[method-assign]
    window.show()
    cockpit = Cockpit(window, engine, config, loop, settings_path)
    cockpit.run(engine.start(), timeout=30)
    return cockpit


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def cockpit(
    qapp: QApplication, qloop: qasync.QEventLoop, tmp_path: Path, cerebellum_binary: Path
) -> Iterator[Cockpit]:
    c = open_cockpit(qapp, tmp_path, cerebellum_binary, qloop)
    yield c
    if c.window.isVisible():
        c.close()
