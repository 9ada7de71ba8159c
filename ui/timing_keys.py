"""Timing by keyboard, as in subtitle editors (Aegisub, Subtitle Edit): the next and previous line, nudges,
and the selected line's start or end set to the playhead. Each edit is one undoable step, made by the same
line actions as the editor's buttons and its typed start and end.

The keys leave text editing alone. In the line's text box and the start and end boxes, the arrows move the
cursor or step the value, with Shift they select and with Ctrl they move by word or paragraph; Alt with an
arrow does nothing there (on Linux and Windows), so Alt+Up and Alt+Down (Subtitle Edit's previous and next
line) and Alt+Left and Alt+Right (with Shift: by 100 ms) work wherever the focus is. On macOS, Qt's Alt is
Option, which moves the text cursor by word: there the text box keeps those keys. Ctrl+3 and Ctrl+4 are
Aegisub's keys for snapping a line's start and end to the video's position.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from dubber.ui.actions import add_action
from dubber.ui.line_actions import LineActions
from dubber.ui.line_words import clock
from dubber.ui.panel import Panel
from dubber.ui.timeline_strip import TimelineStrip

STEP_KEYS = {-1: "Alt+Up", +1: "Alt+Down"}
NUDGE_KEYS = {-10: "Alt+Left", +10: "Alt+Right", -100: "Alt+Shift+Left", +100: "Alt+Shift+Right"}
SET_START_KEY, SET_END_KEY = "Ctrl+3", "Ctrl+4"


class TimingKeys:
    """The Timing menu's actions on `owner` (the window). `step` moves the selection by a number of lines;
    the playhead is the strip's, where the player last was (while or after playing)."""

    def __init__(self, panel: Panel, edits: LineActions, strip: TimelineStrip, step: Callable[[int], None],
                 menu: QMenu, owner: QWidget) -> None:
        self.panel, self.edits, self.strip = panel, edits, strip

        def action(text: str, key: str, slot: Callable[[], object]) -> QAction:
            return add_action(owner, text, slot, key, menu)

        self.previous_action = action("&Previous line", STEP_KEYS[-1], lambda: step(-1))
        self.next_action = action("&Next line", STEP_KEYS[+1], lambda: step(+1))
        menu.addSeparator()
        self.nudge_actions = {
            delta: action(f"Nudge the line {abs(delta)} ms {'earlier' if delta < 0 else 'later'}", key,
                          lambda d=delta: edits.nudge(d))
            for delta, key in NUDGE_KEYS.items()}
        menu.addSeparator()
        self.set_start_action = action("Set the line's &start to the playhead", SET_START_KEY, self.set_start)
        self.set_end_action = action("Set the line's &end to the playhead", SET_END_KEY, self.set_end)

    def set_start(self) -> None:
        """Start the selected line where the playhead stands."""
        self._set_edge("start")

    def set_end(self) -> None:
        """End the selected line where the playhead stands."""
        self._set_edge("end")

    def _set_edge(self, edge: str) -> None:
        line = self.panel.current_line()
        say = self.panel.message.show_status
        key = SET_START_KEY if edge == "start" else SET_END_KEY
        if line is None:
            say("Select a line first.")
            return
        at = self.strip.playhead()
        if at is None:
            say(f"No playhead yet: play the line (Space) or its take (T), pause where the {edge} belongs, "
                f"then press {key}.")
            return
        start, end = (at, line.end_ms) if edge == "start" else (line.start_ms, at)
        if (start, end) == (line.start_ms, line.end_ms):
            say(f"Line {line.index} already {'starts' if edge == 'start' else 'ends'} at the playhead ({clock(at)}).")
        elif end <= start:
            other = "end" if edge == "start" else "start"
            say(f"The playhead ({clock(at)}) is not {'before' if edge == 'start' else 'after'} line {line.index}'s "
                f"{other} ({clock(line.end_ms if edge == 'start' else line.start_ms)}): set its {other} first.")
        else:
            self.edits.retime(start, end)
