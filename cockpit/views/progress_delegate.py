"""ProgressDelegate: a cell drawn as a progress bar (value 0..1 in UserRole) with its text."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cockpit import theme


class ProgressDelegate(QStyledItemDelegate):
    """Fills the cell's width in proportion to its value; colour from ``colour_of(value)``."""

    def __init__(self, parent: object = None, warn_at: float | None = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.warn_at = warn_at  # with a threshold: amber above it, red at 1 (limit usage)

    def _colour(self, value: float) -> str:
        if self.warn_at is None:
            return theme.ACCENT
        if value >= 1.0:
            return theme.HALT
        return theme.WARN if value >= self.warn_at else theme.BID

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        value = index.data(Qt.ItemDataRole.UserRole)
        rect = QRectF(option.rect).adjusted(3, 4, -3, -4)
        painter.save()
        painter.fillRect(rect, QColor(theme.GRID))
        if isinstance(value, int | float) and value == value:
            frac = min(max(float(value), 0.0), 1.0)
            painter.fillRect(
                QRectF(rect.left(), rect.top(), rect.width() * frac, rect.height()),
                QColor(self._colour(float(value))),
            )
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), str(index.data() or ""))
        painter.restore()
