"""Can Qt open a window here? Asked before the QApplication exists, because Qt cannot be asked after.

When Qt's platform plugin (``libqxcb.so`` for X11) cannot load a system library it needs, Qt prints a
hint (since Qt 6.5 it names libxcb-cursor0 whatever is missing) and then aborts the process: a C-level
abort that Python cannot catch. So before the QApplication is made, the plugin's dependencies are read
here, and a missing one becomes one message naming the libraries and the install command.

Qt-free (PySide6 is found on disk, never imported), Linux only; nothing here runs on other systems.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

LABELS = {"xcb": "X11 (xcb)", "wayland": "Wayland"}
PLUGIN_FILES = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}

# soname -> (Debian/Ubuntu package, Fedora package): what PySide6 6.x's xcb and wayland plugins load.
PACKAGES = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

_STANDARD_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
                  "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                  "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
_LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_MUSL_MISSING = re.compile(r"Error loading shared library (\S+?):")


def platforms_qt_will_try(environ=None, argv=None) -> list[str]:
    """The platform plugins Qt tries, in order (Qt 6.5+'s rule; the first that starts is used):
    ``-platform`` or QT_QPA_PLATFORM when given; else Wayland first when in a Wayland session, X11
    when DISPLAY is set, and X11 (Qt's default on Linux) in any case."""
    environ = os.environ if environ is None else environ
    argv = list(argv or [])
    if "-platform" in argv[:-1]:
        chosen = argv[argv.index("-platform") + 1]
    else:
        chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return [name.split(":")[0].strip() for name in chosen.split(";") if name.strip()]
    order = []
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        order.append("wayland")
    order.append("xcb")
    return order


def plugin_path(platform: str, environ=None) -> Path | None:
    """PySide6's plugin file for ``platform`` (None when PySide6 or the plugin is not there)."""
    environ = os.environ if environ is None else environ
    file = PLUGIN_FILES.get(platform.split("-")[0])
    if file is None:
        return None
    folders = [environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")]
    spec = importlib.util.find_spec("PySide6")   # finds the package without loading Qt
    for location in (spec.submodule_search_locations or []) if spec else []:
        folders.append(os.path.join(location, "Qt", "plugins", "platforms"))
    for folder in folders:
        if folder and os.path.isfile(os.path.join(folder, file)):
            return Path(folder, file)
    return None


def missing_libraries(path: Path) -> list[str]:
    """The sonames that ``path`` (a shared library) needs, directly or not, and that cannot be found.

    Asks ``ldd``, which applies the loader's own rules; where there is no ``ldd`` (a slim container),
    reads the ELF files' DT_NEEDED entries and looks each name up as the loader would."""
    output = _run_ldd(path)
    if output is None:
        return _missing_by_elf(path)
    names = _LDD_MISSING.findall(output) + _MUSL_MISSING.findall(output)
    return list(dict.fromkeys(names))


def install_hint(sonames) -> str:
    """'sudo apt install ... (Debian/Ubuntu) or sudo dnf install ... (Fedora)' for known sonames."""
    known = [PACKAGES[name] for name in sonames if name in PACKAGES]
    if not known:
        return ""
    debian = " ".join(dict.fromkeys(pair[0] for pair in known))
    fedora = " ".join(dict.fromkeys(pair[1] for pair in known))
    return f"sudo apt install {debian} (Debian/Ubuntu) or sudo dnf install {fedora} (Fedora)"


def qt_platform_problem(environ=None, argv=None) -> str | None:
    """None when Qt can load a platform plugin it will try (or the platform is one this does not
    judge: offscreen, minimal, vnc, ...; or this is not Linux); else one message naming the missing
    libraries and how to install them."""
    if not sys.platform.startswith("linux"):
        return None
    failures = []
    for platform in platforms_qt_will_try(environ, argv):
        path = plugin_path(platform, environ)
        if platform not in PLUGIN_FILES or path is None:
            return None   # not ours to judge: Qt itself says what is wrong with these
        missing = missing_libraries(path)
        if not missing:
            return None
        failures.append((platform, missing))
    parts = [f"its {LABELS[platform]} platform plugin: missing {', '.join(missing)}" for platform, missing in failures]
    message = "Qt cannot start " + "; nor ".join(parts)
    every = [name for _platform, missing in failures for name in missing]
    hint = install_hint(every)
    unknown = [name for name in every if name not in PACKAGES]
    if hint:
        message += f". Install them with: {hint}"
        if unknown:
            message += f"; find the packages that provide {', '.join(unknown)} too"
    else:
        message += ". Install the packages that provide them"
    return message


def qt_display_problem(environ=None, argv=None) -> str | None:
    """None unless Qt will look for an X11 or Wayland display and there is none to find (an ssh
    session without -X, a server): Qt would abort with "could not connect to display"."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or "-display" in list(argv or []):
        return None
    platforms = platforms_qt_will_try(environ, argv)
    if any(name not in PLUGIN_FILES for name in platforms):
        return None
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return None
    display = environ.get("DISPLAY", "")
    if not display:
        return ("there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): run "
                "layerforge in a desktop session, or ssh -X; the headless commands work here (layerforge --help)")
    if x_display_reachable(display) is False:
        return (f"cannot connect to the X display {display!r} (DISPLAY): is the X server running, or the ssh "
                f"connection that forwarded it still open? The headless commands work here (layerforge --help)")
    return None


def x_display_reachable(display: str, timeout: float = 2.0) -> bool | None:
    """Whether an X server answers at ``display`` ("[host]:N[.screen]"); None when that cannot be
    told from here (an unusual DISPLAY), so that only a certain failure stops the app."""
    import socket

    match = re.fullmatch(r"(?:unix/)?([^:/]*):(\d+)(?:\.\d+)?", display)
    if match is None:
        return None
    host, number = match.group(1), int(match.group(2))
    if host not in ("", "unix"):
        try:   # every address the name has (ssh -X: localhost:10 may be IPv4 or IPv6)
            socket.create_connection((host, 6000 + number), timeout=timeout).close()
            return True
        except OSError:
            return False
    path = f"/tmp/.X11-unix/X{number}"
    for address in ("\0" + path, path):   # the abstract socket first, as Xlib tries it
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(timeout)
                connection.connect(address)
                return True
        except OSError:
            continue
    return False


# -- finding libraries -------------------------------------------------------------------------------

def find_system_library(name: str) -> Path | None:
    """Where the loader would find ``name`` (LD_LIBRARY_PATH, its cache, the standard folders)."""
    folders = [entry for entry in os.environ.get("LD_LIBRARY_PATH", "").split(":") if entry]
    return _find_library(name, folders, _ldconfig_cache(), 64 if sys.maxsize > 2 ** 32 else 32)


def _run_ldd(path: Path) -> str | None:
    """ldd's report on ``path`` (None when there is no ldd or it cannot run)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        done = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout + done.stderr


def _missing_by_elf(path: Path) -> list[str]:
    """Walk DT_NEEDED from ``path`` through every library found; the names found nowhere."""
    cache = _ldconfig_cache()
    missing, seen, queue = [], set(), [Path(path)]
    while queue:
        current = queue.pop()
        dynamic = read_elf_dynamic(current)
        if dynamic is None:
            continue
        needed, search, bits = dynamic
        origin = str(current.parent)
        folders = [entry.replace("$ORIGIN", origin).replace("${ORIGIN}", origin) for entry in search]
        folders += [entry for entry in os.environ.get("LD_LIBRARY_PATH", "").split(":") if entry]
        for name in needed:
            if name in seen:
                continue
            seen.add(name)
            found = _find_library(name, folders, cache, bits)
            if found is None:
                missing.append(name)
            else:
                queue.append(found)
    return missing


def _find_library(name: str, folders: list[str], cache: dict, bits: int) -> Path | None:
    for candidate in [os.path.join(folder, name) for folder in folders] + cache.get(name, []) + \
            [os.path.join(folder, name) for folder in _STANDARD_DIRS]:
        if os.path.isfile(candidate) and _elf_bits(candidate) == bits:
            return Path(candidate)
    return None


def _ldconfig_cache() -> dict[str, list[str]]:
    """soname -> paths, from the loader's cache (``ldconfig -p``); {} when it cannot be read."""
    ldconfig = shutil.which("ldconfig") or next((p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig")
                                                 if os.path.isfile(p)), None)
    if ldconfig is None:
        return {}
    try:
        output = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    cache: dict[str, list[str]] = {}
    for line in output.splitlines():
        name, arrow, target = line.strip().partition(" => ")
        if arrow:
            cache.setdefault(name.split(" (")[0], []).append(target.strip())
    return cache


def _elf_bits(path) -> int | None:
    try:
        with open(path, "rb") as stream:
            head = stream.read(5)
    except OSError:
        return None
    return {1: 32, 2: 64}.get(head[4]) if len(head) == 5 and head[:4] == b"\x7fELF" else None


def read_elf_dynamic(path) -> tuple[list[str], list[str], int] | None:
    """(DT_NEEDED names, DT_RUNPATH/DT_RPATH folders, 32 or 64) of an ELF shared library; None when
    ``path`` is not one. Reads the program headers and the dynamic segment only, never the whole file."""
    try:
        with open(path, "rb") as stream:
            return _read_dynamic(stream)
    except (OSError, struct.error, ValueError, IndexError):
        return None


def _read_dynamic(stream):
    ident = stream.read(16)
    if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return None
    wide, order = ident[4] == 2, "<" if ident[5] == 1 else ">"
    header = stream.read(48 if wide else 36)
    if wide:
        phoff, = struct.unpack_from(order + "Q", header, 0x20 - 16)
        phentsize, phnum = struct.unpack_from(order + "HH", header, 0x36 - 16)
        entry, dyn = order + "IIQQQQQQ", order + "qQ"
    else:
        phoff, = struct.unpack_from(order + "I", header, 0x1C - 16)
        phentsize, phnum = struct.unpack_from(order + "HH", header, 0x2A - 16)
        entry, dyn = order + "IIIIIIII", order + "iI"
    loads, dynamic = [], None
    for index in range(min(phnum, 512)):
        stream.seek(phoff + index * phentsize)
        fields = struct.unpack(entry, stream.read(struct.calcsize(entry)))
        if wide:
            kind, offset, vaddr, filesz = fields[0], fields[2], fields[3], fields[5]
        else:
            kind, offset, vaddr, filesz = fields[0], fields[1], fields[2], fields[4]
        if kind == 1:      # PT_LOAD: maps file offsets to addresses
            loads.append((vaddr, offset, filesz))
        elif kind == 2:    # PT_DYNAMIC
            dynamic = (offset, filesz)
    if dynamic is None:
        return None
    stream.seek(dynamic[0])
    raw = stream.read(min(dynamic[1], 1 << 20))
    size = struct.calcsize(dyn)
    entries = [struct.unpack_from(dyn, raw, at) for at in range(0, len(raw) - size + 1, size)]
    strtab = next((value for tag, value in entries if tag == 5), None)   # DT_STRTAB, an address
    if strtab is None:
        return None
    base = next(offset + strtab - vaddr for vaddr, offset, filesz in loads if vaddr <= strtab < vaddr + filesz)

    def string(at: int) -> str:
        stream.seek(base + at)
        return stream.read(4096).split(b"\0", 1)[0].decode("utf-8", "replace")

    needed, search = [], []
    for tag, value in entries:
        if tag == 0:       # DT_NULL ends the table
            break
        if tag == 1:       # DT_NEEDED
            needed.append(string(value))
        elif tag in (15, 29):   # DT_RPATH, DT_RUNPATH
            search += [part for part in string(value).split(":") if part]
    return needed, search, 64 if wide else 32
