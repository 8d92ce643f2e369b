"""Reading a CSV file into rows of text: decoding, delimiter and header detection, shape checks.

The file is streamed: :class:`CsvStream` checks that the path is a regular file (a FIFO would block,
``/dev/zero`` never ends), scans its bytes once (valid UTF-8, no NUL, not blank, how many lines at
most, any quotes), detects the delimiter and the header from its first lines, and then hands out
the data rows in chunks, each row with its line number. Nothing holds the whole file, so a 200 MB
file does not become gigabytes of Python strings (it peaked at 17x the file's size when it did).

Turning those rows into numbers (and the questions of which column is the target) lives in
``csv_columns`` and ``csv_import``; this module only guarantees rectangular rows with a line number
each.
"""
from __future__ import annotations

import csv
import io
import os
from itertools import chain, islice, repeat
from pathlib import Path

from .dataset import DataError
from .files import check_regular_file, open_regular_file

DELIMITERS = (",", ";", "\t", "|")
# Cells that mean "no value here" in files exported by spreadsheets, R and pandas.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_SNIFF_LINES = 20
_HEADER_SAMPLE_ROWS = 50
# Cells per chunk: small enough that a chunk's Python strings stay in the CPU's caches and in a few
# MB of memory (bench_csv: 4x fewer cells per chunk was both leaner and faster), large enough that
# per-chunk work is spread over many cells.
CHUNK_CELLS = 16384
_SCAN_BLOCK = 1 << 20


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


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (>1) of fields."""
    return _sniff(text.splitlines())


def _sniff(lines: list) -> str:
    lines = [line for line in lines if line.strip()][:_SNIFF_LINES]
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = delimiter, fields
    return best


def looks_like_header(rows: list, delimiter: str) -> bool:
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


def _open_bytes(path: Path):
    """A binary stream of ``path``, which must still be a regular file once open."""
    return open_regular_file(path, what="CSV file")


def _scan(path: Path) -> tuple[int, bool]:
    """Check the whole file is UTF-8 text with something in it, in blocks; return an upper bound
    on its number of lines and whether it holds a quote. Errors name the line and column of the
    first bad byte."""
    line_ends = newlines_before = 0
    offset, last_newline, carry = 0, -1, b""
    first_nul = None
    content = quoted = ended_cr = False
    with _open_bytes(path) as stream:
        while True:
            block = stream.read(_SCAN_BLOCK)
            data = carry + block
            try:
                text = data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as error:
                if block and error.reason == "unexpected end of data":
                    carry = data[error.start:]   # a character cut by the block's end
                    text = data[:error.start].decode("utf-8")
                else:
                    where = offset + error.start
                    line = newlines_before + data.count(b"\n", 0, error.start) + 1
                    cut = data.rfind(b"\n", 0, error.start)
                    column = error.start - cut if cut >= 0 else where - last_newline
                    raise DataError(
                        f"{path.name}, line {line}, column {column} (byte): not valid UTF-8 "
                        f"(byte 0x{data[error.start]:02x}). Save the file as UTF-8, e.g. 'CSV UTF-8' "
                        "in a spreadsheet.") from None
            done = data[:len(data) - len(carry)]
            quoted = quoted or b'"' in done
            if first_nul is None and (nul := done.find(b"\x00")) >= 0:
                first_nul = newlines_before + done.count(b"\n", 0, nul) + 1
            if not content:
                content = bool(text.lstrip("\ufeff" if offset == 0 else "").strip())
            count = done.count(b"\n")
            if count:
                last_newline = offset + done.rfind(b"\n")
            newlines_before += count
            # A line ends at \n, \r or \r\n, as the reader splits them; a \r\n may straddle blocks.
            line_ends += count + done.count(b"\r") - done.count(b"\r\n")
            if offset and done.startswith(b"\n") and ended_cr:
                line_ends -= 1
            ended_cr = done.endswith(b"\r")
            offset += len(done)
            if not block:
                break
    if first_nul is not None:
        raise DataError(f"{path.name}, line {first_nul}: contains a NUL byte; this looks like a binary "
                        "file, not CSV text")
    if not content:
        raise DataError(f"{path.name} is empty: a CSV file needs at least one row of data")
    return line_ends + 1, quoted


def _text(path: Path):
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", newline="")


def _first_lines(path: Path) -> list:
    lines = []
    with _text(path) as stream:
        for line in stream:
            lines.extend(piece for piece in line.splitlines() if piece.strip())
            if len(lines) >= _SNIFF_LINES:
                break
    return lines


class CsvStream:
    """An opened CSV file: what was detected from its first lines, and its data rows in chunks.

    ``columns``, ``has_header``, ``delimiter`` and ``width`` are known on construction;
    :meth:`chunks` reads the data rows (header excluded) once. ``max_rows`` bounds the number of
    data rows (the file's lines), so that arrays for them can be allocated once."""

    def __init__(self, path, has_header: bool | None = None, delimiter: str | None = None):
        self.path = path = Path(path)
        try:
            os.stat(path)
        except OSError as error:
            raise DataError(f"cannot read CSV file {path}: {error.strerror or error}") from None
        check_regular_file(path, what="CSV file")
        self.max_rows, self._quoted = _scan(path)
        self.delimiter = delimiter or _sniff(_first_lines(path))
        self._stream = _text(path)
        try:
            self._detect(has_header)
        except BaseException:
            self.close()
            raise

    def _detect(self, has_header: bool | None) -> None:
        path = self.path
        quoted = self._quoted
        self._reader = csv.reader(self._stream, delimiter=self.delimiter, strict=True)
        # Without a quote in the file, every line is one record split at the delimiter, as the csv
        # module would split it: str.split does that without building a list per row.
        self._split = not quoted
        self._line = 0   # lines read so far, when splitting
        self.width = 0
        head, head_lines = [], []
        while len(head) <= _HEADER_SAMPLE_ROWS:
            rows, lines = self._read(_HEADER_SAMPLE_ROWS + 1 - len(head))
            if not rows and not lines:
                break
            head.extend(rows)
            head_lines.extend(lines)
        if not head:
            raise DataError(f"{path.name} is empty: a CSV file needs at least one row of data")
        self.width = len(head[0])
        self._first_line = head_lines[0]
        self._check_widths(head, head_lines)
        self.has_header = looks_like_header(head, self.delimiter) if has_header is None else bool(has_header)
        if self.has_header:
            self.columns = [c.strip() or f"column {i + 1}" for i, c in enumerate(head[0])]
            head, head_lines = head[1:], head_lines[1:]
            if not head:   # the head holds every row when it is this short
                raise DataError(f"{path.name} has a header line but no data rows")
        else:
            self.columns = [f"column {i + 1}" for i in range(self.width)]
        self._head = (head, head_lines)

    def _read(self, size: int) -> tuple[list, list]:
        """Up to ``size`` records as lists of cells, blank lines left out, and the line where each
        one ends; ``([], [])`` at the end of the file."""
        while True:   # a loop, not recursion: a file may hold millions of blank lines
            if self._split:
                lines = list(islice(self._stream, size))
                rows, numbers = self._split_rows(lines)
                if rows or not lines:
                    return rows, numbers
            else:
                rows, numbers, read = self._read_quoted(size)
                if rows or not read:
                    return rows, numbers

    def _split_rows(self, lines: list) -> tuple[list, list]:
        rows, numbers, delimiter = [], [], self.delimiter
        for number, line in enumerate(lines, self._line + 1):
            line = line.rstrip("\r\n")
            if delimiter not in line and not line.strip():
                continue   # blank line
            rows.append(line.split(delimiter))
            numbers.append(number)
        self._line += len(lines)
        return rows, numbers

    def _read_flat(self, size: int) -> tuple[list, list]:
        """Up to ``size`` records as one flat list of cells (``width`` per record), and the line
        where each one ends: the form the importers convert column by column. ``([], [])`` at
        the end of the file."""
        while True:
            if self._split:
                lines = list(islice(self._stream, size))
                if not lines:
                    return [], []
                if self.width > 1 and set(map(str.count, lines, repeat(self.delimiter))) == {self.width - 1}:
                    text = "".join(lines)
                    if "\r" in text:
                        text = text.replace("\r\n", "\n").replace("\r", "\n")
                    first, self._line = self._line + 1, self._line + len(lines)
                    cells = text.rstrip("\n").replace("\n", self.delimiter).split(self.delimiter)
                    return cells, list(range(first, self._line + 1))
                rows, numbers = self._split_rows(lines)
            else:
                rows, numbers, read = self._read_quoted(size)
                if not read:
                    return [], []
            if rows:
                self._check_widths(rows, numbers)
                return list(chain.from_iterable(rows)), numbers

    def _read_quoted(self, size: int) -> tuple[list, list, bool]:
        """Records are taken in C (islice); the reader's line count then gives each one's line
        directly unless a record spans several lines or a line is blank, which only the rows of
        that chunk pay for. The last item says whether anything was read."""
        before = self._reader.line_num
        try:
            rows = list(islice(self._reader, size))
        except csv.Error as error:
            raise DataError(f"{self.path.name}, line {self._reader.line_num}: malformed CSV ({error}); "
                            "check the quotes on this line") from None
        after = self._reader.line_num
        width = self.width
        if width > 1 and after - before == len(rows) and set(map(len, rows)) == {width}:
            return rows, list(range(before + 1, after + 1)), True
        kept, lines, line = [], [], before
        for row in rows:
            line += 1 + sum(_line_breaks(cell) for cell in row)
            if not row or (len(row) == 1 and not row[0].strip()):
                continue   # blank line
            kept.append(row)
            lines.append(line)
        return kept, lines, bool(rows)

    def _check_widths(self, rows: list, line_numbers: list) -> None:
        if len(set(map(len, rows))) > 1 or len(rows[0]) != self.width:
            for row, line in zip(rows, line_numbers):
                if len(row) != self.width:
                    raise DataError(
                        f"{self.path.name}, line {line}: {len(row)} fields where line "
                        f"{self._first_line} has {self.width} (delimiter {self.delimiter!r}); look for "
                        f"a missing or extra '{self.delimiter}' or an unquoted delimiter inside a value")

    def chunks(self, size: int | None = None):
        """Yield ``(cells, line_numbers)`` of at most ``size`` records each, then close the file.

        ``cells`` is flat: record ``i`` is ``cells[i * width:(i + 1) * width]`` and column ``c``
        is ``cells[c::width]``."""
        size = size or max(1, CHUNK_CELLS // self.width)
        try:
            rows, line_numbers = self._head
            self._head = ([], [])
            if rows:
                yield list(chain.from_iterable(rows)), line_numbers
            while True:
                cells, line_numbers = self._read_flat(size)
                if not line_numbers:
                    break
                yield cells, line_numbers
        finally:
            self.close()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "CsvStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def where(self, line: int, column: int) -> str:
        """"data.csv, line 7, column 3 ('age')" for error messages."""
        return f"{self.path.name}, {cell_place(line, column, self.columns)}"


def _line_breaks(cell: str) -> int:
    """Lines a quoted cell spans past its first, counted as the reader counts them."""
    return cell.count("\n") + cell.count("\r") - cell.count("\r\n") if len(cell) > 0 else 0


def cell_place(line: int, column: int, columns: list) -> str:
    return f"line {line}, column {column + 1} ('{columns[column]}')"
