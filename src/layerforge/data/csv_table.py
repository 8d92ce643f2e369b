"""Reading a CSV file into rows of text: decoding, delimiter and header detection, shape checks.

Turning those rows into numbers (and the questions of which column is the target) lives in
``csv_import``; this module only guarantees a rectangular table with a line number per row.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .dataset import DataError

DELIMITERS = (",", ";", "\t", "|")
# Cells that mean "no value here" in files exported by spreadsheets, R and pandas.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_SNIFF_LINES = 20
_HEADER_SAMPLE_ROWS = 50


@dataclass
class CsvTable:
    path: Path
    columns: list          # column names (from the header, or "column 1", "column 2", ...)
    rows: list             # data rows, each a list of cells as text
    line_numbers: list     # 1-based line in the file where each data row ends
    has_header: bool
    delimiter: str

    def cell(self, row: int, column: int) -> str:
        """"line 7, column 3 ('age')" for error messages."""
        return f"line {self.line_numbers[row]}, column {column + 1} ('{self.columns[column]}')"

    def where(self, row: int, column: int) -> str:
        """"data.csv, line 7, column 3 ('age')" for error messages."""
        return f"{self.path.name}, {self.cell(row, column)}"


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def parse_number(cell: str, delimiter: str) -> float | None:
    """The finite number a cell holds, or None. Accepts a decimal comma when ',' is not the
    delimiter, as spreadsheets in many locales write it."""
    text = cell.strip()
    if delimiter != "," and "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value - value == 0.0 else None   # rejects inf and nan


def decode_csv_bytes(data: bytes, path: Path) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise DataError(
            f"{path.name}, line {line}, column {column} (byte): not valid UTF-8 "
            f"(byte 0x{data[error.start]:02x}). Save the file as UTF-8, e.g. 'CSV UTF-8' in a "
            "spreadsheet.") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError(f"{path.name}, line {line}: contains a NUL byte; this looks like a binary "
                        "file, not CSV text")
    return text


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields."""
    lines = [line for line in text.splitlines() if line.strip()][:_SNIFF_LINES]
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def _tokenize(text: str, delimiter: str, path: Path) -> tuple[list, list]:
    rows, line_numbers = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue   # blank line
            rows.append(row)
            line_numbers.append(reader.line_num)
    except csv.Error as error:
        raise DataError(f"{path.name}, line {reader.line_num}: malformed CSV ({error}); check the "
                        "quotes on this line") from None
    return rows, line_numbers


def _looks_like_header(rows: list, delimiter: str) -> bool:
    """A header is a first row of text labels over columns that hold something else.

    No first-row cell may be a number, and at least one column must either hold
    numbers below it or never repeat its first cell (a label, not a category value)."""
    first, below = rows[0], rows[1:1 + _HEADER_SAMPLE_ROWS]
    # Blank labels are allowed (pandas writes one over its index column); numbers are not.
    if all(is_missing(c) for c in first) or any(
            not is_missing(c) and parse_number(c, delimiter) is not None for c in first):
        return False
    if not below:
        return True   # a lone row of labels: a header with no data, reported as such
    for column, label in enumerate(first):
        cells = [row[column] for row in below if not is_missing(row[column])]
        if cells and all(parse_number(c, delimiter) is not None for c in cells):
            return True
        if cells and label.strip() not in {c.strip() for c in cells}:
            return True
    return False


def read_csv_table(path, has_header: bool | None = None, delimiter: str | None = None) -> CsvTable:
    """Parse ``path`` into a rectangular table of text cells, or raise DataError saying where not."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read CSV file {path}: {error.strerror or error}") from None
    text = decode_csv_bytes(data, path)
    if not text.strip():
        raise DataError(f"{path.name} is empty: a CSV file needs at least one row of data")
    delimiter = delimiter or sniff_delimiter(text)
    rows, line_numbers = _tokenize(text, delimiter, path)
    width = len(rows[0])
    for row, line in zip(rows, line_numbers):
        if len(row) != width:
            raise DataError(
                f"{path.name}, line {line}: {len(row)} fields where line {line_numbers[0]} has "
                f"{width} (delimiter {delimiter!r}); look for a missing or extra '{delimiter}' or "
                "an unquoted delimiter inside a value")
    if has_header is None:
        has_header = _looks_like_header(rows, delimiter)
    if has_header:
        columns = [c.strip() or f"column {i + 1}" for i, c in enumerate(rows[0])]
        rows, line_numbers = rows[1:], line_numbers[1:]
        if not rows:
            raise DataError(f"{path.name} has a header line but no data rows")
    else:
        columns = [f"column {i + 1}" for i in range(width)]
    return CsvTable(path, columns, rows, line_numbers, bool(has_header), delimiter)
