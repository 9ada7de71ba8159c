"""Every error in plain words: one title per error type, and the line it happened on when there is one."""

from __future__ import annotations

import re

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


def what_is_missing(reason: str) -> str:
    """The first clause of an engine's reason ("the f5_tts package is not installed"), without its recipe."""
    return re.split(r"[:;]\s|\.\s|\s\(", reason.strip(), maxsplit=1)[0].rstrip(".")


def cannot_run(engine: str, reason: str) -> str:
    """One plain sentence naming what an engine lacks here; the full recipe goes in the details."""
    return f"{engine} cannot run here: {what_is_missing(reason)}."


def describe(error: BaseException, line: int | None = None) -> tuple[str, str]:
    """Return (title, message) for an error; `line` names the subtitle line it happened on."""
    title = next((t for kind, t in TITLES if isinstance(error, kind)), "Unexpected error")
    if isinstance(error, EngineUnavailable):  # a pip and Hugging Face recipe is no message: say what is missing
        engine = getattr(error, "engine", None) or "the engine"
        text = cannot_run(engine, getattr(error, "hint", None) or str(error))
    elif isinstance(error, (DubberError, OSError)):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    if line is not None and not text.startswith(f"line {line}"):
        text = f"Line {line}: {text}"
    return title, text
