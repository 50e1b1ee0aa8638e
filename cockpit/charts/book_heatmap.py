"""BookHeatmap: Bookmap-style L2 heatmap (time x price, resting size as colour).

One column per book snapshot of the selected symbol. Rows are price bins on
an absolute grid that re-anchors (shifting rows in place) only when the mid
drifts out of the middle of the window. Colour is log(1 + size) with fixed
levels (no autoscan per frame) and a colour bar as legend. Best bid/ask are
lines; trades are dots sized by volume. The view follows the mid; the mouse
wheel zooms the price window.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from cockpit import theme
from cockpit.charts.axis_cache import cache_axes
from cockpit.charts.ring_buffer import ColumnRing, ValueRing
from engine.model.market import BookSnapshot, Trade

_DOT_SIZES = np.array([4.0, 6.0, 9.0, 13.0])
_DOT_EDGES = np.array([0.25, 0.5, 0.85])


class _SecondsAgoAxis(pg.AxisItem):
    """x is a column index; label it as seconds before now."""

    def __init__(self, columns: int, hz: float) -> None:
        super().__init__(orientation="bottom")
        self._columns = columns
        self.hz = hz

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{(v - self._columns) / self.hz:.0f}s" for v in values]


class BookHeatmap(pg.PlotWidget):
    """The L2 heatmap widget."""

    def __init__(self, levels: int = 400, columns: int = 600, book_hz: float = 10.0) -> None:
        self._axis = _SecondsAgoAxis(columns, book_hz)
        super().__init__(axisItems={"bottom": self._axis})
        self.levels = levels
        self.columns = columns
        self.symbol: str | None = None
        self.bin = 1.0
        self.base: float | None = None
        self.ring = ColumnRing(levels, columns)
        self.bid_line = ValueRing(columns)
        self.ask_line = ValueRing(columns)
        self._trades: deque[tuple[int, float, float, bool]] = deque(maxlen=4_000)
        self._level_max = 1.0
        self._bar_level = 1.0
        self._view_mid: float | None = None
        self.frames_drawn = 0
        self._half_window: float | None = None

        self.setMenuEnabled(False)
        self.showGrid(x=False, y=True, alpha=0.15)
        self.getPlotItem().setMouseEnabled(x=False, y=True)
        self.setLabel("left", "price")
        cmap = pg.colormap.get(theme.HEATMAP_COLORMAP)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(cmap)
        self.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=cmap, interactive=False, width=12, label="log(1 + resting size)"
        )
        self.colorbar.setImageItem(self.image, insert_in=self.getPlotItem())
        cache_axes(self.getPlotItem())
        cache_axes(self.colorbar)
        self.bid_curve = self.plot(pen=pg.mkPen(theme.BID, width=2))
        self.ask_curve = self.plot(pen=pg.mkPen(theme.ASK, width=2))
        self.bid_curve.setZValue(10)
        self.ask_curve.setZValue(10)
        # One item per side with a fixed brush: pyqtgraph caches one symbol image per
        # (size, pen, brush), so per-point brushes would re-render symbols every frame.
        dot_pen = pg.mkPen(255, 255, 255, 90, width=0.5)
        self.buy_dots = pg.ScatterPlotItem(pen=dot_pen, brush=pg.mkBrush(38, 166, 154, 150))
        self.sell_dots = pg.ScatterPlotItem(pen=dot_pen, brush=pg.mkBrush(239, 83, 80, 150))
        self.addItem(self.buy_dots)
        self.addItem(self.sell_dots)
        self.setXRange(0, columns, padding=0)

    # -- data --------------------------------------------------------------------
    def set_symbol(self, symbol: str, tick_size: float) -> None:
        """Show ``symbol`` (clears the history); one price bin per tick."""
        self.symbol = symbol
        self.bin = tick_size
        self.base = None
        self.ring.clear()
        self.bid_line.clear()
        self.ask_line.clear()
        self._trades.clear()
        self._half_window = None

    def set_book_hz(self, hz: float) -> None:
        self._axis.hz = hz

    def add_books(self, books: list[BookSnapshot]) -> None:
        for book in books:
            if book.symbol == self.symbol and len(book.bids) and len(book.asks):
                self._add_column(book)

    def add_trades(self, trades: list[Trade]) -> None:
        col = self.ring.count
        for t in trades:
            if t.symbol == self.symbol:
                self._trades.append((col, t.price, t.qty, t.aggressor.value == "BUY"))

    def _anchor(self, mid: float) -> None:
        """Place the grid so that ``mid`` sits in the middle of the window."""
        target = np.floor(mid / self.bin) * self.bin - (self.levels // 2) * self.bin
        if self.base is None:
            self.base = target
            return
        offset = round((target - self.base) / self.bin)
        if abs(offset) > self.levels * 0.2:
            self.ring.shift_rows(offset)
            self.base += offset * self.bin

    def _add_column(self, book: BookSnapshot) -> None:
        self._anchor(book.mid)
        assert self.base is not None
        prices = np.concatenate((book.bids[:, 0], book.asks[:, 0]))
        sizes = np.concatenate((book.bids[:, 1], book.asks[:, 1]))
        rows = np.rint((prices - self.base) / self.bin).astype(np.int64)
        keep = (rows >= 0) & (rows < self.levels)
        # float32 always (a bincount of nothing is an int array)
        counts = np.bincount(rows[keep], weights=sizes[keep], minlength=self.levels)
        column = np.log1p(counts.astype(np.float32))
        self.ring.push(column)
        self.bid_line.push(book.best_bid)
        self.ask_line.push(book.best_ask)
        peak = float(column.max(initial=0.0))
        # Levels follow the largest resting size slowly: no rescan of the image per frame.
        self._level_max = max(peak, self._level_max * 0.999, 1e-6)

    # -- drawing -------------------------------------------------------------------
    def render(self) -> None:
        """Push the buffers to the scene (call once per frame)."""
        if self.base is None:
            return
        self.image.setImage(self.ring.view(), autoLevels=False, levels=(0.0, self._level_max))
        if abs(self._level_max - self._bar_level) > 0.05 * self._bar_level:
            # The legend's axis is repainted on every change: follow the levels coarsely.
            self._bar_level = self._level_max
            self.colorbar.setLevels((0.0, self._level_max))
        self.image.setRect(
            QRectF(0.0, self.base - self.bin / 2, self.columns, self.levels * self.bin)
        )
        x = np.arange(self.columns, dtype=np.float64)
        self.bid_curve.setData(x, self.bid_line.view(), connect="finite")
        self.ask_curve.setData(x, self.ask_line.view(), connect="finite")
        self._draw_trades()
        self._follow_mid()
        self.frames_drawn += 1

    def _draw_trades(self) -> None:
        first_col = self.ring.count - self.columns
        visible = [t for t in self._trades if t[0] >= first_col]
        if not visible:
            self.buy_dots.setData([], [])
            self.sell_dots.setData([], [])
            return
        arr = np.asarray([(c, p, q) for c, p, q, _ in visible], dtype=np.float64)
        buys = np.fromiter((b for *_, b in visible), dtype=bool, count=len(visible))
        # A few fixed sizes (by volume), for the same caching reason as the fixed brushes.
        scale = np.sqrt(arr[:, 2] / max(float(np.percentile(arr[:, 2], 99)), 1e-12))
        sizes = _DOT_SIZES[np.digitize(scale, _DOT_EDGES)]
        x = arr[:, 0] - first_col
        for item, mask in ((self.buy_dots, buys), (self.sell_dots, ~buys)):
            item.setData(x[mask], arr[mask, 1], size=sizes[mask])

    def _follow_mid(self) -> None:
        bid, ask = self.bid_line.view()[-1], self.ask_line.view()[-1]
        if not (np.isfinite(bid) and np.isfinite(ask)):
            return
        mid = 0.5 * (bid + ask)
        if self._half_window is None:
            self._half_window = self.levels * self.bin * 0.2
        else:
            lo, hi = self.getViewBox().viewRange()[1]
            self._half_window = max((hi - lo) / 2, 5 * self.bin)
            # Recentre only when the mid has moved a tenth of the window: every range change
            # repaints the price axis, the most expensive thing in the frame.
            if self._view_mid is not None and abs(mid - self._view_mid) < 0.1 * self._half_window:
                return
        self._view_mid = mid
        self.setYRange(mid - self._half_window, mid + self._half_window, padding=0)
