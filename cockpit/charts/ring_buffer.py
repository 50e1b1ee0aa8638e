"""Preallocated ring buffers whose newest-N window is a view, never a copy.

Each value is written twice (at ``i`` and ``i + n``) so that the last ``n``
entries are always the contiguous slice ``[start, start + n)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class ColumnRing:
    """A (rows, n) window of the latest n columns (e.g. a heatmap over time)."""

    def __init__(self, rows: int, n: int, dtype: npt.DTypeLike = np.float32) -> None:
        self.rows = rows
        self.n = n
        self._buf = np.zeros((rows, 2 * n), dtype=dtype)
        self.count = 0

    def push(self, column: npt.NDArray[np.floating]) -> None:
        j = self.count % self.n
        self._buf[:, j] = column
        self._buf[:, j + self.n] = column
        self.count += 1

    def view(self) -> npt.NDArray[np.floating]:
        """The latest n columns, oldest first (a view into the buffer)."""
        start = self.count % self.n
        return self._buf[:, start : start + self.n]

    def shift_rows(self, k: int) -> None:
        """Move every column's content down by ``k`` rows in place (k > 0: content moves to lower rows)."""
        if k == 0:
            return
        buf = self._buf
        if abs(k) >= self.rows:
            buf[:] = 0
        elif k > 0:
            buf[:-k] = buf[k:]
            buf[-k:] = 0
        else:
            buf[-k:] = buf[:k]
            buf[:-k] = 0

    def clear(self) -> None:
        self._buf[:] = 0
        self.count = 0


class ValueRing:
    """The latest n scalar values (e.g. best bid over time), NaN until written."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._buf = np.full(2 * n, np.nan)
        self.count = 0

    def push(self, value: float) -> None:
        j = self.count % self.n
        self._buf[j] = value
        self._buf[j + self.n] = value
        self.count += 1

    def view(self) -> npt.NDArray[np.float64]:
        start = self.count % self.n
        return self._buf[start : start + self.n]

    def clear(self) -> None:
        self._buf[:] = np.nan
        self.count = 0
