"""Short preview clips (one line's dub heard over the video it belongs to) and single frames, for the
panel's player."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.errors import MediaError, ProcessError

# AAC's own sample rates; anything else is resampled so the encoder accepts it.
_AAC_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000})
_FALLBACK_RATE = 48000

MAX_FRAME_WIDTH = 1920  # a still for the panel: wider only costs decoding and memory
_FRAME_LOOKBACK_MS = 500  # the frame shown at a time is looked for this far back (video of 2 fps and up)
_SLOW_VIDEO_LOOKBACK_MS = 10_000  # and this far in a slower one
FRAME_TIMEOUT_S = 20.0  # one seek and a few frames decoded; a hung ffmpeg must not hold the worker


def preview_window(start_ms: int, end_ms: int, duration_ms: int | None,
                   lead_ms: int = 1500, tail_ms: int = 1500) -> tuple[int, int]:
    """Return the [start, end) context window around a cue, clamped to [0, duration_ms] when known."""
    if end_ms < start_ms:
        raise ValueError(f"cue ends ({end_ms} ms) before it starts ({start_ms} ms)")
    if lead_ms < 0 or tail_ms < 0:
        raise ValueError(f"lead_ms and tail_ms must not be negative (got {lead_ms}, {tail_ms})")
    start, end = max(0, start_ms - lead_ms), end_ms + tail_ms
    if duration_ms is not None:
        start, end = min(start, duration_ms), min(end, duration_ms)
    return start, max(start, end)


def write_preview(video: Path, audio: np.ndarray, rate: int, start_ms: int, out: Path,
                  height: int = 360, alternate: np.ndarray | None = None) -> Path:
    """Write an MP4 of `video` from `start_ms`, exactly as long as `audio`, with `audio` as its sound.

    `audio` is float32, [n] or [n, channels] at `rate`. `alternate`, as long and at the same rate, becomes a
    second audio track (titled "Original"; the first is "Dub"), so a player can switch between the two without
    a gap (A/B). The picture is re-encoded small and fast (preview only); an input with no video stream gives
    an audio-only MP4. The file appears at `out` whole or not at all.
    """
    samples = np.asarray(audio, dtype="<f4")
    if samples.ndim not in (1, 2) or samples.shape[0] == 0:
        raise ValueError(f"audio must be [n] or [n, channels] with n > 0, got shape {samples.shape}")
    if alternate is not None and np.shape(alternate)[0] != samples.shape[0]:
        raise ValueError(f"the alternate track has {np.shape(alternate)[0]} samples, the audio {samples.shape[0]}")
    if rate <= 0 or start_ms < 0 or height < 2:
        raise ValueError(f"bad rate {rate}, start_ms {start_ms} or height {height}")
    channels = 1 if samples.ndim == 1 else int(samples.shape[1])
    info = media.probe(video)
    has_video = bool(info.video_streams)
    if has_video and info.duration_ms is not None and start_ms >= info.duration_ms:
        raise MediaError(f"cannot preview {str(info.path)!r} from {start_ms} ms: it is only "
                         f"{info.duration_ms} ms long", path=str(info.path))

    # Exact length in microseconds: the clip ends with the audio's last sample, not at a rounded ms.
    length = f"{samples.shape[0] * 1_000_000 // rate}us"
    target = Path(os.path.abspath(out))
    try:
        with tempfile.TemporaryDirectory(prefix="dubber-preview-") as tmp:
            args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
            if has_video:
                # -ss before -i seeks fast; with re-encoding the first frame is still the one at start_ms.
                args += ["-ss", f"{int(start_ms)}ms", "-i", media._arg(info.path)]
            args += ["-f", "f32le", "-ar", str(rate), "-ac", str(channels), "-i", "pipe:0"]
            tracks = [f"{int(has_video)}:a:0"]
            if alternate is not None:
                second = media.write_wav(Path(tmp) / "original.wav", np.asarray(alternate, np.float32), rate)
                args += ["-i", media._arg(second)]
                tracks.append(f"{int(has_video) + 1}:a:0")
            if has_video:
                # Even dimensions, at most `height` tall; past the video's end the last frame holds, so picture
                # and sound always last the same.
                fit = f"2*trunc(min(ih\\,{int(height)})/2)"
                args += ["-map", "0:v:0", "-vf", f"scale=-2:{fit},format=yuv420p,tpad=stop=-1:stop_mode=clone",
                         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p"]
            for k, track in enumerate(tracks):
                args += ["-map", track, f"-metadata:s:a:{k}", f"title={('Dub', 'Original')[k]}"]
            args += ["-c:a", "aac", "-aac_coder", media.AAC_CODER, "-b:a", "128k",
                     "-ar", str(rate if rate in _AAC_RATES else _FALLBACK_RATE),
                     "-t", length, "-threads", "2", "-sn", "-dn", "-map_metadata", "-1",
                     # The mp4 muxer records AAC's encoder delay in an edit list, so players start at sample 0.
                     "-movflags", "+faststart"]
            # Written beside the target and renamed: a half-written preview is never played.
            return media.write_atomically(args, target, "mp4", stdin=np.ascontiguousarray(samples).tobytes())
    except ProcessError as exc:
        raise ProcessError(f"cannot write the preview {str(target)!r} of {str(info.path)!r}: {exc.message}",
                           cmd=exc.cmd, returncode=exc.returncode, stderr=exc.stderr) from exc
    except OSError as exc:
        raise MediaError(f"cannot write the preview {str(target)!r}: {exc}", path=str(target)) from exc


def frame_at(video: Path, at_ms: int, width: int = 640) -> np.ndarray:
    """Return the frame shown at `at_ms` of `video`, `width` pixels wide, as uint8 RGB shaped [height, width, 3].

    The height keeps the video's display aspect (rounded to even). Raises MediaError naming the file when it
    is missing or unreadable, has no picture, has no frame at `at_ms`, or ffmpeg fails or takes too long.
    """
    if not 2 <= width <= MAX_FRAME_WIDTH or at_ms < 0:
        raise ValueError(f"bad width {width} (2 to {MAX_FRAME_WIDTH}) or at_ms {at_ms}")
    source = Path(os.path.abspath(video))
    if not source.is_file():
        raise MediaError(f"cannot show a frame of {str(source)!r}: the file does not exist", path=str(source))
    # -ss before -i seeks to the keyframe before and decodes from there: fast. Alone it gives the first frame
    # at or after the seek point, but the frame shown at at_ms is the last one at or before it: so seek a
    # little earlier, keep the frames up to at_ms and take the last (reverse holds only those few, scaled).
    # The display aspect (dar) sets the height, so anamorphic video is not squeezed. A video of under 2 fps
    # (a slide show) may have no frame that close: inside the video, look further back, once.
    result = _last_frame_before(source, int(at_ms), min(int(at_ms), _FRAME_LOOKBACK_MS), width)
    if not result.stdout and at_ms > _FRAME_LOOKBACK_MS:
        length = media.probe(source).duration_ms
        if length is not None and at_ms < length:
            result = _last_frame_before(source, int(at_ms), min(int(at_ms), _SLOW_VIDEO_LOOKBACK_MS), width)
    if not result.stdout or len(result.stdout) % (width * 3):
        raise MediaError(f"cannot show a frame of {str(source)!r} at {at_ms} ms: it has no picture there",
                         path=str(source))
    return np.frombuffer(result.stdout, dtype=np.uint8).reshape(-1, width, 3)


def _last_frame_before(source: Path, at_ms: int, lead: int, width: int) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg for the last frame in [at_ms - lead, at_ms] (raw RGB, `width` wide; empty when there is none)."""
    keep = f"trim=end={(lead + 0.5) / 1000:.4f}"
    scale = f"scale={int(width)}:trunc({int(width)}/dar/2)*2:flags=bilinear,setsar=1"
    args = ["-hide_banner", "-nostdin", "-loglevel", "error",
            "-ss", f"{at_ms - lead}ms", "-i", media._arg(source), "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", f"{keep},{scale},reverse", "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
    try:
        result = media._spawn(args, timeout_s=FRAME_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"cannot show a frame of {str(source)!r} at {at_ms} ms: ffmpeg took over "
                         f"{FRAME_TIMEOUT_S:g} s", path=str(source)) from exc
    except ProcessError as exc:
        raise MediaError(f"cannot show a frame of {str(source)!r}: {exc.message}", path=str(source)) from exc
    if result.returncode != 0:
        reason = media._reason(media._decode(result.stderr))
        raise MediaError(f"cannot show a frame of {str(source)!r} at {at_ms} ms: {reason}", path=str(source))
    return result
