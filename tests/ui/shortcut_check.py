"""Press undo and redo on a window as an editor does, and find keys given to two actions.

Imported by test_shortcuts.py (offscreen) and run by it under Xvfb with the xcb platform, whose standard
key bindings differ (Redo there is Ctrl+Shift+Z alone). Prints what it found as JSON.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand
from PySide6.QtWidgets import QWidget

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
PRESSES = {"Ctrl+Z": (Qt.Key.Key_Z, CTRL), "Ctrl+Shift+Z": (Qt.Key.Key_Z, CTRL | SHIFT),
           "Ctrl+Y": (Qt.Key.Key_Y, CTRL)}


def ambiguous(window: QWidget) -> dict[str, list[str]]:
    """Each key bound more than once among the window's actions (or twice to one), with the actions."""
    users: dict[str, list[str]] = defaultdict(list)
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            users[key.toString(QKeySequence.SequenceFormat.PortableText)].append(action.text())
    return {key: names for key, names in users.items() if len(names) > 1}


class Count(QUndoCommand):
    """An edit that counts: redo adds one, undo takes it back."""

    def __init__(self, box: list[int]) -> None:
        super().__init__("Count")
        self.box = box

    def redo(self) -> None:
        self.box[0] += 1

    def undo(self) -> None:
        self.box[0] -= 1


def undo_redo_by_keys(window, press: Callable[[str], None]) -> list[tuple[str, int]]:
    """Push one edit, then undo and redo it by keys; the count after each press (1, 0, 1, 0, 1 when all work)."""
    box = [0]
    window.undo.push(Count(box))
    window.update_enabled()
    seen = [("push", box[0])]
    for key in ("Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Z", "Ctrl+Y"):
        press(key)
        seen.append((key, box[0]))
    return seen


def main() -> int:
    from dubber.ui.app import application
    from dubber.ui.main_window import MainWindow
    from PySide6.QtTest import QTest

    app = application()
    window = MainWindow()
    window.show()
    window.activateWindow()
    active = QTest.qWaitForWindowActive(window, 5000)

    def press(key: str) -> None:
        QTest.keyClick(window.table, *PRESSES[key])
        app.processEvents()

    print(json.dumps({"platform": app.platformName(), "active": active, "ambiguous": ambiguous(window),
                      "presses": undo_redo_by_keys(window, press)}))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
