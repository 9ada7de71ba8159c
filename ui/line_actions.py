"""The actions on the selected line: re-roll, speak new text or with another voice, retime, nudge, pick a
take, speak anyway. Each is one undoable step; those that need a new take render it on the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dubber.project.edits import change_line, choose_take, nudge, speak_anyway
from dubber.project.store import emotion_to_dict
from dubber.ui.commands import EditCommand
from dubber.ui.line_editor import SPEAKERS_CHOICE
from dubber.ui.line_words import target
from dubber.ui.panel import Panel
from dubber.ui.takes import TakeRenderer


class LineActions:
    """What the line editor's buttons and the per-line shortcuts do."""

    def __init__(self, panel: Panel, renderer: TakeRenderer) -> None:
        self.panel = panel
        self.renderer = renderer

    def reroll(self) -> None:
        """Render the selected line again with a new seed."""
        position = self._editable_position()
        if position is not None:
            self.renderer.render([position], "Re-roll", {})

    def apply_text(self) -> None:
        """Speak the edited text: one undoable step that changes the text and adds the new take."""
        position = self._editable_position()
        if position is not None:
            self.renderer.render([position], "Edit the text of", {"text": self.panel.editor.text_edit.toPlainText()})

    def apply_voice(self) -> None:
        position = self._editable_position()
        if position is None:
            return
        editor = self.panel.editor
        engine = editor.engine_box.currentText()
        voice = editor.voice_box.currentText().strip()
        changes = {"engine": None if engine == SPEAKERS_CHOICE else engine,
                   "voice": None if voice in ("", SPEAKERS_CHOICE) else voice,
                   "emotion": emotion_to_dict(editor.emotion())}
        self.renderer.render([position], "Change the voice of", changes)

    def apply_timing(self) -> None:
        """Set the line's start and end; a new length needs a new take, the same length only moves it."""
        self.retime(self.panel.editor.start_box.value(), self.panel.editor.end_box.value())

    def retime(self, start: int, end: int) -> None:
        """Give the selected line a new start and end, as typed ones: one undoable step."""
        position = self._editable_position()
        session = self.panel.session
        if position is None or session is None:
            return
        line = session.project.lines[position]
        changes = {"start_ms": start, "end_ms": end}
        if end - start == line.duration_ms:
            self._push_edit(lambda: change_line(session.project, position, f"Move line {line.index}", **changes))
        else:
            self.renderer.render([position], "Retime", changes)

    def move_block(self, index: int, start: int, end: int) -> None:
        """A block dragged on the timeline to [start, end): its body (the same length) moves the line with its
        original speech, as a nudge does; an edge sets that edge as a typed time does. One undoable step, which
        renders a new take only when the line's slot is no longer the one its take was made for."""
        session = self.panel.session
        if session is None:
            return
        position = next((p for p, line in enumerate(session.project.lines) if line.index == index), None)
        if position is None:
            return
        if self.panel.jobs.busy:
            self.panel.message.show_status("A job is running: wait for it or cancel it (Esc).")
            self.panel.lines_changed([position])  # the strip puts the block back where it is
            return
        line = session.project.lines[position]
        try:
            if end - start == line.duration_ms:
                edit = nudge(session.project, position, start - line.start_ms)
                edit.label = f"Move line {line.index} by {start - line.start_ms:+d} ms"
                changes = {"start_ms": edit.after.start_ms, "end_ms": edit.after.end_ms,
                           "target": target(edit.after)}
            else:
                changes = {"start_ms": start, "end_ms": end}
                edit = change_line(session.project, position, f"Retime line {line.index}", **changes)
        except Exception as exc:
            self.panel.message.show_error(exc, line.index)
            self.panel.lines_changed([position])
            return
        if session.keeps_take(edit.after):
            self._push_edit(lambda: edit)
        else:
            verb = "Move" if end - start == line.duration_ms else "Retime"
            self.renderer.render([position], verb, changes)

    def nudge(self, delta_ms: int) -> None:
        position = self._editable_position()
        session = self.panel.session
        if position is not None and session is not None:
            self._push_edit(lambda: nudge(session.project, position, delta_ms))

    def use_take(self, k: int) -> None:
        position = self._editable_position()
        session = self.panel.session
        if position is None or session is None or k < 0:
            return
        if k == session.project.lines[position].chosen:
            return
        self._push_edit(lambda: choose_take(session.project, position, k))

    def toggle_speak(self) -> None:
        """Speak the selected line although it is not spoken by default (a sound, a sign ...), or stop."""
        position = self._editable_position()
        line = self.panel.current_line()
        session = self.panel.session
        if position is not None and line is not None and session is not None:
            needing = set(session.needing_work())
            self._push_edit(lambda: speak_anyway(session.project, position, not line.speak))
            # A line spoken (or silenced) moves its neighbours' windows: say which now need a new take.
            others = [session.project.lines[p].index for p in session.needing_work() if p not in needing | {position}]
            also = f" Line(s) {', '.join(map(str, others))} now need a new take (Ctrl+Shift+R)." if others else ""
            if session.project.lines[position].speak:
                self.panel.message.show_status(
                    f"Line {line.index} will be spoken: dub it (R, or Ctrl+D for every line).{also}")
            elif also:
                self.panel.message.show_status(also.strip())
        self.panel.update_enabled()  # a refused toggle leaves the checkable action as the line is

    def _editable_position(self) -> int | None:
        if self.panel.jobs.busy:
            self.panel.message.show_status("A job is running: wait for it or cancel it (Esc).")
            return None
        position = self.panel.current_position()
        if position is None:
            self.panel.message.show_status("Select a line first.")
        return position

    def _push_edit(self, make: Callable[[], Any]) -> None:
        session = self.panel.session
        assert session is not None
        try:
            edit = make()
        except Exception as exc:
            line = self.panel.current_line()
            self.panel.message.show_error(exc, line.index if line else None)
            return
        self.panel.undo.push(EditCommand(session, edit, self.panel.lines_changed))
        self.panel.message.show_status(f"{edit.label}: done.")
