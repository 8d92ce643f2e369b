"""File > Import weights..., Qt-free: a state dict from PyTorch (or safetensors/npz) into the model on
the canvas, matched by name and shape, becoming a run that Predict, Export and Continue use."""
import numpy as np
import pytest

from layerforge import engine
from layerforge.graph import compile_spec
from layerforge.workspace import FINISHED, SynchronousRunner, Workspace, WorkspaceError
from layerforge.workspace.events import Recorder, RunReplaced, RunsChanged, RunStateChanged
from layerforge.workspace.weights_import import ImportedRun

INPUTS = np.random.default_rng(3).standard_normal((7, 2)).astype(np.float32)


def _torch():
    return pytest.importorskip("torch", reason="PyTorch writes the checkpoints imported here")


@pytest.fixture
def spiral():
    """The spiral example (an MLP: fc1, fc2, fc3) untrained, without standardisation so that raw
    inputs reach the model as they reach a PyTorch one."""
    ws = Workspace(SynchronousRunner())
    ws.open_example("spiral")
    ws.set_settings(epochs=2, device="cpu", standardize=False)
    return ws


def _exported_torch_model(torch, ws):
    """The model as the PyTorch export writes it (model.py), with PyTorch's own initialisation."""
    from layerforge.export.pytorch_model_code import model_source

    namespace = {"__file__": "model.py", "__name__": "exported_model"}
    exec(compile(model_source(ws.spec, ws.report, "spiral"), "model.py", "exec"), namespace)   # noqa: S102
    torch.manual_seed(11)
    return namespace["Model"]().eval()


def test_a_pytorch_state_dict_of_the_exported_model_imports_and_predicts_as_torch(spiral, tmp_path):
    torch = _torch()
    model = _exported_torch_model(torch, spiral)
    path = tmp_path / "trained_elsewhere.pth"
    torch.save(model.state_dict(), path)
    recorder = Recorder(spiral.events)
    runs_before = len(spiral.runs)

    result = spiral.import_weights(path)

    assert result.applied and result.complete and not result.problems()
    assert [m for m, _, _ in result.matched] == list(model.state_dict())
    with torch.no_grad():
        expected = model(torch.from_numpy(INPUTS)).numpy()
    np.testing.assert_allclose(spiral.predict(INPUTS).outputs, expected, rtol=1e-5, atol=1e-6)
    run = spiral.run
    assert isinstance(run, ImportedRun) and run.name == "Imported trained_elsewhere.pth"
    assert len(spiral.runs) == runs_before + 1 and spiral.runs[-1] is run
    assert spiral.run_state == FINISHED and run.usable and "Weights imported from trained_elsewhere.pth" in run.summary()
    assert run.final["train"]["accuracy"] >= 0 and run.kept_snapshot is not None   # the views get predictions
    assert recorder.of(RunReplaced) and recorder.of(RunsChanged) and recorder.of(RunStateChanged)
    assert spiral.dirty


def test_checkpoint_dicts_prefixes_and_positions_are_matched(spiral, tmp_path):
    torch = _torch()
    model = _exported_torch_model(torch, spiral)
    wrapped = tmp_path / "lightning.ckpt"   # a Lightning-style checkpoint: "state_dict" of "model.<name>"
    torch.save({"epoch": 4, "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
                "optimizer_states": [{}]}, wrapped)
    result = spiral.match_weights(wrapped)
    assert result.complete and result.found_in == "state_dict" and result.prefix == "model."
    sequential = torch.nn.Sequential(torch.nn.Linear(2, model.fc1.out_features), torch.nn.Tanh(),
                                     torch.nn.Linear(model.fc2.in_features, model.fc2.out_features), torch.nn.Tanh(),
                                     torch.nn.Linear(model.fc3.in_features, model.fc3.out_features))
    path = tmp_path / "sequential.pt"
    torch.save(sequential.state_dict(), path)
    result = spiral.import_weights(path)
    assert result.by_position and result.complete and "by position and shape" in result.headline()
    with torch.no_grad():
        expected = sequential(torch.from_numpy(INPUTS)).numpy()
    np.testing.assert_allclose(spiral.predict(INPUTS).outputs, expected, rtol=1e-5, atol=1e-6)


def test_a_partial_match_lists_what_did_not_match_and_keeps_the_rest(spiral, tmp_path):
    torch = _torch()
    spiral.start_run()   # trained weights: what the file does not give keeps these
    trained = {k: v.detach().cpu().numpy().copy() for k, v in spiral.run.weights.items()}
    fc1 = torch.randn(*trained["fc1.weight"].shape)
    path = tmp_path / "partial.pt"
    torch.save({"fc1.weight": fc1, "fc2.weight": torch.zeros(3, 3), "head.weight": torch.ones(4)}, path)

    result = spiral.match_weights(path)
    assert [m for m, _, _ in result.matched] == ["fc1.weight"]
    assert result.wrong_shape == [("fc2.weight", "fc2.weight", trained["fc2.weight"].shape, (3, 3))]
    assert ("head.weight", (4,)) in result.unexpected and ("fc3.bias", trained["fc3.bias"].shape) in result.missing
    lines = result.problems()
    assert any("wrong shape: fc2.weight is " in line and "[3, 3] in the file" in line for line in lines)
    assert "not in the model: head.weight [4]" in lines and any(line.startswith("missing from the file: fc1.bias")
                                                                for line in lines)
    assert spiral.run.name == "Run 1"   # a dry run changes nothing

    spiral.import_weights(path)
    weights = spiral.run.weights
    np.testing.assert_array_equal(weights["fc1.weight"].numpy(), fc1.numpy())
    for key in ("fc1.bias", "fc2.weight", "fc3.bias"):
        np.testing.assert_array_equal(weights[key].numpy(), trained[key])
    assert "keep the weights of Run 1" in spiral.run.note and "wrong shape: fc2.weight" in spiral.run.note


def test_safetensors_and_npz_weights_import_too(spiral, tmp_path):
    spiral.start_run()
    expected = spiral.predict(INPUTS).outputs
    exported = spiral.export("safetensors", tmp_path / "weights.safetensors")
    npz = spiral.export("npz", tmp_path / "weights.npz")
    for path in (exported[0], npz[0]):
        other = Workspace(SynchronousRunner())
        other.open_example("spiral")
        other.set_settings(standardize=False)
        assert other.import_weights(path).complete
        np.testing.assert_allclose(other.predict(INPUTS).outputs, expected, rtol=1e-6)


def test_continue_trains_on_from_the_imported_weights_and_save_keeps_them(spiral, tmp_path):
    torch = _torch()
    path = tmp_path / "w.pt"
    torch.save(_exported_torch_model(torch, spiral).state_dict(), path)
    imported = spiral.import_weights(path) and spiral.run
    assert imported.can_continue
    project = tmp_path / "p.lfproj"
    spiral.save_as(project)
    reopened = Workspace(SynchronousRunner())
    reopened.open(project)
    np.testing.assert_allclose(reopened.predict(INPUTS).outputs, spiral.predict(INPUTS).outputs, rtol=1e-6)
    run = spiral.start_run(continue_from="last")
    assert run.continued_from == imported.number and run.status == "finished" and run.last_epoch == 2
    assert not np.array_equal(run.weights["fc1.weight"].numpy(), imported.weights["fc1.weight"].numpy())


def test_nothing_matching_is_listed_but_not_applied(spiral, tmp_path):
    path = tmp_path / "other.npz"
    engine.save({"encoder.weight": engine.ones(5, 5)}, path)
    result = spiral.match_weights(path)
    assert not result.any_matched and result.unexpected == [("encoder.weight", (5, 5))]
    runs = list(spiral.runs)
    with pytest.raises(WorkspaceError, match=r"nothing in 'other.npz' matches the model's weights"):
        spiral.import_weights(path)
    assert spiral.runs == runs


@pytest.mark.parametrize("content, reason", [
    (b"hello, not weights", "is not a"),
    (b"", "only 0 bytes long"),
])
def test_files_that_are_not_weights_are_refused_with_the_reason(spiral, tmp_path, content, reason):
    path = tmp_path / "notes.pt"
    path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=rf"cannot import weights: .*{reason}"):
        spiral.match_weights(path)
    with pytest.raises(WorkspaceError, match="No such file"):
        spiral.import_weights(tmp_path / "missing.pt")


def test_hostile_and_wrong_kinds_of_checkpoint_are_refused(spiral, tmp_path):
    torch = _torch()
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    path = tmp_path / "optimizer.pt"
    torch.save(optimizer.state_dict(), path)
    with pytest.raises(WorkspaceError, match="an optimizer's state dict"):
        spiral.import_weights(path)
    whole = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), whole)
    with pytest.raises(WorkspaceError, match=r"refused global torch\.nn\.modules\.linear\.Linear"):
        spiral.import_weights(whole)
    torch.save({"epoch": 3, "name": "x"}, path)
    with pytest.raises(WorkspaceError, match="holds no tensors"):
        spiral.import_weights(path)


class _HeldRunner:
    """Starts the job and never runs it: the run stays in training."""

    def start(self, job, on_events, on_done):
        self.job = job

    def join(self, timeout=None):
        return False


def test_importing_while_a_run_trains_is_refused(spiral, tmp_path):
    path = tmp_path / "w.npz"
    engine.save(compile_spec(spiral.spec).state_dict(), path)
    spiral.start_run(runner=_HeldRunner())
    assert spiral.busy
    for operation in (spiral.match_weights, spiral.import_weights):
        with pytest.raises(WorkspaceError, match="the model is training"):
            operation(path)


def test_a_reopened_project_still_says_its_weights_were_imported(spiral, tmp_path):
    """Saved and opened again, the imported run is a plain run of 0 epochs: its banner says where
    the weights came from, not that they are the initial ones."""
    trained = Workspace(SynchronousRunner())
    trained.open_example("spiral")
    trained.set_settings(epochs=1, standardize=False)
    trained.start_run()
    npz = trained.export("npz", tmp_path / "weights.npz")[0]
    spiral.import_weights(npz)
    project = tmp_path / "p.lfproj"
    spiral.save_as(project)
    reopened = Workspace(SynchronousRunner())
    reopened.open(project)
    banner = reopened.run.summary()
    assert "imported from weights.npz" in banner and "initial" not in banner and "(epoch 0)" not in banner
    np.testing.assert_allclose(reopened.predict(INPUTS).outputs, trained.predict(INPUTS).outputs, rtol=1e-6)
