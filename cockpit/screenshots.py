"""A screenshot tour of the running cockpit (``scripts/screenshot.sh`` turns it on).

With ``CRUCIBLE_SCREENSHOTS=<dir>`` set, ``crucible run`` waits until the
population is alive (agents trading, a forge task running; at most
``CRUCIBLE_SCREENSHOT_MAX_S``), grabs the whole screen (``window.png``), then
shows panels one after another, widened, saves each dock as Qt draws it, and
closes the window. Nothing here runs otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPixmap

if TYPE_CHECKING:
    from cockpit.main_window import MainWindow

log = logging.getLogger(__name__)

ENV_DIR = "CRUCIBLE_SCREENSHOTS"
ENV_MIN = "CRUCIBLE_SCREENSHOT_MIN_S"
ENV_MAX = "CRUCIBLE_SCREENSHOT_MAX_S"


def requested() -> Path | None:
    value = os.environ.get(ENV_DIR)
    return Path(value) if value else None


def _population(w: MainWindow) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Live agents, the ones that have traded (or hold a position), forge tasks running."""
    live = [r for r in w.panels.agents_model.rows() if r["state"] != "reaped"]
    traded = [r for r in live if r["trades"] or r["position"]]
    return live, traded, w.panels.forge.tasks_model.active_tasks()


async def _settle(seconds: float = 1.5) -> None:
    await asyncio.sleep(seconds)


async def _wait_for_population(w: MainWindow) -> None:
    """Until two agents live and one has traded, and a forge task runs (at most max_s).

    The Singularity forges the deployment at start and then only retries rejected slots,
    each task a few seconds long: once agents trade and nothing is forging, the tour
    does what an operator would, Forge for the symbol with the fewest agents.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    min_s = float(os.environ.get(ENV_MIN, "60"))
    max_s = float(os.environ.get(ENV_MAX, "900"))
    asked = False
    while True:
        live, traded, forging = _population(w)
        waited = loop.time() - t0
        ready = len(live) >= 2 and len(traded) >= 1 and waited >= min_s
        evolving = [
            t for t in forging if (w.panels.forge.tasks_model.row(t) or {}).get("generation")
        ]
        if (ready and evolving) or waited >= max_s:
            log.info("screenshots after %.0f s: %d agents, %d traded, forge tasks %s",
                     waited, len(live), len(traded), forging)  # fmt: skip
            return
        if ready and not forging and not asked:
            counts = Counter(r["symbol"] for r in live)
            symbol = min(w.panels.forge.symbols(), key=lambda s: counts.get(s, 0))
            log.info("screenshots: forging for %s so a task is in progress", symbol)
            w.panels.forge.symbol.setCurrentText(symbol)
            w.panels.forge.forge.click()
            asked = True
        await asyncio.sleep(0.5 if asked else 5)


async def tour(w: MainWindow, out: Path) -> None:
    """Wait for a living population, then save the window and its main panels."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    await _wait_for_population(w)
    panels = w.panels
    rows = sorted(panels.agents_model.rows(), key=lambda r: (-r["trades"], -abs(r["position"])))
    if rows:
        panels.arena.select_agent(rows[0]["agent_id"])
    state = w.saveState()
    await _forge(w, out)  # first, while the task runs
    w.restoreState(state)
    await _settle(2)
    _screen(w).save(str(out / "window.png"))
    await _arena(w, out)
    for shot in (_signals, _risk, _watchtower):
        w.restoreState(state)
        await shot(w, out)
    w.restoreState(state)
    await _chart(w, out, rows[0]["symbol"] if rows else None)
    w.restoreState(state)
    await asyncio.to_thread((out / ".done").touch)
    w.close()


def _screen(w: MainWindow) -> QPixmap:
    """The whole screen as the X server shows it (the window fills it)."""
    screen = w.screen() or QGuiApplication.primaryScreen()
    return screen.grabWindow(0)


async def _arena(w: MainWindow, out: Path) -> None:
    d = w.docks
    d["agent"].raise_()
    w.resizeDocks([d["arena"]], [1450], Qt.Orientation.Horizontal)
    w.resizeDocks([d["arena"], d["agent"]], [330, 640], Qt.Orientation.Vertical)
    detail = w.panels.detail
    for tab, name in ((0, "arena"), (1, "agent-equity"), (2, "agent-decisions")):
        detail.tabs.setCurrentIndex(tab)
        if tab == 2 and detail.decisions_model.rowCount():
            last = detail.decisions_model.rowCount() - 1
            enter = [
                r
                for r in range(detail.decisions_model.rowCount())
                if detail.decisions_model.data(detail.decisions_model.index(r, 1)) == "enter"
            ]
            detail.decisions.selectRow(enter[-1] if enter else last)
        await _settle()
        left = d["arena"].geometry().united(d["agent"].geometry())
        w.grab(left).save(str(out / f"{name}.png"))


async def _forge(w: MainWindow, out: Path) -> None:
    d = w.docks
    d["forge"].raise_()
    w.resizeDocks([d["arena"]], [1450], Qt.Orientation.Horizontal)
    w.resizeDocks([d["arena"], d["forge"]], [250, 720], Qt.Orientation.Vertical)
    forge = w.panels.forge
    w.queries.forge_runs()
    await _settle(1)
    runs = forge.runs
    judged = [t for t, r in runs.items() if (r.get("report") or {}).get("gauntlet")]
    finished = [t for t in runs if not forge.tasks_model.is_active(t)]
    candidates = judged or finished
    if candidates:
        forge.select_task(candidates[-1])
    await _settle(2)
    d["forge"].grab().save(str(out / "forge.png"))


async def _signals(w: MainWindow, out: Path) -> None:
    d = w.docks
    w.resizeDocks([d["radar"]], [1250], Qt.Orientation.Horizontal)
    w.resizeDocks([d["ticket"], d["positions"], d["radar"]], [120, 200, 700],
                  Qt.Orientation.Vertical)  # fmt: skip
    for name in ("radar", "mce", "influence"):
        d[name].raise_()
        await _settle()
        d[name].grab().save(str(out / f"{name}.png"))


async def _risk(w: MainWindow, out: Path) -> None:
    d = w.docks
    w.resizeDocks([d["risk"]], [1250], Qt.Orientation.Horizontal)
    w.resizeDocks([d["ticket"], d["positions"], d["radar"]], [100, 620, 200],
                  Qt.Orientation.Vertical)  # fmt: skip
    for name in ("risk", "alerts"):
        d[name].raise_()
        await _settle()
        d[name].grab().save(str(out / f"{name}.png"))


async def _watchtower(w: MainWindow, out: Path) -> None:
    d = w.docks
    d["watchtower"].raise_()
    w.resizeDocks([d["arena"]], [1300], Qt.Orientation.Horizontal)
    w.resizeDocks([d["arena"], d["watchtower"]], [200, 760], Qt.Orientation.Vertical)
    await _settle()
    d["watchtower"].grab().save(str(out / "watchtower.png"))


async def _chart(w: MainWindow, out: Path, symbol: str | None) -> None:
    """The price chart of ``symbol`` (the selected agent's: its fills are on it), widened."""
    d = w.docks
    if symbol:
        w.set_symbol(symbol)
    w.resizeDocks([d["arena"]], [300], Qt.Orientation.Horizontal)
    w.resizeDocks([d["ticket"]], [300], Qt.Orientation.Horizontal)
    w.resizeDocks([d["chart"]], [620], Qt.Orientation.Vertical)
    await _settle(3)  # the venue's bars arrive
    d["chart"].grab().save(str(out / "chart.png"))
