"""From a loaded dataset to what training needs: the split settings a project stores, and the
split datasets with standardisation fitted on the training part only."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .dataset import ArrayDataset, DataError
from .normalize import Normalization
from .split import Splits, split_dataset


@dataclass(frozen=True)
class SplitSettings:
    """The "split" section of a project: how to divide the data and whether to standardise."""

    val_fraction: float = 0.2
    test_fraction: float = 0.0
    seed: int = 0
    stratify: bool | None = None          # None: stratify classification, not regression
    standardize: bool = True               # inputs, with statistics from the training split
    standardize_targets: bool = False      # regression targets too (predictions are mapped back)

    def __post_init__(self) -> None:
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise DataError(f"split setting '{name}' must be a number in [0, 1), got {value!r}")
        if self.val_fraction + self.test_fraction >= 1:
            raise DataError(f"split settings val_fraction + test_fraction must be below 1 (got "
                            f"{self.val_fraction} + {self.test_fraction}), so some data is left to train on: "
                            "lower one of them")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise DataError(f"split setting 'seed' must be a whole number >= 0, got {self.seed!r}")
        for name in ("standardize", "standardize_targets"):
            if not isinstance(getattr(self, name), bool):
                raise DataError(f"split setting '{name}' must be true or false, got {getattr(self, name)!r}")
        if self.stratify is not None and not isinstance(self.stratify, bool):
            raise DataError(f"split setting 'stratify' must be true, false or null, got {self.stratify!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "SplitSettings":
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise DataError(f"split settings must be a dict, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"split settings have unknown key(s) {', '.join(map(repr, unknown))}; "
                            f"known keys: {', '.join(sorted(known))}")
        return cls(**data)


@dataclass
class PreparedData:
    """Splits ready for training (already standardised) and the statistics to store with the
    model, so that prediction applies the same transformation."""

    dataset: ArrayDataset          # as loaded, not standardised
    splits: Splits                 # standardised with ``normalization``
    normalization: Normalization


def prepare(dataset: ArrayDataset, settings: SplitSettings | dict | None = None) -> PreparedData:
    if not isinstance(settings, SplitSettings):
        settings = SplitSettings.from_dict(settings)
    raw = split_dataset(dataset, settings.val_fraction, settings.test_fraction, settings.seed,
                        settings.stratify)
    targets = settings.standardize_targets and dataset.task == "regression"
    normalization = (Normalization.fit(raw.train, inputs=settings.standardize, targets=targets)
                     if settings.standardize or targets else Normalization())
    splits = Splits(*(normalization.apply(part) for part in raw))
    return PreparedData(dataset, splits, normalization)
