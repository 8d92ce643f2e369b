"""Choosing and importing data: the Workspace's half that loads datasets. Mixed into ``Workspace``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data import DataError, DataSource, load_dataset
from ..data.builtin import check_options
from ..training import default_loss_for, get_loss
from . import events as ev
from .runs import IDLE

DEFAULT_DATA = {"kind": "builtin", "name": "spiral", "options": {}}


class DataChoice:
    """choose_builtin / import_data, and loading a project's data source."""

    def choose_builtin(self, name: str, options: dict | None = None) -> None:
        with self._lock:
            self._require_idle("choose a dataset")
            try:
                options = check_options(name, dict(options or {}))
                dataset = load_dataset(name, **options)
            except (DataError, KeyError) as error:
                self._refuse("choose a dataset", str(error))
            self._set_data({"kind": "builtin", "name": name, "options": options}, dataset)

    def import_data(self, source: dict, dataset=None, split: dict | None = None, base_dir=None) -> None:
        """Use imported data (``dataset`` when the caller has loaded it already); ``split`` may carry
        val_fraction, test_fraction, standardize and seed from the import dialog."""
        with self._lock:
            self._require_idle("import data")
            try:
                source = DataSource.from_dict(source).to_dict()
                if dataset is None:
                    dataset = DataSource.from_dict(source).load(base_dir)
            except (DataError, OSError) as error:
                self._refuse("import data", str(error))
            self._set_data(source, dataset, split)

    def _set_data(self, source: dict, dataset, split: dict | None = None) -> None:
        self.source, self.dataset, self.data_unavailable = dict(source), dataset, ""
        self._other_dirty = True
        if self.run is not None:
            self.run, self._predictor = None, None
            self._emit(ev.RunReplaced(None, f"the data changed to {dataset.name}: the last run learned other data"))
            previous = self._machine.reset(IDLE)
            self._emit(ev.RunStateChanged(IDLE, previous, ""))
        self._emit_data()
        changes = {k: split[k] for k in ("val_fraction", "test_fraction", "standardize", "seed") if k in (split or {})}
        target = self.settings.target
        if target in ("labels", "values") and target != ("labels" if dataset.task == "classification" else "values"):
            changes["target"] = "auto"
        task = "reconstruction" if target == "input" else dataset.task
        if not get_loss(self.settings.loss).suits(task):
            changes["loss"] = default_loss_for(task)
        if changes:
            self._apply_settings(self.settings.replace(**changes), "import data")
        self._announce_dirty()

    def _load_source(self, source: dict, base_dir) -> tuple[dict, Any, str]:
        """(source with absolute paths, dataset or None, why it could not be loaded or "")."""
        source = dict(source)
        for key in ("path", "targets_path"):
            value = source.get(key)
            if value and base_dir is not None and not Path(value).expanduser().is_absolute():
                source[key] = str((Path(base_dir) / value).resolve())
        try:
            return source, DataSource.from_dict(source).load(), ""
        except (OSError, ValueError) as error:
            return source, None, str(error)
