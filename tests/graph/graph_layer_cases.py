"""Oracle cases shared by the catalog and compile tests: one or more per layer type."""

from spec_cases import with_variants

# (layer type, params, per-sample input shapes): the shared cases plus the graph's own variants.
CASES = with_variants([
    ("Flatten", {"start_dim": 1, "end_dim": 2}, [(2, 3, 4)]),
    ("Unflatten", {"dim": -1, "sizes": (2, 2)}, [(3, 4)]),
    ("Reshape", {"shape": (1, 4, 4)}, [(16,)]),
    ("Add", {}, [(3, 4), (3, 4)]),
    ("Concat", {"dim": 1}, [(3, 4), (2, 4)]),
    ("Conv1d", {"out_channels": 4, "kernel_size": 3}, [(2, 10)]),
    ("Conv2d", {"out_channels": 4, "kernel_size": (2, 3), "dilation": (2, 1), "groups": 2}, [(2, 7, 7)]),
    ("Conv2d", {"out_channels": 4, "kernel_size": 4, "padding": "same"}, [(1, 5, 6)]),
    ("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": "valid", "bias": False}, [(1, 5, 5)]),
    ("LSTM", {"hidden_size": 4, "bidirectional": True}, [(5, 3)]),
    ("GRU", {"hidden_size": 3, "bidirectional": True, "num_layers": 3, "output": "sequence"}, [(4, 2)]),
    ("Softplus", {"beta": 2.0}, [(5,)]),
])
