"""The ``*_copy`` forms of the view operations against PyTorch: values, dtypes and gradients, and
memory of their own (writing to the result leaves the input as it was)."""
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

CALLS = [
    lambda m, x: m.alias_copy(x), lambda m, x: m.diagonal_copy(x, 1, 1, 2),
    lambda m, x: m.expand_copy(x[:, :1], (2, 5, 4)), lambda m, x: m.narrow_copy(x, 2, 1, 2),
    lambda m, x: x.narrow_copy(1, 0, 3), lambda m, x: m.permute_copy(x, (2, 0, 1)),
    lambda m, x: m.select_copy(x, -1, 2), lambda m, x: m.slice_copy(x, 1, 1, 5, 2), lambda m, x: m.slice_copy(x),
    lambda m, x: m.split_copy(x, 2, 1), lambda m, x: m.split_with_sizes_copy(x, [1, 3], -1),
    lambda m, x: m.squeeze_copy(x[:, :1]), lambda m, x: m.squeeze_copy(x[:1], 0),
    lambda m, x: m.t_copy(x[0]), lambda m, x: m.transpose_copy(x, 0, 2), lambda m, x: m.unbind_copy(x, 1),
    lambda m, x: m.unfold_copy(x, 1, 2, 2), lambda m, x: m.unsqueeze_copy(x, 1), lambda m, x: m.view_copy(x, (4, -1)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("call", CALLS, ids=[f"call{i}" for i in range(len(CALLS))])
def test_view_copies_match_torch(call, device):
    check(call, [(2, 5, 4)], device=device)


def test_a_copy_owns_its_memory():
    x = lf.arange(12.0).reshape(3, 4)
    for result in (lf.permute_copy(x, (1, 0)), lf.select_copy(x, 0, 1), lf.view_copy(x, (12,)),
                   lf.unbind_copy(x)[0], lf.alias_copy(x)):
        result.fill_(-1.0)
    assert x.tolist() == torch.arange(12.0).reshape(3, 4).tolist()


def test_detach_copy_keeps_requires_grad_but_refuses_a_gradient_as_torch():
    for m in (lf, torch):
        x = m.ones(2, requires_grad=True)
        y = m.detach_copy(x)
        assert y.requires_grad and y.tolist() == [1.0, 1.0]
        with pytest.raises(RuntimeError, match="derivative for aten::detach_copy is not implemented"):
            (y * 3).sum().backward()
