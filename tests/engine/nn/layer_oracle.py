"""The torch oracle for layers: build the same layer in both libraries, copy torch's weights across
through ``load_state_dict`` (so the key names and shapes must agree), run the same input, and compare
outputs, the input's gradient, every parameter's gradient and every buffer.

``check_layer(lambda nn: nn.Conv2d(3, 4, 3), (2, 3, 8, 8))`` is one case: ``nn`` is ``torch.nn`` in
one run and ``layerforge.engine.nn`` in the other. Not a test module itself.
"""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn as lf_nn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-7, atol=1e-9)}


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t.detach().cpu().numpy())


def copy_weights(theirs, ours):
    """Load torch's state dict into our module (strict: every key must match by name and shape)."""
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def assert_close(got, expected, what, dtype):
    got, expected = to_numpy(got), to_numpy(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, torch gives {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, torch gives {expected.dtype}"
    np.testing.assert_allclose(got, expected, err_msg=what, **TOLERANCE[dtype])


def assert_sums_close(got, expected, rtol=1e-5, atol=1e-5, err_msg=""):
    """For float32 results that are long sums of products (a convolution's, K = 9-400 terms) computed
    in another order than the oracle's (another BLAS kernel set, another layout): each may differ by
    a few units in the last place of the largest partial sums, so the absolute tolerance is at least a
    millionth of the largest value (8 ulp of it; OpenBLAS's Haswell kernels on an AMD EPYC differ from
    PyTorch by up to 1.4e-5 on outputs up to ~80). A wrong or missing term is off by a term's size."""
    got, expected = np.asarray(got), np.asarray(expected)
    scale = float(np.abs(expected).max(initial=0))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=max(atol, 1e-6 * scale), err_msg=err_msg)


def check_layer(build, *input_shapes, train=True, dtype=np.float32, integer_high=None, seed=0,
                steps=1, grad_input=True, device="cpu"):
    """Compare ``build(nn)`` in torch and Layerforge on random inputs of ``input_shapes``.

    ``integer_high`` makes integer inputs in [0, integer_high) (for Embedding). ``steps`` repeats
    forward/backward so running statistics accumulate over several batches. ``device`` runs our side
    there (weights, inputs and gradients), compared on the host.
    """
    theirs = build(torch.nn)
    ours = build(lf_nn)
    if dtype == np.float64:
        theirs, ours = theirs.double(), ours.double()
    copy_weights(theirs, ours)
    ours.to(device)
    theirs.train(train)
    ours.train(train)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        if integer_high is not None:
            arrays = [rng.integers(0, integer_high, size=s) for s in input_shapes]
        else:
            arrays = [rng.standard_normal(s).astype(dtype) for s in input_shapes]
        floating = [a.dtype.kind == "f" and grad_input for a in arrays]
        their_in = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floating)]
        our_in = [lf.tensor(a, device=device, requires_grad=f) for a, f in zip(arrays, floating)]
        expected = theirs(*their_in)
        got = ours(*our_in)
        assert_close(got, expected, f"output (step {step})", dtype)
        upstream = rng.standard_normal(tuple(expected.shape)).astype(dtype)
        if expected.requires_grad:
            expected.backward(torch.tensor(upstream))
            got.backward(lf.tensor(upstream, device=device))
        for i, (t_in, o_in) in enumerate(zip(their_in, our_in)):
            if t_in.grad is not None:
                assert_close(o_in.grad, t_in.grad, f"gradient of input {i} (step {step})", dtype)
        our_params = dict(ours.named_parameters())
        for name, param in theirs.named_parameters():
            if param.grad is None:
                assert our_params[name].grad is None, f"{name} got a gradient; torch gives none"
            else:
                assert_close(our_params[name].grad, param.grad, f"gradient of {name}", dtype)
        our_buffers = dict(ours.named_buffers())
        for name, buf in theirs.named_buffers():
            got_buf = to_numpy(our_buffers[name])
            if buf.dtype.is_floating_point:
                assert_close(our_buffers[name], buf, f"buffer {name} (step {step})", dtype)
            else:
                np.testing.assert_array_equal(got_buf, to_numpy(buf), err_msg=f"buffer {name}")
    return theirs, ours


def conv_and_grads(engine, x, w, b=None, input_grad=True, **options):
    """``conv2d`` of (x, w[, b]) in either library (``engine`` "ours" or "torch"), then the backward of
    ``(out * upstream).sum()`` for a fixed random upstream: (output, [x's gradient or None, w's, b's if
    given])."""
    tensor = lf.tensor if engine == "ours" else torch.tensor
    functional = lf_nn.functional if engine == "ours" else torch.nn.functional
    params = [tensor(x, requires_grad=input_grad), tensor(w, requires_grad=True)]
    if b is not None:
        params.append(tensor(b, requires_grad=True))
    out = functional.conv2d(*params, **options)
    upstream = np.random.default_rng(3).standard_normal(tuple(out.shape)).astype(x.dtype)
    (out * tensor(upstream)).sum().backward()
    return out.detach().numpy(), [None if p.grad is None else p.grad.numpy() for p in params]
