"""The status line: where the panel says what it is doing, and the boxes that say what went wrong."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

from dubber.ui.messages import describe


class StatusLine(QLabel):
    """The status bar's message; `last_message` keeps the last box's title and text (for tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_message: tuple[str, str] = ("", "")

    def show_status(self, text: str) -> None:
        self.setText(text)

    def show_error(self, error: BaseException, line: int | None = None) -> None:
        title, text = describe(error, line)
        self.show_problem(title, text)

    def show_problem(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> None:
        """Say it in a box over the window that does not block (the window stays live)."""
        self.last_message = (title, text)
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.window())
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.show_status(f"{title}: {text.splitlines()[0] if text else ''}")
