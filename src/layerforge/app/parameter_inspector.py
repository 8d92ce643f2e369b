"""The parameter inspector [parameterInspector]: one tensor of the computational graph (a parameter,
an op's output, the batch) with its shape, dtype and device, a heatmap or histogram of its values and
of its gradient, and the numbers a person reads: min, max, mean, std, norm."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import theme
from .autograd_items import format_norm, shape_text
from .plot_theme import follow_plot_widget

HISTOGRAM_BINS = 40
STATS = ("min", "max", "mean", "std", "norm")


def as_image(values: np.ndarray) -> np.ndarray:
    """A 2-D picture of any tensor: a matrix as it is; conv kernels (out, in, kh, kw) or a batch of
    feature maps (n, c, h, w) tiled, one block per (out, in) pair; other shapes as rows of the last axis."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 4:
        o, i, h, w = a.shape
        return a.transpose(0, 2, 1, 3).reshape(o * h, i * w)
    return a.reshape(-1, a.shape[-1])


def statistics(values: np.ndarray | None) -> dict[str, float] | None:
    if values is None or values.size == 0:
        return None
    a = np.asarray(values, dtype=np.float64).ravel()
    finite = a[np.isfinite(a)]
    if finite.size == 0:
        return {name: float("nan") for name in STATS}
    return {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean()),
            "std": float(finite.std()), "norm": float(np.linalg.norm(finite))}


def _diverging() -> pg.ColorMap:
    return pg.ColorMap([0.0, 0.5, 1.0], [(33, 102, 172), theme.color("chart.background").getRgb()[:3],
                                         (178, 24, 43)])


class TensorPlot(pg.PlotWidget):
    """A heatmap (values around zero: blue negative, red positive) or a histogram of one tensor."""

    def __init__(self, title: str, object_name: str):
        super().__init__()
        self.title = title
        self.setObjectName(object_name)
        self.setMinimumHeight(150)
        self.setMenuEnabled(False)
        self.plot_item = self.getPlotItem()
        self.plot_item.setTitle(title, size="9pt")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=theme.color("highlight"))
        self.mode = ""
        follow_plot_widget(self)

    def show_tensor(self, values: np.ndarray | None, mode: str) -> None:
        self.plot_item.clear()
        self.mode = mode if values is not None else ""
        if values is None:
            self.plot_item.hideAxis("left")
            self.plot_item.hideAxis("bottom")
            return
        self.plot_item.showAxis("left")
        self.plot_item.showAxis("bottom")
        a = np.asarray(values, dtype=np.float64)
        if mode == "heatmap":
            picture = as_image(a)
            limit = float(np.nanmax(np.abs(picture))) if picture.size and np.isfinite(picture).any() else 1.0
            limit = limit if limit > 0 else 1.0
            self.image.setImage(np.nan_to_num(picture), levels=(-limit, limit))
            self.plot_item.setTitle(f"{self.title}: blue −{limit:.3g} … 0 … red +{limit:.3g}", size="9pt")
            self.image.setLookupTable(_diverging().getLookupTable(nPts=256))
            self.plot_item.addItem(self.image)
            self.plot_item.invertY(True)
            self.plot_item.setAspectLocked(False)
            self.plot_item.autoRange()
        else:
            flat = a[np.isfinite(a)].ravel()
            counts, edges = np.histogram(flat, bins=HISTOGRAM_BINS) if flat.size else (np.zeros(1), np.array([0, 1]))
            centres = (edges[:-1] + edges[1:]) / 2
            self.bars = pg.BarGraphItem(x=centres, height=counts, width=float(edges[1] - edges[0]) * 0.9,
                                        brush=theme.color("highlight"), pen=pg.mkPen(None))
            self.plot_item.setTitle(f"{self.title}: how many values in each range", size="9pt")
            self.plot_item.invertY(False)
            self.plot_item.addItem(self.bars)
            self.plot_item.autoRange()


class ParameterInspector(QWidget):
    """See the module docstring. ``show_node(node)`` takes a training.autograd_graph.GraphNode."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("parameterInspector")
        self.node = None
        self.title = QLabel("Click a node to inspect its tensor")
        self.title.setObjectName("inspectorTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.details = QLabel("")
        self.details.setObjectName("inspectorDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.mode = QComboBox()
        self.mode.setObjectName("inspectorMode")
        self.mode.addItem("Heatmap", "heatmap")
        self.mode.addItem("Histogram", "histogram")
        self.mode.setToolTip("Draw the values as a heatmap (blue negative, red positive) or as a histogram")
        self.mode.currentIndexChanged.connect(self._redraw)
        self.values_plot = TensorPlot("values", "inspectorValues")
        self.grad_plot = TensorPlot(".grad", "inspectorGrad")
        self.stats = QGridLayout()
        self.stats.setHorizontalSpacing(12)
        self.stat_labels: dict[tuple[str, str], QLabel] = {}
        self.stats.addWidget(QLabel(""), 0, 0)
        for column, heading in enumerate(("value", ".grad"), start=1):
            label = QLabel(f"<b>{heading}</b>")
            label.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.stats.addWidget(label, 0, column)
        for row, name in enumerate(STATS, start=1):
            self.stats.addWidget(QLabel(name), row, 0)
            for column, which in enumerate(("value", "grad"), start=1):
                cell = QLabel("–")
                cell.setObjectName(f"stat_{which}_{name}")
                cell.setAlignment(Qt.AlignmentFlag.AlignRight)
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.stat_labels[(which, name)] = cell
                self.stats.addWidget(cell, row, column)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(head)
        layout.addWidget(self.details)
        layout.addWidget(self.values_plot, 1)
        layout.addWidget(self.grad_plot, 1)
        self.stats.setColumnStretch(3, 1)
        layout.addLayout(self.stats)
        self.setMinimumWidth(260)
        self._redraw()   # empty plots, without axes, until a node is clicked

    def stat(self, which: str, name: str) -> str:
        return self.stat_labels[(which, name)].text()

    def show_node(self, node) -> None:
        self.node = node
        if node is None:
            self.title.setText("Click a node to inspect its tensor")
            self.details.setText("")
            self._redraw()
            return
        what = {"param": "parameter", "input": "input", "op": "output of", "loss": "loss from"}[node.kind]
        self.title.setText(f"{node.name}" if node.kind in ("param", "input") else f"{what} {node.name}")
        layer = f" · layer {node.group}" if node.group and node.kind != "param" else ""
        count = int(np.prod(node.shape)) if node.shape else 1
        self.details.setText(f"shape {shape_text(node.shape)} ({count:,} values) · {node.dtype} · {node.device}{layer}"
                             + ("" if node.grad is not None else "\nno gradient yet: press Step"
                                if node.kind != "input" else "\nthe data: no gradient"))
        # A 1-D tensor (a bias) reads better as a histogram only when long; a short one as a strip.
        self._redraw()

    def _redraw(self) -> None:
        node = self.node
        mode = self.mode.currentData()
        self.values_plot.show_tensor(None if node is None else node.value, mode)
        self.grad_plot.show_tensor(None if node is None else node.grad, mode)
        for which, values in (("value", None if node is None else node.value),
                              ("grad", None if node is None else node.grad)):
            figures = statistics(values)
            for name in STATS:
                self.stat_labels[(which, name)].setText("–" if figures is None else format_norm(figures[name])
                                                        if name == "norm" else f"{figures[name]:.4g}")
