"""Cockpit fixtures: a real engine + core on a qasync loop, the real window offscreen."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from cockpit.app import create_qapp
from cockpit.main_window import MainWindow
from engine.assembly import build_engine
from engine.config import CrucibleConfig
from engine.kernel import CrucibleEngine
from tests.kit.engine_harness import engine_config
from tests.kit.forged import forge_planted_agent

REPO = Path(__file__).resolve().parents[2]
# The sim in fast-forward: a bar per symbol about every second, so agents decide quickly;
# the backfill covers the features' warm-up.
FAST_SIM = {"core": {"sim": {"mode": "fastforward", "backfill_minutes": 2_600}}}


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

    def act(self, action: Callable[[], object]) -> None:
        """Do a user action while the event loop runs (as it always does in the app): Qt
        may run queued loop callbacks during it, and those need a running loop."""

        async def inside() -> None:
            action()
            await asyncio.sleep(0)

        self.run(inside())

    def click(self, widget: QWidget, button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
        """A mouse click on ``widget`` (see ``act``)."""
        self.act(lambda: QTest.mouseClick(widget, button))

    def close(self) -> None:
        self.window.close()
        self.run(self.engine.stop())


def open_cockpit(
    qapp: QApplication,
    tmp_path: Path,
    binary: Path,
    loop: qasync.QEventLoop,
    **overrides: Any,
) -> Cockpit:
    config = engine_config(tmp_path, binary, **overrides)
    engine = build_engine(config)
    settings_path = tmp_path / "cockpit.ini"
    window = MainWindow(
        engine, config, settings=QSettings(str(settings_path), QSettings.Format.IniFormat)
    )
    window.confirm = lambda _title, _text: True  # type: ignore[method-assign]
    window.show()
    cockpit = Cockpit(window, engine, config, loop, settings_path)
    cockpit.run(engine.start(), timeout=90)  # a loaded machine: agents warm up in the start
    return cockpit


class _TestLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop, minus one step outside the loop.

    ``QEventLoop.run_until_complete`` processes Qt events once more after the loop has
    stopped and no longer counts as running; a task stepped then dies on
    ``asyncio.get_running_loop()`` (the engine's tick, the link's watchdog, a forge job).
    The app runs one ``run_until_complete`` for its whole life, so only tests, which run
    many, meet it: here the events wait for the next run instead.
    """

    def run_until_complete(self, future: Any) -> Any:
        task = asyncio.ensure_future(future, loop=self)

        def stop(_f: object) -> None:
            self.stop()

        task.add_done_callback(stop)
        try:
            self.run_forever()
        finally:
            task.remove_done_callback(stop)
        if not task.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return task.result()


@pytest.fixture
def qloop(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[qasync.QEventLoop]:
    loop = _TestLoop(qapp)
    asyncio.set_event_loop(loop)
    # pytest-qt processes Qt events between a test's phases, outside the asyncio loop: the
    # engine's tasks would then be stepped with no running loop and die ("no running event
    # loop" in asyncio.sleep), silently losing the engine's tick, the link's watchdog, a
    # forge job. While this loop exists, that processing happens inside it instead.
    import pytestqt.plugin

    def process_events_in_the_loop() -> None:
        if not loop.is_closed() and not loop.is_running():
            loop.run_until_complete(asyncio.sleep(0))

    monkeypatch.setattr(pytestqt.plugin, "_process_events", process_events_in_the_loop)
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


@dataclass(frozen=True)
class Forged:
    models: Path
    ids: tuple[str, ...]  # BTC/USDT, ETH/USDT


@pytest.fixture(scope="session")
def forged(tmp_path_factory: pytest.TempPathFactory) -> Forged:
    """Two real agents (the real forge on planted-edge bars), forged once per session."""
    models = tmp_path_factory.mktemp("forged") / "models"
    ids = (
        forge_planted_agent(models, "BTC/USDT", seed=1),
        forge_planted_agent(models, "ETH/USDT", seed=2),
    )
    return Forged(models, ids)


def copy_models(source: Path, root: Path, *trained: str) -> Path:
    """The forged bundles (and the repository's trained ``trained`` signal models) under
    ``root / "models"``."""
    models = root / "models"
    shutil.copytree(source, models, dirs_exist_ok=True)
    for name in trained:
        shutil.copytree(REPO / "models" / name, models / name)
    return models


@pytest.fixture
def population(
    qapp: QApplication,
    qloop: qasync.QEventLoop,
    tmp_path: Path,
    cerebellum_binary: Path,
    forged: Forged,
) -> Iterator[Cockpit]:
    """The window on a fast-forward sim with the two forged agents (and the trained
    influence model) in its arena."""
    copy_models(forged.models, tmp_path, "influence")
    c = open_cockpit(
        qapp, tmp_path, cerebellum_binary, qloop, cerebellum=FAST_SIM,
        signals={"mce": {"enabled": False}},
    )  # fmt: skip
    c.wait(lambda: set(c.engine.arena.agents) == set(forged.ids), 60, "the agents to load")
    yield c
    if c.window.isVisible():
        c.close()
