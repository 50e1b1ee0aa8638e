"""SparklineDelegate: paints a row's equity samples as a small line in its cell."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cockpit import theme

MAX_POINTS = 120  # drawn (the newest; enough for a 120 px cell)


def sparkline_points(values: Sequence[float], rect: QRectF) -> list[QPointF]:
    """The newest ``MAX_POINTS`` values scaled into ``rect`` (flat series in the middle)."""
    vals = [float(v) for v in values[-MAX_POINTS:]]
    if len(vals) < 2:
        return []
    lo, hi = min(vals), max(vals)
    span = hi - lo
    n = len(vals) - 1
    points = []
    for i, v in enumerate(vals):
        x = rect.left() + rect.width() * i / n
        frac = 0.5 if span <= 1e-12 else (v - lo) / span
        points.append(QPointF(x, rect.bottom() - frac * rect.height()))
    return points


class SparklineDelegate(QStyledItemDelegate):
    """For a column whose UserRole value is a sequence of floats: green if up, red if down."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        values: Sequence[float] = index.data(Qt.ItemDataRole.UserRole) or ()
        rect = QRectF(option.rect).adjusted(4, 4, -4, -4)
        points = sparkline_points(values, rect)
        if not points:
            return
        up = float(values[-1]) >= float(values[max(len(values) - MAX_POINTS, 0)])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(theme.LONG if up else theme.SHORT), 1.3))
        painter.drawPolyline(QPolygonF(points))
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return QSize(120, 22)
