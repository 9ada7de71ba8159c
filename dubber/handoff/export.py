"""The hand-off to editing software: timelines, dubbed subtitles and stems written beside the output.

`--export otio,srt,stems` next to `-o film.dub.mp4` writes `film.dub.otio`, `film.dub.srt` and the
folder `film.dub.stems/` (dialogue, one stem per speaker, the background as mixed, and `lines/`
with one WAV per line, which the timelines' clips point at).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from dubber.audio import media
from dubber.errors import UsageError
from dubber.fitting.report import LineReport
from dubber.handoff.outputs import Planned, sidecar
from dubber.handoff.timelines import TimelineLine, TimelineSource, build_timeline, timeline_files, write_timeline
from dubber.mix.blocks import Mixdown, Output
from dubber.mix.stems import LINES_FOLDER, LineClip, stem_outputs, write_line_clips, write_stems
from dubber.mix.timeline import Timeline
from dubber.subtitles.load import SubtitleLine, save_subtitles
from dubber.text.pronunciation import plain

TIMELINE_KINDS = ("otio", "fcpxml", "edl")
SUBTITLE_KINDS = ("srt", "ass", "vtt")
EXPORT_KINDS = (*TIMELINE_KINDS, *SUBTITLE_KINDS, "stems")


def parse_exports(text: str) -> tuple[str, ...]:
    """Read a comma-separated list of export kinds ("otio,srt,stems"), each once, in a fixed order."""
    asked = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(EXPORT_KINDS))
    if unknown or not asked:
        raise UsageError(f"unknown export {', '.join(unknown) or repr(text)}; choose from {', '.join(EXPORT_KINDS)}")
    return tuple(kind for kind in EXPORT_KINDS if kind in asked)


def stems_folder(output: Path) -> Path:
    """The folder of stems and line WAVs beside `output`: `film.dub.mp4` -> `film.dub.stems`."""
    return sidecar(output, ".stems")


def export_paths(output: Path, kinds: tuple[str, ...]) -> dict[str, Path]:
    """Where each export goes: beside `output`, named after it."""
    return {kind: stems_folder(output) if kind == "stems" else sidecar(output, f".{kind}") for kind in kinds}


def export_plan(output: Path, kinds: tuple[str, ...]) -> list[Planned]:
    """Every file and folder the exports of `kinds` write beside `output` (dubber.handoff.outputs checks them)."""
    planned = [Planned(path, "the stems folder" if kind == "stems" else f"the {kind.upper()} export",
                       folder=kind == "stems",
                       pattern=f"{glob.escape(Path(output).stem)}.*.edl" if kind == "edl" else None)
               for kind, path in export_paths(output, kinds).items()]
    if "stems" not in kinds and any(kind in TIMELINE_KINDS for kind in kinds):
        planned.append(Planned(stems_folder(output) / LINES_FOLDER, "the timelines' line WAVs folder", folder=True))
    return planned


def planned_files(output: str | Path | None, stem_path: str | Path | None = None,
                  subtitles_path: str | Path | None = None, report_path: str | Path | None = None,
                  exports: tuple[str, ...] = ()) -> list[Planned]:
    """Every file and folder a dub or an export with these paths writes (the hand-off files beside the video)."""
    planned = [Planned(Path(path), what) for path, what in
               ((output, "the dubbed video"), (stem_path, "the stem"), (subtitles_path, "the dubbed subtitles"),
                (report_path, "the report")) if path is not None]
    if output is not None and exports:
        planned += export_plan(Path(output), exports)
    return planned


@dataclass
class Handoff:
    """What every hand-off file is made from: the mix (the placed takes over the original, read by ranges),
    the measured lines."""

    mixdown: Mixdown
    lines: list[LineReport]
    video: Path
    info: media.MediaInfo
    lang: str  # the dub's language, as given (en, en-US)

    @property
    def timeline(self) -> Timeline:
        return self.mixdown.timeline

    @property
    def speakers(self) -> dict[int, str]:
        return {line.index: line.speaker or "" for line in self.lines}

    def subtitle_lines(self) -> list[SubtitleLine]:
        """Each line at its measured speech span; a line with no speech keeps its cue's times.

        The words are shown without pronunciation markup: that is for the engine, not the viewer.
        """
        return [SubtitleLine(line.speech_start_ms, line.speech_end_ms, plain(line.text), line.speaker or "")
                if line.speech_start_ms is not None and line.speech_end_ms is not None
                else SubtitleLine(line.start_ms, line.end_ms, plain(line.text), line.speaker or "")
                for line in self.lines]


def write_handoff(handoff: Handoff, output: Path, kinds: tuple[str, ...], stems_written: list[Path] | None = None
                  ) -> list[Path]:
    """Write each export of `kinds` beside `output` and return every file written.

    `stems_written`: the stems (dialogue, speakers, background) are already written, in the walk that wrote
    the dub track (`handoff_outputs`); only the line WAVs are left to write.
    """
    paths = export_paths(output, kinds)
    written: list[Path] = []
    clips = None
    if "stems" in paths:
        if stems_written is None:
            files, clips = write_stems(paths["stems"], handoff.speakers, handoff.mixdown)
        else:
            clips = write_line_clips(paths["stems"] / LINES_FOLDER, handoff.timeline, handoff.speakers,
                                     handoff.mixdown)
            files = stems_written + [clip.path for clip in clips]
        written += files
    for kind in SUBTITLE_KINDS:
        if kind in paths:
            written.append(save_subtitles(paths[kind], handoff.subtitle_lines(), fmt=kind))
    timelines = [kind for kind in TIMELINE_KINDS if kind in paths]
    if timelines:
        if clips is None:  # the timelines' clips need their WAVs even without the stems
            clips = write_line_clips(stems_folder(output) / LINES_FOLDER, handoff.timeline, handoff.speakers,
                                     handoff.mixdown)
            written += [clip.path for clip in clips]
        written += _write_timelines(handoff, clips, {kind: paths[kind] for kind in timelines})
    return written


def handoff_outputs(handoff: Handoff, output: Path, kinds: tuple[str, ...]) -> list[Output]:
    """The stems of `kinds`, for the walk over the mix that writes the dub track (see `write_handoff`)."""
    if "stems" not in kinds:
        return []
    return stem_outputs(export_paths(output, kinds)["stems"], handoff.speakers, handoff.mixdown)


def _write_timelines(handoff: Handoff, clips: list[LineClip], paths: dict[str, Path]) -> list[Path]:
    texts = {line.index: line.text for line in handoff.lines}
    lines = [TimelineLine(clip.index, clip.speaker, texts.get(clip.index, ""), clip.start, clip.length, clip.path)
             for clip in clips]
    video = handoff.info.video_streams[0] if handoff.info.video_streams else None
    duration_ms = handoff.info.duration_ms or round(handoff.timeline.length * 1000 / handoff.timeline.sample_rate)
    source = TimelineSource(handoff.video.absolute(), duration_ms, video.frame_rate if video else None,
                            bool(handoff.info.audio_streams), media.iso639_2(handoff.lang))
    timeline = build_timeline(handoff.video.stem + " (dub)", lines, handoff.timeline.sample_rate, source)
    written = []
    for kind, path in paths.items():
        write_timeline(timeline, path, kind)
        written += timeline_files(timeline, path, kind)  # an EDL is one file per track
    return written


def describe_written(paths: list[Path]) -> list[str]:
    """List written files for a person: a stems folder as one entry with its file count."""
    shown: list[str] = []
    counts: dict[str, int] = {}
    for path in (os.path.abspath(p) for p in paths):
        folder = next((str(parent) for parent in Path(path).parents if parent.name.endswith(".stems")), None)
        if folder is None:
            shown.append(path)
        else:
            if folder not in counts:
                shown.append(folder)
            counts[folder] = counts.get(folder, 0) + 1
    return [f"{entry}{os.sep} ({counts[entry]} files)" if entry in counts else entry for entry in shown]
