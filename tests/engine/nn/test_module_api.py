"""Module behaviour a PyTorch user relies on: registration order, iteration, state dicts and their
errors, modes, dtype moves, gradients, hooks, containers and the printed form."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _build_net(nn):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(lf.ones(3) if nn is lf.nn else torch.ones(3))
            self.lin = nn.Linear(3, 3)
            self.register_buffer("steps", (lf if nn is lf.nn else torch).zeros(1))
            self.register_buffer("cache", (lf if nn is lf.nn else torch).zeros(2), persistent=False)
            self.bn = nn.BatchNorm1d(3)

        def forward(self, x):
            return self.bn(self.lin(x) * self.scale)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.act = nn.ReLU()
            self.second = Block()
            self.head = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.1))

        def forward(self, x):
            return self.head(self.act(self.second(self.first(x))))

    return Net()


def test_registration_order_and_names_match_torch():
    ours, theirs = _build_net(nn), _build_net(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "first.cache" not in ours.state_dict()  # non-persistent buffers stay out


def test_shared_modules_and_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassigning_and_deleting_attributes_updates_the_registries():
    m = nn.Linear(2, 3)
    m.bias = None
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    m.extra = nn.Parameter(lf.zeros(4))
    with pytest.raises(TypeError, match="cannot assign 'Tanh' as parameter 'extra'"):
        m.extra = nn.Tanh()  # as in PyTorch: a parameter's name takes only a Parameter or None
    del m.extra
    m.extra = nn.Tanh()
    assert "extra" not in dict(m.named_parameters()) and "extra" in dict(m.named_children())
    del m.extra
    assert not hasattr(m, "extra")
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'weight'"):
        m.weight = 3


def test_assigning_before_super_init_says_what_to_do():
    class Broken(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Broken()


def test_load_state_dict_strict_errors_name_each_key():
    model = _build_net(nn)
    state = model.state_dict()
    del state["first.lin.bias"]
    state["surprise.weight"] = lf.zeros(1)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(state)
    text = str(err.value)
    assert 'Missing key(s) in state_dict: "first.lin.bias"' in text
    assert 'Unexpected key(s) in state_dict: "surprise.weight"' in text
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["first.lin.bias"] and result.unexpected_keys == ["surprise.weight"]


def test_load_state_dict_shape_mismatch_names_key_and_both_shapes():
    model = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight.*\[3, 5\].*\[3, 4\]"):
        model.load_state_dict({"0.weight": np.zeros((3, 5), np.float32), "0.bias": np.zeros(3)},
                              strict=False)


def test_load_state_dict_copies_values_in_place_and_keeps_identities():
    model = nn.Linear(2, 2)
    weight = model.weight
    model.load_state_dict({"weight": lf.ones(2, 2), "bias": lf.zeros(2)})
    assert model.weight is weight
    np.testing.assert_array_equal(weight.detach().numpy(), np.ones((2, 2)))


def test_state_dict_shares_storage_like_torch():
    model = nn.Linear(2, 2)
    model.state_dict()["bias"].fill_(5.0)
    np.testing.assert_array_equal(model.bias.detach().numpy(), [5.0, 5.0])
    assert not model.state_dict()["bias"].requires_grad
    assert model.state_dict(keep_vars=True)["bias"] is model.bias


def test_train_and_eval_propagate_to_every_submodule():
    model = _build_net(nn)
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.head.eval()
    assert model.training and not model.head[1].training


@pytest.mark.parametrize("nn", [nn, torch.nn], ids=["layerforge", "torch"])
def test_train_calls_each_childs_own_train_as_pytorch_does(nn):
    """A module that overrides train() (a frozen batch norm stays in eval mode) is obeyed when its
    parent's mode changes, at any depth, and ``eval()`` goes through train(False)."""
    class FrozenNorm(nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)

    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(FrozenNorm(3), nn.ReLU()))
    model.train()
    assert model.training and model[0].training and model[1].training and model[1][1].training
    assert not model[1][0].training
    model.eval()
    assert not any(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train(1)


def test_to_dtype_converts_floating_parameters_and_buffers_and_keeps_identities():
    model = _build_net(nn)
    param = model.first.lin.weight
    model.to(lf.float64)
    assert model.first.lin.weight is param and param.dtype == lf.float64
    assert model.first.bn.running_mean.dtype == lf.float64
    assert model.first.bn.num_batches_tracked.dtype == lf.int64  # integers are left alone
    out = model(lf.randn(4, 3, dtype=lf.float64))
    assert out.dtype == lf.float64
    model.float()
    assert param.dtype == lf.float32
    model.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        model.to(lf.int64)


def test_zero_grad_requires_grad_and_apply():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    model(lf.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Linear", "Sequential"]  # children first, as PyTorch


def test_call_runs_forward_and_hooks():
    model = nn.Linear(2, 2)
    seen = []
    handle = model.register_forward_hook(lambda mod, args, out: seen.append(tuple(out.shape)))
    pre = model.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    out = model(lf.ones(5, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(model.bias.detach().numpy(),
                                                                     (5, 2)))
    handle.remove()
    pre.remove()
    model(lf.ones(1, 2))
    assert seen == [(5, 2)]


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(lf.ones(1))


def test_sequential_indexing_slicing_append_and_iteration():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert len(model) == 3 and isinstance(model[-1], nn.Linear)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert tuple(head(lf.randn(5, 3)).shape) == (5, 4)
    model.append(nn.Sigmoid())
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del model[1]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["enc.weight", "enc.bias"] and named.enc is named[0]
    with pytest.raises(IndexError, match="out of range"):
        model[7]


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    layers.append(nn.Linear(2, 1))
    layers.extend([nn.ReLU()])
    assert len(layers) == 4 and isinstance(layers[1:3], nn.ModuleList)
    assert [n for n, _ in layers.named_parameters()][-2:] == ["2.weight", "2.bias"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(2, 4)
    assert list(heads) == ["a", "b"] and "b" in heads and len(heads) == 2
    assert list(heads.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


def test_deepcopy_gives_independent_parameters():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    clone = copy.deepcopy(model)
    with lf.no_grad():
        clone[0].weight.fill_(3.0)
    assert not np.all(model[0].weight.detach().numpy() == 3.0)
    assert isinstance(clone[0].weight, nn.Parameter)


def test_parameter_behaves_like_torch():
    p = nn.Parameter(lf.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert type(p * 2) is lf.Tensor
    frozen = nn.Parameter(lf.zeros(2), requires_grad=False)
    assert not frozen.requires_grad


def _repr_model(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, (3, 3), stride=2, dilation=2, groups=2, bias=False),
        nn.Conv2d(16, 16, 3, padding="same", padding_mode="reflect"),
        nn.ConvTranspose2d(16, 8, 3, stride=2, output_padding=1), nn.Conv1d(3, 3, 3),
        nn.AvgPool2d(2), nn.AvgPool1d(3), nn.MaxPool1d(2, ceil_mode=True),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Unflatten(1, (2, 8)), nn.Dropout(0.25),
        nn.Linear(16, 120), nn.Bilinear(2, 3, 4, bias=False), nn.LayerNorm(120), nn.Embedding(10, 3, padding_idx=1),
        nn.LeakyReLU(0.2), nn.ELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Sigmoid(), nn.Tanh(),
        nn.Softmax(dim=1), nn.LogSoftmax(dim=-1), nn.Softplus(beta=2), nn.Hardtanh(), nn.Identity(),
        nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()]),
        nn.ModuleDict({"head": nn.Linear(3, 1)}), nn.BatchNorm1d(4, momentum=None),
    )


def test_repr_matches_torch_line_for_line():
    assert repr(_repr_model(nn)) == repr(_repr_model(torch.nn))


def test_dir_and_submodule_lookup_cover_registered_names():
    model = _build_net(nn)
    names = dir(model)
    assert {"first", "head", "forward", "training"} <= set(names)
    assert "scale" in dir(model.first) and "steps" in dir(model.first)
    assert model.get_submodule("first.lin") is model.first.lin
    assert model.get_parameter("second.lin.bias") is model.second.lin.bias
    with pytest.raises(AttributeError, match="has no submodule 'nope'"):
        model.get_submodule("first.nope")


def test_embedding_from_pretrained_matches_torch():
    weights = np.arange(12, dtype=np.float32).reshape(4, 3)
    ours = nn.Embedding.from_pretrained(lf.tensor(weights))
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(weights))
    assert not ours.weight.requires_grad and repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ours(lf.tensor([3, 1])).numpy(), theirs(torch.tensor([3, 1])).numpy())
    trainable = nn.Embedding.from_pretrained(lf.tensor(weights), freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0


def _hooked_run(lib):
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    return net, np.random.default_rng(0).standard_normal((5, 3)).astype("float32")


@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")
@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hooks_see_and_replace_gradients_as_torch(input_requires_grad):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    records = {}

    def build(lib, key):
        net, x = _hooked_run(lib)
        seen = records.setdefault(key, [])

        def hook(module, grad_input, grad_output):
            seen.append(([None if g is None else g.detach().numpy().copy() for g in grad_input],
                         [g.detach().numpy().copy() for g in grad_output]))
            if grad_input[0] is not None:
                return (grad_input[0] * 2,)  # replaced gradients flow on

        def pre_hook(module, grad_output):
            return (grad_output[0] * 0.5,)

        handles = [net[0].register_full_backward_hook(hook), net[2].register_full_backward_hook(hook),
                   net[2].register_full_backward_pre_hook(pre_hook)]
        return net, x, handles

    tnet, x, _ = build(torch, "torch")
    onet, _, o_handles = build(lf, "ours")
    onet.load_state_dict({k: v.detach().numpy() for k, v in tnet.state_dict().items()})
    tx = torch.tensor(x, requires_grad=input_requires_grad)
    ox = lf.tensor(x, requires_grad=input_requires_grad)
    tnet(tx).sum().backward()
    onet(ox).sum().backward()
    assert len(records["ours"]) == len(records["torch"]) == 2
    for (oi, oo), (ti, to) in zip(records["ours"], records["torch"]):
        assert [g is None for g in oi] == [g is None for g in ti]
        for a, b in zip(oi + oo, ti + to):
            if b is not None:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for (name, p), (_, q) in zip(onet.named_parameters(), tnet.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7, err_msg=name)
    if input_requires_grad:
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    for handle in o_handles:
        handle.remove()
    records["ours"].clear()
    onet(lf.tensor(x)).sum().backward()
    assert records["ours"] == []


def test_nn_buffer_registers_as_torch():
    import torch as _torch
    results = []
    for m in (lf, _torch):
        class Model(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.kept = m.nn.Buffer(m.ones(2))
                self.scratch = m.nn.Buffer(m.zeros(1), persistent=False)
                self.linear = m.nn.Linear(2, 1)

        model = Model()
        results.append((list(model.state_dict()), [n for n, _ in model.named_buffers()],
                        [n for n, _ in model.named_parameters()], type(model.kept).__name__,
                        m.nn.Buffer(m.ones(2, requires_grad=True)).requires_grad))
    assert results[0] == results[1]


def test_recurrent_base_classes_are_exposed_as_in_torch():
    import torch as _torch
    for m in (lf, _torch):
        assert isinstance(m.nn.LSTM(2, 3), m.nn.RNNBase) and isinstance(m.nn.GRUCell(2, 3), m.nn.RNNCellBase)
        assert not isinstance(m.nn.Linear(2, 3), m.nn.RNNBase)
