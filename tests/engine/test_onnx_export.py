"""torch.onnx.export for engine modules: tutorial-sized models run in onnxruntime as in the engine."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from onnx_support import assert_matches, export_bytes, initializer_names, onnx, op_types, run_onnx

import layerforge.engine as torch
from layerforge.engine.ops import common

nn = torch.nn
F = nn.functional


def _state_keys(model) -> set:
    return set(model.state_dict())


# ------------------------------------------------------------------------------ the tutorial models
def test_mlp_matches_onnxruntime_and_names_initializers_by_state_dict_keys():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 16), nn.Tanh(),
                          nn.Linear(16, 3))
    proto = assert_matches(model, torch.randn(5, 8), torch.randn(11, 8), names=["features"],
                           output_names=["logits"], dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    assert initializer_names(proto) == _state_keys(model)
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert "Gemm" in op_types(proto) and "Dropout" not in op_types(proto)
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.1),
            nn.AvgPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 10))

    def forward(self, x):
        return self.head(self.features(x))


def _randomise_batch_norm_statistics(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):  # not the initial 0/1: the export must use them
            n = module.num_features
            module.running_mean.copy_(torch.randn(n) * 0.5)
            module.running_var.copy_(torch.rand(n) + 0.5)
            module.weight.data.copy_(torch.rand(n) + 0.5)


def test_cnn_matches_onnxruntime_in_eval_mode_and_restores_training_mode():
    torch.manual_seed(1)
    model = SmallCNN()
    _randomise_batch_norm_statistics(model)
    model.train()
    proto = assert_matches(model, torch.randn(2, 3, 16, 16), torch.randn(7, 3, 16, 16),
                           dynamic_axes={"x0": [0]})
    model.train()  # assert_matches evaluates; the export itself must have left training on
    export_bytes(model, torch.randn(2, 3, 16, 16))
    assert model.training and model.features[1].training
    assert not any(b.requires_grad for b in model.buffers())  # marked for the trace only
    assert all(p.requires_grad for p in model.parameters())
    # Weights and running statistics under their state_dict keys; the batch counter is not used in eval.
    used = {k for k in _state_keys(model) if not k.endswith("num_batches_tracked")}
    assert used <= initializer_names(proto)
    assert not {k for k in _state_keys(model) if k.endswith("num_batches_tracked")} & initializer_names(proto)
    assert {"Conv", "BatchNormalization", "MaxPool", "AveragePool", "Gemm"} <= op_types(proto)


class LSTMClassifier(nn.Module):
    def __init__(self, layers=1, bidirectional=False):
        super().__init__()
        self.lstm = nn.LSTM(4, 12, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(12 * (2 if bidirectional else 1), 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1, :])


@pytest.mark.parametrize("layers, bidirectional", [(1, False), (2, True)])
def test_lstm_classifier_batch_first_matches_onnxruntime_at_any_batch_size(layers, bidirectional):
    torch.manual_seed(2)
    model = LSTMClassifier(layers, bidirectional)
    proto = assert_matches(model, torch.randn(3, 9, 4), torch.randn(6, 9, 4), dynamic_axes={"x0": {0: "batch"}})
    assert "LSTM" in op_types(proto)
    assert initializer_names(proto) >= _state_keys(model)


class Encoder(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.encoder = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, batch_first=True,
                                                  **kwargs)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.encoder(x).mean(dim=1))


@pytest.mark.parametrize("kwargs", [{}, {"norm_first": True, "activation": "gelu"}])
def test_transformer_encoder_matches_onnxruntime_at_any_batch_size(kwargs):
    torch.manual_seed(3)
    model = Encoder(**kwargs)
    proto = assert_matches(model, torch.randn(2, 6, 16), torch.randn(5, 6, 16), dynamic_axes={"x0": {0: "batch"}})
    assert "LayerNormalization" in op_types(proto) and "Softmax" in op_types(proto)


class MaskedEncoder(nn.Module):
    """Two inputs (embeddings and a padding mask), a causal mask and learned positions."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2)
        self.positions = nn.Parameter(torch.randn(1, 6, 16))

    def forward(self, x, padding):
        causal = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        return self.encoder(x + self.positions[:, :x.shape[1]], mask=causal, src_key_padding_mask=padding)


def test_transformer_with_causal_and_padding_masks_takes_any_batch_size():
    torch.manual_seed(3)
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    more_padding = torch.tensor([[False] * 6, [False] * 5 + [True], [False] * 2 + [True] * 4])
    assert_matches(MaskedEncoder(), (torch.randn(2, 6, 16), padding), (torch.randn(3, 6, 16), more_padding),
                   names=["x", "padding"], dynamic_axes={"x": [0], "padding": [0]})


def test_named_dynamic_axes_vary_independently():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 8)
            self.lstm = nn.LSTM(8, 12, batch_first=True)
            self.head = nn.Linear(12, 5)

        def forward(self, tokens):
            out, _ = self.lstm(self.embed(tokens))
            return self.head(out)  # one prediction per token

    torch.manual_seed(2)
    proto = assert_matches(Tagger(), torch.randint(0, 20, (2, 7)), torch.randint(0, 20, (4, 9)),
                           torch.randint(0, 20, (1, 3)), names=["tokens"], output_names=["tags"],
                           dynamic_axes={"tokens": {0: "batch", 1: "time"}, "tags": {0: "batch", 1: "time"}})
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "time", 5]


class PlainOps(nn.Module):
    """A model written with tensor operations in forward, no layers but a weight and a buffer."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(6, 8) * 0.5)
        self.register_buffer("scale", torch.tensor([1.5]))

    def forward(self, x):
        h = x @ self.weight
        h = (h - h.mean(dim=1, keepdim=True)) / (h.std(dim=1, keepdim=True) + 1e-3)
        h = torch.where(h > 0, h, h * 0.1) * self.scale
        h = torch.cat([h, h.pow(2), h.abs().sqrt(), torch.exp(-h.clamp(-3, 3))], dim=1)  # (N, 32)
        h = h.view(h.size(0), 4, 8).transpose(1, 2).reshape(-1, 32)
        first, second = h[:, :16], h[:, 16:]
        s = torch.stack([first, second], dim=0).sum(0) - 2 * first / (1 + second.abs())
        s = s + s.max(dim=1, keepdim=True).values - s.min(1).values.unsqueeze(1)
        s = torch.sigmoid(s) + torch.tanh(s) - F.gelu(s) + torch.log(s.relu() + 1) - (s < -0.5).float()
        s = torch.softmax(s, -1) + torch.log_softmax(s, dim=1) + s.unsqueeze(0).expand(2, -1, -1).mean(0)
        return (-s).t().t()[..., 1:-1:2] ** 2


def test_a_model_of_plain_tensor_ops_matches_onnxruntime():
    torch.manual_seed(4)
    model = PlainOps()
    proto = assert_matches(model, torch.randn(3, 6), torch.randn(8, 6), dynamic_axes={"x0": {0: "n"}})
    assert initializer_names(proto) >= {"weight", "scale"}


# ------------------------------------------------------------------------------ the API
def test_the_torch_idiom_writes_a_checked_file_to_a_path(tmp_path):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid())
    x = torch.randn(2, 3)
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, x, str(path))
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == torch.onnx.DEFAULT_OPSET
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary left behind
    out = run_onnx(path.read_bytes(), {"input": x.numpy()})[0]
    np.testing.assert_allclose(out, model(x).detach().numpy(), atol=1e-6)


def test_opset_version_is_honoured_and_checked():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU())
    x = torch.randn(2, 3)
    for opset in (17, 20):
        proto = assert_matches(model, x, opset_version=opset)
        assert proto.opset_import[0].version == opset
    assert "Gelu" in op_types(assert_matches(model, x, opset_version=20))
    with pytest.raises(ValueError, match="opset_version 9"):
        export_bytes(model, x, opset_version=9)


class Head(nn.Module):
    def forward(self, x):
        return x.cumprod(1)


class WithHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 3)
        self.head = Head()

    def forward(self, x):
        return self.head(self.body(x))


def test_an_operation_without_converter_fails_with_its_name_and_where_and_leaves_no_hook():
    model = WithHead()
    with pytest.raises(torch.onnx.ExportError, match=r"no ONNX converter for 'cumprod' \(called in model\.head"):
        export_bytes(model, torch.randn(2, 3))
    assert common._trace_hook is None
    assert torch.ops.compare.__module__ == "layerforge.engine.ops"
    assert (torch.randn(2) > 0).dtype == torch.bool  # the engine works as before


def test_constants_made_in_forward_follow_the_dynamic_batch_when_they_are_fills():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 5, batch_first=True)

        def forward(self, x):
            h0 = torch.zeros(1, x.shape[0], 5) + 0.25  # a fill sized by the batch
            out, _ = self.rnn(x, h0)
            return out + torch.ones(5)

    torch.manual_seed(6)
    assert_matches(Model(), torch.randn(2, 4, 3), torch.randn(5, 4, 3), dynamic_axes={"x0": [0]})


def test_a_constant_that_follows_the_batch_but_is_not_a_fill_or_a_ramp_is_refused():
    class Model(nn.Module):
        def forward(self, x):
            return x + torch.tensor(list(range(x.shape[0]))[::-1]).float().unsqueeze(1)

    with pytest.raises(torch.onnx.ExportError, match="made inside forward"):
        export_bytes(Model(), torch.randn(3, 2), input_names=["x"], dynamic_axes={"x": [0]})
    assert_matches(Model(), torch.randn(3, 2))  # fine at a fixed batch size


def test_a_view_taken_around_the_recording_is_refused_rather_than_baked_in():
    class Model(nn.Module):
        def forward(self, x):
            return x.detach()[0] * 2

    with pytest.raises(RuntimeError, match="outside the recorded operations"):
        export_bytes(Model(), torch.randn(3, 2))


def test_dynamic_axes_must_name_inputs_or_outputs():
    with pytest.raises(ValueError, match="'img'"):
        export_bytes(nn.Linear(2, 2), torch.randn(1, 2), input_names=["x"], dynamic_axes={"img": [0]})


def test_in_place_activations_are_recorded():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            y = self.fc(x)
            self.act(y)
            return y * 2

    assert_matches(Model(), torch.randn(3, 4))


def test_other_threads_run_unrecorded_while_a_model_is_traced():
    seen = []

    class Slow(nn.Module):
        def forward(self, x):
            worker = threading.Thread(target=lambda: seen.append((torch.ones(2) * 3).sum().item()))
            worker.start()
            worker.join()
            return x * 2

    proto = onnx.load_from_string(export_bytes(Slow(), torch.randn(2)))
    assert seen and set(seen) == {6.0}  # the export runs forward twice (sizes and values vary)
    assert [n.op_type for n in proto.graph.node] == ["Mul"]


def test_importing_the_engine_does_not_import_onnx():
    code = "import sys, layerforge.engine as torch; torch.onnx.export; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "False"


def test_a_missing_onnx_package_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        export_bytes(nn.Linear(2, 2), torch.randn(1, 2))


def test_outputs_may_repeat_pass_inputs_through_or_be_parameters():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            y = self.fc(x)
            return y, y, x, self.fc.weight, {"doubled": y * 2}

    torch.manual_seed(10)
    proto = assert_matches(Model(), torch.randn(3, 2), output_names=["y", "again", "x", "weight", "doubled"])
    assert [o.name for o in proto.graph.output] == ["y", "again", "x", "weight", "doubled"]


def test_values_computed_outside_the_recording_are_refused_not_written_as_constants():
    class Model(nn.Module):
        def forward(self, x):
            return torch.from_numpy(x.detach().numpy() > 0).float() * x  # a detour through numpy

    with pytest.raises(torch.onnx.ExportError, match="changes with the input"):
        export_bytes(Model(), torch.randn(4, 6))


def test_indices_handed_back_as_an_output_are_refused_not_written_as_constants():
    class Model(nn.Module):
        def forward(self, x):
            values, indices = nn.functional.adaptive_max_pool2d(x, 3, return_indices=True)
            return values, indices

    with pytest.raises(torch.onnx.ExportError, match="output 1 of the model .* changes with the input"):
        export_bytes(Model(), torch.randn(2, 3, 10, 10))


def test_python_control_flow_is_recorded_as_taken_with_a_warning():
    class Model(nn.Module):
        def forward(self, x):
            if x[0] > 0:
                return x * 2
            return x - 1

    x = torch.tensor([1.0, -5.0, -5.0, -5.0])
    with pytest.warns(UserWarning, match="branch the example input took"):
        data = export_bytes(Model(), x)
    assert run_onnx(data, {"input": -x.numpy()})[0].tolist() == [-2.0, 10.0, 10.0, 10.0]  # the branch taken


@pytest.mark.parametrize("opset", [torch.onnx.MIN_OPSET, torch.onnx.MAX_OPSET])
def test_the_lowest_and_highest_opsets_write_models_onnxruntime_runs(opset):
    torch.manual_seed(11)
    for model, x in ((Encoder(norm_first=True, activation="gelu"), torch.randn(2, 6, 16)),
                     (PlainOps(), torch.randn(3, 6))):
        proto = assert_matches(model, x, opset_version=opset)  # reductions take axes as inputs from 18
        assert proto.opset_import[0].version == opset


def test_options_that_would_change_the_file_are_honoured_or_refused():
    model = nn.Linear(2, 3)
    x = torch.randn(1, 2)
    proto = onnx.load_from_string(export_bytes(model, x, keep_initializers_as_inputs=True))
    assert {"weight", "bias"} <= {i.name for i in proto.graph.input}
    for option in ({"export_params": False}, {"dynamo": True}, {"export_modules_as_functions": True}):
        with pytest.raises(torch.onnx.ExportError, match="not supported"):
            export_bytes(model, x, **option)


def test_arange_positions_and_one_hot_follow_a_dynamic_sequence_length():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(10, 8)
            self.positions = nn.Embedding(32, 8)

        def forward(self, ids):
            where = self.positions(torch.arange(ids.shape[1])).unsqueeze(0)
            return self.tokens(ids) + where + F.one_hot(ids, 10).float()[..., :8]

    torch.manual_seed(12)
    assert_matches(Model(), torch.randint(0, 10, (2, 5)), torch.randint(0, 10, (3, 9)), names=["ids"],
                   dynamic_axes={"ids": {0: "batch", 1: "time"}})


def test_statistics_over_a_dynamic_axis_count_its_size_at_run_time():
    class Model(nn.Module):
        def forward(self, x):
            return x.var(dim=0, keepdim=True) + x.std(0, unbiased=False) - x.mean(0) + x.var()

    assert_matches(Model(), torch.randn(3, 4), torch.randn(7, 4), dynamic_axes={"x0": [0]})


def test_slices_sized_by_a_dynamic_axis_follow_it():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("causal", torch.tril(torch.ones(16, 16)))

        def forward(self, x):  # (batch, time, features)
            t = x.shape[1]
            scores = x @ x.transpose(1, 2) * self.causal[:t, :t]  # a buffer cut to the sequence length
            return scores[:, :t - 1].sum(1) + x[:, t - 1].sum(1, keepdim=True)

    torch.manual_seed(13)
    assert_matches(Model(), torch.randn(2, 5, 3), torch.randn(3, 8, 3), dynamic_axes={"x0": {0: "b", 1: "t"}})


def test_arguments_that_follow_a_size_without_a_way_to_write_them_are_refused():
    class Model(nn.Module):
        def forward(self, x):
            return x.repeat(1, x.shape[0])

    with pytest.raises(torch.onnx.ExportError, match="'repeat'.*change with the input"):
        export_bytes(Model(), torch.randn(2, 3), input_names=["x"], dynamic_axes={"x": [0]})


def test_parameter_names_win_over_helper_names_and_clash_with_given_names():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.shape = nn.Parameter(torch.randn(4))  # a key the exporter also likes for helpers
            self.axes = nn.Parameter(torch.randn(4))

        def forward(self, x):
            return x.reshape(2, 4).unsqueeze(0).squeeze(0) * self.shape + self.axes

    proto = assert_matches(Model(), torch.randn(8))
    assert {"shape", "axes"} <= initializer_names(proto)
    with pytest.raises(torch.onnx.ExportError, match="'axes'"):
        export_bytes(Model(), torch.randn(8), input_names=["axes"])
