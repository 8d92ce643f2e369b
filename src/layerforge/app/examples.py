"""Opening the shipped example projects, and finding a model that fits a dataset.

The window opens on the spiral example. Examples are read from resources/examples/*.lfproj through
``layerforge.training.project``; when one is missing, the matching graph template stands in, so the
app always opens on something ready to train.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..data import ArrayDataset
from ..graph import ModelSpec, ShapeReport, get_template
from ..graph import templates as graph_templates
from ..graph.shape_rules import fmt
from ..training import TrainingSettings

# Example name -> the template that stands in for it when its .lfproj file is not shipped.
FALLBACK_TEMPLATES = {"spiral": "mlp_classifier", "sine": "mlp_regressor", "digits": "lenet"}
# Short names for shipped examples ("digits" is the CNN on the digits).
ALIASES = {"digits": "digits_cnn"}


@dataclass
class OpenedProject:
    name: str
    spec: ModelSpec
    data_source: dict
    settings: TrainingSettings
    path: str | None = None
    extras: dict = field(default_factory=dict)


def example_names() -> list[str]:
    try:
        from ..training.project import example_projects
        shipped = example_projects()
    except ImportError:
        shipped = []
    return shipped + [name for name in FALLBACK_TEMPLATES
                      if name not in shipped and ALIASES.get(name) not in shipped]


def open_example(name: str) -> OpenedProject:
    try:
        from ..training.project import example_project_path, load_project
        shipped = example_names()
        path = example_project_path(ALIASES[name] if name not in shipped and ALIASES.get(name) in shipped
                                    else name)
        project, _weights = load_project(path)
        return OpenedProject(project.name, project.spec, dict(project.data_source), project.settings, str(path))
    except Exception:
        if name not in FALLBACK_TEMPLATES:
            raise
    template = get_template(FALLBACK_TEMPLATES[name])
    settings = TrainingSettings.from_template(template, device="cpu", snapshot_every=1)
    return OpenedProject(name, template.spec(), {"kind": "builtin", "name": name, "options": {}}, settings)


def model_fit_problem(report: ShapeReport, dataset: ArrayDataset, target: str = "auto") -> str | None:
    """Why the model's input or output does not match ``dataset`` (None when both match).

    ``target`` is the training target: "input" (an autoencoder) must output its input's shape.
    """
    input_shape, output_shape = report.input_shape, report.output_shape
    if input_shape is not None and tuple(input_shape) != tuple(dataset.input_shape):
        return (f"The model's Input takes samples of shape {fmt(input_shape)}, but '{dataset.name}' gives "
                f"{fmt(dataset.input_shape)}.")
    if output_shape is not None and target == "input":
        if tuple(output_shape) != tuple(dataset.input_shape):
            return (f"The model rebuilds its input, so it must output {fmt(dataset.input_shape)}, "
                    f"but it outputs {fmt(output_shape)}.")
        return None
    if output_shape is not None:
        if dataset.task == "classification":
            expected = (len(dataset.class_names),)
            what = f"one score per class ({len(dataset.class_names)} classes)"
        else:
            expected = (dataset.output_dim,)
            what = f"{dataset.output_dim} value(s) per sample"
        if tuple(output_shape) != expected:
            return (f"The model outputs {fmt(output_shape)}, but '{dataset.name}' needs {what}, "
                    f"i.e. {fmt(expected)}.")
    return None


def model_for(dataset: ArrayDataset) -> tuple[str, ModelSpec, object]:
    """A template model shaped for ``dataset``: (template name, spec, template)."""
    classes = len(dataset.class_names)
    shape = tuple(dataset.input_shape)
    for template in graph_templates():
        if template.dataset == dataset.name:
            spec = template.spec()
            from ..graph import infer_shapes
            if model_fit_problem(infer_shapes(spec), dataset) is None:
                return template.name, spec, template
    if dataset.kind == "images":
        template = get_template("lenet")
        return template.name, template.spec(input_shape=shape, num_classes=max(classes, 1)), template
    if dataset.kind == "sequence" and dataset.task == "classification":
        template = get_template("lstm_classifier")
        return template.name, template.spec(seq_len=shape[0], features=shape[1], num_classes=classes), template
    if dataset.task == "classification" and len(shape) == 1:
        template = get_template("mlp_classifier")
        return template.name, template.spec(in_features=shape[0], num_classes=classes), template
    template = get_template("mlp_regressor")
    if len(shape) == 1:
        return template.name, template.spec(in_features=shape[0], out_features=dataset.output_dim), template
    spec = template.spec(in_features=1, out_features=dataset.output_dim)
    return template.name, spec, template
