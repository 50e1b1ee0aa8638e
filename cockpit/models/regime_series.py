"""RegimeSeries: the radar's score and regime-change state per bar, shared by the radar
chart and the price chart's shading (Qt signal ``sigChanged`` after every change)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QObject, Signal

from engine.model.events import RadarDiagram, RadarHistory

BAR_S = 60.0
MAX_POINTS = 2_880  # two days of 1-minute bars


class RegimeSeries(QObject):
    """Bar close time (s), score and detected flag, oldest first, bounded."""

    sigChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._points: dict[float, tuple[float, bool]] = {}

    def __len__(self) -> int:
        return len(self._points)

    def set_history(self, h: RadarHistory) -> None:
        for ts, score, detected in zip(h.ts_bar, h.score, h.detected, strict=True):
            self._points[ts / 1e9 + BAR_S] = (float(score), bool(detected))
        self._trim()
        self.sigChanged.emit()

    def add(self, d: RadarDiagram) -> None:
        if d.score is None:
            return
        self._points[d.ts_bar / 1e9 + BAR_S] = (float(d.score), d.regime_change_detected)
        self._trim()
        self.sigChanged.emit()

    def _trim(self) -> None:
        if len(self._points) > MAX_POINTS:
            for t in sorted(self._points)[: len(self._points) - MAX_POINTS]:
                del self._points[t]

    def arrays(
        self,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        times = np.array(sorted(self._points), dtype=np.float64)
        score = np.array([self._points[t][0] for t in times], dtype=np.float64)
        detected = np.array([self._points[t][1] for t in times], dtype=bool)
        return times, score, detected

    def periods(self) -> list[tuple[float, float]]:
        """(start, end) times of each stretch with a regime change detected (end = its last
        bar's close plus a bar, or that close while it lasts)."""
        times, _score, detected = self.arrays()
        out: list[tuple[float, float]] = []
        start: float | None = None
        for t, on in zip(times, detected, strict=True):
            if on and start is None:
                start = float(t) - BAR_S
            elif not on and start is not None:
                out.append((start, float(t) - BAR_S))
                start = None
        if start is not None:
            out.append((start, float(times[-1])))
        return out

    def onsets(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Times and scores of the bars that switched a regime change on."""
        times, score, detected = self.arrays()
        if times.size == 0:
            return times, score
        first = detected & ~np.concatenate(([False], detected[:-1]))
        return times[first], score[first]
