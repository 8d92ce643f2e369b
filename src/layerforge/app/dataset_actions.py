"""The Data menu [dataMenu] with Get dataset… [actionGetDataset], the offer to download what an
opened project needs, and the Data panel's augmentation kept in the project, attached by one call:
``install_datasets(window)``.

A project whose data is a downloadable dataset not in the cache yet (an example such as
mnist_mlp, or a project from another machine) opens with a banner that says so and a button that
opens the dialog on that dataset; Train stays refused with the reason until the data is there.
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMenu

from ..data.augment import describe_augment
from ..data.remote_datasets import is_remote_dataset, remote_dataset
from ..workspace import WorkspaceError
from ..workspace import events as ev
from .actions import named_action
from .dialogs.get_dataset_dialog import GetDatasetDialog


def _data_menu(window) -> QMenu:
    """The menu bar's Data menu, made before Run (or at the end) when missing."""
    bar = window.menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == "Data":
            return action.menu()
    menu = QMenu("&Data", bar)
    before = next((a for a in bar.actions() if a.menu() is not None
                   and a.text().replace("&", "") in ("Run", "Model", "Help")), None)
    if before is None:
        bar.addMenu(menu)
    else:
        bar.insertMenu(before, menu)
    return menu


class DatasetActions:
    def __init__(self, window):
        self.window = window
        self.dialog: GetDatasetDialog | None = None
        self.action_get = named_action(window, "actionGetDataset", "&Get dataset…", self.show_dialog,
                                       tip="Download MNIST, Fashion-MNIST, KMNIST or CIFAR-10 (or import the "
                                           "archives you have) and use it in this project")
        self.menu = _data_menu(window)
        self.menu.setObjectName("dataMenu")
        import_action = window.findChild(type(self.action_get), "actionImportData")
        self.menu.addAction(self.action_get)
        if import_action is not None:
            self.menu.addAction(import_action)
        window.workspace.events.connect(self._data_changed, ev.DataChanged)
        window.dataset_panel.augmentChanged.connect(self.set_augment)
        window.dataset_panel.downloadChosen.connect(self.show_dialog)
        self._offer_timer = QTimer(window)
        self._offer_timer.setSingleShot(True)
        self._offer_timer.timeout.connect(self.offer_download)

    def show_dialog(self, preselect: str | None = None) -> GetDatasetDialog:
        if self.dialog is not None and self.dialog.job is not None:   # a download is under way: show it
            dialog = self.dialog
        else:
            if self.dialog is not None:
                self.dialog.deleteLater()
            current = self.window.workspace.source
            if preselect is None and current.get("kind") == "download":
                preselect = current.get("name")
            dialog = self.dialog = GetDatasetDialog(self.window, preselect)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def set_augment(self, augment: dict) -> None:
        """The Data panel's augmentation, kept with the data source (so the project saves it)."""
        workspace = self.window.workspace
        source, dataset = dict(workspace.source or {}), workspace.dataset
        if dataset is None or (source.get("augment") or {}) == augment:
            return
        if augment:
            source["augment"] = dict(augment)
        else:
            source.pop("augment", None)
        try:
            workspace.import_data(source, replace(dataset, augment=dict(augment)))
        except WorkspaceError as error:
            self.window.show_status(f"Augmentation unchanged: {error}")
            self.window.dataset_panel.show_data(workspace.source, workspace.dataset, workspace.data_unavailable)
            return
        what = describe_augment(augment)
        self.window.show_status(f"Training batches are augmented: {what}." if what else "Augmentation is off.")

    def missing_dataset(self) -> str | None:
        """The downloadable dataset the project uses but the cache lacks, if any."""
        workspace = self.window.workspace
        source = workspace.source or {}
        if source.get("kind") == "download" and workspace.dataset is None and is_remote_dataset(source.get("name")):
            return source["name"]
        return None

    def _data_changed(self, _event) -> None:
        # After the opening's own notes (shown once open returns), so this offer is the one seen.
        self._offer_timer.start(0)

    def offer_download(self) -> None:
        name = self.missing_dataset()
        if name is None:
            return
        info = remote_dataset(name)
        size = f" ({info.download_bytes / 1e6:.0f} MB)" if info.download_bytes else ""
        self.window.banner.show_message(
            "warning", f"This project trains on {info.title}, which is not downloaded yet{size}. Get it once; "
                       "it is kept for every project.", f"Get {info.title}…", lambda: self.show_dialog(name))


def install_datasets(window) -> DatasetActions:
    """Attach the Data menu and the download offer to ``window`` (once); also ``window.dataset_actions``."""
    existing = getattr(window, "dataset_actions", None)
    if existing is None:
        existing = window.dataset_actions = DatasetActions(window)
    return existing
