"""RadarChart: the TDA regime score over time with its thresholds, regime-change markers and
shading, and the current persistence diagram (birth vs death, per homology dimension)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from cockpit import theme
from cockpit.charts.axis_cache import cache_axes
from cockpit.models.regime_series import RegimeSeries
from engine.model.events import RadarDiagram, SignalUpdate

_DIM_COLOURS = {"h0": theme.ACCENT, "h1": theme.WARN, "h2": theme.REGIME}
MAX_REGIONS = 50


class RadarChart(QWidget):
    """Created once; redraws when the shared RegimeSeries changes or a diagram arrives."""

    def __init__(
        self, series: RegimeSeries, enter: float, exit_: float, dims: tuple[int, ...] = (0, 1)
    ) -> None:
        super().__init__()
        self.series = series
        self.enter, self.exit = enter, exit_
        self.status = QLabel("radar: waiting for the first reading")
        self.status.setStyleSheet(f"color: {theme.TEXT_DIM}; padding: 2px;")
        self.score_plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.score_plot.setMenuEnabled(False)
        self.score_plot.showGrid(x=True, y=True, alpha=0.15)
        self.score_plot.setLabel("left", "regime score (robust z)")
        cache_axes(self.score_plot.getPlotItem())
        self.score_plot.getPlotItem().addLegend(offset=(10, -10))
        self.curve = self.score_plot.plot(pen=pg.mkPen(theme.TEXT, width=1.5), name="score")
        self.onsets = pg.ScatterPlotItem(
            symbol="t", size=12, brush=pg.mkBrush(theme.REGIME), pen=pg.mkPen("w", width=0.5),
            name="regime change",
        )  # fmt: skip
        self.score_plot.addItem(self.onsets)
        for level, label, style in (
            (enter, f"enter {enter:g}", Qt.PenStyle.SolidLine),
            (exit_, f"exit {exit_:g}", Qt.PenStyle.DashLine),
        ):
            line = pg.InfiniteLine(
                pos=level, angle=0, movable=False,
                pen=pg.mkPen(theme.REGIME, width=1, style=style),
                label=label, labelOpts={"position": 0.97, "color": theme.REGIME, "anchors": [(1, 0), (1, 0)]},
            )  # fmt: skip
            self.score_plot.addItem(line, ignoreBounds=True)
        self._regions: list[pg.LinearRegionItem] = []
        self.diagram_plot = pg.PlotWidget()
        self.diagram_plot.setMenuEnabled(False)
        self.diagram_plot.showGrid(x=True, y=True, alpha=0.15)
        self.diagram_plot.setLabel("bottom", "birth (bp)")
        self.diagram_plot.setLabel("left", "death (bp)")
        cache_axes(self.diagram_plot.getPlotItem())
        self.diagram_plot.getPlotItem().addLegend(offset=(8, 8))
        self.diagonal = self.diagram_plot.plot(
            pen=pg.mkPen(theme.TEXT_DIM, style=Qt.PenStyle.DashLine)
        )
        self.dims = {
            f"h{d}": pg.ScatterPlotItem(
                size=7, brush=pg.mkBrush(_DIM_COLOURS[f"h{d}"]), pen=None, name=f"H{d}"
            )
            for d in dims
        }
        for item in self.dims.values():
            self.diagram_plot.addItem(item)
        self.diagram_title = ""
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.score_plot)
        split.addWidget(self.diagram_plot)
        split.setSizes([640, 300])
        self.split = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.points = 0
        self.diagram_pairs = 0
        series.sigChanged.connect(self.redraw)

    def on_signal(self, u: SignalUpdate) -> None:
        if u.name != "radar":
            return
        if not u.available:
            self.status.setText(f"radar unavailable: {u.reason}")
        else:
            state = "REGIME CHANGE" if u.flags.get("regime_change_detected") else "calm"
            self.status.setText(
                f"radar: score {u.values.get('score', float('nan')):+.2f} · {state} · "
                f"L1 {u.values.get('l1', float('nan')):.1f} · computed in {u.compute_ms:.1f} ms"
            )

    def redraw(self) -> None:
        times, score, _detected = self.series.arrays()
        self.curve.setData(times, score)
        if score.size:
            lo = min(float(np.nanmin(score)), self.exit) - 0.5
            hi = max(float(np.nanmax(score)), self.enter) + 0.5
            self.score_plot.setYRange(lo, hi, padding=0)
        on_t, on_s = self.series.onsets()
        self.onsets.setData(on_t, on_s)
        periods = self.series.periods()[-MAX_REGIONS:]
        while len(self._regions) < len(periods):
            region = pg.LinearRegionItem(
                movable=False, brush=pg.mkBrush(171, 71, 188, 45), pen=pg.mkPen(None)
            )
            region.setZValue(-10)
            self.score_plot.addItem(region, ignoreBounds=True)
            self._regions.append(region)
        for region, (a, b) in zip(self._regions, periods, strict=False):
            region.setRegion((a, b))
            region.show()
        for region in self._regions[len(periods) :]:
            region.hide()
        self.points = len(times)

    def on_diagram(self, d: RadarDiagram) -> None:
        hi = 0.0
        self.diagram_pairs = 0
        for key, item in self.dims.items():
            pairs = np.asarray(d.diagrams.get(key, ()), dtype=np.float64).reshape(-1, 2)
            item.setData(pairs[:, 0], pairs[:, 1])
            self.diagram_pairs += len(pairs)
            if pairs.size:
                hi = max(hi, float(pairs.max()))
        hi = hi * 1.05 if hi > 0 else 1.0
        self.diagonal.setData([0.0, hi], [0.0, hi])
        score = "" if d.score is None else f" · score {d.score:+.2f}"
        self.diagram_plot.setTitle(
            f"persistence diagram of the latest window{score}", color=theme.TEXT_DIM, size="9pt"
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Side by side when wide, the diagram under the score when tall."""
        wide = event.size().width() > 1.3 * event.size().height()
        want = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.split.orientation() != want:
            self.split.setOrientation(want)
            total = event.size().width() if wide else event.size().height()
            self.split.setSizes([int(total * 0.65), int(total * 0.35)])
        super().resizeEvent(event)
