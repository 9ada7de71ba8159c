"""One typed family of errors; the UI and CLI map each type to a message."""

from __future__ import annotations

from typing import Any


class DubberError(Exception):
    """Base of every error dubber raises on purpose."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        for key, value in details.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep details across a worker-process boundary.
        return (_rebuild, (type(self), self.message, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[DubberError], message: str, details: dict[str, Any]) -> DubberError:
    err = cls.__new__(cls)
    DubberError.__init__(err, message, **details)
    return err


class UsageError(DubberError):
    """The command line or an option value is wrong."""


class SubtitleError(DubberError):
    """A subtitle file cannot be read at all (bad cues become diagnostics instead)."""


class MediaError(DubberError):
    """A media file is missing, unreadable, or lacks a needed stream."""


class ProcessError(DubberError):
    """An external program (ffmpeg) failed or could not start."""


class OutputError(DubberError):
    """An output file or its folder cannot be written (a read-only folder, a full disk); `path` names it."""


class EngineError(DubberError):
    """Base of engine problems."""


class EngineUnavailable(EngineError):
    """The engine's package or weights are not installed; `hint` says what to install."""


class UnknownEngine(EngineError):
    """No engine is registered under that name."""


class UnknownVoice(EngineError):
    """The engine has no such voice."""


class UnsupportedLanguage(EngineError):
    """The engine cannot speak that language."""


class GraphError(EngineError):
    """An ONNX graph lacks a tensor or node that a rewrite expects."""


class SynthesisError(EngineError):
    """The engine failed on one line, or returned unusable audio."""


class EngineTimeout(SynthesisError):
    """An engine call did not finish within its timeout, or the engine is still busy with one that did not."""


class FitError(DubberError):
    """A take could not be fitted to its slot for a reason other than its length."""


class ForbiddenPath(UsageError):
    """A path a service request names lies outside the folders the service may read and write."""


class OutputClash(UsageError):
    """A file a run would write is one of its inputs, is written twice, or (unless overwriting was asked
    for) already exists; `path` names it, `existing` lists every existing file when that is the clash."""


class TooLarge(UsageError):
    """A request, upload or text is over the service's size limit."""


class OverBudget(UsageError):
    """A line would cost more than one request may; `limit` names the cap: "text" (its length as
    spoken) or "speech" (its estimated natural length, far beyond its slot)."""


class UnknownJob(UsageError):
    """No job has that id (it never existed, or it ended long enough ago to be forgotten)."""


class QueueFull(DubberError):
    """The service's job queue holds as many waiting jobs as it may: try again later."""


class Cancelled(DubberError):
    """A job was cancelled while it ran."""


class JobNotReady(UsageError):
    """A job's result was asked for before the job finished (or after it failed)."""


class UnknownFile(UsageError):
    """A finished job wrote no file of that name; `files` lists the ones it wrote."""
