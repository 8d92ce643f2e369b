"""train.py under torchrun: two gloo processes on this machine finish, hold the same weights, and, since
each batch is shared between them and their gradients averaged by its shares' sizes, end where one
process ends (up to the order of float additions)."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from layerforge.data import load_dataset
from layerforge.graph import get_template
from train_script_cases import app_run_and_export, read_state, run_train_py

torch = pytest.importorskip("torch", reason="train.py runs on PyTorch; not installed")
pytest.importorskip("safetensors", reason="train.py saves its weights with safetensors")
distributed = pytest.importorskip("torch.distributed", reason="this PyTorch build has no torch.distributed")
pytestmark = pytest.mark.skipif(not (distributed.is_available() and distributed.is_gloo_available()),
                                reason="torch.distributed with the gloo backend is not available in this build")


def test_two_gloo_processes_under_torchrun_agree_with_one(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    app_run_and_export(folder, get_template("mlp_classifier").spec(), load_dataset("spiral", n_samples=120),
                       learning_rate=0.02, epochs=3, batch_size=16, seed=3, schedule={"type": "onecycle"},
                       grad_clip_norm=1.0)
    # 96 training samples in batches of 15: shares of 8 and 7, then a last batch of 6 (3 and 3).
    options = ["--batch-size", "15"]
    one = run_train_py(folder, monkeypatch, *options, "--output", "one.safetensors", "--history", "one.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("WORLD_SIZE", None)
    # --standalone picks a free port, so parallel test runs cannot collide on torchrun's default one.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "train.py",
               "--data", "data.npz", *options, "--output", "two.safetensors", "--history", "two.json",
               "--checkpoint", "two.pt"]
    for attempt in (1, 2):
        began = time.perf_counter()
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        print(f"torchrun with 2 gloo processes took {time.perf_counter() - began:.1f} s")
        # Gloo now and then aborts a process as it shuts its threads down (std::terminate on a
        # loaded machine; a known PyTorch teardown race, not the script's): that alone gets one rerun.
        if result.returncode == 0 or "terminate called without an active exception" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training on 2 process(es), 96 samples (24 validation), device cpu" in result.stdout
    assert result.stdout.count("epoch 3/3  loss ") == 1   # rank 0 reports, once
    checksums = dict(re.findall(r"rank (\d): weights checksum (\S+)", result.stdout))
    assert sorted(checksums) == ["0", "1"], result.stdout
    assert checksums["0"] == checksums["1"]   # each rank computed its own; rank 0 gathered and printed them
    assert "different weights" not in result.stdout
    two, single = read_state(folder / "two.safetensors"), read_state(folder / "one.safetensors")
    for key, value in single.items():
        np.testing.assert_allclose(two[key], value, rtol=0, atol=1e-5, err_msg=key)
    assert (folder / "two.pt").exists() and not (folder / "two.pt.tmp").exists()
    assert one["epoch"] == [1, 2, 3]
