"""The dubbing panel: open a video and its subtitles, dub, check every line in context, fix, export.

Everything that takes time (rendering lines, cutting a preview, exporting) runs as a `Job` on a
worker thread; the window stays live and the job can be cancelled. Every change to a line goes
through the undo stack as a core edit, and the project file is saved after each one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QMimeData, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import (QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent, QKeySequence,
                           QUndoStack)
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFrame, QLabel, QMainWindow, QMenu, QPushButton, QScrollArea,
                               QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from dubber.pipeline.dub import DubOptions
from dubber.pipeline.session import Session
from dubber.project.store import SUFFIX, LineEntry, project_path_for
from dubber.ui.actions import add_action
from dubber.ui.cast_actions import CastActions
from dubber.ui.cast_panel import CastPanel
from dubber.ui.export_flow import ExportFlow
from dubber.ui.fit_actions import FitActions
from dubber.ui.job_runner import JobRunner
from dubber.ui.line_actions import LineActions
from dubber.ui.line_editor import LineEditor
from dubber.ui.line_model import LineTableModel, NeedsWorkFilter
from dubber.ui.line_preview import LinePreview
from dubber.ui.line_table import LineTable
from dubber.ui.line_words import SPEAK_KEY
from dubber.ui.player import PreviewPlayer
from dubber.ui.shortcuts_dialog import add_help_menu
from dubber.ui.status_line import StatusLine
from dubber.ui.takes import TakeRenderer
from dubber.ui.timeline_feed import TimelineFeed
from dubber.ui.timeline_strip import TimelineStrip
from dubber.ui.timing_keys import TimingKeys
from dubber.ui.transport import Transport

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
SUBTITLE_SUFFIXES = {".srt", ".ass", ".ssa", ".vtt"}
DROP_HERE = "Drop a video and its subtitles here, or use File › Open."


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


def unique_keys(*keys: QKeySequence.StandardKey | str) -> list[QKeySequence]:
    """The platform's bindings of each standard key, then the keys named, each once: a key given twice
    to an action is ambiguous to Qt, which then fires neither (X11's standard Redo is Ctrl+Shift+Z)."""
    found: list[QKeySequence] = []
    for key in keys:
        standard = isinstance(key, QKeySequence.StandardKey)
        for sequence in QKeySequence.keyBindings(key) if standard else [QKeySequence(key)]:
            if not sequence.isEmpty() and sequence not in found:
                found.append(sequence)
    return found


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless area that scrolls it up and down only (it is given the area's width)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def local_paths(mime: QMimeData) -> list[Path]:
    """The local files a drag carries (none when it carries no URLs)."""
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class DropZone(QLabel):
    """What the window shows until a video is open: where to drop it and its subtitles. `opened` gets the
    files dropped."""

    def __init__(self, opened: Callable[[list[Path]], None]) -> None:
        super().__init__(f"{DROP_HERE}\n\nVideo: MP4, MKV, MOV, WebM …   Subtitles: SRT, ASS, VTT")
        self._opened = opened
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAcceptDrops(True)
        self.setStyleSheet("QLabel { border: 3px dashed palette(mid); border-radius: 16px; margin: 40px;"
                           " font-size: 16pt; }")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self._opened(paths)


class MainWindow(QMainWindow):
    """The panel: lays out its parts and wires them. `open_paths` opens what was dropped; the actions
    (`edits`, `takes`, `preview`, `exports`) work on the open session and its selected line."""

    def __init__(self, options: DubOptions | None = None) -> None:
        super().__init__()
        self.options = options or DubOptions()
        self.session: Session | None = None
        self.undo = QUndoStack(self)
        self._pending: dict[str, Path] = {}
        self.setWindowTitle("dubber")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build()
        self._build_actions()
        self.update_enabled()
        self.message.show_status(DROP_HERE)

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.message = StatusLine()
        self.statusBar().addWidget(self.message, 1)  # first: the boxes it opens need the window as parent
        self.jobs = JobRunner(self.message, self)
        self.jobs.changed.connect(self.update_enabled)
        self.jobs.cancel_button.clicked.connect(self.cancel_job)
        self.statusBar().addPermanentWidget(self.jobs.progress)
        self.statusBar().addPermanentWidget(self.jobs.cancel_button)

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
        self.player.failed.connect(lambda text: self.message.show_problem("Cannot play", text))
        # The actions, each on the window as a `Panel`: what it reads and the undo stack and jobs it uses.
        self.takes = TakeRenderer(self)
        self.edits = LineActions(self, self.takes)
        self.fits = FitActions(self, self.takes)
        self.preview = LinePreview(self, self.player, self)
        self.transport = Transport(self, self.player, self.strip, self.preview)
        self.timeline = TimelineFeed(self.strip, self.player, self.transport, self.edits, self)
        self.exports = ExportFlow(self, self)

        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)  # every pixel to the table: a 1024 px window shows its sync columns
        left_box.addWidget(self.filter_box)
        left_box.addWidget(self.table, 1)
        self.left = left

        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(0, 0, 0, 0)
        right_box.addWidget(self.player, 1)
        # The editor scrolls in a low window (640 px): its lower rows stay reachable; at 1080 it all shows.
        self.editor_scroll = scrolling(self._line_panel())
        self.editor_scroll.setMinimumWidth(self.editor.minimumSizeHint().width()
                                           + self.editor_scroll.verticalScrollBar().sizeHint().width())
        # The line and the cast share the column, a tab each: a narrow window keeps its table's room.
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(self.editor_scroll, "Line")
        right_box.addWidget(self.side_tabs, 3)

        top = QSplitter()
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 7)  # the table gets the room: it shows every line
        top.setStretchFactor(1, 3)
        top.setSizes([7000, 3000])  # 7:3 from the start too: at 1024 px the table's text keeps its room
        self.top_panes = top
        # The timeline spans the window's width under table, picture and editor, as in an editing program.
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        # Many speakers' lanes scroll up and down rather than being cut off.
        self.strip_scroll = scrolling(self.strip)
        splitter.addWidget(self.strip_scroll)
        splitter.setStretchFactor(0, 1)  # a larger window grows the table, picture and editor; the timeline keeps
        splitter.setStretchFactor(1, 0)  # its height (lanes for two speakers) until its splitter is dragged
        splitter.setCollapsible(1, False)
        splitter.setSizes([10_000, self.strip.sizeHint().height()])
        self.panes = splitter
        self.drop_zone = DropZone(self._open_dropped)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.drop_zone)  # until a video is open: an empty table says nothing
        self.pages.addWidget(splitter)
        self.setCentralWidget(self.pages)

    def _line_panel(self) -> QWidget:
        editor = self.editor = LineEditor()
        edits = self.edits
        wiring: list[tuple[QPushButton, Callable[[], Any]]] = [
            (editor.play_button, self.preview.play_in_context), (editor.play_take_button, self.preview.play_take),
            (editor.reroll_button, edits.reroll), (editor.speak_button, edits.toggle_speak),
            (editor.apply_text_button, edits.apply_text), (editor.apply_voice_button, edits.apply_voice),
            (editor.set_timing_button, edits.apply_timing),
            (editor.use_take_button, lambda: edits.use_take(editor.takes_list.currentRow())),
            (editor.checks_box.borrow_button, self.fits.borrow_gap),
            (editor.checks_box.stretch_button, self.fits.allow_stretch),
            (editor.checks_box.shorten_button, self.fits.shorten)]
        wiring += [(button, lambda d=delta: edits.nudge(d)) for delta, button in editor.nudge_buttons.items()]
        for button, slot in wiring:
            button.clicked.connect(lambda _=False, slot=slot: slot())
        editor.takes_list.itemDoubleClicked.connect(lambda item: edits.use_take(editor.takes_list.row(item)))
        editor.engine_box.currentTextChanged.connect(
            lambda name: editor.fill_voices(name, self.session, self.current_line()))
        return editor

    def _build_actions(self) -> None:
        action = partial(add_action, self)
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = action("&Open video, subtitles or project…", self.choose_files,
                                  QKeySequence.StandardKey.Open, file_menu)
        self.export_action = action("&Export…", self.exports.export, "Ctrl+E", file_menu)
        file_menu.addSeparator()
        action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.undo.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(unique_keys(QKeySequence.StandardKey.Undo))
        self.redo_action = self.undo.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts(unique_keys(QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
        for act in (self.undo_action, self.redo_action):
            edit_menu.addAction(act)
            self.addAction(act)
        # After the stack's own slot: the step undone is now at index(), the one redone just below it.
        self.undo_action.triggered.connect(
            lambda _=False: self.message.show_status(f"Undone: {self.undo.text(self.undo.index())}."))
        self.redo_action.triggered.connect(
            lambda _=False: self.message.show_status(f"Redone: {self.undo.text(self.undo.index() - 1)}."))

        dub_menu = bar.addMenu("&Dub")
        self.dub_action = action("&Dub every line not dubbed yet", self.takes.dub_pending, "Ctrl+D", dub_menu)
        self.regenerate_action = action("Re&generate all out-of-sync lines", self.takes.regenerate_out_of_sync,
                                        "Ctrl+Shift+R", dub_menu)
        dub_menu.addSeparator()
        self.reroll_action = action("&Re-roll the line", self.edits.reroll, "R", dub_menu)
        self.play_action = action("&Play or pause (the line in context)", self.transport.toggle, "Space", dub_menu)
        self.play_line_action = action("Play the &line alone", self.preview.play_line, "Ctrl+Space", dub_menu)
        self.play_from_action = action("Play &from the playhead", self.transport.play_from_playhead, "Shift+Space",
                                       dub_menu)
        self.ab_action = action("&A/B: hear the original", self.transport.toggle_ab, "A", dub_menu)
        self.ab_action.setCheckable(True)
        self.play_take_action = action("Play the &take alone", self.preview.play_take, "T", dub_menu)
        self.speak_action = action("&Speak the line anyway", self.edits.toggle_speak, SPEAK_KEY, dub_menu)
        self.speak_action.setCheckable(True)
        self.cancel_action = action("&Cancel", self.cancel_job, "Esc", dub_menu)
        # Up/Down move between lines wherever the focus is on the table side, not in a text field.
        action("Previous line", lambda: self.step(-1), "Up", widget=self.left)
        action("Next line", lambda: self.step(+1), "Down", widget=self.left)
        self.strip.installEventFilter(self)  # and in the timeline, which sits apart from the table
        view_menu = bar.addMenu("&View")
        self.filter_action = action("Only lines that need work", self.filter_box.toggle, "Ctrl+F", view_menu)
        self.spectrogram_action = action("Original audio as a &spectrogram",
                                         lambda: self.strip.set_spectrogram(self.spectrogram_action.isChecked()),
                                         "Ctrl+G", view_menu)
        self.spectrogram_action.setCheckable(True)
        self.timing = TimingKeys(self, self.edits, self.strip, self.step, bar.addMenu("&Timing"), self)
        self._build_cast(view_menu)
        self.shortcuts_dialog = add_help_menu(self)

    def _build_cast(self, view_menu: QMenu) -> None:
        """The cast panel, a tab beside the line editor; View › Cast (Ctrl+K) goes to it and back."""
        self.cast = CastPanel()
        self.casting = CastActions(self, self.cast, self.player.play_file, self)
        self.cast_scroll = scrolling(self.cast)
        self.side_tabs.addTab(self.cast_scroll, "Cast")
        self.cast_action = add_action(self, "&Cast", lambda: self.show_cast(not self.cast_shown()), "Ctrl+K",
                                      view_menu)
        self.cast_action.setCheckable(True)
        self.side_tabs.currentChanged.connect(lambda _: self.cast_action.setChecked(self.cast_shown()))

    def show_cast(self, shown: bool = True) -> None:
        """Show the cast's tab (or the line's)."""
        self.side_tabs.setCurrentWidget(self.cast_scroll if shown else self.editor_scroll)

    def cast_shown(self) -> bool:
        return self.side_tabs.currentWidget() is self.cast_scroll

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
            self.message.show_problem("Not a video or subtitles",
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
            self.message.show_status(f"{video.name}: now drop its subtitles (SRT, ASS or VTT).")
        elif subtitles is not None:
            self.message.show_status(f"{subtitles.name}: now drop the video it belongs to.")

    def _open(self, make: Callable[[], Session]) -> None:
        if self.jobs.busy:
            self.message.show_problem("Busy", "Wait for the running job to finish, or cancel it, before opening another video.")
            return
        try:
            session = make()
        except Exception as exc:
            self.message.show_error(exc)
            return
        self.set_session(session)

    def set_session(self, session: Session) -> None:
        self.session = session
        self.undo.clear()
        self.player.stop()
        self.strip.set_playhead(None)  # another video: no playhead until something of it plays
        self.model.set_session(session)
        self.table.show_lines(session.project.lines)
        self.editor.fill_engines(session.project.lang)
        self.cast.show_cast(session)
        self.setWindowTitle(f"dubber — {session.video.name}")
        self.pages.setCurrentWidget(self.panes)
        self.timeline.set_session(session)
        total = sum(self.panes.sizes())  # a lane for each speaker, up to 40% of the height (then it scrolls)
        want = min(self.strip.sizeHint().height(), total * 2 // 5)
        if total and self.panes.sizes()[1] < want:
            self.panes.setSizes([max(total - want, 0), want])
        self.player.show_still(None, 0, "")  # black until a line is selected: never the last video's frame
        if session.project.lines:
            self.select_position(0)
        problems = [d for d in session.diagnostics if d.severity == "error"]
        lines = len(session.project.lines)
        text = f"Opened {session.video.name}: {lines} lines, project {session.path.name}."
        if problems:
            text += f" {len(problems)} cue(s) skipped."
            self.message.show_problem("Some cues were skipped", "\n".join(str(d) for d in problems[:12]))
        self.message.show_status(text)
        self.update_enabled()

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
        self.update_enabled()
        self.transport.show_selected()
        if line is None or self.session is None:
            self.editor.clear()
            self.strip.set_selected(None)
            return
        self.editor.show_line(self.session, line)
        self.strip.set_selected(line.index)

    def lines_changed(self, positions: list[int]) -> None:
        self.model.refresh()  # a line's slot, hence its neighbours' status, depends on the lines around it
        self.timeline.refresh(positions)  # only their takes changed; the others lie where they were
        self.cast.show_cast(self.session)
        position = self.current_position()
        if position is not None and position in positions:
            self._show_line()
        self.update_enabled()

    def cancel_job(self) -> None:
        if not self.jobs.cancel() and self.player.is_playing():
            self.player.stop()

    # -- state ----------------------------------------------------------------------------------

    def update_enabled(self) -> None:
        line = self.current_line()
        has_line = line is not None
        idle = not self.jobs.busy
        editor = self.editor
        for widget in editor.edit_buttons:
            widget.setEnabled(has_line and idle)
        editor.checks_box.setEnabled(idle)
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the timeline move between lines, as in the table."""
        if watched is self.strip and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier \
                and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.step(-1 if event.key() == Qt.Key.Key_Up else +1)
            return True
        return super().eventFilter(watched, event)

    # -- drag and drop ---------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        event.acceptProposedAction()
        self._open_dropped(local_paths(event.mimeData()))

    def _open_dropped(self, paths: list[Path]) -> None:
        # Open after the drop returns, so the drag source is not left waiting on a dialog.
        QTimer.singleShot(0, lambda: self.open_paths(paths))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.jobs.job is not None:
            self.jobs.job.cancel()
            self.jobs.job.wait(30_000)
        self.preview.close()
        super().closeEvent(event)

