"""The colours of Layerforge's light and dark themes, in one place, and the views that follow them.

Every view asks for a colour by its token (``color("canvas.background")``) instead of writing a hex
value, so switching the theme (View > Theme, see :mod:`~layerforge.app.appearance`) changes all of
them. A view that sets a colour once (a background brush, a style sheet) registers with
:func:`follow` and is called again whenever the theme changes; a view that paints on demand just
reads the token while it paints. Text colours are chosen so that text keeps a contrast of at least
4.5:1 (WCAG AA) on the background it is drawn on, in both themes; :func:`text_on` picks such a text
colour for a background that is only known at run time (a confusion-matrix cell, a node's header).
"""
from __future__ import annotations

import weakref
from typing import Callable

from PySide6.QtGui import QColor

LIGHT = {
    # the window and its panels (also the Qt palette and ui/layerforge.qss)
    "window": "#eceff1", "window.text": "#263238", "panel": "#fafafa", "panel.border": "#cfd8dc",
    "panel.title": "#37474f", "base": "#ffffff", "base.alternate": "#f5f7f8", "button": "#e3e7ea",
    "text": "#263238", "text.caption": "#455a64", "text.disabled": "#78909c", "text.placeholder": "#546e7a",
    "text.note": "#6d4c41",
    "highlight": "#1565c0", "highlight.text": "#ffffff", "link": "#1565c0", "tooltip": "#fffde7",
    "progress": "#ffffff", "progress.border": "#b0bec5", "progress.chunk": "#81c784", "progress.text": "#263238",
    "error.text": "#b71c1c",
    # the canvas
    "canvas.background": "#f4f6f8", "node.body": "#fafafa", "node.border": "#90a4ae",
    "node.selected": "#1e88e5", "node.subtitle": "#37474f", "node.error.body": "#ffebee",
    "node.error.border": "#d32f2f", "node.error.header": "#c62828", "node.shape": "#546e7a", "edge.line": "#78909c", "edge.selected": "#1e88e5",
    "edge.label.back": "#ffffff", "edge.label.border": "#b0bec5", "edge.label.text": "#263238",
    "port.border": "#37474f", "port.idle": "#eceff1",
    # charts and predictions
    "chart.background": "#ffffff", "chart.text": "#37474f", "chart.axis": "#78909c", "chart.muted": "#546e7a",
    "chart.previous": "#90a4ae", "chart.point.outline": "#ffffff", "chart.data": "#546e7a",
    "label.right": "#1b5e20", "label.wrong": "#b71c1c", "label.plain": "#37474f",
    # the banner: background, border, text per level
    "banner.error": "#ffebee", "banner.error.border": "#c62828", "banner.error.text": "#b71c1c",
    "banner.warning": "#fff8e1", "banner.warning.border": "#f9a825", "banner.warning.text": "#5d4037",
    "banner.info": "#e3f2fd", "banner.info.border": "#1e88e5", "banner.info.text": "#0d47a1",
    "banner.success": "#e8f5e9", "banner.success.border": "#43a047", "banner.success.text": "#1b5e20",
    # the confusion matrix: an empty cell, and the colours full cells tend to
    "confusion.empty": "#ffffff", "confusion.right": "#1565c0", "confusion.wrong": "#e53935",
}

DARK = {
    "window": "#263238", "window.text": "#eceff1", "panel": "#2e3b42", "panel.border": "#455a64",
    "panel.title": "#cfd8dc", "base": "#1e272c", "base.alternate": "#2e3b42", "button": "#37474f",
    "text": "#eceff1", "text.caption": "#b0bec5", "text.disabled": "#78909c", "text.placeholder": "#90a4ae",
    "text.note": "#bcaaa4",
    "highlight": "#1565c0", "highlight.text": "#ffffff", "link": "#64b5f6", "tooltip": "#2e3b42",
    "progress": "#1e272c", "progress.border": "#546e7a", "progress.chunk": "#2e7d32", "progress.text": "#ffffff",
    "error.text": "#ef9a9a",
    "canvas.background": "#1b2327", "node.body": "#2e3b42", "node.border": "#607d8b",
    "node.selected": "#64b5f6", "node.subtitle": "#cfd8dc", "node.error.body": "#4e2a2e",
    "node.error.border": "#e57373", "node.error.header": "#c62828", "node.shape": "#b0bec5", "edge.line": "#90a4ae", "edge.selected": "#64b5f6",
    "edge.label.back": "#263238", "edge.label.border": "#546e7a", "edge.label.text": "#eceff1",
    "port.border": "#b0bec5", "port.idle": "#455a64",
    "chart.background": "#1e272c", "chart.text": "#cfd8dc", "chart.axis": "#90a4ae", "chart.muted": "#90a4ae",
    "chart.previous": "#607d8b", "chart.point.outline": "#1e272c", "chart.data": "#90a4ae",
    "label.right": "#81c784", "label.wrong": "#ef9a9a", "label.plain": "#cfd8dc",
    "banner.error": "#3e2427", "banner.error.border": "#e57373", "banner.error.text": "#ffcdd2",
    "banner.warning": "#3b3321", "banner.warning.border": "#ffca28", "banner.warning.text": "#ffe082",
    "banner.info": "#1c3144", "banner.info.border": "#64b5f6", "banner.info.text": "#bbdefb",
    "banner.success": "#1f3524", "banner.success.border": "#81c784", "banner.success.text": "#c8e6c9",
    "confusion.empty": "#1e272c", "confusion.right": "#1565c0", "confusion.wrong": "#e53935",
}

THEMES = {"light": LIGHT, "dark": DARK}
MIN_TEXT_CONTRAST = 4.5
# (text, background) pairs the views draw; each must reach MIN_TEXT_CONTRAST in both themes.
TEXT_PAIRS = [("text", "window"), ("text.note", "window"), ("text.note", "panel"), ("text", "panel"), ("text", "base"), ("window.text", "window"),
              ("text.caption", "window"), ("text.caption", "panel"), ("text.caption", "base"),
              ("panel.title", "panel"), ("panel.title", "window"), ("text.placeholder", "base"),
              ("highlight.text", "highlight"), ("link", "base"), ("text", "tooltip"), ("error.text", "tooltip"),
              ("progress.text", "progress"), ("progress.text", "progress.chunk"), ("text", "button"),
              ("error.text", "base"), ("error.text", "panel"), ("error.text", "window"),
              ("error.text", "canvas.background"), ("node.subtitle", "node.body"), ("node.shape", "node.body"),
              ("error.text", "node.error.body"), ("edge.label.text", "edge.label.back"),
              ("error.text", "edge.label.back"), ("chart.text", "chart.background"),
              ("chart.muted", "chart.background"), ("label.right", "window"), ("label.wrong", "window"),
              ("label.plain", "window"), ("label.right", "chart.background"), ("label.wrong", "chart.background")]
TEXT_PAIRS += [(f"banner.{level}.text", f"banner.{level}") for level in ("error", "warning", "info", "success")]

_current = {"name": "light"}
# Each follower by the id of its weak reference, which drops it when its target goes.
_followers: dict[int, tuple[weakref.ref, Callable]] = {}


def name() -> str:
    """"light" or "dark": the theme shown now."""
    return _current["name"]


def is_dark() -> bool:
    return _current["name"] == "dark"


def hex_color(token: str) -> str:
    """The colour of ``token`` in the theme shown now, as "#rrggbb" (for style sheets and rich text)."""
    return THEMES[_current["name"]][token]


def color(token: str, alpha: int = 255) -> QColor:
    qcolor = QColor(hex_color(token))
    qcolor.setAlpha(alpha)
    return qcolor


def set_theme(theme: str) -> None:
    """Show ``theme`` ("light" or "dark"): every follower is called again when it changes."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; choose one of {', '.join(THEMES)}")
    if theme == _current["name"]:
        return
    _current["name"] = theme
    for key, (ref, apply) in list(_followers.items()):
        target = ref()
        if target is None:
            _followers.pop(key, None)
            continue
        try:
            apply(target)
        except RuntimeError:   # its Qt object is gone, the Python wrapper not yet
            _followers.pop(key, None)


def follow(target, apply: Callable[[object], None]) -> None:
    """Call ``apply(target)`` now and again at each theme change, for as long as ``target`` lives.

    ``apply`` gets the target as its argument and must not hold it itself (a lambda that names
    ``self`` would keep a closed window alive): only a weak reference to ``target`` is kept."""
    apply(target)
    ref = weakref.ref(target, lambda dead: _followers.pop(id(dead), None))
    _followers[id(ref)] = (ref, apply)


# -- contrast ------------------------------------------------------------------------------------

def relative_luminance(qcolor: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    def channel(value: int) -> float:
        c = value / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(qcolor.red()) + 0.7152 * channel(qcolor.green()) + 0.0722 * channel(qcolor.blue())


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio, 1 (none) to 21 (black on white)."""
    a, b = sorted((relative_luminance(QColor(first)), relative_luminance(QColor(second))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(background: QColor) -> QColor:
    """White or the dark text colour, whichever reads better on ``background``; black where neither
    reaches 4.5:1 (a mid-tone such as #1e88e5, where white or black always does)."""
    light, dark = QColor("#ffffff"), QColor(LIGHT["text"])
    best = light if contrast_ratio(light, background) >= contrast_ratio(dark, background) else dark
    if contrast_ratio(best, background) >= MIN_TEXT_CONTRAST:
        return best
    black = QColor("#000000")
    return black if contrast_ratio(black, background) >= contrast_ratio(light, background) else light


def mix(first: QColor, second: QColor, amount: float) -> QColor:
    """``first`` moved ``amount`` (0..1) of the way to ``second``."""
    amount = min(max(float(amount), 0.0), 1.0)
    return QColor(round(first.red() + (second.red() - first.red()) * amount),
                  round(first.green() + (second.green() - first.green()) * amount),
                  round(first.blue() + (second.blue() - first.blue()) * amount))


def stylesheet(template: str) -> str:
    """``template`` (ui/layerforge.qss) with each ``@token@`` replaced by the token's colour now."""
    text = template
    for token, value in sorted(THEMES[_current["name"]].items(), key=lambda item: -len(item[0])):
        text = text.replace(f"@{token}@", value)
    return text
