"""``layerforge doctor``: can this machine run Layerforge, and if not, what to do.

One line per check: ``OK`` with what was found, ``FAIL`` with what to do, ``NOTE`` for what is
optional (no GPU, no display) and costs nothing but a feature. The exit status is 0 when no check
failed, 1 otherwise. Qt is imported only when its check runs (by app/qt_check.py: only the app imports
Qt), and never started: a broken Qt is one of the things this reports, so it must not take the report
down with it.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, TextIO

OK, FAIL, NOTE = "OK", "FAIL", "NOTE"
ORGANIZATION = APPLICATION = "Layerforge"   # as app/persist.py names the app's folders

# (module to import, distribution, what Layerforge uses it for)
PACKAGES = [
    ("safetensors", "safetensors", "reading and exporting weights"),
    ("onnx", "onnx", "ONNX export"),
    ("PIL", "Pillow", "image folders"),
    ("pyqtgraph", "pyqtgraph", "the window's charts"),
]

Line = tuple[str, str, str]   # (status, what was checked, what was found or what to do)


def _import(name: str):
    """importlib.import_module, apart so that tests can make an import fail."""
    return importlib.import_module(name)


def check_versions() -> Iterator[Line]:
    import layerforge
    yield OK, "Python", (f"{sys.version.split()[0]} ({sys.executable}), Layerforge {layerforge.__version__} "
                         f"({Path(layerforge.__file__).parent})")


def check_pyside() -> Iterator[Line]:
    from .app.qt_check import pyside_lines   # Qt is imported by the app's module, when this runs
    yield from pyside_lines(_import)


def check_qt_platform(environ=None) -> Iterator[Line]:
    from .qt_libraries import (LABELS, PLUGIN_FILES, missing_libraries, platforms_qt_will_try, plugin_path,
                               qt_display_problem, qt_platform_problem)
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        yield OK, "Qt platform", f"not checked on {sys.platform} (Qt ships what it needs there)"
        return
    platforms = platforms_qt_will_try(environ)
    first = platforms[0]
    if first not in PLUGIN_FILES:
        yield OK, "Qt platform", f"{first} (QT_QPA_PLATFORM={environ.get('QT_QPA_PLATFORM', '')}): not a desktop; not checked"
        return
    if plugin_path(first, environ) is None:
        yield FAIL, "Qt platform", (f"PySide6's {first} plugin ({PLUGIN_FILES[first]}) was not found: "
                                    f"pip install --force-reinstall PySide6-Essentials")
        return
    problem = qt_platform_problem(environ)
    if problem is not None:
        yield FAIL, "Qt platform", problem
    else:
        usable = next(name for name in platforms if not missing_libraries(plugin_path(name, environ)))
        yield OK, "Qt platform", f"the system libraries of Qt's {LABELS[usable]} plugin are installed"
    display = qt_display_problem(environ)
    if display is not None:
        yield NOTE, "display", f"{display[0].upper()}{display[1:]}"
    else:
        variable = next((key for key in ("WAYLAND_DISPLAY", "DISPLAY") if environ.get(key)), None)
        yield OK, "display", f"{environ[variable]} ({variable})" if variable else "the Wayland session's"


def check_opengl() -> Iterator[Line]:
    if not sys.platform.startswith("linux"):
        yield OK, "OpenGL", f"not checked on {sys.platform}"
        return
    from .qt_libraries import find_system_library, install_hint
    names = ["libGL.so.1", "libEGL.so.1"]
    missing = [name for name in names if find_system_library(name) is None]
    if not missing:
        yield OK, "OpenGL", ", ".join(names) + " found"
    else:
        yield NOTE, "OpenGL", (f"{', '.join(missing)} not found: the charts draw without OpenGL (pyqtgraph does not "
                               f"need it), but Qt's desktop plugins do: {install_hint(missing)}")


def check_blas() -> Iterator[Line]:
    import numpy as np

    from .engine.threads import available_cpus, blas_core, blas_threads_controllable, get_num_threads
    blas = (getattr(np.__config__, "CONFIG", None) or {}).get("Build Dependencies", {}).get("blas", {})
    name = f"{blas.get('name', 'unknown BLAS')} {blas.get('version', '')}".strip()
    core = blas_core()  # the CPU kernels OpenBLAS chose: what its speed on this machine depends on
    if core:
        name += f" with its {core} kernels"
    text = f"{name} (numpy {np.__version__}), {get_num_threads()} threads for {available_cpus()} CPUs"
    set_by = [f"{key}={os.environ[key]}" for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
              if key in os.environ]
    if set_by:
        text += f" ({', '.join(set_by)})"
    if not blas_threads_controllable():
        text += "; Layerforge cannot change its thread count: set OMP_NUM_THREADS before starting instead"
    yield OK, "BLAS", text


def check_malloc() -> Iterator[Line]:
    from .engine import allocator
    given = os.environ.get("LAYERFORGE_MALLOC", "").strip()
    if given and not allocator.opted_out():   # a typo would otherwise pass unnoticed
        yield NOTE, "Memory", (f"LAYERFORGE_MALLOC={given} is not a value Layerforge knows: only 'system' "
                               "changes anything (it leaves malloc as it is); unset it or set it to system")
        return
    if allocator.freed_memory_kept():
        yield OK, "Memory", (f"glibc's malloc keeps freed memory for the next step (up to "
                             f"{allocator.TRIM_THRESHOLD >> 20} MiB; LAYERFORGE_MALLOC=system turns that off)")
    elif allocator.opted_out():
        yield NOTE, "Memory", ("LAYERFORGE_MALLOC=system: malloc returns freed memory at once, so large "
                               "models' steps fault in fresh pages (up to a quarter of a step)")
    else:
        yield OK, "Memory", "the C library's own malloc (only glibc's is tuned)"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:   # in sys.modules without a spec (a stand-in put there by a test)
        return module in sys.modules


def check_gpu() -> Iterator[Line]:
    from .engine import cuda
    reason = cuda.unavailable_reason()   # imports cupy when it is there
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        yield OK, "cupy", str(getattr(cupy, "__version__", "installed"))
    elif not _installed("cupy"):
        yield NOTE, "cupy", "not installed: training runs on the CPU (for an NVIDIA GPU: pip install layerforge[gpu])"
    if reason is not None:
        yield NOTE, "GPU", f"not available: {reason}"
        return
    for index in range(cuda.device_count()):
        yield OK, f"GPU {index}", f"{cuda.get_device_name(index)}{_gpu_memory(index)}"


def _gpu_memory(index: int) -> str:
    from .engine import backend
    try:
        cupy = backend.array_module(backend.as_device(f"cuda:{index}"))
        with cupy.cuda.Device(index):
            free, total = cupy.cuda.runtime.memGetInfo()
    except Exception:   # noqa: BLE001  the memory is a detail; the GPU line stands without it
        return ""
    return f", {total / 1024 ** 3:.1f} GiB ({free / 1024 ** 3:.1f} GiB free)"


def user_folders(environ=None) -> dict[str, Path]:
    """The folders the app writes to: its autosave folder and its settings folder, asked of the app
    itself (app/persist.py, the one place that decides them) when Qt imports, else by the XDG rules
    Qt follows."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home())
    try:
        from layerforge.app.persist import app_data_dir, app_settings
        autosave = app_data_dir() / "autosave"
        settings = Path(app_settings().fileName()).parent
    except ImportError:
        data = Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        autosave = data / ORGANIZATION / APPLICATION / "autosave"
        settings = Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / ORGANIZATION
    folders = {"data folder": autosave, "settings folder": settings}
    if _installed("cupy"):   # cupy compiles kernels into it on first use
        folders["cupy kernel cache"] = Path(environ.get("CUPY_CACHE_DIR") or home / ".cupy" / "kernel_cache")
    return folders


def writable(folder: Path, create: bool = True) -> str | None:
    """None when a file can be written in ``folder`` (made when missing), else why not."""
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".layerforge-doctor-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return error.strerror or str(error)
    return None


def check_folders(environ=None) -> Iterator[Line]:
    environ = os.environ if environ is None else environ
    uses = {"data folder": "autosave is off", "settings folder": "recent files and the layout are not kept",
            "cupy kernel cache": "cupy cannot compile its GPU kernels"}
    for name, folder in user_folders(environ).items():
        problem = writable(folder)
        if problem is None:
            yield OK, name, f"{folder} is writable"
            continue
        fix = f"make it writable (sudo chown -R $USER {folder}) or point Layerforge elsewhere"
        if sys.platform.startswith("linux"):
            variable = {"data folder": "XDG_DATA_HOME", "settings folder": "XDG_CONFIG_HOME",
                        "cupy kernel cache": "CUPY_CACHE_DIR"}[name]
            fix = f"make it writable (sudo chown -R $USER {folder}) or set {variable} to a writable folder"
        yield FAIL, name, f"cannot write in {folder} ({problem}): {uses[name]}; {fix}"
    here = Path.cwd()
    problem = writable(here, create=False)
    if problem is None:
        yield OK, "current folder", f"{here} is writable"
    else:
        yield NOTE, "current folder", (f"cannot write in {here} ({problem}): train and export write here unless "
                                       f"told otherwise; pass --out or work in another folder")


def check_packages() -> Iterator[Line]:
    for module, distribution, purpose in PACKAGES:
        try:
            imported = _import(module)
        except Exception as error:   # noqa: BLE001  a broken install raises more than ImportError
            yield FAIL, distribution, (f"does not import ({type(error).__name__}: {error}); it is needed for "
                                       f"{purpose}: pip install --force-reinstall {distribution}")
            continue
        yield OK, distribution, str(getattr(imported, "__version__", "installed"))


CHECKS: list[Callable[[], Iterator[Line]]] = [check_versions, check_pyside, check_qt_platform, check_opengl,
                                              check_blas, check_malloc, check_gpu, check_folders, check_packages]


def run_doctor(out: TextIO | None = None) -> int:
    """Print one line per check; 0 when none failed, 1 otherwise (no GPU or no display is not a failure)."""
    out = sys.stdout if out is None else out
    failed = 0
    for check in CHECKS:
        try:
            lines = list(check())
        except Exception as error:   # noqa: BLE001  one broken check must not hide the others
            name = check.__name__.removeprefix("check_").replace("_", " ")
            lines = [(FAIL, name, f"the check itself failed ({type(error).__name__}: {error}); please report it")]
        for status, name, text in lines:
            failed += status == FAIL
            print(f"{status:<4} {name}: {text}", file=out, flush=True)
    print(f"{failed} check(s) failed: do what the FAIL lines say." if failed else
          "Everything Layerforge needs is here.", file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_doctor())
