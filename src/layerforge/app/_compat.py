"""Work around a reference-count bug of PySide6 6.12 on Python 3.11.

PySide6 6.12's bindings treat None, True and False as immortal objects (they are, from Python 3.12
on) and release a reference to them that they never took: every Python override of a Qt virtual
(``paintEvent``, ``paint``, ``event``, ...) returning None or a bool costs one. A window repainting
at 30 frames per second brings None's count to zero within minutes and the interpreter aborts with
"none_dealloc: deallocating None". On Python < 3.12 we give these singletons a reference count no
session can exhaust, which is what immortality means on 3.12. Nothing else is touched.
"""
from __future__ import annotations

import ctypes
import sys

_BALLAST = 1 << 50  # references added once; at ~10^4 lost per second this lasts for millennia
_applied = False


def make_singletons_immortal() -> bool:
    """Apply the workaround once (Python < 3.12 only); True when it was applied by this call."""
    global _applied
    if _applied or sys.version_info >= (3, 12):
        return False
    for singleton in (None, True, False, Ellipsis, NotImplemented):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field
        refcount.value += _BALLAST
    _applied = True
    return True
