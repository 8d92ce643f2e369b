"""``layerforge.engine.nn``: modules, parameters, layers, losses, init and functional, as ``torch.nn``."""
from . import functional, init, utils  # noqa: F401
from .module import Module
from .parameter import Parameter

try:  # part B (recurrent layers, losses) lands concurrently; imported plainly once it exists
    from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss,  # noqa: F401
                       L1Loss, MSELoss, NLLLoss, SmoothL1Loss)
    from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401
except ImportError:
    pass
