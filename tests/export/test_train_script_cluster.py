"""What takes train.py to a cluster: the README's torchrun lines and train.slurm, for the project's files."""
import shutil
import subprocess

import numpy as np
import pytest

from export_cases import random_state_dict
from layerforge.export import TrainingHint, export_pytorch
from layerforge.export.cluster_scripts import job_name
from layerforge.graph import get_template


def export(folder, name, with_data=True):
    spec = get_template("mlp_classifier").spec()
    x = np.zeros((6, 2), np.float32)
    hint = TrainingHint(x=x, y=np.arange(6) % 3, batch_size=24) if with_data else TrainingHint(batch_size=24)
    export_pytorch(spec, random_state_dict(spec), folder, dataset_hint=hint, name=name)
    return (folder / "README.txt").read_text(encoding="utf-8"), (folder / "train.slurm").read_text(encoding="utf-8")


def test_readme_shows_one_process_one_node_and_several_nodes(tmp_path):
    readme, _ = export(tmp_path / "out", "spirals")
    assert "    python train.py --data data.npz\n" in readme
    assert "    torchrun --standalone --nproc-per-node=2 train.py --data data.npz\n" in readme
    assert ("    torchrun --nnodes=2 --nproc-per-node=4 --rdzv-id=JOB_ID --rdzv-backend=c10d "
            "--rdzv-endpoint=HEAD_NODE:29500 train.py --data data.npz\n") in readme
    assert "    sbatch train.slurm\n" in readme
    assert "--resume checkpoint.pt" in readme
    assert "(the project's: 24)" in readme   # the global batch size it will train with


def test_train_slurm_runs_torchrun_on_every_node(tmp_path):
    _, slurm = export(tmp_path / "out", "spirals")
    lines = slurm.splitlines()
    assert lines[0] == "#!/bin/bash"
    for directive in ("#SBATCH --job-name=spirals", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1",
                      "#SBATCH --gpus-per-node=4"):
        assert directive in lines
    command = slurm[slurm.index("srun torchrun"):]
    for part in ('--nnodes="$SLURM_JOB_NUM_NODES"', '--nproc-per-node="$GPUS_PER_NODE"',
                 '--rdzv-id="$SLURM_JOB_ID"', "--rdzv-backend=c10d", '--rdzv-endpoint="$HEAD_NODE:29500"',
                 'train.py --data data.npz "${RESUME[@]}"'):
        assert part in command
    assert "RESUME=(--resume checkpoint.pt)" in slurm   # a requeued job continues from its checkpoint
    # sbatch reads #SBATCH lines only before the first command
    first_command = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    assert all(i < first_command for i, line in enumerate(lines) if line.startswith("#SBATCH"))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash checks the script's syntax")
def test_train_slurm_is_valid_bash(tmp_path):
    export(tmp_path / "out", "spirals")
    result = subprocess.run(["bash", "-n", str(tmp_path / "out" / "train.slurm")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_without_data_the_commands_name_the_file_to_bring(tmp_path):
    readme, slurm = export(tmp_path / "out", None, with_data=False)
    assert "torchrun --standalone --nproc-per-node=2 train.py --data YOUR_DATA.npz" in readme
    assert "train.py --data YOUR_DATA.npz" in slurm and "#SBATCH --job-name=layerforge" in slurm


@pytest.mark.parametrize("name,expected", [("my model; rm -rf ~", "my_model_rm_-rf"),
                                           ("$(touch x)\n#SBATCH", "touch_x_SBATCH"), ("模型", "layerforge"),
                                           ("a" * 100, "a" * 64)])
def test_a_project_name_reaches_train_slurm_only_as_a_plain_job_name(tmp_path, name, expected):
    assert job_name(name) == expected
    _, slurm = export(tmp_path / "out", name)
    assert f"#SBATCH --job-name={expected}\n" in slurm
    assert slurm.count("\n#SBATCH") == 7 and "$(touch" not in slurm
