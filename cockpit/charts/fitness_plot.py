"""FitnessPlot: best and mean GP fitness per generation of one forge task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from cockpit import theme
from cockpit.charts.axis_cache import cache_axes


class FitnessPlot(pg.PlotWidget):
    """Two curves created once; ``set_history`` replaces their data."""

    def __init__(self) -> None:
        super().__init__()
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setLabel("bottom", "generation")
        self.setLabel("left", "fitness")
        cache_axes(self.getPlotItem())
        self.getPlotItem().addLegend(offset=(-10, -10))
        self.best = self.plot(
            pen=pg.mkPen(theme.LONG, width=2), symbol="o", symbolSize=5, name="best"
        )
        self.mean = self.plot(pen=pg.mkPen(theme.WARN, width=1.5), name="mean")
        self.title = ""
        self.generations = 0

    def set_history(self, title: str, history: Sequence[tuple[int, float, float]]) -> None:
        data = np.asarray(history, dtype=np.float64).reshape(-1, 3)
        self.best.setData(data[:, 0], data[:, 1])
        finite = np.isfinite(data[:, 2])
        self.mean.setData(data[finite, 0], data[finite, 2])
        self.generations = len(data)
        if title != self.title:
            self.title = title
            self.setTitle(title, color=theme.TEXT_DIM, size="9pt")
