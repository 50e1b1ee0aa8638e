"""MCE gauges: per symbol, skew (-1..1) and P(liquidity shock) as dials with threshold zones,
and a short history strip of both. "No model" is said plainly when the MCE is unavailable.

Zones come from ``[agents.exits]``: a skew beyond ``mce_skew_against`` (either
side) and a probability at or above ``mce_pressure_prob`` are where an agent
exits a position the skew is against. The pressure arrives as a logit; the dial
shows its probability (sigmoid). Painted with QPainter, at most a few times a second.
"""

from __future__ import annotations

import math
import time
from collections import deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from cockpit import theme
from engine.model.events import SignalUpdate

HISTORY = 240  # samples in the strip
SAMPLE_EVERY_S = 0.5  # 2 minutes of history
REPAINT_EVERY_S = 0.2
DIAL_WIDTH = 380  # a column of dials per this many pixels of width


def _arc_pen(colour: str) -> QPen:
    pen = QPen(QColor(colour), 9)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


def probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


class MceDial(QWidget):
    """One symbol: two semicircular dials and a history strip."""

    def __init__(self, symbol: str, skew_zone: float, prob_zone: float) -> None:
        super().__init__()
        self.symbol = symbol
        self.skew_zone = skew_zone
        self.prob_zone = prob_zone
        self.skew: float | None = None
        self.prob: float | None = None
        self.reason = "waiting for the first reading"
        self.skews: deque[float] = deque(maxlen=HISTORY)
        self.probs: deque[float] = deque(maxlen=HISTORY)
        self._last_sample = 0.0
        self._last_paint = 0.0
        self.paints = 0
        self.setMinimumSize(240, 110)

    def sizeHint(self) -> QSize:
        return QSize(320, 170)

    def on_update(self, u: SignalUpdate) -> None:
        now = time.monotonic()
        if not u.available:
            self.skew = self.prob = None
            self.reason = u.reason or "unavailable"
        else:
            self.skew = float(u.values.get("skew", math.nan))
            self.prob = probability(float(u.values.get("pressure", math.nan)))
            self.reason = ""
            if now - self._last_sample >= SAMPLE_EVERY_S:
                self._last_sample = now
                self.skews.append(self.skew)
                self.probs.append(self.prob)
        if now - self._last_paint >= REPAINT_EVERY_S or not u.available:
            self._last_paint = now
            self.update()

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = self.width(), self.height()
        p.fillRect(self.rect(), QColor(theme.BG_ALT))
        p.setPen(QColor(theme.TEXT))
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRectF(6, 2, w - 12, 18), int(Qt.AlignmentFlag.AlignLeft), self.symbol)
        p.setFont(self.font())
        if self.skew is None or self.prob is None:
            p.setPen(QColor(theme.WARN))
            text = f"no model — {self.reason}" if "unavailable" in self.reason else self.reason
            p.drawText(
                QRectF(8, 24, w - 16, h - 30),
                int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                text,
            )
            p.end()
            self.paints += 1
            return
        dial_h = h * 0.58
        half = w / 2
        self._dial(
            p,
            QRectF(0, 20, half, dial_h),
            "skew",
            self.skew,
            -1.0,
            1.0,
            [(-1.0, -self.skew_zone, theme.SHORT), (self.skew_zone, 1.0, theme.LONG)],
        )
        self._dial(p, QRectF(half, 20, half, dial_h), "P(shock)", self.prob, 0.0, 1.0,
                   [(self.prob_zone, 1.0, theme.HALT)])  # fmt: skip
        p.setPen(QColor(theme.TEXT_DIM))
        p.drawText(QRectF(6, 20 + dial_h, w - 12, 14), int(Qt.AlignmentFlag.AlignLeft),
                   "skew (blue) · P(shock) (red) · last 2 min")  # fmt: skip
        self._strip(p, QRectF(6, 36 + dial_h, w - 12, max(h - dial_h - 40, 10)))
        p.end()
        self.paints += 1

    def _dial(
        self,
        p: QPainter,
        rect: QRectF,
        label: str,
        value: float,
        lo: float,
        hi: float,
        zones: list[tuple[float, float, str]],
    ) -> None:
        r = min(rect.width() / 2 - 10, rect.height() - 24)
        cx, cy = rect.center().x(), rect.top() + r + 8
        arc = QRectF(cx - r, cy - r, 2 * r, 2 * r)

        def angle(v: float) -> float:  # degrees, 180 at lo, 0 at hi
            return 180.0 * (1.0 - (min(max(v, lo), hi) - lo) / (hi - lo))

        p.setPen(_arc_pen(theme.GRID))
        p.drawArc(arc, 0, 180 * 16)
        for z_lo, z_hi, colour in zones:
            p.setPen(_arc_pen(colour))
            start = angle(z_hi)
            p.drawArc(arc, int(start * 16), int((angle(z_lo) - start) * 16))
        if math.isfinite(value):
            a = math.radians(angle(value))
            tip = QPointF(cx + (r - 4) * math.cos(a), cy - (r - 4) * math.sin(a))
            p.setPen(QPen(QColor(theme.TEXT), 2.5))
            p.drawLine(QPointF(cx, cy), tip)
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(rect.left(), cy + 2, rect.width(), 16), int(Qt.AlignmentFlag.AlignCenter),
                   f"{label} {value:+.2f}" if lo < 0 else f"{label} {value:.0%}")  # fmt: skip

    def _strip(self, p: QPainter, rect: QRectF) -> None:
        p.fillRect(rect, QColor(theme.BG))
        mid = rect.center().y()
        p.setPen(QPen(QColor(theme.GRID), 1))
        p.drawLine(QPointF(rect.left(), mid), QPointF(rect.right(), mid))
        for values, lo, hi, colour in (
            (self.skews, -1.0, 1.0, theme.ACCENT),
            (self.probs, 0.0, 1.0, theme.HALT),
        ):
            if len(values) < 2:
                continue
            n = HISTORY - 1
            start = HISTORY - len(values)
            pts = [
                QPointF(
                    rect.left() + rect.width() * (start + i) / n,
                    rect.bottom() - (min(max(v, lo), hi) - lo) / (hi - lo) * rect.height(),
                )
                for i, v in enumerate(values)
                if math.isfinite(v)
            ]
            p.setPen(QPen(QColor(colour), 1.2))
            p.drawPolyline(QPolygonF(pts))


class MceGauges(QWidget):
    """One dial per symbol; fed by the bridge's coalesced signal frames."""

    def __init__(self, symbols: tuple[str, ...], skew_zone: float, prob_zone: float) -> None:
        super().__init__()
        self.dials = {s: MceDial(s, skew_zone, prob_zone) for s in symbols}
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self.note = QLabel(
            f"zones: |skew| ≥ {skew_zone:g}, P(shock) ≥ {prob_zone:.0%} ([agents.exits])"
        )
        self.note.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: 10px;")
        self.columns = 0
        self._arrange(1)

    def _arrange(self, columns: int) -> None:
        """The dials in ``columns`` columns (one per symbol side by side when it is wide)."""
        if columns == self.columns:
            return
        self.columns = columns
        for dial in self.dials.values():
            self._grid.removeWidget(dial)
        self._grid.removeWidget(self.note)
        for i, dial in enumerate(self.dials.values()):
            self._grid.addWidget(dial, i // columns, i % columns)
        rows = (len(self.dials) + columns - 1) // columns
        self._grid.addWidget(self.note, rows, 0, 1, columns)
        for r in range(len(self.dials) + 1):  # the dials share the height, the note keeps its own
            self._grid.setRowStretch(r, 1 if r < rows else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._arrange(max(1, min(len(self.dials), event.size().width() // DIAL_WIDTH)))
        super().resizeEvent(event)

    def on_frame(self, signals: dict[tuple[str, str | None], SignalUpdate]) -> None:
        for (name, symbol), update in signals.items():
            if name == "mce" and symbol in self.dials:
                self.dials[symbol].on_update(update)
