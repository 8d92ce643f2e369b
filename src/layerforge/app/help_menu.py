"""The Help menu [helpMenu] and the examples page, attached by one call: ``install_help(window)``.

Help > User guide (F1) [actionUserGuide], Keyboard shortcuts (Ctrl+/) [actionShortcuts], Examples…
[actionExamples] and About Layerforge [actionAbout]; File > Examples… [actionFileExamples] opens the
same start page. ``offer_start_page`` shows it once, the first time Layerforge starts, beside the ready
example project (so Train works at once whether or not the page is used).
"""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .actions import named_action
from .dialogs.help_dialogs import AboutDialog, GuideDialog, ShortcutsDialog
from .dialogs.start_page import StartPage
from .menus import menu_named
from .persist import app_settings

START_PAGE_SHOWN_KEY = "help/startPageShown"


class HelpMenu:
    def __init__(self, window):
        self.window = window
        self.dialogs: dict[str, object] = {}
        self.action_guide = named_action(window, "actionUserGuide", "&User guide", self.show_guide, "F1",
                                         "How to build a model, choose data, train, read the charts and export")
        self.action_shortcuts = named_action(window, "actionShortcuts", "&Keyboard shortcuts", self.show_shortcuts,
                                             "Ctrl+/", "Every keyboard shortcut of the window")
        self.action_examples = named_action(window, "actionExamples", "&Examples…", self.show_start_page,
                                            tip="Open an example project, each shown with a picture")
        self.action_about = named_action(window, "actionAbout", "&About Layerforge", self.show_about,
                                         tip="Version, the libraries it runs on, licences of the bundled data")
        self.menu = menu_named(window, "&Help")
        self.menu.setObjectName("helpMenu")
        for action in (self.action_guide, self.action_shortcuts, self.action_examples):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.action_about)
        for action in (self.action_guide, self.action_shortcuts):
            window.addAction(action)   # the keys work wherever the focus is
        self.action_file_examples = named_action(window, "actionFileExamples", "E&xamples…", self.show_start_page,
                                                 tip=self.action_examples.statusTip())
        file_menu = menu_named(window, "&File")
        examples_menu = next((a for a in file_menu.actions()
                              if a.menu() is not None and a.menu().objectName() == "examplesMenu"), None)
        file_menu.insertAction(examples_menu, self.action_file_examples)

    def _show(self, key: str, make):
        dialog = self.dialogs.get(key)
        if dialog is None:
            dialog = self.dialogs[key] = make()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_guide(self) -> GuideDialog:
        return self._show("guide", lambda: GuideDialog(self.window))

    def show_shortcuts(self) -> ShortcutsDialog:
        # Made anew each time: the list is read from the window's actions as they are now.
        old = self.dialogs.pop("shortcuts", None)
        if old is not None:
            old.close()
            old.deleteLater()
        return self._show("shortcuts", lambda: ShortcutsDialog(self.window))

    def show_about(self) -> AboutDialog:
        return self._show("about", lambda: AboutDialog(self.window))

    def show_start_page(self) -> StartPage:
        old = self.dialogs.pop("start", None)   # anew, so its pictures follow the theme shown now
        if old is not None:
            old.close()
            old.deleteLater()
        return self._show("start", lambda: StartPage(self.window))

    def offer_start_page(self) -> None:
        """The first time Layerforge starts: show the examples beside the ready project. Waits while a
        question (crash recovery) is open, so it never covers one."""
        settings = app_settings()
        if settings.value(START_PAGE_SHOWN_KEY, False, type=bool):
            return
        if QApplication.activeModalWidget() is not None:
            QTimer.singleShot(500, self.offer_start_page)
            return
        settings.setValue(START_PAGE_SHOWN_KEY, True)
        settings.sync()
        self.show_start_page()


def install_help(window) -> HelpMenu:
    """Attach the Help menu and File > Examples… to ``window`` (once); also ``window.help_menu``."""
    existing = getattr(window, "help_menu", None)
    if existing is None:
        existing = window.help_menu = HelpMenu(window)
    return existing
