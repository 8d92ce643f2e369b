"""``layerforge import MODEL.onnx -o PROJECT.lfproj``: the project and its weights written, what was imported
printed; a model that cannot be imported lists every operator without a layer, exits 1, writes nothing."""
from __future__ import annotations

import numpy as np
import pytest

from cli_support import run
from layerforge.export import export_onnx
from layerforge.graph import compile_spec
from layerforge.training import example_project_path, load_project

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")


def exported(tmp_path, name="digits_cnn"):
    project, _ = load_project(example_project_path(name))
    rng = np.random.default_rng(0)
    weights = {k: (rng.normal(size=tuple(v.shape)) * 0.3).astype(np.float32) if not k.endswith("tracked")
               else np.asarray(v) for k, v in compile_spec(project.spec).state_dict().items()}
    return export_onnx(project.spec, weights, tmp_path / f"{name}.onnx"), project.spec, weights


def test_import_writes_a_trained_project_that_loads_with_the_same_model_and_weights(tmp_path, capsys):
    path, spec, weights = exported(tmp_path)
    out_path = tmp_path / "projects" / "cnn.lfproj"
    (tmp_path / "projects").mkdir()
    code, out, err = run(capsys, "import", str(path), "-o", str(out_path), "--dataset", "digits")
    assert code == 0, err
    assert out.startswith(f"imported digits_cnn.onnx into {out_path}: 10 layers (")
    assert "ONNX operators: 2 Conv" in out
    project, loaded = load_project(out_path)
    assert project.spec == spec and project.name == "cnn" and project.data_source["name"] == "digits"
    assert set(loaded) == set(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(loaded[key].numpy(), value)
    code, out, err = run(capsys, "predict", str(out_path), str(_digits_npy(tmp_path)))   # usable at once
    assert code == 0, err


def _digits_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(1).random((2, 1, 8, 8)).astype(np.float32))
    return path


def test_an_existing_project_is_kept_unless_forced(tmp_path, capsys):
    path, _, _ = exported(tmp_path, "sine")
    target = tmp_path / "sine.lfproj"
    target.write_text("mine")
    code, _, err = run(capsys, "import", str(path), "-o", str(target))
    assert code == 1 and "already exists" in err and target.read_text() == "mine"
    code, _, err = run(capsys, "import", str(path), "-o", str(target), "--force")
    assert code == 0, err
    assert load_project(target)[0].spec.node_by_name("fc1")


def test_a_model_with_unsupported_operators_lists_them_and_writes_nothing(tmp_path, capsys):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Sin", ["x"], ["s"], name="/a/Sin"),
                               helper.make_node("Cos", ["s"], ["y"], name="/b/Cos")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    source = tmp_path / "waves.onnx"
    source.write_bytes(model.SerializeToString())
    code, out, err = run(capsys, "import", str(source), "-o", str(tmp_path / "w.lfproj"))
    assert code == 1 and out == ""
    assert "2 operators (Cos, Sin)" in err and "Sin '/a/Sin'" in err and "Cos '/b/Cos'" in err
    assert "nothing was written" in err and "open project" not in err
    assert not list(tmp_path.glob("w.*"))


def test_a_file_that_is_not_onnx_is_refused(tmp_path, capsys):
    source = tmp_path / "notes.onnx"
    source.write_text("hello")
    code, _, err = run(capsys, "import", str(source))
    assert code == 1 and "'notes.onnx' is not an ONNX model" in err
