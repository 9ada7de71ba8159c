"""Exporting from the panel: ask what to write, write it on the worker, and say what was measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from dubber.handoff.export import describe_written
from dubber.ui.export_dialog import ExportChoice, ExportDialog
from dubber.ui.panel import Panel


def export_summary(summary: dict[str, Any], written: list[Path], pending: int) -> str:
    """The export's measurements and the files it wrote, in words."""
    lines = summary["lines"]
    text = (f"{summary['within_50ms']}/{lines} dubbed lines within ±50 ms, median |error| "
            f"{summary['median_abs_error_ms']} ms, max {summary['max_abs_error_ms']} ms.")
    if "loudness" in summary:
        loud = summary["loudness"]
        text += f"\nLoudness {loud['after_lufs']} LUFS, true peak {loud['after_peak_dbtp']} dBTP."
    if pending:
        text += f" {pending} line(s) were not dubbed and are silent."
    return text + "\nWrote:\n" + "\n".join(describe_written(written))


class ExportFlow:
    """File › Export for the panel's session; `last_export` keeps the last export's result."""

    def __init__(self, panel: Panel, parent: QWidget) -> None:
        self.panel, self.parent = panel, parent
        self.last_export: Any = None

    def export(self) -> None:
        session = self.panel.session
        if session is None or self.panel.jobs.busy:
            return
        options = session.options
        dialog = ExportDialog(session.video, options.mix, options.ducking, options.loudness, options.exports,
                              self.parent)
        if dialog.exec():
            self.export_to(dialog.choice())

    def export_to(self, choice: ExportChoice) -> None:
        """Write the chosen files on a worker; report what was measured."""
        session = self.panel.session
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
            text = export_summary(result.summary, result.written, pending)
            self.last_export = result
            self.panel.message.show_problem("Exported", text, QMessageBox.Icon.Information)

        self.panel.jobs.start("Export", work, on_done=done)
