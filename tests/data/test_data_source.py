"""Data sources as a project file stores them: validated, JSON round trip, reloaded from disk."""
import json

import numpy as np
import pytest

from layerforge.data import DataError, DataSource, load_dataset, load_source, validate_source


def _round_trip(source: dict) -> dict:
    return json.loads(json.dumps(validate_source(source)))


def test_builtin_source_stores_every_option_so_reloads_are_identical():
    stored = _round_trip({"kind": "builtin", "name": "moons", "options": {"noise": 0.2}})
    assert stored["options"] == {"n_samples": 200, "noise": 0.2, "seed": 0}
    ds = load_source(stored)
    np.testing.assert_array_equal(ds.x, load_dataset("moons", noise=0.2).x)
    assert DataSource.from_dict(stored) == DataSource.builtin("moons", noise=0.2)


def test_csv_source_relative_to_the_project_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f.csv").write_text("a,b,kind\n1,2,x\n3,4,y\n5,6,x\n")
    stored = _round_trip({"kind": "csv", "path": "data/f.csv", "target_column": "kind"})
    assert stored["missing"] == "error" and stored["has_header"] is None
    ds = load_source(stored, base_dir=tmp_path)
    assert ds.class_names == ["x", "y"] and ds.x.shape == (3, 2)


def test_absolute_paths_inside_the_project_are_stored_relative(tmp_path):
    source = DataSource.from_dict({"kind": "arrays", "path": str(tmp_path / "sub" / "d.npz")})
    assert source.relative_to(tmp_path).settings["path"] == "sub/d.npz"
    outside = DataSource.from_dict({"kind": "arrays", "path": "/elsewhere/d.npz"})
    assert outside.relative_to(tmp_path).settings["path"] == "/elsewhere/d.npz"


def test_image_folder_and_arrays_sources(tmp_path, png_bytes):
    for label, value in (("off", 0), ("on", 255)):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        (tmp_path / "imgs" / label / "1.png").write_bytes(png_bytes(np.full((5, 5), value)))
    ds = load_source({"kind": "image_folder", "path": "imgs", "size": [4, 4], "mode": "RGB"},
                     base_dir=tmp_path)
    assert ds.x.shape == (2, 3, 4, 4) and ds.class_names == ["off", "on"]
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    assert load_source({"kind": "arrays", "path": str(tmp_path / "a.npz")}).output_dim == 2


@pytest.mark.parametrize("source, expected", [
    ("spiral", "must be a dict"),
    ({"name": "spiral"}, "kind must be one of builtin, csv, image_folder, arrays"),
    ({"kind": "builtin"}, r"needs 'name'"),
    ({"kind": "builtin", "name": "nope"}, "unknown built-in dataset 'nope'"),
    ({"kind": "builtin", "name": "spiral", "options": {"noise": 9}}, "'noise' must lie in"),
    ({"kind": "csv", "path": "a.csv", "traget_column": "y"}, "unknown key.*'traget_column'"),
    ({"kind": "csv", "path": "a.csv", "task": "clustering"}, "'task' must be one of"),
    ({"kind": "csv", "path": "a.csv", "missing": "ignore"}, "'missing' must be one of"),
    ({"kind": "image_folder", "path": "p", "size": [32]}, r"'size' must be \[height, width\]"),
    ({"kind": "image_folder", "path": "p", "mode": "CMYK"}, "'mode' must be one of"),
])
def test_invalid_source_is_a_clear_error(source, expected):
    with pytest.raises(DataError, match=expected):
        validate_source(source)


def test_moved_file_is_reported_with_the_folder_searched(tmp_path):
    with pytest.raises(DataError, match=r"gone.csv \(relative to .*\) does not exist"):
        load_source({"kind": "csv", "path": "gone.csv"}, base_dir=tmp_path)


def test_descriptions_for_the_gui():
    assert DataSource.builtin("iris").describe() == "built-in 'iris'"
    csv = DataSource.from_dict({"kind": "csv", "path": "/x/flowers.csv", "target_column": "kind"})
    assert csv.describe() == "CSV flowers.csv (target: 'kind')"
