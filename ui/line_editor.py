"""The line editor: the selected line's timing, text, voice and takes, and the buttons that change them.

It only shows a line and holds the editor's input; the window wires its buttons to the actions, which
go through the undo stack.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from dubber.config import Config
from dubber.pipeline.checks import line_checks
from dubber.pipeline.session import SKIPPED, Session
from dubber.plugin import registry
from dubber.plugin.engine import Emotion
from dubber.project.store import LineEntry, TakeRecord
from dubber.text.pronunciation import plain
from dubber.ui import line_words
from dubber.ui.line_words import SPEAK_KEY, clock, span
from dubber.ui.messages import cannot_run
from dubber.ui.timing_checks import TimingChecksBox

SPEAKERS_CHOICE = "(speaker's)"
NUDGES_MS = (-100, -10, 10, 100)
TAKES_ROWS = 4  # the list is this many whole rows high: a row cut in half reads as a broken take


def parse_emotion(text: str) -> Emotion | None:
    """'calm and warm' is an emotion in words; '0,0,0,0,0,0,0,0.8' is a vector of weights."""
    text = text.strip()
    if not text:
        return None
    numbers = re.split(r"[,\s]+", text)
    try:
        return Emotion(kind="vector", vector=tuple(float(n) for n in numbers))
    except ValueError:
        return Emotion(kind="text", text=text)


def take_label(k: int, take: TakeRecord, line: LineEntry) -> str:
    """One take in the takes list: seed, voice, status, error, and its words when they differ."""
    error = f"{take.error_ms:+d} ms" if take.error_ms is not None else take.reason or take.status
    # A take records the words as spoken (dictionary markup in); the words shown are without markup.
    text = "" if not take.text or plain(take.text) == plain(line.text) else f" · “{plain(take.text)[:30]}”"
    mark = "▶ " if k == line.chosen else "   "
    return f"{mark}{k + 1}. seed {take.seed} · {take.engine} {take.voice} · {take.status} · {error}{text}"


def take_tooltip(k: int, take: TakeRecord, line: LineEntry) -> str:
    """A take in full, for its row's tooltip: the row is elided in a narrow panel."""
    error = f"{take.error_ms:+d} ms" if take.error_ms is not None else "not measured"
    rows = [f"Take {k + 1}{' (in use)' if k == line.chosen else ''}: seed {take.seed}, {take.engine} {take.voice}",
            f"Status: {take.status}, error {error}"]
    if take.reason:
        rows.append(f"Note: {take.reason}")
    if take.text and plain(take.text) != plain(line.text):
        rows.append(f"Words: “{plain(take.text)}”")
    return "\n".join(rows)


def offer_engines(box: QComboBox, lang: str, config: Config | None = None, first: str | None = None) -> None:
    """Fill `box` with the engines that speak `lang` (after `first`, when given), keeping its choice; one that
    cannot run here is greyed, its reason in its tooltip."""
    box.blockSignals(True)
    current = box.currentText()
    box.clear()
    if first is not None:
        box.addItem(first)
    model = box.model()
    assert isinstance(model, QStandardItemModel)
    # The registry's check says why without loading an engine; no probe: a server may be slow to answer.
    for row in registry.describe(config, probe=False):
        if lang not in (row["capabilities"] or {}).get("languages", ()):
            continue
        box.addItem(row["name"])
        if not row["available"]:
            item = model.item(box.count() - 1)
            item.setEnabled(False)
            item.setToolTip(f"{cannot_run(row['name'], row['reason'])}\n\n{row['reason']}")
    box.setCurrentText(current or first or "")
    box.blockSignals(False)


class LineEditor(QGroupBox):
    """The selected line, editable; `show_line` fills it from the session."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Line", parent)
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # labels go above in a narrow panel
        self.line_title = QLabel("No line selected")
        self.line_title.setWordWrap(True)
        form.addRow(self.line_title)
        self.timing_label = QLabel()  # the original speech, or why the line is not spoken
        self.timing_label.setWordWrap(True)
        form.addRow(self.timing_label)
        self.checks_box = TimingChecksBox()  # what is wrong with its timing, and the fixes that apply
        form.addRow(self.checks_box)

        self.play_button = QPushButton("Play in context (Space)")
        self.play_take_button = QPushButton("Play take (T)")
        self.reroll_button = QPushButton("Re-roll (R)")
        self.speak_button = QPushButton(f"Speak anyway ({SPEAK_KEY})")
        # Two rows of two, not a grid: a grid's columns would both be as wide as the widest button, and
        # the panel must stay narrow enough for the table's text beside it at 1024 px.
        for pair in ((self.play_button, self.play_take_button), (self.reroll_button, self.speak_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button, 1)
            form.addRow(row)

        self.text_edit = QPlainTextEdit()
        self.text_edit.setMaximumHeight(64)
        self.apply_text_button = QPushButton("Speak this text")
        form.addRow("Text", self.text_edit)
        form.addRow("", self.apply_text_button)

        self.engine_box = QComboBox()
        self.voice_box = QComboBox()
        self.voice_box.setEditable(True)  # Kokoro takes blends such as jf_alpha*0.6+jm_kumo*0.4
        self.emotion_edit = QLineEdit()
        self.emotion_edit.setPlaceholderText("emotion in words, or weights: 0,0,0,0,0,0,0,0.8")
        self.apply_voice_button = QPushButton("Speak with this voice")
        form.addRow("Engine", self.engine_box)
        form.addRow("Voice", self.voice_box)
        form.addRow("Emotion", self.emotion_edit)
        form.addRow("", self.apply_voice_button)

        timing = QHBoxLayout()
        self.start_box, self.end_box = QSpinBox(), QSpinBox()
        for box in (self.start_box, self.end_box):
            box.setRange(0, 24 * 3_600_000)
            box.setSuffix(" ms")
            box.setSingleStep(10)
            # Shows up to 2¾ hours whole (a later time scrolls in the box); the box's own hint measures
            # 24 hours and would widen the panel past the room the table needs at 1024 px.
            box.setMinimumWidth(box.fontMetrics().horizontalAdvance("9999999 ms") + 24)
            timing.addWidget(box)
        self.set_timing_button = QPushButton("Set")
        timing.addWidget(self.set_timing_button)
        form.addRow("Start / end", timing)
        nudges = QHBoxLayout()
        # "+100", the unit in the row's label: "+100 ms" is cut off in a panel narrow enough for the table.
        self.nudge_buttons = {delta: QPushButton(f"{delta:+d}") for delta in NUDGES_MS}
        for delta, button in self.nudge_buttons.items():
            button.setToolTip(f"Nudge the line {abs(delta)} ms {'earlier' if delta < 0 else 'later'}")
        for button in (*self.nudge_buttons.values(), self.set_timing_button):
            button.setMinimumWidth(48)  # narrower than the style's 80: the panel leaves room for the table
        for button in self.nudge_buttons.values():
            nudges.addWidget(button)
        form.addRow("Nudge (ms)", nudges)

        self.takes_list = QListWidget()
        # Whole rows only, elided at the edge (the tooltip has the full take) rather than scrolled sideways.
        self.takes_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.takes_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.takes_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.takes_list.setUniformItemSizes(True)
        self._size_takes_list()
        self.use_take_button = QPushButton("Use this take")
        form.addRow("Takes", self.takes_list)
        form.addRow("", self.use_take_button)
        self._engines_for: tuple[str, Config | None] | None = None
        self.clear()

    @property
    def edit_buttons(self) -> list[QPushButton]:
        """The buttons that change the line (they wait while a job runs)."""
        return [self.reroll_button, self.apply_text_button, self.apply_voice_button, self.set_timing_button,
                self.use_take_button, *self.nudge_buttons.values()]

    def emotion(self) -> Emotion | None:
        return parse_emotion(self.emotion_edit.text())

    @property
    def fields(self) -> list[QWidget]:
        """The inputs that hold a line's values (empty and disabled when no line is selected)."""
        return [self.text_edit, self.engine_box, self.voice_box, self.emotion_edit, self.start_box, self.end_box,
                self.takes_list]

    def clear(self) -> None:
        """Show no line: every field emptied, so nothing of the line shown before is left to edit."""
        self.line_title.setText("No line selected")
        self.timing_label.clear()
        self.checks_box.show_checks(None)
        self.text_edit.clear()
        self.start_box.setValue(0)
        self.end_box.setValue(0)
        self.engine_box.setCurrentIndex(0 if self.engine_box.count() else -1)
        self.voice_box.setCurrentText(SPEAKERS_CHOICE)
        self.emotion_edit.clear()
        self.takes_list.clear()
        self.speak_button.setText(f"Speak anyway ({SPEAK_KEY})")
        for widget in self.fields:
            widget.setEnabled(False)

    def show_line(self, session: Session, line: LineEntry) -> None:
        """Fill every field from `line` as it stands in `session`."""
        for widget in self.fields:
            widget.setEnabled(True)
        if self._engines_for != (session.project.lang, session.options.config):
            self.fill_engines(session.project.lang, session.options.config)
        status = session.status(line)
        self.line_title.setText(f"Line {line.index} · {span(line.start_ms, line.end_ms)} · "
                                f"{line.speaker or 'unnamed speaker'} · {line_words.status_words(line, status)}")
        self.timing_label.setText(self._timing_words(session, line, status))
        self.checks_box.show_checks(line_checks(session, line))
        self.text_edit.setPlainText(line.text)
        self.start_box.setValue(line.start_ms)
        self.end_box.setValue(line.end_ms)
        self.show_engine(session, line)
        emotion = line.emotion or {}
        self.emotion_edit.setText(emotion.get("text") or ",".join(f"{v:g}" for v in emotion.get("vector") or ()))
        self.takes_list.clear()
        for k, take in enumerate(line.takes):
            item = QListWidgetItem(take_label(k, take, line))
            item.setToolTip(take_tooltip(k, take, line))
            if k == line.chosen:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.takes_list.addItem(item)
        if line.chosen is not None:
            self.takes_list.setCurrentRow(line.chosen)
        self.speak_button.setText(f"Stop speaking ({SPEAK_KEY})" if line.speak else f"Speak anyway ({SPEAK_KEY})")

    def show_engine(self, session: Session, line: LineEntry) -> None:
        """Put the engine and voice boxes back to the line's own (after a choice that could not run)."""
        self.engine_box.setCurrentText(line.engine or SPEAKERS_CHOICE)
        self.fill_voices(self.engine_box.currentText(), session, line)
        self.voice_box.setCurrentText(line.voice or SPEAKERS_CHOICE)

    def _size_takes_list(self) -> None:
        """Make the list exactly TAKES_ROWS rows high, measured on a row as the style draws it."""
        takes = self.takes_list
        takes.addItem("▶ 1. seed 0")
        row = takes.sizeHintForRow(0)
        takes.clear()
        takes.setFixedHeight(TAKES_ROWS * row + 2 * takes.frameWidth())

    @staticmethod
    def _timing_words(session: Session, line: LineEntry, status: str) -> str:
        if status == SKIPPED:
            return line_words.not_spoken(line)
        speech = line_words.target(line)
        words = f"Original speech {span(*speech)}" if speech else "No original speech"
        slot = session.slots().get(line.index)
        if slot is not None:
            words += f" · speaks from {clock(slot.onset_ms)}, ends by {clock(slot.end_ms)}"
        take = line.take
        if take is not None and take.reason:
            words += f" · take: {take.reason}"
        return words + (f"\n{line_words.spoken_anyway(line)}" if line.skip else "")

    def fill_engines(self, lang: str, config: Config | None = None) -> None:
        """Offer the engines that speak `lang`; one that cannot run here is greyed, its reason in its tooltip."""
        self._engines_for = (lang, config)
        offer_engines(self.engine_box, lang, config, SPEAKERS_CHOICE)

    def fill_voices(self, engine_name: str, session: Session | None, line: LineEntry | None) -> None:
        """Offer the voices of `engine_name`, or of the line's speaker's engine when it is the speaker's."""
        current = self.voice_box.currentText()
        self.voice_box.clear()
        self.voice_box.addItem(SPEAKERS_CHOICE)
        name = engine_name if engine_name and engine_name != SPEAKERS_CHOICE else None
        if name is None and session is not None and line is not None:
            speaker = session.project.speakers.get(line.speaker)
            name = speaker.engine if speaker else None
        if name:
            try:
                self.voice_box.addItems(list(registry.engine_class(name).capabilities.voices))
            except Exception:
                pass
        self.voice_box.setCurrentText(current or SPEAKERS_CHOICE)
