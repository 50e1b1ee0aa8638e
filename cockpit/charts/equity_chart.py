"""EquityChart: one agent's equity over time with its entries and exits marked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from cockpit import theme
from cockpit.charts.axis_cache import cache_axes
from engine.agents.state import TradeRecord


def equity_at(times: np.ndarray, values: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Equity interpolated at ``when`` (held flat outside the samples)."""
    if times.size == 0:
        return np.full(when.shape, np.nan)
    return np.interp(when, times, values)


class EquityChart(pg.PlotWidget):
    """Created once; ``set_data`` replaces the curve and the markers."""

    def __init__(self) -> None:
        super().__init__(axisItems={"bottom": pg.DateAxisItem()})
        self.setMenuEnabled(False)
        self.showGrid(x=True, y=True, alpha=0.15)
        self.setLabel("left", "equity")
        cache_axes(self.getPlotItem())
        self.curve = self.plot(pen=pg.mkPen(theme.ACCENT, width=2))
        self.entries = pg.ScatterPlotItem(
            symbol="t1", size=11, brush=pg.mkBrush(theme.LONG), pen=pg.mkPen("w", width=0.5)
        )
        self.exits = pg.ScatterPlotItem(
            symbol="t", size=11, brush=pg.mkBrush(theme.SHORT), pen=pg.mkPen("w", width=0.5)
        )
        self.addItem(self.entries)
        self.addItem(self.exits)
        self.getPlotItem().addLegend(offset=(8, 8))
        self.legend = self.getPlotItem().legend
        self.legend.addItem(self.entries, "entry")
        self.legend.addItem(self.exits, "exit")
        self.points = 0

    def set_data(
        self,
        samples: Sequence[tuple[int, float]],
        trades: Sequence[TradeRecord],
        open_entry_ns: int = 0,
    ) -> None:
        """``samples``: (ts ns, equity), any order; ``trades``: round trips to mark;
        ``open_entry_ns``: the entry of the position still open (0 when flat)."""
        ordered = sorted(samples)
        t = np.array([s[0] / 1e9 for s in ordered], dtype=np.float64)
        v = np.array([s[1] for s in ordered], dtype=np.float64)
        self.curve.setData(t, v)
        entries = [tr.entry_ts for tr in trades] + ([open_entry_ns] if open_entry_ns else [])
        entry_t = np.array(entries, dtype=np.float64) / 1e9
        exit_t = np.array([tr.exit_ts / 1e9 for tr in trades], dtype=np.float64)
        self.entries.setData(entry_t, equity_at(t, v, entry_t))
        self.exits.setData(exit_t, equity_at(t, v, exit_t))
        self.legend.setVisible(bool(entry_t.size or exit_t.size))  # no key without markers
        self.points = len(ordered)
        self.enableAutoRange()
