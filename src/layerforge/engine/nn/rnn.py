"""Recurrent layers, as ``torch.nn``: RNN, LSTM, GRU and their single-step cells.

Parameter names, shapes, gate order and registration order are PyTorch's (``weight_ih_l0``,
``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, then ``..._reverse``; LSTM gates [i, f, g, o], GRU
[r, z, n]), so state dicts move both ways. The arithmetic is in ``ops/recurrent.py``: one graph node
per layer and direction runs the whole time loop.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import creation
from ..ops import cat, stack
from ..ops.common import apply, check_same_device
from ..ops.gru import GRULayer
from ..ops.recurrent import LSTMLayer, RNNLayer
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _layer_node(mode: str, reverse: bool, has_bias: bool):
    if mode == "LSTM":
        return LSTMLayer(reverse, has_bias)
    if mode == "GRU":
        return GRULayer(reverse, has_bias)
    return RNNLayer(reverse, has_bias, "relu" if mode == "RNN_RELU" else "tanh")


def _uninitialised(shape, device, dtype) -> Parameter:
    return Parameter(creation.empty(*shape, device=device, dtype=dtype))


def _check_dtype(what: str, tensor: Tensor, weight: Tensor, layer: str) -> None:
    if tensor._data.dtype != weight._data.dtype:
        raise RuntimeError(f"{layer}: {what} has dtype {tensor.dtype.name} but the layer's weights are "
                           f"{weight.dtype.name}; convert one of them (e.g. input.float() or "
                           "layer.double())")


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent layer shared by RNN, LSTM and GRU."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", UserWarning, stacklevel=3)
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if proj_size:
            raise NotImplementedError("LSTM proj_size is not supported by Layerforge; use proj_size=0 "
                                      "and add a Linear layer after the LSTM instead")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for name, shape in zip(names, shapes):
                    setattr(self, name, _uninitialised(shape, device, dtype))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every weight and bias, as PyTorch does."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """PyTorch compacts weights for cuDNN here; Layerforge's weights are always usable as they are."""

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---------------------------------------------------------------- forward
    def _name(self) -> str:
        return type(self).__name__

    def _prepare_input(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name()}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{self._name()}: Expected input to be 2D (unbatched: seq, features) or 3D, "
                             f"got {input.ndim}D tensor of shape {tuple(input.shape)} instead")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise RuntimeError(f"{self._name()}: Expected sequence length to be larger than 0 in RNN "
                               f"(input shape {tuple(input.shape)}, sequence first)")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self._name()}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]} (input shape "
                               f"{tuple(input.shape)})")
        first = self._weight(self._flat_weights_names[0])
        check_same_device(input, first, self._name())
        _check_dtype("the input", input, first, self._name())
        return input, batched

    def _weight(self, name):
        # straight from the parameter dict: Module.__getattr__ is Python, run for every weight
        params = self._parameters
        return params[name] if name in params else getattr(self, name)

    def _prepare_state(self, state, batched: bool, batch: int, reference: Tensor, what: str):
        """The (layers * directions, B, H) initial state, or None for zeros (see ``_run_layers``)."""
        if state is None:
            return None
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.hidden_size)
        if batched and state.ndim != 3:
            raise RuntimeError(f"{self._name()}: For batched 3-D input, {what} should also be 3-D but got "
                               f"{state.ndim}-D tensor")
        if not batched:
            if state.ndim != 2:
                raise RuntimeError(f"{self._name()}: For unbatched 2-D input, {what} should also be 2-D "
                                   f"but got {state.ndim}-D tensor")
            state = state.unsqueeze(1)
        if tuple(state.shape) != expected:
            shown = expected if batched else (expected[0], expected[2])
            got = tuple(state.shape) if batched else (state.shape[0], state.shape[2])
            raise RuntimeError(f"{self._name()}: Expected {what} size {shown}, got {list(got)}")
        check_same_device(reference, state, self._name())
        _check_dtype(what, state, self._weight(self._flat_weights_names[0]), self._name())
        return state

    def _run_layers(self, x, h0, c0=None, lstm=False):
        """Every layer and direction over the (T, B, I) input; returns output, h_n[, c_n]. A state
        given as None starts every layer and direction from one shared (B, H) zero tensor."""
        directions = 2 if self.bidirectional else 1
        zero = None
        if h0 is None or (lstm and c0 is None):
            zero = creation.zeros(x.shape[1], self.hidden_size, dtype=x.dtype, device=x.device)
        h_last, c_last = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = [self._weight(name) for name in self._all_weights[index]]
                node = _layer_node(self.mode, direction == 1, self.bias)
                h = zero if h0 is None else h0[index]
                if lstm:
                    out, h_n, c_n = apply(node, x, h, zero if c0 is None else c0[index], *weights)
                    c_last.append(c_n)
                else:
                    out, h_n = apply(node, x, h, *weights)
                outputs.append(out)
                h_last.append(h_n)
            x = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        h_n = _stacked(h_last)
        return (x, h_n, _stacked(c_last)) if lstm else (x, h_n)

    def _finish_output(self, output, batched: bool):
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    def forward(self, input, hx=None):  # noqa: A002
        x, batched = self._prepare_input(input)
        h0 = self._prepare_state(hx, batched, x.shape[1], x, "hx")
        output, h_n = self._run_layers(x, h0)
        return self._finish_output(output, batched), (h_n if batched else h_n.squeeze(1))


def _stacked(states):
    """(layers * directions, B, H) from the per-layer (B, H) states; one state is a view of it."""
    return states[0].unsqueeze(0) if len(states) == 1 else stack(states, 0)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns ``output, (h_n, c_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, batched = self._prepare_input(input)
        if hx is None:
            h0 = c0 = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h0, c0 = hx
        else:
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of two tensors")
        h0 = self._prepare_state(h0, batched, x.shape[1], x, "hx[0]")
        c0 = self._prepare_state(c0, batched, x.shape[1], x, "hx[1]")
        output, h_n, c_n = self._run_layers(x, h0, c0, lstm=True)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish_output(output, batched), (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit with PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# ------------------------------------------------------------------------------ cells
class RNNCellBase(Module):
    """One time step; runs the same fused kernel as the layers with a sequence of length one."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _uninitialised((num_chunks * hidden_size, input_size), device, dtype)
        self.weight_hh = _uninitialised((num_chunks * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _uninitialised((num_chunks * hidden_size,), device, dtype)
            self.bias_hh = _uninitialised((num_chunks * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def _weights(self):
        weights = [self.weight_ih, self.weight_hh]
        return weights + [self.bias_ih, self.bias_hh] if self.bias else weights

    def _prepare(self, input, states):
        """(1, B, I) input and (B, H) states; ``batched`` says whether to squeeze the batch back out."""
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {shape} instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        check_same_device(input, self.weight_ih, name)
        _check_dtype("the input", input, self.weight_ih, name)
        prepared = []
        for state in states:
            if state is None:
                state = creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype,
                                       device=input.device)
            else:
                if state.ndim != (2 if batched else 1):
                    raise RuntimeError(f"{name}: hidden state must be {'2' if batched else '1'}-D for "
                                       f"{'2' if batched else '1'}-D input, got {state.ndim}-D")
                if not batched:
                    state = state.unsqueeze(0)
                if tuple(state.shape) != (input.shape[0], self.hidden_size):
                    raise RuntimeError(f"{name}: hidden state has shape {tuple(state.shape)}, expected "
                                       f"{(input.shape[0], self.hidden_size)}")
            prepared.append(state)
        return input.unsqueeze(0), prepared, batched


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), batched = self._prepare(input, [hx])
        node = RNNLayer(False, self.bias, self.nonlinearity)
        _, h_next = apply(node, x, h, *self._weights())
        return h_next if batched else h_next.squeeze(0)


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        h, c = (None, None) if hx is None else hx
        x, (h, c), batched = self._prepare(input, [h, c])
        _, h_next, c_next = apply(LSTMLayer(False, self.bias), x, h, c, *self._weights())
        if not batched:
            h_next, c_next = h_next.squeeze(0), c_next.squeeze(0)
        return h_next, c_next


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), batched = self._prepare(input, [hx])
        _, h_next = apply(GRULayer(False, self.bias), x, h, *self._weights())
        return h_next if batched else h_next.squeeze(0)
