""".npz / .npy import: key conventions, task detection, and refusing pickles and bad arrays."""
import numpy as np
import pytest

from layerforge.data import DataError, read_array_file, read_arrays, read_inputs


def test_npz_with_integer_labels_is_classification(tmp_path):
    path = tmp_path / "points.npz"
    x = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0, 1, 2] * 4)
    np.savez(path, x=x, y=y)
    ds = read_arrays(path)
    assert ds.task == "classification" and ds.name == "points" and ds.output_dim == 3
    np.testing.assert_allclose(ds.x, x.astype(np.float32))
    np.testing.assert_array_equal(ds.y, y)
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64


@pytest.mark.parametrize("x_key, y_key", [("X", "y"), ("features", "targets"),
                                          ("inputs", "labels")])
def test_common_key_names_are_found(tmp_path, x_key, y_key):
    path = tmp_path / "d.npz"
    np.savez(path, **{x_key: np.ones((4, 3)), y_key: np.array([0.5, 1.5, 2.5, 3.5])})
    ds = read_arrays(path)
    assert ds.task == "regression" and ds.x.shape == (4, 3) and ds.y.shape == (4, 1)


def test_text_labels_and_stored_class_names(tmp_path):
    np.savez(tmp_path / "t.npz", x=np.zeros((3, 2)), y=np.array(["dog", "cat", "dog"]))
    ds = read_arrays(tmp_path / "t.npz")
    assert ds.class_names == ["cat", "dog"] and ds.y.tolist() == [1, 0, 1]
    np.savez(tmp_path / "n.npz", x=np.zeros((3, 2)), y=np.array([1, 0, 1]),
             class_names=np.array(["no", "yes"]))
    assert read_arrays(tmp_path / "n.npz").class_names == ["no", "yes"]


def test_images_keep_their_shape(tmp_path):
    np.savez(tmp_path / "img.npz", images=np.zeros((5, 1, 4, 4), np.uint8), labels=np.arange(5) % 2)
    ds = read_arrays(tmp_path / "img.npz")
    assert ds.input_shape == (1, 4, 4) and ds.kind == "images"


def test_npy_holds_inputs_only(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(6.0).reshape(3, 2))
    np.save(tmp_path / "y.npy", np.array([0.1, 0.2, 0.3]))
    x, y, _ = read_array_file(tmp_path / "x.npy")
    assert x.shape == (3, 2) and y is None
    np.testing.assert_array_equal(read_inputs(tmp_path / "x.npy"), x)
    with pytest.raises(DataError, match="x.npy: no targets"):
        read_arrays(tmp_path / "x.npy")
    ds = read_arrays(tmp_path / "x.npy", targets_path=tmp_path / "y.npy")
    assert ds.task == "regression" and ds.y.shape == (3, 1)


def test_task_can_be_forced(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 1)), y=np.array([0, 1, 2, 3]))
    assert read_arrays(tmp_path / "d.npz", task="regression").y.dtype == np.float32


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="evil.npz, array .x.: holds Python objects"):
        read_arrays(path)


@pytest.mark.parametrize("arrays, expected", [
    ({"x": np.zeros((3, 2)), "y": np.zeros(4, int)}, "3 inputs but targets of shape"),
    ({"y": np.zeros(3, int)}, "no inputs array"),
    ({"x": np.array([[1.0, np.nan], [0, 0]]), "y": np.zeros(2, int)}, r"1 NaN/inf .* index \(0, 1\)"),
    ({"x": np.array(["a", "b"]), "y": np.zeros(2, int)}, "dtype <U1; they must be numbers"),
    ({"x": np.zeros((2, 2)), "y": np.array([0, -1])}, "class indices 0, 1, 2"),
    ({"x": np.zeros((2, 2)), "y": np.array([0, 2]), "class_names": np.array(["a", "b"])},
     "class index 2 but only 2 class names"),
])
def test_bad_arrays_name_the_file(tmp_path, arrays, expected):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=f"bad.npz(, array .\\w+.)?: .*{expected}"):
        read_arrays(path)


def test_not_an_array_file(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"this is text, not numpy")
    with pytest.raises(DataError, match="junk.npz: this is neither .npy nor .npz data"):
        read_arrays(path)
    with pytest.raises(DataError, match="absent.npz: no such array file"):
        read_arrays(tmp_path / "absent.npz")


def test_a_pickle_file_is_never_loaded(tmp_path):
    import pickle

    path = tmp_path / "model.npy"
    path.write_bytes(pickle.dumps({"x": [1, 2]}))
    with pytest.raises(DataError, match="model.npy: this is a Python pickle"):
        read_inputs(path)
