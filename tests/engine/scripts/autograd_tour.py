"""The "Automatic differentiation" tutorial: a one-layer network, its loss, gradients of the weights,
the graph behind a result (grad_fn, next_functions), no_grad and detach, and vector-Jacobian products."""
import torch


def run():
    out = {}
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.linspace(-1.0, 1.0, 15).reshape(5, 3).requires_grad_()
    b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    out["grad_fn_z"] = z.grad_fn.name().rstrip("0123456789")
    out["graph"] = (loss.grad_fn.name().rstrip("0123456789"),
                    loss.grad_fn.next_functions[0][0].name().rstrip("0123456789"),
                    sorted(tuple(leaf.variable.shape) for leaf in _leaves(loss.grad_fn)))
    loss.backward()
    out["w_grad"], out["b_grad"], out["loss"] = w.grad, b.grad, loss.detach()
    z = torch.matmul(x, w) + b
    out["requires_grad"] = z.requires_grad
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    out["no_grad"] = z.requires_grad
    out["detached"] = (torch.matmul(x, w) + b).detach().requires_grad
    inp = torch.eye(4, 5, requires_grad=True)
    result = (inp + 1).pow(2).t()
    result.backward(torch.ones_like(result), retain_graph=True)
    first = inp.grad.clone()
    result.backward(torch.ones_like(result))
    second = inp.grad.clone()
    inp.grad.zero_()
    result2 = (inp + 1).pow(2).t()
    result2.backward(torch.ones_like(result2))
    out["jvp"] = (first, second, inp.grad)
    a = torch.tensor([2.0, -1.0], requires_grad=True)
    (g,) = torch.autograd.grad((a.sign() * a.abs() ** 3 + torch.erf(a)).sum(), [a])
    out["grad_fn_api"] = g
    return out


def _leaves(fn):
    """The AccumulateGrad nodes under ``fn`` (one per leaf tensor), walking next_functions as torchviz does."""
    if fn is None:
        return []
    if hasattr(fn, "variable"):
        return [fn]
    return [leaf for child, _ in fn.next_functions for leaf in _leaves(child)]
