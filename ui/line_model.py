"""The line table: a Qt model over the session's lines, and a filter for the lines that need work."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from dubber.pipeline.session import NEEDS_WORK, OK, SKIPPED, STATUS_COLOURS, Session
from dubber.project.store import LineEntry
from dubber.ui import line_words
from dubber.ui.line_words import span

# Voice comes last: it is mostly the speaker's, and in a narrow window the columns that judge sync come first.
COLUMNS = ("#", "Time", "Speech", "Speaker", "Text", "Target", "Error", "Status", "Takes", "Voice")
(COL_INDEX, COL_TIME, COL_SPEECH, COL_SPEAKER, COL_TEXT, COL_TARGET, COL_ERROR, COL_STATUS, COL_TAKES,
 COL_VOICE) = range(10)
HEADER_TIPS = {
    COL_TIME: "The cue: when the subtitle is shown",
    COL_SPEECH: "The original speech the line follows, found in the video's own audio (— when none)",
    COL_TARGET: "The length the dub aims at: the original speech's (≤: its natural length, within its window)",
    COL_ERROR: "How far the take runs past its window (0: it fits); under fill, its length less the cue's",
}
NOT_SPOKEN = QColor(STATUS_COLOURS[SKIPPED])


Index = QModelIndex | QPersistentModelIndex


class LineTableModel(QAbstractTableModel):
    """One row per line of the session's project, in timeline order."""

    def __init__(self, session: Session | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.session = session
        self._statuses: tuple[int, dict[int, str]] = (-1, {})  # (session version, row -> status)

    def set_session(self, session: Session | None) -> None:
        self.beginResetModel()
        self.session = session
        self._statuses = (-1, {})
        self.endResetModel()

    def line(self, row: int) -> LineEntry:
        assert self.session is not None
        return self.session.project.lines[row]

    def refresh(self, rows: list[int] | None = None) -> None:
        """Tell the views that these rows (default: all) changed."""
        if self.session is None or not self.session.project.lines:
            return
        last = len(self.session.project.lines) - 1
        for lo, hi in ([(min(rows), max(rows))] if rows else [(0, last)]):
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, len(COLUMNS) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        if parent.isValid() or self.session is None:
            return 0
        return len(self.session.project.lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.session is None:
            return None
        line = self.line(index.row())
        column = index.column()
        status = self._status(index.row(), line)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(line, column, status)
        if role == Qt.ItemDataRole.ForegroundRole:
            if status == SKIPPED:  # the whole row greys out: nothing of it is spoken
                return QBrush(NOT_SPOKEN)
            if column in (COL_ERROR, COL_STATUS) and status in STATUS_COLOURS:
                return QBrush(QColor(STATUS_COLOURS[status]))
            return None
        if role == Qt.ItemDataRole.FontRole and (status == SKIPPED or (column == COL_ERROR and status != OK)):
            font = QFont()
            font.setItalic(status == SKIPPED)
            font.setBold(status != SKIPPED)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            # The voice too: in a narrow window its column gives way to the text.
            tip = f"{line_words.tooltip(self.session, line)}\nVoice: {self._voice(line)}"
            return f"{line.text}\n\n{tip}" if column == COL_TEXT else tip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_INDEX, COL_TARGET, COL_ERROR, COL_TAKES):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return status
        return None

    def _status(self, row: int, line: LineEntry) -> str:
        """The line's status, judged once per edit: a view asks for it for every cell and role it draws."""
        assert self.session is not None
        version = self.session.version
        if self._statuses[0] != version:
            self._statuses = (version, {})
        known = self._statuses[1]
        if row not in known:
            known[row] = self.session.status(line)
        return known[row]

    def _text(self, line: LineEntry, column: int, status: str) -> str:
        take = line.take
        if column == COL_INDEX:
            return str(line.index)
        if column == COL_TIME:
            return span(line.start_ms, line.end_ms)
        if column == COL_SPEECH:
            return span(line.target_start_ms, line.target_end_ms)
        if column == COL_SPEAKER:
            return line.speaker
        if column == COL_TEXT:
            return line.text
        if column == COL_VOICE:
            return self._voice(line)
        if column == COL_TARGET:
            assert self.session is not None
            return line_words.target_length(line, self.session.slots().get(line.index))
        if column == COL_ERROR:
            if take is None or take.error_ms is None or status == SKIPPED:
                return "—"
            return f"{take.error_ms:+d} ms"
        if column == COL_STATUS:
            return line_words.status_words(line, status)
        if column == COL_TAKES:
            return str(len(line.takes))
        return ""

    def _voice(self, line: LineEntry) -> str:
        take = line.take
        if line.engine or line.voice:
            return f"{line.engine or (take.engine if take else '')} {line.voice or ''}".strip()
        if take is not None:
            return f"{take.engine} {take.voice}".strip()
        speaker = self.session.project.speakers.get(line.speaker) if self.session else None
        return f"{speaker.engine} {speaker.voice}".strip() if speaker else "default"


class NeedsWorkFilter(QSortFilterProxyModel):
    """Show every line, or only those out of sync, edited, failed or not dubbed."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._only = False

    @property
    def only_needing_work(self) -> bool:
        return self._only

    def set_only_needing_work(self, only: bool) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter is deprecated there
            self.beginFilterChange()
            self._only = only
            self.endFilterChange()
        else:
            self._only = only
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        if not self._only:
            return True
        status = self.sourceModel().index(row, 0, parent).data(Qt.ItemDataRole.UserRole)
        return status in NEEDS_WORK
