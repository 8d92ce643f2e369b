"""``torch.autograd.functional``'s first-order tools: jacobian, vjp and jvp, with PyTorch's argument
forms and result nesting (a Tensor or a tuple for inputs and outputs). They build one graph and walk it
back once per output element (reverse mode); jvp is the Jacobian times v. The second-order tools
(hessian, hvp, vhp) need gradients of gradients, which the engine's autograd does not record."""
from __future__ import annotations

from . import autograd
from .ops import stack
from .tensor import Tensor


def _as_tuple(value, name):
    single = isinstance(value, Tensor)
    values = (value,) if single else tuple(value)
    for v in values:
        if not isinstance(v, Tensor):
            raise TypeError(f"The {name} given to jacobian must be either a Tensor or a tuple of Tensors but the "
                            f"value at index 0 has type {type(v)}.")
    return values, single


def _prepare(inputs):
    values, single = _as_tuple(inputs, "inputs")
    return tuple(v.detach().requires_grad_(True) for v in values), single


def _grads(output_element, inputs):
    grads = autograd.grad([output_element], list(inputs), retain_graph=True, allow_unused=True)
    return [g if g is not None else x.new_zeros(*x.shape) for g, x in zip(grads, inputs)]


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d outputs / d inputs: for each (output, input) pair a Tensor of shape output.shape + input.shape."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError('torch.autograd.functional.jacobian: `strategy="forward-mode"` is only '
                                  'implemented for `vectorize=True`.')
    if create_graph:
        raise NotImplementedError("jacobian(create_graph=True) needs gradients of gradients, which the engine's "
                                  "autograd does not record")
    xs, single_in = _prepare(inputs)
    with autograd.enable_grad():
        outputs = func(*xs)
    ys, single_out = _as_tuple(outputs, "outputs")
    per_output = []
    for y in ys:
        rows = [[] for _ in xs]
        flat = y.reshape(-1)
        for i in range(flat.shape[0]):
            if flat.requires_grad:
                grads = _grads(flat[i], xs)
            else:
                grads = [x.new_zeros(*x.shape) for x in xs]
            for j, g in enumerate(grads):
                rows[j].append(g.detach())
        blocks = []
        for j, x in enumerate(xs):
            block = stack(rows[j]) if rows[j] else x.new_zeros(0, *x.shape)
            blocks.append(block.reshape(*y.shape, *x.shape))
        per_output.append(blocks[0] if single_in else tuple(blocks))
    return per_output[0] if single_out else tuple(per_output)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the gradient of (outputs * v).sum() with respect to the inputs."""
    xs, single_in = _prepare(inputs)
    with autograd.enable_grad():
        outputs = func(*xs)
    ys, single_out = _as_tuple(outputs, "outputs")
    if v is None:
        if len(ys) != 1 or ys[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        vs = (None,)
    else:
        vs, _ = _as_tuple(v, "v")
        for y, w in zip(ys, vs):
            if tuple(y.shape) != tuple(w.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(w.shape)} and "
                                   f"output[0] has a shape of {tuple(y.shape)}.")
    total = None
    for y, w in zip(ys, vs):
        if not y.requires_grad:
            continue
        term = y.sum() if w is None else (y * w.detach()).sum()
        total = term if total is None else total + term
    if total is None:
        grads = [x.new_zeros(*x.shape) for x in xs]
    else:
        grads = [g if g is not None else x.new_zeros(*x.shape)
                 for g, x in zip(autograd.grad([total], list(xs), allow_unused=True), xs)]
    detached = tuple(y.detach() for y in ys)
    result = tuple(g.detach() for g in grads)
    return (detached[0] if single_out else detached), (result[0] if single_in else result)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), as the Jacobian (reverse mode) times v."""
    xs, single_in = _prepare(inputs)
    if v is None:
        if len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        vs = (xs[0].new_ones(*xs[0].shape),)
    else:
        vs, _ = _as_tuple(v, "v")
    with autograd.enable_grad():
        outputs = func(*xs)
    ys, single_out = _as_tuple(outputs, "outputs")
    jac = jacobian(func, tuple(x.detach() for x in xs))  # tuple inputs: one block per input in each row
    if single_out:
        jac = (jac,)
    products = []
    for y, row in zip(ys, jac):
        total = y.new_zeros(*y.shape)
        for block, w, x in zip(row, vs, xs):
            total = total + (block.reshape(y.numel(), x.numel()) @ w.detach().reshape(-1)).reshape(*y.shape)
        products.append(total.detach())
    detached = tuple(y.detach() for y in ys)
    return (detached[0] if single_out else detached), (products[0] if single_out else tuple(products))
