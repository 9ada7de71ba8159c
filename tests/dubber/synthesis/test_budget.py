"""A line's budget: its length as spoken, and its estimated natural length against its slot."""

from __future__ import annotations

import pytest

from dubber.errors import OverBudget, UsageError
from dubber.plugin.engine import SynthesisRequest
from dubber.synthesis.budget import (
    LIMIT_SPEECH,
    LIMIT_TEXT,
    MAX_SPOKEN_CHARS,
    check_speech_fits,
    check_spoken_length,
    estimate_speech_ms,
    spoken_form,
    text_estimate_ms,
)

SENTENCE = "The boats leave at nine, so we should hurry to the old harbour before the tide turns. "


def test_a_line_of_digits_is_counted_as_it_is_spoken():
    with pytest.raises(OverBudget, match="4,999 characters as spoken") as caught:
        check_spoken_length("9" * 1000, "en")
    assert caught.value.limit == LIMIT_TEXT and caught.value.chars == 4999 and caught.value.max_chars == 1000
    assert isinstance(caught.value, UsageError)  # the request's fault: exit 2, HTTP 4xx, never retried


def test_an_ordinary_line_under_the_limit_is_accepted():
    line = (SENTENCE * 11)[:900].strip()
    assert len(line) == 900 and len(spoken_form(line, "en")) <= MAX_SPOKEN_CHARS
    assert check_spoken_length(line, "en") == line


def test_markup_does_not_count_and_a_huge_text_is_refused_unread():
    written = "{tomato|təˈmɑːtoʊ} " * 60  # 1,200 characters as written, 420 as spoken
    assert len(written) > MAX_SPOKEN_CHARS and len(check_spoken_length(written, "en")) < MAX_SPOKEN_CHARS
    with pytest.raises(OverBudget, match="as written"):
        check_spoken_length("a" * 4001, "en")


def test_the_text_estimate_counts_what_is_spoken():
    # Digits are words by the time they are spoken; a brisk pace per letter, per Han character, per kana.
    assert text_estimate_ms("9" * 20, "en") == text_estimate_ms("nine " * 20, "en") > 20 * 4 * 50
    assert text_estimate_ms("我八点来接你。", "zh") > text_estimate_ms("はい。", "ja") > 0


def test_an_engine_without_an_estimate_is_estimated_from_the_text(tone_engine):
    assert estimate_speech_ms(tone_engine, "Hello there.", "en") == (text_estimate_ms("Hello there.", "en"), "text")


def test_a_line_far_beyond_its_slot_is_refused(tone_engine):
    text = "go " * 100  # 200 letters: about 11 s at the text's pace
    with pytest.raises(OverBudget, match=r"refused beyond ×2\.5") as caught:
        check_speech_fits(tone_engine, SynthesisRequest(text, "en"), 2000, 1.25)
    assert caught.value.limit == LIMIT_SPEECH and caught.value.slot_ms == 2000
    # The same line in a slot the fitter can nearly reach is left to the fitter.
    assert check_speech_fits(tone_engine, SynthesisRequest(text, "en"), 6000, 1.25) == text_estimate_ms(text, "en")
    assert tone_engine.calls == 0  # nothing was synthesised to decide
