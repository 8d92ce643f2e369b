"""Ready-made models to start from, each with the dataset it suits and training defaults.

Every template is a plain function returning a fresh :class:`ModelSpec` (so it can be tweaked with
keyword arguments), plus a :class:`Template` record that menus and the CLI list. Nodes are laid out
left to right (a side branch above the main line) so a canvas can draw them as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .spec import ModelSpec, Node

STEP_X = 170.0  # horizontal distance between consecutive layers on the canvas
BRANCH_Y = -110.0  # a residual branch runs above the main line


def _chain(spec: ModelSpec, layers: Sequence[tuple[str, dict[str, Any]]], after: Node | None = None,
           x: float = 0.0, y: float = 0.0) -> list[Node]:
    """Add ``layers`` one after another, each wired to the previous, left to right from ``x``."""
    nodes, previous = [], after
    for offset, (layer_type, params) in enumerate(layers):
        node = spec.add_node(layer_type, params, position=(x + offset * STEP_X, y))
        if previous is not None:
            spec.connect(previous.id, node.id)
        nodes.append(node)
        previous = node
    return nodes


def mlp_classifier(in_features: int = 2, num_classes: int = 3, hidden: int = 16,
                   activation: str = "Tanh") -> ModelSpec:
    spec = ModelSpec()
    _chain(spec, [("Input", {"shape": (in_features,)}),
                  ("Linear", {"out_features": hidden}), (activation, {}),
                  ("Linear", {"out_features": hidden}), (activation, {}),
                  ("Linear", {"out_features": num_classes})])
    return spec


def mlp_regressor(in_features: int = 1, out_features: int = 1, hidden: int = 32,
                  activation: str = "Tanh") -> ModelSpec:
    spec = ModelSpec()
    _chain(spec, [("Input", {"shape": (in_features,)}),
                  ("Linear", {"out_features": hidden}), (activation, {}),
                  ("Linear", {"out_features": hidden}), (activation, {}),
                  ("Linear", {"out_features": out_features})])
    return spec


def lenet(input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10) -> ModelSpec:
    """Two conv + pool stages then two dense layers; fits 1x8x8 digits and 1x28x28 images alike."""
    spec = ModelSpec()
    _chain(spec, [("Input", {"shape": tuple(input_shape)}),
                  ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}),
                  ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                  ("MaxPool2d", {"kernel_size": 2}),
                  ("Flatten", {}), ("Linear", {"out_features": 64}), ("ReLU", {}),
                  ("Linear", {"out_features": num_classes})])
    return spec


def residual_cnn(input_shape: Sequence[int] = (1, 8, 8), num_classes: int = 10, channels: int = 16) -> ModelSpec:
    """A stem convolution, one residual block (two convs added back to their input), then average
    pooling to 2x2 (global pooling to 1x1 learns digits several times slower)."""
    spec = ModelSpec()
    conv = {"out_channels": channels, "kernel_size": 3, "padding": 1}
    stem = _chain(spec, [("Input", {"shape": tuple(input_shape)}), ("Conv2d", conv), ("ReLU", {})])
    block_x = 3 * STEP_X
    branch = _chain(spec, [("Conv2d", conv), ("BatchNorm2d", {}), ("ReLU", {}), ("Conv2d", conv),
                           ("BatchNorm2d", {})], after=stem[-1], x=block_x, y=BRANCH_Y)
    add = spec.add_node("Add", position=(block_x + len(branch) * STEP_X, 0.0))
    spec.connect(branch[-1].id, add.id)
    spec.connect(stem[-1].id, add.id)  # the skip connection
    _chain(spec, [("ReLU", {}), ("AdaptiveAvgPool2d", {"output_size": 2}), ("Flatten", {}),
                  ("Linear", {"out_features": num_classes})], after=add, x=add.position[0] + STEP_X)
    return spec


def autoencoder(input_shape: Sequence[int] = (1, 8, 8), hidden: int = 32, code: int = 8) -> ModelSpec:
    """Squeezes each sample through ``code`` numbers and rebuilds it; trained to output its input."""
    spec = ModelSpec()
    size = 1
    for dim in input_shape:
        size *= dim
    _chain(spec, [("Input", {"shape": tuple(input_shape)}), ("Flatten", {}),
                  ("Linear", {"out_features": hidden}), ("ReLU", {}),
                  ("Linear", {"out_features": code}), ("ReLU", {}),
                  ("Linear", {"out_features": hidden}), ("ReLU", {}),
                  ("Linear", {"out_features": size}), ("Sigmoid", {}),
                  ("Reshape", {"shape": tuple(input_shape)})])
    return spec


def lstm_classifier(seq_len: int = 32, features: int = 1, num_classes: int = 4, hidden: int = 32) -> ModelSpec:
    spec = ModelSpec()
    _chain(spec, [("Input", {"shape": (seq_len, features)}),
                  ("LSTM", {"hidden_size": hidden, "output": "last"}),
                  ("Linear", {"out_features": num_classes})])
    return spec


def transformer_classifier(input_shape: Sequence[int] = (12,), num_classes: int = 2, vocab: int = 16,
                           embed_dim: int = 32, num_heads: int = 4, pool: str = "first") -> ModelSpec:
    """Token indices -> embedding + learned positions -> one transformer encoder block -> the first
    position's vector (``pool``) -> linear classifier. The block normalizes first (pre-norm): on the
    repeated-token task post-norm learns in fewer of its seeds within 15 epochs."""
    (seq_len,) = tuple(input_shape)
    spec = ModelSpec()
    _chain(spec, [("Input", {"shape": (seq_len,), "dtype": "int64"}),
                  ("Embedding", {"num_embeddings": vocab, "embedding_dim": embed_dim}),
                  ("PositionalEmbedding", {"max_len": seq_len}),
                  ("TransformerEncoderBlock", {"num_heads": num_heads, "dim_feedforward": 2 * embed_dim,
                                               "dropout": 0.0, "norm_first": True}),
                  ("SequencePool", {"mode": pool}),
                  ("Linear", {"out_features": num_classes})])
    return spec


@dataclass(frozen=True)
class Template:
    """A starting model: ``build(**options)`` returns a new spec.

    ``training`` holds defaults for the training panel: loss and optimizer (PyTorch class names),
    lr, epochs, batch_size, and ``target`` ("labels", "values" or "input" for an autoencoder).
    """

    key: str
    name: str
    description: str
    dataset: str
    task: str
    build: Callable[..., ModelSpec]
    training: dict[str, Any] = field(default_factory=dict)

    def spec(self, **options: Any) -> ModelSpec:
        return self.build(**options)


def _training(loss: str, lr: float, epochs: int, batch_size: int, target: str = "labels",
              optimizer: str = "Adam") -> dict[str, Any]:
    return {"loss": loss, "optimizer": optimizer, "lr": lr, "epochs": epochs, "batch_size": batch_size,
            "target": target}


TEMPLATES = (
    Template("mlp_classifier", "MLP classifier",
             "Two hidden layers of 16 tanh units: separates 2-D points such as the spiral.",
             "spiral", "classification", mlp_classifier, _training("CrossEntropyLoss", 0.01, 200, 32)),
    Template("mlp_regressor", "MLP regressor", "Two hidden layers of 32 tanh units: fits a 1-D curve.",
             "sine", "regression", mlp_regressor, _training("MSELoss", 0.01, 300, 32, "values")),
    Template("lenet", "LeNet-style CNN",
             "Two convolution + max-pool stages and two dense layers for small grayscale images.",
             "digits", "classification", lenet, _training("CrossEntropyLoss", 0.003, 20, 64)),
    Template("residual_cnn", "Residual CNN",
             "A convolution stem, one residual block (Add merge), average pooling and a linear classifier.",
             "digits", "classification", residual_cnn, _training("CrossEntropyLoss", 0.003, 20, 64)),
    Template("autoencoder", "Autoencoder",
             "Compresses each image to 8 numbers and reconstructs it; trained against its own input.",
             "digits", "reconstruction", autoencoder, _training("MSELoss", 0.003, 30, 64, "input")),
    Template("lstm_classifier", "LSTM sequence classifier",
             "An LSTM reads the sequence; its final hidden state feeds a linear classifier.",
             "waveforms", "classification", lstm_classifier, _training("CrossEntropyLoss", 0.01, 30, 32)),
    Template("transformer", "Transformer sequence classifier",
             "Token embeddings plus learned positions, one transformer encoder block (4 attention heads), "
             "then the first position's vector feeds a linear classifier.",
             "repeated_token", "classification", transformer_classifier,
             _training("CrossEntropyLoss", 0.003, 20, 32)),
)


def templates() -> tuple[Template, ...]:
    return TEMPLATES


def get_template(key: str) -> Template:
    for template in TEMPLATES:
        if template.key == key:
            return template
    raise KeyError(f"unknown template {key!r}; templates are: {', '.join(t.key for t in TEMPLATES)}")
