"""ASS typesetting told from dialogue, and styles that name their speaker."""

from __future__ import annotations

import pytest

from dubber.subtitles.typesetting import is_typesetting_name, numpad_alignment, sign_reason, style_speaker


def sign(text, style="Default", name="", effect="", top_style=False, has_speaker=False):
    return sign_reason(text, style, name, effect, top_style, has_speaker)


@pytest.mark.parametrize("text, needle", [
    ("{\\pos(640,50)}SHIBUYA STATION", "\\pos"),
    ("{\\move(0,0,100,100)}Moving", "\\move"),
    ("{\\org(1,2)\\frz10}Rotated", "\\org"),
    ("{\\clip(0,0,10,10)}Clipped", "\\clip"),
    ("{\\iclip(0,0,10,10)}Clipped", "\\iclip"),
    ("{\\k20}Ka{\\k30}ra", "karaoke"),
    ("{\\kf45}so{\\kf30}ra", "karaoke"),
    ("{\\K20}u{\\ko10}ta", "karaoke"),
    ("{\\an8}CHAPTER ONE", "\\an8"),
    ("{\\an7}Left top", "\\an7"),
    ("{\\a6}Legacy top", "\\a6"),
])
def test_override_tags_make_a_sign(text, needle):
    assert needle in sign(text)


@pytest.mark.parametrize("text", [
    "Plain dialogue",
    "{\\i1}Italic{\\i0} dialogue",
    "{\\an2}Bottom",
    "{\\a2}Legacy bottom",
    "{\\a10}Legacy middle",
    "{\\fad(200,200)}Fading in",
    "{\\blur2\\bord3}Soft",
    "Not a tag: \\pos(1,2) outside braces",
])
def test_dialogue_is_not_a_sign(text):
    assert sign(text) == ""


def test_text_raised_to_the_top_is_dialogue_when_it_names_its_speaker():
    assert sign("{\\an8}I'm up here!", has_speaker=True) == ""
    assert "\\pos" in sign("{\\pos(1,2)}Still a sign", has_speaker=True)


@pytest.mark.parametrize("style, top, expected", [
    ("Signs", False, "typesetting style 'Signs'"),
    ("TS-Top", False, "typesetting style 'TS-Top'"),
    ("OP-Romaji", False, "typesetting style 'OP-Romaji'"),
    ("ED2", False, "typesetting style 'ED2'"),
    ("Karaoke", False, "typesetting style 'Karaoke'"),
    ("Note", False, "typesetting style 'Note'"),
    ("SongEng", False, "typesetting style 'SongEng'"),
    ("Screen", True, "top-aligned sign style 'Screen'"),
    ("Screen", False, ""),  # at the bottom, a style called Screen may well be dialogue
    ("Top", True, ""),  # dialogue at the top
    ("Ed", False, ""),  # a name: only OP and ED in capitals are songs
    ("Default", False, ""),
])
def test_style_names_that_mean_typesetting(style, top, expected):
    assert sign("Words", style=style, top_style=top) == expected


def test_name_field_and_effect_can_say_typesetting():
    assert sign("Words", name="TS") == "typesetting (Name field 'TS')"
    assert sign("Words", effect="Banner;20;0;0") == "on-screen effect 'Banner;20;0;0'"
    assert sign("Words", effect="fx") == "on-screen effect 'fx'"


@pytest.mark.parametrize("name, expected", [
    ("Signs", True), ("sign 2", True), ("Typesetting", True), ("Title", True), ("OP", True), ("ED-Kanji", True),
    ("kfx", True), ("Credits", True), ("歌词", True), ("Design", False), ("Signora", False), ("Kenji", False),
    ("Ed", False), ("Default", False),
])
def test_is_typesetting_name(name, expected):
    assert is_typesetting_name(name) is expected


@pytest.mark.parametrize("style, speaker", [
    ("Kenji", "Kenji"),
    ("Mary Ann", "Mary Ann"),
    ("Aiko_Italics", "Aiko"),
    ("Kenji-Top", "Kenji"),
    ("*Kenji", "Kenji"),
    ("健二", "健二"),
    ("Narrator", "Narrator"),
    ("Default", None),
    ("Default2", None),
    ("Main-Top", None),
    ("MainItalics", None),
    ("Dialogue", None),
    ("Flashback", None),
    ("Narration", None),
    ("Thoughts", None),
    ("Overlap", None),
    ("Subtitles", None),
    ("EN-Default", None),
    ("Signs", None),
    ("", None),
])
def test_style_speaker(style, speaker):
    assert style_speaker(style) == speaker


@pytest.mark.parametrize("value, legacy, expected", [(8, False, 8), (2, False, 2), (6, True, 8), (5, True, 7),
                                                     (2, True, 2), (10, True, 5)])
def test_numpad_alignment(value, legacy, expected):
    assert numpad_alignment(value, legacy) == expected
