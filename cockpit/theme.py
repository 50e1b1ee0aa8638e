"""Colours, pens and the dark palette (one place for every colour the cockpit uses)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG = "#12151b"
BG_ALT = "#1a1e26"
PANEL = "#1f242d"
GRID = "#2a303b"
TEXT = "#d7dce4"
TEXT_DIM = "#8a93a3"
ACCENT = "#3d8bfd"
BID = "#26a69a"
ASK = "#ef5350"
LONG = BID
SHORT = ASK
WARN = "#ffb300"
HALT = "#d32f2f"
HEATMAP_COLORMAP = "inferno"
REGIME = "#ab47bc"  # regime-change markers and shading
SEVERITY = {"info": "#3d8bfd", "warning": WARN, "critical": HALT}
# Agents are told apart by colour (fills on the chart, sparklines): a fixed palette,
# picked by a stable hash of the agent id so an agent keeps its colour between runs.
AGENT_PALETTE = (
    "#4fc3f7", "#ffb74d", "#ba68c8", "#81c784", "#f06292",
    "#fff176", "#4db6ac", "#9575cd", "#e57373", "#aed581",
)  # fmt: skip


def agent_colour(agent_id: str) -> str:
    """The colour of ``agent_id`` (the same in every panel and every run)."""
    import zlib

    if agent_id == "manual":
        return TEXT
    return AGENT_PALETTE[zlib.crc32(agent_id.encode()) % len(AGENT_PALETTE)]


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style with a dark palette; pyqtgraph picks up matching defaults."""
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BG_ALT,
        QPalette.ColorRole.AlternateBase: PANEL,
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: TEXT_DIM,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(TEXT_DIM))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(TEXT_DIM))
    app.setPalette(pal)
    app.setStyleSheet(
        f"QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid {GRID}; }}"
        f"QDockWidget::title {{ background: {PANEL}; padding: 4px; }}"
        f"QStatusBar {{ background: {BG_ALT}; }}"
    )
    import pyqtgraph as pg

    pg.setConfigOptions(background=BG, foreground=TEXT, antialias=False)
