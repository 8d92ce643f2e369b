"""The model as data: layer catalog, model spec (JSON), shape inference, compilation, templates.

Headless (no Qt). The GUI's palette reads ``categories()`` / ``layers_in()``, its inspector reads
``get_layer(type).params`` (each a :class:`Param` with kind, default, range or choices, doc), its
canvas edits a :class:`ModelSpec` and paints ``infer_shapes(spec)``; the trainer calls
``compile_spec(spec)``; the exporters read the same declarations (``LayerType.call`` / ``torch_code``).
"""
from .catalog import (CATEGORIES, all_layers, categories, get_layer, layer_types, layers_in, search,
                      torch_code)
from .compile import compile_spec
from .errors import GraphError, ParamError, ShapeError, SpecError
from .layer_type import Call, LayerType, Merge, OutputSelect
from .layout import apply_layout, auto_layout
from .model_templates import TEMPLATES, Template, get_template, templates
from .params import Param
from .spec import FORMAT, VERSION, Edge, ModelSpec, Node
from .validate import NodeReport, ShapeReport, infer_shapes, require_valid

__all__ = [
    # catalog
    "CATEGORIES", "all_layers", "categories", "get_layer", "layer_types", "layers_in", "search", "torch_code",
    "Call", "LayerType", "Merge", "OutputSelect", "Param",
    # spec, validation, compilation
    "FORMAT", "VERSION", "Edge", "ModelSpec", "Node", "NodeReport", "ShapeReport", "infer_shapes", "require_valid", "compile_spec",
    "apply_layout", "auto_layout",
    # errors
    "GraphError", "ParamError", "ShapeError", "SpecError",
    # templates
    "TEMPLATES", "Template", "get_template", "templates",
]
