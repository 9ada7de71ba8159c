"""The dubbing panel: open a video and its subtitles, dub, check every line in context, fix, export.

Everything that takes time (rendering lines, cutting a preview, exporting) runs as a `Job` on a
worker thread; the window stays live and the job can be cancelled. Every change to a line goes
through the undo stack as a core edit, and the project file is saved after each one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dubber.edits import add_take, change_line, choose_take, nudge, speak_anyway
from dubber.handoff import describe_written
from dubber.pipeline import DubOptions
from dubber.preview import write_preview
from dubber.project import SUFFIX, LineEntry, TakeRecord, emotion_to_dict, project_path_for
from dubber.session import Session
from dubber.ui.commands import EditCommand
from dubber.ui.export_dialog import ExportChoice, ExportDialog
from dubber.ui.line_editor import SPEAKERS_CHOICE, LineEditor
from dubber.ui.line_model import LineTableModel, NeedsWorkFilter
from dubber.ui.line_table import LineTable
from dubber.ui.line_timing import context_window, placed_take, strip_cues, take_start_ms
from dubber.ui.line_words import SPEAK_KEY, clock, not_spoken
from dubber.ui.messages import describe
from dubber.ui.player import PreviewPlayer
from dubber.ui.timeline_strip import TimelineStrip
from dubber.ui.worker import Job

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
SUBTITLE_SUFFIXES = {".srt", ".ass", ".ssa", ".vtt"}


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
        self.table = LineTable(self.proxy)
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
        left_box.setContentsMargins(0, 0, 0, 0)  # every pixel to the table: a 1024 px window shows its sync columns
        left_box.addWidget(self.filter_box)
        left_box.addWidget(self.table, 3)
        left_box.addWidget(self.strip, 1)
        self.left = left

        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        right_box.addWidget(self.player, 2)
        right_box.addWidget(self._line_panel(), 3)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)  # the table and strip get the room: they show every line
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([2000, 1000])  # 2:1 from the start too, not as the table's many columns would ask
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
        editor = self.editor = LineEditor()
        wiring: list[tuple[QPushButton, Callable[[], Any]]] = [
            (editor.play_button, self.play_in_context), (editor.play_take_button, self.play_take),
            (editor.reroll_button, self.reroll), (editor.speak_button, self.toggle_speak),
            (editor.apply_text_button, self.apply_text), (editor.apply_voice_button, self.apply_voice),
            (editor.set_timing_button, self.apply_timing),
            (editor.use_take_button, lambda: self.use_take(editor.takes_list.currentRow()))]
        wiring += [(button, lambda d=delta: self.nudge(d)) for delta, button in editor.nudge_buttons.items()]
        for button, slot in wiring:
            button.clicked.connect(lambda _=False, slot=slot: slot())
        editor.takes_list.itemDoubleClicked.connect(lambda item: self.use_take(editor.takes_list.row(item)))
        editor.engine_box.currentTextChanged.connect(
            lambda name: editor.fill_voices(name, self.session, self.current_line()))
        return editor

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
        self.speak_action = action("&Speak the line anyway", self.toggle_speak, SPEAK_KEY, dub_menu)
        self.speak_action.setCheckable(True)
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
        self.table.show_lines(session.project.lines)
        self.editor.fill_engines(session.project.lang)
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
            self.editor.clear()
            self.strip.set_selected(None)
            self.strip.set_waveform(None, 1, 0)
            return
        self.editor.show_line(self.session, line)
        self.strip.set_selected(line.index)
        clip = placed_take(self.session, line)
        if clip is None:
            self.strip.set_waveform(None, 1, 0)
        else:  # where the session places it: its speech onset on the slot's onset
            self.strip.set_waveform(clip.samples, clip.sample_rate, take_start_ms(clip))

    def _refresh_strip(self) -> None:
        self.strip.set_cues(strip_cues(self.session) if self.session is not None else [])

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
            self._render([position], "Edit the text of", {"text": self.editor.text_edit.toPlainText()})

    def apply_voice(self) -> None:
        position = self._editable_position()
        if position is None:
            return
        engine = self.editor.engine_box.currentText()
        voice = self.editor.voice_box.currentText().strip()
        changes = {"engine": None if engine == SPEAKERS_CHOICE else engine,
                   "voice": None if voice in ("", SPEAKERS_CHOICE) else voice,
                   "emotion": emotion_to_dict(self.editor.emotion())}
        self._render([position], "Change the voice of", changes)

    def apply_timing(self) -> None:
        """Set the line's start and end; a new length needs a new take, the same length only moves it."""
        position = self._editable_position()
        if position is None or self.session is None:
            return
        line = self.session.project.lines[position]
        start, end = self.editor.start_box.value(), self.editor.end_box.value()
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

    def toggle_speak(self) -> None:
        """Speak the selected line although it is not spoken by default (a sound, a sign ...), or stop."""
        position = self._editable_position()
        line = self.current_line()
        session = self.session
        if position is not None and line is not None and session is not None:
            needing = set(session.needing_work())
            self._push_edit(lambda: speak_anyway(session.project, position, not line.speak))
            # A line spoken (or silenced) moves its neighbours' windows: say which now need a new take.
            others = [session.project.lines[p].index for p in session.needing_work() if p not in needing | {position}]
            also = f" Line(s) {', '.join(map(str, others))} now need a new take (Ctrl+Shift+R)." if others else ""
            if session.project.lines[position].speak:
                self.show_status(f"Line {line.index} will be spoken: dub it (R, or Ctrl+D for every line).{also}")
            elif also:
                self.show_status(also.strip())
        self._update_enabled()  # a refused toggle leaves the checkable action as the line is

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
        self.model.refresh()  # a line's slot, hence its neighbours' status, depends on the lines around it
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
        positions = [i for i, line in enumerate(self.session.project.lines) if line.take is None and line.spoken]
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
        unspoken = [session.project.lines[p] for p in positions if not session.project.lines[p].spoken]
        if unspoken:
            self.show_status(f"Line {unspoken[0].index}: {not_spoken(unspoken[0])}")
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

        job.succeeded.connect(lambda result: finish("done", result))
        job.failed.connect(lambda exc: finish("failed", exc))
        job.cancelled.connect(lambda: finish("cancelled"))
        # Deleted once its thread has ended: `succeeded` and the rest come from inside run(), and deleting
        # a QThread that still runs aborts the process.
        job.finished.connect(job.deleteLater)
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
        start, end = context_window(session, line)
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
        clip = placed_take(self.session, line)  # where it lies on the timeline: the playhead follows it there
        start = take_start_ms(clip) if clip is not None else line.start_ms
        self.player.play_file(self.session.path.parent / take.audio, start)

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
        pending = sum(line.take is None and line.spoken for line in session.project.lines)
        # The export settings become the session's, so the next preview sounds like this export.
        session.options.mix, session.options.ducking = choice.mix, choice.ducking
        session.options.loudness, session.options.exports = choice.loudness, choice.exports

        def work(control: Any) -> Any:
            control.progress(0, 1, "Mixing and writing…")
            return session.export(choice.video, choice.stem, choice.subtitles, choice.report, choice.mix,
                                  overwrite=choice.overwrite)  # the dialog asked before replacing

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
        line = self.current_line()
        has_line = line is not None
        idle = not self.busy
        editor = self.editor
        for widget in editor.edit_buttons:
            widget.setEnabled(has_line and idle)
        for widget in (editor.reroll_button, editor.apply_text_button, editor.apply_voice_button):
            widget.setEnabled(line is not None and line.spoken and idle)  # a line not spoken has nothing to render
        for widget in (editor.play_button, editor.play_take_button):
            widget.setEnabled(has_line)
        can_speak = bool(line is not None and line.skip) and idle  # only a line skipped by default
        for widget in (self.speak_action, editor.speak_button):
            widget.setEnabled(can_speak)
        self.speak_action.setChecked(bool(line is not None and line.speak))
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

