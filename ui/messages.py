"""Every error in plain words: one title per error type, and the line it happened on when there is one."""

from __future__ import annotations

from dubber.errors import (
    DubberError,
    EngineError,
    EngineUnavailable,
    FitError,
    MediaError,
    OutputClash,
    OutputError,
    ProcessError,
    SubtitleError,
    SynthesisError,
    UnknownEngine,
    UnknownVoice,
    UnsupportedLanguage,
    UsageError,
)

# Most specific first: the first type an error is an instance of gives its title.
TITLES: list[tuple[type[BaseException], str]] = [
    (SubtitleError, "The subtitles cannot be read"),
    (MediaError, "The media file cannot be used"),
    (OutputError, "The output cannot be written"),
    (ProcessError, "ffmpeg failed"),
    (EngineUnavailable, "The engine is not available"),
    (UnknownEngine, "No such engine"),
    (UnknownVoice, "No such voice"),
    (UnsupportedLanguage, "The engine does not speak this language"),
    (SynthesisError, "The engine failed"),
    (EngineError, "The engine failed"),
    (FitError, "The line could not be fitted"),
    (OutputClash, "A file is in the way"),
    (UsageError, "That cannot be done"),
    (DubberError, "Something went wrong"),
    (OSError, "A file could not be read or written"),
]


def describe(error: BaseException, line: int | None = None) -> tuple[str, str]:
    """Return (title, message) for an error; `line` names the subtitle line it happened on."""
    title = next((t for kind, t in TITLES if isinstance(error, kind)), "Unexpected error")
    text = str(error) if isinstance(error, (DubberError, OSError)) else f"{type(error).__name__}: {error}"
    if line is not None and not text.startswith(f"line {line}"):
        text = f"Line {line}: {text}"
    return title, text
