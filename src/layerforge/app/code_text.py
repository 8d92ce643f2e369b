"""The text of the Code panel, written by the PyTorch exporter itself (one generator, not two).

The model part is ``class Model`` of model.py exactly as ``pytorch_model_code`` writes it (with the two
imports it needs); the training part is train.py's loss, optimizer, schedule and loops as
``train_script.training_code`` writes them, from the workspace's settings through
``project_export.training_hint``. Each layer's lines come from ``model_source_with_spans``, moved to
where the class sits in the panel. No Qt here.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from ..export import ExportError
from ..export.train_script import training_code
from ..export.pytorch_model_code import model_source_with_spans
from ..training import Project
from ..workspace.project_export import training_hint

MODEL_CAPTION = "# The model: class Model of model.py, as File > Export > PyTorch writes it."
TRAINING_CAPTION = "# Training: train.py of the same export (loss, optimizer, schedule and loop)."
MODEL_IMPORTS = ("import torch", "from torch import nn")


@dataclass
class PanelCode:
    """``text`` to show; ``node_lines``: each node's lines in it (numbered from 0, as Qt's blocks);
    ``problem``: why the model has no code (an invalid model), "" when it has."""

    text: str
    node_lines: dict[str, list[int]] = field(default_factory=dict)
    problem: str = ""
    model_code: str = ""

    def node_at(self, line: int) -> str | None:
        """The node whose code is on ``line`` (0-based), or None."""
        for node_id, lines in self.node_lines.items():
            if line in lines:
                return node_id
        return None


class _SettingsOnly(Project):
    """The open project as ``training_hint`` reads it for the panel: its settings, without its data.

    ``training_code`` is written from the settings alone (the split and the standardisation go into
    data.npz, not into the code; the Code view test checks the text equals the export's), so the
    panel never loads, splits or standardises a dataset on the GUI thread."""

    def load_dataset(self, project_dir=None):
        raise OSError("the Code panel writes the training code from the settings alone")


def panel_code(spec, report, settings, project_name: str = "") -> PanelCode:
    """The panel's text for a model (``spec`` and its shape report) and training settings."""
    if not report.ok:
        first = report.errors[0]
        more = len(report.errors) - 1
        reason = first.message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
        return PanelCode(_comment(f"The model is not valid, so it has no code yet: {reason}"), problem=reason)
    try:
        source, spans = model_source_with_spans(spec, report, project_name)
    except ExportError as error:
        return PanelCode(_comment(f"The model cannot be written as PyTorch code: {error}"), problem=str(error))
    model_lines, node_lines = _model_class(source, spans)
    lines = [MODEL_CAPTION, *model_lines]
    node_lines = {node_id: [line + 1 for line in numbers] for node_id, numbers in node_lines.items()}
    try:
        training = training_code(training_hint(_SettingsOnly(project_name, spec, {}, settings)))
    except ExportError as error:
        training = _comment(f"train.py cannot be written with these settings: {error}")
    lines += ["", "", TRAINING_CAPTION, *training.rstrip("\n").split("\n")]
    return PanelCode("\n".join(lines) + "\n", node_lines, model_code="\n".join(model_lines) + "\n")


def _model_class(source: str, spans: dict[str, list[tuple[int, int]]]) -> tuple[list[str], dict[str, list[int]]]:
    """The imports and ``class Model`` of model.py, and each node's lines in them (0-based)."""
    lines = source.split("\n")
    start = lines.index("class Model(nn.Module):")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i].startswith(" ")),
               len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    imports = [line for line in lines[:start] if line in MODEL_IMPORTS]
    kept = [*imports, "", "", *lines[start:end]]
    offset = len(imports) + 2 - start   # where model.py's line i lands in ``kept``
    node_lines = {}
    for node_id, node_spans in spans.items():
        numbers = [line - 1 + offset for first, last in node_spans for line in range(first, last + 1)
                   if start <= line - 1 < end]
        if numbers:
            node_lines[node_id] = numbers
    return kept, node_lines


def _comment(text: str) -> str:
    wrapped = textwrap.wrap(text, 96) or [""]
    return "\n".join(f"# {line}" for line in wrapped) + "\n"
