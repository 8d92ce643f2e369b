"""Test setup shared by every test: Qt runs offscreen, no window ever appears.

``LAYERFORGE_SIMULATED_GPU=1`` puts the strict CPU stand-in for cupy (tests/gpu/simulated_cupy.py)
in place of cupy before anything imports the engine, so the GPU-marked tests run their CUDA paths
on a machine without a GPU: ``LAYERFORGE_SIMULATED_GPU=1 python -m pytest -m gpu tests``.
"""
import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if os.environ.get("LAYERFORGE_SIMULATED_GPU") == "1":
    _spec = importlib.util.spec_from_file_location("cupy", Path(__file__).parent / "gpu" / "simulated_cupy.py")
    _simulated = importlib.util.module_from_spec(_spec)
    sys.modules["cupy"] = _simulated
    _spec.loader.exec_module(_simulated)
    _simulated.install()
