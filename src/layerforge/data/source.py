"""Where a project's data comes from, as a plain dict a project file can store and reload.

    {"kind": "builtin", "name": "spiral", "options": {"noise": 0.1}}
    {"kind": "csv", "path": "data/flowers.csv", "target_column": "species"}
    {"kind": "image_folder", "path": "photos", "size": [32, 32], "mode": "RGB"}
    {"kind": "arrays", "path": "train.npz"}
    {"kind": "download", "name": "mnist", "subset": "all"}        (a dataset kept in the user's cache)
    {"kind": "idx", "path": "train-images-idx3-ubyte.gz", "targets_path": "train-labels-idx1-ubyte.gz"}

Any kind may add ``"augment": {"crop_padding": 4, "hflip": true}``: training batches are augmented.

Relative paths are resolved against the project's folder (``base_dir``).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from .arrays import read_arrays
from .augment import check_augment, describe_augment
from .builtin import check_options, load_dataset
from .csv_import import MISSING_POLICIES, read_csv
from .dataset import TASKS, ArrayDataset, DataError
from .idx import read_idx_dataset
from .image_folder import read_image_folder
from .images import IMAGE_MODES
from .remote_datasets import SUBSETS, is_remote_dataset, load_remote, remote_dataset

_OPTIONAL = object()


def _text(value):
    return isinstance(value, str) and value != ""


def _column(value):
    return isinstance(value, (str, int)) and not isinstance(value, bool)


def _columns(value):
    return isinstance(value, list) and all(_column(v) for v in value)


def _size(value):
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))


# Per kind: key -> (check, default or _OPTIONAL meaning "required", what the value must be).
_SCHEMA = {
    "builtin": {
        "name": (_text, _OPTIONAL, "a built-in dataset name"),
        "options": (lambda v: isinstance(v, dict), {}, "a dict of options"),
    },
    "csv": {
        "path": (_text, _OPTIONAL, "a file path"),
        "target_column": (lambda v: v is None or _column(v) or _columns(v), None,
                          "a column name or 0-based index, a list of them, or null"),
        "feature_columns": (lambda v: v is None or _columns(v), None,
                            "a list of column names or indices, or null"),
        "has_header": (lambda v: v is None or isinstance(v, bool), None, "true, false or null"),
        "task": (lambda v: v is None or v in TASKS, None, f"one of {TASKS} or null"),
        "delimiter": (lambda v: v is None or (isinstance(v, str) and len(v) == 1), None,
                      "one character or null"),
        "missing": (lambda v: v in MISSING_POLICIES, "error", f"one of {MISSING_POLICIES}"),
    },
    "image_folder": {
        "path": (_text, _OPTIONAL, "a folder path"),
        "size": (_size, [32, 32], "[height, width] in pixels"),
        "mode": (lambda v: v in IMAGE_MODES, "L", f"one of {IMAGE_MODES}"),
    },
    "arrays": {
        "path": (_text, _OPTIONAL, "a .npz or .npy path"),
        "targets_path": (lambda v: v is None or _text(v), None, "a .npy path or null"),
        "task": (lambda v: v is None or v in TASKS, None, f"one of {TASKS} or null"),
        "x_key": (lambda v: v is None or _text(v), None, "an array name or null"),
        "y_key": (lambda v: v is None or _text(v), None, "an array name or null"),
    },
    "download": {
        "name": (is_remote_dataset, _OPTIONAL, "a downloadable dataset (layerforge datasets)"),
        "subset": (lambda v: v in SUBSETS, "all", f"one of {SUBSETS}"),
    },
    "idx": {
        "path": (_text, _OPTIONAL, "an IDX images file (.gz or raw)"),
        "targets_path": (lambda v: v is None or _text(v), None, "an IDX labels file or null"),
    },
}
_PATH_KEYS = ("path", "targets_path")


@dataclass(frozen=True)
class DataSource:
    """A validated data source. ``settings`` holds every key of its kind, defaults filled in."""

    kind: str
    settings: dict

    @classmethod
    def from_dict(cls, data) -> "DataSource":
        if not isinstance(data, dict):
            raise DataError(f"data source must be a dict with a 'kind', got {type(data).__name__}")
        kind = data.get("kind")
        if kind not in _SCHEMA:
            raise DataError(f"data source kind must be one of {', '.join(_SCHEMA)}, got {kind!r}")
        schema = _SCHEMA[kind]
        augment = check_augment(data.get("augment"), f"data source ({kind}): 'augment'")
        unknown = sorted(set(data) - set(schema) - {"kind", "augment"})
        if unknown:
            raise DataError(f"data source ({kind}) has unknown key(s) {', '.join(map(repr, unknown))};"
                            f" its keys are: {', '.join(schema)}")
        settings = {}
        for key, (check, default, meaning) in schema.items():
            if key not in data:
                if default is _OPTIONAL:
                    raise DataError(f"data source ({kind}) needs '{key}': {meaning}")
                settings[key] = copy.deepcopy(default)
                continue
            if not check(data[key]):
                raise DataError(f"data source ({kind}): '{key}' must be {meaning}, "
                                f"got {data[key]!r}")
            settings[key] = copy.deepcopy(data[key])
        if kind == "builtin":
            settings["options"] = check_options(settings["name"], settings["options"])
        if kind == "image_folder":
            settings["size"] = list(settings["size"])
        if augment:   # kept only when on, so a source without it reads (and saves) as before
            settings["augment"] = augment
        return cls(kind, settings)

    @classmethod
    def builtin(cls, name: str, **options) -> "DataSource":
        return cls.from_dict({"kind": "builtin", "name": name, "options": options})

    def to_dict(self) -> dict:
        """Plain JSON-safe dict; ``DataSource.from_dict(s.to_dict()) == s``."""
        return {"kind": self.kind, **copy.deepcopy(self.settings)}

    def _resolve(self, key: str, base_dir) -> Path | None:
        value = self.settings.get(key)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            where = f" (relative to {base_dir})" if base_dir is not None and not Path(
                value).is_absolute() else ""
            raise DataError(f"data source ({self.kind}): {value}{where} does not exist; was it "
                            "moved or renamed? Choose the data again.")
        return path

    def relative_to(self, base_dir) -> "DataSource":
        """The same source with paths inside ``base_dir`` stored relative to it, so a project
        folder can be moved as a whole."""
        settings = copy.deepcopy(self.settings)
        for key in _PATH_KEYS:
            if settings.get(key):
                path = Path(settings[key]).expanduser()
                if path.is_absolute():
                    try:
                        settings[key] = Path(os.path.relpath(path, base_dir)).as_posix()
                    except ValueError:   # another drive on Windows
                        continue
                    if settings[key].startswith(".."):
                        settings[key] = str(path)
        return DataSource(self.kind, settings)

    def load(self, base_dir=None) -> ArrayDataset:
        dataset = self._load(base_dir)
        augment = self.settings.get("augment", {})
        if augment and len(dataset.input_shape) != 3:
            raise DataError(f"data source ({self.kind}): augmentation ({describe_augment(augment)}) works on "
                            f"images (channels, height, width); '{dataset.name}' has samples of shape "
                            f"{dataset.input_shape}: remove 'augment' from the data source")
        dataset.augment = dict(augment)
        return dataset

    def _load(self, base_dir=None) -> ArrayDataset:
        s = self.settings
        if self.kind == "builtin":
            return load_dataset(s["name"], **s["options"])
        if self.kind == "download":
            return load_remote(s["name"], s["subset"])
        path = self._resolve("path", base_dir)
        if self.kind == "csv":
            return read_csv(path, target_column=s["target_column"],
                            feature_columns=s["feature_columns"], has_header=s["has_header"],
                            task=s["task"], delimiter=s["delimiter"], missing=s["missing"])
        if self.kind == "image_folder":
            return read_image_folder(path, size=tuple(s["size"]), mode=s["mode"])
        if self.kind == "idx":
            return read_idx_dataset(path, self._resolve("targets_path", base_dir))
        return read_arrays(path, targets_path=self._resolve("targets_path", base_dir),
                           task=s["task"], x_key=s["x_key"], y_key=s["y_key"])

    def describe(self) -> str:
        """A short label for the GUI and the CLI."""
        s = self.settings
        if self.kind == "builtin":
            options = ", ".join(f"{k}={v}" for k, v in s["options"].items())
            return f"built-in '{s['name']}'" + (f" ({options})" if options else "")
        if self.kind == "download":
            part = "" if s["subset"] == "all" else f", {s['subset']} part only"
            return f"{remote_dataset(s['name']).title} (downloaded{part})"
        name = Path(s["path"]).name
        if self.kind == "csv":
            target = "last column" if s["target_column"] is None else repr(s["target_column"])
            return f"CSV {name} (target: {target})"
        if self.kind == "image_folder":
            height, width = s["size"]
            return f"image folder {name} ({width}x{height}, {s['mode']})"
        if self.kind == "idx":
            return f"IDX {name}"
        return f"arrays {name}"


def validate_source(data) -> dict:
    """The source dict with defaults filled in, or DataError saying what is wrong."""
    return DataSource.from_dict(data).to_dict()


def load_source(source, base_dir=None) -> ArrayDataset:
    """Load the dataset a source dict (or DataSource) describes."""
    if not isinstance(source, DataSource):
        source = DataSource.from_dict(source)
    return source.load(base_dir)
