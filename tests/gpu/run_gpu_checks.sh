#!/usr/bin/env bash
# The one command for a machine with an NVIDIA GPU: GPU tests, then the GPU benchmark table.
#
#   tests/gpu/run_gpu_checks.sh            # from the repository root, in the project's venv
#   LAYERFORGE_SIMULATED_GPU=1 tests/gpu/run_gpu_checks.sh   # a dry run of this script on the
#                                          # simulated GPU (tests/gpu/simulated_cupy.py): no GPU needed
#
# Needs cupy for the local CUDA (pip install cupy-cuda12x) and a CUDA build of torch (the oracle and
# the benchmark's reference). Writes everything to $GPU_CHECKS_OUT (default /tmp/layerforge-gpu-checks) and
# prints it; exits non-zero when a test fails or no GPU can be used, saying why.
set -u -o pipefail
cd "$(dirname "$0")/../.."
out="${GPU_CHECKS_OUT:-/tmp/layerforge-gpu-checks}"
mkdir -p "$out"
python=${PYTHON:-python}
simulated=${LAYERFORGE_SIMULATED_GPU:-0}
engine='import layerforge.engine as lf'
bench_args=(--device cuda)
if [ "$simulated" = 1 ]; then  # the engine sees the simulated GPU; torch stays on the CPU
  engine='import sys; sys.path.insert(0, "tests/gpu"); import use_simulated_gpu; import layerforge.engine as lf'
  bench_args+=(--simulated-gpu)
  echo "(a dry run on the simulated GPU: nothing here is a GPU measurement)"
fi

# A device machine may have cupy, torch and pytest but not this project or its GUI packages, and no
# network: install the tree itself without fetching anything, and leave the window's GPU test out
# (saying so) where PySide6/pyqtgraph/pytest-qt are missing.
if ! "$python" -c 'import layerforge' 2>/dev/null; then
  echo "== installing layerforge from this tree (--no-deps: nothing is downloaded)"
  "$python" -m pip install --quiet --no-deps --no-build-isolation -e . ||
    { echo "layerforge could not be installed here; the GPU checks cannot run" >&2; exit 2; }
fi
"$python" -c 'import pytest' 2>/dev/null || { echo "pytest is not installed here; the GPU checks cannot run" >&2; exit 2; }
skip_gui=()
if ! "$python" -c 'import PySide6, pyqtgraph, pytestqt' 2>/dev/null; then
  echo "(PySide6, pyqtgraph or pytest-qt is missing here: tests/app, the window's GPU test, is left out)"
  skip_gui=(--ignore=tests/app)
fi

echo "== device" | tee "$out/device.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$python" -c "$engine; print('layerforge cuda:', lf.cuda.is_available(), lf.cuda.unavailable_reason() or lf.cuda.get_device_name(0))"
  "$python" -c 'import torch; print("torch", torch.__version__, "cuda:", torch.cuda.is_available())'
} 2>&1 | tee -a "$out/device.txt"
if ! "$python" -c "$engine; import sys; sys.exit(0 if lf.cuda.is_available() else 1)"; then
  echo "no usable CUDA GPU here (see above): the GPU checks cannot run" >&2
  exit 2
fi

echo "== pytest -m gpu (engine op oracles on cuda, a training run per template)"
"$python" -m pytest -m gpu -q -rs "${skip_gui[@]}" tests 2>&1 | tee "$out/pytest-gpu.txt"
tests_status=${PIPESTATUS[0]}

echo "== benchmark table, cuda"
"$python" tests/benchmarks/bench_table.py "${bench_args[@]}" 2>&1 | tee "$out/bench-cuda.md"
bench_status=${PIPESTATUS[0]}

echo "== pytest exit $tests_status, benchmark exit $bench_status; outputs in $out/"
[ "$tests_status" -eq 0 ] && [ "$bench_status" -eq 0 ]
