"""Before Qt can abort the process over a missing system library, Layerforge names it and the package."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid

import pytest

from layerforge import qt_libraries
from layerforge.qt_libraries import (install_hint, missing_libraries, platforms_qt_will_try, plugin_path,
                                     qt_display_problem, qt_platform_problem, read_elf_dynamic)

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux's")
XCB_PLUGIN = plugin_path("xcb") if sys.platform.startswith("linux") else None
needs_plugin = pytest.mark.skipif(XCB_PLUGIN is None, reason="PySide6's xcb plugin is not installed here")

FRESH_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd1b1e5000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f2c1c000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f2c1bff0000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
"""


def fake_ldd(monkeypatch, output):
    monkeypatch.setattr(qt_libraries, "_run_ldd", lambda path: output)


def test_qt_tries_x11_unless_told_otherwise_and_wayland_first_in_a_wayland_session():
    assert platforms_qt_will_try({}) == ["xcb"]
    assert platforms_qt_will_try({"DISPLAY": ":0"}) == ["xcb"]
    assert platforms_qt_will_try({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == ["wayland", "xcb"]
    assert platforms_qt_will_try({"XDG_SESSION_TYPE": "wayland"}) == ["wayland", "xcb"]
    assert platforms_qt_will_try({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}) == ["offscreen"]
    assert platforms_qt_will_try({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert platforms_qt_will_try({"QT_QPA_PLATFORM": "xcb:nomitshm"}) == ["xcb"]
    assert platforms_qt_will_try({"QT_QPA_PLATFORM": "xcb"}, ["layerforge", "-platform", "minimal"]) == ["minimal"]


@linux_only
@needs_plugin
def test_missing_xcb_libraries_are_named_with_the_install_line(monkeypatch):
    fake_ldd(monkeypatch, FRESH_DEBIAN_LDD)
    assert qt_platform_problem({"DISPLAY": ":0"}) == (
        "Qt cannot start its X11 (xcb) platform plugin: missing libxcb-icccm.so.4, libxcb-keysyms.so.1. "
        "Install them with: sudo apt install libxcb-icccm4 libxcb-keysyms1 (Debian/Ubuntu) or "
        "sudo dnf install xcb-util-wm xcb-util-keysyms (Fedora)")
    assert qt_platform_problem({}) is not None          # no DISPLAY: Qt still loads the plugin first


@linux_only
@needs_plugin
def test_a_library_without_a_known_package_is_named_as_it_is(monkeypatch):
    fake_ldd(monkeypatch, "\tlibxcb-icccm.so.4 => not found\n\tlibfancy.so.9 => not found\n")
    problem = qt_platform_problem({"DISPLAY": ":0"})
    assert "missing libxcb-icccm.so.4, libfancy.so.9" in problem
    assert "sudo apt install libxcb-icccm4 (Debian/Ubuntu)" in problem
    assert "the packages that provide libfancy.so.9" in problem
    fake_ldd(monkeypatch, "\tlibfancy.so.9 => not found\n")
    assert qt_platform_problem({"DISPLAY": ":0"}).endswith("missing libfancy.so.9. Install the packages that provide them")


@linux_only
@needs_plugin
def test_nothing_to_say_when_everything_is_there_or_the_platform_is_not_a_desktop_one(monkeypatch):
    fake_ldd(monkeypatch, "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x1)\n")
    assert qt_platform_problem({"DISPLAY": ":0"}) is None
    fake_ldd(monkeypatch, FRESH_DEBIAN_LDD)
    for platform in ("offscreen", "minimal", "vnc"):
        assert qt_platform_problem({"QT_QPA_PLATFORM": platform}) is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert qt_platform_problem({"DISPLAY": ":0"}) is None


@linux_only
@needs_plugin
def test_wayland_with_a_working_x11_fallback_is_fine(monkeypatch):
    wayland = plugin_path("wayland")
    if wayland is None:
        pytest.skip("PySide6's wayland plugin is not installed here")
    outputs = {str(wayland): "\tlibwayland-cursor.so.0 => not found\n", str(XCB_PLUGIN): ""}
    monkeypatch.setattr(qt_libraries, "_run_ldd", lambda path: outputs[str(path)])
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert qt_platform_problem(env) is None
    outputs[str(XCB_PLUGIN)] = "\tlibxcb-icccm.so.4 => not found\n"
    assert qt_platform_problem(env) == (
        "Qt cannot start its Wayland platform plugin: missing libwayland-cursor.so.0; nor its X11 (xcb) platform "
        "plugin: missing libxcb-icccm.so.4. Install them with: sudo apt install libwayland-cursor0 libxcb-icccm4 "
        "(Debian/Ubuntu) or sudo dnf install libwayland-cursor xcb-util-wm (Fedora)")


@linux_only
@needs_plugin
def test_the_elf_reader_finds_what_the_plugin_needs_and_where_it_looks():
    needed, search, bits = read_elf_dynamic(XCB_PLUGIN)
    assert "libQt6XcbQpa.so.6" in needed and "libxcb.so.1" in needed
    assert search == ["$ORIGIN/../../lib"] and bits == (64 if sys.maxsize > 2 ** 32 else 32)


def test_the_elf_reader_refuses_what_is_not_a_shared_library(tmp_path):
    (tmp_path / "text").write_text("not ELF")
    (tmp_path / "cut").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    for name in ("text", "cut", "absent"):
        assert read_elf_dynamic(tmp_path / name) is None


@linux_only
@needs_plugin
def test_without_ldd_the_elf_walk_agrees_with_ldd_and_finds_a_missing_library(monkeypatch):
    real = qt_libraries._run_ldd(XCB_PLUGIN)
    monkeypatch.setattr(qt_libraries, "_run_ldd", lambda path: None)     # a slim container: no ldd
    by_elf = missing_libraries(XCB_PLUGIN)
    if real is not None:
        assert sorted(by_elf) == sorted(set(qt_libraries._LDD_MISSING.findall(real)))
    find = qt_libraries._find_library
    monkeypatch.setattr(qt_libraries, "_find_library",
                        lambda name, *args: None if name == "libxkbcommon-x11.so.0" else find(name, *args))
    assert "libxkbcommon-x11.so.0" in missing_libraries(XCB_PLUGIN)
    assert "sudo apt install" in qt_platform_problem({"DISPLAY": ":0"})
    assert "libxkbcommon-x11-0" in qt_platform_problem({"DISPLAY": ":0"})


@linux_only
@needs_plugin
@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd")
def test_on_this_machine_the_answer_matches_ldd():
    output = subprocess.run(["ldd", str(XCB_PLUGIN)], capture_output=True, text=True).stdout
    missing = sorted(set(qt_libraries._LDD_MISSING.findall(output)))
    problem = qt_platform_problem({"DISPLAY": ":0"})
    if missing:
        assert problem is not None and all(name in problem for name in missing)
    else:
        assert problem is None


def test_install_hint_lists_each_package_once():
    assert install_hint(["libxcb-randr.so.0", "libxcb-shape.so.0"]) == (
        "sudo apt install libxcb-randr0 libxcb-shape0 (Debian/Ubuntu) or sudo dnf install libxcb (Fedora)")
    assert install_hint(["libunknown.so.1"]) == ""


@linux_only
def test_no_display_or_an_unreachable_one_is_said_before_qt_aborts():
    assert "neither DISPLAY nor WAYLAND_DISPLAY" in qt_display_problem({})
    assert qt_display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert qt_display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    number = 900 + uuid.uuid4().int % 90
    assert "cannot connect to the X display ':%d'" % number in qt_display_problem({"DISPLAY": f":{number}"})
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(f"\0/tmp/.X11-unix/X{number}")     # an X server's (abstract) socket
    server.listen(1)
    try:
        assert qt_display_problem({"DISPLAY": f":{number}.0"}) is None
    finally:
        server.close()
    assert qt_display_problem({"DISPLAY": "some odd value"}) is None    # not judged: Qt decides


@linux_only
@needs_plugin
def test_the_app_says_what_is_missing_instead_of_qt_aborting(tmp_path):
    # A missing library is faked inside the child, so this holds on machines that have them all. Without
    # the check, Qt aborts there: no plugin library, or no X server at :99 to connect to (exit -6, SIGABRT).
    code = ("import sys, layerforge.qt_libraries as q\n"
            "q._run_ldd = lambda path: '\\tlibxcb-keysyms.so.1 => not found\\n'\n"
            "from layerforge.app import main\n"
            "sys.exit(main(['layerforge']))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(QT_QPA_PLATFORM="", DISPLAY=":99", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        "layerforge: error: Qt cannot start its X11 (xcb) platform plugin: missing libxcb-keysyms.so.1. "
        "Install them with: sudo apt install libxcb-keysyms1 (Debian/Ubuntu) or sudo dnf install "
        "xcb-util-keysyms (Fedora)")
