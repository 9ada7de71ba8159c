"""Playing the selected line in context or alone, or any stretch of the video, mixed as exported (cut on a
worker, with the original as a second track for A/B), or the line's take alone."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtMultimedia import QMediaPlayer

from dubber.audio.samples import fit_length, ms_to_samples
from dubber.pipeline.preview import write_preview
from dubber.pipeline.session import Session
from dubber.ui.line_timing import context_window, placed_take, take_start_ms
from dubber.ui.line_words import clock
from dubber.ui.panel import Panel
from dubber.ui.player import PreviewPlayer
from dubber.ui.worker import Job


def original_part(session: Session, audio: np.ndarray, start_ms: int) -> np.ndarray | None:
    """The video's own audio under a preview's `audio` (from `start_ms`), as long as it: the A/B track."""
    original = session.original
    if original is None:
        return None
    a = ms_to_samples(start_ms, session.rate)
    return fit_length(original[a:a + audio.shape[0]], audio.shape[0])  # the video's sound may end first: silence


class LinePreview:
    """Cuts previews of the panel's selected line into a folder of its own and plays them on `player`."""

    def __init__(self, panel: Panel, player: PreviewPlayer, parent: QObject) -> None:
        self.panel, self.player, self.parent = panel, player, parent
        self.job: Job | None = None  # the preview being cut: one at a time, beside the panel's job
        self._folder = tempfile.TemporaryDirectory(prefix="dubber-preview-")
        self._count = 0
        self._playing: str | None = None  # what is playing, for the status once it pauses or stops
        self._paused = False
        player.stateChanged.connect(self._on_state)
        player.media_player.mediaStatusChanged.connect(self._on_media)
        player.failed.connect(self._forget)  # the problem said stays in the status bar

    def play_in_context(self) -> None:
        """Play the selected line from a little before to a little after, mixed as exported (after an edit, at the
        last whole mix's loudness gain: see Session.preview_audio)."""
        line = self.panel.current_line()
        session = self.panel.session
        if line is None or session is None:
            return
        if self.player.is_playing():
            self.player.toggle()
            return
        start, end = context_window(session, line)
        self.play_window(start, end, f"line {line.index} in context, {clock(start)} → {clock(end)}", line.index)

    def play_line(self) -> None:
        """Play the selected line alone: from the first to the last of its cue, its original speech and its take."""
        line = self.panel.current_line()
        session = self.panel.session
        if line is not None and session is not None:
            start, end = context_window(session, line, margin_ms=0)
            self.play_window(start, end, f"line {line.index}, {clock(start)} → {clock(end)}", line.index)

    def play_window(self, start: int, end: int, what: str, index: int | None = None) -> None:
        """Cut the exported mix from `start` to `end` (ms) with the original as a second track (A/B), and play it."""
        session = self.panel.session
        if session is None or self.job is not None or end <= start:
            return
        self._count += 1
        out = Path(self._folder.name) / f"preview-{self._count}.mp4"

        def work(control: Any) -> Path:
            control.progress(0, 1, f"Mixing the preview of {what}…")
            audio = session.preview_audio(start, end)
            return write_preview(session.video, audio, session.rate, start, out,
                                 alternate=original_part(session, audio, start))

        job = Job(f"Preview {what}", work, self.parent)
        self.job = job

        def done(path: Path) -> None:
            self.job = None
            self._play(path, start, what)

        def failed(exc: BaseException) -> None:
            self.job = None
            self.panel.message.show_error(exc, index)

        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.finished.connect(job.deleteLater)
        self.panel.message.show_status(f"Preparing the preview of {what}…")
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
        self._play(session.path.parent / take.audio, start, f"the take of line {line.index} alone")

    def _play(self, path: Path, start: int, what: str) -> None:
        self._forget()
        self.player.play_file(path, start)
        if self.player.media_player.source().isEmpty():  # refused: the player said why
            return
        self._playing, self._paused = what, False
        silent = "" if self.player.has_sound() else " No sound device: the picture plays silent."
        self.panel.message.show_status(f"Playing {what}.{silent}")

    def _on_state(self, state: str) -> None:
        if self._playing is None:
            return
        if state == "playing":
            if self._paused:  # played again; the first start was said by _play
                self._paused = False
                self.panel.message.show_status(f"Playing {self._playing}.")
            return
        self._paused = True
        self.panel.message.show_status(f"{'Paused' if state == 'paused' else 'Stopped'} {self._playing}.")

    def _on_media(self, status: QMediaPlayer.MediaStatus) -> None:
        # Comes just after the stop that ends the clip: it ran to its end.
        if status == QMediaPlayer.MediaStatus.EndOfMedia and self._playing is not None:
            self.panel.message.show_status(f"Played {self._playing}.")

    def _forget(self, *_: object) -> None:
        self._playing = None

    def close(self) -> None:
        """Wait for a preview being cut, stop playing and remove the previews."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait(30_000)
        self.player.stop()
        self._folder.cleanup()
