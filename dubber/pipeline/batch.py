"""Dub many videos as one batch: each exactly as `dub()` dubs it alone, one progress count over all of
them, and a summary per video and in total.

A video that fails (unreadable subtitles, a missing file) is reported and the others still run. Every
output is checked before any work, across the whole batch: no two videos write one file, and an existing
file is replaced only with `overwrite`.

Where lines are rendered is the executor's business. `LocalExecutor` leaves it to `dub()` (its worker
threads, on this machine). A cluster executor renders the lines ahead of the dubs and stores each take in
its video's project, written by this process alone; `dub()` then resumes the project, finds every line
done, and only places and mixes them, so the samples are the same wherever a line ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dubber.errors import DubberError, OutputClash, UsageError
from dubber.files import write_json_atomic
from dubber.fitting.fitter import STATUS_OK
from dubber.handoff.outputs import Planned, check_outputs
from dubber.pipeline.dub import DubOptions, DubResult, dub, dub_inputs, dub_outputs
from dubber.project.store import project_path_for
from dubber.subtitles.load import load_subtitles

SCHEMA = "dubber.batch/1"

# (lines done, lines in all, the video a line was just finished in) over the whole batch
BatchProgress = Callable[[int, int, str], None]
# (video, lines done, its lines): a video's own count, from an executor or from its dub
VideoProgress = Callable[["BatchVideo", int, int], None]


@dataclass(frozen=True)
class BatchVideo:
    """One dub of a batch and everything `dub()` takes for it. With `problem` it is not run: its options
    could not be made (a speakers file or a reference clip it names cannot be read)."""

    name: str
    lang: str
    video: Path
    subtitles: Path
    output: Path
    options: DubOptions | None
    stem: Path | None = None
    report: Path | None = None
    where: str = ""  # how messages name it: "season.toml: video 2 (ep02)"
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.lang})"

    @property
    def project(self) -> Path:
        return (self.options.project if self.options and self.options.project else None) or \
            project_path_for(self.output)


@dataclass
class VideoOutcome:
    """What became of one video: lines in sync, failed and not spoken, and how long it took."""

    name: str
    lang: str
    video: str
    subtitles: str
    output: str
    lines: int = 0  # spoken lines
    ok: int = 0  # in sync: status ok
    failed: int = 0  # failed, too long for their window, or overlapping another line (DubResult.failed)
    skipped: int = 0  # not spoken
    wall_s: float = 0.0
    error: str | None = None  # why the whole video failed
    report: str | None = None
    failed_lines: list[str] = field(default_factory=list)  # "subtitles:line: status: reason"

    @property
    def status(self) -> str:
        return "failed" if self.error else ("lines failed" if self.failed else "ok")


@dataclass
class BatchResult:
    """Every video's outcome, in the manifest's order, and the batch's wall time."""

    outcomes: list[VideoOutcome]
    wall_s: float

    @property
    def ok(self) -> bool:
        return all(outcome.status == "ok" for outcome in self.outcomes)

    def total(self) -> dict[str, Any]:
        count = {key: sum(getattr(o, key) for o in self.outcomes) for key in ("lines", "ok", "failed", "skipped")}
        return {"videos": len(self.outcomes), "videos_failed": sum(o.error is not None for o in self.outcomes),
                **count, "wall_s": round(self.wall_s, 3)}

    def to_dict(self) -> dict[str, Any]:
        videos = [{**asdict(o), "status": o.status} for o in self.outcomes]
        return {"schema": SCHEMA, "videos": videos, "total": self.total()}

    def table(self) -> str:
        """The summary as a plain-text table, one row per video and a total."""
        header = ("video", "lang", "status", "lines", "in sync", "failed", "skipped", "wall s")
        rows = [(o.name, o.lang, o.status, o.lines, o.ok, o.failed, o.skipped, f"{o.wall_s:.1f}")
                for o in self.outcomes]
        t = self.total()
        rows.append(("total", "", f"{t['videos_failed']} of {t['videos']} failed" if t["videos_failed"] else "ok",
                     t["lines"], t["ok"], t["failed"], t["skipped"], f"{t['wall_s']:.1f}"))
        cells = [tuple(str(c) for c in row) for row in [header, *rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.insert(len(lines) - 1, lines[1])
        return "\n".join(lines)


class Executor(Protocol):
    """Where a batch's lines are rendered."""

    def render(self, videos: list[BatchVideo], progress: VideoProgress) -> None:
        """Render the videos' missing lines into their projects before they are dubbed (or leave that to
        `dub()`). A video it cannot render is left to its dub, which reports why."""


class LocalExecutor:
    """Render on this machine: each video's dub renders its own lines on its worker threads."""

    def render(self, videos: list[BatchVideo], progress: VideoProgress) -> None:
        return None


def check_batch_outputs(videos: list[BatchVideo], overwrite: bool, extra: Sequence[Planned] = (),
                        inputs: Sequence[Path] = ()) -> None:
    """Refuse, naming the video, a batch that writes one file twice, writes over any video's input, or
    (without `overwrite`) replaces a file that exists: before anything is rendered."""
    planned: list[tuple[BatchVideo | None, Planned]] = [(None, item) for item in extra]
    every_input = list(inputs)
    for video in videos:
        if video.options is None:
            continue
        planned += [(video, item) for item in dub_outputs(video.output, video.options, video.stem, video.report)]
        every_input += dub_inputs(video.video, video.subtitles, video.options)
    for i, (owner, item) in enumerate(planned):
        for other_owner, other in planned[:i]:
            if item.path.absolute() == other.path.absolute():
                names = " and ".join(f"{o.where or o.label}'s {p.what}" if o else p.what
                                     for o, p in ((other_owner, other), (owner, item)))
                raise OutputClash(f"{names} would both be written to {item.path}; give them different names",
                                  path=str(item.path))
    for owner, item in planned:
        try:
            check_outputs([item], every_input, overwrite)
        except OutputClash as exc:
            where = f"{owner.where or owner.label}: " if owner else ""
            raise OutputClash(f"{where}{exc}", **exc.details) from None


def run_batch(videos: list[BatchVideo], executor: Executor | None = None, progress: BatchProgress | None = None,
              overwrite: bool = False, summary_path: Path | None = None) -> BatchResult:
    """Dub every video, one after another, each exactly as `dub()` alone would; return their outcomes.

    The outputs (and the summary, when `summary_path` is given) are checked before any work. The lines of
    all videos are counted up front from their subtitles, then each video's own count replaces its
    guess once its dub knows which lines are spoken.
    """
    if not videos:
        raise UsageError("the batch has no videos")
    extra = [Planned(summary_path, "the batch summary")] if summary_path is not None else []
    check_batch_outputs(videos, overwrite, extra)
    started = time.monotonic()
    counts = _Counts(videos, progress)
    (executor or LocalExecutor()).render([v for v in videos if v.problem is None], counts.update)
    outcomes = [_dub_one(video, counts, overwrite) for video in videos]
    result = BatchResult(outcomes, time.monotonic() - started)
    if summary_path is not None:
        write_json_atomic(summary_path, result.to_dict())
    return result


def _dub_one(video: BatchVideo, counts: _Counts, overwrite: bool) -> VideoOutcome:
    """Dub one video, catching what fails it so the batch goes on."""
    outcome = VideoOutcome(video.name, video.lang, str(video.video), str(video.subtitles), str(video.output),
                           report=str(video.report) if video.report else None)
    started = time.monotonic()
    if video.problem is not None or video.options is None:
        outcome.error = video.problem or "no options"
        counts.update(video, 0, 0)
        return outcome
    try:
        result = dub(video.video, video.subtitles, video.output, video.options, stem_path=video.stem,
                     report_path=video.report, overwrite=overwrite,
                     progress=lambda done, total, cue: counts.update(video, done, total))
    except Exception as exc:  # noqa: BLE001 - one video's failure, whatever it is, is reported; the rest run
        outcome.error = _describe(exc)
        counts.update(video, 0, 0)
    else:
        _count(outcome, result, video)
        counts.update(video, outcome.lines, outcome.lines)
    outcome.wall_s = round(time.monotonic() - started, 3)
    return outcome


def _count(outcome: VideoOutcome, result: DubResult, video: BatchVideo) -> None:
    outcome.lines = len(result.lines)
    outcome.ok = sum(line.status == STATUS_OK for line in result.lines)
    outcome.failed = len(result.failed) + sum(d.severity == "error" for d in result.diagnostics)
    outcome.skipped = len(result.skipped)
    outcome.failed_lines = [f"{video.subtitles}:{line.line or f'cue {line.index}'}: {line.status}: "
                            f"{line.reason or line.text}" for line in result.failed]


def _describe(exc: Exception) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, DubberError):
        return f"{type(exc).__name__}: {exc.filename or ''}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


class _Counts:
    """The batch's one line count: each video's done and total, its total guessed from its cues until its
    dub says how many lines it speaks."""

    def __init__(self, videos: list[BatchVideo], progress: BatchProgress | None) -> None:
        self.progress = progress
        self.done = {id(v): 0 for v in videos}
        self.total = {id(v): _cue_count(v) for v in videos}
        if progress:
            progress(0, sum(self.total.values()), "")

    def update(self, video: BatchVideo, done: int, total: int) -> None:
        # A count only grows within a video: an executor's renders and the dub's resumed lines say it twice.
        self.total[id(video)] = total
        self.done[id(video)] = min(max(self.done[id(video)], done), total)
        if self.progress:
            self.progress(sum(self.done.values()), sum(self.total.values()), video.label)


def _cue_count(video: BatchVideo) -> int:
    """How many cues a video's subtitles hold: the first guess at its lines (0 if they cannot be read)."""
    if video.problem is not None:
        return 0
    try:
        return len(load_subtitles(video.subtitles).cues)
    except (DubberError, OSError):
        return 0
