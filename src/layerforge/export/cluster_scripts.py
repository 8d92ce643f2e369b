"""The texts beside the exported train.py that take it to a cluster: the README's torchrun lines and a
SLURM batch script (srun starting torchrun on every node).

The project's name reaches README.txt only through repr() (see pytorch_export), and train.slurm only as
a job name reduced to letters, digits, '-', '_' and '.': a shell script has no literal that is safe for
any text.
"""
from __future__ import annotations

import re

RDZV_PORT = 29500


def train_command(data_file: str = "data.npz", processes: int = 2) -> str:
    """One machine: ``processes`` workers (GPUs, or CPU processes on gloo)."""
    return f"torchrun --standalone --nproc-per-node={processes} train.py --data {data_file}"


def multi_node_command(data_file: str = "data.npz", nodes: str = "2", processes: str = "4",
                       endpoint: str = f"HEAD_NODE:{RDZV_PORT}", job_id: str = "JOB_ID") -> str:
    """Several machines: the same line on each, meeting at ``endpoint`` (c10d rendezvous)."""
    return (f"torchrun --nnodes={nodes} --nproc-per-node={processes} --rdzv-id={job_id} --rdzv-backend=c10d "
            f"--rdzv-endpoint={endpoint} train.py --data {data_file}")


README_TEMPLATE = """{title}
{underline}

Exported by Layerforge {version}. Needs Python 3.9+, PyTorch and safetensors:

    pip install torch safetensors numpy

Files
  model.py             the model as a PyTorch nn.Module (class Model), load_model() and standardize()
  weights.safetensors  the trained weights (and the input standardisation, in its metadata)
  train.py             trains the model as Layerforge does, on one process or many (torchrun, DDP)
  train.slurm          a SLURM batch script running train.py on several nodes
{data_line}
Use the trained model

    import torch
    from model import load_model, standardize
    model = load_model()
    with torch.no_grad():
        prediction = model(standardize(batch))   # batch: a tensor shaped (N, {input_shape})

Train as Layerforge trains: the same loss, optimizer, learning-rate schedule, split, standardisation
and batch order, validation metrics every epoch, early stopping, and the best epoch's weights kept.

One process
    python train.py --data {data_file}

One machine, 2 processes (GPUs with NCCL, or CPU processes with gloo, chosen automatically)
    {single_node}

Several machines: start the same line on every node (here 2 nodes of 4 GPUs), naming one node the
rendezvous host; JOB_ID is any name the nodes share
    {multi_node}

On a SLURM cluster, edit the #SBATCH lines of train.slurm (nodes, GPUs per node, time) and submit it
    sbatch train.slurm

--batch-size counts the samples of one step over all processes together (the project's: {batch_size}),
so more processes take the same steps faster; raise it (and --lr) to use a larger cluster fully.
Options: --epochs N, --lr RATE, --batch-size N, --seed N, --patience N (0: no early stopping),
--no-keep-best, --from-scratch, --output PATH, --checkpoint PATH, --resume PATH, --history PATH.

Every epoch rank 0 saves checkpoint.pt; after an interruption
    python train.py --data {data_file} --resume checkpoint.pt
(or the torchrun line with --resume checkpoint.pt) continues where it stopped, with the same result
as a run never interrupted. On several nodes, keep this folder on a file system they share: every
process reads the checkpoint. At the end rank 0 writes trained.safetensors, the weights of the best
validation epoch (load_model("trained.safetensors")), and history.json, every epoch's metrics.

Where it cannot be identical to Layerforge: dropout draws from PyTorch's random generator, not
Layerforge's; --from-scratch starts from PyTorch's initialisation; with batch normalisation on
several CPU processes each process normalises its own share of a batch (SyncBatchNorm on GPUs); and
float sums in another order differ in the last digits.
"""


SLURM_TEMPLATE = """#!/bin/bash
# Train the exported Layerforge model on several nodes: srun starts one torchrun per node, and each
# torchrun starts one process per GPU. Edit the #SBATCH lines for your cluster, then: sbatch train.slurm
#SBATCH --job-name={job_name}
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=16
#SBATCH --time=02:00:00
#SBATCH --output=%x-%j.out

set -euo pipefail
cd "${{SLURM_SUBMIT_DIR:-.}}"

GPUS_PER_NODE="${{SLURM_GPUS_ON_NODE:-4}}"
HEAD_NODE="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
THREADS=$(( ${{SLURM_CPUS_PER_TASK:-16}} / GPUS_PER_NODE ))
export OMP_NUM_THREADS=$(( THREADS > 0 ? THREADS : 1 ))   # CPU threads per GPU process

# A requeued or resubmitted job continues from the last epoch's checkpoint.
RESUME=()
if [ -f checkpoint.pt ]; then
    RESUME=(--resume checkpoint.pt)
fi

srun torchrun \\
    --nnodes="$SLURM_JOB_NUM_NODES" \\
    --nproc-per-node="$GPUS_PER_NODE" \\
    --rdzv-id="$SLURM_JOB_ID" \\
    --rdzv-backend=c10d \\
    --rdzv-endpoint="$HEAD_NODE:{port}" \\
    train.py --data {data_file} "${{RESUME[@]}}"
"""


def readme_text(title: str, version: str, data_file: str, has_data: bool, input_shape: str, batch_size: int) -> str:
    data_line = (f"  {data_file:<20} the project's data: x (inputs, as loaded), y (targets), the split and the "
                 f"standardisation\n" if has_data else "")
    return README_TEMPLATE.format(
        title=title, underline="=" * len(title), version=version, data_line=data_line, input_shape=input_shape,
        data_file=data_file, single_node=train_command(data_file), multi_node=multi_node_command(data_file),
        batch_size=int(batch_size))


def slurm_script(name: str | None, data_file: str) -> str:
    """train.slurm; ``name`` (the project's) becomes the job name, reduced to characters a shell keeps."""
    return SLURM_TEMPLATE.format(job_name=job_name(name), port=RDZV_PORT, data_file=data_file)


def job_name(name: str | None) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or "").strip("_.-")[:64]
    return cleaned or "layerforge"
