"""Light and dark themes that follow the system, and a window layout remembered between runs.

The theme is "system" by default (Qt's colour-scheme hint, or the palette's window colour where the
platform gives no hint) and can be pinned to light or dark from View > Theme. Its colours live in
:mod:`~layerforge.app.theme`, which the canvas, charts, predictions and banner follow; the choice, the window
geometry, the tool-bar/dock state and every splitter's sizes live in the application's QSettings.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QSplitter

from . import theme
from .persist import app_settings
from .window_geometry import fits_screen, saved_geometry

THEMES = ("system", "light", "dark")
THEME_KEY = "appearance/theme"
GEOMETRY_KEY, STATE_KEY, SPLITTER_KEY = "window/geometry", "window/state", "window/splitters/"

# Captions that colour themselves inline in a light theme's slate grey, which vanishes on a dark
# background: their light colour, and the dark theme's colour for the same role.
DARK_CAPTION_COLORS = {theme.LIGHT["text.caption"]: theme.DARK["text.caption"], "#546e7a": theme.DARK["text.caption"],
                       theme.LIGHT["panel.title"]: theme.DARK["panel.title"]}


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
    """Qt's palette for the dark theme, from theme.py's dark colours."""
    palette = QPalette()
    role = QPalette.ColorRole
    tokens = {role.Window: "window", role.WindowText: "window.text", role.Base: "base",
              role.AlternateBase: "base.alternate", role.Text: "text", role.Button: "button",
              role.ButtonText: "text", role.Highlight: "highlight", role.HighlightedText: "highlight.text",
              role.ToolTipBase: "tooltip", role.ToolTipText: "text", role.PlaceholderText: "text.placeholder",
              role.Link: "link"}
    for which, token in tokens.items():
        palette.setColor(which, QColor(theme.DARK[token]))
    for which in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, which, QColor(theme.DARK["text.disabled"]))
    return palette


class Appearance:
    """Theme and layout of one main window; ``dark`` says which theme is shown now."""

    def __init__(self, window):
        self.window = window
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
        for choice in THEMES:
            action = QAction("Follow the system" if choice == "system" else choice.capitalize(), self.menu)
            action.setObjectName(f"actionTheme{choice.capitalize()}")
            action.setCheckable(True)
            action.setChecked(choice == self.theme)
            action.triggered.connect(lambda _=False, t=choice: self.set_theme(t))
            group.addAction(action)
            self.menu.addAction(action)
            self.theme_actions[choice] = action
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(lambda _scheme: self.apply())
        self.apply()

    def set_theme(self, choice: str) -> None:
        """"system", "light" or "dark" (View > Theme), remembered for the next start."""
        self.theme = choice
        self.theme_actions[choice].setChecked(True)
        settings = app_settings()
        settings.setValue(THEME_KEY, choice)
        settings.sync()
        self.apply()

    def apply(self) -> None:
        self.dark = system_is_dark(self.system_palette) if self.theme == "system" else self.theme == "dark"
        QApplication.instance().setPalette(dark_palette() if self.dark else self.light_palette)
        theme.set_theme("dark" if self.dark else "light")   # the canvas, charts and banner follow
        from .main_window import load_stylesheet   # the window's own: ui/layerforge.qss in theme colours
        self.window.setStyleSheet(load_stylesheet())
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
        """The window's size, tool bars and splitters as they were left, where that size fits the
        screen the window is on now: a layout saved on a larger monitor is not forced onto a laptop's
        (the window keeps the size it opened at, fitted to this screen). True when it was restored."""
        settings = app_settings()
        geometry = settings.value(GEOMETRY_KEY)
        if geometry is None:
            return False
        saved = saved_geometry(geometry)
        if saved is None:
            return False
        normal, maximized = saved
        if not maximized and not fits_screen(self.window, normal.size()):
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
