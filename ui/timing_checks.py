"""The selected line's timing checks in words (dubber.pipeline.checks), with a button for each fix that applies:
borrow the gap after the line, allow the bounded stretch, shorten the text (ui/fit_actions.py does them)."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from dubber.pipeline.checks import BORROW, SHORTEN, STRETCH, TimingChecks

NO_PROBLEMS = "No timing problems."


class TimingChecksBox(QGroupBox):
    """What is wrong with the selected line's timing, and a button for each fix that applies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Timing checks", parent)
        box = QVBoxLayout(self)
        self.words = QLabel(NO_PROBLEMS)
        self.words.setWordWrap(True)
        box.addWidget(self.words)
        self.borrow_button = QPushButton("Borrow the gap")
        self.stretch_button = QPushButton("Allow the bounded stretch")
        self.shorten_button = QPushButton("Shorten the text")
        self.buttons = {BORROW: self.borrow_button, STRETCH: self.stretch_button, SHORTEN: self.shorten_button}
        for button in self.buttons.values():  # one under another: side by side they would widen the panel
            box.addWidget(button)
        self.checks: TimingChecks | None = None
        self.show_checks(None)

    def show_checks(self, checks: TimingChecks | None) -> None:
        """Say `checks` (None: no line) and show only the buttons of the fixes that apply."""
        self.checks = checks
        problems = checks.problems if checks is not None else ()
        self.words.setText("\n".join(p.words for p in problems) or (NO_PROBLEMS if checks is not None else ""))
        for kind, button in self.buttons.items():
            fix = checks.fix(kind) if checks is not None else None
            button.setVisible(fix is not None)
            button.setEnabled(fix is not None)  # a hidden button is no control (the box waits while a job runs)
            if fix is not None:
                button.setText(fix.label)
                button.setToolTip(f"{fix.label}: {fix.words}")
