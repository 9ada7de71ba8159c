"""`dubber dub` on display windows: short lines in long cues are in sync; --fill, --speak-all, --foreign,
--lang tags, and `verify` judging by the same rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.main import main
from dubber.project.store import load_project, project_path_for

RATE = 48000
# The smallest case from the field: three short lines in 1.6-1.8 s display windows over a silent video.
THREE = "1\n00:00:01,000 --> 00:00:02,700\nOpen the window.\n\n2\n00:00:03,000 --> 00:00:04,600\nClose the door.\n\n" \
        "3\n00:00:05,000 --> 00:00:06,800\nMind the step.\n"


@pytest.fixture(scope="module")
def silent(tmp_path_factory):
    root = tmp_path_factory.mktemp("silent")
    video = media.make_test_video(root / "silent.mp4", 8000, np.zeros(8 * RATE, np.float32), RATE,
                                  size="64x36", fps=5)
    srt = root / "three.srt"
    srt.write_text(THREE, encoding="utf-8")
    return video, srt


def dub(video, srt, out, *extra) -> tuple[int, dict]:
    code = main(["dub", str(video), str(srt), "-o", str(out), "--mix", "replace", "--report",
                 str(out.with_suffix(".json")), *extra])
    return code, json.loads(out.with_suffix(".json").read_text())


def test_three_short_lines_in_long_cues_are_in_sync(silent, tmp_path, capsys):
    video, srt = silent
    out = tmp_path / "three.mp4"
    code, report = dub(video, srt, out)
    assert code == 0, report["lines"]
    assert report["inputs"]["sync"] == "speech" and report["summary"]["sync"] == "speech"
    for line in report["lines"]:
        # No original speech: each starts at its cue, at its natural length, well inside its window.
        assert line["status"] == "ok" and line["sync"] == "cue" and line["target_start_ms"] is None
        assert line["speech_start_ms"] == line["start_ms"] and line["speech_end_ms"] < line["end_ms"] - 300
        assert line["method"] == "natural" and line["stretch"] == 1.0
    assert "no original speech found for 3 of 3 lines" in capsys.readouterr().err
    # verify judges the output by the same rule, with the project the dub left beside it.
    assert main(["verify", str(out), str(srt)]) == 0
    assert "3/3 lines in sync (speech" in capsys.readouterr().out


def test_fill_keeps_the_old_policy_and_fails_them(silent, tmp_path):
    video, srt = silent
    code, report = dub(video, srt, tmp_path / "filled.mp4", "--fill")
    assert code == 1 and report["inputs"]["sync"] == "fill"
    assert {line["status"] for line in report["lines"]} == {"too_short"}
    assert all("needs rate" in line["reason"] for line in report["lines"])


def test_a_resumed_dub_renders_nothing_again(silent, tmp_path):
    video, srt = silent
    out = tmp_path / "again.mp4"
    dub(video, srt, out)
    first = load_project(project_path_for(out))
    assert first.sync == "speech" and all(line.take.window_ms for line in first.lines)
    code, report = dub(video, srt, out, "--overwrite")  # the first run's video and report are replaced, as asked
    again = load_project(project_path_for(out))
    assert code == 0 and [line.takes for line in again.lines] == [line.takes for line in first.lines]


def test_sound_descriptions_are_listed_not_spoken_unless_asked(silent, tmp_path, capsys):
    video, _ = silent
    srt = tmp_path / "sdh.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\n[door slams]\n\n2\n00:00:03,000 --> 00:00:04,800\n"
                   "(sighs) Close the door.\n", encoding="utf-8")
    code, report = dub(video, srt, tmp_path / "sdh.mp4")
    assert code == 0 and [line["text"] for line in report["lines"]] == ["Close the door."]
    assert [(s["skip"], s["line"]) for s in report["skipped"]] == [("sound", 2)]
    err = capsys.readouterr().err
    assert f"{srt}:2: warning: sound description '[door slams]': not spoken" in err and "1 not spoken" in err
    code, report = dub(video, srt, tmp_path / "all.mp4", "--speak-all")
    assert code == 0 and [line["text"] for line in report["lines"]] == ["[door slams]", "(sighs) Close the door."]


def test_an_untranslated_line_is_skipped_or_spoken_in_its_own_language(silent, tmp_path, capsys):
    video, _ = silent
    srt = tmp_path / "half.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,800\nOpen the window.\n\n2\n00:00:03,000 --> 00:00:05,000\n"
                   "ドアを閉めてください。\n", encoding="utf-8")
    code, report = dub(video, srt, tmp_path / "skip.mp4")
    assert code == 0 and len(report["lines"]) == 1 and report["skipped"][0]["skip"] == "language"
    assert "wrong-language" in {d["code"] for d in report["diagnostics"]}
    code, report = dub(video, srt, tmp_path / "own.mp4", "--foreign", "speak")
    assert code == 0 and [(line["engine"], line["lang"]) for line in report["lines"]] == [("piper", None),
                                                                                          ("kokoro", "ja")]


def test_lang_takes_bcp47_tags_and_says_what_it_mapped(silent, tmp_path, capsys):
    video, srt = silent
    code, report = dub(video, srt, tmp_path / "tag.mp4", "--lang", "en-US")
    assert code == 0 and report["inputs"]["lang"] == "en"
    assert "--lang en-US: speaking en" in capsys.readouterr().err
    assert main(["dub", str(video), str(srt), "-o", str(tmp_path / "pt.mp4"), "--lang", "pt-BR"]) == 2
    err = capsys.readouterr().err
    assert "pt-BR" in err and "en" in err and "ja" in err and not (tmp_path / "pt.mp4").exists()


def test_verify_with_a_report_flags_a_line_that_runs_into_the_next(silent, tmp_path, capsys):
    video, srt = silent
    out = tmp_path / "v.mp4"
    _, report = dub(video, srt, out)
    path = out.with_suffix(".json")
    report["lines"][0]["window_end_ms"] = report["lines"][0]["speech_end_ms"] - 200  # pretend a tighter window
    path.write_text(json.dumps(report))
    assert main(["verify", str(out), str(srt), "--report", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["sync"] == "speech" and doc["outside"] == 1
    assert doc["checks"][0]["status"] == "too_long" and "past its window" in doc["checks"][0]["reason"]
