"""Importing this puts the simulated GPU (simulated_cupy.py) in place of cupy, before the engine looks.

Used by tests/conftest.py (LAYERFORGE_SIMULATED_GPU=1) and by bench_table.py --simulated-gpu.
"""
import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("cupy", Path(__file__).with_name("simulated_cupy.py"))
simulated = importlib.util.module_from_spec(_spec)
sys.modules["cupy"] = simulated
_spec.loader.exec_module(simulated)
simulated.install()
