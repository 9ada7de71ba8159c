"""`dubber batch`: the same files as `dubber dub` per video, a summary, and refusals that name the
manifest and the video."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.batch import batch_videos, dub_argv
from dubber.cli.main import main
from dubber.pipeline.manifest import load_manifest
from tests.dubber.pipeline.test_resume import tone_lines


@pytest.fixture
def engine(frame_tone):
    return frame_tone


@pytest.fixture
def season(tmp_path):
    """Two generated videos (3 and 4 lines) and a manifest dubbing both, with defaults at the top."""
    for count, name in ((3, "ep01"), (4, "ep02")):
        tone_lines(tmp_path, count, name)
    manifest = tmp_path / "season.toml"
    manifest.write_text("""
engine = "frametone"
seed = 3
duck_db = 12
output = "out/{name}.{lang}.mp4"
stem = "out/{name}.{lang}.wav"
report = "out/{name}.{lang}.report.json"
subtitles = "{name}.srt"

[[video]]
video = "ep01.mp4"

[[video]]
video = "ep02.mp4"
sync = "fill"
""", encoding="utf-8")
    return manifest


def test_batch_writes_what_dub_writes_per_video(engine, season, tmp_path, capsys):
    assert main(["batch", str(season)]) == 0
    out = capsys.readouterr().out
    assert "ep01" in out and "ep02" in out and "total" in out
    summary = json.loads((tmp_path / "season.summary.json").read_text())
    assert summary["total"]["lines"] == 7 and summary["total"]["videos_failed"] == 0
    for name, extra in (("ep01", []), ("ep02", ["--fill"])):
        alone = tmp_path / "alone" / f"{name}.mp4"
        assert main(["dub", str(tmp_path / f"{name}.mp4"), str(tmp_path / f"{name}.srt"), "-o", str(alone),
                     "--engine", "frametone", "--seed", "3", "--duck-db", "12",
                     "--stem", str(alone.with_suffix(".wav")), "--report", str(alone.with_suffix(".json")),
                     *extra]) == 0
        mine = media.read_wav(tmp_path / "out" / f"{name}.en.wav")[0]
        assert mine.size > 0 and np.array_equal(mine, media.read_wav(alone.with_suffix(".wav"))[0])
        report = json.loads((tmp_path / "out" / f"{name}.en.report.json").read_text())
        assert report["lines"] == json.loads(alone.with_suffix(".json").read_text())["lines"]
        assert np.array_equal(media.decode_audio(tmp_path / "out" / f"{name}.en.mp4", 48000),
                              media.decode_audio(alone, 48000))  # the mix: ducked as asked
        assert report["inputs"]["sync"] == ("fill" if extra else "speech") and report["inputs"]["seed"] == 3


def test_a_failing_video_is_reported_and_the_others_run(engine, season, tmp_path, capsys):
    (tmp_path / "ep01.srt").unlink()
    assert main(["batch", str(season)]) == 1
    captured = capsys.readouterr()
    assert f"{season}: video 1 (ep01): " in captured.err and "ep01.srt" in captured.err
    assert (tmp_path / "out" / "ep02.en.mp4").exists() and not (tmp_path / "out" / "ep01.en.mp4").exists()
    summary = json.loads((tmp_path / "season.summary.json").read_text())
    assert [v["status"] for v in summary["videos"]] == ["failed", "ok"]


def test_existing_outputs_are_refused_until_overwrite(engine, season, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "ep02.en.wav").write_bytes(b"keep me")
    assert main(["batch", str(season)]) == 2
    err = capsys.readouterr().err
    assert "video 2 (ep02)" in err and "already exists" in err and "--overwrite" in err
    assert engine.calls == 0 and (tmp_path / "out" / "ep02.en.wav").read_bytes() == b"keep me"
    assert main(["batch", str(season), "--overwrite"]) == 0
    calls = engine.calls
    assert main(["batch", str(season)]) == 2  # its own outputs now exist too
    assert main(["batch", str(season), "--overwrite"]) == 0 and engine.calls == calls  # resumed: nothing rendered


def test_a_value_dub_refuses_names_the_manifest_the_video_and_the_key(engine, season, capsys):
    season.write_text(season.read_text() + 'mix = "dukc"\n', encoding="utf-8")
    assert main(["batch", str(season)]) == 2
    err = capsys.readouterr().err
    assert f"{season}: video 2 (ep02): mix: invalid choice: 'dukc'" in err and engine.calls == 0


def test_every_kind_of_key_reaches_the_options_as_dub_reads_it(season, tmp_path):
    season.write_text(season.read_text() + """
[[video]]
video = "ep01.mp4"
name = "kinds"
sync = "fill"
export = ["srt", "otio"]
engine_opt = ["frametone.threads=1"]
duck_threshold = "off"
loudness = "web"
emotion_vector = [0, 0.5]
no_original = true
speak_all = false
workers = 2
""", encoding="utf-8")
    job = load_manifest(season).jobs[2]
    argv = dub_argv(job, workers=3)
    assert "--fill" in argv and "--export=srt,otio" in argv and "--speak-all" not in argv and "--workers=2" in argv
    video = batch_videos(load_manifest(season), workers=3)[2]
    opts = video.options
    assert (opts.sync, set(opts.exports), opts.ducking.threshold_db) == ("fill", {"srt", "otio"}, None)
    assert opts.loudness == -16
    assert opts.emotion.vector == (0, 0.5) and not opts.keep_original and opts.workers == 2
    assert opts.config.engine("frametone").values == {"threads": 1} and opts.seed == 3 and opts.ducking.depth_db == 12
    assert batch_videos(load_manifest(season), workers=3)[0].options.workers == 3
    assert video.stem == tmp_path / "out" / "kinds.en.wav"


def test_the_ray_address_comes_from_the_option_or_the_environment(monkeypatch):
    from dubber.cli.batch import executor
    from dubber.cli.main import build_parser

    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    args = build_parser().parse_args(["batch", "m.toml"])
    assert args.ray == "10.0.0.1:6379"
    assert build_parser().parse_args(["batch", "m.toml", "--ray", "auto"]).ray == "auto"
    monkeypatch.delenv("RAY_ADDRESS")
    assert executor(build_parser().parse_args(["batch", "m.toml"])) is None
    pytest.importorskip("ray")
    assert executor(args).address == "10.0.0.1:6379"  # connects only when the batch renders
