"""Playing the selected line: in context, mixed as exported (cut on a worker), or its take alone."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from dubber.pipeline.preview import write_preview
from dubber.ui.line_timing import context_window, placed_take, take_start_ms
from dubber.ui.line_words import clock
from dubber.ui.panel import Panel
from dubber.ui.player import PreviewPlayer
from dubber.ui.worker import Job


class LinePreview:
    """Cuts previews of the panel's selected line into a folder of its own and plays them on `player`."""

    def __init__(self, panel: Panel, player: PreviewPlayer, parent: QObject) -> None:
        self.panel, self.player, self.parent = panel, player, parent
        self.job: Job | None = None  # the preview being cut: one at a time, beside the panel's job
        self._folder = tempfile.TemporaryDirectory(prefix="dubber-preview-")
        self._count = 0

    def play_in_context(self) -> None:
        """Play the selected line from a little before to a little after, mixed exactly as exported."""
        line = self.panel.current_line()
        session = self.panel.session
        if line is None or session is None:
            return
        if self.player.is_playing():
            self.player.toggle()
            return
        if self.job is not None:
            return
        start, end = context_window(session, line)
        self._count += 1
        out = Path(self._folder.name) / f"line{line.index}-{self._count}.mp4"

        def work(control: Any) -> Path:
            control.progress(0, 1, f"Line {line.index}: mixing the preview…")
            audio = session.preview_audio(start, end)
            return write_preview(session.video, audio, session.rate, start, out)

        job = Job(f"Preview line {line.index}", work, self.parent)
        self.job = job

        def done(path: Path) -> None:
            self.job = None
            self.player.play_file(path, start)
            self.panel.message.show_status(f"Playing line {line.index} in context, {clock(start)} → {clock(end)}.")

        def failed(exc: BaseException) -> None:
            self.job = None
            self.panel.message.show_error(exc, line.index)

        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.finished.connect(job.deleteLater)
        self.panel.message.show_status(f"Preparing the preview of line {line.index}…")
        job.start()

    def play_take(self) -> None:
        """Play the chosen take of the selected line alone."""
        line = self.panel.current_line()
        session = self.panel.session
        if line is None or session is None:
            return
        take = line.take
        if take is None or not take.audio:
            self.panel.message.show_status(f"Line {line.index} has no take to play yet: dub it first (R).")
            return
        clip = placed_take(session, line)  # where it lies on the timeline: the playhead follows it there
        start = take_start_ms(clip) if clip is not None else line.start_ms
        self.player.play_file(session.path.parent / take.audio, start)

    def close(self) -> None:
        """Wait for a preview being cut, stop playing and remove the previews."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30_000)
        self.player.stop()
        self._folder.cleanup()
