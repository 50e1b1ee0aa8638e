"""Regression: PySide6 6.12.0 crashed under qasync after tens of thousands of callbacks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])

    async def main() -> int:
        for _ in range(100_000):
            await asyncio.sleep(0)
        return 100_000

    print("done", qasync.run(main()))
    """
)


def test_qasync_survives_100k_loop_callbacks() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=240, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "done 100000" in proc.stdout


def test_pyside6_version_is_below_the_crashing_release() -> None:
    import PySide6

    major, minor = (int(x) for x in PySide6.__version__.split(".")[:2])
    assert (6, 9) <= (major, minor) < (6, 12)
