"""Whether the model fits the data, and a template model that does (the "Use a matching model" fix).

Qt-free, so that the workspace can say in its events why a
model cannot train on the chosen data.
"""
from __future__ import annotations

from ..data import ArrayDataset
from ..graph import ModelSpec, ShapeReport, get_template, infer_shapes, templates
from ..graph.shape_rules import fmt


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
    for template in templates():
        if template.dataset == dataset.name:
            spec = template.spec()
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
    return template.name, template.spec(in_features=1, out_features=dataset.output_dim), template
