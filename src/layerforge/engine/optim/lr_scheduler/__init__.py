"""``torch.optim.lr_scheduler``: the schedules in basic.py (StepLR, cosine, one-cycle, plateau, ...)
and more.py (warm-up, polynomial, warm restarts, and the combinators)."""
from .basic import (CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, MultiStepLR, OneCycleLR,
                    ReduceLROnPlateau, StepLR, _LRScheduler)
from .more import (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, LinearLR, MultiplicativeLR,
                   PolynomialLR, SequentialLR)

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
           "ReduceLROnPlateau", "LinearLR", "ConstantLR", "PolynomialLR", "MultiplicativeLR",
           "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler", "_LRScheduler"]
