"""Model > Analyze and ``layerforge analyze``: every layer's output shape, parameters, activation
memory and FLOPs per sample, with the totals, from the spec and its shape report (no module is built).

FLOPs count one forward pass of one sample in evaluation mode: a multiply-add is 2 FLOPs; bias
additions, comparisons and elementwise functions 1 per value. Convolutions, Linear, Bilinear, the
recurrent layers and self-attention (projections, scores, softmax, weighted sum) are counted exactly
from their sizes; pooling by the values each window reads; normalization by the steps it takes per
value; reshaping, Dropout and Embedding lookups cost none.
A layer type this module has no rule for shows no count (None) rather than a guess.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .layer_type import Shape
from .shape_rules import fmt, numel
from .spec import ModelSpec
from .validate import ShapeReport, infer_shapes

FLOPS_NOTE = ("FLOPs: one forward pass of one sample (evaluation mode); a multiply-add counts as 2 FLOPs, a "
              "bias addition, comparison or elementwise function as 1 per value.")
MEMORY_NOTE = "Activations: bytes of each layer's output for one sample (float32, 4 bytes a value; int64 tokens 8)."
COLUMNS = ("layer", "type", "output shape", "parameters", "activations (bytes)", "FLOPs")

# Work per value of the output for layers that touch each value a fixed number of times.
PER_VALUE = {
    "ReLU": 1, "LeakyReLU": 1, "ELU": 1, "GELU": 1, "SiLU": 1, "Sigmoid": 1, "Tanh": 1, "Softplus": 1,
    "Hardtanh": 1,
    "Softmax": 3, "LogSoftmax": 3,      # exponent, the sum over dim, the division (or subtraction of its log)
    "Identity": 0, "Flatten": 0, "Unflatten": 0, "Reshape": 0, "Dropout": 0, "Concat": 0, "Embedding": 0,
    "Input": 0,
}
# Per value of the output, for each step of the cell: gate functions, products and sums (see _recurrent).
CELL_EXTRA = {"RNN": 1, "LSTM": 9, "GRU": 9}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


@dataclass(frozen=True)
class LayerAnalysis:
    """One row of the table. ``output_shape``/``flops`` are None when unknown (an invalid layer, or
    a layer type without a FLOPs rule)."""

    node_id: str
    name: str
    type: str
    output_shape: Shape | None
    params: int
    activation_bytes: int
    flops: int | None
    error: str = ""

    @property
    def shape_text(self) -> str:
        return "error" if self.error else ("?" if self.output_shape is None else fmt(self.output_shape))


@dataclass
class ModelAnalysis:
    layers: list[LayerAnalysis] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_activation_bytes(self) -> int:
        return sum(layer.activation_bytes for layer in self.layers)

    @property
    def total_flops(self) -> int:
        """The FLOPs of the layers that have a count (see ``uncounted``)."""
        return sum(layer.flops for layer in self.layers if layer.flops is not None)

    @property
    def uncounted(self) -> list[str]:
        """Names of the layers whose FLOPs are not known (their type has no rule, or it is invalid)."""
        return [layer.name for layer in self.layers if layer.flops is None]

    def rows(self, readable: bool = True) -> list[tuple[str, ...]]:
        """The table's rows (header first, totals last); ``readable`` groups digits and writes sizes in
        KiB/MiB, otherwise plain integers (CSV)."""
        number = (lambda n: f"{n:,}") if readable else str
        size = human_bytes if readable else str
        rows = [COLUMNS]
        for layer in self.layers:
            rows.append((layer.name, layer.type, layer.shape_text, number(layer.params),
                         size(layer.activation_bytes), "?" if layer.flops is None else number(layer.flops)))
        rows.append(("total", "", "", number(self.total_params), size(self.total_activation_bytes),
                     number(self.total_flops) + ("+" if self.uncounted else "")))
        return rows

    def text(self) -> str:
        """The table as aligned plain text, numbers right-aligned, with the notes under it."""
        rows = self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

        def line(row):
            cells = [cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
            return "  ".join(cells).rstrip()
        out = [line(rows[0]), "  ".join("-" * w for w in widths)]
        out += [line(row) for row in rows[1:-1]]
        out += ["  ".join("-" * w for w in widths), line(rows[-1]), "", FLOPS_NOTE, MEMORY_NOTE]
        if self.uncounted:
            out.append(f"No FLOPs rule for: {', '.join(self.uncounted)} (left out of the total).")
        out += [f"error: {error}" for error in self.errors]
        return "\n".join(out)

    def csv(self) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(self.rows(readable=False))
        return buffer.getvalue()


def human_bytes(count: int) -> str:
    """1536 -> "1.5 KiB"; below a KiB the exact count ("512 B")."""
    if count < 1024:
        return f"{count} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}"
    return f"{count:.1f} GiB"


def analyze(spec: ModelSpec, report: ShapeReport | None = None) -> ModelAnalysis:
    """The analysis of ``spec`` (its shape report is inferred when not given). Invalid layers are
    listed with their error and no shape; ``errors`` holds every problem's message."""
    report = report if report is not None else infer_shapes(spec)
    analysis = ModelAnalysis(errors=[error.message for error in report.errors])
    order = report.order or list(spec.nodes)
    for node_id in order + [n for n in spec.nodes if n not in order]:
        node = spec.nodes[node_id]
        node_report = report.nodes.get(node_id)
        shape = node_report.output_shape if node_report is not None else None
        error = node_report.error.message if node_report is not None and node_report.error else ""
        flops = None
        if shape is not None and not error:
            flops = layer_flops(node.type, dict(node.params), node_report.input_shapes, shape)
        width = 8 if (node_report is not None and node_report.dtype == "int64") else 4
        analysis.layers.append(LayerAnalysis(
            node_id, node.name, node.type, shape, node_report.param_count if node_report is not None else 0,
            0 if shape is None else numel(shape) * width, flops, error))
    return analysis


def layer_flops(layer_type: str, params: dict, in_shapes: Sequence[Shape], out_shape: Shape) -> int | None:
    """FLOPs of one sample through one layer (see the module's doc); None for a type without a rule."""
    rule = RULES.get(layer_type)
    if rule is not None:
        return int(rule(params, tuple(map(tuple, in_shapes)), tuple(out_shape)))
    if layer_type in PER_VALUE:
        return PER_VALUE[layer_type] * numel(out_shape)
    return None


# -- the rules ----------------------------------------------------------------------------------

def _linear(params, in_shapes, out):
    (shape,) = in_shapes
    rows = numel(shape) // shape[-1]
    return rows * out[-1] * (2 * shape[-1] + int(params.get("bias", True)))


def _bilinear(params, in_shapes, out):
    first, second = in_shapes[0][-1], in_shapes[1][-1]
    # Each output k: x1 A_k (first x second multiply-adds), then that row times x2 (second more).
    per_output = 2 * (first * second + second) + int(params.get("bias", True))
    return out[-1] * per_output


def _conv(params, in_shapes, out):
    channels = in_shapes[0][0]
    per_output = 2 * (channels // params["groups"]) * math.prod(params["kernel_size"])
    return numel(out) * (per_output + int(params["bias"]))


def _conv_transpose(params, in_shapes, out):
    shape = in_shapes[0]
    # Every input value is multiplied into out_channels/groups kernels, each kernel's size in values.
    macs = numel(shape) * (params["out_channels"] // params["groups"]) * math.prod(params["kernel_size"])
    return 2 * macs + numel(out) * int(params["bias"])


def _pool(params, in_shapes, out):
    return numel(out) * math.prod(params["kernel_size"])   # each window's values compared or summed


def _adaptive_pool(params, in_shapes, out):
    channels, *sizes = in_shapes[0]
    total = 1
    for size, cells in zip(sizes, out[1:]):
        # PyTorch's windows: from floor(i*size/cells) to ceil((i+1)*size/cells); they may overlap.
        total *= sum(-(-(i + 1) * size // cells) - (i * size // cells) for i in range(cells))
    return channels * total + numel(out)   # the sums, then one division per output value


def _add(params, in_shapes, out):
    return (len(in_shapes) - 1) * numel(out)


def _batch_norm(params, in_shapes, out):
    # Running statistics: subtract the mean, divide by the deviation; then scale and shift if affine.
    return numel(out) * (2 + 2 * int(params["affine"]))


def _layer_norm(params, in_shapes, out):
    # Mean (a sum), variance (subtract, square, sum), normalise (subtract, divide); scale and shift.
    return numel(out) * (5 + 2 * int(params["elementwise_affine"]))


def _recurrent(kind: str) -> Callable:
    def rule(params, in_shapes, out):
        steps, features = in_shapes[0]
        hidden, gates = params["hidden_size"], GATES[kind]
        directions = 2 if params["bidirectional"] else 1
        total = 0
        for layer in range(params["num_layers"]):
            inputs = features if layer == 0 else hidden * directions
            # Both products (input and hidden), their sum, the two biases, then the cell's own work.
            per_step = (2 * gates * hidden * (inputs + hidden) + gates * hidden
                        + 2 * gates * hidden * int(params["bias"]) + CELL_EXTRA[kind] * hidden)
            total += directions * steps * per_step
        return total
    return rule


def _attention_core(length: int, dim: int, heads: int, bias: bool) -> int:
    """Self-attention over ``length`` positions of ``dim`` features: the q, k, v and output
    projections, the scores q k^T (scaled), their softmax, and the weighted sum of the values."""
    projections = 4 * length * dim * (2 * dim + int(bias))
    scores = 2 * length * length * dim + heads * length * length    # all heads together, then the scaling
    softmax = 3 * heads * length * length
    weighted = 2 * length * length * dim
    return projections + scores + softmax + weighted


def _self_attention(params, in_shapes, out):
    length, dim = in_shapes[0]
    return _attention_core(length, dim, params["num_heads"], params["bias"])


def _encoder_block(params, in_shapes, out):
    length, dim = in_shapes[0]
    hidden, bias = params["dim_feedforward"], int(params["bias"])
    attention = _attention_core(length, dim, params["num_heads"], params["bias"])
    feedforward = length * (hidden * (2 * dim + bias) + dim * (2 * hidden + bias)) + length * hidden   # + activation
    norms = 2 * length * dim * (5 + 1 + bias)    # two layer norms: statistics, normalise, scale (and shift)
    residuals = 2 * length * dim
    return attention + feedforward + norms + residuals


def _positional(params, in_shapes, out):
    return numel(out)   # the table's rows are looked up, then added: one addition per value


def _sequence_pool(params, in_shapes, out):
    if params["mode"] in ("first", "last"):
        return 0
    values = numel(in_shapes[0])   # every value summed (mean, then one division per feature) or compared
    return values + (numel(out) if params["mode"] == "mean" else 0)


RULES: dict[str, Callable] = {
    "MultiheadSelfAttention": _self_attention, "TransformerEncoderBlock": _encoder_block,
    "PositionalEmbedding": _positional, "SequencePool": _sequence_pool,
    "Linear": _linear, "Bilinear": _bilinear, "Conv1d": _conv, "Conv2d": _conv,
    "ConvTranspose2d": _conv_transpose, "MaxPool1d": _pool, "MaxPool2d": _pool, "AvgPool1d": _pool,
    "AvgPool2d": _pool, "AdaptiveAvgPool2d": _adaptive_pool, "Add": _add, "BatchNorm1d": _batch_norm,
    "BatchNorm2d": _batch_norm, "LayerNorm": _layer_norm,
    "RNN": _recurrent("RNN"), "LSTM": _recurrent("LSTM"), "GRU": _recurrent("GRU"),
}
