"""Help › Keyboard shortcuts: every action of the window that has a key, read from the window's actions
(never a list kept by hand), grouped by the menu it sits in."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QMainWindow, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout)

OTHER_KEYS = "Other keys (where the focus is)"
HELP_KEYS = ("F1", "Ctrl+/")


def plain(text: str) -> str:
    """A menu text without its mnemonic marks ("&Undo" → "Undo", "R&&D" → "R&D")."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def keys_of(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action of `window` with a key: menu by menu in the menu bar's order,
    then the actions in no menu."""
    rows: list[tuple[str, str, str]] = []
    listed: set[QAction] = set()
    for entry in window.menuBar().actions():
        menu = entry.menu()
        if not isinstance(menu, QMenu):
            continue
        for action in menu.actions():
            if action.shortcuts() and action not in listed:
                listed.add(action)
                rows.append((plain(menu.title()), plain(action.text()), keys_of(action)))
    for action in window.findChildren(QAction):
        if action.shortcuts() and action not in listed:
            listed.add(action)
            rows.append((OTHER_KEYS, plain(action.text()), keys_of(action)))
    return rows


class ShortcutsDialog(QDialog):
    """The keys, a branch per menu; filled again each time it is shown (undo's text follows the stack)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(560, 620)

    def fill(self) -> None:
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for group, text, keys in shortcut_rows(self._window):
            if group not in groups:
                groups[group] = QTreeWidgetItem(self.tree, [group])
                groups[group].setFirstColumnSpanned(True)
                font = groups[group].font(0)
                font.setBold(True)
                groups[group].setFont(0, font)
            QTreeWidgetItem(groups[group], [text, keys])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)

    def listed(self) -> list[tuple[str, str, str]]:
        """What the dialog shows, as (menu, action, keys) rows."""
        rows = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            rows += [(group.text(0), group.child(k).text(0), group.child(k).text(1)) for k in range(group.childCount())]
        return rows


def add_help_menu(window: QMainWindow) -> ShortcutsDialog:
    """Add Help › Keyboard shortcuts (F1, Ctrl+/) to `window`; returns the dialog it opens, without blocking."""
    dialog = ShortcutsDialog(window)

    def show() -> None:
        dialog.fill()
        dialog.show()
        dialog.raise_()

    action = QAction("&Keyboard shortcuts", window)
    action.setShortcuts([QKeySequence(k) for k in HELP_KEYS])
    action.triggered.connect(lambda _=False: show())
    window.addAction(action)
    window.menuBar().addMenu("&Help").addAction(action)
    return dialog
