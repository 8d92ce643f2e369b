"""The main window's size on the screen it opens on.

The window opens at a size that fits the screen's available area (the screen less its panels and
task bar): filling a laptop's 1280x720, roomy but not wall to wall on a 2560x1440 monitor. A size
remembered from another screen is restored only where it fits this one.

Everything asks :func:`available_geometry` for the screen's area, so a test can stand in any screen.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication

PREFERRED = QSize(1400, 900)   # the window's size where the screen has room to spare
ROOMY = 1.15                   # a screen this much larger than PREFERRED leaves the window ...
SHARE_OF_LARGE_SCREEN = 0.9    # ... this share of it (a 2560x1440 monitor: about 2300x1200)
# A title bar and borders that the window manager adds outside the window, until they can be measured.
FRAME_GUESS = QSize(4, 40)
TOLERANCE = 12                 # px a frame may stick out (Windows draws invisible resize borders)


def available_geometry(widget=None) -> QRect:
    """The available area of the screen ``widget`` is on (of the primary screen without one)."""
    screen = widget.screen() if widget is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(QPoint(0, 0), PREFERRED)


def frame_margins(window) -> QSize:
    """What the window manager adds around ``window`` (measured once shown, else a guess)."""
    extra = window.frameGeometry().size() - window.geometry().size()
    if window.isVisible() and (extra.width() > 0 or extra.height() > 0):
        return extra
    return QSize(FRAME_GUESS)


def opening_size(room: QSize) -> QSize:
    """The window's size (without its frame) for ``room``, the space a frame may fill: all of a small
    screen, PREFERRED on a mid-sized one, most of a large one (the canvas and charts take the rest)."""
    def side(space: int, preferred: int) -> int:
        if space <= preferred * ROOMY:
            return space
        return max(preferred, round(space * SHARE_OF_LARGE_SCREEN))
    return QSize(side(room.width(), PREFERRED.width()), side(room.height(), PREFERRED.height()))


def fit_to_screen(window) -> QRect:
    """Size ``window`` for the screen it is on and centre it there; returns its new geometry."""
    available = available_geometry(window)
    frame = frame_margins(window)
    size = opening_size(available.size() - frame)
    size = size.expandedTo(window.minimumSize())   # never below what the window can show at all
    outer = size + frame
    left = available.x() + max(0, (available.width() - outer.width()) // 2)
    top = available.y() + max(0, (available.height() - outer.height()) // 2)
    window.resize(size)
    window.move(left, top)   # move() places the frame, resize() sizes what is inside it
    return QRect(QPoint(left, top), size)


def fits_screen(window, size: QSize | None = None) -> bool:
    """Whether ``window`` (or a window of ``size``, frame not included) fits the available area of
    its screen. A maximized or full-screen window fits wherever it is."""
    if size is None and (window.isMaximized() or window.isFullScreen()):
        return True
    available = available_geometry(window)
    outer = (size if size is not None else window.geometry().size()) + frame_margins(window)
    return (outer.width() <= available.width() + TOLERANCE
            and outer.height() <= available.height() + TOLERANCE)


def saved_geometry(data) -> tuple[QRect, bool] | None:
    """The normal geometry (frame not included) and the maximized flag in what QWidget.saveGeometry()
    wrote, or None where it cannot be read.

    The layout is Qt's (unchanged since Qt 4): magic, major and minor version, the frame geometry,
    the normal geometry, the screen number, maximized, full screen, ..."""
    data = QByteArray(data)   # kept referenced: the stream reads it in place
    stream = QDataStream(data, QIODevice.OpenModeFlag.ReadOnly)
    stream.setVersion(QDataStream.Version.Qt_4_0)
    if stream.readUInt32() != 0x1D9D0CB or stream.readUInt16() < 1:
        return None
    stream.readUInt16()   # minor version

    def rect() -> QRect:
        left, top, right, bottom = (stream.readInt32() for _ in range(4))
        return QRect(QPoint(left, top), QPoint(right, bottom))

    rect()   # the frame geometry
    normal = rect()
    stream.readInt32()   # screen number
    maximized = bool(stream.readUInt8())
    if stream.status() != QDataStream.Status.Ok or normal.width() <= 0 or normal.height() <= 0:
        return None
    return normal, maximized
