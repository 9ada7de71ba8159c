"""Export the dub as an editing timeline (OTIO, FCPXML, EDL): one clip per line, one track per speaker.

The timeline holds, bottom to top: a video track with the source video as one clip, an "Original"
audio track with the source video's audio (when it has any), then one audio track per speaker (the
unnamed speaker first, as "Dub", then by name), each clip referencing that line's WAV.

Times:
- .otio keeps every dub clip at the audio sample rate (value = sample, rate = sample rate), so the
  placement is sample exact; the video clip counts frames, the "Original" clip samples.
- FCPXML and EDL count frames: every edge is rounded to the nearest frame of the video's rate. Both
  adapters take only the usual rates (23.976, 24, 25, 29.97, 30, 50, 59.94, 60); any other rate is
  replaced by a usual rate it divides (15 -> 30), or one that divides it (100 -> 50), else the nearest.

Adapter limits, and what this module does about them:
- A track holds no overlapping clips, so lines of one speaker that overlap go to a second track of
  that speaker ("Alice 2"), in every format.
- fcpx_xml looks frame rates up in a fixed table keyed by 23.98 / 29.97 / 59.94, so NTSC times are
  written at those nominal rates (1 in 10^6 off FCP's 1001/30000 s grid); it rewrites audio clip
  offsets on a grid of int(rate) steps a second (1/29 s for 29.97), truncating, so each audio clip
  is aimed at the middle of the step nearest its start (off by at most half a step); it hangs every
  audio clip on a clip of the video track (the spine), so the video track is padded with a gap to
  the last audio clip's end (a frame past the video's end, as the half steps round up); it looks
  clips up by name in XPath, so names lose their apostrophes (' -> ’); it drops track names and clip
  metadata (read back, tracks are lanes "0" (video), "-1", "-2", ... in track order); its reader
  counts NTSC frames but labels them 29 fps; and it runs ffprobe, when installed, to name the format.
- cmx_3600 writes only a timeline's first track, and wants exactly one video track and at most two
  audio tracks, so the EDL export writes one EDL per track: `path` holds the video track, and
  `<stem>.<track><suffix>` beside it each audio track (see `timeline_files`), its events on channel
  A. An EDL does not say its frame rate: import it at the rate used here (the video's, or the usual
  rate it maps to). Clip metadata is lost; the media URL is kept in "* FROM CLIP:" comments.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dubber.errors import MediaError, OutputError, UsageError
from dubber.files import write_atomically
from dubber.text.pronunciation import plain

if TYPE_CHECKING:
    import opentimelineio as otio

TIMELINE_FORMATS = {"otio": ".otio", "fcpxml": ".fcpxml", "edl": ".edl"}

DEFAULT_FPS = Fraction(25)
UNNAMED_TRACK = "Dub"
VIDEO_TRACK = "Video"
ORIGINAL_TRACK = "Original"

_ADAPTERS = {"otio": "otio_json", "fcpxml": "fcpx_xml", "edl": "cmx_3600"}

# Frame rates both frame-counting adapters take (fcpx_xml's table, SMPTE timecode), each with the
# number fcpx_xml looks it up by.
_FRAME_RATES: dict[Fraction, float] = {
    Fraction(24000, 1001): 23.98, Fraction(24): 24.0, Fraction(25): 25.0, Fraction(30000, 1001): 29.97,
    Fraction(30): 30.0, Fraction(50): 50.0, Fraction(60000, 1001): 59.94, Fraction(60): 60.0,
}

_NAME_CHARS = 60  # characters of a line's text kept in its clip's name


@dataclass(frozen=True)
class TimelineLine:
    """One dubbed line as placed on the dub's timeline."""

    index: int  # cue index (as in the subtitles)
    speaker: str  # "" for the unnamed speaker (track name then "Dub")
    text: str
    start: int  # sample on the timeline where the line's WAV's first sample lands (>= 0)
    length: int  # samples in the line's WAV
    media: Path  # path of the line's WAV (made absolute against the working folder)


@dataclass(frozen=True)
class TimelineSource:
    """The source video the dub belongs to."""

    video: Path  # path of the source video (made absolute against the working folder)
    duration_ms: int  # the timeline's length
    fps: Fraction | None  # the video's frame rate when known (for FCPXML/EDL, which count frames); None -> 25
    has_audio: bool
    lang: str  # ISO 639-2 code of the dub, e.g. "eng" (metadata)


def build_timeline(name: str, lines: list[TimelineLine], rate: int, source: TimelineSource) -> otio.schema.Timeline:
    """Build the dub's timeline: the video, its original audio, and one track per speaker of line clips."""
    import opentimelineio as otio

    fps = Fraction(source.fps) if source.fps else DEFAULT_FPS
    _check_input(lines, rate, source, fps)
    video_uri = _uri(source.video)
    timeline = otio.schema.Timeline(name=_display(name), metadata={"dubber": {
        "sample_rate": int(rate), "fps": str(fps), "lang": source.lang, "duration_ms": int(source.duration_ms),
        "video": video_uri}})

    frames = max(1, _nearest(Fraction(source.duration_ms, 1000) * fps))
    video = otio.schema.Track(name=VIDEO_TRACK, kind=otio.schema.TrackKind.Video,
                              metadata={"dubber": {"role": "video"}})
    video.append(_clip(otio, _display(source.video.name), video_uri, 0, frames, float(fps), {"role": "video"}))
    timeline.tracks.append(video)

    if source.has_audio:
        samples = max(1, _nearest(Fraction(source.duration_ms * rate, 1000)))
        original = otio.schema.Track(name=ORIGINAL_TRACK, kind=otio.schema.TrackKind.Audio,
                                     metadata={"dubber": {"role": "original"}})
        original.append(_clip(otio, _display(source.video.name), video_uri, 0, samples, rate, {"role": "original"}))
        timeline.tracks.append(original)

    by_speaker: dict[str, list[TimelineLine]] = {}
    for line in lines:
        by_speaker.setdefault(line.speaker, []).append(line)
    for speaker in sorted(by_speaker, key=lambda s: (s != "", s)):
        label = _display(speaker) or UNNAMED_TRACK
        for n, lane in enumerate(_lanes(by_speaker[speaker]), start=1):
            track = otio.schema.Track(name=label if n == 1 else f"{label} {n}", kind=otio.schema.TrackKind.Audio,
                                      metadata={"dubber": {"role": "dub", "speaker": speaker, "lang": source.lang}})
            cursor = 0
            for line in lane:
                if line.start > cursor:
                    track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(line.start - cursor, rate)))
                track.append(_clip(otio, _clip_name(line), _uri(line.media), 0, line.length, rate, {
                    "index": line.index, "speaker": line.speaker, "text": line.text, "start": line.start,
                    "length": line.length, "sample_rate": int(rate)}))
                cursor = line.start + line.length
            timeline.tracks.append(track)
    return timeline


def write_timeline(timeline: otio.schema.Timeline, path: Path, fmt: str) -> Path:
    """Write `timeline` as `fmt` (a key of TIMELINE_FORMATS) to `path`, atomically; return the path.

    EDL writes one file per track (see `timeline_files`)."""
    if fmt not in TIMELINE_FORMATS:
        raise UsageError(f"unknown timeline format {fmt!r}; choose from {', '.join(TIMELINE_FORMATS)}", fmt=fmt)
    import opentimelineio as otio

    target = Path(os.path.abspath(path))
    try:
        if fmt == "otio":
            texts = [(target, otio.adapters.write_to_string(timeline, _ADAPTERS[fmt]))]
        elif fmt == "fcpxml":
            texts = [(target, _fcpxml(otio, timeline))]
        else:
            texts = _edls(otio, timeline, target)
    except Exception as exc:  # the adapters raise whatever their code runs into
        raise MediaError(f"cannot write timeline {str(target)!r} as {fmt}: {exc}", path=str(target)) from exc
    for file, text in texts:
        _write_text(file, text)
    return target


def timeline_files(timeline: otio.schema.Timeline, path: Path, fmt: str) -> list[Path]:
    """Return every file `write_timeline` writes for `timeline` at `path`: the path, then (EDL) one per audio track."""
    if fmt not in TIMELINE_FORMATS:
        raise UsageError(f"unknown timeline format {fmt!r}; choose from {', '.join(TIMELINE_FORMATS)}", fmt=fmt)
    target = Path(os.path.abspath(path))
    if fmt != "edl":
        return [target]
    return [file for file, _ in _edl_files(timeline, target)]


def _check_input(lines: list[TimelineLine], rate: int, source: TimelineSource, fps: Fraction) -> None:
    if rate <= 0:
        raise UsageError(f"sample rate must be positive, got {rate}")
    if fps <= 0:
        raise UsageError(f"frame rate of {str(source.video)!r} must be positive, got {fps}")
    if source.duration_ms <= 0:
        raise UsageError(f"duration of {str(source.video)!r} must be positive, got {source.duration_ms} ms")
    for line in lines:
        if line.start < 0 or line.length <= 0:
            raise UsageError(f"line {line.index} ({str(line.media)!r}) needs start >= 0 and length > 0, "
                             f"got start {line.start}, length {line.length}")


def _lanes(lines: list[TimelineLine]) -> list[list[TimelineLine]]:
    """Split one speaker's lines, by start, into as few tracks as hold them without overlaps."""
    lanes: list[list[TimelineLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.start, ln.index)):
        for lane in lanes:
            last = lane[-1]
            if last.start + last.length <= line.start:
                lane.append(line)
                break
        else:
            lanes.append([line])
    return lanes


def _clip(otio: Any, name: str, uri: str, start: int, length: int, rate: float,
          metadata: dict[str, Any]) -> otio.schema.Clip:
    """A clip showing all of its media: `length` units at `rate`, from `start`."""
    whole = otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(length, rate))
    reference = otio.schema.ExternalReference(target_url=uri, available_range=whole)
    return otio.schema.Clip(name=name, media_reference=reference, source_range=whole, metadata={"dubber": metadata})


def _display(name: str) -> str:
    """A name on one line: line-based formats (EDL) would read a line break in it as a new line."""
    return " ".join("".join(c if c.isprintable() else " " for c in name).split())


def _clip_name(line: TimelineLine) -> str:
    text = _display(plain(line.text))
    if len(text) > _NAME_CHARS:
        text = text[:_NAME_CHARS - 1].rstrip() + "…"
    return f"{line.index} {text}".rstrip()


def _uri(path: Path) -> str:
    return Path(os.path.abspath(path)).as_uri()


def _nearest(value: Fraction) -> int:
    """Round half up (Python's round() goes to even, which would make edges jitter)."""
    return math.floor(value + Fraction(1, 2))


def _seconds(time: Any) -> Fraction:
    # Rates are stored as floats; 30000/1001 comes back exactly, so whole frames stay whole.
    return Fraction(time.value) / Fraction(time.rate).limit_denominator(10**6)


def _usual_frame_rate(fps: Fraction) -> Fraction:
    """The frame rate the frame-counting formats get for a video at `fps`."""
    if fps in _FRAME_RATES:
        return fps
    rates = sorted(_FRAME_RATES)
    for rate in rates:  # a multiple keeps every video frame on the grid (15 -> 30)
        if (rate / fps).denominator == 1:
            return rate
    for rate in reversed(rates):  # a divisor keeps every grid point on a video frame (100 -> 50)
        if (fps / rate).denominator == 1:
            return rate
    return min(rates, key=lambda rate: abs(rate - fps))


def _frame_rate_of(timeline: Any) -> Fraction:
    fps = timeline.metadata.get("dubber", {}).get("fps")
    return _usual_frame_rate(Fraction(str(fps)) if fps else DEFAULT_FPS)


def _in_frames(otio: Any, timeline: Any, fps: Fraction, rate: float,
               place_audio: Callable[[Fraction], float] | None = None) -> Any:
    """Copy `timeline` with every edge rounded to the nearest frame at `fps`, times written at `rate`.

    Rounding both edges keeps clips that did not overlap apart; a clip under half a frame keeps one
    frame. `place_audio` (seconds -> value at `rate`) places audio clips instead, keeping their length."""
    def at(value: float) -> Any:
        return otio.opentime.RationalTime(value, rate)

    framed = otio.schema.Timeline(name=timeline.name, metadata=dict(timeline.metadata))
    for track in timeline.tracks:
        copy = otio.schema.Track(name=track.name, kind=track.kind, metadata=dict(track.metadata))
        cursor: float = 0
        ranges = track.range_of_all_children()  # one pass; range_in_parent() per clip would be quadratic
        for clip in track.find_clips(shallow_search=True):
            placed = ranges[clip]
            first = _nearest(_seconds(placed.start_time) * fps)
            frames = max(1, _nearest(_seconds(placed.end_time_exclusive()) * fps) - first)
            if place_audio is not None and track.kind == otio.schema.TrackKind.Audio:
                first = place_audio(_seconds(placed.start_time))
            start = max(cursor, first)
            if start > cursor:
                copy.append(otio.schema.Gap(duration=at(start - cursor)))
            source_start = _nearest(_seconds(clip.source_range.start_time) * fps) if clip.source_range else 0
            reference = clip.media_reference.clone()
            available = getattr(reference, "available_range", None)
            if available is not None:
                whole = _nearest(_seconds(available.duration) * fps)
                reference.available_range = otio.opentime.TimeRange(
                    at(_nearest(_seconds(available.start_time) * fps)), at(max(whole, source_start + frames)))
            # No clip metadata: neither format keeps it, and copying it costs more than the rest.
            copy.append(otio.schema.Clip(name=clip.name, media_reference=reference,
                                         source_range=otio.opentime.TimeRange(at(source_start), at(frames))))
            cursor = start + frames
        framed.tracks.append(copy)
    return framed


def _fcpxml(otio: Any, timeline: Any) -> str:
    fps = _frame_rate_of(timeline)
    rate = _FRAME_RATES[fps]
    # The adapter rewrites each audio clip's offset as int(seconds * int(rate)) / int(rate) seconds:
    # whole frames fall one early now and then (7/25 s * 25 = 6.99...), and NTSC lands on a 1/29 s
    # grid. Aiming at the middle of the grid step nearest to the line's start makes that the step.
    grid = int(rate)
    framed = _in_frames(otio, timeline, fps, rate,
                        place_audio=lambda seconds: float((_nearest(seconds * grid) + Fraction(1, 2)) / grid * rate))
    # It hangs audio clips on the video track's clips: the video track must reach the last audio clip.
    last = math.ceil(max((track.duration().value for track in framed.tracks), default=0))
    for track in framed.tracks:
        if track.kind == otio.schema.TrackKind.Video and track.duration().value < last:
            track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(last - track.duration().value, rate)))
    for clip in framed.find_clips():
        clip.name = clip.name.replace("'", "’")  # the adapter finds clips by name in XPath, quoted with '
    return otio.adapters.write_to_string(framed, _ADAPTERS["fcpxml"])


def _edl_files(timeline: Any, target: Path) -> list[tuple[Path, Any]]:
    """Pair each track with its EDL: the first video track at `target`, each audio track beside it."""
    files: list[tuple[Path, Any]] = []
    taken = {target.name.lower()}
    video_done = False
    for track in timeline.tracks:
        if track.kind == "Video" and not video_done:
            files.insert(0, (target, track))
            video_done = True
            continue
        safe = re.sub(r"[^\w.-]+", "_", track.name.strip()).strip("._") or "track"
        name, n = f"{target.stem}.{safe}{target.suffix}", 2
        while name.lower() in taken:  # "A B" and "A_B", a speaker called "Original", case-blind file systems
            name, n = f"{target.stem}.{safe}-{n}{target.suffix}", n + 1
        taken.add(name.lower())
        files.append((target.with_name(name), track))
    return files


def _edls(otio: Any, timeline: Any, target: Path) -> list[tuple[Path, str]]:
    fps = _frame_rate_of(timeline)
    framed = _in_frames(otio, timeline, fps, float(fps))
    videos = [track for track in framed.tracks if track.kind == otio.schema.TrackKind.Video]
    texts = []
    for file, track in _edl_files(framed, target):
        single = otio.schema.Timeline(name=f"{framed.name} {track.name}".strip())
        single.tracks.append(track.clone())
        if track.kind != otio.schema.TrackKind.Video and videos:
            single.tracks.append(videos[0].clone())  # the adapter wants one video track, writes only the first
        texts.append((file, otio.adapters.write_to_string(single, _ADAPTERS["edl"], rate=float(fps), style="avid")))
    return texts


def _write_text(target: Path, text: str) -> None:
    """Write a timeline file whole or not at all; a failure is a MediaError naming it."""
    try:
        write_atomically(target, text)
    except OutputError as exc:
        reason = getattr(exc.__cause__, "strerror", None) or exc
        raise MediaError(f"cannot write timeline {str(target)!r}: {reason}", path=str(target)) from exc
