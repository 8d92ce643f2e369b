"""Datasets: built-ins, CSV / image-folder / array import, splits and standardisation.

Headless: numpy only, no Qt, no engine. Every loader returns an :class:`ArrayDataset` and every
problem with the data raises :class:`DataError` (a ValueError) naming the file, line and column
where it can.
"""
from .arrays import read_array_file, read_arrays, read_inputs
from .builtin import DatasetInfo, OptionSpec, check_options, dataset_info, list_datasets, load_dataset
from .csv_import import CsvPreview, preview_csv, read_csv
from .files import check_regular_file, read_regular_file
from .dataset import KINDS, TASKS, ArrayDataset, DataError, infer_kind
from .image_folder import IMAGE_SUFFIXES, read_image_folder
from .images import IMAGE_MODES, decode_image, resize, to_mode
from .normalize import Normalization, Standardizer
from .prepare import PreparedData, SplitSettings, prepare
from .source import DataSource, load_source, validate_source
from .split import Splits, split_dataset, split_indices

__all__ = [
    "ArrayDataset", "CsvPreview", "DataError", "DataSource", "DatasetInfo", "IMAGE_MODES",
    "IMAGE_SUFFIXES", "KINDS", "Normalization", "OptionSpec", "PreparedData", "SplitSettings",
    "Splits", "Standardizer", "TASKS", "check_options", "check_regular_file", "dataset_info", "decode_image",
    "infer_kind", "list_datasets", "load_dataset", "load_source", "prepare", "preview_csv",
    "read_array_file", "read_arrays", "read_regular_file", "read_csv", "read_image_folder", "read_inputs", "resize",
    "split_dataset", "split_indices", "to_mode", "validate_source",
]
