"""Write the bad-input corpus in tests/data/bad/: broken subtitle files and media, each with what dubber must
make of it, listed in manifest.json (read by tests/dubber/pipeline/test_bad_input.py) and README.md (for people).

Deterministic: running it again writes the same bytes. Run it from the repository root after changing a case:

    .venv/bin/python tests/data/make_bad_corpus.py

A subtitle case names the cues that must survive (start ms, end ms, cleaned text: these are the lines still
dubbed) and every diagnostic expected, as (line, severity, code); the line is found by a marker, a piece of
the line's text, so editing a case never leaves a stale line number. A media case names the subtitles it is
dubbed with, the exit code and a piece of the message.
"""

from __future__ import annotations

import codecs
import gzip
import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "bad"
MEDIA_MS = 3000  # every test video lasts 3 s
MEDIA_SIZE = "64x36"


@dataclass
class Case:
    """One corpus file and what dubber must make of it."""

    file: str
    category: str
    what: str
    text: str  # what the file says; markers are looked up in it
    data: bytes | None = None  # the file's bytes, when they are not `text` in UTF-8
    cues: list[tuple[int, int, str]] = field(default_factory=list)  # the cues that must survive, in order
    # (marker, severity, code): the diagnostic is on the first line containing marker ("marker@2": the second)
    diagnostics: list[tuple[str | None, str, str]] = field(default_factory=list)
    format: str | None = None  # the format the loader must find
    encodings: tuple[str, ...] = ()  # acceptable names of the encoding it must find
    error: str | None = None  # load_subtitles raises SubtitleError with this in its message
    # a real `dubber dub` run: {"exit": code, "failed": [texts], "skipped": [texts not spoken: past the video's end]}
    dub: dict[str, object] | None = None


def block(timing: str, *text: str, index: int | str | None = None) -> str:
    """Spell one SRT cue; index None leaves the index line out."""
    head = "" if index is None else f"{index}\n"
    return head + timing + "\n" + "".join(f"{line}\n" for line in text) + "\n"


def srt(*cues: tuple[str, str]) -> str:
    """Spell numbered SRT cues from (timing, text) pairs."""
    return "".join(block(timing, text, index=i) for i, (timing, text) in enumerate(cues, 1))


ASS_HEAD = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,1

"""
ASS_FORMAT = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"


def dialogue(start: str, end: str, text: str, name: str = "") -> str:
    return f"Dialogue: 0,{start},{end},Default,{name},0,0,0,,{text}\n"


FR = ["Ça va très bien, merci.", "Où est la gare, s'il vous plaît ?", "Je préfère le thé au café.",
      "Nous sommes arrivés hier soir."]
RU = ["Привет, как дела?", "Сегодня очень холодно.", "Пожалуйста, закройте дверь."]
ZH_S = ["你好，今天过得怎么样？", "谢谢，我很好，你呢？", "我们必须在太阳落山之前离开这里。"]
ZH_T = ["你好，今天過得怎麼樣？", "謝謝，我很好，你呢？", "我們必須在太陽下山之前離開這裡。"]
JA = ["こんにちは、今日はどうでしたか？", "ありがとう、元気です。", "日が暮れる前にここを出なければならない。"]


def numbered(lines: list[str]) -> tuple[str, list[tuple[int, int, str]]]:
    """An SRT of one cue a second, and the cues it must give."""
    text = srt(*((f"00:00:{i:02d},000 --> 00:00:{i:02d},900", line) for i, line in enumerate(lines, 1)))
    return text, [(i * 1000, i * 1000 + 900, line) for i, line in enumerate(lines, 1)]


def subtitle_cases() -> list[Case]:
    rng = random.Random(20240601)
    cases: list[Case] = []
    add = cases.append
    two = [(1000, 2000, "First line."), (3000, 4000, "Second line.")]

    # --- timing -------------------------------------------------------------------------------------------
    add(Case("srt-missing-index.srt", "timing", "cues without index lines",
             block("00:00:01,000 --> 00:00:02,000", "First line.") +
             block("00:00:03,000 --> 00:00:04,000", "Second line."), cues=two, format="srt"))
    add(Case("srt-dot-millis.srt", "timing", "dot before the milliseconds (WebVTT style) in an SRT",
             srt(("00:00:01.250 --> 00:00:02.500", "Dot one."), ("00:00:03.000 --> 00:00:04.125", "Dot two.")),
             cues=[(1250, 2500, "Dot one."), (3000, 4125, "Dot two.")], format="srt"))
    add(Case("srt-comma-5.srt", "timing", "',5' is half a second and ',75' three quarters: a decimal fraction",
             srt(("00:00:01,5 --> 00:00:02,75", "Half past one."), ("00:00:03,05 --> 00:00:04,000", "Fifty.")),
             cues=[(1500, 2750, "Half past one."), (3050, 4000, "Fifty.")], format="srt"))
    add(Case("srt-no-millis.srt", "timing", "timestamps without any fraction",
             srt(("00:00:01 --> 00:00:02", "No fraction."), ("0:00:03 --> 0:00:04", "Short hours.")),
             cues=[(1000, 2000, "No fraction."), (3000, 4000, "Short hours.")], format="srt"))
    add(Case("srt-four-digit-millis.srt", "timing", "four fraction digits, rounded to the millisecond",
             srt(("00:00:01,0004 --> 00:00:02,9996", "Four digits.")),
             cues=[(1000, 3000, "Four digits.")], format="srt"))
    add(Case("srt-over-24h.srt", "timing", "cues after 24 hours (and one after 100 hours) beside a valid one",
             srt(("00:00:00,300 --> 00:00:00,900", "Hello there."),
                 ("25:00:00,000 --> 25:00:01,000", "Late line."),
                 ("100:00:00,000 --> 100:00:01,000", "Very late line.")),
             cues=[(300, 900, "Hello there."), (90_000_000, 90_001_000, "Late line."),
                   (360_000_000, 360_001_000, "Very late line.")],
             diagnostics=[("25:00:00,000", "warning", "late-time"), ("100:00:00,000", "warning", "late-time")],
             format="srt", dub={"exit": 0, "failed": [], "skipped": ["Late line.", "Very late line."]}))
    add(Case("srt-reversed-times.srt", "timing", "a cue that ends before it starts",
             srt(("00:00:01,000 --> 00:00:02,000", "First line."), ("00:00:05,000 --> 00:00:04,000", "Backwards."),
                 ("00:00:06,000 --> 00:00:07,000", "Third line.")),
             cues=[(1000, 2000, "First line."), (6000, 7000, "Third line.")],
             diagnostics=[("00:00:05,000 -->", "error", "bad-duration")], format="srt"))
    add(Case("srt-overlap.srt", "timing", "a cue starting before the previous one ends: kept, with a warning",
             srt(("00:00:01,000 --> 00:00:03,000", "Long line."), ("00:00:02,000 --> 00:00:04,000", "Overlaps.")),
             cues=[(1000, 3000, "Long line."), (2000, 4000, "Overlaps.")],
             diagnostics=[("00:00:02,000 -->", "warning", "overlap")], format="srt"))
    add(Case("srt-duplicate-cue.srt", "timing", "the same cue twice: said together, spoken once",
             srt(("00:00:01,000 --> 00:00:02,000", "Again."), ("00:00:01,000 --> 00:00:02,000", "Again.")),
             cues=[(1000, 2000, "Again."), (1000, 2000, "Again.")],
             diagnostics=[("00:00:01,000@2", "warning", "duplicate")], format="srt"))
    add(Case("srt-zero-duration.srt", "timing", "a cue that ends when it starts",
             srt(("00:00:01,000 --> 00:00:01,000", "Zero."), ("00:00:02,000 --> 00:00:03,000", "Kept.")),
             cues=[(2000, 3000, "Kept.")], diagnostics=[("00:00:01,000 --> 00:00:01,000", "error", "bad-duration")],
             format="srt"))
    add(Case("srt-negative-times.srt", "timing", "negative timestamps (a shifted file): clamped to zero or dropped",
             srt(("-00:00:01,000 --> 00:00:01,500", "Starts early."),
                 ("-00:00:03,000 --> -00:00:02,000", "Before zero."),
                 ("00:00:02,000 --> 00:00:03,000", "Kept.")),
             cues=[(0, 1500, "Starts early."), (2000, 3000, "Kept.")],
             diagnostics=[("-00:00:01,000", "warning", "negative-time"), ("-00:00:03,000", "warning", "negative-time"),
                          ("-00:00:03,000", "error", "bad-duration")], format="srt"))
    add(Case("srt-minutes-over-59.srt", "timing", "minutes and seconds above 59",
             srt(("00:75:00,000 --> 00:75:01,000", "Bad minutes."), ("00:00:61,000 --> 00:00:62,000", "Bad seconds."),
                 ("00:00:01,000 --> 00:00:02,000", "Kept.")),
             cues=[(1000, 2000, "Kept.")],
             diagnostics=[("00:75:00", "error", "unparsable"), ("00:00:61", "error", "unparsable")], format="srt"))
    add(Case("srt-missing-end-time.srt", "timing", "a timing line with no end time",
             srt(("00:00:01,000 -->", "No end."), ("00:00:02,000 --> 00:00:03,000", "Kept.")),
             cues=[(2000, 3000, "Kept.")], diagnostics=[("00:00:01,000 -->", "error", "unparsable")], format="srt"))
    add(Case("srt-garbled-timestamp.srt", "timing", "letters inside a timestamp",
             srt(("00:0a:01,000 --> 00:00:02,000", "Garbled."), ("00:00:03,000 --> 00:00:04,000", "Kept.")),
             cues=[(3000, 4000, "Kept.")], diagnostics=[("00:0a:01", "error", "unparsable")], format="srt"))
    add(Case("srt-unsorted.srt", "timing", "cues out of order", srt(
        ("00:00:03,000 --> 00:00:04,000", "Second line."), ("00:00:01,000 --> 00:00:02,000", "First line.")),
        cues=[(3000, 4000, "Second line."), (1000, 2000, "First line.")], format="srt"))
    add(Case("srt-arrow-variants.srt", "timing", "a one-dash arrow, an em-dash arrow and a spaced arrow", srt(
        ("00:00:01,000 -> 00:00:02,000", "One dash."), ("00:00:03,000 \u2014> 00:00:04,000", "Em dash."),
        ("00:00:05,000 -- > 00:00:06,000", "Spaced.")),
        cues=[(1000, 2000, "One dash."), (3000, 4000, "Em dash."), (5000, 6000, "Spaced.")], format="srt"))
    add(Case("srt-position-coords.srt", "timing", "SRT position coordinates after the end time",
             srt(("00:00:01,000 --> 00:00:02,000  X1:100 X2:500 Y1:20 Y2:80", "Positioned.")),
             cues=[(1000, 2000, "Positioned.")], format="srt"))
    add(Case("vtt-ambiguous-fraction.vtt", "timing", "WebVTT fractions of one and two digits, read as decimals",
             "WEBVTT\n\n00:00:01.5 --> 00:00:02.25\nFraction.\n",
             cues=[(1500, 2250, "Fraction.")],
             diagnostics=[("00:00:01.5", "warning", "ambiguous-time"), ("00:00:01.5", "warning", "ambiguous-time")],
             format="vtt"))

    # --- structure ----------------------------------------------------------------------------------------
    add(Case("srt-no-blank-lines.srt", "structure", "no blank line between cues",
             "1\n00:00:01,000 --> 00:00:02,000\nFirst line.\n2\n00:00:03,000 --> 00:00:04,000\nSecond line.\n",
             cues=two, format="srt"))
    add(Case("srt-extra-blank-lines.srt", "structure", "blank lines inside a cue and many between cues",
             "\n\n1\n00:00:01,000 --> 00:00:02,000\nFirst part\n\nsecond part.\n\n\n\n\n"
             "2\n00:00:03,000 --> 00:00:04,000\nSecond line.\n\n\n",
             cues=[(1000, 2000, "First part second part."), (3000, 4000, "Second line.")], format="srt"))
    add(Case("srt-text-before-first-cue.srt", "structure", "a credit line before the first cue",
             "Subtitles by Someone\n\n" + srt(("00:00:01,000 --> 00:00:02,000", "First line."),
                                             ("00:00:03,000 --> 00:00:04,000", "Second line.")),
             cues=two, diagnostics=[("Subtitles by", "error", "unparsable")], format="srt"))
    add(Case("srt-index-without-timing.srt", "structure", "an index followed by text, its timing line lost",
             srt(("00:00:01,000 --> 00:00:02,000", "First line.")) + "2\nLost timing.\n\n" +
             block("00:00:03,000 --> 00:00:04,000", "Second line.", index=3),
             cues=two, diagnostics=[("Lost timing.", "error", "unparsable")], format="srt"))
    add(Case("srt-huge-index.srt", "structure", "index numbers with 30 digits",
             block("00:00:01,000 --> 00:00:02,000", "First line.", index="9" * 30) +
             block("00:00:03,000 --> 00:00:04,000", "Second line.", index="1" + "0" * 29),
             cues=two, format="srt"))
    add(Case("srt-truncated.srt", "structure", "the file ends in the middle of a timing line (cut short)",
             srt(("00:00:00,300 --> 00:00:00,900", "Hello there."), ("00:00:02,000 --> 00:00:02,700",
                                                                      "Welcome back.")) + "3\n00:00:02,9",
             cues=[(300, 900, "Hello there."), (2000, 2700, "Welcome back.")],
             diagnostics=[("00:00:02,9", "error", "unparsable")], format="srt", dub={"exit": 1, "failed": []}))
    add(Case("srt-timing-without-text.srt", "structure", "the last cue has its timing line and nothing after it",
             srt(("00:00:01,000 --> 00:00:02,000", "First line.")) + "2\n00:00:03,000 --> 00:00:04,000\n",
             cues=[(1000, 2000, "First line.")], diagnostics=[("00:00:03,000", "warning", "empty-text")], format="srt"))
    add(Case("srt-mixed-line-endings.srt", "structure", "CRLF, LF and lone CR line endings in one file",
             "1\r\n00:00:01,000 --> 00:00:02,000\r\nFirst line.\n\n"
             "2\r00:00:03,000 --> 00:00:04,000\rSecond\r\nline.\r\n",
             cues=[(1000, 2000, "First line."), (3000, 4000, "Second line.")], format="srt"))
    add(Case("srt-empty.srt", "structure", "an empty file", "", diagnostics=[(None, "error", "no-cues")]))
    add(Case("srt-whitespace-only.srt", "structure", "only blank lines, spaces and tabs", "\n \n\t\n\r\n",
             diagnostics=[(None, "error", "no-cues")]))

    # --- text ---------------------------------------------------------------------------------------------
    add(Case("srt-long-line.srt", "text", "a 10,000-character line beside a valid cue",
             srt(("00:00:01,000 --> 00:00:02,000", " ".join(["word"] * 2000) + "."),
                 ("00:00:03,000 --> 00:00:04,000", "Second line.")),
             cues=[(3000, 4000, "Second line.")], diagnostics=[("00:00:01,000", "error", "too-long")], format="srt"))
    add(Case("srt-empty-text.srt", "text", "cues whose text is blank or only tags",
             "1\n00:00:01,000 --> 00:00:02,000\n \n\n2\n00:00:02,500 --> 00:00:02,900\n<i></i>\n\n" +
             block("00:00:03,000 --> 00:00:04,000", "Kept.", index=3),
             cues=[(3000, 4000, "Kept.")],
             diagnostics=[("00:00:01,000", "warning", "empty-text"), ("00:00:02,500", "warning", "empty-text")],
             format="srt"))
    add(Case("srt-html-tags.srt", "text", "HTML tags, a font colour, an unclosed tag and entities kept literal",
             srt(("00:00:01,000 --> 00:00:02,000", "<i>Italic</i> and <b>bold</b>."),
                 ("00:00:03,000 --> 00:00:04,000", '<font color="#ff0000">Red</font> <u>under</u>'),
                 ("00:00:05,000 --> 00:00:06,000", "<i>Never closed.")),
             cues=[(1000, 2000, "Italic and bold."), (3000, 4000, "Red under"), (5000, 6000, "Never closed.")],
             format="srt"))
    add(Case("srt-ass-tags.srt", "text", "ASS override tags inside an SRT ({\\an8}, {\\i1})",
             srt(("00:00:01,000 --> 00:00:02,000", "{\\an8}Top of the screen."),
                 ("00:00:03,000 --> 00:00:04,000", "{\\i1}Slanted{\\i0} words.")),
             cues=[(1000, 2000, "Top of the screen."), (3000, 4000, "Slanted words.")], format="srt"))
    add(Case("srt-control-chars.srt", "text", "bell, escape and other control characters",
             srt(("00:00:01,000 --> 00:00:02,000", "Bell\x07 ring\x0e."),
                 ("00:00:03,000 --> 00:00:04,000", "\x07\x1b")),
             cues=[(1000, 2000, "Bell ring.")], diagnostics=[("00:00:03,000", "warning", "empty-text")],
             format="srt"))
    add(Case("srt-no-words.srt", "text", "music notes and dots only, and a sung line: nothing to speak",
             srt(("00:00:01,000 --> 00:00:02,000", "\u266a\u266a"), ("00:00:03,000 --> 00:00:04,000", "..."),
                 ("00:00:05,000 --> 00:00:06,000", "\u266a La la la \u266a")),
             cues=[(5000, 6000, "\u266a La la la \u266a")],
             diagnostics=[("00:00:01,000", "warning", "no-words"), ("00:00:03,000", "warning", "no-words"),
                          ("00:00:05,000", "warning", "non-speech"), (None, "error", "no-cues")],
             format="srt"))
    add(Case("srt-nul-bytes.srt", "text", "stray NUL bytes inside an otherwise good file",
             srt(("00:00:01,000 --> 00:00:02,000", "First\x00 line."),
                 ("00:00:03,000 --> 00:00:04,000", "Second line.")),
             cues=two, diagnostics=[("First", "warning", "nul")], format="srt"))
    add(Case("srt-brace-flood.srt", "text", "5,000 unclosed braces on one line (a regular-expression trap)",
             srt(("00:00:01,000 --> 00:00:02,000", "{" * 5000), ("00:00:03,000 --> 00:00:04,000", "Second line.")),
             cues=[(3000, 4000, "Second line.")], diagnostics=[("00:00:01,000", "warning", "no-words")], format="srt"))
    add(Case("srt-mixed-valid-invalid.srt", "text", "a dub's worth of good cues among broken ones",
             "Made with SomeTool\n\n" + srt(
                 ("00:00:00,300 --> 00:00:00,900", "<i>Hello there.</i>"),
                 ("00:00:01,500 --> 00:00:01,000", "Backwards."),
                 ("00:00:01,200 --> 00:00:01,200", "Zero."),
                 ("00:00:01,300 --> 00:00:01,800", "\u266a\u266a"),
                 ("00:00:0x,000 --> 00:00:02,000", "Garbled."),
                 ("00:00:02,000 --> 00:00:02,700", "Welcome back.")),
             cues=[(300, 900, "Hello there."), (2000, 2700, "Welcome back.")],
             diagnostics=[("Made with", "error", "unparsable"), ("00:00:01,500", "error", "bad-duration"),
                          ("00:00:01,200", "error", "bad-duration"), ("00:00:01,300", "warning", "no-words"),
                          ("00:00:0x", "error", "unparsable")],
             format="srt", dub={"exit": 1, "failed": []}))

    # --- ASS / SSA ----------------------------------------------------------------------------------------
    add(Case("ass-override-tags.ass", "ass", "override tags, \\N breaks, hard spaces and a vector drawing",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT +
             dialogue("0:00:01.00", "0:00:02.00", "{\\pos(10,10)\\fad(100,100)}Moved{\\i1} and{\\i0}\\Nbroken.") +
             dialogue("0:00:03.00", "0:00:04.00", "Hard\\hspace.", name="Anna") +
             dialogue("0:00:05.00", "0:00:06.00", "{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}"),
             cues=[(1000, 2000, "Moved and broken."), (3000, 4000, "Hard space.")],
             diagnostics=[("Moved", "warning", "non-speech")], format="ass"))  # \pos: a sign, not spoken
    add(Case("ass-no-format-line.ass", "ass", "an [Events] section without its Format line",
             ASS_HEAD + "[Events]\n" + dialogue("0:00:00.30", "0:00:00.90", "{\\b1}Hello{\\b0} there.") +
             dialogue("0:00:02.00", "0:00:02.70", "Welcome back."),
             cues=[(300, 900, "Hello there."), (2000, 2700, "Welcome back.")], format="ass",
             dub={"exit": 0, "failed": []}))
    add(Case("ass-override-flood.ass", "ass", "6,000 override blocks before two words, then 3,000 drawing "
             "tags (pysubs2's tag parser is quadratic in them)",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT +
             dialogue("0:00:01.00", "0:00:02.00", "{\\i1}{\\i0}" * 3000 + "Kept anyway.") +
             dialogue("0:00:03.00", "0:00:04.00", "{\\p1}" * 3000),
             cues=[(1000, 2000, "Kept anyway.")], format="ass"))
    add(Case("ass-no-script-info.ass", "ass", "only an [Events] section: no [Script Info], no styles",
             "[Events]\n" + ASS_FORMAT + dialogue("0:00:01.00", "0:00:02.00", "First line.") +
             dialogue("0:00:03.00", "0:00:04.00", "Second line."), cues=two, format="ass"))
    add(Case("ass-script-info-only.ass", "ass", "a [Script Info] section and nothing else",
             "[Script Info]\nTitle: Nothing here\nScriptType: v4.00+\n", format="ass",
             diagnostics=[(None, "error", "no-cues")]))
    add(Case("ass-bad-time.ass", "ass", "a Dialogue line with a garbled time",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT + dialogue("0:00:xx.00", "0:00:02.00", "Garbled.") +
             dialogue("0:00:03.00", "0:00:04.00", "Kept."),
             cues=[(3000, 4000, "Kept.")], diagnostics=[("0:00:xx.00", "error", "unparsable")], format="ass"))
    add(Case("ass-too-few-fields.ass", "ass", "a Dialogue line cut after five fields",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT + "Dialogue: 0,0:00:01.00,0:00:02.00,Default,Bob\n" +
             dialogue("0:00:03.00", "0:00:04.00", "Kept."),
             cues=[(3000, 4000, "Kept.")], diagnostics=[("Default,Bob", "error", "unparsable")], format="ass"))
    add(Case("ass-bad-format-line.ass", "ass", "a Format line without Text: the standard one is assumed",
             ASS_HEAD + "[Events]\nFormat: Layer, Start, End, Style\n" + dialogue("0:00:01.00", "0:00:02.00", "Kept."),
             cues=[(1000, 2000, "Kept.")], diagnostics=[("Format: Layer, Start, End, Style", "warning",
                                                         "bad-format-line")], format="ass"))
    add(Case("ass-negative-time.ass", "ass", "a negative start time",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT + dialogue("-0:00:01.00", "0:00:01.50", "Starts early."),
             cues=[(0, 1500, "Starts early.")], diagnostics=[("-0:00:01.00", "warning", "negative-time")],
             format="ass"))
    add(Case("ass-comments-only.ass", "ass", "only Comment events: nothing to speak",
             ASS_HEAD + "[Events]\n" + ASS_FORMAT + "Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,A note.\n",
             diagnostics=[(None, "error", "no-cues")], format="ass"))
    add(Case("ssa-v4.ssa", "ass", "SubStation Alpha v4 with its Marked field",
             "[Script Info]\nScriptType: v4.00\n\n[Events]\n"
             "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
             "Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,Narrator,0000,0000,0000,,Once upon a time.\n",
             cues=[(1000, 2000, "Once upon a time.")], format="ssa"))

    # --- WebVTT -------------------------------------------------------------------------------------------
    add(Case("vtt-no-header.vtt", "vtt", "a WebVTT file without its WEBVTT line, short timestamps",
             "00:00:01.000 --> 00:00:02.000\nFirst line.\n\n00:03.000 --> 00:04.000\nSecond line.\n",
             cues=two, format="vtt"))
    add(Case("vtt-blocks.vtt", "vtt", "NOTE, STYLE and REGION blocks, cue ids and settings, voices and entities",
             "WEBVTT - a title\n\nNOTE written by hand\n\nSTYLE\n::cue { color: red }\n\nREGION\nid:r1\n\n"
             "intro\n00:00:01.000 --> 00:00:02.000 align:start position:10%\n<v Bob>Fish &amp; chips.\n\n"
             "00:00:03.000 --> 00:00:04.000\n<c.loud>Second</c> <00:00:03.500>line.\n",
             cues=[(1000, 2000, "Fish & chips."), (3000, 4000, "Second line.")], format="vtt"))
    add(Case("vtt-block-without-timing.vtt", "vtt", "a cue block whose timing line is missing",
             "WEBVTT\n\nid-1\nNo timing here.\n\n00:00:03.000 --> 00:00:04.000\nKept.\n",
             cues=[(3000, 4000, "Kept.")], diagnostics=[("id-1", "error", "unparsable")], format="vtt"))

    # --- encodings ----------------------------------------------------------------------------------------
    english, english_cues = numbered(["Hello there.", "How are you?", "Fine, thanks."])
    for name, encoding, fmt in [("utf8", "utf-8-sig", "srt"), ("utf16le", "utf-16-le", "srt"),
                                ("utf16be", "utf-16-be", "vtt"), ("utf32le", "utf-32-le", "srt"),
                                ("utf32be", "utf-32-be", "srt")]:
        bom = {"utf-8-sig": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
               "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}[encoding]
        text = english if fmt == "srt" else "WEBVTT\n\n" + english.replace(",000 -->", ".000 -->").replace(
            ",900\n", ".900\n")
        add(Case(f"enc-bom-{name}.{fmt}", "encoding", f"{encoding.upper()} with a byte-order mark",
                 text, bom + text.encode(encoding), cues=english_cues, format=fmt, encodings=(encoding,)))
    add(Case("enc-utf8-double-bom.srt", "encoding", "two UTF-8 byte-order marks (saved twice by an editor)",
             english, codecs.BOM_UTF8 * 2 + english.encode(), cues=english_cues, format="srt",
             encodings=("utf-8-sig",)))
    add(Case("enc-utf16le-no-bom.srt", "encoding", "UTF-16 little-endian without a byte-order mark",
             english, english.encode("utf-16-le"), cues=english_cues, format="srt", encodings=("utf-16-le",)))
    add(Case("enc-utf16be-no-bom.srt", "encoding", "UTF-16 big-endian without a byte-order mark",
             english, english.encode("utf-16-be"), cues=english_cues, format="srt", encodings=("utf-16-be",)))
    for name, lines, encoding, names in [
            ("gbk", ZH_S, "gbk", ("gbk", "gb2312", "gb18030")),
            ("big5", ZH_T, "big5", ("big5", "cp950", "big5hkscs")),
            ("shift-jis", JA, "shift_jis", ("shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213")),
            ("cp1251", RU, "cp1251", ("cp1251",)),
            ("latin1", FR, "latin-1", ("cp1252", "latin_1", "iso8859_15"))]:
        text, cues = numbered(lines)
        add(Case(f"enc-{name}.srt", "encoding", f"{encoding} without any mark (legacy encoding)",
                 text, text.encode(encoding), cues=cues, format="srt", encodings=names))
    short = srt(("00:00:00,300 --> 00:00:01,500", "Crème brûlée for two."))
    add(Case("enc-latin1-short.srt", "encoding", "one short French line in latin-1 (too little text for statistics)",
             short, short.encode("latin-1"),
             cues=[(300, 1500, "Crème brûlée for two.")], format="srt", encodings=("cp1252", "latin_1"),
             dub={"exit": 0, "failed": []}))
    mixed = srt(("00:00:01,000 --> 00:00:02,000", "Naïve café — “quoted”."),
                ("00:00:03,000 --> 00:00:04,000", "Déjà vu."),
                ("00:00:05,000 --> 00:00:06,000", "Crème brûlée."))
    cut = mixed.index("Crème")
    add(Case("enc-mixed-utf8-latin1.srt", "encoding", "UTF-8 with one line pasted in latin-1",
             mixed, mixed[:cut].encode() + mixed[cut:].encode("latin-1"),
             cues=[(1000, 2000, "Naïve café — “quoted”."), (3000, 4000, "Déjà vu."), (5000, 6000, "Crème brûlée.")],
             diagnostics=[("Crème", "warning", "encoding")], format="srt", encodings=("utf-8",)))
    russian, russian_cues = numbered(RU)
    add(Case("enc-truncated-utf8.srt", "encoding", "UTF-8 cut in the middle of a two-byte character",
             russian, russian.encode()[:-4], cues=russian_cues[:-1] + [(3000, 3900, "Пожалуйста, закройте двер")],
             diagnostics=[("закройте", "warning", "truncated")], format="srt", encodings=("utf-8",)))
    add(Case("enc-truncated-utf16.srt", "encoding", "UTF-16 cut in the middle of its last character",
             english, codecs.BOM_UTF16_LE + english.encode("utf-16-le")[:-5],
             cues=english_cues[:-1] + [(3000, 3900, "Fine, thanks")],
             diagnostics=[("Fine, thanks", "warning", "truncated")], format="srt",
             encodings=("utf-16-le",)))

    # --- not subtitles at all ------------------------------------------------------------------------------
    add(Case("junk-random-bytes.srt", "junk", "4 KB of random bytes", "",
             bytes(rng.randrange(256) for _ in range(4096)), error="cannot tell the text encoding"))
    add(Case("junk-png.srt", "junk", "a PNG image named .srt", "",
             b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02" + bytes(300),
             error="binary"))
    add(Case("junk-gzip.srt", "junk", "a gzip-compressed SRT", "", gzip.compress(english.encode(), mtime=0),
             error="cannot tell the text encoding"))
    add(Case("junk-letter.srt", "junk", "plain prose with no timings",
             "Dear friend,\nthis is just a letter.\nNothing here is timed.\n", error="not a subtitle file"))
    add(Case("junk-utf16-bad-surrogate.srt", "junk", "a UTF-16 byte-order mark over bytes that are not UTF-16", "",
             codecs.BOM_UTF16_LE + b"1\x00\n\x00\x00\xdc\x00\xdc" + "00:00:01,000".encode("utf-16-le"),
             error="byte-order mark"))
    return cases


@dataclass
class MediaCase:
    """One media file and what `dubber dub` must make of it."""

    file: str
    what: str
    exit: int
    message: str = ""  # a piece of the error message ("" when it succeeds)
    dubbed: bool = False  # the subtitles' lines are in the report


MEDIA_SUBTITLES = "media-lines.srt"
MEDIA_LINES = [(300, 900, "Hello there."), (2000, 2700, "Welcome back.")]


def media_cases() -> list[MediaCase]:
    return [
        MediaCase("media-ok.mp4", "a good 3 s video with audio (the others are made from it)", 0, dubbed=True),
        MediaCase("media-no-audio.mp4", "a video with no audio stream", 0, dubbed=True),
        MediaCase("media-audio-only.m4a", "an audio-only file given as the video", 2, "no video stream"),
        MediaCase("media-truncated.mp4", "the first half of an MP4 whose index (moov) is at the end", 2,
                  "cannot read media file"),
        MediaCase("media-truncated-faststart.mp4", "the first half of an MP4 whose index is at the start: "
                  "the second half of its audio and picture are missing", 0, dubbed=True),
        MediaCase("media-garbled.mp4", "an MP4 whose middle third is overwritten with random bytes", 0, dubbed=True),
        MediaCase("media-garbled-header.mp4", "an MP4 whose first 64 bytes are random", 2, "cannot read media file"),
        MediaCase("media-empty.mp4", "an empty file named .mp4", 2, "cannot read media file"),
        MediaCase("media-text.mp4", "a subtitle file named .mp4 (ffmpeg reads it as a subtitle stream)", 2,
                  "no video stream"),
    ]


def write_media(out: Path) -> None:
    """Make the media files with dubber's own helpers and the bundled ffmpeg."""
    from dubber.audio import media

    rate = 24000
    t = np.arange(rate * MEDIA_MS // 1000) / rate
    tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    ok, faststart = out / "media-ok.mp4", out / ".faststart.mp4"
    media.make_test_video(ok, MEDIA_MS, tone, rate, size=MEDIA_SIZE, fps=10)
    media.make_test_video(out / "media-no-audio.mp4", MEDIA_MS, None, rate, size=MEDIA_SIZE, fps=10)
    ffmpeg = media.ffmpeg_exe()
    quiet = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    subprocess.run([*quiet, "-f", "lavfi", "-i", "sine=frequency=300:duration=2:sample_rate=24000",
                    "-c:a", "aac", "-b:a", "32k", "-map_metadata", "-1", "-fflags", "+bitexact",
                    str(out / "media-audio-only.m4a")], check=True)
    subprocess.run([*quiet, "-i", str(ok), "-c", "copy", "-movflags", "+faststart", str(faststart)], check=True)
    whole, fast = ok.read_bytes(), faststart.read_bytes()
    faststart.unlink()
    rng = random.Random(7)
    (out / "media-truncated.mp4").write_bytes(whole[:len(whole) // 2])
    (out / "media-truncated-faststart.mp4").write_bytes(fast[:len(fast) // 2])
    garbled = bytearray(fast)
    for i in range(len(garbled) // 3, 2 * len(garbled) // 3):
        garbled[i] = rng.randrange(256)
    (out / "media-garbled.mp4").write_bytes(bytes(garbled))
    header = bytearray(whole)
    header[:64] = bytes(rng.randrange(256) for _ in range(64))
    (out / "media-garbled-header.mp4").write_bytes(bytes(header))
    (out / "media-empty.mp4").write_bytes(b"")
    lines = srt(*((f"00:00:{s // 1000:02d},{s % 1000:03d} --> 00:00:{e // 1000:02d},{e % 1000:03d}", text)
                  for s, e, text in MEDIA_LINES))
    (out / MEDIA_SUBTITLES).write_text(lines, encoding="utf-8", newline="\n")
    (out / "media-text.mp4").write_text(lines, encoding="utf-8", newline="\n")


def line_of(text: str, marker: str | None) -> int | None:
    """The 1-based line holding `marker` ("marker@n": its n-th such line), lines split as dubber splits them."""
    if marker is None:
        return None
    marker, _, nth = marker.partition("@")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = [n for n, line in enumerate(lines, 1) if marker in line]
    if len(found) < int(nth or 1):
        raise ValueError(f"marker {marker!r} is in {len(found)} lines")
    return found[int(nth or 1) - 1]


def manifest_entry(case: Case) -> dict[str, object]:
    return {"file": case.file, "kind": "subtitle", "category": case.category, "what": case.what,
            "format": case.format, "encodings": list(case.encodings),
            "cues": [list(cue) for cue in case.cues],
            "diagnostics": [[line_of(case.text, marker), severity, code]
                            for marker, severity, code in case.diagnostics],
            "error": case.error,
            "check_exit": 2 if case.error else 1 if any(sev == "error" for _, sev, _ in case.diagnostics) else 0,
            "dub": case.dub}


def readme(entries: list[dict[str, object]], media: list[MediaCase]) -> str:
    out = ["# Bad-input corpus", "",
           "Written by `tests/data/make_bad_corpus.py` (run it again after changing a case; it is deterministic)",
           "and checked by `tests/dubber/pipeline/test_bad_input.py`. `manifest.json` holds the same table for the tests.",
           "", "Subtitle files: *cues kept* are the cues read, the lines that must still be dubbed and those listed",
           "as not spoken (a `non-speech` or `duplicate` warning names each); *diagnostics* are",
           "`line severity code` (each printed as `file:line: severity: message`); *check* is the exit code of",
           "`dubber check` (0 clean, 1 some cue dropped, 2 unreadable).", "",
           "| file | what | cues kept | diagnostics | check | dubbed |", "|---|---|---|---|---|---|"]
    for e in entries:
        diags = "; ".join(f"{line or '-'} {sev} {code}" for line, sev, code in e["diagnostics"])
        if e["error"]:
            diags = f"SubtitleError ({e['error']})"
        dub = f"exit {e['dub']['exit']}" if e["dub"] else ""
        out.append(f"| `{e['file']}` | {e['what']} | {len(e['cues'])} | {diags} | {e['check_exit']} | {dub} |")
    out += ["", f"Media files (dubbed with `{MEDIA_SUBTITLES}`, {len(MEDIA_LINES)} cues, `--mix replace`):", "",
            "| file | what | dub exit | message |", "|---|---|---|---|"]
    for m in media:
        out.append(f"| `{m.file}` | {m.what} | {m.exit} | {m.message or 'lines dubbed'} |")
    out += ["", "Not files here, made at test time: a missing video, missing subtitles, a folder given as",
            "subtitles, a read-only output folder and a full disk (see the test's docstrings).", ""]
    return "\n".join(out)


def write_corpus(out: Path = OUT) -> list[Path]:
    """Write every corpus file, the manifest and the README into `out` (emptied first); return the files."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file():
            old.unlink()
    entries = []
    for case in subtitle_cases():
        (out / case.file).write_bytes(case.text.encode("utf-8") if case.data is None else case.data)
        entries.append(manifest_entry(case))
    media = media_cases()
    write_media(out)
    manifest = {"subtitles": entries, "media_subtitles": MEDIA_SUBTITLES,
                "media_lines": [list(line) for line in MEDIA_LINES], "media_ms": MEDIA_MS,
                "media": [vars(m) for m in media]}
    (out / "manifest.json").write_bytes((json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode())
    (out / "README.md").write_bytes(readme(entries, media).encode())
    return sorted(p for p in out.iterdir() if p.is_file())


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"wrote {len(written)} files, {sum(p.stat().st_size for p in written)} bytes")
