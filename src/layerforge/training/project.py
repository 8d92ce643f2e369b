"""Project files: a model, its data source, training settings and the last run, as versioned JSON.

``name.lfproj`` is JSON; trained weights sit beside it as ``name.weights.safetensors`` (``.npz``
where safetensors cannot be written), saved with ``engine.save``. The project records the weights'
checksum, and the two are written as one unit (see ``project_io``): a crash never leaves half a
file, nor a project beside weights of another save. A save holds the project's lock
(``project_lock``), so two processes never write it at once. Loading checks everything and raises
:class:`ProjectError` naming the file (and line/column for JSON errors); nothing is guessed.
"""
from __future__ import annotations

import importlib.util
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from layerforge import engine
from layerforge.data import DataError, DataSource, Normalization
from layerforge.data.files import read_regular_file
from layerforge.graph import GraphError, ModelSpec, compile_spec

from . import project_io
from .errors import ProjectError, TrainingError
from .project_io import WEIGHTS_SUFFIXES, error_for_path
from .project_lock import ProjectLock
from .settings import TrainingSettings
from .steering import RESUME_PREFIX

FORMAT = "layerforge-project"
VERSION = 1
SUFFIX = ".lfproj"


@dataclass
class Project:
    """Everything needed to train again or to predict: see the module docstring.

    ``history`` holds the last run's curves (``Trainer.history``: per-epoch metric lists and
    "step_loss"); ``normalization`` the training split's statistics; ``data_info`` the task, class
    names and shapes of the data the weights were trained on; ``warnings`` what loading noticed
    (e.g. a missing weights file) and is not saved.
    """

    name: str
    spec: ModelSpec
    data_source: dict
    settings: TrainingSettings = field(default_factory=TrainingSettings)
    history: dict = field(default_factory=dict)
    normalization: dict | None = None
    data_info: dict = field(default_factory=dict)
    description: str = ""
    format: str = FORMAT
    version: int = VERSION
    warnings: list = field(default_factory=list)
    changes: list = field(default_factory=list)     # settings changed while it trained (SettingsApplied dicts)
    resume: dict | None = None                      # what continuing needs, beside its tensors (steering.py)
    resume_tensors: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)        # the record of every run (workspace/run_record.py)
    keep_run_weights: int | None = None              # how many runs keep their weights beside the project

    def to_dict(self, weights_file: str | None = None) -> dict[str, Any]:
        """The project as JSON data; ``save_project`` fills in the weights file and its checksum."""
        return {"format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
                "model": self.spec.to_dict(), "data": dict(self.data_source), "settings": self.settings.to_dict(),
                "normalization": self.normalization, "data_info": dict(self.data_info),
                "history": _json_safe(self.history), "changes": _json_safe(list(self.changes)),
                "resume": _json_safe(self.resume) if self.resume else None,
                "runs": _json_safe(list(self.runs)), "keep_run_weights": self.keep_run_weights,
                "weights": weights_file}

    def record_run(self, trainer) -> None:
        """Keep what a finished run learned about the data and how it went (weights are saved apart)."""
        self.settings = trainer.settings
        self.history = {key: list(values) for key, values in trainer.history.items()}
        self.normalization = trainer.normalization
        self.data_info = trainer.data_info
        self.changes = [change.to_dict() for change in trainer.changes]
        resume = trainer.resume_state
        self.resume_tensors, self.resume = resume.pack() if resume is not None else ({}, None)

    def load_dataset(self, base_dir=None):
        """The project's dataset (relative paths resolved against ``base_dir``, the project's folder)."""
        return DataSource.from_dict(self.data_source).load(base_dir)


def weights_path_for(path) -> Path:
    """Where ``save_project`` puts the weights of ``path``: ``<stem>.weights.safetensors`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.weights.safetensors")


def save_project(project: Project, path, weights_state_dict=None) -> Path:
    """Write ``project`` to ``path`` (and the weights beside it); returns the path written.

    Data-source paths inside the project's folder are stored relative to it, so the folder can move.
    Raises ProjectLocked when another process is writing the same project.
    """
    path = Path(path)
    try:
        source = DataSource.from_dict(project.data_source).relative_to(path.parent.resolve()).to_dict()
    except DataError as error:
        raise ProjectError(f"cannot save: the data source is invalid: {error}", path) from None
    data = project.to_dict()
    data["data"] = source
    try:
        text = _to_json(data)
    except (TypeError, ValueError, RecursionError) as error:
        raise ProjectError(f"cannot save: the project holds a value JSON cannot store ({error})", path) from None
    with ProjectLock(path, "saved"):
        target = weights_path_for(path)
        project_io.remove_leftovers(path, [target.with_suffix(suffix) for suffix in WEIGHTS_SUFFIXES])
        staged = None
        if weights_state_dict is not None:
            if importlib.util.find_spec("safetensors") is None:  # the safetensors writer is optional
                target = target.with_suffix(".npz")
            state = dict(weights_state_dict)
            if project.resume and project.resume_tensors:   # the run's last state rides in the same file
                state.update(project.resume_tensors)
            staged = project_io.stage_weights(state, target)
            data.update(project_io.weights_record(staged))
            text = _to_json(data)
        try:
            project_io.commit(path, text.encode("utf-8"), staged)
        except BaseException:
            if staged is not None:
                project_io.discard(staged.temp)
            raise
    return path


# A project is a few MB at most (its largest part is the loss curve); anything far larger is not one.
MAX_PROJECT_BYTES = 256 * 1024 ** 2


def load_project(path) -> tuple[Project, dict | None]:
    """(project, weights state dict or None); ProjectError says what is wrong and where."""
    path = Path(path)
    raw = read_regular_file(path, what="project file", max_bytes=MAX_PROJECT_BYTES, error=error_for_path(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(raw[:error.start].decode("utf-8", "replace"))
        raise ProjectError("the file is not UTF-8 text; is it really a .lfproj project?", path, line, column) from None
    if not text.strip():
        raise ProjectError("the file is empty", path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        truncated = " (the file looks truncated)" if error.pos >= len(text.rstrip()) else ""
        # json's "Unterminated string starting at" expects a position after it; the line and column
        # come first in ProjectError's message instead.
        reason = re.sub(r"\s+(starting )?at$", "", error.msg)
        raise ProjectError(f"not valid JSON: {reason}{truncated}", path, error.lineno, error.colno) from None
    except RecursionError:
        raise ProjectError("the JSON is nested too deeply to be a project (a project is a few levels deep); "
                           "the file is damaged or is not a .lfproj project", path) from None
    try:
        project = _project_from_dict(data, path, text)
        weights = _load_weights(data, path, project)
    except RecursionError:
        raise ProjectError("a value in the project is nested too deeply to read; the file is damaged or "
                           "was not written by Layerforge", path) from None
    return project, weights


def _examples_folder():
    return resources.files("layerforge.resources").joinpath("examples")


def example_project_path(name: str) -> Path:
    """The shipped example project ``name`` (e.g. "spiral"), from ``resources/examples``."""
    candidate = _examples_folder().joinpath(name if name.endswith(SUFFIX) else name + SUFFIX)
    if not candidate.is_file():
        names = ", ".join(example_projects()) or "none"
        raise ProjectError(f"no example project named {name!r}; the examples are: {names}")
    return Path(str(candidate))


def example_projects() -> list[str]:
    """The names of the shipped example projects, sorted."""
    folder = _examples_folder()
    if not folder.is_dir():
        return []
    return sorted(entry.name[:-len(SUFFIX)] for entry in folder.iterdir() if entry.name.endswith(SUFFIX))


# -- reading -------------------------------------------------------------------------------------

def _project_from_dict(data: Any, path: Path, text: str) -> Project:
    if not isinstance(data, dict):
        raise ProjectError(f"a project must be a JSON object, got {type(data).__name__}", path, 1, 1)
    if data.get("format") != FORMAT:
        raise ProjectError(f"not a Layerforge project (its 'format' is {data.get('format')!r}, expected "
                           f"{FORMAT!r})", path)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(f"'version' must be a positive whole number, got {version!r}", path)
    if version > VERSION:
        raise ProjectError(f"the project was saved by a newer Layerforge (project version {version}; this "
                           f"Layerforge reads version {VERSION}): update Layerforge to open it", path)
    for key in ("model", "data", "settings"):
        if key not in data:
            raise ProjectError(f"the project has no {key!r} section", path)
    try:
        spec = ModelSpec.from_dict(data["model"])
    except GraphError as error:
        line = _line_of_node(text, error.node_id)
        raise ProjectError(f"model: {error}", path, line) from None
    try:
        source = DataSource.from_dict(data["data"]).to_dict()
    except DataError as error:
        raise ProjectError(f"data source: {error}", path) from None
    try:
        settings = TrainingSettings.from_dict(data["settings"])
    except TrainingError as error:
        raise ProjectError(f"training settings: {error}", path) from None
    normalization = data.get("normalization")
    try:
        Normalization.from_dict(normalization)
    except DataError as error:
        raise ProjectError(f"normalization: {error}", path) from None
    history, info = data.get("history") or {}, data.get("data_info") or {}
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ProjectError("'history' must be an object of lists", path)
    if not isinstance(info, dict):
        raise ProjectError("'data_info' must be an object", path)
    name = data.get("name") or path.stem
    if not isinstance(name, str):
        raise ProjectError(f"'name' must be text, got {name!r}", path)
    changes, resume = data.get("changes") or [], data.get("resume")
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise ProjectError("'changes' must be a list of objects", path)
    if resume is not None and not isinstance(resume, dict):
        raise ProjectError("'resume' must be an object", path)
    runs, keep = data.get("runs") or [], data.get("keep_run_weights")
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ProjectError("'runs' must be a list of objects", path)
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise ProjectError(f"'keep_run_weights' must be a whole number of at least 1, got {keep!r}", path)
    return Project(name, spec, source, settings, _from_json_safe(history), normalization, info,
                   str(data.get("description") or ""), FORMAT, version, changes=changes,
                   resume=resume or None, runs=runs, keep_run_weights=keep)


def _load_weights(data: dict, path: Path, project: Project) -> dict | None:
    weights = data.get("weights")
    if weights is None:
        return None
    if not isinstance(weights, str) or not weights.endswith(WEIGHTS_SUFFIXES) or "/" in weights or "\\" in weights:
        raise ProjectError(f"'weights' must be the name of a .safetensors or .npz file beside the project, "
                           f"got {weights!r}", path)
    sha256, size = data.get("weights_sha256"), data.get("weights_size")
    if sha256 is not None and not (isinstance(sha256, str) and re.fullmatch(r"[0-9a-f]{64}", sha256)):
        raise ProjectError(f"'weights_sha256' must be 64 hexadecimal digits, got {sha256!r}", path)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ProjectError(f"'weights_size' must be a whole number of bytes, got {size!r}", path)
    file, note = project_io.find_weights(path.parent / weights, sha256, size, path)
    if note:
        project.warnings.append(note)
    if file is None:
        return None
    try:
        state = engine.load(file)
    except Exception as error:  # any reader failure is a damaged file, reported as such
        raise ProjectError(f"cannot read the trained weights ({type(error).__name__}: {error})", file) from None
    if isinstance(state, dict):
        project.resume_tensors = {k: v.numpy() for k, v in state.items() if k.startswith(RESUME_PREFIX)}
        state = type(state)((k, v) for k, v in state.items() if not k.startswith(RESUME_PREFIX))
    _check_weights(state, project.spec, file)
    return state


def _check_weights(state: Any, spec: ModelSpec, file: Path) -> None:
    """The stored weights must fit the model: same names, same shapes."""
    if not isinstance(state, dict):
        raise ProjectError("the weights file does not hold named tensors", file)
    try:
        expected = compile_spec(spec).state_dict()
    except GraphError:
        return  # an invalid graph is reported when it is trained or used; its weights cannot be checked
    missing = [k for k in expected if k not in state]
    extra = [k for k in state if k not in expected]
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:5])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:5])}"] if extra else [])
        raise ProjectError(f"the weights do not match the model ({'; '.join(parts)}); train the model again",
                           file)
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ProjectError(f"the weights do not match the model: {key} has shape {tuple(state[key].shape)} "
                               f"in the file but the model needs {tuple(value.shape)}; train the model again", file)


# -- small helpers -------------------------------------------------------------------------------

def _json_safe(value: Any) -> Any:
    """Lists and dicts of plain numbers; NaN and infinities become null (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# "[" then a newline only starts a list (a newline inside a JSON string is escaped); no quotes inside
# means the list holds only numbers, booleans and nulls.
_FLAT_LIST = re.compile(r"\[\n\s*([^\[\]{}\"]*?)\n\s*\]")


def _to_json(data: dict) -> str:
    """Indented JSON, with lists of plain values kept on one line (shapes, positions, curves)."""
    text = json.dumps(data, indent=2, allow_nan=False)
    return _FLAT_LIST.sub(lambda m: "[" + ", ".join(part.strip() for part in m.group(1).split(",\n")) + "]",
                          text) + "\n"


def _from_json_safe(history: dict) -> dict:
    return {key: [float("nan") if v is None else v for v in values] for key, values in history.items()}


def _position(prefix: str) -> tuple[int, int]:
    lines = prefix.split("\n")
    return len(lines), len(lines[-1]) + 1


def _line_of_node(text: str, node_id: str | None) -> int | None:
    if node_id is None:
        return None
    match = re.search(r'"id"\s*:\s*' + re.escape(json.dumps(node_id)), text)
    return text.count("\n", 0, match.start()) + 1 if match else None
