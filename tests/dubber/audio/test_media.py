"""Tests for the ffmpeg media module, on small generated files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.errors import MediaError, ProcessError

RATE = 44100
DURATION_MS = 2000


def tone(freq: float, duration_ms: int, rate: int, channels: int = 1) -> np.ndarray:
    n = duration_ms * rate // 1000
    wave = (0.3 * np.sin(2 * np.pi * freq * np.arange(n) / rate)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def video(folder: Path) -> Path:
    return media.make_test_video(folder / "source.mp4", DURATION_MS, tone(440, DURATION_MS, RATE, 2), RATE)


@pytest.fixture(scope="module")
def silent_video(folder: Path) -> Path:
    return media.make_test_video(folder / "silent.mp4", DURATION_MS, None, RATE)


@pytest.fixture(scope="module")
def dub(folder: Path) -> Path:
    return media.write_wav(folder / "dub.wav", tone(660, 1500, 24000), 24000)


def test_ffmpeg_exe() -> None:
    assert Path(media.ffmpeg_exe()).is_file()


def test_probe(video: Path) -> None:
    info = media.probe(video)
    assert "mp4" in info.container
    assert abs(info.duration_ms - DURATION_MS) <= 100
    assert [s.kind for s in info.streams] == ["video", "audio"]
    v, a = info.streams
    assert (v.index, v.codec, v.width, v.height) == (0, "h264", 320, 180)
    assert v.frame_rate == 15
    assert (a.index, a.codec, a.sample_rate, a.channels) == (1, "aac", RATE, 2)


def test_decode_audio(video: Path) -> None:
    samples = media.decode_audio(video, 16000)
    assert samples.dtype == np.float32 and samples.shape[1] == 2
    # AAC adds priming and padding up to one 1024-sample frame (at the source rate).
    assert abs(samples.shape[0] - 2 * 16000) <= 1024 * 16000 // RATE + 1
    mono = media.decode_audio(video, 22050, channels=1)
    assert mono.shape[1] == 1
    assert abs(mono.shape[0] - 2 * 22050) <= 1024 * 22050 // RATE + 1
    assert 0.15 < np.sqrt(np.mean(mono ** 2)) < 0.25  # a 0.3-amplitude sine has RMS 0.21


def test_wav_round_trip(folder: Path) -> None:
    wave = tone(300, 500, 22050)
    path = media.write_wav(folder / "deep" / "er" / "t.wav", wave, 22050)
    back, rate = media.read_wav(path)
    assert rate == 22050 and back.dtype == np.float32
    assert np.array_equal(back, wave)
    media.write_wav(folder / "t24.wav", wave, 22050, subtype="PCM_24")
    back24, _ = media.read_wav(folder / "t24.wav")
    assert np.abs(back24 - wave).max() < 1e-6


@pytest.mark.parametrize("lang, code", [("en", "eng"), ("ja", "jpn"), ("zh", "zho"), ("ko", "kor"),
                                        ("fr", "fra"), ("de", "deu"), ("es", "spa"), ("pt-BR", "por"),
                                        ("eng", "eng"), ("JPN", "jpn"), ("xx", "und"), ("", "und")])
def test_iso639_2(lang: str, code: str) -> None:
    assert media.iso639_2(lang) == code


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_mux(video: Path, dub: Path, folder: Path, suffix: str) -> None:
    out = media.mux(video, dub, folder / f"dubbed{suffix}", dub_lang="en", original_lang="ja")
    info = media.probe(out)
    kinds = [s.kind for s in info.streams]
    assert kinds == ["video", "audio", "audio"]
    first, second = info.audio_streams
    assert first.language == "eng" and first.default and first.codec == "aac"
    assert second.language == "jpn" and not second.default
    assert media.video_packet_checksums(out) == media.video_packet_checksums(video)
    dubbed = media.decode_audio(out, 24000, channels=1)
    assert abs(dubbed.shape[0] - 1500 * 24) <= 1024 + 1
    assert not list(folder.glob(".*partial*"))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_mux_several_tagged_tracks(video: Path, dub: Path, folder: Path, suffix: str) -> None:
    dialogue = media.write_wav(folder / "dialogue.wav", tone(440, 1500, 24000), 24000)
    out = media.mux(video, dub, folder / f"tracks{suffix}", dub_lang="de", original_lang="en-GB",
                    extra_tracks=[media.AudioTrack(dialogue, "de", "Dub dialogue")])
    tracks = media.probe(out).audio_streams
    german = "ger" if suffix == ".mov" else "deu"  # QuickTime's own spelling
    assert [(t.language, t.title, t.default) for t in tracks] == [
        (german, "Dub", True), (german, "Dub dialogue", False), ("eng", "Original", False)]
    assert media.video_packet_checksums(out) == media.video_packet_checksums(video)
    second = media.decode_audio(out, 24000, channels=1)  # the first track: the dub, not the dialogue tone
    assert second.shape[0] > 0


@pytest.mark.parametrize(("printed", "rate"), [("23.98", Fraction(24000, 1001)), ("29.97", Fraction(30000, 1001)),
                                               ("59.94", Fraction(60000, 1001)), ("25", Fraction(25)),
                                               ("12.50", Fraction(25, 2))])
def test_frame_rates_printed_rounded_are_read_exactly(printed: str, rate: Fraction) -> None:
    line = (f"  Stream #0:0(und): Video: h264 (High), yuv420p, 1920x1080 [SAR 1:1 DAR 16:9], 5000 kb/s, "
            f"{printed} fps, {printed} tbr, 90k tbn (default)")
    info = media._parse_probe(Path("/x.mp4"), "Input #0, mov,mp4, from '/x.mp4':\n" + line)
    assert info is not None and info.video_streams[0].frame_rate == rate


def test_mux_mov_language(video: Path, dub: Path, folder: Path) -> None:
    out = media.mux(video, dub, folder / "dubbed.mov", dub_lang="de", original_lang="zh")
    first, second = media.probe(out).audio_streams
    # QuickTime spells these two the ISO 639-2/B way.
    assert (first.language, second.language) == ("ger", "chi")
    assert first.default and not second.default
    assert media.video_packet_checksums(out) == media.video_packet_checksums(video)


def test_mux_video_without_audio(silent_video: Path, dub: Path, folder: Path) -> None:
    out = media.mux(silent_video, dub, folder / "silent-dubbed.mp4")
    info = media.probe(out)
    assert [s.kind for s in info.streams] == ["video", "audio"]
    assert info.audio_streams[0].language == "eng"
    assert media.video_packet_checksums(out) == media.video_packet_checksums(silent_video)


def test_mux_dub_only(video: Path, dub: Path, folder: Path) -> None:
    out = media.mux(video, dub, folder / "only.mkv", keep_original=False)
    assert [s.kind for s in media.probe(out).streams] == ["video", "audio"]


@pytest.mark.parametrize("name", ["with space.mp4", "quo'te\"s.mp4", "ünïcødé 日本.mp4", "-dash.mp4"])
def test_odd_names(video: Path, dub: Path, folder: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Relative names from inside the folder, so a leading '-' reaches ffmpeg as given.
    monkeypatch.chdir(folder)
    source = Path(name)
    source.write_bytes(video.read_bytes())
    assert media.probe(source).duration_ms is not None
    out = media.mux(source, dub, Path("out " + name))
    assert (folder / ("out " + name)).is_file()
    assert media.video_packet_checksums(out) == media.video_packet_checksums(video)
    dash_out = media.mux(source, dub, Path("-" + name))
    assert dash_out.is_file()


def test_missing_file(folder: Path) -> None:
    missing = folder / "nowhere.mp4"
    for call in (media.probe, lambda p: media.decode_audio(p, 16000), media.video_packet_checksums,
                 media.read_wav):
        with pytest.raises(MediaError) as info:
            call(missing)
        assert "nowhere.mp4" in str(info.value)


def test_corrupt_file(folder: Path) -> None:
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaError) as info:
        media.probe(corrupt)
    assert "corrupt.mp4" in str(info.value)


def test_no_audio_stream(silent_video: Path) -> None:
    with pytest.raises(MediaError):
        media.decode_audio(silent_video, 16000)


def test_failed_mux_leaves_nothing(video: Path, folder: Path) -> None:
    not_audio = folder / "not-audio.wav"
    not_audio.write_bytes(b"definitely not a wav file")
    target = folder / "failed.mp4"
    with pytest.raises(ProcessError) as info:
        media.mux(video, not_audio, target)
    assert info.value.returncode != 0 and info.value.cmd[0] == media.ffmpeg_exe()
    assert not target.exists()
    assert not list(folder.glob(".failed*"))


def test_unknown_output_extension(video: Path, dub: Path, folder: Path) -> None:
    with pytest.raises(MediaError):
        media.mux(video, dub, folder / "out.avi")
