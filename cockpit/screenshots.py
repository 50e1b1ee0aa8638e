"""A screenshot tour of the running cockpit (``scripts/screenshot.sh`` turns it on).

With ``CRUCIBLE_SCREENSHOTS=<dir>`` set, ``crucible run`` waits until the
population is alive (agents trading, a forge task running; at most
``CRUCIBLE_SCREENSHOT_MAX_S``), touches ``<dir>/.ready`` so the script can take
the whole screen, then shows panels one after another, widened, and saves each
dock as Qt draws it, then closes the window. Nothing here runs otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from cockpit.main_window import MainWindow

log = logging.getLogger(__name__)

ENV_DIR = "CRUCIBLE_SCREENSHOTS"
ENV_MIN = "CRUCIBLE_SCREENSHOT_MIN_S"
ENV_MAX = "CRUCIBLE_SCREENSHOT_MAX_S"


def requested() -> Path | None:
    value = os.environ.get(ENV_DIR)
    return Path(value) if value else None


def _alive(w: MainWindow) -> tuple[bool, str]:
    rows = w.panels.agents_model.rows()
    live = [r for r in rows if r["state"] != "reaped"]
    traded = [r for r in live if r["trades"] or r["position"]]
    forging = bool(w.panels.forge.tasks_model.active_tasks())
    what = f"{len(live)} agents, {len(traded)} trading, forge task running: {forging}"
    return len(live) >= 2 and len(traded) >= 1 and forging, what


async def _settle(seconds: float = 1.5) -> None:
    await asyncio.sleep(seconds)


async def tour(w: MainWindow, out: Path) -> None:
    """Wait for a living population, then save the window and its main panels."""
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    min_s = float(os.environ.get(ENV_MIN, "60"))
    max_s = float(os.environ.get(ENV_MAX, "900"))
    while True:
        ok, what = _alive(w)
        waited = loop.time() - t0
        if (ok and waited >= min_s) or waited >= max_s:
            log.info("screenshots after %.0f s: %s", waited, what)
            break
        await asyncio.sleep(5)
    panels = w.panels
    rows = sorted(panels.agents_model.rows(), key=lambda r: (-r["trades"], r["agent_id"]))
    if rows:
        panels.arena.select_agent(rows[0]["agent_id"])
    await _settle(4)
    state = w.saveState()
    await asyncio.to_thread((out / ".ready").touch)  # the script takes the whole screen now
    await _settle(4)
    await _arena(w, out)
    w.restoreState(state)
    await _forge(w, out)
    w.restoreState(state)
    await _signals(w, out)
    w.restoreState(state)
    await asyncio.to_thread((out / ".done").touch)
    w.close()


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
    await _settle(2)
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
    for name in ("radar", "mce", "influence", "risk", "alerts"):
        d[name].raise_()
        await _settle()
        d[name].grab().save(str(out / f"{name}.png"))
    d["watchtower"].raise_()
    w.resizeDocks([d["chart"]], [300], Qt.Orientation.Vertical)
    await _settle()
    d["watchtower"].grab().save(str(out / "watchtower.png"))
    d["chart"].grab().save(str(out / "chart.png"))
