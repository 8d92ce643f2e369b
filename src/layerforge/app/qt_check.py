"""``layerforge doctor``'s PySide6 line: does Qt import, and which version. Here because only the app
imports Qt (DESIGN.md); the doctor (``layerforge.doctor``) calls it when it runs, never at import."""
from __future__ import annotations

import re
from typing import Callable, Iterator


def pyside_lines(import_module: Callable[[str], object]) -> Iterator[tuple[str, str, str]]:
    """(status, "PySide6", text): OK with the versions, or FAIL with the install to do. ``import_module``
    is the doctor's importer (tests make it fail)."""
    try:
        for module in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
            import_module(module)
    except ImportError as error:
        from ..qt_libraries import install_hint
        libraries = re.findall(r"(lib[\w.+-]+\.so[.\d]*): cannot open shared object file", str(error))
        fix = install_hint(libraries) or "pip install --force-reinstall PySide6-Essentials"
        yield "FAIL", "PySide6", f"does not import ({error}): {fix}"
        return
    import PySide6
    from PySide6 import QtCore
    yield "OK", "PySide6", f"{PySide6.__version__} (Qt {QtCore.qVersion()})"
