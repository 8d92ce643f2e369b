"""The epoch slider under the prediction views [epochSlider] (issue #16): move it and the decision
boundary, the fitted curve, the image grid and the confusion matrix show the run as it was at that
epoch, for the current run or the one picked in the Runs panel. It follows the live epoch while a
run trains, until the person moves it; "Live" hands it back."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from ..workspace import events as ev
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
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.addWidget(QLabel("Epoch"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        layout.addWidget(self.live_button)
        self.slider.valueChanged.connect(self._moved)
        hub = self.workspace.events
        hub.connect(self._snapshot_ready, ev.SnapshotReady)
        hub.connect(self._run_replaced, ev.RunReplaced)
        hub.connect(lambda _event: self._update(), ev.RunEnded)
        self._set_run(self.workspace.run)

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
