"""The torch oracle for engine ops, tinygrad-style: one readable line per case.

``check(lambda m, x, y: m.add(x, y), [(3, 1), (4)])`` builds the same inputs for PyTorch and for
``layerforge.engine`` (``m`` is the module in each run), runs the function in both, and compares every
output's shape, dtype and values, then backpropagates the same random upstream gradient through both
and compares every input's gradient. Not a test module itself; the ``test_ops_oracle*`` files use it.
"""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import ops as lf_ops

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
torch_functional = torch.nn.functional

# Every oracle test runs on the CPU and, where a GPU with cupy exists, again on CUDA.
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])]


class _Namespace:
    """``torch`` or ``layerforge.engine``, plus the functional ops (``pad``) under one name."""

    def __init__(self, module, pad):
        self._module = module
        self.pad = pad

    def __getattr__(self, name):
        return getattr(self._module, name)


TORCH = _Namespace(torch, torch_functional.pad)
OURS = _Namespace(lf, lf_ops.pad)
_TOLERANCE = {"float64": (1e-9, 1e-7), "float32": (1e-5, 2e-5)}


def _make_inputs(shapes, vals, dtype, low, high, seed):
    if vals is not None:
        return [np.asarray(v) for v in vals]
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]


def _as_list(out):
    """Every tensor of an output, nested tuples (several (values, indices) pairs) flattened in order."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _as_list(item)]
    return [out]


def _dtype_name(t) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _to_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().cpu().numpy())


def check(fn, shapes=(), *, vals=None, dtype="float64", low=-2.0, high=2.0, grad=True, device="cpu",
          atol=None, rtol=None, seed=0, ours=None):
    """Compare ``fn(torch, *inputs)`` with ``fn(layerforge.engine, *inputs)``; return both outputs.

    ``ours`` gives a different function for the engine where the spelling has to differ.
    """
    arrays = _make_inputs(shapes, vals, dtype, low, high, seed)
    wants_grad = [grad and a.dtype.kind == "f" for a in arrays]
    torch_in = [torch.tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, wants_grad)]
    our_in = [lf.tensor(a.copy(), device=device, requires_grad=g) for a, g in zip(arrays, wants_grad)]
    expected = _as_list(fn(TORCH, *torch_in))
    got = _as_list((ours or fn)(OURS, *our_in))
    assert len(got) == len(expected), f"{len(got)} outputs, torch gives {len(expected)}"
    tol_rtol, tol_atol = _TOLERANCE.get(_dtype_name(expected[0]), (0, 0)) if expected else (0, 0)
    rtol = tol_rtol if rtol is None else rtol
    atol = tol_atol if atol is None else atol
    for i, (e, g) in enumerate(zip(expected, got)):
        assert isinstance(g, lf.Tensor), f"output {i} is a {type(g).__name__}, not a Tensor"
        assert tuple(g.shape) == tuple(e.shape), f"output {i}: shape {tuple(g.shape)} != {tuple(e.shape)}"
        assert _dtype_name(g) == _dtype_name(e), f"output {i}: dtype {g.dtype} != {e.dtype}"
        assert g.device == lf.device(device), f"output {i} is on {g.device}, not {device}"
        np.testing.assert_allclose(_to_numpy(g), _to_numpy(e), rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"forward output {i}")
    if any(wants_grad):
        _compare_gradients(expected, got, torch_in, our_in, rtol, atol, seed)
    return expected, got


def _compare_gradients(expected, got, torch_in, our_in, rtol, atol, seed):
    rng = np.random.default_rng(seed + 1)
    torch_roots, torch_grads, our_roots, our_grads = [], [], [], []
    for e, g in zip(expected, got):
        if not e.requires_grad:
            assert not g.requires_grad, "output requires grad but torch's does not"
            continue
        assert g.requires_grad, "torch's output requires grad but ours does not"
        upstream = rng.standard_normal(tuple(e.shape)).astype(_dtype_name(e))
        torch_roots.append(e)
        torch_grads.append(torch.tensor(upstream))
        our_roots.append(g)
        our_grads.append(lf.tensor(upstream, device=g.device))
    if not torch_roots:
        return
    torch.autograd.backward(torch_roots, torch_grads)
    lf.autograd.backward(our_roots, our_grads)
    for i, (t, o) in enumerate(zip(torch_in, our_in)):
        if not t.requires_grad:
            continue
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        assert o.grad is not None or t.grad is None, f"input {i} got no gradient"
        have = np.zeros(t.shape) if o.grad is None else _to_numpy(o.grad)
        if o.grad is not None:
            assert tuple(o.grad.shape) == tuple(t.shape), f"input {i}: grad shape {tuple(o.grad.shape)}"
            assert _dtype_name(o.grad) == _dtype_name(t), f"input {i}: grad dtype {o.grad.dtype}"
        np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"gradient of input {i}")


def node_types(out) -> set:
    """The class names of every graph node behind ``out`` (which kernels a call ran)."""
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and type(node).__name__ not in seen:
            seen.add(type(node).__name__)
            stack.extend(t.grad_fn for t in node.inputs or ())
    return seen


def leaf_pair(shape, seed=0):
    """The same float32 standard-normal values as a leaf of each engine: (ours, PyTorch's)."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
