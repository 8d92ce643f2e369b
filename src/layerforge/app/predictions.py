"""Live predictions [predictionView], drawn by task from the Trainer's PredictionSnapshot:

- 1-D regression: the fitted curve over the data points;
- 2-D classification: the decision boundary (class colour, paler where unsure) under the points;
- images: a grid of samples with predicted and true labels (green right, red wrong);
- sequences: a small plot per sequence, coloured by predicted class with the true class named, or
  the predicted against the true target sequence;
- tables: predicted against actual values around the identity line (regression), or sample rows
  with their predicted and true classes (classification).
Before training each shows the data alone. For classification a confusion matrix sits beside it
and, once a run has ended, the calibration view in a tab beside the matrix.
Only the latest snapshot is drawn, when the window's frame clock calls ``draw_pending``.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from .calibration_view import CalibrationView
from .confusion import ConfusionMatrixView
from .image_grid import ImageGrid
from .prediction_plot import PredictionPlot
from .sequence_grid import SequenceGrid
from .table_rows import RowTable, column_names, number_text

TABLE_PREVIEW_ROWS = 100   # the rows of a table listed before training
MIN_CLASSES_WIDTH = 170    # px: the confusion and calibration tabs' names side by side


class PredictionView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("predictionView")
        self.setAccessibleName("Predictions")
        self.title = QLabel("Predictions")
        self.title.setObjectName("predictionTitle")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot_widget = PredictionPlot()
        self.plot = self.plot_widget.plot
        self.image_item = self.plot_widget.image_item
        self.fit_curve = self.plot_widget.fit_curve
        self.identity_line = self.plot_widget.identity_line
        self.image_grid = ImageGrid()
        self.sequence_grid = SequenceGrid()
        self.row_table = RowTable("predictionRows")
        self.stack = QStackedWidget()
        for view in (self.plot_widget, self.image_grid, self.sequence_grid, self.row_table):
            self.stack.addWidget(view)
        self.confusion = ConfusionMatrixView()
        self.calibration = CalibrationView()
        # Tabs, not one over the other: a matrix of ten classes needs the column's whole height.
        self.classes_side = ClassesTabs(self.confusion, self.calibration)
        self._enable_calibration_tab()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stack, 5)
        row.addWidget(self.classes_side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.title)
        layout.addLayout(row, 1)
        self.snapshots_shown = 0
        self.last_kind: str | None = None
        self.last_epoch: int | None = None
        self._last_shape = None     # (kind, classified) of the last predictions drawn
        self._pending = None
        self._pending_confusion = None
        self._pending_kept = False
        self.shows = "nothing"     # "data", "predictions", "stale" or "nothing"

    @property
    def point_layers(self):
        return self.plot_widget.point_layers

    def point_count(self) -> int:
        return self.plot_widget.point_count()

    @property
    def current_view(self) -> QWidget:
        return self.stack.currentWidget()

    # -- before training: the data alone ---------------------------------------------------------

    def show_dataset(self, dataset) -> None:
        """Show the data before any model exists, as its task's predictions will be shown."""
        self._forget_predictions("data")
        self.confusion.set_matrix(None, dataset.class_names)
        self._show_classes(dataset.task == "classification", len(dataset.class_names))
        x, y = dataset.x, dataset.y
        classified = dataset.task == "classification"
        names = dataset.class_names
        if dataset.kind == "points2d":
            self.stack.setCurrentWidget(self.plot_widget)
            self.plot_widget.show_points(x[:, 0], x[:, 1], y)
            self.title.setText(f"<b>{dataset.name}</b>: the data (press Train to see the decision boundary)")
        elif dataset.kind == "curve1d":
            self.stack.setCurrentWidget(self.plot_widget)
            self.plot_widget.show_points(x[:, 0], np.asarray(y).reshape(len(y), -1)[:, 0], None)
            self.title.setText(f"<b>{dataset.name}</b>: the data (press Train to see the fitted curve)")
        elif dataset.kind == "images":
            self.stack.setCurrentWidget(self.image_grid)
            count = min(len(x), self.image_grid.capacity)
            self.image_grid.set_images(x[:count], [names[int(t)] if names else str(t) for t in y[:count]])
            self.title.setText(f"<b>{dataset.name}</b>: sample images with their labels")
        elif dataset.kind == "sequence":
            self.stack.setCurrentWidget(self.sequence_grid)
            if classified:
                shown = one_of_each_class_first(y, self.sequence_grid.capacity)
                self.sequence_grid.show_labelled(x[shown], y[shown], names)
                what = "sample sequences in their class's colour"
            else:
                count = min(len(x), self.sequence_grid.capacity)
                self.sequence_grid.show_regressed(x[:count], y[:count])
                what = "sample sequences (grey) with their target (dashed)"
            self.title.setText(f"<b>{dataset.name}</b>: {what} (press Train to see what the model predicts)")
        else:
            self.stack.setCurrentWidget(self.row_table)
            rows = min(len(x), TABLE_PREVIEW_ROWS)
            flat = np.asarray(x[:rows]).reshape(rows, -1)
            if classified:
                target = ("class", [names[int(t)] for t in y[:rows]], [None] * rows)
            else:
                values = np.asarray(y[:rows]).reshape(rows, -1)
                target = ("target", [", ".join(number_text(v) for v in row) for row in values], [None] * rows)
            self.row_table.show_rows(flat, column_names(dataset.feature_names, flat.shape[1]), extra=[target])
            self.title.setText(f"<b>{dataset.name}</b>: the first {rows:,} of {len(x):,} rows (press Train to see "
                               + ("the predicted classes)" if classified else "predicted against actual values)"))

    def _show_classes(self, shown: bool, classes: int = 0) -> None:
        """The confusion matrix and the calibration view's tabs, or neither (nothing is classified);
        wide enough for both tabs' names and a readable column per class."""
        self.classes_side.setVisible(shown)
        self.classes_side.setMinimumWidth(min(self.confusion.maximumWidth(), max(MIN_CLASSES_WIDTH, 36 + 17 * classes)))

    def set_calibration(self, bins, split: str = "validation", error: float = float("nan"),
                        epoch: int | None = None) -> None:
        """Show the calibration of a run's kept weights in the tab beside the confusion matrix; None
        empties it (and the matrix's tab is shown)."""
        self.calibration.set_bins(bins, split, error, epoch)
        self._enable_calibration_tab()

    def _enable_calibration_tab(self) -> None:
        has_bins = self.calibration.has_bins
        tabs = self.classes_side.tabs
        tabs.setTabEnabled(1, has_bins)
        tabs.setTabToolTip(1, "Accuracy against confidence: how far the model's confidence can be trusted"
                           if has_bins else "Shown when a classification run ends")
        if not has_bins and tabs.currentIndex() == 1:
            tabs.setCurrentIndex(0)

    def show_calibration(self) -> None:
        """Bring the calibration tab to the front (it has a run's figures)."""
        if self.calibration.has_bins:
            self.classes_side.tabs.setCurrentIndex(1)

    def show_nothing(self, why: str) -> None:
        """No data to show (it could not be loaded): an empty plot and ``why``."""
        self._forget_predictions("nothing")
        self.plot_widget.clear_drawing()
        self.confusion.set_matrix(None, [])
        self.stack.setCurrentWidget(self.plot_widget)
        self.title.setText(why)

    def show_stale(self, dataset, reason: str) -> None:
        """The predictions no longer describe the model: show the data alone, and say why."""
        if dataset is not None:
            self.show_dataset(dataset)
        self.shows = "stale"
        self.title.setText(f"<b>Predictions cleared</b>: {reason}")

    def _forget_predictions(self, shows: str) -> None:
        self._pending = self._pending_confusion = None
        self.last_kind, self.last_epoch, self._last_shape = None, None, None
        self.shows = shows
        self.plot_widget.reset_range()

    # -- during training -------------------------------------------------------------------------

    def set_snapshot(self, snapshot, kept: bool = False) -> None:
        """Remember the newest snapshot; the next frame draws it (older undrawn ones are skipped).
        ``kept``: the predictions of the weights the run keeps (its title says so). None forgets the
        last predictions (a run begins or ends its record): the next ones set the plot's range."""
        self._pending, self._pending_kept = snapshot, kept
        if snapshot is None:
            self._last_shape = None
            self.plot_widget.reset_range()

    def set_confusion(self, matrix, class_names, epoch: int | None = None, kept: bool = False) -> None:
        self._pending_confusion = (matrix, class_names, epoch, kept)

    def draw_pending(self) -> bool:
        """Draw what arrived since the last frame; True when something was drawn."""
        snapshot, self._pending = self._pending, None
        confusion, self._pending_confusion = self._pending_confusion, None
        if snapshot is not None:
            self.draw_snapshot(snapshot, self._pending_kept)
        if confusion is not None:
            self.confusion.set_matrix(*confusion)
        return snapshot is not None or confusion is not None

    def draw_snapshot(self, snapshot, kept: bool = False) -> None:
        data, kind = snapshot.data, snapshot.kind
        when = "before training" if snapshot.epoch == 0 else f"after epoch {snapshot.epoch}"
        if kept:
            when += " (the kept weights)"
        classified = "class_names" in data
        if (kind, classified) != self._last_shape:   # another task: its plot starts from its own range
            self.plot_widget.reset_range()
            self._last_shape = (kind, classified)
        self.shows = "predictions"
        if kind == "boundary2d":
            self.stack.setCurrentWidget(self.plot_widget)
            self.plot_widget.draw_boundary(data)
            self.title.setText(f"Decision boundary {when}: colour = predicted class (pale where unsure), "
                               f"dots = data in their true class")
        elif kind == "curve1d":
            self.stack.setCurrentWidget(self.plot_widget)
            self.plot_widget.draw_curve(data)
            self.title.setText(f"Fitted curve {when} (orange: model, grey: data)")
        elif kind == "reconstruction":
            self._draw_reconstructions(data)
            self.title.setText(f"Reconstructions {when}: each input, then what the model rebuilt from it")
        elif kind == "images":
            self._draw_images(data)
            self.title.setText(f"Predicted labels {when}: green right, red wrong (true label in brackets)"
                               if classified else f"Predicted values {when} (true value in brackets)")
        elif kind == "sequence":
            self.stack.setCurrentWidget(self.sequence_grid)
            if classified:
                self.sequence_grid.show_classified(data["sequences"], data["pred"], data["true"],
                                                   data["class_names"], data.get("confidence"))
                self.title.setText(f"Predicted classes {when}: each wave in its prediction's colour "
                                   f"(the true class in red where wrong)")
            else:
                self.sequence_grid.show_regressed(data["sequences"], data["true"], data["pred"])
                self.title.setText(f"Predicted sequences {when}: input grey, true target dashed, "
                                   f"prediction orange")
        elif classified:
            self._draw_rows(data)
            self.title.setText(f"Predicted classes {when} for sample rows: green right, red wrong")
        else:
            self.stack.setCurrentWidget(self.plot_widget)
            self.plot_widget.draw_predicted_vs_actual(data["true"], data["pred"])
            self.title.setText(f"Predicted against actual values {when}, {len(data['true']):,} validation rows: "
                               f"on the dashed line a prediction is exact")
        self.snapshots_shown += 1
        self.last_kind, self.last_epoch = kind, snapshot.epoch

    def _draw_reconstructions(self, data) -> None:
        self.stack.setCurrentWidget(self.image_grid)
        self._show_classes(False)  # nothing is classified
        originals, rebuilt = np.asarray(data["images"]), np.asarray(data["reconstructions"])
        pairs = min(len(originals), self.image_grid.capacity // 2)
        images = [image for index in range(pairs) for image in (originals[index], rebuilt[index])]
        self.image_grid.set_images(images, ["input", "rebuilt"] * pairs)

    def _draw_images(self, data) -> None:
        self.stack.setCurrentWidget(self.image_grid)
        if "class_names" not in data:   # image regression: the first output's value
            true = np.asarray(data["true"]).reshape(len(data["true"]), -1)[:, 0]
            pred = np.asarray(data["pred"]).reshape(len(data["pred"]), -1)[:, 0]
            captions = [f"{number_text(p)} ({number_text(t)})" for p, t in zip(pred, true)]
            self.image_grid.set_images(np.asarray(data["images"]), captions)
            return
        captions, correct, tips = [], [], []
        label = class_namer(data["class_names"])
        for true, pred in zip(data["true"], data["pred"]):
            right = int(true) == int(pred)
            captions.append(label(pred) if right else f"{label(pred)} (is {label(true)})")
            correct.append(right)
            tips.append(f"predicted {label(pred)}, true {label(true)}")
        self.image_grid.set_images(np.asarray(data["images"]), captions, correct, tips)

    def _draw_rows(self, data) -> None:
        self.stack.setCurrentWidget(self.row_table)
        x = np.asarray(data["x"])
        x = x.reshape(len(x), -1)
        label = class_namer(data["class_names"])
        true, pred = [int(t) for t in data["true"]], [int(p) for p in data["pred"]]
        right = [t == p for t, p in zip(true, pred)]
        self.row_table.show_rows(x, column_names(data.get("feature_names", []), x.shape[1]), extra=[
            ("predicted", [label(p) for p in pred], right), ("true", [label(t) for t in true], [None] * len(true))])


class ClassesTabs(QWidget):
    """The confusion matrix and the calibration view, one at a time under a tab bar [classesTabs]."""

    def __init__(self, confusion: QWidget, calibration: QWidget, parent=None):
        super().__init__(parent)
        self.setObjectName("classesTabs")
        self.setMaximumWidth(confusion.maximumWidth())
        self.tabs = QTabBar()
        self.tabs.setDocumentMode(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setExpanding(True)
        small = self.tabs.font()
        small.setPointSize(8)
        self.tabs.setFont(small)
        self.pages = QStackedWidget()
        for page, name in ((confusion, "Confusion"), (calibration, "Calibration")):
            self.tabs.addTab(name)
            self.pages.addWidget(page)
        self.tabs.setTabToolTip(0, "Counts of true against predicted classes: click a cell to see its samples")
        self.tabs.currentChanged.connect(self.pages.setCurrentIndex)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.tabs)
        layout.addWidget(self.pages, 1)

    def isTabEnabled(self, index: int) -> bool:
        return self.tabs.isTabEnabled(index)


def class_namer(class_names):
    names = [str(n) for n in class_names]
    return lambda index: names[int(index)] if 0 <= int(index) < len(names) else str(int(index))


def one_of_each_class_first(labels, count: int) -> np.ndarray:
    """Indices of up to ``count`` samples, taking the classes in turn (the first of each class,
    then the second of each, ...), so a preview shows every class it has room for."""
    labels = np.asarray(labels).astype(np.int64)
    by_class = [np.flatnonzero(labels == label)[:count] for label in np.unique(labels)]
    picked = [members[rank] for rank in range(count) for members in by_class if rank < len(members)]
    return np.array(picked[:count], dtype=np.int64)
