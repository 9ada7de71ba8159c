"""The project saved as a dub's lines are finished, by the one process that writes it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from dubber.project.store import LineEntry, Project, save_project


class Checkpoints:
    """Save the project as lines are finished; lines not reached yet keep what they had.

    Each save writes every line, so on a long film saving after every line would grow with the square of
    the line count (a 1,500-line project takes about half a second to write). A save that takes over
    QUICK_SAVE_S is repeated only once SAVE_SPACING times its length has passed, which keeps saving under a
    quarter of the time; `flush` saves what is still waiting (a crash loses at most those few lines).
    """

    QUICK_SAVE_S = 0.1
    SAVE_SPACING = 3.0

    def __init__(self, project_path: Path, project: Project, all_lines: list[LineEntry],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path, self.project, self.clock = project_path, project, clock
        # Each line as the file holds it, made once per finished line: a save then only writes them out.
        self.rows = {line.index: dataclasses.asdict(line) for line in all_lines}
        self.cost = 0.0  # seconds the last save took
        self.saved_at = -float("inf")
        self.waiting = False

    def __call__(self, entry: LineEntry) -> None:
        self.rows[entry.index] = dataclasses.asdict(entry)
        self.waiting = True
        if self.cost < self.QUICK_SAVE_S or self.clock() - self.saved_at >= self.SAVE_SPACING * self.cost:
            self.flush()

    def flush(self) -> None:
        if not self.waiting:
            return
        started = self.clock()
        save_project(self.project, self.path, list(self.rows.values()))
        self.saved_at = self.clock()
        self.cost, self.waiting = self.saved_at - started, False
