"""The actions that help a line that cannot fit, behind the timing checks' buttons (ui/timing_checks.py).

Borrowing the gap and allowing the bounded stretch are one undoable step each that changes the line's
choice and adds the take rendered with it; shortening puts the proposal (dubber.text.shorten) into the
text box, for the editor to read before Speak this text.
"""

from __future__ import annotations

from dubber.pipeline.checks import SHORTEN
from dubber.ui.panel import Panel
from dubber.ui.takes import TakeRenderer


class FitActions:
    """What the timing checks' buttons do to the selected line."""

    def __init__(self, panel: Panel, renderer: TakeRenderer) -> None:
        self.panel = panel
        self.renderer = renderer

    def borrow_gap(self) -> None:
        """Let the line run on into the silence after it, and render it so: one undoable step."""
        self._render("Borrow the gap for", borrow_gap=True)

    def allow_stretch(self) -> None:
        """Let the line take the bounded stretch, and render it so: one undoable step."""
        self._render("Allow the bounded stretch for", allow_stretch=True)

    def shorten(self) -> None:
        """Put the proposed shorter text into the text box, for the editor to read before speaking it."""
        checks = self.panel.editor.checks_box.checks
        fix = checks.fix(SHORTEN) if checks is not None else None
        if fix is None or self.panel.current_line() is None:
            return
        self.panel.editor.text_edit.setPlainText(fix.proposal)
        self.panel.message.show_status(f"A shorter text is in the box: it {fix.words} Read it, then Speak this text.")

    def _render(self, verb: str, **choice: bool) -> None:
        if self.panel.jobs.busy:
            self.panel.message.show_status("A job is running: wait for it or cancel it (Esc).")
            return
        position = self.panel.current_position()
        if position is None:
            self.panel.message.show_status("Select a line first.")
            return
        self.renderer.render([position], verb, dict(choice))
