"""ONNX import treats every file as hostile: only regular files, within a size cap, parsed without
following external data, every tensor's size checked, versions it knows; each refusal says what is wrong."""
import os

import numpy as np
import pytest

from layerforge.export import onnx_import_file
from layerforge.export.onnx_import import import_onnx
from layerforge.export.onnx_import_graph import ModelImportError

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def small_model(opset=17, weights=None):
    weights = weights if weights is not None else numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], name="/fc/Gemm", transB=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def write(path, model):
    path.write_bytes(model.SerializeToString())
    return path


def refused(path, *words):
    with pytest.raises(ModelImportError) as caught:
        import_onnx(path)
    for word in words:
        assert word in str(caught.value), str(caught.value)
    return str(caught.value)


def test_a_good_file_imports(tmp_path):
    imported = import_onnx(write(tmp_path / "fc.onnx", small_model()))
    assert imported.name == "fc" and [n.type for n in imported.spec.nodes.values()] == ["Input", "Linear"]


def test_folders_missing_files_and_fifos_are_refused(tmp_path):
    refused(tmp_path, "is a folder")
    refused(tmp_path / "nothing.onnx", "does not exist")
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.onnx"
        os.mkfifo(fifo)
        refused(fifo, "not a regular file")   # and it did not block reading from the pipe


def test_files_past_the_size_cap_are_refused_before_they_are_read(tmp_path, monkeypatch):
    path = write(tmp_path / "big.onnx", small_model())
    monkeypatch.setattr(onnx_import_file, "MAX_BYTES", 64)
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    refused(path, "of at most 0 MiB")
    assert opened == []


def test_text_empty_and_truncated_files_say_they_are_not_onnx(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("these are not the weights you are looking for\n" * 20)
    refused(text, "'notes.onnx' is not an ONNX model", "damaged or truncated")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    refused(empty, "is empty")
    data = small_model().SerializeToString()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) * 2 // 3])
    refused(cut, "not an ONNX model, or the file is damaged or truncated")


def test_an_opset_or_ir_version_too_new_is_refused_with_what_to_do(tmp_path):
    latest = onnx.defs.onnx_opset_version()
    model = small_model()
    model.opset_import[0].version = latest + 5
    refused(write(tmp_path / "new.onnx", model), f"opset {latest + 5}", f"opset {latest} or lower")
    model = small_model()
    model.ir_version = onnx.IR_VERSION + 3
    refused(write(tmp_path / "ir.onnx", model), f"IR version {onnx.IR_VERSION + 3}")


@pytest.mark.parametrize("location", ["weights.bin", "../outside/secret.bin", "/etc/passwd"])
def test_weights_in_external_files_are_never_read(tmp_path, location):
    """Inside the folder or outside it: the import reads the .onnx file alone."""
    (tmp_path / "weights.bin").write_bytes(np.ones(6, np.float32).tobytes())
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3],
                         data_location=TensorProto.EXTERNAL)
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    message = refused(write(tmp_path / "ext.onnx", small_model(weights=tensor)), "keeps its values in another file",
                      repr(location))
    assert "inside the .onnx file" in message


def test_a_tensor_whose_bytes_do_not_match_its_shape_is_refused(tmp_path):
    tensor = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    tensor.dims[:] = [2000, 3000]   # claims 6 million values, holds 6
    refused(write(tmp_path / "lie.onnx", small_model(weights=tensor)), "'w' is damaged", "needs 24000000 bytes")


def test_inputs_layerforge_cannot_read_are_refused_by_name(tmp_path):
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"])], "g",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    refused(write(tmp_path / "two.onnx", model), "has 2 inputs ('a', 'b')")
    model = small_model()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "features"
    refused(write(tmp_path / "dyn.onnx", model), "size 'features' in dimension 1", "only the batch")
    model = small_model()
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    refused(write(tmp_path / "f64.onnx", model), "holds DOUBLE values")


def test_damaged_files_are_imported_or_refused_never_crash():
    """Bytes flipped at random in exported models: each file either imports or is refused with a
    ModelImportError; no other exception escapes (a KeyError, a shape error, a protobuf surprise)."""
    import random

    from export_cases import random_state_dict
    from layerforge.export import build_onnx_model
    from layerforge.export.onnx_import import import_onnx_model
    from layerforge.graph import get_template

    rng = random.Random(7)
    originals = [build_onnx_model(spec, random_state_dict(spec)).SerializeToString()
                 for spec in (get_template("residual_cnn").spec(), get_template("lstm_classifier").spec())]
    outcomes = {"imported": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        model = onnx.ModelProto()
        try:
            model.ParseFromString(bytes(data))
        except Exception:   # not even protobuf: read_onnx_file refuses these (see above)
            continue
        try:
            import_onnx_model(model)
            outcomes["imported"] += 1
        except ModelImportError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 10 and outcomes["imported"] > 10
