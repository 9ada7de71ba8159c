"""The line table's view: one row per line, sized to stay readable in a window 1024 px wide."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from dubber.project.store import LineEntry
from dubber.ui.line_model import COL_SPEAKER, COL_STATUS, COL_TEXT, COL_VOICE

TEXT_MIN_PX = 120  # below this the text says too little to tell lines apart
FIXED_PX = {COL_STATUS: 100, COL_VOICE: 150}  # elided: "edited, needs a new take", "piper en_US-joe-medium"


class LineTable(QTableView):
    """The lines, one selected at a time: every column fits its contents and the text takes the room left."""

    def __init__(self, model: QAbstractItemModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)  # one line a row, elided: the tooltip has the whole text
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Interactive)
        for column, width in FIXED_PX.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.sectionResized.connect(self._on_section_resized)

    def show_lines(self, lines: Sequence[LineEntry]) -> None:
        """Hide the speaker column when no line names a speaker."""
        self.setColumnHidden(COL_SPEAKER, not any(line.speaker for line in lines))
        self._fit_text()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit_text()

    def _on_section_resized(self, column: int, old: int, new: int) -> None:
        if column != COL_TEXT:  # the text column gives or takes what the others changed
            self._fit_text()

    def _fit_text(self) -> None:
        header = self.horizontalHeader()
        shown = [c for c in range(header.count()) if c != COL_TEXT and not self.isColumnHidden(c)]
        others = sum(header.sectionSize(c) for c in shown)
        header.resizeSection(COL_TEXT, max(TEXT_MIN_PX, self.viewport().width() - others))
