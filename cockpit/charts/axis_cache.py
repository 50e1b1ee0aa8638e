"""Axes drawn once into a pixmap and blitted on every repaint.

pyqtgraph keeps each axis as a QPicture and replays it (every tick label,
glyph by glyph) whenever the plot repaints. The heatmap and the price chart
repaint many times a second underneath axes that rarely change, and replaying
their pictures was about a fifth of the GUI thread's time. With Qt's device
coordinate cache an axis is rendered again only when it changes (new ticks,
a resize); otherwise Qt copies the cached pixmap.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem) -> None:
    """Turn on the pixmap cache for every axis of ``plot``."""
    for entry in plot.axes.values():
        entry["item"].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
