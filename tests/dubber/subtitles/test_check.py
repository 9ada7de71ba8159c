"""`dubber check [VIDEO] SUBTITLES`: every trait a dub trips on, by file:line with its code."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.main import main
from dubber.subtitles.check import check_subtitles

RATE = 48000

# One cue per trait; its text marks the line the diagnostic must name.
TRAITS = [
    ("00:00:01,000 --> 00:00:02,800", "Open the window, please.", None),
    ("00:00:03,000 --> 00:00:03,020", "Twenty milliseconds.", "short-cue"),
    ("00:00:04,000 --> 00:00:04,600", "An extraordinarily unreadable, overlong sentence for its time.", "reading-speed"),
    ("00:00:05,000 --> 00:00:17,000", "Held on screen for twelve seconds.", "display-time"),
    ("00:00:16,000 --> 00:00:18,000", "This one starts before the last one ends.", "overlap"),
    ("00:00:19,000 --> 00:00:20,500", "[door slams]", "non-speech"),
    ("00:00:21,000 --> 00:00:23,000", "Je ne sais pas où il est parti ce matin.", "wrong-language"),
    ("00:00:24,000 --> 00:00:26,000", "Waitâ€”what did you say?", "mojibake"),
    ("00:00:27,000 --> 00:00:29,000", "Let's go!", None),
    ("00:00:27,000 --> 00:00:29,000", "Let's go!", "duplicate"),
    ("00:00:30,000 --> 00:00:32,000", "- Are you late?\n- I have been waiting.", "split-turns"),
    ("00:00:40,000 --> 00:00:42,000", "After the video ends.", "past-end"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    srt = root / "traits.srt"
    srt.write_text("\n".join(f"{i}\n{timing}\n{text}\n" for i, (timing, text, _) in enumerate(TRAITS, 1)),
                   encoding="utf-8")
    video = media.make_test_video(root / "short.mp4", 35_000, np.zeros(35 * RATE, np.float32), RATE,
                                  size="64x36", fps=5)
    return video, srt


def lines_of(srt, text: str, nth: int = 1) -> set[int]:
    """The timing line of the `nth` cue with `text`, and its first text line (mojibake is named there)."""
    first = text.splitlines()[0]
    found = [n for n, line in enumerate(srt.read_text(encoding="utf-8").splitlines(), 1) if first in line]
    return {found[nth - 1] - 1, found[nth - 1]}


@pytest.mark.parametrize("timing, text, code", [t for t in TRAITS if t[2]], ids=[t[2] for t in TRAITS if t[2]])
def test_each_trait_is_named_by_file_line_and_code(files, timing, text, code):
    video, srt = files
    result = check_subtitles(srt, media.probe(video).duration_ms, "en")
    found = {(d.line, d.code) for d in result.diagnostics}
    where = lines_of(srt, text, 2 if code == "duplicate" else 1)
    assert {(line, code) for line in where} & found, sorted(found)


def test_a_clean_line_has_nothing_said_about_it(files):
    video, srt = files
    result = check_subtitles(srt, media.probe(video).duration_ms, "en")
    assert not [d for d in result.diagnostics if d.line in lines_of(srt, "Open the window, please.")]
    assert {c.skip for c in result.not_spoken} == {"sound", "language", "duplicate", "past-end"}


def test_the_command_prints_file_line_and_the_json_carries_the_codes(files, capsys):
    video, srt = files
    assert main(["check", str(video), str(srt), "--lang", "en-US"]) == 0
    out, err = capsys.readouterr()
    assert f"{srt}:{min(lines_of(srt, 'After the video ends.'))}: warning: cue 13 starts at 0:00:40.000, after " \
           "the video ends" in out
    assert "lines checked against en" in out and "speaking en" in err
    assert main(["check", str(srt), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    codes = {d["code"] for d in doc["diagnostics"]}
    assert {"short-cue", "non-speech", "wrong-language", "mojibake", "duplicate"} <= codes
    assert "past-end" not in codes and doc["lang"] == "en"  # no video: no end to pass; the file's own language


def test_check_takes_a_subtitle_file_or_a_video_and_one(files, capsys):
    video, srt = files
    assert main(["check", str(video), str(srt), str(srt)]) == 2
    assert "check takes a subtitle file" in capsys.readouterr().err
