"""CSV import: choose feature and target columns, map categorical targets to classes, report
missing values, and build an ArrayDataset. Also a light preview for the import dialog.

The file is read in chunks (:class:`csv_table.CsvStream`) into arrays allocated once, so memory
stays near the size of the arrays the dataset keeps, not of the text (tests/benchmarks/bench_csv.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .csv_columns import LabelColumn, guess_task, number_name, parse_cells
from .csv_table import CsvStream, cell_place, is_missing
from .dataset import TASKS, ArrayDataset, DataError

MISSING_POLICIES = ("error", "drop")
# An integer target with at most this many distinct values is taken as class labels.
_MAX_AUTO_CLASSES = 20
# More classes than this in a CSV label column is an ID or free text, not a set of classes.
MAX_CLASSES = 1000
_LISTED_PROBLEMS = 5
_LISTED_LINES = 10


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


def column_index(spec, table, role: str) -> int:
    """The 0-based index of column ``spec`` (a name, case and spaces forgiven, or an index) in
    ``table`` (anything with ``columns`` and ``path``)."""
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


def _select_columns(table, target_column, feature_columns) -> tuple[list, list]:
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


def _grown(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` with room for at least ``rows`` rows, its contents kept."""
    bigger = np.empty((max(rows, 2 * len(array)),) + array.shape[1:], dtype=array.dtype)
    bigger[:len(array)] = array
    return bigger


class _Columns:
    """The chosen columns of a CSV, read chunk by chunk into arrays allocated once."""

    def __init__(self, table: CsvStream, features: list, targets: list, missing: str):
        self.table, self.features, self.targets, self.policy = table, features, targets, missing
        capacity = table.max_rows
        self.x = np.empty((capacity, len(features)), dtype=np.float32)
        self.y = np.empty((capacity, len(targets)), dtype=np.float32)
        self.label_numbers = np.empty(capacity, dtype=np.float64)
        self.label_codes = np.empty(capacity, dtype=np.int32)
        self.labels = LabelColumn(table.delimiter, MAX_CLASSES)
        self.n = 0
        self.first_bad = {}               # column -> (line, cell) of its first non-number
        self.missing_cells, self.n_missing = [], 0
        self.dropped_lines, self.n_dropped = [], 0

    def add(self, flat: list, lines: list) -> None:
        width = self.table.width
        parsed = {}
        for c in self.features + self.targets[1:]:
            parsed[c] = parse_cells(flat[c::width], self.table.delimiter)
        label_cells = flat[self.targets[0]::width]
        codes, numbers, label_missing, label_bad = self.labels.parse(label_cells)
        parsed[self.targets[0]] = (numbers, label_missing, label_bad)
        order = self.features + self.targets
        masks = [parsed[c][1] for c in order if parsed[c][1] is not None]
        keep = None
        if masks:
            holes = np.logical_or.reduce(masks)
            self._note_missing(holes, parsed, order, lines)
            keep = ~holes
        for c in order:
            bad = parsed[c][2]
            if bad is not None and c not in self.first_bad:
                if keep is not None:
                    bad = bad & keep
                if bad.any():
                    i = int(np.argmax(bad))
                    self.first_bad[c] = (lines[i], flat[i * width + c])
        start = self.n
        count = len(lines) if keep is None else int(keep.sum())
        stop = start + count
        if stop > len(self.x):   # the file grew since it was scanned
            self.x, self.y, self.label_numbers, self.label_codes = (
                _grown(a, stop) for a in (self.x, self.y, self.label_numbers, self.label_codes))
        for j, c in enumerate(self.features):
            self.x[start:stop, j] = parsed[c][0] if keep is None else parsed[c][0][keep]
        for j, c in enumerate(self.targets):
            self.y[start:stop, j] = parsed[c][0] if keep is None else parsed[c][0][keep]
        self.label_numbers[start:stop] = numbers if keep is None else numbers[keep]
        if codes is not None:
            self.label_codes[start:stop] = codes if keep is None else codes[keep]
        self.n = stop

    def _note_missing(self, holes, parsed, order, lines) -> None:
        rows = np.flatnonzero(holes)
        self.n_dropped += rows.size
        self.dropped_lines.extend(lines[r] for r in rows[:_LISTED_LINES - len(self.dropped_lines)])
        self.n_missing += sum(int(parsed[c][1].sum()) for c in order if parsed[c][1] is not None)
        for r in rows.tolist():
            if len(self.missing_cells) >= _LISTED_PROBLEMS:
                break
            self.missing_cells.extend(cell_place(lines[r], c, self.table.columns) for c in order
                                      if parsed[c][1] is not None and parsed[c][1][r])
        del self.missing_cells[_LISTED_PROBLEMS:]

    def raise_bad(self, columns: list, role: str) -> None:
        for c in columns:
            if c in self.first_bad:
                line, cell = self.first_bad[c]
                hint = ("make it the target or leave it out of the features" if role == "feature"
                        else "choose task 'classification' for text labels")
                raise DataError(f"{self.table.where(line, c)}: {cell.strip()!r} is not a finite number; "
                                f"{role} columns must be numeric ({hint})")


def read_csv(path, target_column=None, feature_columns=None, has_header: bool | None = None,
             task: str | None = None, delimiter: str | None = None,
             missing: str = "error") -> ArrayDataset:
    """Read a CSV of numeric features and one target column (or several, for regression).

    target_column / feature_columns: names or 0-based indices; by default the last column is the
    target and the others are features. has_header and task are detected when None. missing:
    'error' (the default) names every empty cell; 'drop' skips rows with one and says so in notes.
    Refuses a label column with one class (or more than MAX_CLASSES) and a constant regression
    target: a model trained on either reports numbers that mean nothing.
    """
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None to detect it, got {task!r}")
    if missing not in MISSING_POLICIES:
        raise DataError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    with CsvStream(path, has_header=has_header, delimiter=delimiter) as table:
        if len(table.columns) < 2:
            raise DataError(f"{table.path.name}: only one column (delimiter {table.delimiter!r}); a "
                            "CSV for training needs feature columns and a target column")
        features, targets = _select_columns(table, target_column, feature_columns)
        if task == "classification" and len(targets) > 1:
            raise DataError(f"{table.path.name}: classification takes one target column, "
                            f"got {len(targets)}")
        data = _Columns(table, features, targets, missing)
        for cells, lines in table.chunks():
            data.add(cells, lines)
            if data.labels.overflow and targets[0] in data.first_bad and task != "regression":
                break   # text labels past MAX_CLASSES: refused below whatever else the file holds
    return _dataset(table, data, task)


def _dataset(table: CsvStream, data: _Columns, task: str | None) -> ArrayDataset:
    name = table.path.name
    if data.n_missing and data.policy == "error":
        listed = "; ".join(data.missing_cells)
        more = f" and {data.n_missing - _LISTED_PROBLEMS} more" if data.n_missing > _LISTED_PROBLEMS else ""
        raise DataError(f"{name}: {data.n_missing} missing value(s): {listed}{more}. "
                        "Fill them in, or drop those rows (missing='drop').")
    notes = []
    if data.n_dropped:
        lines = ", ".join(map(str, data.dropped_lines))
        notes.append(f"skipped {data.n_dropped} row(s) with missing values (lines {lines}"
                     f"{', ...' if data.n_dropped > _LISTED_LINES else ''})")
    n = data.n
    if not n:
        raise DataError(f"{name}: every row has a missing value; nothing left to train on")
    data.raise_bad(data.features, "feature")
    label = data.targets[0]
    label_name = table.columns[label]
    text_labels = label in data.first_bad
    if task is None:
        if len(data.targets) > 1:
            task = "regression"
        elif text_labels:
            task = "classification"
        else:
            task = guess_task(np.unique(data.label_numbers[:n]), n, True, _MAX_AUTO_CLASSES)
    if task == "classification":
        if text_labels and data.labels.overflow:
            raise DataError(f"{name}: the label column '{label_name}' has more than {MAX_CLASSES} "
                            "different values; that is an ID or free text, not classes: choose "
                            "another target column")
        if text_labels:
            counts = np.bincount(data.label_codes[:n], minlength=len(data.labels.codes))
            names = data.labels.names(counts)
            order = sorted(range(len(names)), key=names.__getitem__)
            class_names = [names[i] for i in order]
            rank = np.empty(len(counts), dtype=np.int64)
            rank[np.flatnonzero(counts)[order]] = np.arange(len(order))
            y = rank[data.label_codes[:n]]
        else:
            distinct, y = np.unique(data.label_numbers[:n], return_inverse=True)
            class_names = [number_name(v) for v in distinct]
        _check_classes(name, label_name, class_names, n, notes)
    else:
        data.raise_bad(data.targets, "target")
        y = data.y[:n]
        _check_not_constant(name, [table.columns[c] for c in data.targets], y, notes)
        class_names = []
    return ArrayDataset(
        name=table.path.stem, task=task, x=data.x[:n], y=y, class_names=class_names,
        feature_names=[table.columns[c] for c in data.features],
        description=f"{n} rows from {name}; target "
                    f"{', '.join(repr(table.columns[c]) for c in data.targets)}",
        source=f"CSV file {table.path}", notes=notes)


def _after_drops(notes: list) -> str:
    return " (after skipping rows with missing values)" if notes else ""


def _check_classes(name: str, column: str, class_names: list, n: int, notes: list) -> None:
    if len(class_names) == 1:
        raise DataError(f"{name}: the label column '{column}' has only one class ({class_names[0]!r}) "
                        f"in its {n} row(s){_after_drops(notes)}; a classifier needs at least two: "
                        "check the column or choose another target column")
    if len(class_names) > MAX_CLASSES:
        raise DataError(f"{name}: the label column '{column}' has {len(class_names)} classes, more "
                        f"than the {MAX_CLASSES} Layerforge trains: choose another target column, "
                        "or task 'regression' if it holds quantities")
    if n > _MAX_AUTO_CLASSES and len(class_names) == n:
        raise DataError(f"{name}: the label column '{column}' has a different value in each of its "
                        f"{n} rows (an ID?); a classifier cannot learn classes it sees once: choose "
                        "another target column")


def _check_not_constant(name: str, columns: list, y: np.ndarray, notes: list) -> None:
    for j, column in enumerate(columns):
        if y.shape[0] and (y[:, j] == y[0, j]).all():
            raise DataError(f"{name}: the target column '{column}' holds the same value "
                            f"({y[0, j]:g}) in all {y.shape[0]} row(s){_after_drops(notes)}; a model "
                            "has nothing to learn from it: check the column or choose another target")


def preview_csv(path, n: int = 20, has_header: bool | None = None,
                delimiter: str | None = None) -> CsvPreview:
    """The first ``n`` rows and what was detected, for showing before importing."""
    with CsvStream(path, has_header=has_header, delimiter=delimiter) as table:
        width = len(table.columns)
        shown, shown_lines, n_rows = [], [], 0
        missing_counts, present = [0] * width, [0] * width
        numeric = [True] * width
        distinct, labels, label_numbers = set(), 0, True
        for flat, lines in table.chunks():
            if len(shown) < n:
                shown.extend(flat[i * width:(i + 1) * width] for i in range(min(n - len(shown), len(lines))))
                shown_lines.extend(lines[:n - len(shown_lines)])
            n_rows += len(lines)
            for c in range(width):
                cells = flat[c::width]
                if numeric[c]:
                    values, holes, bad = parse_cells(cells, table.delimiter)
                    numeric[c] = bad is None
                    holes = 0 if holes is None else int(holes.sum())
                else:
                    holes = sum(cells.count(cell) for cell in set(cells) if is_missing(cell))
                missing_counts[c] += holes
                present[c] += len(cells) - holes
                if c == width - 1:
                    labels += len(cells) - holes
                    if label_numbers and numeric[c] and len(distinct) <= _MAX_AUTO_CLASSES:
                        distinct.update(np.unique(values[np.isfinite(values)]).tolist())
                    label_numbers = numeric[c]
    numeric = [bool(p) and is_number for p, is_number in zip(present, numeric)]
    return CsvPreview(
        path=str(table.path), columns=table.columns, rows=shown, line_numbers=shown_lines,
        has_header=table.has_header, delimiter=table.delimiter, n_rows=n_rows,
        numeric_columns=numeric, missing_counts=missing_counts,
        suggested_target=table.columns[-1],
        suggested_task=guess_task(distinct, labels, label_numbers, _MAX_AUTO_CLASSES)
        if labels else "regression")


def read_csv_numbers(path, columns=None, has_header: bool | None = None) -> np.ndarray:
    """Every cell of ``columns`` (all by default) as float32 (rows, columns): inputs to predict on.

    Streams like :func:`read_csv`; the first cell that is missing or not a number, in file order,
    is named with its line and column."""
    with CsvStream(path, has_header=has_header) as table:
        chosen = list(range(len(table.columns))) if columns is None else [
            column_index(c, table, "feature") for c in columns]
        x = np.empty((table.max_rows, len(chosen)), dtype=np.float32)
        n, width = 0, table.width
        for cells, lines in table.chunks():
            if n + len(lines) > len(x):   # the file grew since it was scanned
                x = _grown(x, n + len(lines))
            problems = {}
            for j, c in enumerate(chosen):
                values, missing, bad = parse_cells(cells[c::width], table.delimiter)
                holes = [mask for mask in (missing, bad) if mask is not None]
                if holes:
                    problems[j] = int(np.argmax(np.logical_or.reduce(holes)))
                x[n:n + len(lines), j] = values
            if problems:   # the first row with a problem, and its first such column
                j = min(problems, key=lambda k: (problems[k], k))
                row, c = problems[j], chosen[j]
                raise DataError(f"{table.where(lines[row], c)}: {cells[row * width + c].strip()!r} "
                                "is not a number")
            n += len(lines)
    return x[:n]
