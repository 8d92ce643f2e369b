"""The samples behind one cell of the confusion matrix [cellSamplesDialog], the model's surest first.

Off the diagonal the top of the list holds the mistakes the model is most confident of: a sample that
looks like its predicted class more than its label is often mislabelled. [cellSamplesTitle] names the
cell and counts its samples; images are shown as a gallery [cellSamplesGallery] (each with its predicted
class, confidence, true class and index in the dataset), anything else as a table [cellSamplesTable]
of the samples' features. At most MAX_SHOWN are listed; [cellSamplesMore] says how many more there
are. [cellSamplesStatus] says "computing…" while the predictions are measured, or why there are none.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget,
                               QVBoxLayout, QWidget)

from .. import theme
from ..image_grid import to_pixmap
from ..table_rows import RowTable, column_names

MAX_SHOWN = 200        # samples listed; a larger cell says how many more it holds
GALLERY_COLUMNS = 8
WINDOW_HEIGHT = 600
THUMBNAIL = 80         # px across each image
TILE_HEIGHT = THUMBNAIL + 44   # an image with its two caption lines
WINDOW_WIDTH = GALLERY_COLUMNS * (THUMBNAIL + 30) + 60


def cell_title(true_name: str, predicted_name: str, count: int | None = None) -> str:
    """"true 3, predicted 8: 5 samples, most confident first" (no count yet: just the cell)."""
    cell = f"true {true_name}, predicted {predicted_name}"
    if count is None:
        return cell
    if count == 0:
        return f"{cell}: no samples"
    return f"{cell}: {count:,} sample{'s' if count != 1 else ''}" + (", most confident first" if count > 1 else "")


class CellSamplesDialog(QDialog):
    """``show_cell`` names the cell, then ``show_samples`` (or ``show_error``) fills it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("cellSamplesDialog")
        self.setWindowTitle("Samples of a confusion cell")
        self.records: list = []      # training.errors_by_cell.SampleRecord, as listed
        self.total = 0               # samples in the cell (may be more than listed)
        self.cell: tuple[int, int] | None = None
        self.ready = False
        self._names: list[str] = []
        self._shown = None   # show_samples' arguments, shown again in a new theme's colours
        self.title = QLabel("")
        self.title.setObjectName("cellSamplesTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt;")
        self.status = QLabel("")
        self.status.setObjectName("cellSamplesStatus")
        self.status.setWordWrap(True)
        self.gallery = SampleGallery()
        self.table = RowTable("cellSamplesTable")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.gallery)
        self.stack.addWidget(self.table)
        self.more = QLabel("")
        self.more.setObjectName("cellSamplesMore")
        self.more.setWordWrap(True)
        theme.follow(self, CellSamplesDialog._restyle)
        close = QPushButton("Close")
        close.setObjectName("cellSamplesCloseButton")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.more, 1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.status)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)
        self.resize(WINDOW_WIDTH, WINDOW_HEIGHT)

    def _restyle(self) -> None:
        for label in (self.status, self.more):
            label.setStyleSheet(f"color: {theme.hex_color('text.caption')};")
        if self._shown is not None:
            self.show_samples(*self._shown)

    @property
    def current_view(self) -> QWidget:
        return self.stack.currentWidget()

    def show_cell(self, true: int, predicted: int, class_names) -> None:
        """Name the cell while its samples are measured ("computing…")."""
        self.cell, self.ready = (int(true), int(predicted)), False
        self.records, self.total, self._shown = [], 0, None
        names = [str(n) for n in class_names]
        self._names = names
        text = cell_title(_name(names, true), _name(names, predicted))
        self.title.setText(text)
        self.setWindowTitle(f"Samples: {text}")
        self.status.setText("computing…")
        self.status.setVisible(True)
        self.more.setText("")
        self.gallery.show_samples([], None, names)
        self.table.setRowCount(0)

    def show_error(self, text: str) -> None:
        self.ready = True
        self.status.setText(text)
        self.status.setVisible(True)

    def show_samples(self, records, total: int, dataset, split: str) -> None:
        """``records``: the cell's samples, most confident first (at most MAX_SHOWN are listed);
        ``total``: how many the cell holds; ``dataset``: where their inputs are; ``split``: which
        split was measured ("validation" or "training")."""
        true, predicted = self.cell
        names = self._names
        self._shown = (records, total, dataset, split)
        self.records, self.total, self.ready = list(records[:MAX_SHOWN]), int(total), True
        text = cell_title(_name(names, true), _name(names, predicted), self.total)
        self.title.setText(text)
        self.setWindowTitle(f"Samples: {text}")
        right = true == predicted
        if not self.total:
            self.status.setText(f"No {split} sample of class {_name(names, true)} was predicted as "
                                f"{_name(names, predicted)}.")
        else:
            self.status.setText(f"From the {split} split, as the kept weights predict them: "
                                + ("the least sure at the bottom." if right else
                                   "the surest mistakes at the top (a sample the model is sure of may be mislabelled)."))
        hidden = self.total - len(self.records)
        self.more.setText(f"… and {hidden:,} more in this cell (the {len(self.records):,} most confident are listed)"
                          if hidden > 0 else "")
        if dataset.kind == "images":
            self.stack.setCurrentWidget(self.gallery)
            self.gallery.show_samples(self.records, dataset, names)
            rows = max(1, -(-len(self.records) // GALLERY_COLUMNS))
            self.resize(WINDOW_WIDTH, min(WINDOW_HEIGHT, 150 + rows * (TILE_HEIGHT + 6)))   # no screen of empty space
        else:
            self.stack.setCurrentWidget(self.table)
            indices = [r.index for r in self.records]
            x = np.asarray(dataset.x[indices]).reshape(len(indices), int(np.prod(dataset.input_shape)))
            verdict = [right] * len(indices)
            self.table.show_rows(x, column_names(dataset.feature_names, x.shape[1]),
                                 row_labels=[f"#{i}" for i in indices], extra=[
                                     ("predicted", [_name(names, r.predicted) for r in self.records], verdict),
                                     ("confidence", [f"{r.confidence:.1%}" for r in self.records], [None] * len(indices)),
                                     ("true", [_name(names, r.true) for r in self.records], [None] * len(indices))])
            table = self.table   # as wide and tall as its rows, within the dialog's first size
            width = table.verticalHeader().width() + table.horizontalHeader().length() + 60
            height = 160 + table.horizontalHeader().height() + table.verticalHeader().length()
            self.resize(max(480, min(WINDOW_WIDTH, width)), min(WINDOW_HEIGHT, height))

    def captions(self) -> list[str]:
        """What is written under each listed sample (gallery) or in its row (table), in order."""
        if self.current_view is self.gallery:
            return self.gallery.captions()
        return [" ".join(self.table.item(row, col).text() for col in range(3)) for row in range(self.table.rowCount())]


class SampleGallery(QScrollArea):
    """Thumbnails in rows of GALLERY_COLUMNS, each with its prediction, confidence, true class and index."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("cellSamplesGallery")
        self.setWidgetResizable(True)
        self.tiles: list[QWidget] = []
        self._captions: list[QLabel] = []
        self.show_samples([], None, [])

    def show_samples(self, records, dataset, names) -> None:
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setSpacing(6)
        grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.tiles, self._captions = [], []
        for position, record in enumerate(records):
            tile = QWidget()
            box = QVBoxLayout(tile)
            box.setContentsMargins(2, 2, 2, 2)
            box.setSpacing(1)
            picture = QLabel()
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setPixmap(to_pixmap(dataset.x[record.index], THUMBNAIL))
            right = record.true == record.predicted
            caption = QLabel(f"predicted {_name(names, record.predicted)}, {record.confidence:.0%}\n"
                             f"true {_name(names, record.true)} · #{record.index}")
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            color = theme.hex_color("label.right" if right else "label.wrong")
            caption.setStyleSheet(f"font-size: 8pt; color: {color};")
            tile.setToolTip(f"sample #{record.index}: true {_name(names, record.true)}, predicted "
                            f"{_name(names, record.predicted)} with {record.confidence:.1%} confidence")
            box.addWidget(picture)
            box.addWidget(caption)
            grid.addWidget(tile, position // GALLERY_COLUMNS, position % GALLERY_COLUMNS)
            self.tiles.append(tile)
            self._captions.append(caption)
        self.setWidget(inner)

    def captions(self) -> list[str]:
        return [caption.text().replace("\n", " / ") for caption in self._captions]


def _name(names, index) -> str:
    index = int(index)
    return names[index] if 0 <= index < len(names) else str(index)
