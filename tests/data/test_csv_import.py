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
