"""Shortening a line that cannot fit: what goes first, never the whole line, and how much more must go."""

from __future__ import annotations

import pytest

from dubber.text.shorten import shorten, words, words_to_cut


@pytest.mark.parametrize(("line", "ratio", "expected", "cut"), [
    # Fillers set off by commas go first among the spoken words; a hedge before a word only when still needed.
    ("Well, I mean, I really don't know what you're talking about.", 1.3,
     "I really don't know what you're talking about.", 3),
    ("Well, I mean, I really don't know what you're talking about.", 1.6,
     "I don't know what you're talking about.", 4),
    # Hesitations and a word said twice.
    ("Uh, we we need to get out of here before they come back.", 1.15,
     "We need to get out of here before they come back.", 2),
    # An aside in brackets or between dashes.
    ("He left (without a word, mind you) and never came back.", 1.3, "He left and never came back.", 5),
    ("The thing is — and I hate to say it — we're late.", 1.4, "The thing is we're late.", 6),
    # "No, no, no" is said once; a leading "So" and "But" go, the next word takes the capital.
    ("No, no, no. But that's not what I said.", 1.5, "No. That's not what I said.", 3),
    ("So what do you think we should actually do about it?", 1.3, "What do you think we should do about it?", 2),
])
def test_the_rules_cut_what_carries_least_until_enough_is_gone(line, ratio, expected, cut):
    proposal = shorten(line, "en", ratio)
    assert proposal.text == expected and proposal.cut == cut == words(line) - words(expected)


@pytest.mark.parametrize("line", ["What kind of man would do that?", "Do you know where he went?", "I like it.",
                                  "I know that that is wrong.", "Really?"])
def test_words_that_carry_meaning_stay(line):
    proposal = shorten(line, "en", 1.5)
    assert proposal.text == line and proposal.cut == 0 and proposal.more > 0
    assert proposal.reason == "nothing to cut by rule"


def test_a_line_is_never_emptied():
    proposal = shorten("Uh, um.", "en", 3.0)
    assert proposal.text == "Uh, um." and proposal.cut == 0


def test_it_says_how_many_more_words_must_go():
    line = "You know, we should go now before it gets dark outside."  # 11 words
    proposal = shorten(line, "en", 2.0)
    assert proposal.text == "We should go now before it gets dark outside." and proposal.cut == 2
    assert proposal.more == words_to_cut(11, 2.0) - 2 == 4


def test_how_many_words_must_go():
    assert words_to_cut(10, 1.0) == 0 and words_to_cut(10, 1.2, fastest=1.25) == 0
    assert words_to_cut(10, 2.0) == 5 and words_to_cut(10, 1.6, fastest=1.25) == 3  # 10 * (1 - 1.25 / 1.6) = 2.2
    assert words_to_cut(4, 50.0) == 4


def test_a_line_that_fits_or_in_another_language_is_left_as_it_is():
    assert shorten("Well, you know, fine.", "en", 1.2, fastest=1.25).reason == "it fits without cutting a word"
    french = shorten("Eh bien, je ne sais pas ce que tu dis.", "fr", 1.5)
    assert french.text == "Eh bien, je ne sais pas ce que tu dis." and french.cut == 0 and french.more == 4
    assert "English" in french.reason
