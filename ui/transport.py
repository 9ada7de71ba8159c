"""The playhead and playing from it: seek anywhere (the picture follows), play or pause from anywhere, and A/B
between the dub and the original while a preview plays.

The playhead is the strip's. Selecting a line puts it where the line's original speech starts (else its cue);
a click or scrub on the strip's ruler moves it there. Within the clip loaded in the player (playing or paused)
a seek moves the clip; elsewhere the player stops and the still picture shows the frame at the playhead, with
the subtitles on screen at that moment drawn over it.
"""

from __future__ import annotations

from dubber.ui.line_preview import LinePreview
from dubber.ui.line_words import clock, target
from dubber.ui.panel import Panel
from dubber.ui.player import PreviewPlayer
from dubber.ui.timeline_strip import TimelineStrip

PLAY_FROM_MS = 10_000  # "play from the playhead" cuts this much (a preview is mixed and encoded first)


class Transport:
    """Seeking, play/pause and A/B for the window."""

    def __init__(self, panel: Panel, player: PreviewPlayer, strip: TimelineStrip, preview: LinePreview) -> None:
        self.panel, self.player, self.strip, self.preview = panel, player, strip, preview
        player.stateChanged.connect(self._on_state)

    def subtitle_at(self, ms: int) -> str:
        """The subtitles on screen at `ms` (every line whose cue holds it, in order), one per row."""
        session = self.panel.session
        if session is None:
            return ""
        return "\n".join(line.text for line in session.project.lines if line.start_ms <= ms < line.end_ms)

    def seek(self, ms: int) -> None:
        """Move the playhead to `ms`: the loaded clip follows when it holds that time, else the still does."""
        session = self.panel.session
        if session is None:
            return
        ms = max(0, min(int(ms), session.duration_ms))
        self.strip.set_playhead(ms)
        if self.player.covers(ms):
            self.player.seek(ms)
            return
        self.player.stop()
        self.player.show_still(session.video, ms, self.subtitle_at(ms))

    def show_selected(self) -> None:
        """A line was selected: the playhead and the picture to where its original speech starts (else its cue),
        with its text over it. Nothing selected: black."""
        session = self.panel.session
        line = self.panel.current_line()
        if session is None or line is None:
            self.player.show_still(None, 0, "")
            return
        speech = target(line)
        at = speech[0] if speech else line.start_ms
        self.strip.set_playhead(at)
        self.player.show_still(session.video, at, line.text)

    def toggle(self) -> None:
        """Space: pause what plays; resume a paused clip where it was; else play the selected line in context."""
        if self.player.is_playing():
            self.player.toggle()
            return
        at = self.strip.playhead()
        if self.player.is_paused() and at is not None and self.player.covers(at):
            self.player.toggle()
            return
        self.preview.play_in_context()

    def play_from_playhead(self) -> None:
        """Play the mix from the playhead on (the next PLAY_FROM_MS), wherever it stands."""
        session = self.panel.session
        at = self.strip.playhead()
        if session is None:
            return
        if at is None:
            self.panel.message.show_status("No playhead yet: select a line or click the strip's ruler.")
            return
        end = min(at + PLAY_FROM_MS, session.duration_ms)
        if end <= at:
            self.panel.message.show_status(f"The playhead ({clock(at)}) is at the video's end.")
            return
        self.preview.play_window(at, end, f"from {clock(at)} to {clock(end)}")

    def toggle_ab(self) -> None:
        """A/B: hear the original instead of the dub, or back; a playing preview switches at once."""
        original = not self.player.hears_original()
        self.player.set_heard(original)
        session = self.panel.session
        if original and session is not None and session.original is None:
            self.panel.message.show_status("The video has no sound of its own: previews play the dub.")
            return
        self.panel.message.show_status("A/B: hearing the original (A: back to the dub)." if original
                                       else "A/B: hearing the dub (A: the original).")

    def _on_state(self, state: str) -> None:
        # Stopped (ended, or stopped for a seek): the picture is the still at the playhead, which holds the
        # last position played.
        session = self.panel.session
        at = self.strip.playhead()
        if state == "stopped" and session is not None and at is not None:
            self.player.show_still(session.video, at, self.subtitle_at(at))
