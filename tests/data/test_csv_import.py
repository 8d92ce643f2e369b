"""CSV import: the happy paths a user takes, and every bad file with a message naming the place."""
import numpy as np
import pytest

from layerforge.data import DataError, preview_csv, read_csv, read_inputs


@pytest.fixture
def write(tmp_path):
    def write(text, name="data.csv"):
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return path
    return write


def test_header_and_categorical_target(write):
    path = write("sepal,petal,species\n1.5,2,setosa\n3,4.25,virginica\n5,6,setosa\n7,8,versicolor\n")
    ds = read_csv(path)
    assert ds.task == "classification" and ds.name == "data"
    assert ds.feature_names == ["sepal", "petal"]
    assert ds.class_names == ["setosa", "versicolor", "virginica"]   # sorted
    np.testing.assert_array_equal(ds.y, [0, 2, 0, 1])
    np.testing.assert_array_equal(ds.x, np.array([[1.5, 2], [3, 4.25], [5, 6], [7, 8]], np.float32))
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64 and ds.kind == "points2d"


def test_no_header_is_detected_and_columns_are_numbered(write):
    ds = read_csv(write("1,2,0\n3,4,1\n5,6,0\n7,8,1\n"))
    assert ds.feature_names == ["column 1", "column 2"] and len(ds) == 4
    assert ds.task == "classification" and ds.class_names == ["0", "1"]


def test_forced_header_setting_overrides_detection(write):
    path = write("1,2,3\n4,5,6\n7,8,9\n")
    assert len(read_csv(path, has_header=True, task="regression")) == 2
    assert len(read_csv(path, has_header=False, task="regression")) == 3


def test_regression_target_with_chosen_columns(write):
    path = write("id,x,noise,y\n1,0.5,9,1.25\n2,1.5,9,3.5\n3,2.5,9,6.0\n4,3.5,9,0.1\n")
    ds = read_csv(path, target_column="y", feature_columns=["x"])
    assert ds.task == "regression" and ds.kind == "curve1d"
    assert ds.x.shape == (4, 1) and ds.y.shape == (4, 1) and ds.y.dtype == np.float32
    np.testing.assert_allclose(ds.y[:, 0], [1.25, 3.5, 6.0, 0.1])
    by_index = read_csv(path, target_column=3, feature_columns=[1])
    np.testing.assert_array_equal(by_index.x, ds.x)


def test_numeric_class_labels_sort_numerically(write):
    ds = read_csv(write("a,label\n1,10\n2,2\n3,10.0\n4,2\n5,1\n6,1e0\n"))
    assert ds.class_names == ["1", "2", "10"]   # "10.0" is class "10", "1e0" is class "1"
    np.testing.assert_array_equal(ds.y, [2, 1, 2, 1, 0, 0])


def test_many_distinct_numbers_mean_regression(write):
    rows = "".join(f"{i},{i * i}\n" for i in range(30))
    assert read_csv(write("x,y\n" + rows)).task == "regression"


def test_semicolon_file_with_decimal_commas(write):
    ds = read_csv(write("a;b;c\n1,5;2;x\n3;4,25;y\n"))
    np.testing.assert_allclose(ds.x, [[1.5, 2], [3, 4.25]])


def test_quoted_fields_bom_and_crlf(write):
    ds = read_csv(write('\ufeff"a","b","label"\r\n"1","2","big, red"\r\n3,4,small\r\n\r\n'))
    assert ds.feature_names == ["a", "b"] and ds.class_names == ["big, red", "small"]


def test_missing_values_name_every_line_and_column(write):
    path = write("a,b,y\n1,2,0.5\n3,,0.7\n5,6,NA\n7,8,0.9\n")
    with pytest.raises(DataError) as error:
        read_csv(path)
    message = str(error.value)
    assert "data.csv" in message and "2 missing" in message
    assert "line 3, column 2 ('b')" in message and "line 4, column 3 ('y')" in message


def test_missing_values_can_be_dropped_with_a_note(write):
    ds = read_csv(write("a,b,y\n1,2,0.5\n3,,0.7\n5,6,NA\n7,8,0.9\n"), missing="drop")
    np.testing.assert_allclose(ds.y[:, 0], [0.5, 0.9])
    assert ds.notes == ["skipped 2 row(s) with missing values (lines 3, 4)"]


@pytest.mark.parametrize("content, expected", [
    (b"", "data.csv is empty"),
    (b"\n  \n\n", "data.csv is empty"),
    (b"a,b,label\n", "header line but no data rows"),
    (b'a,b,y\n1,"2,3\n4,5,6\n', r"data.csv, line \d: malformed CSV"),
    (b'a,b,y\n1,"2"x,3\n', "data.csv, line 2: malformed CSV"),
    (b"a,b,y\n1,2,3\n4,5\n6,7,8\n", "data.csv, line 3: 2 fields where line 1 has 3"),
    (b"a,b,y\n1,2,3\n4,5,6,7\n", "data.csv, line 3: 4 fields"),
    (b"a,b,y\n1,2,caf\xe9\n", "data.csv, line 2, column 8 .*not valid UTF-8"),
    (b"a,b,y\n1,2,3\n4,\x00,6\n", "data.csv, line 3: contains a NUL byte"),
    (b"a,b,y\n1,2,3\n4,abc,6\n5,6,7\n", r"data.csv, line 3, column 2 \('b'\): 'abc' is not a "),
    (b"a,b,y\n1,2,3\n4,inf,6\n", r"line 3, column 2 \('b'\): 'inf' is not a finite number"),
    (b"1\n2\n3\n", "only one column"),
])
def test_bad_file_gives_a_data_error_naming_the_place(write, content, expected):
    with pytest.raises(DataError, match=expected):
        read_csv(write(content))


def test_text_target_cannot_be_forced_to_regression(write):
    path = write("a,b,y\n1,2,3.5\n4,5,high\n")
    with pytest.raises(DataError, match=r"line 3, column 3 \('y'\): 'high' is not a finite number"):
        read_csv(path, task="regression")


def test_unknown_column_lists_the_real_ones(write):
    with pytest.raises(DataError, match="no target column 'Species'.*'a', 'b', 'label'"):
        read_csv(write("a,b,label\n1,2,x\n3,4,y\n"), target_column="Species")


def test_column_cannot_be_both_feature_and_target(write):
    with pytest.raises(DataError, match="both a feature and the target"):
        read_csv(write("a,b,label\n1,2,x\n3,4,y\n"), feature_columns=["a", "label"])


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read CSV file"):
        read_csv(tmp_path / "nowhere.csv")


def test_preview_shows_the_first_rows_and_what_was_detected(write):
    rows = "".join(f"{i},{i / 2},{'ab'[i % 2]}\n" for i in range(30))
    preview = preview_csv(write("n,half,kind\n" + rows + "31,,a\n"), n=5)
    assert preview.columns == ["n", "half", "kind"] and preview.has_header
    assert len(preview.rows) == 5 and preview.rows[0] == ["0", "0.0", "a"]
    assert preview.line_numbers[:2] == [2, 3] and preview.n_rows == 31
    assert preview.numeric_columns == [True, True, False]
    assert preview.missing_counts == [0, 1, 0]
    assert preview.suggested_target == "kind" and preview.suggested_task == "classification"
    assert preview.delimiter == ","


def test_inputs_for_prediction_from_csv(write):
    x = read_inputs(write("a,b\n1,2\n3,4.5\n"))
    np.testing.assert_array_equal(x, np.array([[1, 2], [3, 4.5]], np.float32))
    with pytest.raises(DataError, match=r"line 3, column 1 \('a'\)"):
        read_inputs(write("a,b\n1,2\n,4.5\n"))


def test_pandas_style_file_with_an_unnamed_index_column(write):
    ds = read_csv(write(",a,b,label\n0,1.5,2,x\n1,3,4,y\n2,5,6,x\n"), feature_columns=["a", "b"])
    assert ds.feature_names == ["a", "b"] and len(ds) == 3
    assert read_csv(write(",a,b,label\n0,1.5,2,x\n1,3,4,y\n")).feature_names == ["column 1", "a", "b"]


# --- a label or target column that cannot train anything ---------------------------------------

def test_label_column_with_one_class_is_refused_with_its_name_and_class(write):
    path = write("sepal,petal,species\n1,2,setosa\n3,4,setosa\n5,6, setosa\n", "flowers.csv")
    with pytest.raises(DataError, match=r"flowers.csv: the label column 'species' has only one class "
                                        r"\('setosa'\) in its 3 row\(s\); a classifier needs at least two"):
        read_csv(path)
    with pytest.raises(DataError, match="only one class"):
        read_csv(path, task="classification")


def test_one_class_left_after_dropping_rows_says_so(write):
    path = write("a,b,label\n1,2,x\n3,,y\n5,6,x\n")
    with pytest.raises(DataError, match=r"only one class \('x'\) in its 2 row\(s\) \(after skipping rows "
                                        r"with missing values\)"):
        read_csv(path, missing="drop")


def test_numeric_label_with_one_value_is_refused_either_way(write):
    path = write("a,b,label\n1,2,1\n3,4,1.0\n5,6,1\n")
    with pytest.raises(DataError, match=r"'label' has only one class \('1'\)"):
        read_csv(path)
    with pytest.raises(DataError, match=r"data.csv: the target column 'label' holds the same value \(1\) "
                                        r"in all 3 row\(s\); a model has nothing to learn"):
        read_csv(path, task="regression")


def test_constant_column_among_several_regression_targets_is_named(write):
    path = write("x,y1,y2\n1,0.5,7\n2,1.5,7\n3,2.5,7\n")
    with pytest.raises(DataError, match=r"the target column 'y2' holds the same value \(7\)"):
        read_csv(path, target_column=["y1", "y2"])
    assert read_csv(path, target_column=["y1", "x"], feature_columns=["y2"]).y.shape == (3, 2)


def test_label_column_with_more_classes_than_trainable_is_refused(write):
    rows = "".join(f"{i},{i % 7},customer {i}\n" for i in range(1500))
    with pytest.raises(DataError, match=r"the label column 'name' has more than 1000 different values"):
        read_csv(write("a,b,name\n" + rows))


def test_label_column_with_a_different_value_per_row_is_refused(write):
    rows = "".join(f"{i},{i % 7},id-{i}\n" for i in range(50))
    with pytest.raises(DataError, match=r"'key' has a different value in each of its 50 rows"):
        read_csv(write("a,b,key\n" + rows))


@pytest.mark.parametrize("content", [b'""\n\n', b'\xef\xbb\xbf\n', b'"  "\r\n'])
def test_a_file_of_blank_records_is_empty(write, content):
    with pytest.raises(DataError, match="data.csv is empty"):
        read_csv(write(content))


# --- only regular files are opened ---------------------------------------------------------

def _refused_within_seconds(call):
    import signal

    def hung(*_):
        raise TimeoutError("the reader blocked")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        with pytest.raises(DataError) as error:
            call()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return str(error.value)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("reader", [read_csv, preview_csv, read_inputs])
def test_a_named_pipe_is_refused_without_blocking(tmp_path, reader):
    import os
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    assert "is a named pipe (FIFO), not a CSV file" in _refused_within_seconds(lambda: reader(fifo))


@pytest.mark.skipif(not __import__("os").path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_before_reading_it():
    # In a child process with a memory cap: a reader that did read /dev/zero would fill the memory.
    import subprocess
    import sys
    child = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
             "from layerforge.data import DataError, read_csv\n"
             "try:\n    read_csv('/dev/zero')\nexcept DataError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "/dev/zero: is a character device, not a CSV file; choose a regular file"


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "data.csv").mkdir()
    with pytest.raises(DataError, match="data.csv: is a folder, not a CSV file"):
        preview_csv(tmp_path / "data.csv")


# --- streaming: chunk boundaries keep every line number and value --------------------------

@pytest.fixture
def tiny_chunks(monkeypatch):
    from layerforge.data import csv_table
    monkeypatch.setattr(csv_table, "CHUNK_CELLS", 9)   # 3 rows of 3 columns
    monkeypatch.setattr(csv_table, "_SCAN_BLOCK", 4)
    monkeypatch.setattr(csv_table, "_HEADER_SAMPLE_ROWS", 2)


def test_small_chunks_give_the_same_dataset_and_line_numbers(write, tiny_chunks):
    text = ('a,b,label\r\n1,2,x\r\n\r\n3,4,"two\r\nlines"\r\n5,,x\r\n7,8,y\r\n'
            '9,10,x\r\n  \r\n11,12,NA\r\n13,14,y\r\n15,16,"z"\r\n')
    ds = read_csv(write(text), missing="drop")
    assert ds.class_names == ["two\r\nlines", "x", "y", "z"]
    np.testing.assert_array_equal(ds.y, [1, 0, 2, 1, 2, 3])
    np.testing.assert_array_equal(ds.x[:, 0], [1, 3, 7, 9, 13, 15])
    assert ds.notes == ["skipped 2 row(s) with missing values (lines 6, 10)"]
    with pytest.raises(DataError, match=r"2 missing value\(s\): line 6, column 2 \('b'\); "
                                        r"line 10, column 3 \('label'\)\."):
        read_csv(write(text))
    with pytest.raises(DataError, match=r"line 11, column 2 \('b'\): 'oops' is not a finite number"):
        read_csv(write(text.replace("13,14", "13,oops")), missing="drop")
    with pytest.raises(DataError, match=r"data.csv, line 10: 2 fields where line 1 has 3"):
        read_csv(write(text.replace("11,12,NA", "11,12")))
    preview = preview_csv(write(text), n=4)
    assert preview.line_numbers == [2, 5, 6, 7] and preview.n_rows == 8
    assert preview.missing_counts == [0, 1, 1] and preview.numeric_columns == [True, True, False]


def test_utf8_errors_and_characters_across_scan_blocks(write, tiny_chunks):
    assert read_csv(write("a,b,y\n1,2,café\n3,4,thé\n".encode())).class_names == ["café", "thé"]
    with pytest.raises(DataError, match=r"data.csv, line 3, column 8 \(byte\): not valid UTF-8 \(byte 0xe9\)"):
        read_csv(write(b"a,b,y\n1,2,x\n1,2,caf\xe9,\n"))


def test_cell_parsing_agrees_with_parse_number_on_awkward_cells():
    from layerforge.data.csv_columns import parse_cells
    from layerforge.data.csv_table import is_missing, parse_number
    cells = ["1", " 2 ", "1_000", "inf", "-inf", "nan", "-nan", "NaN", "NA", "", " ", "n/a", "None",
             "?", "1,5", "1.5", "1,234.5", "1e3", "0x10", "abc", "\u0661\u0662", "\u00a03\u00a0", "+4",
             "-.5", "1e999", "Null", " na "]
    for delimiter in ",;":
        values, missing, bad = parse_cells(cells, delimiter)
        for i, cell in enumerate(cells):
            expected = None if is_missing(cell) else parse_number(cell, delimiter)
            assert bool(missing is not None and missing[i]) == is_missing(cell), cell
            assert bool(bad is not None and bad[i]) == (not is_missing(cell) and expected is None), cell
            if expected is not None:
                assert values[i] == expected, cell


UNQUOTED = [
    "a,b,label\n1,2,x\n\n3,4,y\n5,,x\n  \n7,8,y\n9,10,x\n11,12,NA\n13,14,y\n15,16,z",
    "a,b,label\r\n1,2,x\r\n\r\n3,4,y\r\n5,6,x\r\n7,8,y\r\n",
    "a,b,label\r1,2,x\r3,4,y\r5,6,x\r\r7,8,y\r",
    "a,b,label\r1,2,x\r3,4,y\r5,6,x\r7,8,y\r9,10,y\r11,12,x\r13,14,x",
    "a;b;label\n1,5;2;x\n3;4,25;y\n5;6;x\n7;8;y\n",
    "1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n",
    "a,b,label\n1,2,x\n3,4,y\n5,6\n7,8,y\n",
    "a,b,label\n1,2,x\n3,4,y\n5,6,x,9\n",
    "a,b,label\n1,2,x\n3,oops,y\n5,6,x\n",
    " a , b ,label\n 1 , 2 ,x\n 3, 4 , y \n5,6, x\n",
]


@pytest.mark.parametrize("text", UNQUOTED)
def test_a_file_without_quotes_reads_as_the_csv_module_reads_it(write, monkeypatch, text, tiny_chunks):
    """Files without a quote are split with str.split; forcing the csv module must change nothing."""
    from layerforge.data import csv_table

    def outcome():
        results = []
        for call in (lambda p: read_csv(p, missing="drop"), preview_csv, read_inputs):
            try:
                value = call(write(text))
            except DataError as error:
                results.append(str(error))
                continue
            if isinstance(value, np.ndarray):
                results.append(value.tolist())
            elif hasattr(value, "x"):
                results.append((value.x.tolist(), value.y.tolist(), value.class_names, value.notes))
            else:
                results.append(vars(value))
        return results

    split = outcome()
    scan = csv_table._scan
    monkeypatch.setattr(csv_table, "_scan", lambda path: (scan(path)[0], True))
    assert outcome() == split


@pytest.mark.parametrize("label", ["y", '"y"'])
def test_thousands_of_blank_lines_between_rows(write, tiny_chunks, label):
    text = "a,b,label\n1,2,x\n3,4,x\n" + "\n \n" * 5000 + f"5,6,{label}\n7,8,y\n"
    ds = read_csv(write(text))
    np.testing.assert_array_equal(ds.y, [0, 0, 1, 1])
    with pytest.raises(DataError, match=r"line 10005, column 1 \('a'\): 'oops'"):
        read_csv(write(text.replace("7,8", "oops,8")))


@pytest.mark.parametrize("text", [
    "a,b\n1,2\n3,4.5\n", "a;b\n1,5;2\n3;4\n", "a,b\n1,2\n,4.5\n", "a,b\n1,2\n3,x\n,y\n",
    "a,b\n1,2\n3,4\n5,x\n,y\n", "a,b\n1,2\n3,NA\n",
    "1,2\n3,4\n5,6\n7,inf\n", "a,b\n" + "1,2\n" * 40 + "3,oops\n",
])
def test_streamed_inputs_for_prediction_match_a_cell_by_cell_reading(write, text, tiny_chunks):
    """read_csv_numbers (inputs to predict on) parses whole columns at once; it gives what parsing
    each cell alone gives: the same numbers, or the same message naming the first bad cell."""
    from layerforge.data.csv_import import read_csv_numbers
    from layerforge.data.csv_table import CsvStream, cell_place, is_missing, parse_number

    def cell_by_cell(path):
        stream = CsvStream(path)
        rows = []
        for cells, lines in stream.chunks():
            for start, line in zip(range(0, len(cells), stream.width), lines):
                row = []
                for column, cell in enumerate(cells[start:start + stream.width]):
                    value = None if is_missing(cell) else parse_number(cell, stream.delimiter)
                    if value is None:
                        raise DataError(f"{path.name}, {cell_place(line, column, stream.columns)}: "
                                        f"{cell.strip()!r} is not a number")
                    row.append(value)
                rows.append(row)
        return np.array(rows, dtype=np.float32)

    def outcome(reader):
        try:
            return reader(write(text)).tolist()
        except DataError as error:
            return str(error)
    assert outcome(read_csv_numbers) == outcome(cell_by_cell)
    assert outcome(read_inputs) == outcome(cell_by_cell)   # predict reads CSVs through it
    assert read_csv_numbers(write("a,b,c\n1,2,3\n4,5,6\n"), columns=["c", 0]).tolist() == [[3, 1], [6, 4]]


@pytest.mark.parametrize("label", ["y", '"y"'])
def test_mixed_line_endings_each_end_a_line(write, tiny_chunks, label):
    from layerforge.data import csv_table
    text = f"a,b,label\n1,2,x\r3,4,{label}\r\n5,6,x\r7,8,y\n9,10,x\r\r\n11,12,y\r13,oops,x\n"
    assert csv_table._scan(write(text)) == (10, '"' in label)
    with pytest.raises(DataError, match=r"line 9, column 2 \('b'\): 'oops'"):
        read_csv(write(text))
    ds = read_csv(write(text.replace("oops", "14")))
    np.testing.assert_array_equal(ds.x[:, 0], [1, 3, 5, 7, 9, 11, 13])


def test_a_file_that_grows_after_the_scan_is_read_whole(write, monkeypatch, tiny_chunks):
    """The line count from the first pass only sizes the arrays; rows appended since still fit."""
    from layerforge.data import csv_table
    from layerforge.data.csv_import import read_csv_numbers
    scan = csv_table._scan
    monkeypatch.setattr(csv_table, "_scan", lambda path: (2, scan(path)[1]))
    path = write("a,b,label\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(20)))
    ds = read_csv(path)
    np.testing.assert_array_equal(ds.x[:, 0], np.arange(20))
    assert read_csv_numbers(path, columns=["a"])[:, 0].tolist() == list(range(20))
