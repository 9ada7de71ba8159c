"""Tests for preview clips (picture from the right moment, the dub's audio in sync, written atomically) and
single frames."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.errors import MediaError, ProcessError
from dubber.pipeline.preview import MAX_FRAME_WIDTH, frame_at, preview_window, write_preview

RATE = 48000
SOURCE_MS = 4000


def tone(freq: float, duration_ms: int, rate: int, channels: int = 1) -> np.ndarray:
    wave = (0.3 * np.sin(2 * np.pi * freq * np.arange(duration_ms * rate // 1000) / rate)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def gray_frame(path: Path, at_ms: int) -> np.ndarray:
    """The frame shown at `at_ms`, as 320x180 grey levels (accurate seek: -ss before -i with decoding)."""
    args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{at_ms}ms", "-i", str(path),
            "-frames:v", "1", "-vf", "scale=320:180,format=gray", "-f", "rawvideo", "pipe:1"]
    data = media._check(args, media._spawn(args)).stdout
    return np.frombuffer(data, dtype=np.uint8).reshape(180, 320).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("preview")


@pytest.fixture(scope="module")
def video(folder: Path) -> Path:
    # The original sound is a 220 Hz tone: the preview must carry only the dub (440 Hz).
    return media.make_test_video(folder / "source.mp4", SOURCE_MS, tone(220, SOURCE_MS, 44100, 2), 44100,
                                 size="640x360")


@pytest.fixture(scope="module")
def preview(folder: Path, video: Path) -> Path:
    return write_preview(video, tone(440, 1500, RATE), RATE, 1000, folder / "line.mp4", height=180)


def test_preview_has_scaled_picture_and_dub_sound(preview: Path) -> None:
    info = media.probe(preview)
    assert len(info.video_streams) == 1 and len(info.audio_streams) == 1
    assert abs(info.duration_ms - 1500) <= 80
    v, a = info.video_streams[0], info.audio_streams[0]
    assert (v.codec, v.width, v.height) == ("h264", 320, 180)
    assert (a.codec, a.sample_rate, a.channels) == ("aac", RATE, 1)


def test_preview_audio_is_the_dub_in_sync(preview: Path) -> None:
    heard = media.decode_audio(preview, RATE, channels=1)[:, 0]
    # AAC's encoder delay (1024 samples, 21 ms) is trimmed by the edit list: same length, no lead-in.
    assert abs(heard.size - 1500 * RATE // 1000) <= RATE // 1000
    onset = int(np.argmax(np.abs(heard) > 0.05))
    assert onset <= 5 * RATE // 1000
    assert 0.19 < np.sqrt(np.mean(heard ** 2)) < 0.23  # a 0.3-amplitude sine has RMS 0.212
    assert abs(dominant_hz(heard, RATE) - 440) < 2


def test_an_alternate_track_is_the_second_audio_stream_for_ab(folder: Path, video: Path) -> None:
    out = write_preview(video, tone(440, 1500, RATE), RATE, 1000, folder / "ab.mp4", height=180,
                        alternate=tone(660, 1500, RATE, channels=2))
    assert len(media.probe(out).audio_streams) == 2
    for stream, hz, title in ((0, 440, "Dub"), (1, 660, "Original")):
        args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(out), "-map", f"0:a:{stream}",
                "-ac", "1", "-ar", str(RATE), "-f", "f32le", "pipe:1"]
        heard = np.frombuffer(media._check(args, media._spawn(args)).stdout, dtype="<f4")
        assert abs(heard.size - 1500 * RATE // 1000) <= RATE // 1000  # both as long as the clip, in step
        assert abs(dominant_hz(heard, RATE) - hz) < 2
        probe = ["-hide_banner", "-nostdin", "-i", str(out)]
        assert re.search(rf"(title|name) +: {title}\n", media._decode(media._spawn(probe).stderr))
    with pytest.raises(ValueError, match="alternate track has"):
        write_preview(video, tone(440, 1500, RATE), RATE, 1000, folder / "bad.mp4", alternate=tone(660, 900, RATE))


def test_first_frame_is_the_frame_at_start(video: Path, preview: Path) -> None:
    first = gray_frame(preview, 0)
    # testsrc2 changes every frame (15 fps): the neighbours one frame either side must match worse.
    diffs = {at: float(np.mean(np.abs(first - gray_frame(video, at)))) for at in (933, 1000, 1066)}
    assert min(diffs, key=diffs.get) == 1000, diffs
    assert diffs[1000] < 0.5 * min(diffs[933], diffs[1066]), diffs


def test_picture_holds_past_the_video_end(folder: Path, video: Path) -> None:
    # 1.5 s from 3 s into a 4 s video: the last frame holds so picture and sound end together.
    out = write_preview(video, tone(440, 1500, RATE), RATE, 3000, folder / "tail.mp4", height=180)
    info = media.probe(out)
    assert len(info.video_streams) == 1 and abs(info.duration_ms - 1500) <= 80
    assert abs(len(media.video_packet_checksums(out)) - 1500 * 15 // 1000) <= 1  # frames at 15 fps


def test_silent_video_and_stereo_dub(folder: Path) -> None:
    silent = media.make_test_video(folder / "silent.mp4", SOURCE_MS, None, RATE)
    out = write_preview(silent, tone(440, 1500, 24000, channels=2), 24000, 1000, folder / "stereo.mp4")
    info = media.probe(out)
    assert len(info.video_streams) == 1 and (info.video_streams[0].width, info.video_streams[0].height) == (320, 180)
    assert [(s.sample_rate, s.channels) for s in info.audio_streams] == [(24000, 2)]
    heard = media.decode_audio(out, 24000)
    assert heard.shape[1] == 2 and abs(dominant_hz(heard[:, 1], 24000) - 440) < 2


def test_audio_only_input_gives_audio_only_preview(folder: Path) -> None:
    source = media.write_wav(folder / "speech.wav", tone(220, SOURCE_MS, RATE), RATE)
    out = write_preview(source, tone(440, 1500, RATE), RATE, 1000, folder / "audio_only.mp4")
    info = media.probe(out)
    assert not info.video_streams and [s.codec for s in info.audio_streams] == ["aac"]
    assert abs(info.duration_ms - 1500) <= 80
    assert abs(dominant_hz(media.decode_audio(out, RATE, 1)[:, 0], RATE) - 440) < 2


def test_missing_video_names_the_file(folder: Path) -> None:
    missing = folder / "no_such_video.mp4"
    with pytest.raises(MediaError, match="no_such_video.mp4"):
        write_preview(missing, tone(440, 500, RATE), RATE, 0, folder / "never.mp4")
    assert not (folder / "never.mp4").exists()


def test_start_past_the_end_names_the_file(folder: Path, video: Path) -> None:
    with pytest.raises(MediaError, match="source.mp4"):
        write_preview(video, tone(440, 500, RATE), RATE, SOURCE_MS + 100, folder / "late.mp4")


def test_failure_leaves_no_partial_file(folder: Path, video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target_dir = folder / "atomic"
    target_dir.mkdir()
    out = target_dir / "line.mp4"
    out.write_bytes(b"the previous preview")
    real_spawn = media._spawn

    def spawn_then_fail(args, stdin=None):
        result = real_spawn(args, stdin)  # ffmpeg really writes its output, then "fails"
        result.returncode = 1
        return result

    monkeypatch.setattr(media, "_spawn", spawn_then_fail)
    with pytest.raises(ProcessError, match="line.mp4"):
        write_preview(video, tone(440, 500, RATE), RATE, 0, out)
    assert out.read_bytes() == b"the previous preview"
    assert [p.name for p in target_dir.iterdir()] == ["line.mp4"]


def test_preview_window_clamps() -> None:
    assert preview_window(2000, 3000, 10_000) == (500, 4500)
    assert preview_window(1000, 2000, None) == (0, 3500)
    assert preview_window(9000, 9800, 10_000) == (7500, 10_000)
    assert preview_window(9000, 9800, 10_000, lead_ms=0, tail_ms=100) == (9000, 9900)
    assert preview_window(12_000, 13_000, 10_000) == (10_000, 10_000)
    with pytest.raises(ValueError):
        preview_window(3000, 2000, None)


def make_red_then_blue(out: Path, fps: int = 15, seconds: int = 1) -> Path:
    """Write a 320x180 video at `fps`: red for the first `seconds`, blue for as long again."""
    colour = f"size=320x180:rate={fps}:duration={seconds}"
    args = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"color=red:{colour}", "-f", "lavfi", "-i", f"color=blue:{colour}",
            "-filter_complex", "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", str(out)]
    media._check(args, media._spawn(args))
    return out


@pytest.fixture(scope="module")
def red_then_blue(folder: Path) -> Path:
    return make_red_then_blue(folder / "red_then_blue.mp4")


def colour(frame: np.ndarray) -> str:
    r, g, b = frame.reshape(-1, 3).mean(axis=0)
    if r > 200 and max(g, b) < 50:
        return "red"
    return "blue" if b > 200 and max(r, g) < 50 else f"({r:.0f}, {g:.0f}, {b:.0f})"


def test_frame_at_is_the_frame_shown_then_at_the_width_asked(red_then_blue: Path) -> None:
    frames = {ms: frame_at(red_then_blue, ms, width=64) for ms in (0, 500, 960, 1000, 1500, 1990)}
    assert {f.shape for f in frames.values()} == {(36, 64, 3)}  # 16:9 kept
    # 960 ms still shows the red frame of 933 ms: the frame shown then, not the next one (1000 ms).
    assert {ms: colour(f) for ms, f in frames.items()} == {
        0: "red", 500: "red", 960: "red", 1000: "blue", 1500: "blue", 1990: "blue"}


def test_frame_at_finds_the_frame_of_a_slide_show(folder: Path) -> None:
    """One frame a second: at 700 ms the frame shown is the one of 0 ms, further back than a film's."""
    slides = make_red_then_blue(folder / "slides.mp4", fps=1, seconds=2)
    assert [colour(frame_at(slides, ms, width=64)) for ms in (700, 1700, 2700, 3900)] == ["red", "red", "blue", "blue"]


def test_frame_at_fails_naming_the_file(folder: Path, red_then_blue: Path) -> None:
    garbage = folder / "corrupt_video.mp4"
    garbage.write_bytes(b"not a video at all " * 100)
    for bad in (folder / "no_such_video.mp4", garbage):
        with pytest.raises(MediaError, match=bad.name):
            frame_at(bad, 500)
    with pytest.raises(MediaError, match="red_then_blue.mp4.*no picture"):
        frame_at(red_then_blue, 5000)
    with pytest.raises(ValueError):
        frame_at(red_then_blue, 0, width=MAX_FRAME_WIDTH + 1)


def test_frame_at_gives_up_after_its_timeout(red_then_blue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(args, **kwargs):
        raise subprocess.TimeoutExpired(args, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hang)
    with pytest.raises(MediaError, match="red_then_blue.mp4.*took over"):
        frame_at(red_then_blue, 500)
