"""Fuzz `load_subtitles`: whatever the bytes, it returns cues that can be dubbed or raises SubtitleError.

Inputs are random bytes, random text in random encodings, and valid SRT, ASS and WebVTT files mutated
(insertions of text and of format tokens, deletions, swapped timestamps, line endings, encodings, a cut
tail). The run is derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dubber.errors import SubtitleError
from dubber.subtitles.load import MAX_CUE_CHARS, SubtitleLoad, load_subtitles

EXAMPLES = 10_000

SEEDS = {
    "srt": "1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i> there.\n\n"
           "2\n00:00:03,000 --> 00:00:04,000\nANNA: Second line\nwraps here.\n\n"
           "3\n00:00:04,500 --> 00:00:05,250\n{\\an8}Third.\n",
    "ass": "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\n"
           "Style: Default,Arial,20\n\n[Events]\n"
           "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
           "Dialogue: 0,0:00:01.00,0:00:02.50,Default,Bob,0,0,0,,{\\i1}Hello{\\i0}\\Nthere.\n"
           "Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,a note\n"
           "Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\p1}m 0 0 l 1 1{\\p0}Second.\n",
    "vtt": "WEBVTT\n\nNOTE hand made\n\nid-1\n00:00:01.000 --> 00:00:02.500 align:start\n<v Bob>Hello &amp; bye.\n\n"
           "00:03.000 --> 00:04.000\n<c.x>Second</c> line.\n",
}
TOKENS = ["-->", " --> ", "\n", "\n\n", "\r", ",5", ".5", ":", "99:99:99,999", "-00:00:01,000", "100:00:00,000",
          "00:00:01,000 --> 00:00:00,500", "0:00:01.00", "[Events]", "[Script Info]", "Format: Text",
          "Format: Start, End, Text", "Dialogue: ", "Dialogue: 0,0:00:01.00,0:00:02.00,,,0,0,0,,x", "WEBVTT",
          "NOTE", "STYLE", "{", "}", "{\\p1}", "\\N", "<i>", "</i>", "<v ", "&amp;", "\x00", "\ufeff", "\u200b",
          "\u266a", "999999999999999999999999", "ANNA: ", "- ", "\x07", "\t", "日本語", "Привет", "é"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "gbk", "big5",
             "shift_jis", "cp1251", "latin-1", "cp1252"]
EXTENSIONS = [".srt", ".ass", ".ssa", ".vtt", ".txt", ""]
TIMESTAMP = re.compile(r"-?\d+:\d+(?::\d+)?(?:[.,]\d+)?")


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


@st.composite
def random_bytes(draw) -> tuple[str, bytes]:
    return "bytes", draw(st.binary(max_size=1500))


@st.composite
def random_text(draw) -> tuple[str, bytes]:
    text = draw(st.text(st.characters(codec="utf-8"), max_size=600) |
                st.text(st.sampled_from("0123456789:,.-> \n\r[]{}\\<>WEBVTTDialogue"), max_size=600))
    return "text", encode(text, draw(st.sampled_from(ENCODINGS)))


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A valid file with a few edits, in some encoding, maybe cut short."""
    text = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["insert", "token", "delete", "swap", "line", "digit", "endings"]))
        at = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:at] + draw(st.text(max_size=12)) + text[at:]
        elif op == "token":
            text = text[:at] + draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 3)) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif op == "swap":
            stamps = list(TIMESTAMP.finditer(text))
            if len(stamps) >= 2:
                i, j = sorted(draw(st.lists(st.integers(0, len(stamps) - 1), min_size=2, max_size=2, unique=True)))
                a, b = stamps[i], stamps[j]
                text = text[:a.start()] + b.group() + text[a.end():b.start()] + a.group() + text[b.end():]
        elif op == "line":
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines[k:k + 1] = draw(st.sampled_from([[], [lines[k]] * 2, [lines[k] * draw(st.integers(2, 300))]]))
            text = "\n".join(lines)
        elif op == "digit":
            digits = [m.start() for m in re.finditer(r"\d", text)]
            if digits:
                k = draw(st.sampled_from(digits))
                text = text[:k] + draw(st.sampled_from("0123456789-:.,aZ ")) + text[k + 1:]
        else:
            text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r", "\n\r", "\n\n"])), draw(st.integers(-1, 5)))
    encoding = draw(st.sampled_from(ENCODINGS))
    data = encode(text, encoding)
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]  # a truncated download
    if encoding.startswith("utf-16") and draw(st.booleans()):
        data = codecs.BOM_UTF8 + data  # a wrong byte-order mark
    return "mutated", data


def check_load(load: SubtitleLoad, path: str, size: int) -> None:
    """What the pipeline relies on: dubbable cues, numbered, and diagnostics naming the file."""
    assert isinstance(load, SubtitleLoad) and load.path == path
    assert load.format in ("srt", "ass", "ssa", "vtt")
    assert [cue.index for cue in load.cues] == list(range(1, len(load.cues) + 1))
    for cue in load.cues:
        assert isinstance(cue.start_ms, int) and isinstance(cue.end_ms, int)
        assert 0 <= cue.start_ms < cue.end_ms
        assert cue.text and cue.text == cue.text.strip() and any(ch.isalnum() for ch in cue.text)
        assert len(cue.text) <= MAX_CUE_CHARS and "\x00" not in cue.text
        assert cue.line is None or 1 <= cue.line <= size + 1
    for diag in load.diagnostics:
        assert diag.path == path and diag.severity in ("error", "warning") and diag.message
        assert diag.line is None or 1 <= diag.line <= size + 1
    if not load.cues:
        assert any(d.code == "no-cues" for d in load.errors())


@pytest.mark.slow
def test_load_subtitles_returns_dubbable_cues_or_raises_subtitle_error(tmp_path):
    kinds: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=random_bytes() | random_text() | mutated(), extension=st.sampled_from(EXTENSIONS))
    def load_any(case: tuple[str, bytes], extension: str) -> None:
        kind, data = case
        kinds[kind] += 1
        path = tmp_path / f"fuzz{extension}"
        path.write_bytes(data)
        try:
            load = load_subtitles(path)
        except SubtitleError as exc:  # the only exception allowed, naming the file
            assert str(path) in str(exc) and exc.path == str(path)
            return
        check_load(load, str(path), len(data))

    load_any()
    assert sum(kinds.values()) >= EXAMPLES
    assert min(kinds[k] for k in ("bytes", "text", "mutated")) >= EXAMPLES // 10
