"""Data > Get dataset… [getDatasetDialog]: MNIST, Fashion-MNIST, KMNIST and CIFAR-10, each with its
size and whether it is in the cache [datasetTable]; Download [downloadButton] with a progress bar
[downloadProgress] and Cancel [cancelDownloadButton]; when it fails, the reason [downloadStatus],
Retry [retryButton] and Import from file… [importFilesButton] (archives already downloaded).

Downloading, checking and loading run in a worker thread (:class:`DatasetJob`); the dialog only
shows what the job reports, so the window never stalls. When the data is ready the project uses it
through the workspace's ``import_data`` operation, and the dialog closes.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout)

from ...data import DataError
from ...data.dataset_cache import cache_root
from ...data.downloads import DownloadCancelled
from ...data.remote_datasets import (download, import_files, is_cached, load_remote, remote_dataset,
                                     remote_datasets)
from ...workspace import WorkspaceError
from .. import theme

PROGRESS_EVERY_S = 0.05   # at most 20 progress updates a second reach the GUI thread


class DatasetJob(QObject):
    """Download (or import) then load one dataset in a Python thread; reports through signals,
    which Qt queues to the GUI thread."""

    progress = Signal(object, object, str)   # bytes done, bytes in all (or None), what it does
    succeeded = Signal(str, object)          # name, the loaded ArrayDataset
    failed = Signal(str, str)                # name, why
    cancelled = Signal(str)

    def __init__(self, name: str, import_paths=None, mirror=None, parent=None):
        super().__init__(parent)
        self.name, self.import_paths, self.mirror = name, list(import_paths or []), mirror
        self.cancel_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"get-dataset-{name}", daemon=True)
        self._last = 0.0

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def _report(self, progress) -> None:
        now = time.monotonic()
        if progress.note or now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            what = progress.note or f"downloading {progress.file}"
            self._emit(self.progress, progress.done, progress.total, what)

    def _emit(self, signal, *values) -> None:
        try:
            signal.emit(*values)
        except RuntimeError:   # the dialog (and this job with it) is gone: the window closed
            self.cancel_event.set()

    def _run(self) -> None:
        info = remote_dataset(self.name)
        try:
            if self.import_paths:
                self._emit(self.progress, 0, None, "checking the files")
                import_files(self.name, self.import_paths, self.cancel_event)
            if not is_cached(self.name):
                download(self.name, mirror=self.mirror, progress=self._report, cancel=self.cancel_event)
            if self.cancel_event.is_set():
                raise DownloadCancelled("cancelled")
            self._emit(self.progress, 1, 1, f"loading {info.title}")
            dataset = load_remote(self.name, "all")
        except DownloadCancelled:
            self._emit(self.cancelled, self.name)
        except (DataError, OSError, MemoryError) as error:
            self._emit(self.failed, self.name, str(error) or type(error).__name__)
        else:
            self._emit(self.succeeded, self.name, dataset)


class GetDatasetDialog(QDialog):
    """See the module docstring. ``preselect`` picks a dataset's row (an example that needs it)."""

    COLUMNS = ("Dataset", "Images", "Download", "State")

    def __init__(self, window, preselect: str | None = None):
        super().__init__(window)
        self.window = window
        self.setObjectName("getDatasetDialog")
        self.setWindowTitle("Get dataset")
        self.resize(640, 340)
        self.job: DatasetJob | None = None
        self.last_error = ""
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("datasetTable")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.description = QLabel()
        self.description.setObjectName("datasetDescription")
        self.description.setWordWrap(True)
        self.where = QLabel(f"Kept in {cache_root()}")
        self.where.setObjectName("cacheFolderLabel")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        theme.follow(self.where, lambda label: label.setStyleSheet(f"color: {theme.hex_color('text.caption')};"))
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = QLabel()
        self.status.setObjectName("downloadStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.download_button = self._button("downloadButton", "Download", self.start_download)
        self.download_button.setDefault(True)
        self.cancel_button = self._button("cancelDownloadButton", "Cancel", self.cancel_download)
        self.retry_button = self._button("retryButton", "Retry", self.start_download)
        self.import_button = self._button("importFilesButton", "Import from file…", self.import_from_file)
        self.import_button.setToolTip("Use archives you already downloaded (IDX .gz files, or CIFAR-10's "
                                      "binary or python .tar.gz); each is checked against the published checksum")
        self.close_button = self._button("closeButton", "Close", self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        for button in (self.retry_button, self.download_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.description)
        layout.addWidget(self.where)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.names = [info.name for info in remote_datasets()]
        self.fill_table()
        self.table.itemSelectionChanged.connect(self._selection_changed)
        row = self.names.index(preselect) if preselect in self.names else 0
        self.table.selectRow(row)
        self._set_busy(False)

    def _button(self, name: str, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    # -- what is shown ---------------------------------------------------------------------------

    def fill_table(self) -> None:
        self.table.setRowCount(len(self.names))
        for row, name in enumerate(self.names):
            info = remote_dataset(name)
            shape = "×".join(str(d) for d in info.input_shape[1:]) + (" RGB" if info.input_shape[0] == 3 else "")
            size = f"{info.download_bytes / 1e6:.0f} MB" if info.download_bytes else "≈30 MB"
            cached = is_cached(name)
            cells = (info.title, f"{info.n_train + info.n_test:,} · {shape}", size,
                     "in the cache" if cached else "not downloaded")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(info.description)
                self.table.setItem(row, column, item)

    @property
    def selected(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.names[rows[0].row()] if rows else self.names[0]

    def select(self, name: str) -> None:
        self.table.selectRow(self.names.index(name))

    def _selection_changed(self) -> None:
        if self.job is None:
            self._show_selected()

    def _show_selected(self) -> None:
        info = remote_dataset(self.selected)
        self.description.setText(f"<b>{info.title}</b>: {info.description} {info.n_train:,} training and "
                                 f"{info.n_test:,} test images. Source: {info.source}.")
        cached = is_cached(info.name)
        self.download_button.setText("Use" if cached else "Download")
        self.download_button.setToolTip(f"Use {info.title} in this project" if cached else
                                        f"Download {info.title} into the cache, then use it in this project")
        self.retry_button.setVisible(False)
        self.last_error = ""
        self._status("", "")

    def _status(self, text: str, level: str) -> None:
        colour = {"error": theme.hex_color("error.text"), "": theme.hex_color("text.caption")}.get(level, "")
        self.status.setStyleSheet(f"color: {colour};" if colour else "")
        self.status.setText(text)

    def _set_busy(self, busy: bool) -> None:
        self.table.setEnabled(not busy)
        self.download_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.retry_button.setEnabled(not busy)

    # -- actions ---------------------------------------------------------------------------------

    def start_download(self) -> None:
        self._start(DatasetJob(self.selected, parent=self))

    def import_from_file(self) -> None:
        info = remote_dataset(self.selected)
        patterns = "CIFAR-10 archives (*.tar.gz *.tgz)" if info.layout == "cifar10" else "IDX files (*.gz *ubyte*)"
        paths, _ = QFileDialog.getOpenFileNames(self, f"Import {info.title} from files", "",
                                                f"{patterns};;All files (*)")
        if paths:
            self._start(DatasetJob(info.name, import_paths=paths, parent=self))

    def _start(self, job: DatasetJob) -> None:
        self.job = job
        self.retry_button.setVisible(False)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self._status("", "")
        job.progress.connect(self._progress)
        job.succeeded.connect(self._succeeded)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self._set_busy(True)
        job.start()

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("cancelling…")

    def _progress(self, done, total, what: str) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
            self.progress.setFormat(f"{what}: {done / 1e6:.1f} of {total / 1e6:.1f} MB (%p%)")
        else:
            self.progress.setRange(0, 0)   # busy, amount unknown
            self.progress.setFormat(what)

    def _finish_job(self) -> None:
        self.job = None
        self.progress.setRange(0, 1000)
        self._set_busy(False)
        self.fill_table()

    def _succeeded(self, name: str, dataset) -> None:
        self._finish_job()
        self.progress.setValue(1000)
        self.progress.setFormat("done")
        info = remote_dataset(name)
        try:
            self.window.workspace.import_data({"kind": "download", "name": name, "subset": "all"}, dataset)
        except WorkspaceError as error:
            self._status(f"{info.title} is downloaded, but the project cannot use it now: {error}", "error")
            return
        self.window.show_status(f"The project now uses {info.title} ({len(dataset):,} images).")
        self.accept()

    def _failed(self, name: str, why: str) -> None:
        self._finish_job()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.last_error = why
        self._status(why, "error")
        self.retry_button.setVisible(True)

    def _cancelled(self, name: str) -> None:
        self._finish_job()
        self.progress.setValue(0)
        self.progress.setFormat("")
        self._status(f"Cancelled. What was downloaded of {remote_dataset(name).title} is kept: "
                     "Download resumes from there.", "")

    def done(self, result: int) -> None:   # closing while it downloads stops the download
        if self.job is not None:
            self.job.cancel()
        super().done(result)
