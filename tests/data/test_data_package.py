"""layerforge.data runs headless: importing it pulls in neither Qt nor the engine nor torch."""
import subprocess
import sys


def test_data_imports_no_qt_engine_or_torch():
    code = ("import sys, layerforge.data; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'torch')"
            " or m.startswith('layerforge.engine') or m.startswith('layerforge.graph')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
