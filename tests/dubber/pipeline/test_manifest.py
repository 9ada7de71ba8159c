"""A manifest's defaults, languages and placeholders, and a UsageError naming the file and the video for
every mistake."""

from __future__ import annotations

import pytest

from dubber.errors import UsageError
from dubber.pipeline.manifest import load_manifest


def write(tmp_path, text):
    path = tmp_path / "season.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_languages_and_placeholders(tmp_path):
    path = write(tmp_path, """
engine = "kokoro"
mix = "replace"
output = "out/{name}.{lang}.mp4"
report = "out/{name}.{lang}.report.json"
subtitles = "subs/{name}.{lang}.srt"

[[video]]
video = "ep01.mp4"
langs = ["en", "ja"]
speakers = "ep01.speakers.toml"

[[video]]
name = "finale"
video = "/media/ep02.mkv"
subtitles = "ep02.srt"
output = "~/ep02.dub.mp4"
mix = "duck"
duck_threshold = "off"
export = ["srt", "otio"]
""")
    jobs = load_manifest(path).jobs
    assert [(j.entry, j.name, j.lang) for j in jobs] == [(1, "ep01", "en"), (1, "ep01", "ja"), (2, "finale", "en")]
    en, ja, finale = jobs
    assert en.video == tmp_path / "ep01.mp4" and ja.subtitles == tmp_path / "subs/ep01.ja.srt"
    assert ja.output == tmp_path / "out/ep01.ja.mp4" and ja.settings["report"] == tmp_path / "out/ep01.ja.report.json"
    assert en.settings["speakers"] == tmp_path / "ep01.speakers.toml" and en.settings["mix"] == "replace"
    assert finale.video.as_posix() == "/media/ep02.mkv" and not str(finale.output).startswith("~")
    assert finale.settings["mix"] == "duck" and finale.settings["export"] == ["srt", "otio"]
    assert finale.settings["report"] == tmp_path / "out/finale.en.report.json"
    assert "subtitles" not in finale.settings and "output" not in finale.settings


@pytest.mark.parametrize("text, needle", [
    ("[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\noutput = 'o.mp4'\nengnie = 'piper'\n",
     "video 1: unknown key 'engnie'; did you mean 'engine'?"),
    ("[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\noutput = 'o.mp4'\nseed = 'seven'\n",
     "video 1: seed must be a whole number, got 'seven'"),
    ("[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\noutput = 'o.mp4'\n\n[[video]]\nname = 'b'\nvideo = 'b.mp4'\n",
     "video 2 (b): missing subtitles, output"),
    ("[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\noutput = 'o.mp4'\nlangs = ['en', 'ja']\n",
     "video 1: with several languages the output needs {lang}"),
    ("output = 'o.mp4'\n[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\n[[video]]\nvideo = 'b.mp4'\n"
     "subtitles = 'b.srt'\n", "video 1 (a (en)) and video 2 (b (en)) would both write"),
    ("[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.{season}.srt'\noutput = 'o.mp4'\n",
     "only {name} and {lang} may be filled into a path"),
    ("video = 'a.mp4'\n", "no videos"),
    ("mix = 'duck'\n[[video]\n", ":2: bad TOML"),  # the file's line, as for a speakers file
    ("loudness = true\n[[video]]\nvideo = 'a.mp4'\nsubtitles = 'a.srt'\noutput = 'o.mp4'\n",
     "defaults: loudness must be a number or a word"),
], ids=["unknown-key", "wrong-type", "missing", "langs-one-output", "same-output", "placeholder", "no-videos",
        "toml", "defaults"])
def test_mistakes_name_the_manifest_and_the_video(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as exc:
        load_manifest(path)
    assert str(exc.value).startswith(f"{path}:") and needle in str(exc.value)


def test_a_missing_manifest_says_so(tmp_path):
    with pytest.raises(UsageError, match="no such manifest"):
        load_manifest(tmp_path / "nope.toml")
