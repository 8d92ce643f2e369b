"""Test setup shared by every test: Qt runs offscreen, no window ever appears.

``LAYERFORGE_SIMULATED_GPU=1`` puts the strict CPU stand-in for cupy (tests/gpu/simulated_cupy.py)
in place of cupy before anything imports the engine, so the GPU-marked tests run their CUDA paths
on a machine without a GPU: ``LAYERFORGE_SIMULATED_GPU=1 python -m pytest -m gpu tests``.
"""
import importlib.util
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if os.environ.get("LAYERFORGE_SIMULATED_GPU") == "1":
    _spec = importlib.util.spec_from_file_location("use_simulated_gpu", Path(__file__).parent / "gpu" / "use_simulated_gpu.py")
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
