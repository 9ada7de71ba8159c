"""Dub the current DaVinci Resolve timeline with the `dubber` command line and bring the result back.

The steps, each a function that takes Resolve's scripting objects as plain arguments (duck-typed, so
they can be tested without Resolve):

1. `read_timeline`: from the current project's current timeline, the source video (the first clip on
   video track 1 that comes from a media file: its MediaPoolItem's clip property "File Path") and the
   items of a subtitle track, converted to integer milliseconds relative to the start of that video
   file (the clip's place on the timeline and its source in-point, `GetLeftOffset()`, taken into account).
2. `write_srt` + `dub_command` + `run_dubber`: `dubber dub VIDEO SUBS.srt -o OUT.mp4 --export otio,srt,stems`
   as an argument list, the `dubber` program found through DUBBER, DUBBER_PYTHON or PATH, its output
   streamed line by line.
3. `import_outputs`: `MediaPool.ImportTimelineFromFile(OUT.otio, ...)`, or, when Resolve will not
   make a timeline of it, `MediaPool.ImportMedia` of the dubbed video and the stems (dialogue,
   background, one per speaker).

Only the methods listed in Resolve's scripting README (Developer/Scripting/README.txt, "Basic Resolve
API") are called. This module was tested against a stand-in for those objects, not against DaVinci
Resolve itself. It imports nothing outside the standard library and `dubber.errors`, so it also loads
in the Python that Resolve runs scripts with, where dubber's own dependencies may be missing.
"""

from __future__ import annotations

import math
import os
import shlex
import shutil
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
# typing's aliases, not collections.abc's: Resolve may run scripts on a Python older than 3.9.
from typing import Any, Callable, Iterable, Mapping, Sequence

from dubber.errors import DubberError, MediaError, ProcessError, UsageError

EXPORTS = "otio,srt,stems"
TAIL_LINES = 20
# dubber's exit code when it wrote the output but some lines could not be dubbed (dubber.cli.main.EXIT_LINES_FAILED).
EXIT_LINES_FAILED = 1

OnLine = Callable[[str], None]


# ── Frames and milliseconds ─────────────────────────────────────────


def frame_rate(setting: Any) -> Fraction:
    """Return the exact frame rate a timeline's "timelineFrameRate" setting stands for.

    Resolve reports NTSC rates rounded ("23.976", "29.97", "59.94"); they are 24000/1001, 30000/1001,
    60000/1001 exactly, and a drop-frame label changes only how timecode counts, not frame timing.
    """
    text = str(setting if setting is not None else "").strip()
    token = text.split()[0] if text else ""
    try:
        rate = Fraction(token)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"the timeline frame rate {text!r} is not a number of frames per second") from None
    if rate <= 0:
        raise UsageError(f"the timeline frame rate {text!r} is not positive")
    if rate.denominator != 1:
        ntsc = Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)
        if abs(rate - ntsc) < Fraction(1, 200):  # the reported value is the NTSC rate rounded for display
            return ntsc
    return rate


def frames_to_ms(frames: int | Fraction, rate: Fraction) -> int:
    """Convert a frame count at `rate` to milliseconds, rounded half up, exactly."""
    return math.floor(Fraction(frames) * 1000 / rate + Fraction(1, 2))


# ── Reading the timeline ────────────────────────────────────────────


@dataclass(frozen=True)
class SourceClip:
    """The video clip being dubbed: its media file and where it lies on the timeline, in timeline frames."""

    path: Path
    start_frame: Fraction  # first frame on the timeline (TimelineItem.GetStart)
    end_frame: Fraction  # frame after the last one on the timeline (TimelineItem.GetEnd)
    source_in_frame: Fraction  # frames of the file before the clip's in-point (TimelineItem.GetLeftOffset)

    def source_ms(self, timeline_frame: Fraction, rate: Fraction) -> int:
        """Return the time in the media file, in ms, that is shown at a timeline frame."""
        return frames_to_ms(timeline_frame - self.start_frame + self.source_in_frame, rate)

    @property
    def file_zero_frame(self) -> Fraction:
        """Return the timeline frame where the file's first frame would sit: where the dub lines up."""
        return self.start_frame - self.source_in_frame


@dataclass(frozen=True)
class Subtitle:
    """One subtitle line, in ms from the start of the source video file."""

    start_ms: int
    end_ms: int
    text: str


@dataclass
class TimelineSubtitles:
    """What the current timeline gives dubber: the video, the timeline's rate and the subtitle lines."""

    project: Any
    timeline: Any
    timeline_name: str
    rate: Fraction
    clip: SourceClip
    subtitles: list[Subtitle]
    outside: int = 0  # subtitle items that lie wholly outside the video clip, left out
    empty: int = 0  # subtitle items without text, left out


def current_project(resolve: Any) -> Any:
    """Return Resolve's current project, or explain why there is none."""
    if resolve is None:
        raise UsageError("cannot reach DaVinci Resolve's scripting API: run this from Resolve's "
                         "Workspace > Scripts menu, or allow external scripting in Preferences > General")
    manager = resolve.GetProjectManager()
    project = manager.GetCurrentProject() if manager else None
    if not project:
        raise UsageError("no project is open in DaVinci Resolve: open the project whose timeline to dub")
    return project


def current_timeline(project: Any) -> Any:
    """Return the project's current timeline, or explain why there is none."""
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise UsageError(f"project {project.GetName()!r} has no current timeline: open the timeline to dub "
                         "in the Edit page")
    return timeline


def timeline_rate(timeline: Any, project: Any) -> Fraction:
    """Return the timeline's exact frame rate (the project's setting where the timeline gives none)."""
    setting = timeline.GetSetting("timelineFrameRate") or project.GetSetting("timelineFrameRate")
    return frame_rate(setting)


def source_clip(timeline: Any, track: int = 1) -> SourceClip:
    """Return the first clip on a video track that comes from a media file."""
    name = timeline.GetName()
    items = sorted(timeline.GetItemListInTrack("video", track) or [], key=lambda item: item.GetStart())
    if not items:
        raise UsageError(f"video track {track} of timeline {name!r} is empty: put the video to dub on it")
    for item in items:
        media = item.GetMediaPoolItem()
        path = media.GetClipProperty("File Path") if media else ""
        if path:
            break
    else:
        raise UsageError(f"no clip on video track {track} of timeline {name!r} comes from a media file "
                         "(titles, generators and compound clips cannot be dubbed)")
    if not Path(path).is_file():
        raise MediaError(f"{path}: the video clip's media file is missing (is the clip offline?)", path=path)
    return SourceClip(Path(path), Fraction(item.GetStart()), Fraction(item.GetEnd()), Fraction(item.GetLeftOffset()))


def _subtitle_text(raw: Any) -> str:
    # A blank line would end the SRT block early, so keep only lines with text.
    lines = [line.strip() for line in str(raw or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)


def read_subtitles(timeline: Any, clip: SourceClip, rate: Fraction, track: int = 1) -> tuple[list[Subtitle], int, int]:
    """Return a subtitle track's lines over the clip, in ms of the source file, and how many lay outside or were empty.

    A line that runs past either end of the clip is cut to the clip: dubber can only speak over the video it has.
    """
    name = timeline.GetName()
    if (timeline.GetTrackCount("subtitle") or 0) < track:
        raise UsageError(f"timeline {name!r} has no subtitle track {track}: add one (Timeline > Add Track > "
                         "Subtitle) or import an SRT onto the timeline")
    items = timeline.GetItemListInTrack("subtitle", track) or []
    if not items:
        raise UsageError(f"subtitle track {track} of timeline {name!r} is empty: there is nothing to dub")
    subtitles: list[Subtitle] = []
    outside = empty = 0
    for item in items:
        text = _subtitle_text(item.GetName())
        if not text:
            empty += 1
            continue
        start = max(Fraction(item.GetStart()), clip.start_frame)
        end = min(Fraction(item.GetEnd()), clip.end_frame)
        start_ms, end_ms = clip.source_ms(start, rate), clip.source_ms(end, rate)
        if end_ms <= start_ms:
            outside += 1
            continue
        subtitles.append(Subtitle(start_ms, end_ms, text))
    if not subtitles:
        raise UsageError(f"none of the {len(items)} subtitles on track {track} of timeline {name!r} lies over "
                         f"the video clip {clip.path.name} (timeline frames {clip.start_frame}-{clip.end_frame})")
    subtitles.sort(key=lambda line: (line.start_ms, line.end_ms))
    return subtitles, outside, empty


def read_timeline(resolve: Any, subtitle_track: int = 1) -> TimelineSubtitles:
    """Read the current timeline's source video and subtitle lines."""
    project = current_project(resolve)
    timeline = current_timeline(project)
    rate = timeline_rate(timeline, project)
    clip = source_clip(timeline)
    subtitles, outside, empty = read_subtitles(timeline, clip, rate, subtitle_track)
    return TimelineSubtitles(project, timeline, timeline.GetName(), rate, clip, subtitles, outside, empty)


# ── The SRT file ────────────────────────────────────────────────────


def srt_time(ms: int) -> str:
    """Format milliseconds as an SRT timestamp, HH:MM:SS,mmm."""
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_srt(path: Path, subtitles: Iterable[Subtitle]) -> Path:
    """Write subtitle lines as a UTF-8 SRT file."""
    blocks = [f"{n}\n{srt_time(line.start_ms)} --> {srt_time(line.end_ms)}\n{line.text}\n"
              for n, line in enumerate(subtitles, start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8", newline="\n")
    return path


# ── Running dubber ──────────────────────────────────────────────────


@dataclass(frozen=True)
class DubSettings:
    """What to ask dubber for, and where to write, as the DUBBER_* settings give it."""

    lang: str | None = None
    loudness: str | None = None
    extra_args: tuple[str, ...] = ()
    out_dir: Path | None = None
    subtitle_track: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DubSettings:
        """Read DUBBER_LANG, DUBBER_LOUDNESS, DUBBER_ARGS, DUBBER_OUT_DIR and DUBBER_SUBTITLE_TRACK."""
        track = env.get("DUBBER_SUBTITLE_TRACK") or "1"
        if not track.isdigit() or int(track) < 1:
            raise UsageError(f"DUBBER_SUBTITLE_TRACK={track!r}: give a track number, 1 or more")
        try:
            extra = tuple(shlex.split(env.get("DUBBER_ARGS") or ""))
        except ValueError as exc:
            raise UsageError(f"DUBBER_ARGS cannot be split into arguments: {exc}") from None
        out_dir = env.get("DUBBER_OUT_DIR")
        return cls(lang=env.get("DUBBER_LANG") or None, loudness=env.get("DUBBER_LOUDNESS") or None,
                   extra_args=extra, out_dir=Path(out_dir).expanduser() if out_dir else None,
                   subtitle_track=int(track))


@dataclass(frozen=True)
class DubOutputs:
    """The files `dubber dub -o VIDEO --export otio,srt,stems` writes beside VIDEO."""

    video: Path

    @property
    def otio(self) -> Path:
        """Return the timeline: one clip per line, one audio track per speaker."""
        return self.video.with_suffix(".otio")

    @property
    def srt(self) -> Path:
        """Return the dubbed subtitles, with the spans actually spoken."""
        return self.video.with_suffix(".srt")

    @property
    def stems(self) -> Path:
        """Return the stems folder: dialogue.wav, background.wav, speakers/NAME.wav and lines/NNNN.wav."""
        return self.video.with_suffix(".stems")

    @property
    def lines(self) -> Path:
        """Return the folder of per-line WAVs the timeline's clips refer to."""
        return self.stems / "lines"


def find_dubber(env: Mapping[str, str]) -> list[str]:
    """Return the command that starts dubber: DUBBER, else DUBBER_PYTHON -m dubber.cli.main, else `dubber` on PATH."""
    program = env.get("DUBBER")
    if program:
        path = Path(program).expanduser()
        if not path.is_file():
            raise UsageError(f"DUBBER={program}: no such program (set it to the dubber executable)")
        return [str(path)]
    python = env.get("DUBBER_PYTHON")
    if python:
        path = Path(python).expanduser()
        if not path.is_file():
            raise UsageError(f"DUBBER_PYTHON={python}: no such Python (set it to the python of dubber's environment)")
        return [str(path), "-m", "dubber.cli.main"]
    found = shutil.which("dubber", path=env.get("PATH"))
    if not found:
        raise UsageError("cannot find the dubber program: set DUBBER to the dubber executable or DUBBER_PYTHON "
                         "to the python of the environment dubber is installed in (applications started from "
                         "the desktop often do not see your shell's PATH)")
    return [found]


def dub_command(dubber: Sequence[str], video: Path, subtitles: Path, output: Path,
                settings: DubSettings) -> list[str]:
    """Return the `dubber dub` argument list that dubs `video` and exports the timeline, subtitles and stems."""
    # The folder is the bridge's own (work_dir): each round trip replaces the files of the one before.
    command = [*dubber, "dub", str(video), str(subtitles), "-o", str(output), "--export", EXPORTS, "--overwrite"]
    if settings.lang:
        command += ["--lang", settings.lang]
    if settings.loudness:
        command += ["--loudness", settings.loudness]
    return command + list(settings.extra_args)


def _child_env(env: Mapping[str, str]) -> dict[str, str]:
    child = dict(env)
    # Resolve's own Python settings would point dubber's interpreter at the wrong standard library.
    for name in ("PYTHONHOME", "PYTHONPATH"):
        child.pop(name, None)
    child.update(PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    return child


def run_dubber(command: Sequence[str], on_line: OnLine = print, env: Mapping[str, str] | None = None,
               popen: Callable[..., Any] = subprocess.Popen) -> list[str]:
    """Run dubber, hand each line it prints to `on_line`, and return the last lines.

    Raises ProcessError when it cannot start or exits non-zero; `returncode` and `tail` (its last lines)
    ride on the error.
    """
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        # Text mode reads '\r' as a line end too, so progress bars arrive as lines.
        process = popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True, encoding="utf-8", errors="replace", env=_child_env(env or os.environ),
                        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    except OSError as exc:
        raise ProcessError(f"cannot start dubber ({command[0]}): {exc}", command=list(command)) from exc
    with process:
        for raw in process.stdout:
            line = raw.rstrip()
            if line:
                tail.append(line)
                on_line(line)
        code = process.wait()
    if code != 0:
        shown = "\n".join(tail) or "(it printed nothing)"
        raise ProcessError(f"dubber failed (exit code {code}); its last lines:\n{shown}",
                           command=list(command), returncode=code, tail=list(tail))
    return list(tail)


# ── Bringing the result into Resolve ────────────────────────────────


@dataclass
class ImportResult:
    """What Resolve took in: a new timeline, or media pool items where it would not build one."""

    method: str  # "timeline" or "media"
    timeline: Any = None
    timeline_name: str = ""
    media: list[Path] = field(default_factory=list)


def unique_timeline_name(project: Any, wanted: str) -> str:
    """Return `wanted`, numbered where the project already has a timeline of that name."""
    taken = set()
    for index in range(1, (project.GetTimelineCount() or 0) + 1):
        existing = project.GetTimelineByIndex(index)
        if existing:
            taken.add(existing.GetName())
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted} {n}", n + 1
    return name


def import_outputs(project: Any, outputs: DubOutputs, timeline_name: str) -> ImportResult:
    """Import dubber's timeline into the project, or its video and stems where Resolve makes no timeline of it."""
    pool = project.GetMediaPool()
    if outputs.otio.is_file():
        name = unique_timeline_name(project, timeline_name)
        options = {"timelineName": name, "importSourceClips": True, "sourceClipsPath": str(outputs.lines)}
        timeline = pool.ImportTimelineFromFile(str(outputs.otio), options)
        if timeline:
            project.SetCurrentTimeline(timeline)
            return ImportResult("timeline", timeline=timeline, timeline_name=name)
    media = [outputs.video] if outputs.video.is_file() else []
    media += sorted(outputs.stems.glob("*.wav")) + sorted((outputs.stems / "speakers").glob("*.wav"))
    items = pool.ImportMedia([str(path) for path in media]) if media else None
    if not items:
        raise MediaError(f"Resolve imported nothing from {outputs.video.parent}: import {outputs.otio.name} "
                         f"(File > Import > Timeline) or {outputs.video.name} by hand", path=str(outputs.video))
    return ImportResult("media", media=media)


# ── The whole round trip ────────────────────────────────────────────


@dataclass
class BridgeResult:
    """What one round trip did."""

    source: TimelineSubtitles
    subtitles_path: Path
    command: list[str]
    outputs: DubOutputs
    imported: ImportResult
    lines_failed: bool = False


def work_dir(clip: SourceClip, settings: DubSettings) -> Path:
    """Return (and make) the folder for the subtitles sent to dubber and everything it writes."""
    folder = settings.out_dir or clip.path.parent / f"{clip.path.stem}.dubber"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot make the folder {folder}: {exc.strerror}; set DUBBER_OUT_DIR to a writable folder",
                         path=str(folder)) from None
    return folder


Runner = Callable[[Sequence[str], OnLine], Any]


def dub_current_timeline(resolve: Any, env: Mapping[str, str] | None = None, on_line: OnLine = print,
                         runner: Runner | None = None) -> BridgeResult:
    """Dub the current timeline's video with its subtitle track and import the result into the project."""
    env = os.environ if env is None else env
    settings = DubSettings.from_env(env)
    source = read_timeline(resolve, settings.subtitle_track)
    folder = work_dir(source.clip, settings)
    stem = source.clip.path.stem
    subtitles_path = write_srt(folder / f"{stem}.resolve.srt", source.subtitles)
    outputs = DubOutputs(folder / f"{stem}.{settings.lang or 'dubbed'}.mp4")
    command = dub_command(find_dubber(env), source.clip.path, subtitles_path, outputs.video, settings)
    run = runner or (lambda cmd, lines: run_dubber(cmd, lines, env=env))
    started = time.time()
    lines_failed = False
    try:
        run(command, on_line)
    except ProcessError as exc:
        # dubber still writes the video when only some lines failed; keep that result and say so.
        fresh = outputs.video.is_file() and outputs.video.stat().st_mtime >= started - 1
        if getattr(exc, "returncode", None) != EXIT_LINES_FAILED or not fresh:
            raise
        lines_failed = True
    label = f"{source.timeline_name} - dubbed" + (f" ({settings.lang})" if settings.lang else "")
    imported = import_outputs(source.project, outputs, label)
    return BridgeResult(source, subtitles_path, command, outputs, imported, lines_failed)


def summary(result: BridgeResult) -> list[str]:
    """Describe a round trip in a few lines for Resolve's console."""
    src = result.source
    lines = [f"dubbed {len(src.subtitles)} subtitle lines of {src.clip.path.name} at {src.rate} fps"]
    if src.outside or src.empty:
        lines.append(f"left out {src.outside} subtitles outside the clip and {src.empty} without text")
    if result.lines_failed:
        lines.append("some lines could not be dubbed: see dubber's messages above")
    if result.imported.method == "timeline":
        lines.append(f"imported timeline {result.imported.timeline_name!r} from {result.outputs.otio}")
    else:
        lines.append("Resolve made no timeline of " + result.outputs.otio.name + "; imported into the media pool: "
                     + ", ".join(path.name for path in result.imported.media))
    lines.append(f"the dub lines up with the source file's first frame at timeline frame {src.clip.file_zero_frame} "
                 f"of {src.timeline_name!r}")
    lines.append(f"dubbed subtitles: {result.outputs.srt}")
    return lines


def main(resolve: Any, env: Mapping[str, str] | None = None, on_line: OnLine = print) -> int:
    """Run the round trip for a Resolve script, printing progress and a clear message on failure; return 0 or 1."""
    try:
        result = dub_current_timeline(resolve, env, on_line)
    except DubberError as exc:
        on_line(f"dubber: {exc}")
        return 1
    for line in summary(result):
        on_line(f"dubber: {line}")
    return 0
