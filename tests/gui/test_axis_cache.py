"""Cached axes are blitted, yet re-rendered when their range moves."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QApplication, QGraphicsItem

from cockpit.charts.book_heatmap import BookHeatmap


def _left_axis_pixels(heatmap: BookHeatmap) -> np.ndarray:
    """The leftmost 40 px (the price axis and its labels), every 2nd pixel."""
    for _ in range(3):
        QApplication.processEvents()
    image = heatmap.grab().toImage()
    rows = [[image.pixel(x, y) for x in range(0, 40, 2)] for y in range(0, image.height(), 2)]
    return np.asarray(rows, dtype=np.uint32)


def test_a_cached_axis_redraws_its_labels_when_the_view_moves(qapp: QApplication) -> None:
    heatmap = BookHeatmap(levels=100, columns=50)
    heatmap.resize(600, 400)
    heatmap.show()
    axis = heatmap.getPlotItem().getAxis("left")
    assert axis.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache
    heatmap.setYRange(60_000, 60_100, padding=0)
    before = _left_axis_pixels(heatmap)
    assert (before != before[0, 0]).any()  # labels were drawn
    assert (_left_axis_pixels(heatmap) == before).all()  # a repaint alone changes nothing
    heatmap.setYRange(61_000, 61_050, padding=0)
    after = _left_axis_pixels(heatmap)
    assert (after != before).any()  # new tick labels, not the cached pixmap
    heatmap.close()
