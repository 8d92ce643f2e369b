"""A grid of small images with a caption under each (green when right, red when wrong)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from . import theme

COLUMNS, ROWS = 6, 3
CELL = 40


def to_pixmap(image: np.ndarray, size: int = CELL) -> QPixmap:
    """A (H, W), (1, H, W) or (3, H, W) array of any range, stretched to 0..255, scaled up crisply."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0))
    low, high = float(np.min(array)), float(np.max(array))
    scaled = np.zeros_like(array) if high <= low else (array - low) / (high - low)
    data = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    if data.ndim == 2:
        qimage = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_Grayscale8)
    else:
        qimage = QImage(data.data, data.shape[1], data.shape[0], data.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimage.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.FastTransformation)


class ImageGrid(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("imageGrid")
        grid = QGridLayout(self)
        grid.setSpacing(4)
        self.cells: list[tuple[QLabel, QLabel]] = []
        for index in range(COLUMNS * ROWS):
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(0)
            picture, caption = QLabel(), QLabel()
            picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
            picture.setMinimumSize(CELL, CELL)
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setStyleSheet("font-size: 9pt;")
            box.addWidget(picture)
            box.addWidget(caption)
            grid.addWidget(cell, index // COLUMNS, index % COLUMNS)
            self.cells.append((picture, caption))
        # What each cell shows now (image bytes, caption, tooltip, style): a snapshot usually shows the
        # same samples as the last one with a few labels changed, and a style sheet costs ~1 ms to set.
        self._shown: list[tuple | None] = [None] * len(self.cells)
        self._verdicts: list[bool | None] = [None] * len(self.cells)   # right, wrong or not known, per cell
        theme.follow(self, ImageGrid._restyle_captions)

    def _restyle_captions(self) -> None:
        for index, shown in enumerate(self._shown):
            if shown is not None:
                style = _caption_style(self._verdicts[index])
                self.cells[index][1].setStyleSheet(style)
                self._shown[index] = shown[:4] + (style,)

    @property
    def capacity(self) -> int:
        return len(self.cells)

    def set_images(self, images, captions, correct=None, tooltips=None) -> None:
        for index, (picture, caption) in enumerate(self.cells):
            if index >= len(images):
                if self._shown[index] is not None:
                    picture.clear()
                    caption.clear()
                    self._shown[index] = None
                continue
            image = np.asarray(images[index])
            ok = None if correct is None else correct[index]
            self._verdicts[index] = ok
            style = _caption_style(ok)
            shown = (image.shape, image.tobytes(), captions[index], tooltips[index] if tooltips else captions[index],
                     style)
            before = self._shown[index] or (None,) * len(shown)
            if shown[:2] != before[:2]:
                picture.setPixmap(to_pixmap(image))
            if shown[2] != before[2]:
                caption.setText(shown[2])
            if shown[3] != before[3]:
                picture.setToolTip(shown[3])
            if shown[4] != before[4]:
                caption.setStyleSheet(style)
            self._shown[index] = shown

    def captions(self) -> list[str]:
        return [caption.text() for _, caption in self.cells if caption.text()]


def _caption_style(ok: bool | None) -> str:
    """A caption in the theme's colour for a right, wrong or unjudged prediction (wrong ones bold too,
    so they differ by more than colour)."""
    color = theme.hex_color("label.plain" if ok is None else ("label.right" if ok else "label.wrong"))
    return f"font-size: 9pt; color: {color}; font-weight: {'normal' if ok in (None, True) else 'bold'};"
