"""InfluenceGraph: the universe's symbols as nodes sized by influence, the lead-lag edges
(A → B: A's returns lead B's) drawn by strength, updated with every influence reading."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from cockpit import theme
from engine.model.events import SignalUpdate

MIN_EDGE = 0.02  # weaker lead-lag correlations are not drawn


def parse_edges(values: dict[str, float]) -> dict[tuple[str, str], tuple[float, int]]:
    """``{"A>B": corr, "A>B.lag": lag}`` -> {(A, B): (corr, lag)}."""
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for key, value in values.items():
        if key.endswith(".lag") or ">" not in key:
            continue
        a, b = key.split(">", 1)
        out[(a, b)] = (float(value), int(values.get(f"{key}.lag", 1)))
    return out


class InfluenceGraph(QWidget):
    """Painted with QPainter on each update (about once a bar)."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        super().__init__()
        self.symbols = symbols
        self.influence: dict[str, float] = {}
        self.rank: dict[str, int] = {}
        self.predicted: dict[str, float] = {}
        self.edges: dict[tuple[str, str], tuple[float, int]] = {}
        self.reason = "waiting for the influence mapper"
        self.updates = 0
        self.setMinimumSize(300, 260)

    def sizeHint(self) -> QSize:
        return QSize(420, 360)

    def on_signal(self, u: SignalUpdate) -> None:
        if u.name == "influence" and u.symbol in self.symbols:
            if u.available:
                self.influence[u.symbol] = float(u.values.get("influence", 0.0))
                self.rank[u.symbol] = int(u.values.get("influence_rank", 0))
                self.predicted[u.symbol] = float(u.values.get("predicted_return_z", 0.0))
                self.reason = ""
            else:
                self.influence.clear()
                self.reason = u.reason
        elif u.name == "influence_graph":
            self.edges = parse_edges(u.values) if u.available else {}
        else:
            return
        self.updates += 1
        self.update()

    def _positions(self) -> dict[str, QPointF]:
        w, h = self.width(), self.height()
        cx, cy, r = w / 2, h / 2 + 8, min(w, h) / 2 - 70
        n = max(len(self.symbols), 1)
        return {
            s: QPointF(cx + r * math.cos(-math.pi / 2 + 2 * math.pi * i / n),
                       cy + r * math.sin(-math.pi / 2 + 2 * math.pi * i / n))
            for i, s in enumerate(self.symbols)
        }  # fmt: skip

    def _radius(self, symbol: str) -> float:
        share = self.influence.get(symbol)
        if share is None:
            return 18.0
        return 14.0 + 46.0 * math.sqrt(max(share, 0.0))

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QColor(theme.BG_ALT))
        pos = self._positions()
        strongest = max((abs(c) for c, _ in self.edges.values()), default=0.0)
        for (a, b), (corr, lag) in self.edges.items():
            if a in pos and b in pos and abs(corr) >= MIN_EDGE:
                self._edge(p, pos[a], pos[b], self._radius(a), self._radius(b), corr, lag,
                           strongest)  # fmt: skip
        centre = QPointF(self.width() / 2, self.height() / 2 + 8)
        for s, point in pos.items():
            self._node(p, s, point, centre)
        p.setPen(QColor(theme.TEXT_DIM))
        note = self.reason or (
            "node size: influence (attention the others pay it) · edge A→B: corr(A leads B) "
            "at its strongest lag; green +, red −"
        )
        p.drawText(QRectF(6, 4, self.width() - 12, 34),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap), note)  # fmt: skip
        p.end()

    def _node(self, p: QPainter, symbol: str, at: QPointF, centre: QPointF) -> None:
        r = self._radius(symbol)
        known = symbol in self.influence
        p.setPen(QPen(QColor(theme.TEXT), 1.5))
        p.setBrush(QBrush(QColor(theme.ACCENT if known else theme.GRID)))
        p.drawEllipse(at, r, r)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(at.x() - 60, at.y() - 9, 120, 18), int(Qt.AlignmentFlag.AlignCenter),
                   symbol.split("/")[0])  # fmt: skip
        p.setFont(self.font())
        if known:
            text = (f"infl {self.influence[symbol]:.2f} · #{self.rank.get(symbol, 0)} · "
                    f"z {self.predicted.get(symbol, 0.0):+.2f}")  # fmt: skip
            # outside the ring, away from the edges
            dx, dy = at.x() - centre.x(), at.y() - centre.y()
            norm = math.hypot(dx, dy) or 1.0
            lx, ly = at.x() + dx / norm * (r + 12), at.y() + dy / norm * (r + 12)
            p.setPen(QColor(theme.TEXT_DIM))
            p.drawText(QRectF(lx - 90, ly - 8, 180, 16), int(Qt.AlignmentFlag.AlignCenter), text)

    def _edge(
        self, p: QPainter, a: QPointF, b: QPointF, ra: float, rb: float, corr: float, lag: int,
        strongest: float,
    ) -> None:  # fmt: skip
        dx, dy = b.x() - a.x(), b.y() - a.y()
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        nx, ny = -uy * 7, ux * 7  # offset so A->B and B->A do not overlap
        start = QPointF(a.x() + ux * ra + nx, a.y() + uy * ra + ny)
        end = QPointF(b.x() - ux * (rb + 3) + nx, b.y() - uy * (rb + 3) + ny)
        weight = abs(corr) / strongest if strongest > 0 else 0.0
        colour = QColor(theme.LONG if corr > 0 else theme.SHORT)
        colour.setAlphaF(0.35 + 0.65 * weight)
        p.setPen(QPen(colour, 1.0 + 5.0 * weight))
        p.drawLine(start, end)
        head = QPolygonF([end, QPointF(end.x() - ux * 10 + uy * 5, end.y() - uy * 10 - ux * 5),
                          QPointF(end.x() - ux * 10 - uy * 5, end.y() - uy * 10 + ux * 5)])  # fmt: skip
        p.setBrush(QBrush(colour))
        p.drawPolygon(head)
        mid = QPointF((start.x() + end.x()) / 2 + 2 * nx, (start.y() + end.y()) / 2 + 2 * ny)
        p.setPen(QColor(theme.TEXT))
        p.drawText(QRectF(mid.x() - 40, mid.y() - 8, 80, 16), int(Qt.AlignmentFlag.AlignCenter),
                   f"{corr:+.2f} @{lag}")  # fmt: skip
