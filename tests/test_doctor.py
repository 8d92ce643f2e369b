"""``layerforge doctor``: one line per check, each OK or what to do; exit 1 only when something needed fails."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerforge import doctor, qt_libraries
from layerforge.engine import cuda

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Qt library check is Linux's")


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A desktop session with every library, folders under tmp_path, no GPU."""
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(qt_libraries, "_run_ldd", lambda path: "\tlibxcb.so.1 => /usr/lib/libxcb.so.1 (0x1)\n")
    monkeypatch.setattr(qt_libraries, "x_display_reachable", lambda display, timeout=2.0: True)
    monkeypatch.setattr(cuda, "unavailable_reason", lambda: "cupy is not installed (pip install layerforge[gpu])")
    return tmp_path


def report() -> tuple[int, dict[str, tuple[str, str]], str]:
    out = io.StringIO()
    status = doctor.run_doctor(out)
    text = out.getvalue()
    lines = {}
    for line in text.splitlines()[:-1]:
        state, rest = line.split(None, 1)
        name, _, detail = rest.partition(": ")
        lines[name] = (state, detail)
    return status, lines, text


@linux_only
def test_a_healthy_machine_is_all_ok_and_no_gpu_is_only_a_note(machine):
    status, lines, text = report()
    assert status == 0, text
    for name in ("Python", "PySide6", "Qt platform", "display", "BLAS", "data folder", "settings folder",
                 "current folder", "safetensors", "onnx", "Pillow", "pyqtgraph"):
        assert lines[name][0] == "OK", text
    assert lines["GPU"] == ("NOTE", "not available: cupy is not installed (pip install layerforge[gpu])")
    assert str(machine / "data" / "Layerforge" / "Layerforge" / "autosave") in lines["data folder"][1]
    assert "threads for" in lines["BLAS"][1]
    from layerforge.engine.threads import blas_core
    if blas_core():  # numpy's OpenBLAS says which CPU kernels it runs (its speed depends on them)
        assert f"with its {blas_core()} kernels" in lines["BLAS"][1]
    assert text.splitlines()[-1] == "Everything Layerforge needs is here."
    assert all(line.split()[0] in ("OK", "FAIL", "NOTE") for line in text.splitlines()[:-1])


@linux_only
def test_a_missing_qt_library_fails_with_the_install_line(machine, monkeypatch):
    monkeypatch.setattr(qt_libraries, "_run_ldd",
                        lambda path: "\tlibxcb-icccm.so.4 => not found\n\tlibxcb-keysyms.so.1 => not found\n")
    status, lines, text = report()
    assert status == 1
    assert lines["Qt platform"] == ("FAIL", (
        "Qt cannot start its X11 (xcb) platform plugin: missing libxcb-icccm.so.4, libxcb-keysyms.so.1. Install "
        "them with: sudo apt install libxcb-icccm4 libxcb-keysyms1 (Debian/Ubuntu) or sudo dnf install "
        "xcb-util-wm xcb-util-keysyms (Fedora)"))
    assert text.splitlines()[-1] == "1 check(s) failed: do what the FAIL lines say."


def test_an_unwritable_data_folder_fails_and_says_how_to_fix_it(machine, monkeypatch):
    blocked = machine / "data"
    blocked.write_text("a file where the data folder should be")   # root ignores permissions, not this
    status, lines, text = report()
    assert status == 1
    state, detail = lines["data folder"]
    assert state == "FAIL" and str(blocked / "Layerforge" / "Layerforge" / "autosave") in detail
    assert "autosave is off" in detail and ("XDG_DATA_HOME" in detail or "writable" in detail)
    assert lines["settings folder"][0] == "OK"


def test_a_current_folder_that_cannot_be_written_is_a_note(machine, monkeypatch):
    real = doctor.writable
    monkeypatch.setattr(doctor, "writable", lambda folder, create=True:
                        "Read-only file system" if folder == Path.cwd() else real(folder, create))
    status, lines, _ = report()
    assert lines["current folder"][0] == "NOTE" and "--out" in lines["current folder"][1]
    assert status == 0


def test_a_broken_pyside_or_package_fails_with_what_to_do(machine, monkeypatch):
    real = doctor._import

    def failing(name):
        if name == "PySide6.QtGui":
            raise ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
        if name == "onnx":
            raise ImportError("No module named 'onnx'")
        return real(name)

    monkeypatch.setattr(doctor, "_import", failing)
    status, lines, _ = report()
    assert status == 1
    assert lines["PySide6"][0] == "FAIL" and "sudo apt install libegl1" in lines["PySide6"][1]
    assert lines["onnx"] == ("FAIL", "does not import (ImportError: No module named 'onnx'); it is needed for ONNX "
                                     "export: pip install --force-reinstall onnx")


def test_gpus_are_listed_with_their_names(machine, monkeypatch):
    monkeypatch.setattr(cuda, "unavailable_reason", lambda: None)
    monkeypatch.setattr(cuda, "device_count", lambda: 2)
    monkeypatch.setattr(cuda, "get_device_name", lambda index: f"Test GPU {index}")
    monkeypatch.setattr(doctor, "_gpu_memory", lambda index: ", 80.0 GiB (79.0 GiB free)")
    status, lines, _ = report()
    assert lines["GPU 0"] == ("OK", "Test GPU 0, 80.0 GiB (79.0 GiB free)") and lines["GPU 1"][0] == "OK"
    assert status == 0


def test_a_check_that_breaks_is_one_failed_line_not_a_traceback(machine, monkeypatch):
    def broken():
        raise RuntimeError("numpy says no")
        yield

    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_versions, broken, doctor.check_packages])
    status, lines, _ = report()
    assert status == 1 and lines["broken"] == ("FAIL", "the check itself failed (RuntimeError: numpy says no); "
                                                        "please report it")
    assert lines["Python"][0] == "OK" and lines["onnx"][0] == "OK"


def test_doctor_imports_no_qt_until_it_runs():
    code = "import sys, layerforge.doctor; print(any(m.startswith('PySide6') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_python_dash_m_runs_it_on_this_machine(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"),
           "XDG_CONFIG_HOME": str(tmp_path / "c")}
    done = subprocess.run([sys.executable, "-m", "layerforge.doctor"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK   Python: ") and len(lines) >= 12
    failed = [line for line in lines if line.startswith("FAIL")]
    assert done.returncode == (1 if failed else 0), done.stdout


@pytest.mark.parametrize("value, status, words", [
    ("system", "NOTE", "returns freed memory at once"),
    ("sytem", "NOTE", "LAYERFORGE_MALLOC=sytem is not a value Layerforge knows"),
])
def test_the_malloc_switch_is_reported(machine, monkeypatch, value, status, words):
    from layerforge.engine import allocator
    monkeypatch.setenv("LAYERFORGE_MALLOC", value)
    # as in a process started with that value (this one tuned malloc when it imported the engine)
    monkeypatch.setattr(allocator, "freed_memory_kept", lambda: value != "system")
    lines = dict((name, (level, text)) for level, name, text in doctor.check_malloc())
    assert lines["Memory"][0] == status and words in lines["Memory"][1]
