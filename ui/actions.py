"""The window's actions: one QAction with its text, key and slot, on the window (or one widget) and in a menu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget


def add_action(owner: QWidget, text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None,
               menu: QMenu | None = None, widget: QWidget | None = None) -> QAction:
    """Make an action that calls `slot`; its key works anywhere in `owner`, or only inside `widget` when one
    is given (so keys such as Up and Down stay the text fields' elsewhere)."""
    act = QAction(text, widget or owner)
    act.triggered.connect(lambda _=False: slot())
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    if widget is not None:
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        widget.addAction(act)
    else:
        owner.addAction(act)
    if menu is not None:
        menu.addAction(act)
    return act
