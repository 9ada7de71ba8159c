"""A subtitle cue and a diagnostic about a subtitle file."""

from __future__ import annotations

from dataclasses import dataclass

# Why a cue is not spoken by default (`Cue.skip`); `--speak-all` speaks them anyway.
SKIP_SOUND = "sound"  # a sound description: [door slams], (laughs), LAUGHS
SKIP_LYRICS = "lyrics"  # sung or music: ♪ ... ♪, a lone music note
SKIP_SIGN = "sign"  # ASS typesetting: positioned or moving text, top-aligned sign styles, karaoke
SKIP_CREDIT = "credit"  # credits and ads: URLs, "subtitles by ..."
SKIP_DUPLICATE = "duplicate"  # the same words at the same time as another cue (said together): spoken once
SKIP_LANGUAGE = "language"  # not in the dub's language (dubber.subtitles.language)
SKIP_PAST_END = "past-end"  # starts at or after the video's end
NON_SPEECH = (SKIP_SOUND, SKIP_LYRICS, SKIP_SIGN, SKIP_CREDIT)


@dataclass(frozen=True)
class Cue:
    """One line to dub: times in integer milliseconds, text already cleaned."""

    index: int
    start_ms: int
    end_ms: int
    text: str
    speaker: str | None = None
    line: int | None = None  # 1-based line in the source file, for messages
    skip: str = ""  # why it is not spoken by default (a SKIP_* kind), "" when it is spoken
    skip_reason: str = ""  # the same in words, for `check`, the report and the panel
    part: int = 0  # a turn of a cue that holds several speakers' dashed lines: 1, 2, ...; 0 for a whole cue
    lang: str | None = None  # the line's own language where it is not the dub's (dubber.subtitles.language)
    # The original speech the line follows (dubber.fitting.original_speech); None where none was found.
    target_start_ms: int | None = None
    target_end_ms: int | None = None

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"cue {self.index}: end {self.end_ms} ms is not after start {self.start_ms} ms")

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def spoken(self) -> bool:
        """Whether the cue is spoken by default."""
        return not self.skip


@dataclass(frozen=True)
class Diagnostic:
    """A problem in a subtitle file, named by file and line."""

    path: str
    line: int | None
    severity: str  # "error" drops the cue, "warning" keeps it (or names why it is not spoken)
    code: str  # short machine-readable kind, e.g. "overlap", "empty-text"
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "severity": self.severity,
                "code": self.code, "message": self.message}


def show_time(ms: int) -> str:
    """Format milliseconds as H:MM:SS.mmm for messages."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    return f"{sign}{ms // 3_600_000}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
