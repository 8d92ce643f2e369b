"""The bar under the prediction views (issue #16).

The epoch slider [epochSlider]: move it and the decision boundary, the fitted curve, the image grid
and the confusion matrix show the run as it was at that epoch, for the current run or the one
picked in the Runs panel. It follows the live epoch while a run trains, until the person moves it;
"Live" hands it back.

For a table of classes, "Boundary over" [boundaryFeatures] picks two feature columns: the views then
draw the decision boundary on that plane of the person's own data (the other features held at their
means), as TensorFlow Playground draws its plane."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout,
                               QWidget)

from ..workspace import events as ev
from ..workspace import WorkspaceError
from ..workspace.run_record import snapshot_at


class ReplaySlider(QWidget):
    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.setObjectName("replayBar")
        self.window = window
        self.workspace = window.workspace
        self.run = None               # the run replayed (the current one unless picked in the Runs panel)
        self.epochs: list[int] = []   # the epochs it has snapshots of, in order
        self.following = True         # shows the newest (live) epoch; False once the person moves it
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("epochSlider")
        self.slider.setAccessibleName("Epoch shown")
        self.slider.setToolTip("Move to see the predictions and the confusion matrix as they were at that epoch")
        self.slider.setPageStep(1)
        self.label = QLabel()
        self.label.setObjectName("epochSliderLabel")
        self.live_button = QPushButton("Live")
        self.live_button.setObjectName("epochLiveButton")
        self.live_button.setToolTip("Follow the newest epoch again")
        self.live_button.clicked.connect(self.follow_live)
        self.features_box = QCheckBox("Boundary over")
        self.features_box.setObjectName("boundaryFeatures")
        self.features_box.setToolTip("Draw the decision boundary over two features of the table (the other "
                                     "features held at their means)")
        self.feature_combos = (QComboBox(), QComboBox())
        for index, combo in enumerate(self.feature_combos):
            combo.setObjectName(("boundaryFeatureX", "boundaryFeatureY")[index])
            combo.currentIndexChanged.connect(self._features_changed)
        self.features_box.toggled.connect(self._features_changed)
        self.features_row = QWidget()
        row = QHBoxLayout(self.features_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.features_box)
        row.addWidget(self.feature_combos[0], 1)
        row.addWidget(QLabel("×"))
        row.addWidget(self.feature_combos[1], 1)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Epoch"))
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.label)
        slider_row.addWidget(self.live_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.features_row)
        layout.addLayout(slider_row)
        self.slider.valueChanged.connect(self._moved)
        hub = self.workspace.events
        hub.connect(self._snapshot_ready, ev.SnapshotReady)
        hub.connect(self._run_replaced, ev.RunReplaced)
        hub.connect(lambda _event: self._update(), ev.RunEnded)
        hub.connect(lambda _event: self._fill_features(), ev.DataChanged, ev.SettingsChanged)
        self._set_run(self.workspace.run)
        self._fill_features()

    @property
    def holds_view(self) -> bool:
        """Whether the predictions show an epoch the person chose (live updates must leave them be)."""
        return not self.following

    # -- which run ---------------------------------------------------------------------------------

    def pick(self, run) -> None:
        """Replay ``run`` (picked in the Runs panel); None goes back to the current run."""
        target = run if run is not None else self.workspace.run
        if target is self.run:
            return
        self._set_run(target)
        if run is not None and run is not self.workspace.run:
            self.following = False
            self.show_epoch(self.epochs[-1] if self.epochs else 0)
        else:
            self.follow_live()

    def _run_replaced(self, event: ev.RunReplaced) -> None:
        self.following = True
        self._set_run(event.run)

    def _set_run(self, run) -> None:
        self.run = run
        self._update()

    def _snapshot_ready(self, event: ev.SnapshotReady) -> None:
        if event.run is self.run:
            self._update()

    def _update(self) -> None:
        run = self.run
        self.epochs = sorted(run.snapshots) if run is not None else []
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.epochs) - 1))
        if self.following:
            self.slider.setValue(len(self.epochs) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.epochs) > 1)
        self.live_button.setVisible(not self.following)
        self._show_label()

    def _show_label(self) -> None:
        if not self.epochs:
            self.label.setText("no snapshots yet")
            return
        epoch = self.epochs[self.slider.value()]
        total = self.run.last_epoch if self.run is not None else 0
        where = "live" if self.following and self.run is self.workspace.run and not self.run.ended else (
            "kept" if self.run is not None and epoch == self.run.kept_epoch else "")
        name = f"{self.run.name}: " if self.run is not self.workspace.run else ""
        self.label.setText(f"{name}{epoch} / {total}" + (f" ({where})" if where else ""))

    # -- moving ----------------------------------------------------------------------------------

    def _moved(self, index: int) -> None:
        if not self.epochs:
            return
        self.following = False
        self.live_button.setVisible(True)
        self.show_epoch(self.epochs[index])

    def show_epoch(self, epoch: int) -> None:
        """Show the replayed run's predictions and confusion matrix at ``epoch`` (its nearest snapshot)."""
        run = self.run
        if run is None:
            return
        snapshot = snapshot_at(run, epoch)
        if snapshot is None:
            return
        if snapshot.epoch in self.epochs and self.epochs[self.slider.value()] != snapshot.epoch:
            self.slider.blockSignals(True)
            self.slider.setValue(self.epochs.index(snapshot.epoch))
            self.slider.blockSignals(False)
        predictions = self.window.predictions
        predictions.set_snapshot(snapshot, snapshot.epoch == run.kept_epoch and run.ended)
        confusion = run.confusions.get(snapshot.epoch)
        if confusion is not None:
            predictions.set_confusion(confusion, run.class_names, snapshot.epoch)
        self._show_label()

    def follow_live(self) -> None:
        """Back to the newest epoch of the current run (the kept one once it has ended)."""
        self.following = True
        self.run = self.workspace.run
        self._update()
        run = self.run
        if run is None:
            return
        shown = run.kept_snapshot if run.ended and run.kept_snapshot is not None else run.latest_snapshot
        if shown is not None:
            self.window.predictions.set_snapshot(shown, run.ended and shown is run.kept_snapshot)
        matrix = run.kept_confusion if run.ended and run.kept_confusion is not None else run.confusion
        if matrix is not None:
            self.window.predictions.set_confusion(matrix, run.class_names,
                                                  run.kept_epoch if run.ended else run.confusion_epoch)

    # -- the plane of a table ----------------------------------------------------------------------

    def _fill_features(self) -> None:
        """Offer the table's feature columns (shown only for a table of classes with two or more)."""
        dataset, settings = self.workspace.dataset, self.workspace.settings
        names = []
        if dataset is not None and dataset.kind == "table" and dataset.task == "classification" \
                and dataset.x.ndim == 2 and dataset.x.shape[1] >= 2:
            names = list(dataset.feature_names) or [f"feature {k + 1}" for k in range(dataset.x.shape[1])]
        self.features_row.setVisible(bool(names))
        pair = settings.view_features or [0, 1]
        widgets = (self.features_box, *self.feature_combos)
        for widget in widgets:
            widget.blockSignals(True)
        for combo, chosen in zip(self.feature_combos, pair):
            if [combo.itemText(i) for i in range(combo.count())] != names:
                combo.clear()
                combo.addItems(names)
            combo.setCurrentIndex(chosen if chosen < len(names) else 0)
            combo.setEnabled(settings.view_features is not None)
        self.features_box.setChecked(settings.view_features is not None and bool(names))
        for widget in widgets:
            widget.blockSignals(False)

    def _features_changed(self, *_args) -> None:
        pair = [combo.currentIndex() for combo in self.feature_combos]
        for combo in self.feature_combos:
            combo.setEnabled(self.features_box.isChecked())
        wanted = pair if self.features_box.isChecked() and pair[0] != pair[1] and min(pair) >= 0 else None
        if self.features_box.isChecked() and pair[0] == pair[1]:
            self.window.show_status("Pick two different features to draw the boundary over.")
            return
        if wanted == self.workspace.settings.view_features:
            return
        try:
            self.workspace.set_settings(view_features=wanted)
        except WorkspaceError:
            return
        if not self.workspace.busy:
            self.follow_live()
            try:
                self.workspace.refresh_kept_predictions()   # the kept weights, drawn on the new plane
            except WorkspaceError:
                pass   # the Refused event says why
