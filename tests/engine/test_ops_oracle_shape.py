"""Shape ops, indexing and in-place updates against PyTorch: forward values and every gradient."""
import numpy as np
import pytest

from engine_oracle import DEVICES, check, torch
import layerforge.engine as lf


# inf/NaN inputs make numpy warn where PyTorch is silent; the values themselves are compared below.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:The use of `x.T`:UserWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


SHAPE = [
    case("reshape", lambda m, x: x.reshape(4, 3), [(3, 4)]),
    case("reshape_infer", lambda m, x: m.reshape(x, (-1, 2)), [(3, 4)]),
    case("reshape_to_0d", lambda m, x: x.reshape(()), [(1, 1)]),
    case("reshape_from_0d", lambda m, x: x.reshape(1, 1), [()]),
    case("view", lambda m, x: x.view(2, 6), [(3, 4)]),
    case("view_infer", lambda m, x: x.view(-1), [(3, 4)]),
    case("view_as", lambda m, x, y: x.view_as(y), [(3, 4), (12,)]),
    case("transpose", lambda m, x: x.transpose(0, 1), [(3, 4)]),
    case("transpose_negative", lambda m, x: m.transpose(x, -1, -3), [(2, 3, 4)]),
    case("permute", lambda m, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    case("permute_negative", lambda m, x: m.permute(x, (-1, 0, 1)), [(2, 3, 4)]),
    case("T", lambda m, x: x.T, [(3, 4)]),
    case("T_1d", lambda m, x: x.T, [(3,)]),
    case("t", lambda m, x: x.t(), [(3, 4)]),
    case("flatten", lambda m, x: x.flatten(), [(2, 3, 4)]),
    case("flatten_start", lambda m, x: m.flatten(x, 1), [(2, 3, 4)]),
    case("flatten_range", lambda m, x: x.flatten(0, -2), [(2, 3, 4)]),
    case("flatten_0d", lambda m, x: x.flatten(), [()]),
    case("squeeze_all", lambda m, x: x.squeeze(), [(1, 3, 1, 4)]),
    case("squeeze_dim", lambda m, x: x.squeeze(2), [(1, 3, 1, 4)]),
    case("squeeze_negative_dim", lambda m, x: m.squeeze(x, -4), [(1, 3, 1, 4)]),
    case("squeeze_non_one", lambda m, x: x.squeeze(1), [(1, 3, 1, 4)]),
    case("unsqueeze", lambda m, x: x.unsqueeze(0), [(3, 4)]),
    case("unsqueeze_negative", lambda m, x: m.unsqueeze(x, -1), [(3, 4)]),
    case("unsqueeze_0d", lambda m, x: x.unsqueeze(0), [()]),
    case("expand", lambda m, x: x.expand(3, 4), [(1, 4)]),
    case("expand_new_dims", lambda m, x: x.expand(2, 3, 4), [(3, 1)]),
    case("expand_minus_one", lambda m, x: x.expand(-1, 5), [(3, 1)]),
    case("expand_0d", lambda m, x: x.expand(2, 2), [()]),
    case("cat", lambda m, x, y: m.cat([x, y]), [(2, 3), (4, 3)]),
    case("cat_dim1", lambda m, x, y, z: m.cat((x, y, z), dim=1), [(2, 3), (2, 1), (2, 2)]),
    case("cat_negative_dim", lambda m, x, y: m.cat([x, y], -1), [(2, 3, 1), (2, 3, 2)]),
    case("cat_same_tensor", lambda m, x: m.cat([x, x * 2, x]), [(2, 3)]),
    case("stack", lambda m, x, y: m.stack([x, y]), [(2, 3), (2, 3)]),
    case("stack_last", lambda m, x, y: m.stack([x, y], dim=-1), [(2, 3), (2, 3)]),
    case("stack_0d", lambda m, x, y: m.stack([x, y]), [(), ()]),
    case("split_size", lambda m, x: x.split(2), [(5, 3)]),
    case("split_sections", lambda m, x: m.split(x, [1, 2], dim=1), [(4, 3)]),
    case("split_use_one", lambda m, x: x.split(2, dim=-1)[1] * 3, [(2, 5)]),
    case("chunk", lambda m, x: x.chunk(3), [(7, 2)]),
    case("chunk_dim", lambda m, x: m.chunk(x, 2, dim=1), [(2, 4)]),
    case("unbind", lambda m, x: x.unbind(1), [(2, 3)]),
    case("pad_constant", lambda m, x: m.pad(x, (1, 2)), [(2, 3)]),
    case("pad_constant_value", lambda m, x: m.pad(x, (1, 0, 2, 1), value=-1.5), [(2, 3)]),
    case("pad_negative_crops", lambda m, x: m.pad(x, (-1, 2)), [(2, 4)]),
    case("pad_reflect", lambda m, x: m.pad(x, (2, 1), mode="reflect"), [(1, 2, 4)]),
    case("pad_reflect_2d", lambda m, x: m.pad(x, (1, 1, 2, 1), mode="reflect"), [(1, 1, 4, 3)]),
    case("pad_replicate", lambda m, x: m.pad(x, (3, 1), mode="replicate"), [(1, 2, 3)]),
    case("pad_replicate_2d", lambda m, x: m.pad(x, (1, 2, 2, 0), mode="replicate"), [(1, 1, 3, 3)]),
    case("pad_circular", lambda m, x: m.pad(x, (1, 2), mode="circular"), [(1, 2, 3)]),
    case("repeat", lambda m, x: x.repeat(2, 1, 3), [(2, 3)]),
    case("clone", lambda m, x: x.clone() * 2, [(2, 3)]),
]

INDEXING = [
    case("int", lambda m, x: x[1], [(3, 4)]),
    case("negative_int", lambda m, x: x[-1, -2], [(3, 4)]),
    case("slice", lambda m, x: x[1:3], [(4, 4)]),
    case("slice_step", lambda m, x: x[::2, 1::2], [(5, 4)]),
    case("slice_negative", lambda m, x: x[-3:-1, :-1], [(5, 4)]),
    case("none", lambda m, x: x[None, :, None], [(3, 4)]),
    case("ellipsis", lambda m, x: x[..., 1], [(2, 3, 4)]),
    case("ellipsis_none", lambda m, x: x[1, ..., None], [(2, 3, 4)]),
    case("bool_mask", lambda m, x: x[x > 0], [(3, 4)]),
    case("bool_mask_rows", lambda m, x: x[m.tensor([True, False, True])], [(3, 4)]),
    case("int_list", lambda m, x: x[[0, 2]], [(3, 4)]),
    case("int_tensor_repeated", lambda m, x: x[m.tensor([0, 2, 0, 0])], [(3, 4)]),
    case("int_tensor_2d", lambda m, x: x[m.tensor([[0, 1], [1, 1]])], [(3, 4)]),
    case("int_arrays_pair", lambda m, x: x[m.tensor([0, 1, 1]), m.tensor([3, 0, 3])], [(3, 4)]),
    case("slice_and_int_array", lambda m, x: x[:, m.tensor([1, 1, 0])], [(3, 4)]),
    case("negative_int_array", lambda m, x: x[m.tensor([-1, 0, -1])], [(3, 4)]),
    case("index_0d_with_none", lambda m, x: x[None], [()]),
    case("index_0d_with_ellipsis", lambda m, x: x[...], [()]),
    case("gather", lambda m, x: m.gather(x, 1, m.tensor([[0, 0], [1, 0], [3, 3]])), [(3, 4)]),
    case("masked_fill", lambda m, x: x.masked_fill(x > 0.5, -1.0), [(3, 4)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SHAPE + INDEXING)
def test_shape_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SHAPE[:12] + INDEXING)
def test_shape_op_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


def _both(values, device="cpu", dtype=None):
    return torch.tensor(values, dtype=dtype), lf.tensor(values, device=device,
                                                         dtype=None if dtype is None else str(dtype)[6:])


def _same(ours, theirs):
    assert ours.dtype.name == str(theirs.dtype)[6:]
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


INPLACE = [
    pytest.param(lambda x: x.add_(2.0), id="add_"),
    pytest.param(lambda x: x.add_(x, alpha=0.5), id="add_alpha"),
    pytest.param(lambda x: x.sub_(1.0), id="sub_"),
    pytest.param(lambda x: x.mul_(3.0), id="mul_"),
    pytest.param(lambda x: x.mul_(x[0] * 1), id="mul_broadcast"),
    pytest.param(lambda x: x.div_(4.0), id="div_"),
    pytest.param(lambda x: x.zero_(), id="zero_"),
    pytest.param(lambda x: x.fill_(7.5), id="fill_"),
    pytest.param(lambda x: x.clamp_(-1.0, 1.0), id="clamp_"),
    pytest.param(lambda x: x.pow_(2), id="pow_"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("update", INPLACE)
def test_inplace_update_matches_torch_and_returns_self(update, device):
    t, o = _both([[1.0, -2.0, 3.5], [0.5, 4.0, -1.5]], device)
    assert update(o) is o
    update(t)
    _same(o, t)


@pytest.mark.parametrize("device", DEVICES)
def test_copy_into_existing_storage_keeps_dtype(device):
    t, o = _both([1.0, 2.0, 3.0], device)
    alias = o[1:]  # a view shares storage, as in PyTorch
    o.copy_(lf.tensor([4, 5, 6]))
    t.copy_(torch.tensor([4, 5, 6]))
    _same(o, t)
    assert alias.tolist() == [5.0, 6.0]


@pytest.mark.parametrize("device", DEVICES)
def test_sgd_style_update_of_a_leaf_under_no_grad(device):
    w = lf.tensor([1.0, 2.0], device=device, requires_grad=True)
    (w * w).sum().backward()
    with lf.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().cpu().numpy(), [0.8, 1.6], rtol=1e-6)
    assert w.grad.tolist() == [0.0, 0.0]
    (w * 3).sum().backward()  # the updated leaf keeps working in a new graph
    assert w.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index, value", [
    pytest.param(1, 9.0, id="row_scalar"),
    pytest.param((slice(None), 0), [7.0, 8.0], id="column_list"),
    pytest.param(Ellipsis, 0.0, id="ellipsis"),
    pytest.param("mask", -1.0, id="bool_mask"),
    pytest.param("ints", 5.0, id="int_tensor"),
])
def test_setitem_under_no_grad_matches_torch(index, value, device):
    t, o = _both([[1.0, -2.0], [0.5, 4.0]], device)
    t.requires_grad_(), o.requires_grad_()
    t_index, o_index = index, index
    if index == "mask":
        t_index, o_index = t.detach() > 0, o.detach() > 0
    elif index == "ints":
        t_index, o_index = torch.tensor([1, 1]), lf.tensor([1, 1], device=device)
    with torch.no_grad():
        t[t_index] = torch.tensor(value) if isinstance(value, list) else value
    with lf.no_grad():
        o[o_index] = lf.tensor(value, device=device) if isinstance(value, list) else value
    _same(o.detach(), t.detach())


def test_setitem_on_int_tensor_casts_like_torch():
    t, o = _both([1, 2, 3])
    t[0], o[0] = 2.7, 2.7
    _same(o, t)
