"""``layerforge.engine.nn``: modules, parameters, layers, losses, init and functional, as ``torch.nn``."""
from . import functional, init, utils  # noqa: F401
from .activation import (ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid,  # noqa: F401
                         SiLU, Softmax, Softplus, Tanh)
from .activation_more import (CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish,  # noqa: F401
                              LogSigmoid, Mish, PReLU, RReLU, Softmin, Softshrink, Softsign, Tanhshrink,
                              Threshold)
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d  # noqa: F401
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout  # noqa: F401
from .embedding import Embedding, EmbeddingBag  # noqa: F401
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyConv1d, LazyConv2d,  # noqa: F401
                   LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d, LazyInstanceNorm1d,
                   LazyInstanceNorm2d, LazyInstanceNorm3d, LazyLinear, LazyModuleMixin, UninitializedParameter)
from .linear import Bilinear, Flatten, Identity, Linear, Unflatten  # noqa: F401
from .module import Module  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm  # noqa: F401
from .padding import (ChannelShuffle, CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,  # noqa: F401
                      ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, Softmax2d, ZeroPad1d, ZeroPad2d,
                      ZeroPad3d)
from .parameter import Buffer, Parameter  # noqa: F401
from .parameter_containers import ParameterDict, ParameterList  # noqa: F401
from .pooling import AdaptiveMaxPool3d, LPPool1d, LPPool2d, LPPool3d  # noqa: F401
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d,  # noqa: F401
                      AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d,
                      MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, CTCLoss,  # noqa: F401
                   GaussianNLLLoss, HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                   MultiLabelMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, NLLLoss, PoissonNLLLoss,
                   SmoothL1Loss, SoftMarginLoss, TripletMarginLoss, TripletMarginWithDistanceLoss)
from .normalization_more import (GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,  # noqa: F401
                                 LocalResponseNorm, RMSNorm)
from .spatial import (CosineSimilarity, Fold, PairwiseDistance, PixelShuffle, PixelUnshuffle,  # noqa: F401
                      Unfold, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d)
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder,  # noqa: F401
                          TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: F401

from . import modules  # noqa: E402

modules.install(globals())
