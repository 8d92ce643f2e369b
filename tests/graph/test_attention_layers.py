"""The attention layers on the canvas: shape rules, the errors a person sees, compile and state_dict names.

(Each layer's outputs against PyTorch's own modules are in test_graph_compile's shared cases.)
"""
import numpy as np
import pytest

import layerforge.engine as engine
from layerforge.graph import GraphError, ModelSpec, compile_spec, get_layer, infer_shapes, layers_in, search
from layerforge.graph.catalog import torch_code
from layerforge.graph.spec import Node
from spec_cases import chain


def sequence_model(*layers, length=6, dim=8, dtype="float32"):
    return chain(("Input", {"shape": (length, dim) if dtype == "float32" else (length,), "dtype": dtype}), *layers)


def report_error(spec, name):
    report = infer_shapes(spec)
    node = spec.node_by_name(name)
    return report.nodes[node.id].error.message


def test_the_palette_has_an_attention_group_and_finds_it_by_words():
    assert [layer.type for layer in layers_in("Attention")] == [
        "MultiheadSelfAttention", "TransformerEncoderBlock", "PositionalEmbedding", "SequencePool"]
    assert {layer.type for layer in search("attention")} >= {"MultiheadSelfAttention", "TransformerEncoderBlock"}
    assert "PositionalEmbedding" in {layer.type for layer in search("position")}


def test_shapes_flow_through_a_small_transformer():
    spec = sequence_model(("Embedding", {"num_embeddings": 10, "embedding_dim": 16}),
                          ("PositionalEmbedding", {"max_len": 32}),
                          ("MultiheadSelfAttention", {"num_heads": 4}),
                          ("TransformerEncoderBlock", {"num_heads": 2, "dim_feedforward": 24}),
                          ("SequencePool", {"mode": "mean"}), ("Linear", {"out_features": 3}),
                          length=12, dtype="int64")
    report = infer_shapes(spec)
    assert not report.errors
    shapes = {spec.nodes[node_id].name: node.output_shape for node_id, node in report.nodes.items()}
    assert shapes == {"input1": (12,), "embed1": (12, 16), "pos1": (12, 16), "attn1": (12, 16),
                      "encoder1": (12, 16), "seqpool1": (16,), "fc1": (3,)}
    # embedding 160, positions 32*16, attention 4*16*16 + 4*16, block 4*16*16 + 4*16 + 2*16*24 + 24 + 16 + 4*16
    assert report.total_params == 160 + 512 + 1088 + 1088 + 768 + 40 + 64 + 51


def test_heads_that_do_not_divide_the_dimension_name_the_layer_and_the_choices():
    spec = sequence_model(("MultiheadSelfAttention", {"num_heads": 3}), dim=8)
    error = report_error(spec, "attn1")
    assert "MultiheadSelfAttention 'attn1' has num_heads=3, which does not divide the embedding dimension 8" in error
    assert "choose num_heads among 1, 2, 4, 8" in error
    with pytest.raises(GraphError, match="attn1' has num_heads=3"):
        compile_spec(spec)
    block = sequence_model(("TransformerEncoderBlock", {"num_heads": 5}), dim=12)
    assert "TransformerEncoderBlock 'encoder1' has num_heads=5" in report_error(block, "encoder1")


def test_a_sequence_longer_than_the_positional_table_is_refused_with_the_fix():
    spec = sequence_model(("PositionalEmbedding", {"max_len": 4}), length=6)
    assert report_error(spec, "pos1") == ("PositionalEmbedding 'pos1' holds 4 positions (max_len), but its input "
                                          "(6, 8) is a sequence of 6: raise max_len to at least 6")


@pytest.mark.parametrize("layer_type", ["MultiheadSelfAttention", "TransformerEncoderBlock", "PositionalEmbedding",
                                        "SequencePool"])
def test_inputs_that_are_not_sequences_are_refused_with_a_hint(layer_type):
    flat = chain(("Input", {"shape": (8,)}), (layer_type, {}))
    name = flat.nodes[list(flat.nodes)[1]].name
    error = report_error(flat, name)
    assert error.startswith(f"{layer_type} '{name}' expects (sequence length, ")
    assert "got (8,): feed token indices through an Embedding" in error
    images = chain(("Input", {"shape": (3, 4, 4)}), (layer_type, {}))
    assert "insert Flatten(start_dim=2) to get (3, 16)" in report_error(images, name)


def test_compiled_state_dict_uses_pytorchs_names_under_the_node_names():
    spec = sequence_model(("PositionalEmbedding", {"max_len": 10}), ("MultiheadSelfAttention", {"num_heads": 2}),
                          ("TransformerEncoderBlock", {"num_heads": 2, "dim_feedforward": 16}),
                          ("SequencePool", {"mode": "first"}))
    state = compile_spec(spec).state_dict()
    assert {key: tuple(value.shape) for key, value in state.items()} == {
        "pos1.weight": (10, 8),
        "attn1.in_proj_weight": (24, 8), "attn1.in_proj_bias": (24,),
        "attn1.out_proj.weight": (8, 8), "attn1.out_proj.bias": (8,),
        "encoder1.self_attn.in_proj_weight": (24, 8), "encoder1.self_attn.in_proj_bias": (24,),
        "encoder1.self_attn.out_proj.weight": (8, 8), "encoder1.self_attn.out_proj.bias": (8,),
        "encoder1.linear1.weight": (16, 8), "encoder1.linear1.bias": (16,),
        "encoder1.linear2.weight": (8, 16), "encoder1.linear2.bias": (8,),
        "encoder1.norm1.weight": (8,), "encoder1.norm1.bias": (8,),
        "encoder1.norm2.weight": (8,), "encoder1.norm2.bias": (8,),
    }


def test_positional_embedding_adds_the_first_rows_of_its_table_to_every_sample():
    spec = sequence_model(("PositionalEmbedding", {"max_len": 9}), length=5, dim=3)
    model = compile_spec(spec).eval()
    table = model.state_dict()["pos1.weight"].numpy()
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    with engine.no_grad():
        got = model(engine.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, x + table[None, :5], rtol=1e-6)


@pytest.mark.parametrize("mode,expected", [("mean", lambda x: x.mean(axis=1)), ("max", lambda x: x.max(axis=1)),
                                           ("first", lambda x: x[:, 0]), ("last", lambda x: x[:, -1])])
def test_sequence_pool_reduces_over_positions(mode, expected):
    model = compile_spec(sequence_model(("SequencePool", {"mode": mode}), length=4, dim=3))
    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(engine.from_numpy(x)).numpy(), expected(x), rtol=1e-6)


def test_self_attention_mixes_positions_and_trains():
    spec = sequence_model(("PositionalEmbedding", {"max_len": 6}), ("MultiheadSelfAttention", {"num_heads": 2}),
                          ("SequencePool", {"mode": "first"}), ("Linear", {"out_features": 2}))
    engine.manual_seed(0)
    model = compile_spec(spec)
    x = engine.from_numpy(np.random.default_rng(2).standard_normal((3, 6, 8)).astype(np.float32))
    changed = x.numpy().copy()
    changed[:, 5] += 1.0   # only the last position changes ...
    with engine.no_grad():
        before, after = model(x).numpy(), model(engine.from_numpy(changed)).numpy()
    assert np.abs(before - after).max() > 1e-4   # ... and the first position's output hears of it
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_generated_pytorch_code_calls_attention_with_itself_and_adds_positions():
    pos = Node("n1", "PositionalEmbedding", "pos1", get_layer("PositionalEmbedding").parse_params({"max_len": 9}))
    attn = Node("n2", "MultiheadSelfAttention", "attn1", get_layer("MultiheadSelfAttention").parse_params({}))
    block = Node("n3", "TransformerEncoderBlock", "encoder1",
                 get_layer("TransformerEncoderBlock").parse_params({"activation": "gelu"}))
    assert torch_code(pos, [(5, 8)]) == "nn.Embedding(9, 8)"
    assert torch_code(attn, [(5, 8)]) == "nn.MultiheadAttention(8, 4, dropout=0.0, bias=True, batch_first=True)"
    assert torch_code(block, [(5, 8)]) == (
        "nn.TransformerEncoderLayer(8, 4, dim_feedforward=128, dropout=0.1, activation='gelu', "
        "layer_norm_eps=1e-05, batch_first=True, norm_first=False, bias=True)")
    assert attn.layer.forward.code(attn.params, "self.attn1", ["x"]) == "self.attn1(x, x, x, need_weights=False)[0]"
    assert pos.layer.forward.code(pos.params, "self.pos1", ["x"]) == (
        "x + self.pos1(torch.arange(x.shape[1], device=x.device))")
    pool = get_layer("SequencePool")
    assert pool.merge.code(pool.parse_params({"mode": "first"}), ["x"]) == "x[:, 0]"


def test_dropout_acts_only_in_training():
    spec = sequence_model(("TransformerEncoderBlock", {"num_heads": 2, "dropout": 0.5}))
    model = compile_spec(spec)
    x = engine.from_numpy(np.random.default_rng(3).standard_normal((2, 6, 8)).astype(np.float32))
    model.eval()
    with engine.no_grad():
        assert np.array_equal(model(x).numpy(), model(x).numpy())
        model.train()
        assert not np.array_equal(model(x).numpy(), model(x).numpy())


def test_spec_with_attention_layers_round_trips_through_json():
    spec = sequence_model(("TransformerEncoderBlock", {"num_heads": 2, "norm_first": True, "activation": "gelu"}),
                          ("SequencePool", {"mode": "max"}))
    again = ModelSpec.from_json(spec.to_json())
    assert again.node_by_name("encoder1").params == spec.node_by_name("encoder1").params
    assert again.node_by_name("seqpool1").params == {"mode": "max"}
