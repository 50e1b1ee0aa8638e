"""FieldFilter: sort and filter a KeyedTableModel by row fields (a QSortFilterProxyModel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from cockpit.models.keyed_table import SORT_ROLE, KeyedTableModel


class FieldFilter(QSortFilterProxyModel):
    """Rows whose fields equal the set values (``None`` = any) and that pass ``predicate``.

    Sorting uses ``SORT_ROLE`` (numbers compare as numbers, blanks first).
    """

    def __init__(self, source: KeyedTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._fields: dict[str, Any] = {}
        self._predicate: Callable[[dict[str, Any]], bool] | None = None
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_field(self, key: str, value: Any) -> None:
        """Keep only rows with ``row[key] == value`` (``None`` removes the condition)."""
        self.beginFilterChange()
        if value is None:
            self._fields.pop(key, None)
        else:
            self._fields[key] = value
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_predicate(self, predicate: Callable[[dict[str, Any]], bool] | None) -> None:
        self.beginFilterChange()
        self._predicate = predicate
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if source_parent.isValid():
            return False
        row = self._source.row(self._source.key_at(source_row))
        if row is None:
            return False
        if any(row.get(k) != v for k, v in self._fields.items()):
            return False
        return self._predicate is None or self._predicate(row)

    def key_at(self, proxy_row: int) -> Any:
        """The source key of a row as shown."""
        source = self.mapToSource(self.index(proxy_row, 0))
        return self._source.key_at(source.row())
