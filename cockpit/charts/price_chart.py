"""PriceChart: 1-minute candles (the venue's recent bars, then the trade stream), volume
below, fills as markers coloured by agent, regime changes shaded, crosshair readout."""

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
from engine.model.events import Fill
from engine.model.market import Bar, Trade

_BAR_S = 60.0
MAX_FILLS = 500
MAX_REGIONS = 40


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
        self._history: dict[int, Bar] = {}  # ts_open -> closed bar from the venue
        # symbol -> fills (t, price, buy, agent): kept for every symbol, drawn for the shown one
        self._fills: dict[str, list[tuple[float, float, bool, str]]] = {}
        self._regions: list[pg.LinearRegionItem] = []
        self.regimes_shown = 0
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
        self.fills = pg.ScatterPlotItem(
            size=11, pen=pg.mkPen("w", width=0.6), hoverable=True,
            tip=lambda x, y, data: f"{data}: {y:,.6g}",
        )  # fmt: skip
        self.fills.setZValue(20)
        self.price_plot.addItem(self.fills)
        self._mouse_proxy = pg.SignalProxy(
            self.price_plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse
        )

    def set_symbol(self, symbol: str) -> None:
        self.symbol = symbol
        self._builder = BarBuilder(symbol, "1m")
        self._closed = []
        self._history = {}
        self._draw_fills()
        self._redraw()

    def set_history(self, symbol: str, bars: list[Bar]) -> None:
        """The venue's recent closed bars of ``symbol`` (ignored if another symbol is shown)."""
        if symbol != self.symbol:
            return
        self._history = {b.ts_open: b for b in bars if b.closed}
        self._redraw()

    def add_fill(self, fill: Fill) -> None:
        """A fill as a marker (▲ buy, ▼ sell) in its agent's colour (kept for every symbol)."""
        fills = self._fills.setdefault(fill.symbol, [])
        fills.append((fill.ts_event / 1e9, fill.price, fill.side.value == "BUY", fill.strategy_id))
        del fills[:-MAX_FILLS]
        if fill.symbol == self.symbol:
            self._draw_fills()

    def _draw_fills(self) -> None:
        fills = self._fills.get(self.symbol or "", [])
        if not fills:
            self.fills.setData([], [])
            return
        self.fills.setData(
            x=[f[0] for f in fills],
            y=[f[1] for f in fills],
            symbol=["t1" if f[2] else "t" for f in fills],
            brush=[_brush(f[3]) for f in fills],
            data=[f"{f[3]} {'buy' if f[2] else 'sell'}" for f in fills],
        )

    def set_regimes(self, periods: list[tuple[float, float]]) -> None:
        """Shade each (start, end) stretch (seconds) in which a regime change was detected."""
        periods = periods[-MAX_REGIONS:]
        while len(self._regions) < len(periods):
            region = pg.LinearRegionItem(
                movable=False, brush=pg.mkBrush(171, 71, 188, 40), pen=pg.mkPen(None)
            )
            region.setZValue(-10)
            self.price_plot.addItem(region, ignoreBounds=True)
            self._regions.append(region)
        for region, (a, b) in zip(self._regions, periods, strict=False):
            region.setRegion((a, b))
            region.show()
        for region in self._regions[len(periods) :]:
            region.hide()
        self.regimes_shown = len(periods)

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
        """The venue's closed bars, the ones closed since (from trades), and the forming one."""
        current = self._builder.current() if self._builder else None
        merged = dict(self._history)
        for b in self._closed:  # a bar the venue had complete wins over one seen half-formed
            merged.setdefault(b.ts_open, b)
        out = [merged[t] for t in sorted(merged)][-self.max_bars :]
        if current is not None and (not out or current.ts_open > out[-1].ts_open):
            out.append(current)
        return out

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


_BRUSHES: dict[str, object] = {}


def _brush(agent_id: str) -> object:
    """One cached brush per agent (its colour everywhere in the cockpit)."""
    brush = _BRUSHES.get(agent_id)
    if brush is None:
        brush = _BRUSHES[agent_id] = pg.mkBrush(theme.agent_colour(agent_id))
    return brush
