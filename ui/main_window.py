"""The dubbing panel: open a video and its subtitles, dub, check every line in context, fix, export.

Everything that takes time (rendering lines, cutting a preview, exporting) runs as a `Job` on a
worker thread; the window stays live and the job can be cancelled. Every change to a line goes
through the undo stack as a core edit, and the project file is saved after each one.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dubber.edits import add_take, change_line, choose_take, nudge
from dubber.handoff import describe_written
from dubber.pipeline import DubOptions
from dubber.plugin import registry
from dubber.plugin.engine import Emotion
from dubber.preview import preview_window, write_preview
from dubber.pronunciation import plain
from dubber.project import SUFFIX, LineEntry, TakeRecord, emotion_to_dict, project_path_for
from dubber.session import OFF, OK, PENDING, STALE, Session
from dubber.ui.commands import EditCommand
from dubber.ui.export_dialog import ExportChoice, ExportDialog
from dubber.ui.line_model import COL_TEXT, STATUS_WORDS, LineTableModel, NeedsWorkFilter, clock
from dubber.ui.messages import describe
from dubber.ui.player import PreviewPlayer
from dubber.ui.timeline_strip import StripCue, TimelineStrip
from dubber.ui.worker import Job

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
SUBTITLE_SUFFIXES = {".srt", ".ass", ".ssa", ".vtt"}
STRIP_STATES = {OK: "ok", OFF: "off", STALE: "off", PENDING: "pending"}  # the rest are "failed"
SPEAKERS_CHOICE = "(speaker's)"
NUDGES_MS = (-100, -10, 10, 100)


def classify(paths: Sequence[Path]) -> tuple[Path | None, Path | None, Path | None, list[Path]]:
    """Sort dropped files into (video, subtitles, project, unknown)."""
    video = subtitles = project = None
    unknown = []
    for path in paths:
        suffix = path.suffix.lower()
        if path.name.endswith(SUFFIX):
            project = path
        elif suffix in SUBTITLE_SUFFIXES:
            subtitles = path
        elif suffix in VIDEO_SUFFIXES:
            video = path
        else:
            unknown.append(path)
    return video, subtitles, project, unknown


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


class MainWindow(QMainWindow):
    """The panel. `open_paths` opens what was dropped; the per-line actions work on the selected line."""

    def __init__(self, options: DubOptions | None = None) -> None:
        super().__init__()
        self.options = options or DubOptions()
        self.session: Session | None = None
        self.undo = QUndoStack(self)
        self.job: Job | None = None
        self.preview_job: Job | None = None
        self.last_message: tuple[str, str] = ("", "")
        self._pending: dict[str, Path] = {}
        self._job_errors: list[str] = []
        self._previews = tempfile.TemporaryDirectory(prefix="dubber-preview-")
        self._preview_count = 0
        self.setWindowTitle("dubber")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build()
        self._build_actions()
        self._update_enabled()
        self.show_status("Drop a video and its subtitles here, or use File › Open.")

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.model = LineTableModel(parent=self)
        self.proxy = NeedsWorkFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_TEXT, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

        self.filter_box = QCheckBox("Only lines that need work (out of sync, edited, failed, not dubbed)")
        self.filter_box.toggled.connect(self.set_filter)

        self.strip = TimelineStrip()
        self.strip.lineClicked.connect(self.select_index)
        self.player = PreviewPlayer()
        self.player.setMinimumHeight(220)
        self.player.positionChanged.connect(lambda pos: self.strip.set_playhead(self.player.absolute_ms(pos)))
        self.player.failed.connect(lambda text: self.show_problem("Cannot play", text))

        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.addWidget(self.filter_box)
        left_box.addWidget(self.table, 3)
        left_box.addWidget(self.strip, 1)
        self.left = left

        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.addWidget(self.player, 2)
        right_box.addWidget(self._line_panel(), 3)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.setCentralWidget(splitter)

        self.message = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.progress.hide()
        self.cancel_button.hide()

    def _line_panel(self) -> QWidget:
        panel = QGroupBox("Line")
        self.line_panel = panel
        form = QFormLayout(panel)
        self.line_title = QLabel("No line selected")
        form.addRow(self.line_title)

        buttons = QHBoxLayout()
        self.play_button = QPushButton("Play in context (Space)")
        self.play_button.clicked.connect(self.play_in_context)
        self.play_take_button = QPushButton("Play take (T)")
        self.play_take_button.clicked.connect(self.play_take)
        self.reroll_button = QPushButton("Re-roll (R)")
        self.reroll_button.clicked.connect(self.reroll)
        for button in (self.play_button, self.play_take_button, self.reroll_button):
            buttons.addWidget(button)
        form.addRow(buttons)

        self.text_edit = QPlainTextEdit()
        self.text_edit.setMaximumHeight(64)
        self.apply_text_button = QPushButton("Speak this text")
        self.apply_text_button.clicked.connect(self.apply_text)
        form.addRow("Text", self.text_edit)
        form.addRow("", self.apply_text_button)

        self.engine_box = QComboBox()
        self.engine_box.currentTextChanged.connect(self._fill_voices)
        self.voice_box = QComboBox()
        self.emotion_edit = QLineEdit()
        self.emotion_edit.setPlaceholderText("emotion in words, or weights: 0,0,0,0,0,0,0,0.8")
        self.apply_voice_button = QPushButton("Speak with this voice")
        self.apply_voice_button.clicked.connect(self.apply_voice)
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
            timing.addWidget(box)
        self.set_timing_button = QPushButton("Set")
        self.set_timing_button.clicked.connect(self.apply_timing)
        timing.addWidget(self.set_timing_button)
        form.addRow("Start / end", timing)
        nudges = QHBoxLayout()
        self.nudge_buttons = []
        for delta in NUDGES_MS:
            button = QPushButton(f"{delta:+d} ms")
            button.clicked.connect(lambda _=False, d=delta: self.nudge(d))
            nudges.addWidget(button)
            self.nudge_buttons.append(button)
        form.addRow("Nudge", nudges)

        self.takes_list = QListWidget()
        self.takes_list.itemDoubleClicked.connect(lambda item: self.use_take(self.takes_list.row(item)))
        self.use_take_button = QPushButton("Use this take")
        self.use_take_button.clicked.connect(lambda: self.use_take(self.takes_list.currentRow()))
        form.addRow("Takes", self.takes_list)
        form.addRow("", self.use_take_button)
        return panel

    def _build_actions(self) -> None:
        def action(text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None,
                   menu: Any = None, widget: QWidget | None = None) -> QAction:
            act = QAction(text, widget or self)
            act.triggered.connect(lambda _=False: slot())
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            if widget is not None:
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                widget.addAction(act)
            else:
                self.addAction(act)
            if menu is not None:
                menu.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = action("&Open video, subtitles or project…", self.choose_files,
                                  QKeySequence.StandardKey.Open, file_menu)
        self.export_action = action("&Export…", self.export, "Ctrl+E", file_menu)
        file_menu.addSeparator()
        action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.undo.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Shift+Z")])
        for act in (self.undo_action, self.redo_action):
            edit_menu.addAction(act)
            self.addAction(act)

        dub_menu = bar.addMenu("&Dub")
        self.dub_action = action("&Dub every line not dubbed yet", self.dub_pending, "Ctrl+D", dub_menu)
        self.regenerate_action = action("Re&generate all out-of-sync lines", self.regenerate_out_of_sync,
                                        "Ctrl+Shift+R", dub_menu)
        dub_menu.addSeparator()
        self.reroll_action = action("&Re-roll the line", self.reroll, "R", dub_menu)
        self.play_action = action("&Play the line in context", self.play_in_context, "Space", dub_menu)
        self.play_take_action = action("Play the &take alone", self.play_take, "T", dub_menu)
        self.cancel_action = action("&Cancel", self.cancel_job, "Esc", dub_menu)
        # Up/Down move between lines wherever the focus is on the table side, not in a text field.
        action("Previous line", lambda: self.step(-1), "Up", widget=self.left)
        action("Next line", lambda: self.step(+1), "Down", widget=self.left)
        self.filter_action = action("Only lines that need work", self.filter_box.toggle, "Ctrl+F",
                                    bar.addMenu("&View"))

    # -- opening ----------------------------------------------------------------------------

    def choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, "Open a video and its subtitles, or a project", str(Path.cwd()),
            "Video, subtitles or project (*.mp4 *.mkv *.mov *.avi *.webm *.m4v *.srt *.ass *.ssa *.vtt "
            f"*{SUFFIX});;All files (*)")
        if names:
            self.open_paths([Path(n) for n in names])

    def open_paths(self, paths: Sequence[Path]) -> None:
        """Open what was dropped or chosen: a video and subtitles in any order, or a project."""
        video, subtitles, project, unknown = classify([Path(p) for p in paths])
        if unknown:
            self.show_problem("Not a video or subtitles",
                              "dubber opens videos, subtitles (SRT, ASS, VTT) and projects; not: "
                              + ", ".join(p.name for p in unknown))
        if project is not None:
            self._open(lambda: Session.open_project(project, self.options))
            return
        if video is not None:
            self._pending["video"] = video
        if subtitles is not None:
            self._pending["subtitles"] = subtitles
        video, subtitles = self._pending.get("video"), self._pending.get("subtitles")
        if video is None and subtitles is not None and self.session is not None:
            video = self.session.video  # new subtitles for the open video
        if video is not None and (subtitles is not None or project_path_for(video).exists()):
            self._pending.clear()
            self._open(lambda: Session.open(video, subtitles, self.options))
        elif video is not None:
            self.show_status(f"{video.name}: now drop its subtitles (SRT, ASS or VTT).")
        elif subtitles is not None:
            self.show_status(f"{subtitles.name}: now drop the video it belongs to.")

    def _open(self, make: Callable[[], Session]) -> None:
        if self.busy:
            self.show_problem("Busy", "Wait for the running job to finish, or cancel it, before opening another video.")
            return
        try:
            session = make()
        except Exception as exc:
            self.show_error(exc)
            return
        self.set_session(session)

    def set_session(self, session: Session) -> None:
        self.session = session
        self.undo.clear()
        self.player.stop()
        self.model.set_session(session)
        self._fill_engines()
        self.setWindowTitle(f"dubber — {session.video.name}")
        self._refresh_strip()
        if session.project.lines:
            self.select_position(0)
        problems = [d for d in session.diagnostics if d.severity == "error"]
        lines = len(session.project.lines)
        text = f"Opened {session.video.name}: {lines} lines, project {session.path.name}."
        if problems:
            text += f" {len(problems)} cue(s) skipped."
            self.show_problem("Some cues were skipped", "\n".join(str(d) for d in problems[:12]))
        self.show_status(text)
        self._update_enabled()

    # -- selection ---------------------------------------------------------------------------

    def current_position(self) -> int | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.proxy.mapToSource(index).row()

    def current_line(self) -> LineEntry | None:
        position = self.current_position()
        return self.session.project.lines[position] if self.session and position is not None else None

    def select_position(self, position: int) -> None:
        index = self.proxy.mapFromSource(self.model.index(position, 0))
        if not index.isValid():  # hidden by the filter
            self.filter_box.setChecked(False)
            index = self.proxy.mapFromSource(self.model.index(position, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def select_index(self, cue_index: int) -> None:
        if self.session is None:
            return
        for position, line in enumerate(self.session.project.lines):
            if line.index == cue_index:
                self.select_position(position)
                return

    def step(self, delta: int) -> None:
        rows = self.proxy.rowCount()
        if not rows:
            return
        row = self.table.currentIndex().row()
        row = 0 if row < 0 else min(max(row + delta, 0), rows - 1)
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def set_filter(self, only: bool) -> None:
        position = self.current_position()
        self.proxy.set_only_needing_work(only)
        if self.filter_box.isChecked() != only:
            self.filter_box.setChecked(only)
        if position is not None:
            index = self.proxy.mapFromSource(self.model.index(position, 0))
            if index.isValid():
                self.table.setCurrentIndex(index)

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._show_line()

    def _show_line(self) -> None:
        line = self.current_line()
        self._update_enabled()
        if line is None or self.session is None:
            self.line_title.setText("No line selected")
            self.strip.set_selected(None)
            self.strip.set_waveform(None, 1, 0)
            self.takes_list.clear()
            return
        status = self.session.status(line)
        self.line_title.setText(f"Line {line.index} · {clock(line.start_ms)} → {clock(line.end_ms)} · "
                                f"{line.speaker or 'unnamed speaker'} · {STATUS_WORDS[status]}")
        self.text_edit.setPlainText(line.text)
        self.start_box.setValue(line.start_ms)
        self.end_box.setValue(line.end_ms)
        self.engine_box.setCurrentText(line.engine or SPEAKERS_CHOICE)
        self._fill_voices(self.engine_box.currentText())
        self.voice_box.setCurrentText(line.voice or SPEAKERS_CHOICE)
        emotion = line.emotion or {}
        self.emotion_edit.setText(emotion.get("text") or ",".join(f"{v:g}" for v in emotion.get("vector") or ()))
        self.takes_list.clear()
        for k, take in enumerate(line.takes):
            item = QListWidgetItem(self._take_label(k, take, line))
            if k == line.chosen:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.takes_list.addItem(item)
        if line.chosen is not None:
            self.takes_list.setCurrentRow(line.chosen)
        self.strip.set_selected(line.index)
        self._show_waveform(line)

    @staticmethod
    def _take_label(k: int, take: TakeRecord, line: LineEntry) -> str:
        error = f"{take.error_ms:+d} ms" if take.error_ms is not None else take.reason or take.status
        # A take records the words as spoken (dictionary markup in); the words shown are without markup.
        text = "" if not take.text or plain(take.text) == plain(line.text) else f" · “{plain(take.text)[:30]}”"
        mark = "▶ " if k == line.chosen else "   "
        return f"{mark}{k + 1}. seed {take.seed} · {take.engine} {take.voice} · {take.status} · {error}{text}"

    def _show_waveform(self, line: LineEntry) -> None:
        clip = None
        if self.session is not None:
            try:
                clip = self.session.clip(line)
            except Exception:  # a missing take file shows as no waveform; playing it says why
                clip = None
        if clip is None:
            self.strip.set_waveform(None, 1, 0)
            return
        lead_ms = clip.lead * 1000 // clip.sample_rate
        self.strip.set_waveform(clip.samples, clip.sample_rate, clip.onset_ms - lead_ms)

    def _refresh_strip(self) -> None:
        if self.session is None:
            self.strip.set_cues([])
            return
        cues = [StripCue(line.index, line.start_ms, line.end_ms, line.text,
                         STRIP_STATES.get(self.session.status(line), "failed"))
                for line in self.session.project.lines]
        self.strip.set_cues(cues)

    def _fill_engines(self) -> None:
        self.engine_box.blockSignals(True)
        self.engine_box.clear()
        self.engine_box.addItem(SPEAKERS_CHOICE)
        lang = self.session.project.lang if self.session else self.options.lang
        for name in sorted(registry.entries()):
            try:
                cls = registry.engine_class(name)
            except Exception:
                continue
            if lang in cls.capabilities.languages:
                self.engine_box.addItem(name)
        self.engine_box.blockSignals(False)

    def _fill_voices(self, engine_name: str) -> None:
        current = self.voice_box.currentText()
        self.voice_box.clear()
        self.voice_box.addItem(SPEAKERS_CHOICE)
        name = engine_name if engine_name and engine_name != SPEAKERS_CHOICE else None
        if name is None and self.session is not None:
            line = self.current_line()
            speaker = self.session.project.speakers.get(line.speaker) if line else None
            name = speaker.engine if speaker else None
        if name:
            try:
                self.voice_box.addItems(list(registry.engine_class(name).capabilities.voices))
            except Exception:
                pass
        self.voice_box.setEditable(True)  # Kokoro takes blends such as jf_alpha*0.6+jm_kumo*0.4
        self.voice_box.setCurrentText(current or SPEAKERS_CHOICE)

    # -- per-line actions ------------------------------------------------------------------------

    def reroll(self) -> None:
        """Render the selected line again with a new seed."""
        position = self._editable_position()
        if position is not None:
            self._render([position], "Re-roll", {})

    def apply_text(self) -> None:
        """Speak the edited text: one undoable step that changes the text and adds the new take."""
        position = self._editable_position()
        if position is not None:
            self._render([position], "Edit the text of", {"text": self.text_edit.toPlainText()})

    def apply_voice(self) -> None:
        position = self._editable_position()
        if position is None:
            return
        engine = self.engine_box.currentText()
        voice = self.voice_box.currentText().strip()
        emotion = parse_emotion(self.emotion_edit.text())
        changes = {"engine": None if engine == SPEAKERS_CHOICE else engine,
                   "voice": None if voice in ("", SPEAKERS_CHOICE) else voice,
                   "emotion": emotion_to_dict(emotion)}
        self._render([position], "Change the voice of", changes)

    def apply_timing(self) -> None:
        """Set the line's start and end; a new length needs a new take, the same length only moves it."""
        position = self._editable_position()
        if position is None or self.session is None:
            return
        line = self.session.project.lines[position]
        start, end = self.start_box.value(), self.end_box.value()
        changes = {"start_ms": start, "end_ms": end}
        if end - start == line.duration_ms:
            self._push_edit(lambda: change_line(self.session.project, position, f"Move line {line.index}",
                                                **changes))
        else:
            self._render([position], "Retime", changes)

    def nudge(self, delta_ms: int) -> None:
        position = self._editable_position()
        if position is not None and self.session is not None:
            self._push_edit(lambda: nudge(self.session.project, position, delta_ms))

    def use_take(self, k: int) -> None:
        position = self._editable_position()
        if position is None or self.session is None or k < 0:
            return
        if k == self.session.project.lines[position].chosen:
            return
        self._push_edit(lambda: choose_take(self.session.project, position, k))

    def _editable_position(self) -> int | None:
        if self.busy:
            self.show_status("A job is running: wait for it or cancel it (Esc).")
            return None
        position = self.current_position()
        if position is None:
            self.show_status("Select a line first.")
        return position

    def _push_edit(self, make: Callable[[], Any]) -> None:
        assert self.session is not None
        try:
            edit = make()
        except Exception as exc:
            self.show_error(exc, self.current_line().index if self.current_line() else None)
            return
        self.undo.push(EditCommand(self.session, edit, self._lines_changed))

    def _lines_changed(self, positions: list[int]) -> None:
        self.model.refresh(positions)
        self._refresh_strip()
        position = self.current_position()
        if position is not None and position in positions:
            self._show_line()
        self._update_enabled()

    # -- rendering -------------------------------------------------------------------------------

    def dub_pending(self) -> None:
        """Render every line that has no take yet."""
        if self.session is None or self.busy:
            return
        positions = [i for i, line in enumerate(self.session.project.lines) if line.take is None]
        if not positions:
            self.show_status("Every line is dubbed. Re-roll a line (R) or regenerate the out-of-sync ones.")
            return
        self._render(positions, "Dub", {})

    def regenerate_out_of_sync(self) -> None:
        """Render a new take of every line that is out of sync, edited, failed or not dubbed."""
        if self.session is None or self.busy:
            return
        positions = self.session.needing_work()
        if not positions:
            self.show_status("Every line is in sync.")
            return
        self._render(positions, "Regenerate", {})

    def _render(self, positions: list[int], verb: str, changes: dict[str, Any]) -> None:
        """Render a take of each line (with `changes` applied) on a worker; each lands as one undoable edit."""
        session = self.session
        if session is None:
            return
        try:  # validate on this thread, so a bad edit is refused before any work starts
            targets = [(p, change_line(session.project, p, "", **changes).after) for p in positions]
        except Exception as exc:
            self.show_error(exc)
            return
        many = len(positions) > 1

        def work(control: Any) -> int:
            for k, (position, line) in enumerate(targets):
                control.check()
                control.progress(k, len(targets), f"Line {line.index}: speaking “{line.text[:40]}”")
                try:
                    take: TakeRecord | Exception = session.render(line)
                except Exception as exc:  # e.g. an engine that is not installed: say which line
                    take = exc
                control.hand_over((position, line.index, take))
            control.progress(len(targets), len(targets), "done")
            return len(targets)

        def landed(item: Any) -> None:
            position, index, take = item
            if isinstance(take, Exception):
                self._job_errors.append(describe(take, index)[1])
                return
            if take.status == "failed":
                self._job_errors.append(f"Line {index}: {take.reason}")
            label = f"{verb} line {index}" if not many else f"{verb} line {index} (seed {take.seed})"
            edit = (add_take(session.project, position, take, label) if not changes
                    else change_line(session.project, position, label, take=take, **changes))
            self.undo.push(EditCommand(session, edit, self._lines_changed))

        title = f"{verb} {len(positions)} lines" if many else f"{verb} line {targets[0][1].index}"
        if many:
            self.undo.beginMacro(title)
        self._job_errors = []
        self.start_job(title, work, on_item=landed, on_end=(lambda: self.undo.endMacro()) if many else None)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start_job(self, title: str, work: Callable[[Any], Any], on_item: Callable[[Any], None] | None = None,
                  on_done: Callable[[Any], None] | None = None, on_end: Callable[[], None] | None = None) -> Job:
        job = Job(title, work, self)
        self.job = job
        if on_item is not None:
            job.item.connect(on_item)
        job.progress.connect(self._on_progress)

        def finish(outcome: str, payload: Any = None) -> None:
            self.job = None
            self.progress.hide()
            self.cancel_button.hide()
            if on_end is not None:
                on_end()
            if outcome == "done" and on_done is not None:
                on_done(payload)
            if outcome == "failed":
                self.show_error(payload)
            elif self._job_errors:
                self.show_problem(f"{title}: {len(self._job_errors)} line(s) failed", "\n".join(self._job_errors[:12]))
            self.show_status(f"{title}: " + {"done": "done.", "failed": "failed.", "cancelled": "cancelled; "
                                             "the lines finished before it are kept."}[outcome])
            self._update_enabled()
            job.deleteLater()

        job.succeeded.connect(lambda result: finish("done", result))
        job.failed.connect(lambda exc: finish("failed", exc))
        job.cancelled.connect(lambda: finish("cancelled"))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.show_status(f"{title}…")
        self._update_enabled()
        job.start()
        return job

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total}")
        self.show_status(message)

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.show_status(f"{self.job.title}: cancelling after the current line…")
        elif self.player.is_playing():
            self.player.stop()

    # -- preview ---------------------------------------------------------------------------------

    def play_in_context(self) -> None:
        """Play the selected line from a little before to a little after, mixed exactly as exported."""
        line = self.current_line()
        session = self.session
        if line is None or session is None:
            return
        if self.player.is_playing():
            self.player.toggle()
            return
        if self.preview_job is not None:
            return
        start, end = preview_window(line.start_ms, line.end_ms, session.duration_ms)
        self._preview_count += 1
        out = Path(self._previews.name) / f"line{line.index}-{self._preview_count}.mp4"

        def work(control: Any) -> Path:
            control.progress(0, 1, f"Line {line.index}: mixing the preview…")
            audio = session.preview_audio(start, end)
            return write_preview(session.video, audio, session.rate, start, out)

        job = Job(f"Preview line {line.index}", work, self)
        self.preview_job = job

        def done(path: Path) -> None:
            self.preview_job = None
            self.player.play_file(path, start)
            self.show_status(f"Playing line {line.index} in context, {clock(start)} → {clock(end)}.")

        def failed(exc: BaseException) -> None:
            self.preview_job = None
            self.show_error(exc, line.index)

        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.finished.connect(job.deleteLater)
        self.show_status(f"Preparing the preview of line {line.index}…")
        job.start()

    def play_take(self) -> None:
        """Play the chosen take of the selected line alone."""
        line = self.current_line()
        if line is None or self.session is None:
            return
        take = line.take
        if take is None or not take.audio:
            self.show_status(f"Line {line.index} has no take to play yet: dub it first (R).")
            return
        lead_ms = (take.lead or 0) * 1000 // (take.sample_rate or 1)
        self.player.play_file(self.session.path.parent / take.audio, line.start_ms - lead_ms)

    # -- export ----------------------------------------------------------------------------------

    def export(self) -> None:
        if self.session is None or self.busy:
            return
        options = self.session.options
        dialog = ExportDialog(self.session.video, options.mix, options.ducking, options.loudness, options.exports,
                              self)
        if dialog.exec():
            self.export_to(dialog.choice())

    def export_to(self, choice: ExportChoice) -> None:
        """Write the chosen files on a worker; report what was measured."""
        session = self.session
        if session is None:
            return
        pending = sum(line.take is None for line in session.project.lines)
        # The export settings become the session's, so the next preview sounds like this export.
        session.options.mix, session.options.ducking = choice.mix, choice.ducking
        session.options.loudness, session.options.exports = choice.loudness, choice.exports

        def work(control: Any) -> Any:
            control.progress(0, 1, "Mixing and writing…")
            return session.export(choice.video, choice.stem, choice.subtitles, choice.report, choice.mix)

        def done(result: Any) -> None:
            summary = result.summary
            lines = summary["lines"]
            text = (f"{summary['within_50ms']}/{lines} dubbed lines within ±50 ms, median |error| "
                    f"{summary['median_abs_error_ms']} ms, max {summary['max_abs_error_ms']} ms.")
            if "loudness" in summary:
                loud = summary["loudness"]
                text += f"\nLoudness {loud['after_lufs']} LUFS, true peak {loud['after_peak_dbtp']} dBTP."
            if pending:
                text += f" {pending} line(s) were not dubbed and are silent."
            text += "\nWrote:\n" + "\n".join(describe_written(result.written))
            self.last_export = result
            self.show_problem("Exported", text, QMessageBox.Icon.Information)

        self._job_errors = []
        self.start_job("Export", work, on_done=done)

    # -- messages and state ----------------------------------------------------------------------

    def show_status(self, text: str) -> None:
        self.message.setText(text)

    def show_error(self, error: BaseException, line: int | None = None) -> None:
        title, text = describe(error, line)
        self.show_problem(title, text)

    def show_problem(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> None:
        """Say it in a box that does not block (the window stays live), and keep it for tests."""
        self.last_message = (title, text)
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.show_status(f"{title}: {text.splitlines()[0] if text else ''}")

    def _update_enabled(self) -> None:
        has_line = self.current_line() is not None
        idle = not self.busy
        for widget in (self.reroll_button, self.apply_text_button, self.apply_voice_button, self.set_timing_button,
                       self.use_take_button, *self.nudge_buttons):
            widget.setEnabled(has_line and idle)
        for widget in (self.play_button, self.play_take_button):
            widget.setEnabled(has_line)
        for act in (self.reroll_action, self.dub_action, self.regenerate_action, self.export_action):
            act.setEnabled(self.session is not None and idle)
        self.open_action.setEnabled(idle)
        self.undo_action.setEnabled(idle and self.undo.canUndo())
        self.redo_action.setEnabled(idle and self.undo.canRedo())

    # -- drag and drop ---------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        # Open after the drop returns, so the drag source is not left waiting on a dialog.
        QTimer.singleShot(0, lambda: self.open_paths(paths))

    def closeEvent(self, event: QCloseEvent) -> None:
        for job in (self.job, self.preview_job):
            if job is not None:
                job.cancel()
                job.wait(30_000)
        self.player.stop()
        self._previews.cleanup()
        super().closeEvent(event)

