"""The weights of the project's earlier runs, in files beside it (issue #16):
``<name>.run-<number>.safetensors``, one per run that keeps its weights, never pickle.

They are written before the project (each atomically), and the project records each one's name and
sha256; a file that is missing, not a regular file, too large or not the one recorded is reported
and that run keeps its record without weights. Files of runs no longer kept are removed after a save.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import engine
from ..training import project_io
from ..training.project import MAX_PROJECT_BYTES

RUN_FILE = re.compile(r"\.run-(\d+)\.safetensors$")
MAX_RUN_WEIGHTS_BYTES = 4 * 1024 ** 3   # a run's weights; anything larger is not one of ours


def run_weights_path(project_path: Path, number: int) -> Path:
    stem = project_path.name[:-len(".lfproj")] if project_path.name.endswith(".lfproj") else project_path.stem
    return project_path.with_name(f"{stem}.run-{number}.safetensors")


def write_run_weights(project_path: Path, runs, current) -> dict[int, dict]:
    """Write the weights of the runs other than ``current`` that hold them; {number: record fields}."""
    written = {}
    for run in runs:
        if run is current or run.weights is None:
            continue
        target = run_weights_path(project_path, run.number)
        staged = project_io.stage_weights(run.weights, target)
        staged.temp.replace(target)
        written[run.number] = {"weights": target.name, "weights_sha256": staged.sha256, "weights_size": staged.size}
    return written


def remove_unlisted(project_path: Path, kept: set[str]) -> None:
    """Remove the run weight files of this project that the saved project no longer lists."""
    stem = project_path.name[:-len(".lfproj")]
    for file in project_path.parent.glob(f"{glob_escape(stem)}.run-*.safetensors"):
        if RUN_FILE.search(file.name) and file.name not in kept and file.is_file() and not file.is_symlink():
            try:
                file.unlink()
            except OSError:
                pass   # left for the next save


def read_run_weights(project_path: Path, record: dict) -> tuple[dict | None, str]:
    """(state dict, "") or (None, why not) for a run record that names a weights file."""
    name = record.get("weights")
    if not name:
        return None, ""
    if not isinstance(name, str) or "/" in name or "\\" in name or not RUN_FILE.search(name):
        return None, f"run {record.get('number')}: its weights file name {name!r} is not one Layerforge writes"
    file = project_path.parent / name
    found, note = project_io.find_weights(file, record.get("weights_sha256"), record.get("weights_size"),
                                          project_path)
    if found is None:
        return None, note or f"run {record.get('number')}: its weights ({name}) are missing"
    try:
        if found.stat().st_size > MAX_RUN_WEIGHTS_BYTES + MAX_PROJECT_BYTES:
            return None, f"run {record.get('number')}: {name} is too large to be its weights"
        return dict(engine.load(found)), note
    except Exception as error:   # a damaged file: the run keeps its record  # noqa: BLE001
        return None, f"run {record.get('number')}: cannot read {name} ({type(error).__name__}: {error})"


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)
