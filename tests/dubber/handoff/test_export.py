"""The hand-off files, read back: the OTIO timeline, dubbed subtitles, stems, the tracks of the mux."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.main import main
from dubber.errors import UsageError
from dubber.handoff.export import describe_written, export_paths, parse_exports
from dubber.subtitles.load import load_subtitles, save_srt
from tests.dubber.audio.test_loudness import ebur128

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
RATE = 48000

LINES = [(400, 2300, "Anna: Good morning, everyone."), (2700, 4300, "Ben: The boats leave at nine."),
         (4700, 5700, "Anna: Then we should hurry."), (6900, 8200, "Nobody told me that.")]


@pytest.fixture(scope="module")
def dubbed(tmp_path_factory):
    """`dubber dub ... --export otio,srt,stems --loudness -16` on a clip with two named speakers."""
    root = tmp_path_factory.mktemp("handoff")
    n = 9 * RATE
    t = np.arange(n) / RATE
    music = 0.08 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    video = media.make_test_video(root / "clip.mp4", 9000, np.stack([music, 0.8 * music], 1).astype(np.float32),
                                  RATE)
    subs = root / "clip.srt"
    save_srt(subs, LINES)
    out = root / "out" / "clip.dub.mp4"
    code = main(["dub", str(video), str(subs), "-o", str(out), "--lang", "en", "--export", "otio,srt,stems",
                 "--loudness", "-16", "--original-lang", "fr", "--dialogue-track",
                 "--report", str(root / "report.json")])
    assert code == 0
    return root, video, out, json.loads((root / "report.json").read_text(encoding="utf-8"))


def test_the_mux_has_tagged_tracks_at_the_loudness_target(dubbed):
    _, video, out, _ = dubbed
    info = media.probe(out)
    assert [s.kind for s in info.streams] == ["video", "audio", "audio", "audio"]
    assert [(s.language, s.title, s.default) for s in info.audio_streams] == [
        ("eng", "Dub", True), ("eng", "Dub dialogue", False), ("fra", "Original", False)]
    integrated, peak = ebur128(out)
    assert abs(integrated - -16.0) <= 0.5 and peak <= -0.5
    assert media.video_packet_checksums(out) == media.video_packet_checksums(video)


def test_the_otio_timeline_has_a_clip_per_line_on_a_track_per_speaker(dubbed):
    import opentimelineio as otio

    _, video, out, report = dubbed
    timeline = otio.adapters.read_from_file(str(out.with_suffix(".otio")))
    audio = {track.name: track for track in timeline.audio_tracks()}
    assert {"Anna", "Ben", "Dub"} <= set(audio)
    by_index = {}
    for name in ("Anna", "Ben", "Dub"):
        for clip in audio[name].find_clips():
            by_index[clip.metadata["dubber"]["index"]] = (name, clip)
    assert sorted(by_index) == [1, 2, 3, 4]
    assert [by_index[i][0] for i in (1, 2, 3, 4)] == ["Anna", "Ben", "Anna", "Dub"]
    stems = out.with_name("clip.dub.stems")
    for index, (_, clip) in by_index.items():
        path = Path(clip.media_reference.target_url.removeprefix("file://"))
        assert path == stems / "lines" / f"{index:04d}.wav" and path.is_file()
        samples, rate = media.read_wav(path)
        assert samples.shape[0] == clip.source_range.duration.rescaled_to(rate).value == \
            pytest.approx(samples.shape[0])
        # the clip sits where the take was placed: its speech begins at the cue's start
        line = next(item for item in report["lines"] if item["index"] == index)
        begins = clip.range_in_parent().start_time.rescaled_to(1000).value
        assert begins <= line["speech_start_ms"] < begins + samples.shape[0] * 1000 / rate
        assert abs(line["speech_start_ms"] - line["start_ms"]) <= 50
    video_clips = list(timeline.video_tracks()[0].find_clips())
    assert len(video_clips) == 1 and video_clips[0].media_reference.target_url == video.absolute().as_uri()


def test_the_subtitles_carry_the_speech_spans(dubbed):
    _, _, out, report = dubbed
    loaded = load_subtitles(out.with_suffix(".srt"))
    assert [(c.speaker, c.text) for c in loaded.cues] == [
        ("Anna", "Good morning, everyone."), ("Ben", "The boats leave at nine."), ("Anna", "Then we should hurry."),
        (None, "Nobody told me that.")]
    spans = [(line["speech_start_ms"], line["speech_end_ms"]) for line in report["lines"]]
    assert [(c.start_ms, c.end_ms) for c in loaded.cues] == spans
    for cue, (start, end, _) in zip(loaded.cues, LINES):  # each spoken from its cue's start, ending inside it
        assert abs(cue.start_ms - start) <= 50 and cue.end_ms <= end + 25


def test_the_stems_sum_to_the_dub_track(dubbed):
    _, _, out, _ = dubbed
    stems = out.with_name("clip.dub.stems")
    assert sorted(p.name for p in (stems / "speakers").iterdir()) == ["Anna.wav", "Ben.wav", "unnamed.wav"]
    assert sorted(p.name for p in (stems / "lines").iterdir()) == ["0001.wav", "0002.wav", "0003.wav", "0004.wav"]
    dialogue, rate = media.read_wav(stems / "dialogue.wav")
    background, _ = media.read_wav(stems / "background.wav")
    speakers = sum(media.read_wav(p)[0] for p in (stems / "speakers").iterdir())
    assert rate == RATE and np.allclose(speakers, dialogue, atol=1e-6)
    track = media.decode_audio(out, RATE, channels=2)  # the dub track, through AAC
    n = min(track.shape[0], dialogue.shape[0])
    summed = dialogue[:n, None] + background[:n]
    # the limiter's gain is in the stems too; AAC at 192 kb/s leaves the sum within -30 dB of the track
    residual = np.sqrt(np.mean((track[:n] - summed) ** 2)) / np.sqrt(np.mean(track[:n] ** 2))
    assert residual < 10 ** (-30 / 20)


def test_what_was_written_is_reported(dubbed):
    _, _, out, report = dubbed
    assert report["exports"] == {kind: str(path) for kind, path in
                                 export_paths(out, ("otio", "srt", "stems")).items()}
    assert report["inputs"]["ducking"] == {"depth_db": 15.0, "threshold_db": -45.0, "attack_ms": 60,
                                           "release_ms": 250}


def test_parse_exports():
    assert parse_exports("stems, SRT,otio") == ("otio", "srt", "stems")
    with pytest.raises(UsageError, match="aaf"):
        parse_exports("otio,aaf")
    with pytest.raises(UsageError):
        parse_exports(" , ")


def test_export_paths_sit_beside_the_output(tmp_path):
    out = tmp_path / "film.dub.mkv"
    assert export_paths(out, ("otio", "edl", "ass", "stems")) == {
        "otio": tmp_path / "film.dub.otio", "edl": tmp_path / "film.dub.edl", "ass": tmp_path / "film.dub.ass",
        "stems": tmp_path / "film.dub.stems"}


def test_describe_written_folds_the_stems_folder(tmp_path):
    stems = tmp_path / "a.stems"
    shown = describe_written([tmp_path / "a.mp4", stems / "dialogue.wav", stems / "lines" / "0001.wav",
                              tmp_path / "a.otio"])
    assert shown == [str(tmp_path / "a.mp4"), f"{stems}/ (2 files)", str(tmp_path / "a.otio")]


def test_an_unknown_export_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["dub", str(SAMPLES / "demo.mp4"), str(SAMPLES / "demo.en.srt"), "-o", str(tmp_path / "x.mp4"),
              "--export", "otio,karaoke"])
    assert exited.value.code == 2 and "unknown export karaoke" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
