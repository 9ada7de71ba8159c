"""What real subtitle files hold besides dialogue: sound descriptions, lyrics, ads, ASS signs and karaoke,
speakers named by styles, two speakers in one dashed cue, lines said together, and mojibake."""

from __future__ import annotations

import pytest

from dubber.subtitles.cue import SKIP_CREDIT, SKIP_DUPLICATE, SKIP_LYRICS, SKIP_SIGN, SKIP_SOUND
from dubber.subtitles.load import load_subtitles

STYLE_FORMAT = ("Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
                "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
                "Alignment, MarginL, MarginR, MarginV, Encoding\n")
EVENT_FORMAT = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"


def style(name, alignment=2):
    colours = "&H00FFFFFF,&H000000FF,&H00000000,&H00000000"
    return f"Style: {name},Arial,20,{colours},0,0,0,0,100,100,0,0,1,2,2,{alignment},10,10,10,1\n"


def fansub(tmp_path, *events, styles=("Default",)):
    """An ASS file with the given styles ('Name' or ('Name', alignment)) and Dialogue/Comment lines."""
    doc = ("[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\n" + STYLE_FORMAT +
           "".join(style(*s) if isinstance(s, tuple) else style(s) for s in styles) +
           "\n[Events]\n" + EVENT_FORMAT + "".join(e + "\n" for e in events))
    path = tmp_path / "fansub.ass"
    path.write_text(doc, encoding="utf-8")
    return path, doc.split("\n").index(events[0]) + 1  # the first event's line


def event(text, start="0:00:01.00", end="0:00:02.00", style="Default", name="", kind="Dialogue", effect=""):
    return f"{kind}: 0,{start},{end},{style},{name},0,0,0,{effect},{text}"


def srt(tmp_path, *texts, name="a.srt", gap_ms=2000):
    """An SRT with one cue per text, one every `gap_ms`, each lasting 900 ms."""
    blocks = [f"{i}\n00:00:{i * gap_ms // 1000:02d},000 --> 00:00:{i * gap_ms // 1000:02d},900\n{text}\n"
              for i, text in enumerate(texts, 1)]
    path = tmp_path / name
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def table(load):
    return [(c.text, c.skip, c.speaker, c.part) for c in load.cues]


def codes(load):
    return [(d.line, d.code) for d in load.diagnostics]


# Sound descriptions, lyrics, credits and ads


SDH = ["[door slams]", "<i>Laughs</i>", "[sighs] Fine.", "MAN: [laughing] Sure.", "<i>Who's there?</i>",
       "DOOR SLAMS", "WAIT FOR ME!", "\u266a La la la \u266a", "Downloaded From www.AllSubs.org",
       "Support us and become VIP member\nto remove all ads from www.OpenSubtitles.org"]


def test_sdh_srt_keeps_non_speech_cues_listed_but_not_spoken(tmp_path):
    load = load_subtitles(srt(tmp_path, *SDH))
    assert table(load) == [
        ("[door slams]", SKIP_SOUND, None, 0),
        ("Laughs", SKIP_SOUND, None, 0),
        ("Fine.", "", None, 0),
        ("Sure.", "", "MAN", 0),
        ("Who's there?", "", None, 0),  # italics alone are not a description
        ("DOOR SLAMS", SKIP_SOUND, None, 0),
        ("WAIT FOR ME!", "", None, 0),  # shouting is dialogue
        ("\u266a La la la \u266a", SKIP_LYRICS, None, 0),
        ("Downloaded From www.AllSubs.org", SKIP_CREDIT, None, 0),
        ("Support us and become VIP member to remove all ads from www.OpenSubtitles.org", SKIP_CREDIT, None, 0),
    ]
    assert [c.spoken for c in load.cues] == [not c.skip for c in load.cues]
    assert load.cues[0].skip_reason == "sound description '[door slams]'"
    assert codes(load) == [(load.cues[i].line, "non-speech") for i in (0, 1, 2, 3, 5, 7, 8, 9)]
    messages = [d.message for d in load.diagnostics]
    assert messages[0] == "sound description '[door slams]': not spoken"
    assert messages[2] == "sound description '[sighs]' dropped; the rest is spoken"
    assert all(str(d).startswith(f"{load.path}:{d.line}: warning: ") for d in load.diagnostics)


def test_speak_all_speaks_everything_as_written(tmp_path):
    load = load_subtitles(srt(tmp_path, *SDH), speak_all=True)
    assert all(c.spoken for c in load.cues)
    assert [c.text for c in load.cues][:4] == ["[door slams]", "Laughs", "[sighs] Fine.", "[laughing] Sure."]
    assert load.diagnostics == []


def test_a_file_of_nothing_but_non_speech_has_no_cue_to_dub(tmp_path):
    load = load_subtitles(srt(tmp_path, "[music]", "\u266a La la \u266a"))
    assert [c.skip for c in load.cues] == [SKIP_SOUND, SKIP_LYRICS]
    assert (None, "no-cues") in codes(load) and "--speak-all" in load.errors()[0].message
    assert load_subtitles(load.path, speak_all=True).errors() == []


def test_a_sound_description_between_two_turns_leaves_one_line(tmp_path):
    load = load_subtitles(srt(tmp_path, "- ANN: [laughs]\n- BEN: Hello."))
    assert table(load) == [("Hello.", "", "BEN", 0)]
    assert codes(load) == [(2, "non-speech")]


def test_webvtt_voices_and_a_music_cue(tmp_path):
    path = tmp_path / "v.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[music]\n\n"
                    "00:00:03.000 --> 00:00:04.000\n<v Roger>We are here.</v>\n\n"
                    "00:00:05.000 --> 00:00:06.000\n<v Ann>- Late?</v>\n<v Bob>- Waiting.</v>\n", encoding="utf-8")
    load = load_subtitles(path)
    assert table(load) == [("[music]", SKIP_SOUND, None, 0), ("We are here.", "", "Roger", 0),
                           ("Late?", "", "Ann", 1), ("Waiting.", "", "Bob", 2)]
    assert codes(load) == [(3, "non-speech"), (9, "split-turns")]


# ASS signs, karaoke and comments


def test_ass_signs_and_karaoke_are_listed_not_spoken_and_comments_are_skipped_quietly(tmp_path):
    path, first = fansub(tmp_path,
                         event("{\\pos(640,50)}SHIBUYA STATION", "0:00:01.00", "0:00:09.00"),
                         event("Welcome to Shibuya.", "0:00:02.00", "0:00:03.00"),
                         event("CAFE", "0:00:04.00", "0:00:05.00", style="Sign"),
                         event("{\\k20}Ka{\\k30}ra{\\k25}oke", "0:00:06.00", "0:00:07.00"),
                         event("{\\an8}CHAPTER ONE", "0:00:07.00", "0:00:08.00"),
                         event("{\\an8}Up here!", "0:00:08.00", "0:00:08.50", name="Aiko"),
                         event("a note to the typesetter", "0:00:08.00", "0:00:09.00", kind="Comment"),
                         styles=("Default", ("Sign", 8)))
    load = load_subtitles(path)
    assert table(load) == [("SHIBUYA STATION", SKIP_SIGN, None, 0), ("Welcome to Shibuya.", "", None, 0),
                           ("CAFE", SKIP_SIGN, None, 0), ("Karaoke", SKIP_SIGN, None, 0),
                           ("CHAPTER ONE", SKIP_SIGN, None, 0), ("Up here!", "", "Aiko", 0)]
    assert [c.skip_reason for c in load.cues if c.skip] == [
        "on-screen sign: positioned on-screen text (\\pos)", "on-screen sign: typesetting style 'Sign'",
        "on-screen sign: karaoke (\\k timing tags)",
        "on-screen sign: text at the top of the screen (\\an8) with no speaker named"]
    # Signs sit over dialogue: no overlap warning for them, and the Comment is not mentioned at all.
    assert codes(load) == [(first + i, "non-speech") for i in (0, 2, 3, 4)]


def test_a_top_aligned_style_is_a_sign_style_only_when_its_name_says_so(tmp_path):
    path, _ = fansub(tmp_path, event("On the phone screen", style="Screen"),
                     event("Dialogue up top", "0:00:03.00", "0:00:04.00", style="Top"),
                     styles=(("Screen", 8), ("Top", 8)))
    assert [(c.text, c.skip, c.speaker) for c in load_subtitles(path).cues] == [
        ("On the phone screen", SKIP_SIGN, None), ("Dialogue up top", "", None)]


def test_ssa_legacy_top_alignment(tmp_path):
    doc = ("[Script Info]\nScriptType: v4.00\n\n[V4 Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, "
           "SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, "
           "MarginL, MarginR, MarginV, AlphaLevel, Encoding\n"
           "Style: Caption,Arial,20,16777215,65535,65535,0,0,0,1,2,2,6,10,10,10,0,1\n\n[Events]\n"
           "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
           "Dialogue: Marked=0,0:00:01.00,0:00:02.00,Caption,,0000,0000,0000,,A sign\n")
    path = tmp_path / "old.ssa"
    path.write_text(doc, encoding="utf-8")
    assert [c.skip for c in load_subtitles(path).cues] == [SKIP_SIGN]


def test_speak_all_speaks_signs_too(tmp_path):
    path, _ = fansub(tmp_path, event("{\\pos(1,2)}SHIBUYA"))
    assert [(c.text, c.skip) for c in load_subtitles(path, speak_all=True).cues] == [("SHIBUYA", "")]


# Speakers from styles


def test_fansub_styles_name_the_speakers_when_the_name_field_is_empty(tmp_path):
    path, _ = fansub(tmp_path,
                     event("Late again.", "0:00:01.00", "0:00:02.00", style="Kenji"),
                     event("Sorry!", "0:00:03.00", "0:00:04.00", style="Aiko_Italics"),
                     event("Who's that?", "0:00:05.00", "0:00:06.00", style="Default"),
                     event("Me.", "0:00:07.00", "0:00:08.00", style="Kenji", name="Bob"),
                     event("Long ago...", "0:00:09.00", "0:00:10.00", style="Flashback"),
                     event("NARRATOR: Once.", "0:00:11.00", "0:00:12.00", style="Aiko"),
                     styles=("Default", "Kenji", "Aiko_Italics", "Aiko", "Flashback"))
    assert [(c.text, c.speaker) for c in load_subtitles(path).cues] == [
        ("Late again.", "Kenji"), ("Sorry!", "Aiko"), ("Who's that?", None), ("Me.", "Bob"), ("Long ago...", None),
        ("Once.", "NARRATOR")]  # the Name field first, then a NAME: prefix, then the style


# Two speakers in one dashed cue


@pytest.mark.parametrize("text", ["- Are you late?\n- I've been waiting.", "-Are you late?\n-I've been waiting.",
                                  "\u2013 Are you late?\n\u2013 I've been waiting.",
                                  "\u2014 Are you late?\n\u2014 I've been waiting.",
                                  "Are you late?\n- I've been waiting."])
def test_a_dashed_srt_cue_becomes_one_cue_per_turn_over_the_same_window(tmp_path, text):
    load = load_subtitles(srt(tmp_path, text, "Next."))
    assert [(c.index, c.start_ms, c.end_ms, c.text, c.part, c.line) for c in load.cues] == [
        (1, 2000, 2900, "Are you late?", 1, 2), (2, 2000, 2900, "I've been waiting.", 2, 2),
        (3, 4000, 4900, "Next.", 0, 7)]
    [diag] = load.diagnostics
    assert (diag.line, diag.severity, diag.code) == (2, "warning", "split-turns")
    assert diag.message == "cue holds 2 speakers' turns; dubbed as 2 lines"


def test_dashed_turns_keep_their_own_names_or_take_the_cues(tmp_path):
    path, _ = fansub(tmp_path, event("- 遅い？\\N- 待ったぞ", style="Kenji"),
                     event("- ANN: Hi.\\N- Hello.\\N- BEN: Hey.", "0:00:03.00", "0:00:04.00", name="Crowd"),
                     styles=("Default", "Kenji"))
    assert table(load_subtitles(path)) == [("遅い？", "", "Kenji", 1), ("待ったぞ", "", "Kenji", 2),
                                           ("Hi.", "", "ANN", 1), ("Hello.", "", "Crowd", 2), ("Hey.", "", "BEN", 3)]


@pytest.mark.parametrize("text, expected", [
    ("- Are you\ncoming?", "Are you coming?"),  # one dash: one speaker, as before
    ("- JOHN: Go!\n- JOHN: Now!", "Go! Now!"),  # one speaker named on every turn
    ("I was going to\n- never mind.", "I was going to never mind."),  # no finished sentence before the dash
    ("The temperature is\n-5 degrees.", "The temperature is -5 degrees."),
])
def test_cues_that_stay_whole(tmp_path, text, expected):
    load = load_subtitles(srt(tmp_path, text))
    assert [(c.text, c.part) for c in load.cues] == [(expected, 0)] and load.diagnostics == []


def test_the_turns_of_a_split_cue_do_not_overlap_each_other_but_others_still_do(tmp_path):
    path = tmp_path / "o.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:03,000\n- A?\n- B.\n\n2\n00:00:02,000 --> 00:00:04,000\nC\n",
                    encoding="utf-8")
    assert codes(load_subtitles(path)) == [(2, "split-turns"), (7, "overlap")]


# Lines said together


def test_identical_simultaneous_lines_are_spoken_once(tmp_path):
    path, first = fansub(tmp_path,
                         event("Itadakimasu!", "0:00:01.00", "0:00:03.00", name="Aiko"),
                         event("itadakimasu", "0:00:01.05", "0:00:02.95", name="Kenji"),
                         event("Itadakimasu!", "0:00:01.50", "0:00:03.00", name="Mother"),  # starts later: a reply
                         event("Different words.", "0:00:01.00", "0:00:03.00", name="Father"))
    load = load_subtitles(path)
    assert [(c.speaker, c.skip) for c in load.cues] == [("Aiko", ""), ("Kenji", SKIP_DUPLICATE), ("Mother", ""),
                                                        ("Father", "")]
    assert load.cues[1].skip_reason == f"said together with cue 1 (line {first}): spoken once"
    assert (first + 1, "duplicate") in codes(load)
    assert [line for line, code in codes(load) if code == "overlap"] == [first + 2, first + 3]  # not the duplicate


def test_speak_all_still_speaks_a_line_said_together_once(tmp_path):
    path = tmp_path / "d.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nAgain.\n\n2\n00:00:01,000 --> 00:00:02,000\nAgain.\n",
                    encoding="utf-8")
    assert [c.skip for c in load_subtitles(path, speak_all=True).cues] == ["", SKIP_DUPLICATE]


# Mojibake


def test_mojibake_is_repaired_with_a_warning_naming_the_line(tmp_path):
    garbled = "Well \u2014 then.".encode().decode("cp1252")  # 'Well â€” then.': UTF-8 read as cp1252, saved again
    load = load_subtitles(srt(tmp_path, "Fine.", garbled))
    assert [c.text for c in load.cues] == ["Fine.", "Well \u2014 then."]
    [diag] = load.diagnostics
    assert (diag.line, diag.severity, diag.code) == (7, "warning", "mojibake")
    assert garbled in diag.message and "Well \u2014 then." in diag.message


def test_mojibake_is_repaired_even_with_speak_all(tmp_path):
    garbled = "Caf\u00e9 \u266a".encode().decode("cp1252")
    load = load_subtitles(srt(tmp_path, garbled), speak_all=True)
    assert [c.text for c in load.cues] == ["Caf\u00e9 \u266a"]


@pytest.mark.parametrize("text, expected", [("- Hello.\n- ...", "Hello. ..."), ("...\n- Hello.", "... Hello.")])
def test_a_turn_without_words_is_a_pause_not_a_speaker(tmp_path, text, expected):
    load = load_subtitles(srt(tmp_path, text))
    assert [(c.text, c.part) for c in load.cues] == [(expected, 0)] and load.diagnostics == []


@pytest.mark.parametrize("text, skip", [("{\\i1}Sighs{\\i0}", SKIP_SOUND), ("{\\i1}Sighs", SKIP_SOUND),
                                        ("Sighs", ""), ("{\\i1}Who's there?{\\i0}", ""),
                                        ("{\\i1}Sighs{\\i0} deeply, then talks", "")])
def test_ass_italics_count_for_a_lone_sound_word(tmp_path, text, skip):
    path, _ = fansub(tmp_path, event(text))
    assert [c.skip for c in load_subtitles(path).cues] == [skip]
