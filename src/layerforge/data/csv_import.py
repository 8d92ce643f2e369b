"""CSV import: choose feature and target columns, map categorical targets to classes, report
missing values, and build an ArrayDataset. Also a light preview for the import dialog."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .csv_table import CsvTable, is_missing, parse_number, read_csv_table
from .dataset import TASKS, ArrayDataset, DataError

MISSING_POLICIES = ("error", "drop")
# An integer target with at most this many distinct values is taken as class labels.
_MAX_AUTO_CLASSES = 20
_LISTED_PROBLEMS = 5


@dataclass
class CsvPreview:
    """What the import dialog shows before anything is converted."""

    path: str
    columns: list
    rows: list               # the first n data rows, cells as text
    line_numbers: list
    has_header: bool
    delimiter: str
    n_rows: int              # data rows in the whole file
    numeric_columns: list    # per column: every non-missing cell is a number
    missing_counts: list     # per column: cells with no value
    suggested_target: str
    suggested_task: str


def column_index(spec, table: CsvTable, role: str) -> int:
    columns = table.columns
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if -len(columns) <= spec < len(columns):
            return int(spec) % len(columns)
    elif isinstance(spec, str):
        if spec in columns:
            return columns.index(spec)
        folded = [c.strip().lower() for c in columns]
        if spec.strip().lower() in folded:
            return folded.index(spec.strip().lower())
    raise DataError(f"{table.path.name}: no {role} column {spec!r}; the columns are "
                    f"{', '.join(repr(c) for c in columns)} (or a 0-based index)")


def _select_columns(table: CsvTable, target_column, feature_columns) -> tuple[list, list]:
    if target_column is None:
        targets = [len(table.columns) - 1]
    elif isinstance(target_column, (list, tuple)):
        targets = [column_index(c, table, "target") for c in target_column]
    else:
        targets = [column_index(target_column, table, "target")]
    if feature_columns is None:
        features = [i for i in range(len(table.columns)) if i not in targets]
    else:
        features = [column_index(c, table, "feature") for c in feature_columns]
    overlap = sorted(set(features) & set(targets))
    if overlap:
        raise DataError(f"{table.path.name}: column '{table.columns[overlap[0]]}' is chosen as both "
                        "a feature and the target")
    if not features:
        raise DataError(f"{table.path.name}: no feature columns left; a CSV for training needs at "
                        "least one feature column besides the target")
    return features, targets


def _rows_with_missing(table: CsvTable, columns: list) -> tuple[list, list]:
    rows, cells = [], []
    for r, row in enumerate(table.rows):
        holes = [c for c in columns if is_missing(row[c])]
        if holes:
            rows.append(r)
            cells.extend(table.cell(r, c) for c in holes)
    return rows, cells


def _numbers(table: CsvTable, rows: list, column: int, role: str) -> np.ndarray:
    values = np.empty(len(rows), dtype=np.float64)
    for i, r in enumerate(rows):
        value = parse_number(table.rows[r][column], table.delimiter)
        if value is None:
            cell = table.rows[r][column].strip()
            hint = ("make it the target or leave it out of the features" if role == "feature"
                    else "choose task 'classification' for text labels")
            raise DataError(f"{table.where(r, column)}: {cell!r} is not a finite number; {role} "
                            f"columns must be numeric ({hint})")
        values[i] = value
    return values


def _guess_task(labels: list, delimiter: str) -> str:
    numbers = [parse_number(label, delimiter) for label in labels]
    if any(n is None for n in numbers):
        return "classification"
    distinct = set(numbers)
    whole = all(float(n).is_integer() for n in distinct)
    few = len(distinct) <= min(_MAX_AUTO_CLASSES, max(2, len(labels) // 2))
    return "classification" if whole and few else "regression"


def _class_labels(labels: list, delimiter: str) -> tuple[list, np.ndarray]:
    """Class names and each row's class index. Numeric labels are compared as numbers ("1" and
    "1.0" are one class) and sorted numerically; text labels are sorted alphabetically."""
    numbers = [parse_number(label, delimiter) for label in labels]
    if all(n is not None for n in numbers):
        keys = numbers
        distinct = sorted(set(numbers))
        names = [str(int(v)) if v.is_integer() else f"{v:g}" for v in distinct]
    else:
        keys = labels
        distinct = names = sorted(set(labels))
    index = {key: i for i, key in enumerate(distinct)}
    return names, np.array([index[key] for key in keys], dtype=np.int64)


def read_csv(path, target_column=None, feature_columns=None, has_header: bool | None = None,
             task: str | None = None, delimiter: str | None = None,
             missing: str = "error") -> ArrayDataset:
    """Read a CSV of numeric features and one target column (or several, for regression).

    target_column / feature_columns: names or 0-based indices; by default the last column is the
    target and the others are features. has_header and task are detected when None. missing:
    'error' (the default) names every empty cell; 'drop' skips rows with one and says so in notes.
    """
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None to detect it, got {task!r}")
    if missing not in MISSING_POLICIES:
        raise DataError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    table = read_csv_table(path, has_header=has_header, delimiter=delimiter)
    if len(table.columns) < 2:
        raise DataError(f"{table.path.name}: only one column (delimiter {table.delimiter!r}); a "
                        "CSV for training needs feature columns and a target column")
    features, targets = _select_columns(table, target_column, feature_columns)

    notes = []
    missing_rows, missing_cells = _rows_with_missing(table, features + targets)
    if missing_cells and missing == "error":
        listed = "; ".join(missing_cells[:_LISTED_PROBLEMS])
        more = f" and {len(missing_cells) - _LISTED_PROBLEMS} more" if len(missing_cells) > 5 else ""
        raise DataError(f"{table.path.name}: {len(missing_cells)} missing value(s): {listed}{more}. "
                        "Fill them in, or drop those rows (missing='drop').")
    if missing_rows:
        lines = ", ".join(str(table.line_numbers[r]) for r in missing_rows[:10])
        notes.append(f"skipped {len(missing_rows)} row(s) with missing values (lines {lines}"
                     f"{', ...' if len(missing_rows) > 10 else ''})")
    skipped = set(missing_rows)
    rows = [r for r in range(len(table.rows)) if r not in skipped]
    if not rows:
        raise DataError(f"{table.path.name}: every row has a missing value; nothing left to train on")

    x = np.stack([_numbers(table, rows, c, "feature") for c in features], axis=1)
    labels = [table.rows[r][targets[0]].strip() for r in rows]
    if task is None:
        task = "regression" if len(targets) > 1 else _guess_task(labels, table.delimiter)
    if task == "classification":
        if len(targets) > 1:
            raise DataError(f"{table.path.name}: classification takes one target column, "
                            f"got {len(targets)}")
        class_names, y = _class_labels(labels, table.delimiter)
    else:
        class_names = []
        y = np.stack([_numbers(table, rows, c, "target") for c in targets], axis=1)

    return ArrayDataset(
        name=table.path.stem, task=task, x=x, y=y, class_names=class_names,
        feature_names=[table.columns[c] for c in features],
        description=f"{len(rows)} rows from {table.path.name}; target "
                    f"{', '.join(repr(table.columns[c]) for c in targets)}",
        source=f"CSV file {table.path}", notes=notes)


def preview_csv(path, n: int = 20, has_header: bool | None = None,
                delimiter: str | None = None) -> CsvPreview:
    """The first ``n`` rows and what was detected, for showing before importing."""
    table = read_csv_table(path, has_header=has_header, delimiter=delimiter)
    width = len(table.columns)
    numeric, missing_counts = [], []
    for c in range(width):
        present = [row[c] for row in table.rows if not is_missing(row[c])]
        missing_counts.append(len(table.rows) - len(present))
        numeric.append(bool(present) and all(parse_number(v, table.delimiter) is not None
                                             for v in present))
    labels = [row[-1].strip() for row in table.rows if not is_missing(row[-1])]
    return CsvPreview(
        path=str(table.path), columns=table.columns, rows=[list(r) for r in table.rows[:n]],
        line_numbers=table.line_numbers[:n], has_header=table.has_header,
        delimiter=table.delimiter, n_rows=len(table.rows), numeric_columns=numeric,
        missing_counts=missing_counts, suggested_target=table.columns[-1],
        suggested_task=_guess_task(labels, table.delimiter) if labels else "regression")
