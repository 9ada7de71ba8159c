"""The cast: every speaker with its engine, voice (or Kokoro blend), reference clip and similarity, a warning
when two speakers share a voice, and the form that changes the selected speaker.

It only shows the cast and holds the form's input; `CastActions` (cast_actions.py) does what its buttons
say, through the undo stack.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dubber.config import Config
from dubber.pipeline.session import Session
from dubber.plugin import registry
from dubber.project.store import LineEntry, Project, SpeakerEntry
from dubber.ui.line_editor import offer_engines
from dubber.voices.casting import cloning_engines, known_distance
from dubber.voices.sharing import CloseVoices, SharedVoice, close_voices, shared_voices
from dubber.voices.tune import can_tune

TABLE_ROWS = 6  # speakers shown at once; more scroll
COLUMNS = ("Speaker", "Lines", "Engine", "Voice", "Similarity")
COL_NAME, COL_LINES, COL_ENGINE, COL_VOICE, COL_SIMILARITY = range(len(COLUMNS))
NOT_CAST = "chosen at the first dub"
WARNING_STYLE = "QLabel { color: #8a5a00; background: #fff3d6; border: 1px solid #d99a1e; padding: 4px; }"


def who(name: str) -> str:
    return name or "the unnamed speaker"


def speaker_names(project: Project) -> list[str]:
    """The speakers of the lines, in the order they first speak."""
    return list(dict.fromkeys(line.speaker for line in project.lines))


def follows_speaker(project: Project, line: LineEntry) -> bool:
    """Whether a line speaks with its speaker's voice: spoken, in the project's language, no voice of its own."""
    return (line.spoken and not (line.engine or line.voice)
            and (line.lang is None or line.lang == project.lang))


def redub_positions(project: Project, name: str) -> list[int]:
    """The lines a new voice for `name` re-dubs: its dubbed lines that speak with the speaker's voice."""
    return [k for k, line in enumerate(project.lines)
            if line.speaker == name and line.take is not None and follows_speaker(project, line)]


def sharing_words(shared: list[SharedVoice], close: Sequence[CloseVoices] = ()) -> str:
    """The warning: who shares which voice (or two voices measured too close), and what to do ("" when nobody)."""
    rows = []
    for group in shared:
        names = [who(n) for n in group.speakers]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        rows.append(f"{listed} share one voice ({group.engine} {group.voice}): they will sound like one person.")
    for pair in close:
        first, second = (who(n) for n in pair.speakers)
        rows.append(f"{first} and {second} have voices only {pair.distance:.2f} apart ({pair.engine} {pair.voices[0]}, "
                    f"{pair.voices[1]}): they may sound like one person.")
    if rows:
        rows.append("Give one of them another voice, or match each to the original (auto).")
    return "\n".join(rows)


def similarity_words(entry: SpeakerEntry | None, takes: list[float]) -> str:
    """The voice's similarity to the speaker's clip, as matched and as its takes measured."""
    if entry is None:
        return "not measured: the speaker has no voice yet"
    if not entry.reference:
        return "no clip: nothing to compare with"
    parts = []
    if entry.similarity is not None:
        parts.append(f"{entry.similarity:.2f} to the clip" + (" (matched)" if entry.matched else ""))
    if entry.default_similarity is not None:
        parts.append(f"the engine's default voice {entry.default_similarity:.2f}")
    if entry.tuned_from:
        parts.append(tuning_words(entry))
    if takes:
        parts.append(f"its takes {sum(takes) / len(takes):.2f} on average")
    return "; ".join(parts) or "not measured yet"


def tuning_words(entry: SpeakerEntry) -> str:
    """What tuning did: kept or not, the judge's similarity before and after, and why."""
    judged = entry.tune_judged
    change = f", judge {judged[0]:.2f} -> {judged[1]:.2f}" if judged else ""
    if entry.tuned:
        return f"tuned from {entry.tuned_from}{change}"
    return f"tuning kept {entry.tuned_from}{change} ({entry.tune_reason})"


class CastPanel(QWidget):
    """The speakers of the open session (`show_cast`) and the form for the selected one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: Session | None = None
        self.busy = False  # a job runs: the buttons that change the cast wait
        self._clip: str | None = None  # the form's clip, as the project stores it
        self._shown: SpeakerEntry | None = None  # the entry the form was filled from
        self._engines_for: tuple[str, Config | None] | None = None
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)

        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.hide()
        box.addWidget(self.warning)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)  # one row per speaker: a long voice or blend is elided (its tooltip has it)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_VOICE, QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(lambda *_: self.show_speaker())
        box.addWidget(self.table)

        form_box = QGroupBox("Speaker")
        form = QFormLayout(form_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.title = QLabel("No speaker selected")
        self.title.setWordWrap(True)
        form.addRow(self.title)
        self.engine_box = QComboBox()
        self.engine_box.currentTextChanged.connect(self._engine_chosen)
        self.voice_box = QComboBox()
        form.addRow("Engine", self.engine_box)
        form.addRow("Voice", self.voice_box)
        self.clip_label = QLabel()
        self.clip_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton("Choose…")
        self.play_button = QPushButton("Play")
        for button in (self.choose_button, self.play_button):
            button.setMinimumWidth(48)  # narrower than the style's 80: the row fits beside its label in the dock
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip_label, 1)
        clip_row.addWidget(self.choose_button)
        clip_row.addWidget(self.play_button)
        form.addRow("Clip", clip_row)
        self.clip_text = QLineEdit()
        self.clip_text.setPlaceholderText("what the clip says (cloning engines lean on it)")
        form.addRow("Clip's words", self.clip_text)
        self.similarity_label = QLabel()
        self.similarity_label.setWordWrap(True)
        form.addRow("Similarity", self.similarity_label)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Give the speaker this engine, voice and clip, and re-dub its dubbed lines: "
                                     "one step to undo")
        self.auto_button = QPushButton("Match to the original (auto)")
        self.auto_button.setToolTip("Pick the engine's voice (or blend) closest to the speaker's clip, cut from "
                                    "the video's own audio when it has none")
        self.tune_button = QPushButton("Tune to the original")
        self.tune_button.setToolTip("Match, then tune the voice's style toward the speaker's clip (Kokoro; minutes, "
                                    "once per clip): kept only when an independent encoder also hears it closer and "
                                    "Whisper still understands it")
        form.addRow(self.apply_button)
        form.addRow(self.auto_button)
        form.addRow(self.tune_button)
        box.addWidget(form_box)
        box.addStretch(1)  # a tall window's room goes under the form, not into the warning
        self.show_cast(None)

    @property
    def buttons(self) -> list[QPushButton]:
        """The buttons that change the cast (they wait while a job runs)."""
        return [self.apply_button, self.auto_button, self.tune_button, self.choose_button]

    def sizeHint(self) -> QSize:
        """Wide enough for a stock voice's name in the table; the dock may still be narrowed."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), self.fontMetrics().horizontalAdvance("M") * 38), hint.height())

    def set_busy(self, busy: bool) -> None:
        """Let the buttons change the cast only while no job runs (and a speaker is selected)."""
        self.busy = busy
        for button in self.buttons:
            button.setEnabled(not busy and self.selected() is not None)
        self.tune_button.setEnabled(self.tune_button.isEnabled() and self.engine_tunes())

    def engine_tunes(self) -> bool:
        """Whether the form's engine has a style vector to tune (Kokoro does)."""
        try:
            return can_tune(registry.engine_class(self.engine_box.currentText()))
        except Exception:
            return False

    @property
    def fields(self) -> list[QWidget]:
        return [self.engine_box, self.voice_box, self.clip_text, *self.buttons, self.play_button]

    # -- the table ------------------------------------------------------------------------------

    def show_cast(self, session: Session | None) -> None:
        """Show every speaker of `session` as it stands, keeping the selected one (and the form's input for it)."""
        keep = self.selected()
        changed = session is not self.session
        self.session = session
        project = session.project if session is not None else None
        names = speaker_names(project) if project is not None else []
        self.table.blockSignals(True)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            assert project is not None
            entry = project.speakers.get(name)
            lines = [line for line in project.lines if line.speaker == name and line.spoken]
            takes = [line.take.similarity for line in lines
                     if line.take is not None and line.take.similarity is not None]
            similarity = (f"{entry.similarity:.2f}" if entry is not None and entry.similarity is not None
                          else f"~{sum(takes) / len(takes):.2f}" if takes else "—")
            dubbed = sum(1 for line in lines if line.take is not None)
            cells = (who(name), f"{dubbed}/{len(lines)}", entry.engine if entry else "—",
                     entry.voice if entry else NOT_CAST, similarity)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, name)
                item.setToolTip(self._tooltip(name, entry, dubbed, len(lines)))
                self.table.setItem(row, column, item)
        if names:
            self.table.setCurrentCell(names.index(keep) if keep in names else 0, 0)
        self.table.blockSignals(False)
        # As tall as its rows (up to TABLE_ROWS, then it scrolls): in a low window the form below stays near.
        rows = min(max(len(names), 1), TABLE_ROWS)
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
                                  + rows * self.table.verticalHeader().defaultSectionSize())
        self._warn(project)
        # What was typed for the speaker stays while its entry is as the form found it (another line changed).
        same = not changed and keep is not None and keep in names and project is not None \
            and project.speakers.get(keep) == self._shown
        self.show_speaker(keep_input=same)

    @staticmethod
    def _tooltip(name: str, entry: SpeakerEntry | None, dubbed: int, lines: int) -> str:
        if entry is None:
            return f"{who(name)}: {lines} spoken lines; the voice is {NOT_CAST}"
        clip = f"clip {entry.reference} ({entry.reference_source or 'given'})" if entry.reference else "no clip"
        return f"{who(name)}: {entry.engine} {entry.voice}, {clip}; {dubbed} of {lines} spoken lines dubbed"

    def _warn(self, project: Project | None) -> None:
        """Name the speakers of the lines who share a voice (one no line speaks for does not count)."""
        names = speaker_names(project) if project is not None else []
        entries = [project.speakers[n] for n in names if project is not None and n in project.speakers]
        cloning = cloning_engines({e.engine for e in entries})
        close = close_voices(entries, known_distance(project.lang, self.session.options.config), cloning) \
            if project is not None and self.session is not None else []
        text = sharing_words(shared_voices(entries, cloning), close)
        self.warning.setText(text)
        self.warning.setVisible(bool(text))

    def selected(self) -> str | None:
        """The selected speaker's name (None: none)."""
        item = self.table.item(self.table.currentRow(), 0) if self.table.currentRow() >= 0 else None
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == name:
                self.table.setCurrentCell(row, 0)
                return

    # -- the form -------------------------------------------------------------------------------

    def show_speaker(self, keep_input: bool = False) -> None:
        """Fill the form from the selected speaker (`keep_input`: leave what was typed for it)."""
        name, session = self.selected(), self.session
        for widget in self.fields:
            widget.setEnabled(name is not None)
        self.set_busy(self.busy)
        self.play_button.setEnabled(name is not None and bool(self._clip))
        if name is None or session is None:
            self.title.setText("No speaker selected" if session is not None else "No video open")
            self._clip = None
            self.clip_label.setText("")
            self.similarity_label.setText("")
            self.apply_button.setText("Apply")
            return
        project = session.project
        entry = project.speakers.get(name)
        count = len(redub_positions(project, name))
        spoken = sum(1 for line in project.lines if line.speaker == name and line.spoken)
        self.title.setText(f"{who(name)} · {spoken} spoken lines"
                           + ("" if entry else f" · voice {NOT_CAST}"))
        self.apply_button.setText(f"Apply and re-dub {count} line{'s' if count != 1 else ''}" if count
                                  else "Apply (no line of theirs is dubbed yet)")
        takes = [project.lines[k].take.similarity for k in redub_positions(project, name)]
        self.similarity_label.setText(similarity_words(entry, [t for t in takes if t is not None]))
        if keep_input:
            return
        self._shown = copy.deepcopy(entry)
        if self._engines_for != (project.lang, session.options.config):
            self._engines_for = (project.lang, session.options.config)
            offer_engines(self.engine_box, project.lang, session.options.config)
        engine = entry.engine if entry else self._default_engine(session)
        if engine and self.engine_box.findText(engine) < 0:
            self.engine_box.addItem(engine)  # an engine the registry does not list (a plugin gone, say)
        self.engine_box.blockSignals(True)
        self.engine_box.setCurrentText(engine)
        self.engine_box.blockSignals(False)
        self.fill_voices(engine, entry.voice if entry else None)
        self.set_clip(entry.reference if entry else None, entry.reference_text if entry else "")

    @staticmethod
    def _default_engine(session: Session) -> str:
        try:
            return session.options.engine or registry.engine_for_language(session.project.lang)
        except Exception:
            return ""

    def _engine_chosen(self, engine: str) -> None:
        session, name = self.session, self.selected()
        entry = session.project.speakers.get(name) if session is not None and name is not None else None
        self.fill_voices(engine, entry.voice if entry is not None and entry.engine == engine else None)
        self.set_busy(self.busy)  # tuning follows the engine

    def fill_voices(self, engine: str, voice: str | None) -> None:
        """Offer `engine`'s voices, `voice` (else its default) chosen; blends may be typed where it blends."""
        self.voice_box.clear()
        lang = self.session.project.lang if self.session is not None else ""
        try:
            cls = registry.engine_class(engine)
        except Exception:
            cls = None
        if cls is not None:
            caps = cls.capabilities
            if caps.cloning != "none":
                self.voice_box.addItem("reference")  # a cloning engine speaks in the clip's voice
            self.voice_box.addItems(list(caps.voices))
            voice = voice or caps.default_voice.get(lang) or (self.voice_box.itemText(0) if caps.voices or
                                                              caps.cloning != "none" else "")
        blends = cls is not None and callable(getattr(cls, "blend_voices", None))
        self.voice_box.setEditable(blends or cls is None)  # Kokoro takes blends such as jf_alpha*0.6+jm_kumo*0.4
        self.voice_box.setToolTip("A voice, or a blend of them: jf_alpha*0.6+jm_kumo*0.4" if blends else "")
        if voice and self.voice_box.findText(voice) < 0:
            self.voice_box.addItem(voice)
        self.voice_box.setCurrentText(voice or "")

    def set_clip(self, clip: str | None, words: str = "") -> None:
        """Put a clip in the form (as the project stores it: relative to its file, or absolute)."""
        self._clip = clip
        self.clip_label.setText(Path(clip).name if clip else "none")
        self.clip_label.setToolTip(clip or "No clip: auto cuts one from the video's own audio")
        self.clip_text.setText(words)
        self.play_button.setEnabled(bool(clip) and self.selected() is not None)

    @property
    def clip(self) -> str | None:
        return self._clip

    def clip_path(self) -> Path | None:
        """The form's clip as a file on this machine."""
        if not self._clip or self.session is None:
            return None
        path = Path(self._clip)
        return path if path.is_absolute() else self.session.path.parent / path
