"""``export``: trace, trace again at other values (and sizes, for dynamic axes), convert, write."""
from __future__ import annotations

from ..tensor import Tensor
from .builder import GraphBuilder, OpContext, is_dynamic
from .errors import ExportError
from .registry import load, op_name
from .second_trace import axes_of, second_trace
from .tracer import Trace, trace

DEFAULT_OPSET = 18
MIN_OPSET, MAX_OPSET = 17, 23


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, operator_export_type=None, opset_version=None, do_constant_folding=True,
           dynamic_axes=None, keep_initializers_as_inputs=None, custom_opsets=None,
           export_modules_as_functions=False, autograd_inlining=True, dynamo=False, kwargs=None, **ignored):
    """Write ``model`` as an ONNX file by tracing one forward pass on ``args``, as ``torch.onnx.export``.

    The model runs in eval mode without gradients (its training flag is restored afterwards);
    every operation is recorded and written as ONNX operators, with the parameters and buffers as
    initializers named by their state_dict keys. Tracing records what ran for these inputs: Python
    control flow (``if``, loops) is followed as taken (a ``TracerWarning`` says so when other input
    values take another branch), sizes read with ``x.shape`` are fixed numbers except along
    ``dynamic_axes``, and tensors made inside forward are constants of the graph. Forward runs a
    second time on inputs with other values (and grown dynamic axes) to find the dynamic sizes and
    to refuse, naming the operation and module, a value computed from the input by something the
    tracer cannot record, rather than write it as a wrong constant.

    args: the input Tensor, or a tuple of positional arguments (a trailing dict is keyword
        arguments, as in PyTorch). Non-tensor arguments are baked into the trace.
    f: a path (written through a temporary file, then renamed into place) or a binary file object.
    input_names / output_names: names of the graph's inputs and outputs, in order
        (default ``input``/``output``, numbered when there are several).
    dynamic_axes: ``{name: [axis, ...]}`` or ``{name: {axis: "symbol"}}`` for inputs and outputs
        whose size may change (usually the batch). The forward pass runs a second time with those
        axes grown, so that sizes that follow them are recognised and written symbolically. Axes
        with one symbol name are one size; unnamed axes of equal traced size are taken as one size
        too (give distinct names to axes that vary independently but were traced at equal sizes).
    opset_version: ONNX opset, 17 to 23 (default 18).
    keep_initializers_as_inputs: also list the weights as graph inputs (so a runtime may feed others).
    The other PyTorch arguments are accepted where they change nothing here (verbose,
    do_constant_folding: runtimes fold) and refused with a clear error where they would.

    Raises ``ExportError`` naming an operation without an ONNX converter and the module whose forward
    called it, and ``ImportError`` when the ``onnx`` package is missing.
    """
    del verbose, do_constant_folding, autograd_inlining  # runtimes fold constants themselves
    from .writer import import_onnx, write
    import_onnx()  # fail before any work when the package is missing
    refused = {"export_params=False": not export_params, "dynamo=True": dynamo,
               "operator_export_type": operator_export_type is not None, "custom_opsets": bool(custom_opsets),
               "export_modules_as_functions": bool(export_modules_as_functions)}
    refused.update({name: True for name in ignored})
    if any(refused.values()):
        raise ExportError(f"ONNX export: {', '.join(k for k, v in refused.items() if v)} not supported: Layerforge "
                          "traces the forward pass and writes standard ONNX operators with the weights included")
    if training not in (None, False) and getattr(training, "name", str(training)) not in ("EVAL", "TrainingMode.EVAL"):
        raise ExportError("ONNX export: only eval-mode export is supported (training=TrainingMode.EVAL)")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"ONNX export: opset_version {opset} is not supported; use {MIN_OPSET} to {MAX_OPSET}")
    if not callable(getattr(model, "state_dict", None)):
        raise TypeError(f"ONNX export: expected an nn.Module, got {type(model).__name__}")
    args, call_kwargs = _split_args(args, kwargs)
    input_names = list(input_names or [])
    first = trace(model, args, call_kwargs, input_names)
    output_names = _names(output_names, len(first.outputs), "output")
    unknown = [n for n in (dynamic_axes or {}) if n not in output_names and n not in [v.name for v in first.inputs]]
    if unknown:
        raise ValueError(f"ONNX export: dynamic_axes names {unknown} are neither input nor output names "
                         f"(inputs {[v.name for v in first.inputs]}, outputs {output_names})")
    dims, symbols = second_trace(model, args, call_kwargs, first, dynamic_axes or {}, input_names)
    builder = GraphBuilder(first, opset, dims, output_names, symbols)
    _convert(builder, first)
    inputs = [(v.name, v.dtype, _named_dims(builder.dims_of(v), symbols, dynamic_axes, v.name))
              for v in first.inputs]
    outputs = [(name, v.dtype, _named_dims(builder.dims_of(v), symbols, dynamic_axes, name))
               for v, name in zip(first.outputs, output_names)]
    write(builder, inputs, outputs, opset, f, graph_name=type(model).__name__,
          initializers_as_inputs=bool(keep_initializers_as_inputs))


# ------------------------------------------------------------------------------ arguments and names
def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        args = (args,)
    call_kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        call_kwargs.update(args[-1])
        args = args[:-1]
    return args, call_kwargs


def _names(given, count: int, base: str) -> list[str]:
    given = list(given or [])
    if len(given) > count:
        raise ValueError(f"ONNX export: {len(given)} {base}_names for {count} {base}s")
    defaults = [base if count == 1 else f"{base}_{i}" for i in range(count)]
    return given + defaults[len(given):]


def _named_dims(dims, symbols, dynamic_axes, name):
    """An input's or output's dims for its value_info: numbers, or symbolic names where dynamic
    (the name given in dynamic_axes, else the input's symbol that the size follows)."""
    given = axes_of((dynamic_axes or {}).get(name, {}))
    named = []
    for axis, dim in enumerate(dims):
        if axis in given or (axis - len(dims)) in given:
            symbol = given.get(axis, given.get(axis - len(dims)))
            named.append(symbol or (symbols.get(dim) if is_dynamic(dim) else None)
                         or f"{name}_dynamic_axes_{axis + 1}")
        elif is_dynamic(dim):
            named.append(symbols.get(dim) or f"{name}_dim_{axis}")
        else:
            named.append(int(dim))
    return named


# ------------------------------------------------------------------------------ conversion
def _convert(builder: GraphBuilder, first: Trace) -> None:
    converters = load()
    needed = first.needed()
    for op in first.ops:
        if id(op) not in needed:
            continue
        converter = converters.get(op.kind)
        if converter is None:
            raise ExportError(f"no ONNX converter for '{op_name(op.kind)}' (called in {op.scope} forward; "
                              f"engine node {op.kind})")
        try:
            converter(OpContext(builder, op))
        except ExportError:
            raise
        except Exception as exc:
            raise ExportError(f"ONNX export: converting '{op_name(op.kind)}' (called in {op.scope} forward) "
                              f"failed: {exc}") from exc
    for value in first.outputs:  # outputs that no operation wrote: an input, a parameter, a constant
        builder.bind(value, builder.name_of(value))
    for value, name in builder.repeated_outputs:
        builder.emit("Identity", [builder.name_of(value)], outputs=[name])
