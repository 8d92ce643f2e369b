"""``torch.optim.lr_scheduler``: the schedules in basic.py (StepLR, cosine, one-cycle, plateau, ...)
and more.py (warm-up, polynomial, warm restarts, and the combinators)."""
from .basic import (CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, MultiStepLR, OneCycleLR,
                    ReduceLROnPlateau, StepLR, _LRScheduler)
from .more import (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts, CyclicLR, LinearLR,
                   MultiplicativeLR, PolynomialLR, SequentialLR)

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR",
           "ReduceLROnPlateau", "LinearLR", "ConstantLR", "PolynomialLR", "MultiplicativeLR",
           "CosineAnnealingWarmRestarts", "SequentialLR", "ChainedScheduler", "CyclicLR", "_LRScheduler"]
