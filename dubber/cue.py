"""A subtitle cue and a diagnostic about a subtitle file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One line to dub: times in integer milliseconds, text already cleaned."""

    index: int
    start_ms: int
    end_ms: int
    text: str
    speaker: str | None = None
    line: int | None = None  # 1-based line in the source file, for messages

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"cue {self.index}: end {self.end_ms} ms is not after start {self.start_ms} ms")

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True)
class Diagnostic:
    """A problem in a subtitle file, named by file and line."""

    path: str
    line: int | None
    severity: str  # "error" drops the cue, "warning" keeps it
    code: str  # short machine-readable kind, e.g. "overlap", "empty-text"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity,
                "code": self.code, "message": self.message}
