"""``torch.nn.modules.<file>.<Class>`` paths (``torch.nn.modules.linear.Linear``), as PyTorch lays them
out, for code and checkpoints that name a layer by its full path. Each submodule here is a namespace
over the classes of ``nn``; importing ``layerforge.engine.nn.modules.linear`` works too."""
from __future__ import annotations

import sys
import types

# PyTorch's file for each class name; classes the engine does not have are left out.
_LAYOUT = {
    "module": ["Module"],
    "linear": ["Linear", "Identity", "Bilinear", "LazyLinear"],
    "lazy": ["LazyModuleMixin"],
    "flatten": ["Flatten", "Unflatten"],
    "container": ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"],
    "activation": ["ELU", "GELU", "Hardtanh", "LeakyReLU", "LogSoftmax", "ReLU", "ReLU6", "Sigmoid", "SiLU",
                   "Softmax", "Softplus", "Tanh", "Softmax2d", "Hardswish", "Hardsigmoid", "Mish", "LogSigmoid",
                   "Softsign",
                   "Softmin", "SELU", "CELU", "GLU", "Tanhshrink", "Threshold", "PReLU", "Softshrink",
                   "Hardshrink", "MultiheadAttention"],
    "conv": ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
             "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"],
    "dropout": ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"],
    "sparse": ["Embedding", "EmbeddingBag"],
    "batchnorm": ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
                  "LazyBatchNorm3d"],
    "normalization": ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"],
    "instancenorm": ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"],
    "pooling": ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
                "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d",
                "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d"],
    "loss": ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
             "NLLLoss", "SmoothL1Loss", "CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
             "SoftMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss", "MultiMarginLoss",
             "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss", "PoissonNLLLoss", "GaussianNLLLoss",
             "CTCLoss"],
    "rnn": ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"],
    "transformer": ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
                    "TransformerDecoderLayer"],
    "upsampling": ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"],
    "pixelshuffle": ["PixelShuffle", "PixelUnshuffle"],
    "fold": ["Fold", "Unfold"],
    "distance": ["CosineSimilarity", "PairwiseDistance"],
    "padding": ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
                "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
                "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d"],
    "channelshuffle": ["ChannelShuffle"],
}


def install(nn_namespace: dict) -> None:
    """Make ``modules.<file>`` namespaces over the classes ``nn`` has, and register them for import."""
    package = sys.modules[__name__]
    for file, names in _LAYOUT.items():
        full = f"{__name__}.{file}"
        sub = types.ModuleType(full, f"PyTorch's torch.nn.modules.{file}, over layerforge.engine.nn's classes")
        for name in names:
            if name in nn_namespace:
                setattr(sub, name, nn_namespace[name])
                setattr(package, name, nn_namespace[name])
        setattr(package, file, sub)
        sys.modules[full] = sub
