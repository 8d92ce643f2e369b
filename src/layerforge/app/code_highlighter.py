"""Python syntax colours for the Code panel: keywords, strings, comments, numbers, names defined.

Colours come in a light and a dark set, each reading at 4.5:1 or more on the theme's text background
(``base``), and follow View > Theme. Triple-quoted strings (docstrings) may span lines: the block
state carries which quote is open into the next line.
"""
from __future__ import annotations

import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat

from . import theme

# token -> (light, dark); tested for contrast against theme "base" in both themes.
COLORS = {
    "keyword": ("#7b1fa2", "#ce93d8"),
    "builtin": ("#1565c0", "#90caf9"),    # self, True, False, None
    "string": ("#2e7d32", "#a5d6a7"),
    "comment": ("#546e7a", "#90a4ae"),
    "number": ("#c62828", "#ffab91"),
    "definition": ("#00695c", "#80cbc4"),  # the name after def / class
}
BUILTINS = frozenset({"self", "True", "False", "None"})
KEYWORDS = frozenset(keyword.kwlist) - BUILTINS

_TOKEN = re.compile(r"""
    (?P<triple>[rRbBuUfF]{0,2}(?:\"\"\"|'''))
  | (?P<string>[rRbBuUfF]{0,2}(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'))
  | (?P<comment>\#.*)
  | (?P<number>\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?)\b|\B\.\d+(?:[eE][+-]?\d+)?\b)
  | (?P<name>[A-Za-z_]\w*)
""", re.VERBOSE)
OUTSIDE, IN_DOUBLE, IN_SINGLE = 0, 1, 2
_CLOSERS = {IN_DOUBLE: '"""', IN_SINGLE: "'''"}


def token_color(token: str, dark: bool | None = None) -> QColor:
    light_hex, dark_hex = COLORS[token]
    return QColor(dark_hex if (theme.is_dark() if dark is None else dark) else light_hex)


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document):
        super().__init__(document)
        self.formats: dict[str, QTextCharFormat] = {}
        theme.follow(self, PythonHighlighter._recolor)

    def _recolor(self) -> None:
        for token in COLORS:
            text_format = QTextCharFormat()
            text_format.setForeground(token_color(token))
            if token == "comment":
                text_format.setFontItalic(True)
            if token in ("keyword", "definition"):
                text_format.setFontWeight(QFont.Weight.DemiBold)
            self.formats[token] = text_format
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        state = max(self.previousBlockState(), OUTSIDE)
        position = 0
        if state != OUTSIDE:
            position = self._string_until_closed(text, 0, state)
            if position < 0:
                return
        self.setCurrentBlockState(OUTSIDE)
        after_def = False
        while True:
            match = _TOKEN.search(text, position)
            if match is None:
                return
            kind, start = match.lastgroup, match.start()
            if kind == "triple":
                state = IN_DOUBLE if match.group().endswith('"') else IN_SINGLE
                position = self._string_until_closed(text, match.end(), state, start)
                if position < 0:
                    return
                continue
            position = match.end()
            if kind == "name":
                word = match.group()
                if after_def:
                    self.setFormat(start, len(word), self.formats["definition"])
                elif word in KEYWORDS:
                    self.setFormat(start, len(word), self.formats["keyword"])
                elif word in BUILTINS:
                    self.setFormat(start, len(word), self.formats["builtin"])
                after_def = word in ("def", "class")
                continue
            after_def = False
            self.setFormat(start, position - start, self.formats[kind])

    def _string_until_closed(self, text: str, search_from: int, state: int, start: int | None = None) -> int:
        """Colour a triple-quoted string from ``start`` to its closing quotes; the position after
        them, or -1 when the string goes on past this line (the block state then says so)."""
        start = search_from if start is None else start
        end = text.find(_CLOSERS[state], search_from)
        if end < 0:
            self.setFormat(start, len(text) - start, self.formats["string"])
            self.setCurrentBlockState(state)
            return -1
        end += 3
        self.setFormat(start, end - start, self.formats["string"])
        return end
