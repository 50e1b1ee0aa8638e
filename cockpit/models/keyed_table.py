"""KeyedTableModel: rows keyed by id; an update repaints one row, an insert inserts one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from cockpit.models.columns import Column

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1  # a comparable value (see Column.sort_value)


class KeyedTableModel(QAbstractTableModel):
    """A table of dict rows, each identified by ``row[key]``."""

    def __init__(self, columns: Sequence[Column], key: str, max_rows: int | None = None) -> None:
        super().__init__()
        self.columns = list(columns)
        self._key = key
        self._rows: list[dict[str, Any]] = []
        self._index: dict[Any, int] = {}
        self._max_rows = max_rows

    # -- Qt model API -------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        col = self.columns[index.column()]
        row = self._rows[index.row()]
        value = row.get(col.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return col.display(value, row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(col.alignment)
        if role == Qt.ItemDataRole.ForegroundRole and col.colour is not None:
            colour = col.colour(value)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.BackgroundRole and col.background is not None:
            colour = col.background(value)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return col.tooltip(value, row) or None
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == SORT_ROLE:
            return col.sort_value(value)
        return None

    # -- keyed updates ---------------------------------------------------------------
    def upsert(self, row: dict[str, Any]) -> None:
        """Insert ``row`` or replace the row with the same key (one dataChanged)."""
        key = row[self._key]
        i = self._index.get(key)
        if i is not None:
            if self._rows[i] == row:
                return
            self._rows[i] = row
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))
            return
        if self._max_rows is not None and len(self._rows) >= self._max_rows:
            self.remove(self._rows[0][self._key])
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.append(row)
        self._index[key] = n
        self.endInsertRows()

    def remove(self, key: Any) -> None:
        i = self._index.get(key)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self._index = {r[self._key]: j for j, r in enumerate(self._rows)}
        self.endRemoveRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._index.clear()
        self.endResetModel()

    def row(self, key: Any) -> dict[str, Any] | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def keys(self) -> list[Any]:
        return [r[self._key] for r in self._rows]

    def key_at(self, row: int) -> Any:
        return self._rows[row][self._key]

    def row_of(self, key: Any) -> int | None:
        return self._index.get(key)

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def refresh_column(self, key: str) -> None:
        """Repaint one column of every row (e.g. an age that grows with time)."""
        keys = [c.key for c in self.columns]
        if key in keys and self._rows:
            c = keys.index(key)
            self.dataChanged.emit(self.index(0, c), self.index(len(self._rows) - 1, c))
