"""Model specs shared by the graph, export and training tests.

``SHARED_CASES``: single-layer cases (layer type, params, per-sample input shapes).

Each suite's table is ``with_variants(...)``: these shared cases plus the variants only that suite
checks, grouped by layer type; between them every catalog layer appears at least once.
"""
from layerforge.graph import ModelSpec

SHARED_CASES = [
    ("Linear", {"out_features": 7}, [(5,)]),
    ("Linear", {"out_features": 3, "bias": False}, [(4,)]),
    ("Bilinear", {"out_features": 4}, [(3,), (5,)]),
    ("Embedding", {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 0}, [(6,)]),
    ("Identity", {}, [(3, 4)]),
    ("Flatten", {}, [(2, 3, 4)]),
    ("Flatten", {"start_dim": 2, "end_dim": -1}, [(2, 3, 4)]),
    ("Unflatten", {"dim": 1, "sizes": (2, -1)}, [(12,)]),
    ("Reshape", {"shape": (-1, 2)}, [(2, 3, 2)]),
    ("Dropout", {"p": 0.3}, [(5,)]),
    ("Add", {}, [(6,), (6,), (6,)]),
    ("Concat", {"dim": -1}, [(3, 4), (3, 1), (3, 2)]),
    ("Conv1d", {"out_channels": 4, "kernel_size": 4, "padding": "same", "dilation": 2}, [(2, 11)]),
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1}, [(3, 9, 8)]),
    ("ConvTranspose2d", {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1,
                         "output_padding": 1}, [(4, 5, 5)]),
    ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 2, "dilation": 2, "groups": 2}, [(2, 3, 4)]),
    ("MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1}, [(2, 9)]),
    ("MaxPool2d", {"kernel_size": 2}, [(3, 7, 6)]),  # odd size: PyTorch floors the output
    ("MaxPool2d", {"kernel_size": 3, "dilation": 2, "padding": 1}, [(1, 9, 10)]),
    ("AvgPool1d", {"kernel_size": 2}, [(3, 7)]),
    ("AvgPool2d", {"kernel_size": 3, "stride": (1, 2), "padding": 1}, [(2, 6, 7)]),
    ("AdaptiveAvgPool2d", {"output_size": (3, 2)}, [(2, 7, 5)]),
    ("AdaptiveAvgPool2d", {"output_size": 1}, [(4, 3, 3)]),
    ("BatchNorm1d", {}, [(5,)]),
    ("BatchNorm1d", {"affine": False}, [(3, 7)]),
    ("BatchNorm2d", {"momentum": 0.2}, [(3, 4, 4)]),
    ("LayerNorm", {"normalized_dims": 2}, [(3, 4, 5)]),
    ("LayerNorm", {"elementwise_affine": False}, [(6,)]),
    ("RNN", {"hidden_size": 5, "nonlinearity": "relu"}, [(7, 3)]),
    ("RNN", {"hidden_size": 5, "output": "sequence", "num_layers": 2}, [(7, 3)]),
    ("LSTM", {"hidden_size": 6}, [(8, 2)]),
    ("LSTM", {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "output": "sequence"}, [(5, 3)]),
    ("GRU", {"hidden_size": 5, "bias": False}, [(6, 2)]),
    ("MultiheadSelfAttention", {"num_heads": 2}, [(5, 8)]),
    ("MultiheadSelfAttention", {"num_heads": 1, "bias": False}, [(3, 4)]),
    ("TransformerEncoderBlock", {"num_heads": 2, "dim_feedforward": 16}, [(5, 8)]),
    ("TransformerEncoderBlock", {"num_heads": 4, "dim_feedforward": 12, "activation": "gelu", "norm_first": True,
                                 "bias": False}, [(4, 8)]),
    ("PositionalEmbedding", {"max_len": 9}, [(6, 4)]),
    ("SequencePool", {}, [(5, 3)]),
    ("SequencePool", {"mode": "max"}, [(5, 3)]),
    ("SequencePool", {"mode": "first"}, [(4, 2)]),
    ("SequencePool", {"mode": "last"}, [(4, 2)]),
    ("ReLU", {}, [(3,)]),
    ("LeakyReLU", {"negative_slope": 0.2}, [(3,)]),
    ("ELU", {"alpha": 0.5}, [(3, 2)]),
    ("GELU", {"approximate": "tanh"}, [(4,)]),
    ("SiLU", {}, [(4,)]),
    ("Sigmoid", {}, [(4,)]),
    ("Tanh", {}, [(4,)]),
    ("Softmax", {"dim": 1}, [(4, 3)]),
    ("LogSoftmax", {}, [(5,)]),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}, [(5,)]),
]



def with_variants(variants):
    """SHARED_CASES plus ``variants``, each placed after the shared cases of its layer type."""
    cases = SHARED_CASES + list(variants)
    order = list(dict.fromkeys(case[0] for case in cases))
    return sorted(cases, key=lambda case: order.index(case[0]))


def chain(*layers):
    """A spec of ``(layer type, params)`` pairs, each wired to the one before it."""
    spec = ModelSpec()
    previous = None
    for layer_type, params in layers:
        node = spec.add_node(layer_type, params)
        if previous is not None:
            spec.connect(previous.id, node.id)
        previous = node
    return spec
