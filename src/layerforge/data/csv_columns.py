"""Turning a chunk of CSV cells into numbers, fast where the cells are plain numbers.

Every value agrees with :func:`csv_table.parse_number` and every "no value" with
:func:`csv_table.is_missing`: the fast path (``float`` mapped over the cells in C) only ever
accepts cells that those two would read the same way, and each cell it cannot settle (not a
number, NaN, infinite, a missing-value token) is looked at again by them, one by one.
"""
from __future__ import annotations

import numpy as np

from .csv_table import MISSING_TOKENS, is_missing, parse_number

# Spellings of "no value" that float() rejects, mapped to "nan" so that a column with holes still
# converts in one C loop; the NaNs are then looked at cell by cell.
_AS_NAN = {token: "nan" for base in MISSING_TOKENS for token in {base, base.upper(), base.title()}}


def _decimal_point(cell: str) -> str:
    return cell.replace(",", ".") if "," in cell and "." not in cell else cell


def _float_or_nan(cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        return float("nan")


def parse_cells(cells: list, delimiter: str) -> tuple:
    """(values float64, missing mask or None, not-a-number mask or None) for one column's cells.

    Missing and bad cells hold NaN in ``values``."""
    n = len(cells)
    try:
        values = np.fromiter(map(float, cells), np.float64, count=n)
    except ValueError:
        fixed = list(map(_decimal_point, cells)) if delimiter != "," else cells
        try:
            values = np.fromiter(map(float, map(_AS_NAN.get, fixed, fixed)), np.float64, count=n)
        except ValueError:
            values = np.fromiter(map(_float_or_nan, fixed), np.float64, count=n)
    odd = np.flatnonzero(~np.isfinite(values))
    if not odd.size:
        return values, None, None
    missing = np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    for i in odd.tolist():
        cell = cells[i]
        if is_missing(cell):
            missing[i] = True
        elif (value := parse_number(cell, delimiter)) is None:
            bad[i] = True
        else:
            values[i] = value
    return values, (missing if missing.any() else None), (bad if bad.any() else None)


class LabelColumn:
    """The target column of a possible classification, chunk by chunk.

    Keeps each distinct label (stripped) with a code per row, as long as there are at most
    ``max_distinct`` of them, and the labels as numbers while every label is one. Which of the two
    the import uses is decided at the end, when the task is known."""

    def __init__(self, delimiter: str, max_distinct: int):
        self.delimiter = delimiter
        self.max_distinct = max_distinct
        self.codes = {}             # label -> code, in order of first appearance
        self._missing = []          # per code
        self._number = []           # per code, NaN where not a number
        self.overflow = False       # more distinct labels than max_distinct

    def parse(self, cells: list) -> tuple:
        """(codes int32 or None after overflow, numbers float64, missing mask, bad mask) as
        :func:`parse_cells`."""
        if not self.overflow:
            labels = list(map(str.strip, cells))
            for label in set(labels).difference(self.codes):
                self.codes[label] = len(self.codes)
                self._missing.append(label.lower() in MISSING_TOKENS)
                number = None if self._missing[-1] else parse_number(label, self.delimiter)
                self._number.append(np.nan if number is None else number)
            if len(self.codes) <= self.max_distinct:
                codes = np.fromiter(map(self.codes.__getitem__, labels), np.int32, count=len(labels))
                missing = np.array(self._missing, dtype=bool)[codes]
                numbers = np.array(self._number, dtype=np.float64)[codes]
                bad = np.isnan(numbers) & ~missing
                return codes, numbers, (missing if missing.any() else None), (bad if bad.any() else None)
            self.overflow = True
            self.codes, self._missing, self._number = {}, [], []
        values, missing, bad = parse_cells(cells, self.delimiter)
        return None, values, missing, bad

    def names(self, counts: np.ndarray) -> list:
        """The labels, in code order, of the codes whose ``counts`` are not zero."""
        by_code = list(self.codes)
        return [by_code[code] for code in np.flatnonzero(counts).tolist()]


def number_name(value: float) -> str:
    """A numeric class label's name: "1" for 1.0, "0.5" for 0.5."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def guess_task(distinct_numbers, n_labels: int, all_numbers: bool, max_auto_classes: int) -> str:
    """Classification for text labels or for few whole numbers; regression otherwise."""
    if not all_numbers:
        return "classification"
    whole = all(float(v).is_integer() for v in distinct_numbers)
    few = len(distinct_numbers) <= min(max_auto_classes, max(2, n_labels // 2))
    return "classification" if whole and few else "regression"
