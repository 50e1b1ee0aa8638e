"""PriceChart: 1-minute candles from the trade stream, volume below, crosshair readout."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainter, QPicture

from cockpit import theme
from cockpit.charts.axis_cache import cache_axes
from engine.marketdata.bars import BarBuilder
from engine.model.market import Bar, Trade

_BAR_S = 60.0


class CandlestickItem(pg.GraphicsObject):
    """Candles drawn into one QPicture (regenerated only when bars change)."""

    def __init__(self) -> None:
        super().__init__()
        self._data = np.zeros((0, 5))  # t, open, high, low, close
        self._picture = QPicture()

    def set_bars(self, data: np.ndarray) -> None:
        self._data = data
        self._picture = QPicture()
        painter = QPainter(self._picture)
        w = _BAR_S * 0.35
        up_pen, dn_pen = pg.mkPen(theme.LONG), pg.mkPen(theme.SHORT)
        up_brush, dn_brush = pg.mkBrush(theme.LONG), pg.mkBrush(theme.SHORT)
        for t, o, h, low, c in data:
            up = c >= o
            painter.setPen(up_pen if up else dn_pen)
            painter.drawLine(QPointF(t, low), QPointF(t, h))
            painter.setBrush(up_brush if up else dn_brush)
            painter.drawRect(QRectF(t - w, o, 2 * w, c - o))
        painter.end()
        self.prepareGeometryChange()
        self.informViewBoundsChanged()  # lets the ViewBox auto-range to the new candles
        self.update()

    def paint(self, painter: QPainter, *_args: object) -> None:
        painter.drawPicture(0, 0, self._picture)

    def boundingRect(self) -> QRectF:
        return QRectF(self._picture.boundingRect())


class PriceChart(pg.GraphicsLayoutWidget):
    """Candles (top) and volume (bottom) for one symbol, with a crosshair readout."""

    def __init__(self, max_bars: int = 240, window_bars: int = 60) -> None:
        super().__init__()
        self.max_bars = max_bars
        self.window_bars = window_bars
        self.redraw_interval_s = 0.25
        self._last_redraw = 0.0
        self._dirty = False
        self.symbol: str | None = None
        self._builder: BarBuilder | None = None
        self._closed: list[Bar] = []
        self.bars_drawn = 0
        self.readout = pg.LabelItem(justify="left")
        self.addItem(self.readout, row=0, col=0)
        self.price_plot = self.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.volume_plot = self.addPlot(row=2, col=0, axisItems={"bottom": pg.DateAxisItem()})
        cache_axes(self.price_plot)
        cache_axes(self.volume_plot)
        self.ci.layout.setRowStretchFactor(1, 4)
        self.ci.layout.setRowStretchFactor(2, 1)
        self.volume_plot.setXLink(self.price_plot)
        self.price_plot.showGrid(x=True, y=True, alpha=0.15)
        self.volume_plot.showGrid(x=True, y=False, alpha=0.15)
        self.price_plot.setLabel("right", "")
        self.candles = CandlestickItem()
        self.price_plot.addItem(self.candles)
        self.volume = pg.BarGraphItem(x=[], height=[], width=_BAR_S * 0.7, brush=theme.ACCENT)
        self.volume_plot.addItem(self.volume)
        pen = pg.mkPen(theme.TEXT_DIM, style=pg.QtCore.Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        self.price_plot.addItem(self.vline, ignoreBounds=True)
        self.price_plot.addItem(self.hline, ignoreBounds=True)
        self._mouse_proxy = pg.SignalProxy(
            self.price_plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse
        )

    def set_symbol(self, symbol: str) -> None:
        self.symbol = symbol
        self._builder = BarBuilder(symbol, "1m")
        self._closed = []
        self._redraw()

    def add_trades(self, trades: list[Trade]) -> None:
        if self._builder is None:
            return
        changed = False
        for t in trades:
            if t.symbol != self.symbol:
                continue
            self._closed.extend(self._builder.on_trade(t))
            changed = True
        if changed:
            del self._closed[: -self.max_bars]
            self._dirty = True
            # Candles are redrawn a few times a second, not on every trade frame.
            now = time.monotonic()
            if now - self._last_redraw >= self.redraw_interval_s:
                self._last_redraw = now
                self._redraw()

    def bars(self) -> list[Bar]:
        """Closed bars plus the forming one."""
        current = self._builder.current() if self._builder else None
        return self._closed + ([current] if current is not None else [])

    def _redraw(self) -> None:
        bars = self.bars()
        if not bars:
            self.candles.set_bars(np.zeros((0, 5)))
            self.volume.setOpts(x=[], height=[])
            return
        t = np.array([b.ts_open / 1e9 + _BAR_S / 2 for b in bars])
        ohlc = np.array([(b.open, b.high, b.low, b.close) for b in bars])
        self.candles.set_bars(np.column_stack((t, ohlc)))
        self.volume.setOpts(x=t, height=[b.volume for b in bars], width=_BAR_S * 0.7)
        # Follow the latest bar with a fixed time window; prices auto-range within it.
        right = t[-1] + 2 * _BAR_S
        self.price_plot.setXRange(right - self.window_bars * _BAR_S, right, padding=0)
        self.price_plot.enableAutoRange(axis="y")
        self.price_plot.setAutoVisible(y=True)
        self.volume_plot.enableAutoRange(axis="y")
        self.volume_plot.setAutoVisible(y=True)
        self.bars_drawn += 1

    def _on_mouse(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        if not self.price_plot.sceneBoundingRect().contains(pos):
            return
        point = self.price_plot.vb.mapSceneToView(pos)
        self.vline.setPos(point.x())
        self.hline.setPos(point.y())
        bar = self._bar_at(point.x())
        if bar is None:
            self.readout.setText(f"{self.symbol or ''}  price {point.y():,.2f}")
            return
        when = dt.datetime.fromtimestamp(bar.ts_open / 1e9, tz=dt.UTC).strftime("%H:%M")
        self.readout.setText(
            f"{self.symbol} {when}  O {bar.open:,.2f}  H {bar.high:,.2f}  L {bar.low:,.2f}  "
            f"C {bar.close:,.2f}  V {bar.volume:,.4f}"
        )

    def _bar_at(self, x_seconds: float) -> Bar | None:
        for bar in self.bars():
            start = bar.ts_open / 1e9
            if start <= x_seconds < start + _BAR_S:
                return bar
        return None
