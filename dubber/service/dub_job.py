"""A dub run as a job: the pipeline's dub, reporting each line's status and the progress as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubber.errors import OutputClash
from dubber.handoff.outputs import Planned, check_outputs, report_path_for, stem_path_for
from dubber.pipeline.dub import DubOptions, dub, dub_inputs, dub_outputs
from dubber.pipeline.session import PENDING, SKIPPED, STATUS_OF_TAKE, line_status
from dubber.project.store import LineEntry
from dubber.service.jobs import Job
from dubber.text.pronunciation import plain


@dataclass
class DubSpec:
    """What a dub job does: the inputs, where the output goes and the options (see `DubOptions`)."""

    video: Path
    subtitles: Path
    output: Path  # the dubbed video; the stem, report and project are written beside it, named after it
    options: DubOptions = field(default_factory=DubOptions)
    overwrite: bool = False  # replace files that exist (never an input)

    @property
    def folder(self) -> Path:
        return self.output.parent

    @property
    def stem_path(self) -> Path:
        return stem_path_for(self.output)

    @property
    def report_path(self) -> Path:
        return report_path_for(self.output)

    def planned(self) -> list[Planned]:
        """Every file and folder the job writes."""
        return dub_outputs(self.output, self.options, self.stem_path, self.report_path)

    def check(self, advice: str = "") -> None:
        """Refuse the job now if it would write over an input, or over an existing file unless `overwrite`
        (`advice`, how to ask for that, then follows the names of the files)."""
        try:
            check_outputs(self.planned(), dub_inputs(self.video, self.subtitles, self.options), self.overwrite)
        except OutputClash as exc:
            if not (advice and getattr(exc, "existing", None)):
                raise
            raise OutputClash(f"{exc}; {advice}", **exc.details) from None

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {"video": str(self.video), "subtitles": str(self.subtitles), "output": str(self.output),
                "lang": o.lang, "engine": o.engine, "voice": o.voice, "seed": o.seed, "mix": o.mix,
                "loudness": o.loudness, "candidates": o.candidates, "exports": list(o.exports), "sync": o.sync,
                "speak_all": o.speak_all, "foreign": o.foreign, "overwrite": self.overwrite}


def line_row(entry: LineEntry, line: int | None = None) -> dict[str, Any]:
    """A line as a job reports it, before it is rendered (or, when it is not spoken, why not)."""
    return {"index": entry.index, "line": line, "start_ms": entry.start_ms, "end_ms": entry.end_ms,
            "target_start_ms": entry.target_start_ms, "target_end_ms": entry.target_end_ms,
            "speaker": entry.speaker, "text": plain(entry.text), "status": PENDING if entry.spoken else SKIPPED,
            "error_ms": None, "speech_ms": None, "engine": None, "voice": None, "takes": 0,
            "reason": "" if entry.spoken else entry.skip_reason}


def run_dub(job: Job) -> None:
    """Dub `job.spec` (a `DubSpec`), keeping `job.lines`, `job.done` and `job.result` current."""
    spec: DubSpec = job.spec
    job.check_cancelled()
    rows: dict[int, dict[str, Any]] = {}

    def on_start(lines: list[LineEntry], diagnostics: Any) -> None:
        rows.update((line.index, line_row(line)) for line in lines)
        job.lines, job.total = list(rows.values()), sum(line.spoken for line in lines)

    def on_line(entry: LineEntry) -> None:
        row = rows.get(entry.index)
        take = entry.take
        if row is None or take is None:
            return
        row.update(status=line_status(entry, pronunciations=spec.options.pronunciations), error_ms=take.error_ms,
                   speech_ms=take.speech_ms, engine=take.engine, voice=take.voice, takes=len(entry.takes),
                   reason=take.reason)

    def progress(done: int, total: int, cue: Any) -> None:
        job.done, job.total = done, total
        job.check_cancelled()  # between lines: the project keeps every finished one

    spec.folder.mkdir(parents=True, exist_ok=True)
    result = dub(spec.video, spec.subtitles, spec.output, spec.options, stem_path=spec.stem_path,
                 report_path=spec.report_path, progress=progress, on_line=on_line, on_start=on_start,
                 overwrite=spec.overwrite)
    for report in result.lines:  # as measured on the finished track, by the dub's rule
        row = rows.get(report.index)
        if row is not None:
            row.update(line=report.line, error_ms=report.error_ms, reason=report.reason,
                       status=STATUS_OF_TAKE.get(report.status, row["status"]))
    for skipped in result.skipped:
        if skipped.index in rows:
            rows[skipped.index]["line"] = skipped.line
    job.result = {"output": str(result.output), "summary": result.summary,
                  "files": sorted({_beside(p, spec.folder) for p in result.written}),
                  "diagnostics": [d.to_dict() for d in result.diagnostics]}


def _beside(path: Path, folder: Path) -> str:
    """A written file's name relative to the output's folder (hand-off stems sit in a folder of their own)."""
    path = Path(path).absolute()
    return path.relative_to(folder.absolute()).as_posix() if path.is_relative_to(folder.absolute()) else path.name
