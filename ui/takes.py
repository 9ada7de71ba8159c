"""Rendering takes on the worker: every line not dubbed, every out-of-sync line, or one line changed.

Each take lands as one undoable edit as soon as it is rendered; a batch is one undo step.
"""

from __future__ import annotations

from typing import Any

from dubber.project.edits import add_take, change_line
from dubber.project.store import TakeRecord
from dubber.ui.commands import EditCommand
from dubber.ui.line_words import not_spoken
from dubber.ui.messages import describe
from dubber.ui.panel import Panel


class TakeRenderer:
    """Renders takes of the panel's lines through its job runner and undo stack."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    def dub_pending(self) -> None:
        """Render every line that has no take yet."""
        session = self.panel.session
        if session is None or self.panel.jobs.busy:
            return
        positions = [i for i, line in enumerate(session.project.lines) if line.take is None and line.spoken]
        if not positions:
            self.panel.message.show_status(
                "Every line is dubbed. Re-roll a line (R) or regenerate the out-of-sync ones.")
            return
        self.render(positions, "Dub", {})

    def regenerate_out_of_sync(self) -> None:
        """Render a new take of every line that is out of sync, edited, failed or not dubbed."""
        session = self.panel.session
        if session is None or self.panel.jobs.busy:
            return
        positions = session.needing_work()
        if not positions:
            self.panel.message.show_status("Every line is in sync.")
            return
        self.render(positions, "Regenerate", {})

    def render(self, positions: list[int], verb: str, changes: dict[str, Any]) -> None:
        """Render a take of each line (with `changes` applied) on a worker; each lands as one undoable edit."""
        panel = self.panel
        session = panel.session
        if session is None:
            return
        unspoken = [session.project.lines[p] for p in positions if not session.project.lines[p].spoken]
        if unspoken:
            panel.message.show_status(f"Line {unspoken[0].index}: {not_spoken(unspoken[0])}")
            return
        try:  # validate on this thread, so a bad edit is refused before any work starts
            targets = [(p, change_line(session.project, p, "", **changes).after) for p in positions]
        except Exception as exc:
            panel.message.show_error(exc)
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
                panel.jobs.errors.append(describe(take, index)[1])
                if changes and position == panel.current_position():  # the line keeps its engine: so does the box
                    panel.editor.show_engine(session, session.project.lines[position])
                return
            if take.status == "failed":
                panel.jobs.errors.append(f"Line {index}: {take.reason}")
            label = f"{verb} line {index}" if not many else f"{verb} line {index} (seed {take.seed})"
            edit = (add_take(session.project, position, take, label) if not changes
                    else change_line(session.project, position, label, take=take, **changes))
            panel.undo.push(EditCommand(session, edit, panel.lines_changed))

        title = f"{verb} {len(positions)} lines" if many else f"{verb} line {targets[0][1].index}"
        if many:
            panel.undo.beginMacro(title)
        panel.jobs.start(title, work, on_item=landed, on_end=(lambda: panel.undo.endMacro()) if many else None)
