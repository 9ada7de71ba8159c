"""Telling speech from sound descriptions, lyrics, credits and ads in a subtitle line."""

from __future__ import annotations

import pytest

from dubber.subtitles.cue import SKIP_CREDIT, SKIP_LYRICS, SKIP_SOUND
from dubber.subtitles.nonspeech import Classified, classify, is_sound_word


@pytest.mark.parametrize("text, italic", [
    ("[door slams]", False),
    ("[DOOR SLAMS]", False),
    ("(laughs)", False),
    ("(LAUGHING)", False),
    ("( sighs )", False),
    ("DOOR SLAMS", False),
    ("LAUGHS", False),
    ("INDISTINCT CHATTER", False),
    ("PHONE RINGING", False),
    ("Laughs", True),
    ("Sighs", True),
    ("Sighs.", True),
    ("Music playing", True),
    ("*sighs*", False),
    ("[sighs]...", False),
    ("[door slams]\n(footsteps approaching)", False),
    ("（笑い）", False),
    ("（ドアの開く音）", False),
    ("【拍手】", False),
    ("[笑]", False),
])
def test_sound_descriptions_are_not_speech(text, italic):
    found = classify(text, italic=italic)
    assert (found.text, found.skip) == ("", SKIP_SOUND)
    assert found.reason.startswith("sound description '")


@pytest.mark.parametrize("text", [
    "\u266a La la la \u266a",
    "\u266a Never gonna give you up",
    "\u266b",
    "\u266a\u266a",
    "# Never gonna give you up #",
    "#Never gonna let you down",
    "\U0001f3b5 hum hum",
])
def test_lyrics_and_music_are_not_speech(text):
    found = classify(text)
    assert (found.text, found.skip) == ("", SKIP_LYRICS)
    assert found.reason.startswith("lyrics '")


@pytest.mark.parametrize("text", [
    "Downloaded From www.AllSubs.org",
    "Subtitles by explosiveskull",
    "SUBTITLED BY someone",
    "Synced and corrected by VitoSilans",
    "Sync & corrections by n17t01",
    "Support us and become VIP member\nto remove all ads from www.OpenSubtitles.org",
    "Advertise your product or brand here\ncontact www.OpenSubtitles.org today",
    "-== [ www.OpenSubtitles.com ] ==-",
    "Please rate this subtitle at osdb.link/abc",
    "Translated by: Jane Doe",
    "Sub by Kenji",
    "Encoded by Anon",
    "Ripped by someone",
    "http://example.com/subs",
    "subs@example.com",
    "Visit AllSubs.org",
])
def test_credits_and_ads_are_not_speech(text):
    found = classify(text)
    assert (found.text, found.skip) == ("", SKIP_CREDIT)
    assert found.reason.startswith("credit or ad '")


@pytest.mark.parametrize("text, spoken, dropped", [
    ("[sighs] Fine.", "Fine.", "[sighs]"),
    ("(door closes) Who's there?", "Who's there?", "(door closes)"),
    ("MAN: [laughing] Sure.", "MAN: Sure.", "[laughing]"),
    ("Come here. (whispers)", "Come here.", "(whispers)"),
    ("I don't (COUGHS) know.", "I don't know.", "(COUGHS)"),
    ("Fine [sighs].", "Fine.", "[sighs]"),
    ("*sighs* Okay.", "Okay.", "*sighs*"),
    ("Hello.\n[door slams]", "Hello.", "[door slams]"),
    ("\u266a La la \u266a\nStop singing.", "Stop singing.", "\u266a La la \u266a"),
    ("（健二）待ったぞ", "待ったぞ", "（健二）"),
    ("好[laughs]", "好", "[laughs]"),
])
def test_description_in_dialogue_is_dropped_and_the_dialogue_kept(text, spoken, dropped):
    found = classify(text)
    assert (found.text, found.skip, found.reason) == (spoken, "", "")
    assert len(found.dropped) == 1 and f"'{dropped}'" in found.dropped[0]


@pytest.mark.parametrize("text, italic", [
    ("她的爱好[h][ào]", False),  # pinyin tags (dubber.text.pronunciation) are markup, not descriptions
    ("爱好[hao4]", False),
    ("银行[yin2][hang2]", False),
    ("他很好[hoa4]", False),  # a bad tag is still markup: the loader warns about it
    ("I say {tomato|təˈmɑːtoʊ}.", False),
    ("WAIT FOR ME!", False),  # shouting is dialogue
    ("I HATE THAT MUSIC", False),  # a first person talks
    ("NO WAY", False),  # no sound word
    ("Laughs", False),  # a lone sound word is a description only in italics
    ("Who's there?", True),  # off-screen dialogue is italic too
    ("Help me", True),
    ("Thunder, come here", True),
    ("Laughing at me?", True),
    ("I told him (again) to leave.", False),  # an aside inside dialogue
    ("We'll go (if it's sunny).", False),
    ("(I hope she didn't notice.)", False),  # a thought in brackets is someone's words
    ("The agency (FBI) came.", False),
    ("（どうしよう…）", False),
    ("I *really* mean it", False),
    ("-5 degrees outside", False),
    ("#1 in the charts", False),
    ("It was translated by my father.", False),
    ("He said, look at example.com for the answer.", False),
    ("Ratio 3:1", False),
    ("Привет, как дела?", False),
    ("Où est la gare, s'il vous plaît ?", False),
])
def test_dialogue_stays_speech_untouched(text, italic):
    assert classify(text, italic=italic) == Classified(text.replace("\n", " "))


def test_several_lines_join_and_several_descriptions_are_all_named():
    found = classify("[door slams]\nWho's there?\n(footsteps)\nAnswer me.")
    assert found.text == "Who's there? Answer me."
    assert found.dropped == ("sound description '[door slams]'", "sound description '(footsteps)'")


def test_a_wholly_non_speech_cue_of_mixed_kinds_takes_its_first_kind_and_names_all():
    found = classify("[music]\n\u266a La la \u266a")
    assert (found.skip, found.text) == (SKIP_SOUND, "")
    assert found.reason == "sound description '[music]'; lyrics '\u266a La la \u266a'"


def test_a_long_piece_is_quoted_short():
    found = classify("[" + "very " * 30 + "long description]")
    assert found.skip == SKIP_SOUND and len(found.reason) < 70 and found.reason.endswith("\u2026'")


@pytest.mark.parametrize("word, expected", [
    ("laughs", True), ("LAUGHING", True), ("Sighed", True), ("sobbing", True), ("giggling", True),
    ("cries", True), ("applause", True), ("thunder", True), ("cheers", False), ("hello", False), ("fine", False),
])
def test_sound_words(word, expected):
    assert is_sound_word(word) is expected
