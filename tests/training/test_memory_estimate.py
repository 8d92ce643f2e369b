"""A model too large for the machine is refused before any weight is allocated, with the numbers; an
allocation that fails anyway (building or training) is a failed run with a message, never a traceback."""
from __future__ import annotations

import json

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge import cli
from layerforge.data import load_dataset
from layerforge.engine.ops import dense
from layerforge.graph import TEMPLATES, infer_shapes
from layerforge.training import (RunFailed, Trainer, TrainingError, TrainingSettings, example_project_path,
                                 example_projects, load_project)
from layerforge.training import memory, trainer as trainer_module
from layerforge.training.examples import spec_for_dataset
from spec_cases import chain

GIB = 2 ** 30


class _ArrayMemoryError(MemoryError):
    """Stands in for numpy's private class of the same name (a real one would need a real failure)."""


def wide_mlp(width: int, classes: int = 3):
    return chain(("Input", {"shape": (2,)}), ("Linear", {"out_features": width}), ("Tanh", {}),
                 ("Linear", {"out_features": width}), ("Tanh", {}), ("Linear", {"out_features": classes}))


@pytest.fixture
def small_machine(monkeypatch):
    """A host with 18.2 GiB available, whatever this one has: the refusals do not depend on the runner."""
    monkeypatch.setattr(memory, "host_available", lambda: int(18.2 * GIB))


@pytest.fixture
def no_building(monkeypatch):
    """Fails the test if the Trainer gets as far as allocating weights."""
    def compile_spec(spec):
        raise AssertionError("the model was built although it cannot fit")
    monkeypatch.setattr(trainer_module, "compile_spec", compile_spec)


def test_a_model_too_big_for_the_machine_is_refused_with_the_numbers_before_any_allocation(
        spiral, small_machine, no_building):
    settings = TrainingSettings(device="cpu", epochs=1)
    with pytest.raises(TrainingError) as caught:
        Trainer(wide_mlp(100_000), spiral, settings)
    message = str(caught.value)
    assert "\n" not in message
    # 10.0 G parameters in the middle layer: float32 weights 37.3 GiB, gradients as much, Adam's two
    # moments twice that (plus one layer's worth for the update), and the Trainer's three copies.
    assert message.startswith("the model needs about 298 GiB (parameters 37.3 GiB, gradients 37.3 GiB, "
                              "Adam state 112 GiB, copies for prediction and rollback 112 GiB, activations")
    assert "but this machine has 18.2 GiB available; make the layers smaller" in message
    assert "fc2: Linear 100000 -> 100000 holds 10.0 G parameters" in message
    assert "fc3" not in message   # a 300 k head beside a 10 G layer is not worth naming


def one_wide_layer(width: int):
    return chain(("Input", {"shape": (2,)}), ("Linear", {"out_features": width}), ("Linear", {"out_features": 3}))


@pytest.mark.parametrize("spec, expected", [
    (one_wide_layer(10 ** 12), "the model needs about 1.9 PiB (parameters 21.8 TiB"),
    (wide_mlp(10 ** 12), "the model needs more than 8 EiB, more than any computer holds (an array holds at most "
                         "8 EiB); make the layers smaller (fc2: Linear 1000000000000 -> 1000000000000 holds "
                         "1.0e24 parameters)"),   # past int64: numpy could not even say how big
], ids=["10^12 features", "10^24 weights"])
def test_absurd_sizes_are_refused_with_a_message_never_an_overflow(spiral, small_machine, no_building, spec,
                                                                  expected):
    with pytest.raises(TrainingError) as caught:
        Trainer(spec, spiral, TrainingSettings(device="cpu", epochs=1))
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_optimizer_state_follows_the_optimizer(spiral):
    spec = wide_mlp(64)
    report = infer_shapes(spec)
    weights = report.total_params * 4
    largest = max(node.param_count for node in report.nodes.values()) * 4

    def optimizer_bytes(**settings):
        estimate = memory.estimate_training_memory(spec, report, TrainingSettings(device="cpu", **settings), 240)
        assert estimate.parameters == estimate.gradients == weights
        return estimate.optimizer_state, estimate.optimizer_label

    assert optimizer_bytes(optimizer="sgd") == (largest, "SGD update")
    assert optimizer_bytes(optimizer="sgd", optimizer_params={"momentum": 0.9}) == (weights + largest, "SGD momentum")
    assert optimizer_bytes(optimizer="adam") == (2 * weights + largest, "Adam state")
    assert optimizer_bytes(optimizer="adam", optimizer_params={"amsgrad": True}) == (3 * weights + largest,
                                                                                     "Adam state")
    assert optimizer_bytes(optimizer="rmsprop", optimizer_params={"momentum": 0.9, "centered": True})[0] == \
        3 * weights + largest


def test_activations_grow_with_the_batch_and_name_the_layer_that_keeps_them(digits):
    spec = chain(("Input", {"shape": (1, 8, 8)}), ("Conv2d", {"out_channels": 4096, "padding": (1, 1)}),
                 ("Flatten", {}), ("Linear", {"out_features": 10}))
    report = infer_shapes(spec)
    small = memory.estimate_training_memory(spec, report, TrainingSettings(device="cpu", batch_size=600), 1400)
    large = memory.estimate_training_memory(spec, report, TrainingSettings(device="cpu", batch_size=1200), 1400)
    assert large.activations == 2 * small.activations
    with pytest.raises(TrainingError) as caught:
        memory.check_training_memory(large, 4 * GIB, "this machine")
    assert "use a smaller batch size or smaller layers (conv1: Conv2d (1, 8, 8) -> (4096, 8, 8) keeps" in \
        str(caught.value)


def test_every_shipped_example_and_template_fits_a_small_machine_with_room():
    # 2 GiB: a small laptop with a browser open. None of what we ship may be refused there.
    for name in example_projects():
        project, _ = load_project(example_project_path(name))
        if project.data_source.get("kind") == "download":   # not at hand: sized by the dataset's known count
            from layerforge.data.remote_datasets import remote_dataset
            samples = remote_dataset(project.data_source["name"]).n_train
        else:
            samples = len(project.load_dataset(example_project_path(name).parent))
        estimate = memory.estimate_training_memory(project.spec, infer_shapes(project.spec), project.settings,
                                                   samples, "cpu")
        memory.check_training_memory(estimate, 2 * GIB, "this machine")
        assert estimate.total < GIB // 4, (name, estimate.describe())
    for template in TEMPLATES:
        dataset = load_dataset(template.dataset)
        spec = spec_for_dataset(template, dataset)
        settings = TrainingSettings.from_template(template, device="cpu")
        estimate = memory.estimate_training_memory(spec, infer_shapes(spec), settings, len(dataset), "cpu")
        memory.check_training_memory(estimate, 2 * GIB, "this machine")


def test_a_machine_that_cannot_say_what_it_has_free_is_not_refused(monkeypatch):
    for reader in ("_meminfo_available", "_cgroup_available"):
        monkeypatch.setattr(memory, reader, lambda: None)

    def no_sysconf(name):
        raise ValueError(f"unrecognized configuration name {name}")   # as on macOS for SC_AVPHYS_PAGES
    monkeypatch.setattr(memory.os, "sysconf", no_sysconf)
    assert memory.host_available() is None
    spec = wide_mlp(20_000)
    estimate = memory.estimate_training_memory(spec, infer_shapes(spec), TrainingSettings(device="cpu"), 240)
    memory.check_training_memory(estimate, None, "this machine")   # 8 GiB: unknown room, so no refusal


def test_the_host_figure_is_the_smaller_of_linux_and_the_container_limit(monkeypatch):
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 20 * GIB)
    monkeypatch.setattr(memory, "_cgroup_available", lambda: 6 * GIB)
    assert memory.host_available() == 6 * GIB


def test_a_containers_page_cache_is_not_counted_as_used(tmp_path, monkeypatch):
    # memory.current counts cached file pages the kernel drops under pressure: a container that has
    # read a few GiB of files is not out of memory.
    (tmp_path / "memory.max").write_text(f"{8 * GIB}\n")
    (tmp_path / "memory.current").write_text(f"{7 * GIB}\n")
    (tmp_path / "memory.stat").write_text(f"anon {GIB}\nactive_file {2 * GIB}\ninactive_file {4 * GIB}\n")
    real_path = memory.Path
    monkeypatch.setattr(memory, "Path", lambda p: tmp_path if p == "/sys/fs/cgroup" else real_path(p))
    assert memory._cgroup_available() == 7 * GIB
    (tmp_path / "memory.max").write_text("max\n")
    assert memory._cgroup_available() is None


def test_an_allocation_that_fails_while_building_is_a_one_line_training_error(spiral, monkeypatch):
    def compile_spec(spec):
        raise _ArrayMemoryError("Unable to allocate 37.3 GiB for an array with shape (100000, 100000) "
                                "and data type float32")
    monkeypatch.setattr(trainer_module, "compile_spec", compile_spec)
    with pytest.raises(TrainingError) as caught:
        Trainer(wide_mlp(16), spiral, TrainingSettings(device="cpu", epochs=1))
    message = str(caught.value)
    assert message.startswith("out of memory while building the model: MemoryError: Unable to allocate 37.3 GiB "
                              "for an array with shape (100000, 100000)")
    assert "the run was estimated to need about" in message and "smaller batch size or smaller layers" in message


def test_an_allocation_that_fails_mid_run_is_a_failed_run_naming_the_epoch_and_batch(spiral, monkeypatch):
    settings = TrainingSettings(device="cpu", epochs=3, batch_size=32, snapshot_every=0)
    events = []
    trainer = Trainer(wide_mlp(16), spiral, settings, events.append)
    calls = {"n": 0}
    real_backward = dense.Linear.backward

    def backward(self, g):
        calls["n"] += 1
        if calls["n"] == 2 * trainer.steps_per_epoch * 3 + 3 * 3 + 1:   # 3 Linear per batch: epoch 3, batch 4
            raise _ArrayMemoryError("Unable to allocate 2.00 GiB for an array with shape (32, 16777216) and "
                                    "data type float32")
        return real_backward(self, g)

    monkeypatch.setattr(dense.Linear, "backward", backward)
    result = trainer.run()
    assert result.status == "failed" and isinstance(result.error, MemoryError)
    failure = events[-1]
    assert isinstance(failure, RunFailed) and failure.kind == "out_of_memory"
    assert failure.reason == result.reason
    assert result.reason.startswith(f"out of memory during epoch 3, batch 4 of {trainer.steps_per_epoch} "
                                    "(batch size 32): MemoryError: Unable to allocate 2.00 GiB")
    assert "weights restored to the last good epoch (2)" in result.reason
    assert "use a smaller batch size or smaller layers" in result.reason
    assert len(result.history["epoch"]) == 2


def test_cli_train_prints_one_line_and_exits_1_for_a_model_too_big(tmp_path, capsys, small_machine, no_building):
    project = json.loads(example_project_path("spiral").read_text())
    for node in project["model"]["nodes"]:
        if node["name"] in ("fc1", "fc2"):
            node["params"]["out_features"] = 100_000
    path = tmp_path / "big.lfproj"
    path.write_text(json.dumps(project))
    code = cli.main(["train", str(path), "--epochs", "1", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(f"layerforge: error: {path}: the model needs about 298 GiB (parameters 37.3 GiB")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "but this machine has 18.2 GiB available; make the layers smaller (fc2: Linear 100000 -> 100000" in err
    assert not (tmp_path / "big.safetensors").exists() and "saved" not in out


def test_cli_train_reports_an_allocation_that_fails_mid_run_and_saves_nothing(tmp_path, capsys, monkeypatch):
    path = tmp_path / "spiral.lfproj"
    path.write_text(example_project_path("spiral").read_text())
    before = path.read_bytes()

    def forward(self, x, weight, bias=None):
        raise _ArrayMemoryError("Unable to allocate 1.00 GiB for an array with shape (32, 8388608) and data "
                                "type float32")
    monkeypatch.setattr(dense.Linear, "forward", forward)
    code = cli.main(["train", str(path), "--epochs", "1", "--quiet"])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1
    # (the command line makes no prediction snapshots, so the first forward pass is the evaluation's)
    assert err.startswith("layerforge: error: training failed: out of memory while evaluating the untrained "
                          "model: MemoryError: Unable to allocate 1.00 GiB")
    assert err.rstrip().endswith("; nothing saved")
    assert path.read_bytes() == before


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason=f"no CUDA GPU: {lf.cuda.unavailable_reason()}")
def test_a_model_too_big_for_the_gpu_is_refused_naming_the_gpu_and_its_free_memory(spiral, no_building):
    free, where = memory.gpu_available("cuda:0")
    width = int((free / 4 / 3) ** 0.5)   # weights alone a third of the free memory: training cannot fit
    with pytest.raises(TrainingError) as caught:
        Trainer(wide_mlp(width), spiral, TrainingSettings(device="cuda:0", epochs=1))
    message = str(caught.value)
    assert where == f"cuda:0 ({lf.cuda.get_device_name(0)})"
    assert f"but {where} has {memory.bytes_text(free)} available" in message
    assert message.rstrip(")").endswith("parameters") and "or train on the CPU" in message
    assert np.isfinite(free) and free > 0


def test_auto_gives_a_gpu_too_small_for_the_run_up_for_the_cpu_and_says_why(spiral, monkeypatch):
    monkeypatch.setattr(memory, "gpu_available", lambda device: (2 * GIB, f"{device} (Small GPU)"))
    monkeypatch.setattr(memory, "host_available", lambda: 64 * GIB)
    spec = wide_mlp(20_000)   # 400 M parameters: about 12 GiB to train with Adam
    report = infer_shapes(spec)
    settings = TrainingSettings(device="auto")
    device, reason, estimate = memory.choose_fitting_device(spec, report, settings, 240, "cuda", "auto: GPU")
    assert device == "cpu" and estimate.device == "cpu"
    assert reason == "auto: CPU, because the run needs about 12.0 GiB and cuda (Small GPU) has 2.0 GiB free"
    # Asked for by name, the GPU is not swapped for another device: the refusal names it.
    with pytest.raises(TrainingError, match=r"but cuda \(Small GPU\) has 2.0 GiB available"):
        memory.choose_fitting_device(spec, report, settings.replace(device="cuda"), 240, "cuda", "chosen")
    # Where neither can hold it, the GPU's refusal is the one shown.
    monkeypatch.setattr(memory, "host_available", lambda: 4 * GIB)
    with pytest.raises(TrainingError, match=r"but cuda \(Small GPU\) has 2.0 GiB available"):
        memory.choose_fitting_device(spec, report, settings, 240, "cuda", "auto: GPU")
