"""The exported train.py trains as the app does: the same per-epoch losses and metrics for the same
seed (the batch order is numpy's, seeded the same, so mini-batches match too), every schedule stepped
when the app steps it, early stopping at the app's epoch with the best epoch's weights kept, and a
run resumed from its own checkpoint ending with the weights of one never interrupted."""
import json
import subprocess
import sys

import numpy as np
import pytest

from layerforge.data import load_dataset
from layerforge.graph import ModelSpec, get_template
from train_script_cases import app_run_and_export, load_train_module, max_difference, read_state, run_train_py

torch = pytest.importorskip("torch", reason="train.py runs on PyTorch, the test oracle; not installed")
pytest.importorskip("safetensors", reason="train.py saves its weights with safetensors")

# float32 on two engines: the same operations summed in another order differ by a few ulps per step.
LOSS_TOLERANCE = 2e-5
WEIGHT_TOLERANCE = 2e-5


def assert_same_curves(result, history, metrics):
    for key in ["train_loss", "val_loss", "lr"] + metrics:
        assert max_difference(result.history, history, key) <= LOSS_TOLERANCE, key
    assert history["epoch"] == result.history["epoch"]


def assert_same_weights(app_state, path):
    ours = read_state(path)
    assert sorted(ours) == sorted(app_state)
    for key, value in app_state.items():
        np.testing.assert_allclose(ours[key], np.asarray(value), rtol=0, atol=WEIGHT_TOLERANCE, err_msg=key)


def test_python_train_py_reproduces_the_apps_loss_curve(tmp_path):
    """As a person runs it: `python train.py --data data.npz`, one process, mini-batches of 16, a one-cycle
    schedule stepped per batch and gradient clipping."""
    folder = tmp_path / "export"
    result, trainer = app_run_and_export(folder, get_template("mlp_classifier").spec(),
                                         load_dataset("spiral", n_samples=120), learning_rate=0.02, epochs=8,
                                         batch_size=16, seed=3, schedule={"type": "onecycle"}, grad_clip_norm=1.0)
    run = subprocess.run([sys.executable, "train.py", "--data", "data.npz"], cwd=folder, capture_output=True,
                         text=True, timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "", "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "training on 1 process(es), 96 samples (24 validation), device cpu" in run.stdout
    assert "epoch 8/8  loss " in run.stdout and " val_accuracy " in run.stdout
    history = json.loads((folder / "history.json").read_text())
    assert_same_curves(result, history, ["train_accuracy", "val_accuracy"])
    assert_same_weights(trainer.best_state, folder / "trained.safetensors")   # the app keeps the best epoch too
    assert f"weights of epoch {result.best_epoch} (the best)" in run.stdout
    assert history["final"]["val"]["loss"] == pytest.approx(result.final["val"]["loss"], abs=LOSS_TOLERANCE)


def dropout_classifier():
    spec = ModelSpec()
    nodes = [spec.add_node("Input", {"shape": (2,)}), spec.add_node("Linear", {"out_features": 16}),
             spec.add_node("ReLU"), spec.add_node("Dropout", {"p": 0.2}),
             spec.add_node("Linear", {"out_features": 3})]
    for a, b in zip(nodes, nodes[1:]):
        spec.connect(a.id, b.id)
    return spec


def digits(n=96):
    data = load_dataset("digits")
    return data.subset(np.arange(n))


CASES = {
    # one-hot targets for BCEWithLogitsLoss, a cosine schedule over the whole run, AdamW
    "bce_cosine": (lambda: get_template("mlp_classifier").spec(num_classes=2),
                   lambda: load_dataset("moons", n_samples=80),
                   dict(loss="bce_with_logits", optimizer="adamw", schedule={"type": "cosine"}, epochs=5,
                        batch_size=16, learning_rate=0.03), ["train_accuracy", "val_accuracy"]),
    # standardised regression targets, metrics in the data's units, a plateau schedule on the validation loss
    "huber_plateau": (lambda: get_template("mlp_regressor").spec(), lambda: load_dataset("sine", n_samples=80),
                      dict(loss="huber", loss_params={"delta": 0.5}, optimizer="rmsprop",
                           schedule={"type": "plateau", "patience": 0, "factor": 0.5}, epochs=6, batch_size=8,
                           learning_rate=0.01, test_fraction=0.1), ["train_mae", "val_mae", "train_r2", "val_r2"]),
    # an autoencoder rebuilds its raw input from standardised inputs; step decay
    "autoencoder_step": (lambda: get_template("autoencoder").spec(), digits,
                         dict(loss="mse", target="input", schedule={"type": "step", "step_size": 2, "gamma": 0.5},
                              epochs=4, batch_size=32, learning_rate=0.003), ["train_mae", "val_mae"]),
    # batch normalisation (running statistics in evaluation), SGD with Nesterov momentum, multi-step decay
    "batchnorm_multistep": (lambda: get_template("residual_cnn").spec(channels=4), digits,
                            dict(optimizer="sgd", optimizer_params={"momentum": 0.9, "nesterov": True},
                                 schedule={"type": "multistep", "milestones": [1, 2]}, epochs=3, batch_size=24,
                                 learning_rate=0.05), ["train_accuracy", "val_accuracy"]),
    # Adagrad with an exponential decay and a lone last sample joined to the batch before it (97 = 6 x 16 + 1)
    "adagrad_exponential": (lambda: get_template("mlp_classifier").spec(),
                            lambda: load_dataset("spiral", n_samples=121),
                            dict(optimizer="adagrad", schedule={"type": "exponential", "gamma": 0.8}, epochs=4,
                                 batch_size=16, learning_rate=0.05), ["train_accuracy", "val_accuracy"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_loss_schedule_and_task_trains_as_in_the_app(case, tmp_path, monkeypatch):
    make_spec, make_data, settings, metrics = CASES[case]
    folder = tmp_path / "export"
    result, trainer = app_run_and_export(folder, make_spec(), make_data(), seed=1, **settings)
    assert result.status == "completed"
    history = run_train_py(folder, monkeypatch)
    assert_same_curves(result, history, metrics)
    assert_same_weights(trainer.best_state, folder / "trained.safetensors")
    if "test" in result.final:
        assert history["final"]["test"]["loss"] == pytest.approx(result.final["test"]["loss"], abs=LOSS_TOLERANCE)


def test_early_stopping_stops_at_the_apps_epoch_and_keeps_the_best_weights(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    result, trainer = app_run_and_export(folder, get_template("mlp_classifier").spec(num_classes=2),
                                         load_dataset("moons", n_samples=40), learning_rate=0.03, epochs=60,
                                         batch_size=8, seed=2, early_stopping_patience=2)
    assert result.status == "early_stopping" and result.epochs_run < 60   # the case must stop early in the app
    history = run_train_py(folder, monkeypatch)
    assert history["epoch"] == result.history["epoch"]   # stopped after the same epoch
    assert_same_curves(result, history, ["val_accuracy"])
    assert_same_weights(trainer.best_state, folder / "trained.safetensors")
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert checkpoint["best_epoch"] == result.best_epoch < result.epochs_run
    assert checkpoint["stopped_early"] is True


class Interrupted(Exception):
    """Stands for the process being killed right after an epoch's checkpoint was written."""


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, monkeypatch):
    """Dropout (torch's draws), a plateau schedule and the best epoch's weights all carry over."""
    folder = tmp_path / "export"
    app_run_and_export(folder, dropout_classifier(), load_dataset("spiral", n_samples=80), epochs=2, batch_size=16,
                       learning_rate=0.03, seed=5, schedule={"type": "plateau", "patience": 0, "factor": 0.5},
                       early_stopping_patience=4)
    whole = run_train_py(folder, monkeypatch, "--epochs", "7", "--output", "whole.safetensors")

    module = load_train_module(folder)
    save_checkpoint = module.save_checkpoint

    def killed_after_epoch_3(run):
        save_checkpoint(run)
        if run.epoch == 3:
            raise Interrupted

    module.save_checkpoint = killed_after_epoch_3
    with pytest.raises(Interrupted):
        run_train_py(folder, monkeypatch, "--epochs", "7", module=module)
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["epoch"] == 3
    resumed = run_train_py(folder, monkeypatch, "--epochs", "7", "--resume", "checkpoint.pt",
                           "--output", "resumed.safetensors")
    assert resumed["epoch"] == whole["epoch"] == list(range(1, 8))
    assert resumed["val_loss"] == whole["val_loss"] and resumed["lr"] == whole["lr"]
    assert len(set(whole["lr"])) > 1   # the plateau schedule did lower the rate
    expected, got = read_state(folder / "whole.safetensors"), read_state(folder / "resumed.safetensors")
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def test_resume_refuses_a_file_it_did_not_write(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    app_run_and_export(folder, get_template("mlp_classifier").spec(), load_dataset("spiral", n_samples=40), epochs=1)
    torch.save({"model": {}}, folder / "other.pt")
    with pytest.raises(SystemExit, match="cannot resume from other.pt: it is not a checkpoint written by this"):
        run_train_py(folder, monkeypatch, "--resume", "other.pt")
    (folder / "broken.pt").write_bytes(b"not a zip")
    with pytest.raises(SystemExit, match="cannot resume from broken.pt"):
        run_train_py(folder, monkeypatch, "--resume", "broken.pt")


def test_data_npz_holds_the_apps_split_and_standardisation(tmp_path):
    folder = tmp_path / "export"
    dataset = load_dataset("sine", n_samples=50)
    result, trainer = app_run_and_export(folder, get_template("mlp_regressor").spec(), dataset, epochs=1, loss="mse",
                                         val_fraction=0.2, test_fraction=0.2, seed=4)
    problem = trainer.problem
    with np.load(folder / "data.npz", allow_pickle=False) as data:
        for name, split in (("train", problem.train), ("val", problem.val), ("test", problem.test)):
            np.testing.assert_array_equal(dataset.x[data[f"{name}_index"]], split.raw.x)
        normalization = problem.normalization
        np.testing.assert_array_equal(data["input_mean"], normalization.inputs.mean)
        np.testing.assert_array_equal(data["target_std"], normalization.targets.std)


def test_a_diverging_run_stops_as_in_the_app_and_keeps_the_last_good_weights(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "export"
    result, trainer = app_run_and_export(folder, get_template("mlp_classifier").spec(),
                                         load_dataset("spiral", n_samples=60), optimizer="sgd", learning_rate=1e4,
                                         epochs=5, batch_size=8)
    assert result.status == "failed" and "diverged" in result.reason
    with pytest.raises(SystemExit) as stopped:
        run_train_py(folder, monkeypatch)
    assert stopped.value.code == 1
    assert "the run diverged: the validation loss became" in capsys.readouterr().out
    assert_same_weights(trainer.state_dict(), folder / "trained.safetensors")   # both went back to the same


def test_other_data_is_split_at_random_and_standardised_with_the_weights_statistics(tmp_path, monkeypatch):
    """An .npz of one's own (x and y only): VAL_FRACTION of it validates, the exported statistics scale it."""
    from layerforge.data import Normalization, Standardizer
    from layerforge.export import TrainingHint, export_pytorch
    from export_cases import random_state_dict

    spec = get_template("mlp_classifier").spec()
    folder = tmp_path / "export"
    normalization = Normalization(inputs=Standardizer([10.0, -10.0], [5.0, 5.0]))
    export_pytorch(spec, random_state_dict(spec), folder, normalization=normalization,
                   dataset_hint=TrainingHint(val_fraction=0.25, epochs=2, batch_size=8))
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 2)) * 5 + [10.0, -10.0]).astype(np.float32)
    np.savez(folder / "mine.npz", x=x, y=(x[:, 0] > 10).astype(np.int64))
    monkeypatch.syspath_prepend(str(folder))
    train = load_train_module(folder)
    (train_split, val_split, test_split), _ = train.load_data(str(folder / "mine.npz"),
                                                              str(folder / "weights.safetensors"))
    assert (len(train_split), len(val_split), len(test_split)) == (30, 10, 0)
    assert abs(float(train_split.x.mean())) < 0.5   # standardised with the exported statistics
    history = run_train_py(folder, monkeypatch, "--data", "mine.npz")
    assert history["epoch"] == [1, 2] and "val_accuracy" in history
