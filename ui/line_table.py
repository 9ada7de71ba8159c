"""The line table's view: one row per line, its columns fitted to the view so a window 1024 px wide shows them all."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, QEvent, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from dubber.project.store import LineEntry
from dubber.ui.line_model import COL_SPEAKER, COL_STATUS, COL_TEXT, COL_VOICE

# The columns of words are elided to fit; the numbers (time, length, error, takes) never are.
ELIDED_MAX_PX = {COL_SPEAKER: 120, COL_STATUS: 110, COL_VOICE: 150}  # "edited, needs a new take" elides past this
ELIDED_MIN_PX = {COL_SPEAKER: 56, COL_STATUS: 64, COL_VOICE: 56}
SHRINK_FIRST = (COL_VOICE, COL_SPEAKER, COL_STATUS)  # the voice is mostly the speaker's: it gives way first
TEXT_MIN_CHARS = 25  # below this the text says too little to tell lines apart ("Did you remember to bring")
TEXT_FLOOR_PX = 48  # in a window narrower than 1024 px the text gives way too, before a scroll bar
CONTENTS_PRECISION = 100  # rows measured beyond those in view when fitting a column to its contents
GIVES_WAY = COL_VOICE  # when shrinking is not enough, the voice leaves the table (the editor shows it)


class LineTable(QTableView):
    """The lines, one selected at a time: the numbers fit their contents, the words are elided to fit the
    view, and the text takes the room left."""

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
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Measured on the rows in view and a sample of the rest, not every row of a feature film: a whole
        # measure on each edit took a second on 600 lines. Times and numbers are as wide on every row.
        header.setResizeContentsPrecision(CONTENTS_PRECISION)
        for column in (COL_TEXT, *ELIDED_MAX_PX):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
        header.sectionResized.connect(self._on_section_resized)
        for signal in (model.dataChanged, model.modelReset, model.layoutChanged, model.rowsInserted,
                       model.rowsRemoved):
            signal.connect(self._fit_columns)

    def show_lines(self, lines: Sequence[LineEntry]) -> None:
        """Hide the speaker column when no line names a speaker."""
        self.setColumnHidden(COL_SPEAKER, not any(line.speaker for line in lines))
        self._fit_columns()

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:  # the window, or a vertical scroll bar coming or going
            self._fit_columns()
        return handled

    def _on_section_resized(self, column: int, old: int, new: int) -> None:
        if column not in (COL_TEXT, *ELIDED_MAX_PX):  # a number column grew or shrank with its contents
            self._fit_columns()

    def _wanted(self, column: int) -> int:
        return max(self.horizontalHeader().sectionSizeHint(column), self.sizeHintForColumn(column))

    def text_min_px(self) -> int:
        """The text's readable minimum: TEXT_MIN_CHARS average letters and the cell's margins."""
        return self.fontMetrics().averageCharWidth() * TEXT_MIN_CHARS + 12

    def _fit_columns(self, *_: object) -> None:
        """Give the words' columns their contents (capped), shrink them when the view is too narrow, drop
        the voice when that is not enough, and give the text whatever is left."""
        header = self.horizontalHeader()
        shown = [c for c in range(header.count()) if not self.isColumnHidden(c) or c == GIVES_WAY]
        elided = {c: min(ELIDED_MAX_PX[c], self._wanted(c)) for c in shown if c in ELIDED_MAX_PX}
        numbers = sum(header.sectionSize(c) for c in shown if c != COL_TEXT and c not in elided)
        room = self.viewport().width() - numbers
        short = self.text_min_px() - (room - sum(elided.values()))
        for column in SHRINK_FIRST:
            if short <= 0:
                break
            if column in elided:
                give = min(short, max(0, elided[column] - ELIDED_MIN_PX[column]))
                elided[column] -= give
                short -= give
        if short > 0:
            del elided[GIVES_WAY]
        if self.isColumnHidden(GIVES_WAY) != (short > 0):
            self.setColumnHidden(GIVES_WAY, short > 0)
        for column, width in elided.items():
            if header.sectionSize(column) != width:
                header.resizeSection(column, width)
        header.resizeSection(COL_TEXT, max(TEXT_FLOOR_PX, room - sum(elided.values())))
