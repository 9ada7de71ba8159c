"""Mojibake mended line by line, and nothing else about the text changed."""

from __future__ import annotations

import pytest

from dubber.subtitles.encoding import repair_mojibake


def mend(*lines):
    notes = []
    return repair_mojibake(list(lines), lambda line, code, message: notes.append((line, code, message))), notes


@pytest.mark.parametrize("bad, good", [
    ("Well \u00e2\u20ac\u201d then.", "Well \u2014 then."),  # '—' as UTF-8 read as cp1252
    ("Caf\u00c3\u00a9 au lait", "Caf\u00e9 au lait"),
    ("\u00c2\u00bfQu\u00c3\u00a9?", "\u00bfQu\u00e9?"),
    ("\u00e2\u2122\u00aa La la \u00e2\u2122\u00aa", "\u266a La la \u266a"),
])
def test_mojibake_is_mended_and_named_by_line(bad, good):
    mended, notes = mend("plain", bad)
    assert mended == ["plain", good]
    [(line, code, message)] = notes
    assert (line, code) == (2, "mojibake") and repr(bad[:8]).strip("'") in message and "->" in message


@pytest.mark.parametrize("text", [
    "Na\u00efve caf\u00e9 \u2014 \u201cquoted\u201d.",  # curly quotes stay curly
    "\uff26\uff55\uff4c\uff4c width",  # full-width letters stay full-width
    "Привет, как дела?",
    "你好，今天过得怎么样？",
    "こんにちは、今日はどうでしたか？",
    "S\u00c3O PAULO",
    "Cr\u00e8me br\u00fbl\u00e9e for two.",
    "\ufb01ne ligature",
])
def test_good_text_is_left_alone(text):
    assert mend(text) == ([text], [])


def test_a_long_line_shows_only_the_change():
    bad = "A very long line of dialogue " * 3 + "caf\u00c3\u00a9" + " and then much more talk" * 3
    _, [(_, _, message)] = mend(bad)
    assert "caf\u00c3\u00a9" in message and "caf\u00e9" in message and len(message) < 120
