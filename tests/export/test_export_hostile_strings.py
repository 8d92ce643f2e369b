"""A project file is data someone may have sent: nothing in it may run when its export is imported.

Each hostile string goes into every user-controlled field a project file holds (its name, description,
class names, the data source's path); the project is saved, loaded and exported to every format, and
the generated Python must compile, import without side effects (a canary file stays absent) and hold
the string as data.
"""
import json
import runpy
import sys

import numpy as np
import pytest

from export_cases import random_state_dict
from layerforge.export import ExportError, describe_export, export_pytorch, read_weights
from layerforge.workspace.project_export import export_project
from layerforge.export.train_script import TrainingHint, train_source
from layerforge.graph import GraphError, ModelSpec, get_template
from layerforge.training.project import Project, load_project, save_project


def payload(canary):
    """Python that, if it ever runs, leaves the canary file behind."""
    return f'__import__("pathlib").Path({str(canary)!r}).touch()'


def hostile_strings(canary):
    run = payload(canary)
    return {
        "triple_double_quotes": f'x"""\n{run}\n"""',
        "triple_single_quotes": f"x'''\n{run}\n'''",
        "quote_mix": f"""it's "quoted" ''' \"\"\" \\'\n{run}""",
        "backslash_newline": f"x\\\n{run}",
        "trailing_backslash": "x\\",
        "carriage_return": f"x\r{run}\r",
        "crlf": f"x\r\n{run}\r\n",
        "nul": f"x\x00{run}",
        "line_separators": f"x\u2028{run}\u2029{run}\x85{run}\x0b\x0c",
        "hash": f"# {run}",
        "format_braces": "{title} {{x}} {0} %s %(name)s",
        "very_long": "A" * 100_000 + f'"""\n{run}\n',
        "lone_surrogates": b"caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape") + f"\n{run}",
        "unicode": "Ünïcödé 模型 🧠",
    }


def write_hostile_project(tmp_path, text):
    """A trained spiral project whose name, description, class names and data path are ``text``.

    The file is written as JSON by hand (ASCII escapes, as any JSON writer may produce), the way a
    project would arrive from someone else.
    """
    spec = get_template("mlp_classifier").spec()
    project = Project("spiral", spec, {"kind": "builtin", "name": "spiral", "options": {"n_samples": 40}})
    path = save_project(project, tmp_path / "p.lfproj", random_state_dict(spec))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["name"] = text
    data["description"] = text
    data["data_info"] = {"target": "labels", "class_names": [text, "b", "c"], "columns": [text]}
    data["data"] = {"kind": "csv", "path": text + ".csv", "target_column": text}
    path.write_text(json.dumps(data), encoding="ascii")
    return path


def execute_export(folder):
    """Run model.py and train.py's top level as an import would; returns model.py's namespace."""
    sys.path.insert(0, str(folder))
    saved = sys.modules.pop("model", None)
    try:
        namespace = runpy.run_path(str(folder / "model.py"), run_name="exported_model")
        runpy.run_path(str(folder / "train.py"), run_name="exported_train")  # imports model; main() not run
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
        if saved is not None:
            sys.modules["model"] = saved
    return namespace


KINDS = sorted(hostile_strings("canary"))


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_project_exports_to_python_that_runs_nothing(tmp_path, kind):
    torch = pytest.importorskip("torch", reason="importing the exported model.py needs PyTorch")
    canary = tmp_path / "CANARY"
    text = hostile_strings(canary)[kind]
    try:
        project, weights = load_project(write_hostile_project(tmp_path, text))
    except Exception as error:  # refusing the file at load time is as safe as exporting it safely
        pytest.fail(f"the project was refused instead of exported: {error}")
    assert project.name == text
    folder = tmp_path / "export"
    paths = export_project(project, weights, "pytorch", folder, project_dir=tmp_path)
    for path in paths:
        if path.suffix == ".py":
            compile(path.read_bytes(), str(path), "exec")
    namespace = execute_export(folder)
    assert not canary.exists(), "importing the exported code ran a command from the project file"
    assert namespace["PROJECT_NAME"] == text
    model = namespace["load_model"]()  # the weights' keys still match the module's attributes
    assert isinstance(model, torch.nn.Module)
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == f"PyTorch export of the Layerforge model {text!r}"
    assert read_weights(folder / "weights.safetensors")[1]["project"] == text
    message = describe_export("pytorch", paths)
    assert "torchrun" in message and not canary.exists()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_weights_files_keep_a_hostile_project_name_as_data(tmp_path, kind, fmt):
    text = hostile_strings(tmp_path / "CANARY")[kind]
    project, weights = load_project(write_hostile_project(tmp_path, text))
    (path,) = export_project(project, weights, fmt, tmp_path / "out")
    arrays, metadata = read_weights(path)
    assert metadata["project"] == text
    np.testing.assert_array_equal(arrays["fc1.weight"], weights["fc1.weight"])


@pytest.mark.parametrize("kind", KINDS)
def test_onnx_keeps_a_hostile_project_name_verbatim_and_passes_the_checker(tmp_path, kind):
    onnx = pytest.importorskip("onnx")
    text = hostile_strings(tmp_path / "CANARY")[kind]
    project, weights = load_project(write_hostile_project(tmp_path, text))
    (path,) = export_project(project, weights, "onnx", tmp_path / "out.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    assert json.loads(metadata["layerforge.project"]) == text
    assert model.graph.doc_string == f"Exported by Layerforge from the project {text!r}"
    assert "\n" not in model.graph.doc_string


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_layer_name_is_refused_when_the_project_loads(tmp_path, kind):
    text = hostile_strings(tmp_path / "CANARY")[kind]
    data = get_template("mlp_classifier").spec().to_dict()
    data["nodes"][1]["name"] = "fc1" + text
    with pytest.raises(GraphError, match="must start with a letter"):
        ModelSpec.from_dict(data)


def test_a_layer_name_with_only_a_trailing_newline_is_refused():
    """`$` in a regular expression matches before a final newline: 'fc1\\n' used to pass as a name."""
    data = get_template("mlp_classifier").spec().to_dict()
    data["nodes"][1]["name"] = "fc1\n"
    with pytest.raises(GraphError, match="must start with a letter"):
        ModelSpec.from_dict(data)
    spec = get_template("mlp_classifier").spec()
    with pytest.raises(GraphError, match="must start with a letter"):
        spec.rename(next(iter(spec.nodes)), "input1\n")


def test_the_pytorch_exporter_refuses_a_layer_name_that_is_not_an_identifier(tmp_path):
    """A spec changed in memory after validation must still not put code into model.py."""
    spec = get_template("mlp_classifier").spec()
    state = random_state_dict(spec)
    node = next(node for node in spec.nodes.values() if node.name == "fc1")
    node.name = "fc1\nimport os"
    with pytest.raises(ExportError, match=r"Linear layer 'fc1\\nimport os': its name is not a Python identifier"):
        export_pytorch(spec, state, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_training_hint_values_enter_train_py_as_literals(tmp_path, kind):
    canary = tmp_path / "CANARY"
    text = hostile_strings(canary)[kind]
    source = train_source(TrainingHint(loss="MSELoss", loss_kwargs={"reduction": text},
                                       optimizer_kwargs={"momentum": 0.5, "betas": (0.9, 0.99)}, target="values"))
    code = compile(source, "train.py", "exec")
    namespace = {"__name__": "not_main"}
    fake_model = type(sys)("model")
    fake_model.__dict__.update(INPUT_DTYPE=None, OUTPUT_SHAPE=(), WEIGHTS="w", Model=None, load_model=None,
                               load_normalization=None)
    sys.modules["model"], saved = fake_model, sys.modules.get("model")
    try:
        exec(code, namespace)  # the top level only: imports and definitions
    except ImportError as error:
        pytest.skip(f"train.py imports PyTorch: {error}")
    finally:
        sys.modules.pop("model", None)
        if saved is not None:
            sys.modules["model"] = saved
    assert not canary.exists()
    assert namespace["TARGET"] == "values"
    assert f"nn.MSELoss(reduction={text!r})" in source


@pytest.mark.parametrize("hint,message", [
    (TrainingHint(loss="MSELoss()\nimport os\nx = nn.L1Loss"), r"loss 'MSELoss\(\)\\nimport os.*' is not"),
    (TrainingHint(optimizer="SGD; import os"), r"optimizer 'SGD; import os' is not"),
    (TrainingHint(loss_kwargs={"reduction='sum')\nimport os\n#": 1}), r"loss argument name"),
    (TrainingHint(optimizer_kwargs={"momentum": object()}), r"optimizer argument 'momentum'"),
    (TrainingHint(lr=float("nan")), r"learning rate nan is not a finite number"),
])
def test_training_hints_that_are_not_python_names_or_literals_are_refused(tmp_path, hint, message):
    spec = get_template("mlp_classifier").spec()
    with pytest.raises(ExportError, match=message):
        export_pytorch(spec, random_state_dict(spec), tmp_path / "out", dataset_hint=hint)
    assert not (tmp_path / "out").exists()


def test_the_cd_hint_quotes_a_folder_name_a_shell_would_split(tmp_path):
    folder = tmp_path / "my model; rm -rf ~"
    message = describe_export("pytorch", [folder / "model.py", folder / "train.py"])
    assert f"cd '{folder}'" in message


def test_renamed_variables_never_collide_with_another_layer_name():
    from layerforge.export.pytorch_model_code import variable_names

    spec = get_template("mlp_classifier").spec()
    first, second = [node for node in spec.nodes.values() if node.type == "Linear"][:2]
    first.name, second.name = "x", "x_out"
    names = variable_names(spec)
    assert names[first.id] != names[second.id] and names[second.id] == "x_out"


def test_the_refusal_of_a_hostile_layer_name_is_one_line():
    data = get_template("mlp_classifier").spec().to_dict()
    data["nodes"][1]["name"] = "fc1\nimport os"
    with pytest.raises(GraphError) as caught:
        ModelSpec.from_dict(data)
    assert str(caught.value).startswith(r"Linear 'fc1\nimport os': the name 'fc1\nimport os' must start")
    assert "\n" not in str(caught.value)
