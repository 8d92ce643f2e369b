"""Datasets: built-ins, CSV / image-folder / array import, splits and standardisation.

Headless: numpy only, no Qt, no engine. Every loader returns an :class:`ArrayDataset` and every
problem with the data raises :class:`DataError` naming the file, line and column where it can.
"""
from .builtin import DatasetInfo, OptionSpec, check_options, dataset_info, list_datasets, load_dataset
from .dataset import KINDS, TASKS, ArrayDataset, DataError, infer_kind

__all__ = [
    "ArrayDataset", "DataError", "DatasetInfo", "KINDS", "OptionSpec", "TASKS", "check_options",
    "dataset_info", "infer_kind", "list_datasets", "load_dataset",
]
