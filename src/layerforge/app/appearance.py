"""Light and dark themes that follow the system, and a window layout remembered between runs.

The theme is "system" by default (Qt's colour-scheme hint, or the palette's window colour where the
platform gives no hint) and can be pinned to light or dark from View > Theme; the choice, the window
geometry, the tool-bar/dock state and every splitter's sizes live in the application's QSettings.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QSplitter

from .persist import app_settings

THEMES = ("system", "light", "dark")
THEME_KEY = "appearance/theme"
GEOMETRY_KEY, STATE_KEY, SPLITTER_KEY = "window/geometry", "window/state", "window/splitters/"

# Overrides on top of part 1's light stylesheet (ui/layerforge.qss) for a dark system.
DARK_STYLESHEET = """
QMainWindow, QDialog { background: #263238; }
QGroupBox { background: #2e3b42; border-color: #455a64; color: #eceff1; }
QGroupBox::title { color: #cfd8dc; }
QTreeWidget#layerTree { background: #2e3b42; border-color: #455a64; color: #eceff1; }
QLabel#predictionTitle, QLabel#datasetSummary { color: #cfd8dc; }
QProgressBar#trainingProgress { background: #37474f; border-color: #546e7a; color: #eceff1; }
QProgressBar#trainingProgress::chunk { background: #388e3c; }
"""


# Part 1 colours a few captions inline in slate grey, which vanishes on a dark background.
DARK_CAPTION_COLORS = {"#455a64": "#b0bec5", "#546e7a": "#b0bec5", "#37474f": "#cfd8dc"}


def system_is_dark(system_palette: QPalette | None = None) -> bool:
    """The platform's colour-scheme hint; without one, whether its palette is dark."""
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    palette = system_palette if system_palette is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {QPalette.ColorRole.Window: "#263238", QPalette.ColorRole.WindowText: "#eceff1",
              QPalette.ColorRole.Base: "#1e272c", QPalette.ColorRole.AlternateBase: "#2e3b42",
              QPalette.ColorRole.Text: "#eceff1", QPalette.ColorRole.Button: "#37474f",
              QPalette.ColorRole.ButtonText: "#eceff1", QPalette.ColorRole.Highlight: "#1e88e5",
              QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#37474f",
              QPalette.ColorRole.ToolTipText: "#eceff1", QPalette.ColorRole.PlaceholderText: "#90a4ae",
              QPalette.ColorRole.Link: "#64b5f6"}
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#78909c"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#78909c"))
    return palette


class Appearance:
    """Theme and layout of one main window; ``dark`` says which theme is shown now."""

    def __init__(self, window):
        self.window = window
        self.base_stylesheet = window.styleSheet()
        # The platform's palette as the app started (ours replaces it once a theme is applied).
        self.system_palette = QApplication.palette()
        self.light_palette = (QApplication.style().standardPalette() if system_is_dark(self.system_palette)
                              else self.system_palette)
        self.dark = False
        settings = app_settings()
        self.theme = str(settings.value(THEME_KEY, "system"))
        if self.theme not in THEMES:
            self.theme = "system"
        self.menu = QMenu("&Theme", window)
        self.menu.setObjectName("themeMenu")
        group = QActionGroup(self.menu)
        self.theme_actions = {}
        for theme in THEMES:
            action = QAction("Follow the system" if theme == "system" else theme.capitalize(), self.menu)
            action.setObjectName(f"actionTheme{theme.capitalize()}")
            action.setCheckable(True)
            action.setChecked(theme == self.theme)
            action.triggered.connect(lambda _=False, t=theme: self.set_theme(t))
            group.addAction(action)
            self.menu.addAction(action)
            self.theme_actions[theme] = action
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda _scheme: self.apply())
        self.apply()

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        self.theme_actions[theme].setChecked(True)
        settings = app_settings()
        settings.setValue(THEME_KEY, theme)
        settings.sync()
        self.apply()

    def apply(self) -> None:
        self.dark = system_is_dark(self.system_palette) if self.theme == "system" else self.theme == "dark"
        QApplication.instance().setPalette(dark_palette() if self.dark else self.light_palette)
        self.window.setStyleSheet(self.base_stylesheet + (DARK_STYLESHEET if self.dark else ""))
        self._recolor_captions()

    def _recolor_captions(self) -> None:
        for label in self.window.findChildren(QLabel):
            original = label.property("lightStyleSheet")
            if original is None:
                original = label.styleSheet()
                if not any(color in original for color in DARK_CAPTION_COLORS):
                    continue
                label.setProperty("lightStyleSheet", original)
            style = original
            if self.dark:
                for light, dark in DARK_CAPTION_COLORS.items():
                    style = style.replace(light, dark)
            label.setStyleSheet(style)

    # -- layout ----------------------------------------------------------------------------------

    def restore_layout(self) -> bool:
        settings = app_settings()
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is None:
            return False
        self.window.restoreGeometry(geometry)
        state = settings.value(STATE_KEY)
        if state is not None:
            self.window.restoreState(state)
        for splitter in self.window.findChildren(QSplitter):
            saved = settings.value(SPLITTER_KEY + splitter.objectName()) if splitter.objectName() else None
            if saved is not None:
                splitter.restoreState(saved)
        return True

    def save_layout(self) -> None:
        settings = app_settings()
        settings.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        settings.setValue(STATE_KEY, self.window.saveState())
        for splitter in self.window.findChildren(QSplitter):
            if splitter.objectName():
                settings.setValue(SPLITTER_KEY + splitter.objectName(), splitter.saveState())
        settings.sync()
