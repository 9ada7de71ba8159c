"""Tests for loading subtitle files into cues and diagnostics."""

from __future__ import annotations

import pickle

import pytest

from dubber.errors import SubtitleError
from dubber.subtitles.load import SubtitleLoad, load_subtitles
from tests.data.make_bad_corpus import ASS_FORMAT, ASS_HEAD

ASS_HEADER = ASS_HEAD + "[Events]\n" + ASS_FORMAT  # the bad-input corpus's header, one copy
ASS_EVENTS_LINE = 10  # the Dialogue lines after ASS_HEADER start on this line

SSA_DOC = """[Script Info]
ScriptType: v4.00

[V4 Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, \
BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding
Style: Default,Arial,20,16777215,65535,65535,0,0,0,1,2,2,2,10,10,10,0,1

[Events]
Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,Narrator,0000,0000,0000,,Once upon a time
"""


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def ass(tmp_path, *events, name="sub.ass"):
    return write(tmp_path, name, ASS_HEADER + "\n".join(events) + "\n")


def dialogue(text, start="0:00:01.00", end="0:00:02.00", name=""):
    return f"Dialogue: 0,{start},{end},Default,{name},0,0,0,,{text}"


def one_srt(tmp_path, text):
    load = load_subtitles(write(tmp_path, "one.srt", f"1\n00:00:01,000 --> 00:00:02,000\n{text}\n"))
    return load.cues[0] if load.cues else None


def codes(load):
    return [(d.line, d.code) for d in load.diagnostics]


# Formats


def test_srt_loads_cues_with_times_lines_and_path(tmp_path):
    path = write(tmp_path, "a.srt", "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n"
                                    "2\n00:01:03,250 --> 00:01:05,000\nSecond line\nwraps here.\n")
    load = load_subtitles(path)
    assert isinstance(load, SubtitleLoad)
    assert (load.path, load.format, load.encoding) == (str(path), "srt", "utf-8")
    assert [(c.index, c.start_ms, c.end_ms, c.text, c.line) for c in load.cues] == [
        (1, 1000, 2500, "Hello there.", 2),
        (2, 63250, 65000, "Second line wraps here.", 6),
    ]
    assert load.diagnostics == [] and load.errors() == [] and load.warnings() == []


def test_ass_loads_dialogue_and_skips_comments(tmp_path):
    path = ass(tmp_path,
               dialogue("First, with a comma", "0:00:01.00", "0:00:02.50"),
               "Comment: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,not spoken",
               dialogue("Second", "0:00:05.00", "0:00:06.00"))
    load = load_subtitles(path)
    assert load.format == "ass"
    assert [(c.index, c.start_ms, c.end_ms, c.text, c.line) for c in load.cues] == [
        (1, 1000, 2500, "First, with a comma", ASS_EVENTS_LINE),
        (2, 5000, 6000, "Second", ASS_EVENTS_LINE + 2),
    ]
    assert load.diagnostics == []


def test_ssa_loads_with_its_own_field_order(tmp_path):
    load = load_subtitles(write(tmp_path, "old.ssa", SSA_DOC))
    assert load.format == "ssa"
    assert [(c.start_ms, c.end_ms, c.text, c.speaker, c.line) for c in load.cues] == [
        (1000, 2000, "Once upon a time", "Narrator", 10)]


def test_ass_with_reordered_format_line(tmp_path):
    doc = ASS_HEADER.replace("Format: Layer, Start, End, Style, Name,", "Format: Layer, Name, Start, End, Style,")
    path = write(tmp_path, "r.ass", doc + "Dialogue: 0,Bob,0:00:01.00,0:00:03.00,Default,0,0,0,,Hi\n")
    assert [(c.speaker, c.start_ms, c.end_ms, c.text) for c in load_subtitles(path).cues] == [
        ("Bob", 1000, 3000, "Hi")]


def test_ass_without_styles_section_is_still_ass(tmp_path):
    doc = ("[Script Info]\nTitle: x\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
           "Effect, Text\n" + dialogue("Hi") + "\n")
    load = load_subtitles(write(tmp_path, "bare.ass", doc))
    assert load.format == "ass" and [c.text for c in load.cues] == ["Hi"]


def test_vtt_skips_header_notes_styles_and_identifiers(tmp_path):
    doc = ("WEBVTT - a title\nKind: captions\n\n"
           "NOTE a note that mentions\n00:00:00.000 --> 00:00:00.500\n\n"
           "STYLE\n::cue { color: yellow }\n\n"
           "intro\n00:00:01.000 --> 00:00:02.000 align:start position:10%\nHello &amp; welcome\n\n"
           "00:02.500 --> 00:03.000\nShort form\n")
    load = load_subtitles(write(tmp_path, "a.vtt", doc))
    assert load.format == "vtt"
    assert [(c.start_ms, c.end_ms, c.text, c.line) for c in load.cues] == [
        (1000, 2000, "Hello & welcome", 11),
        (2500, 3000, "Short form", 14),
    ]
    assert load.diagnostics == []


def test_vtt_voice_span_gives_speaker(tmp_path):
    doc = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v.loud Roger Bingham>We are here</v>\n"
    cue = load_subtitles(write(tmp_path, "v.vtt", doc)).cues[0]
    assert (cue.speaker, cue.text) == ("Roger Bingham", "We are here")


@pytest.mark.parametrize("name", ["sub.txt", "sub.ass", "noext"])
def test_format_comes_from_content_not_extension(tmp_path, name):
    load = load_subtitles(write(tmp_path, name, "1\n00:00:01,000 --> 00:00:02,000\nHi\n"))
    assert load.format == "srt" and [c.text for c in load.cues] == ["Hi"]


def test_vtt_extension_without_header_reads_as_vtt(tmp_path):
    load = load_subtitles(write(tmp_path, "nohead.vtt", "00:00:01.000 --> 00:00:02.000\nHi\n"))
    assert load.format == "vtt" and [c.start_ms for c in load.cues] == [1000]


# Encodings

RUSSIAN = ["Привет, как у тебя дела сегодня?", "Спасибо, всё хорошо, а у тебя?",
           "Мы должны уйти до захода солнца.", "Я не знаю, где находится этот город.",
           "Пожалуйста, закройте дверь за собой.", "Завтра будет очень холодная погода."]
CHINESE_SIMPLIFIED = ["你好，今天过得怎么样？", "谢谢，我很好，你呢？", "我们必须在太阳落山之前离开这里。",
                      "我不知道这个城市在哪里。", "请随手关门，外面很冷。", "明天的天气会非常寒冷。"]
CHINESE_TRADITIONAL = ["你好，今天過得怎麼樣？", "謝謝，我很好，你呢？", "我們必須在太陽下山之前離開這裡。",
                       "我不知道這個城市在哪裡。", "請隨手關門，外面很冷。", "明天的天氣會非常寒冷。"]
JAPANESE = ["こんにちは、今日はどうでしたか？", "ありがとう、元気です。あなたは？",
            "日が暮れる前にここを出なければならない。", "その町がどこにあるのか分かりません。",
            "ドアを閉めてください、外はとても寒いです。", "明日はとても寒くなるでしょう。"]
ENGLISH = ["Hello there.", "How are you?", "Fine, thanks."]


def srt_of(lines):
    return "".join(f"{i}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{text}\n\n" for i, text in enumerate(lines, 1))


@pytest.mark.parametrize("encoding, lines, expected", [
    ("utf-8", JAPANESE, {"utf-8"}),
    ("utf-8-sig", RUSSIAN, {"utf-8-sig"}),
    ("utf-16", CHINESE_SIMPLIFIED, {"utf-16-le"}),  # Python writes a little-endian BOM
    ("utf-16-be-bom", ENGLISH, {"utf-16-be"}),
    ("gbk", CHINESE_SIMPLIFIED, {"gbk", "gb2312", "gb18030"}),
    ("big5", CHINESE_TRADITIONAL, {"big5", "cp950", "big5hkscs"}),
    ("shift_jis", JAPANESE, {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213"}),
    ("cp1251", RUSSIAN, {"cp1251", "windows-1251"}),
])
def test_encodings_are_detected_and_reported(tmp_path, encoding, lines, expected):
    text = srt_of(lines)
    data = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    load = load_subtitles(write(tmp_path, f"{encoding}.srt", data))
    assert load.encoding in expected
    assert [c.text for c in load.cues] == lines
    assert load.cues[0].line == 2  # a BOM does not shift line numbers


def test_utf8_bom_ass_section_heading_still_found(tmp_path):
    path = write(tmp_path, "bom.ass", ASS_HEADER + dialogue("Hi") + "\n", encoding="utf-8-sig")
    load = load_subtitles(path)
    assert (load.encoding, [c.text for c in load.cues]) == ("utf-8-sig", ["Hi"])


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_windows_and_old_mac_line_endings(tmp_path, newline):
    text = "1\n00:00:01,000 --> 00:00:02,000\nA\nB\n\n2\n00:00:03,000 --> 00:00:04,000\nC\n"
    load = load_subtitles(write(tmp_path, "nl.srt", text.replace("\n", newline)))
    assert [(c.text, c.line) for c in load.cues] == [("A B", 2), ("C", 7)]


# Text cleaning


@pytest.mark.parametrize("raw, expected", [
    ("<i>Hello</i> <b>there</b>", "Hello there"),
    ('<font color="#ff0000">Red</font> alert', "Red alert"),
    ("{\\an8}On top", "On top"),
    ("Line one\\NLine two", "Line one Line two"),
    ("Lots   of\t space", "Lots of space"),
    ("- Are you\ncoming?", "Are you coming?"),  # one dash, one speaker (two are split: test_subtitles_real)
    ("\u2014Well, then.", "Well, then."),
    ("-5 degrees outside", "-5 degrees outside"),
    ("zero\u200bwidth", "zerowidth"),
])
def test_srt_text_is_cleaned(tmp_path, raw, expected):
    assert one_srt(tmp_path, raw).text == expected


@pytest.mark.parametrize("raw, expected", [
    ("{\\i1}Hello{\\i0} {\\pos(1,2)}there", "Hello there"),
    ("{\\fnNew Times\\fs20}Font\\Nchange", "Font change"),
    ("Hard\\hspace and\\nsoft break", "Hard space and soft break"),
    ("{\\k20}Ka{\\k30}ra{\\k25}oke", "Karaoke"),
    ("{\\p1}m 0 0 l 10 0{\\p0}Said after a drawing", "Said after a drawing"),
])
def test_ass_text_is_cleaned(tmp_path, raw, expected):
    assert [c.text for c in load_subtitles(ass(tmp_path, dialogue(raw))).cues] == [expected]


def test_ass_drawing_is_not_speech_and_not_a_problem(tmp_path):
    load = load_subtitles(ass(tmp_path, dialogue("{\\p1}m 0 0 l 100 0 100 100 0 100{\\p0}"), dialogue("Words")))
    assert [c.text for c in load.cues] == ["Words"]
    assert load.cues[0].line == ASS_EVENTS_LINE + 1
    assert load.diagnostics == []


# Speakers


@pytest.mark.parametrize("raw, speaker, text", [
    ("JOHN: Hello", "JOHN", "Hello"),
    ("Mary Ann: hi", "Mary Ann", "hi"),
    ("Dr. Jekyll: Good evening", "Dr. Jekyll", "Good evening"),
    ("<i>NARRATOR: Long ago</i>", "NARRATOR", "Long ago"),
    ("- JOHN: Go!\n- JOHN: Now!", "JOHN", "Go! Now!"),
    ("BOB: Line one\nline two", "BOB", "Line one line two"),
    ("张三：你好", "张三", "你好"),
])
def test_speaker_prefix_is_taken_and_stripped(tmp_path, raw, speaker, text):
    cue = one_srt(tmp_path, raw)
    assert (cue.speaker, cue.text) == (speaker, text)


@pytest.mark.parametrize("raw", [
    "10:30 is when we meet",
    "See http://example.com for details",
    "The plan we made was simple: run",
    "A name that is far too long to be a name: hi",
    "JOHN:",
    "Ratio 3:1",
    "He said:no spaces",
])
def test_text_that_only_looks_like_a_speaker_is_left_alone(tmp_path, raw):
    cue = one_srt(tmp_path, raw)
    assert (cue.speaker, cue.text) == (None, raw)


def test_mixed_speakers_in_one_cue_become_a_cue_each(tmp_path):
    load = load_subtitles(write(tmp_path, "one.srt", "1\n00:00:01,000 --> 00:00:02,000\n- ANN: Hi.\n- BEN: Hello.\n"))
    assert [(c.speaker, c.text, c.part) for c in load.cues] == [("ANN", "Hi.", 1), ("BEN", "Hello.", 2)]
    assert codes(load) == [(2, "split-turns")]


def test_mixed_speakers_on_lines_of_one_turn_give_no_speaker(tmp_path):
    cue = one_srt(tmp_path, "ANN: Hi.\nBEN: Hello.")
    assert (cue.speaker, cue.text) == (None, "Hi. Hello.")


def test_ass_name_field_is_the_speaker(tmp_path):
    load = load_subtitles(ass(tmp_path, dialogue("Hello", name="Alice"), dialogue("BOB: Hi", "0:00:03.00",
                                                                                   "0:00:04.00")))
    assert [(c.speaker, c.text) for c in load.cues] == [("Alice", "Hello"), ("BOB", "Hi")]


# Diagnostics


def test_overlap_is_a_warning_and_cue_is_kept(tmp_path):
    path = write(tmp_path, "o.srt", "1\n00:00:01,000 --> 00:00:03,000\nA\n\n"
                                    "2\n00:00:02,000 --> 00:00:04,000\nB\n")
    load = load_subtitles(path)
    assert [c.text for c in load.cues] == ["A", "B"]
    [diag] = load.diagnostics
    assert (diag.path, diag.line, diag.severity, diag.code) == (str(path), 6, "warning", "overlap")
    assert "cue 2" in diag.message and "cue 1" in diag.message


def test_overlap_is_checked_in_time_order_while_index_keeps_file_order(tmp_path):
    path = write(tmp_path, "u.srt", "1\n00:00:05,000 --> 00:00:06,000\nLate\n\n"
                                    "2\n00:00:01,000 --> 00:00:02,000\nEarly\n\n"
                                    "3\n00:00:01,500 --> 00:00:03,000\nOverlaps early\n")
    load = load_subtitles(path)
    assert [(c.index, c.text) for c in load.cues] == [(1, "Late"), (2, "Early"), (3, "Overlaps early")]
    assert codes(load) == [(10, "overlap")]


def test_overlap_against_a_long_earlier_cue(tmp_path):
    load = load_subtitles(ass(tmp_path, dialogue("Long", "0:00:01.00", "0:00:10.00"),
                              dialogue("Inside", "0:00:02.00", "0:00:03.00"),
                              dialogue("Also inside", "0:00:04.00", "0:00:05.00")))
    assert codes(load) == [(ASS_EVENTS_LINE + 1, "overlap"), (ASS_EVENTS_LINE + 2, "overlap")]


@pytest.mark.parametrize("timing", ["00:00:02,000 --> 00:00:02,000", "00:00:03,000 --> 00:00:02,000"])
def test_zero_or_reversed_duration_is_an_error_and_dropped(tmp_path, timing):
    path = write(tmp_path, "d.srt", f"1\n{timing}\nBad\n\n2\n00:00:05,000 --> 00:00:06,000\nGood\n")
    load = load_subtitles(path)
    assert [(c.index, c.text) for c in load.cues] == [(1, "Good")]
    assert [(d.line, d.severity, d.code) for d in load.diagnostics] == [(2, "error", "bad-duration")]


def test_ass_reversed_times_are_bad_duration(tmp_path):
    load = load_subtitles(ass(tmp_path, dialogue("Back", "0:00:05.00", "0:00:04.00")))
    assert load.cues == []
    assert codes(load) == [(None, "no-cues"), (ASS_EVENTS_LINE, "bad-duration")]


def test_ass_negative_start_is_clamped_with_a_warning(tmp_path):
    load = load_subtitles(ass(tmp_path, dialogue("Early", "-0:00:01.00", "0:00:02.00")))
    assert [(c.start_ms, c.end_ms) for c in load.cues] == [(0, 2000)]
    assert codes(load) == [(ASS_EVENTS_LINE, "negative-time")]


@pytest.mark.parametrize("raw", ["<i></i>", "{\\an8}", "-", "\u200b"])
def test_empty_text_is_a_warning_and_dropped(tmp_path, raw):
    path = write(tmp_path, "e.srt", f"1\n00:00:01,000 --> 00:00:02,000\n{raw}\n\n"
                                    "2\n00:00:03,000 --> 00:00:04,000\nSpoken\n")
    load = load_subtitles(path)
    assert [(c.index, c.text, c.line) for c in load.cues] == [(1, "Spoken", 6)]
    assert [(d.line, d.severity, d.code) for d in load.diagnostics] == [(2, "warning", "empty-text")]


def test_srt_cue_with_no_text_lines_at_all(tmp_path):
    path = write(tmp_path, "n.srt", "1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nHi\n")
    load = load_subtitles(path)
    assert [c.text for c in load.cues] == ["Hi"]
    assert codes(load) == [(2, "empty-text")]


def test_srt_mixing_good_and_bad_blocks_keeps_the_good_ones(tmp_path):
    doc = ("1\n00:00:01,000 --> 00:00:02,000\nFirst\n\n"
           "2\n00:00:03,000 --> garbage\nLost\n\n"         # line 6
           "3\nnot a timing line\nAlso lost\n\n"            # line 10
           "4\n00:00:0x,000 --> 00:00:06,000\nLost too\n\n"  # line 14
           "5\n00:00:07,000 --> 00:00:08,000\nLast\n")       # line 18
    load = load_subtitles(write(tmp_path, "mix.srt", doc))
    assert [(c.index, c.text, c.line) for c in load.cues] == [(1, "First", 2), (2, "Last", 18)]
    assert [(d.line, d.severity, d.code) for d in load.diagnostics] == [
        (6, "error", "unparsable"), (10, "error", "unparsable"), (14, "error", "unparsable")]
    assert all(str(d).startswith(f"{tmp_path / 'mix.srt'}:") for d in load.diagnostics)


def test_srt_text_before_first_cue_is_unparsable(tmp_path):
    load = load_subtitles(write(tmp_path, "h.srt", "Made by someone\n\n1\n00:00:01,000 --> 00:00:02,000\nHi\n"))
    assert [c.text for c in load.cues] == ["Hi"]
    assert codes(load) == [(1, "unparsable")]


def test_vtt_mixing_good_and_bad_blocks(tmp_path):
    doc = ("WEBVTT\n\n"
           "00:00:01.000 --> 00:00:02.000\nGood\n\n"   # line 3
           "00:00:03.000 --> 00:00:0x.000\nBroken\n\n"  # line 6
           "just some text\nwithout timing\n\n"         # line 9
           "00:00:05.000 --> 00:00:06.000\nAlso good\n")  # line 12
    load = load_subtitles(write(tmp_path, "mix.vtt", doc))
    assert [(c.text, c.line) for c in load.cues] == [("Good", 3), ("Also good", 12)]
    assert codes(load) == [(6, "unparsable"), (9, "unparsable")]


def test_ass_mixing_good_and_bad_dialogue_lines(tmp_path):
    load = load_subtitles(ass(tmp_path,
                              dialogue("One"),
                              "Dialogue: 0,0:00:03.00",
                              dialogue("Bad time", start="0:00:xx.00"),
                              dialogue("Four", "0:00:04.00", "0:00:05.00")))
    assert [(c.index, c.text, c.line) for c in load.cues] == [(1, "One", ASS_EVENTS_LINE),
                                                              (2, "Four", ASS_EVENTS_LINE + 3)]
    assert [(d.line, d.severity, d.code) for d in load.diagnostics] == [
        (ASS_EVENTS_LINE + 1, "error", "unparsable"), (ASS_EVENTS_LINE + 2, "error", "unparsable")]


# Leniency


def test_srt_without_indices_and_with_sloppy_times(tmp_path):
    doc = ("00:00:01.000 --> 00:00:02.000\nDots\n\n"
           "00:00:03,5 --> 00:00:04,25\nShort fractions\n\n"
           "00:00:05 --> 00:00:06\nNo fractions\n"
           "00:07,000 --> 00:08,000\nNo hours, no blank line before\n")
    load = load_subtitles(write(tmp_path, "loose.srt", doc))
    assert [(c.start_ms, c.end_ms, c.text, c.line) for c in load.cues] == [
        (1000, 2000, "Dots", 1), (3500, 4250, "Short fractions", 4),
        (5000, 6000, "No fractions", 7), (7000, 8000, "No hours, no blank line before", 9)]
    assert load.diagnostics == []  # ',5' is 500 ms to pysubs2 as well: no change of meaning


def test_srt_index_without_blank_line_is_not_text(tmp_path):
    doc = "1\n00:00:01,000 --> 00:00:02,000\nHello\n2\n00:00:03,000 --> 00:00:04,000\n42\n"
    load = load_subtitles(write(tmp_path, "tight.srt", doc))
    assert [c.text for c in load.cues] == ["Hello", "42"]


def test_srt_number_as_last_text_line_is_kept(tmp_path):
    doc = "1\n00:00:01,000 --> 00:00:02,000\nThe answer is\n42\n\n2\n00:00:03,000 --> 00:00:04,000\nYes\n"
    assert [c.text for c in load_subtitles(write(tmp_path, "n.srt", doc)).cues] == ["The answer is 42", "Yes"]


def test_vtt_short_fraction_is_read_as_decimal_with_a_warning(tmp_path):
    doc = "WEBVTT\n\n00:00:01.50 --> 00:00:02,000\nHi\n"
    load = load_subtitles(write(tmp_path, "f.vtt", doc))
    assert [(c.start_ms, c.end_ms) for c in load.cues] == [(1500, 2000)]
    assert [(d.line, d.severity, d.code) for d in load.diagnostics] == [(3, "warning", "ambiguous-time")]


# Empty and unusable files


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file_gives_no_cues_and_a_diagnostic(tmp_path, content):
    path = write(tmp_path, "empty.srt", content)
    load = load_subtitles(path)
    assert (load.format, load.cues) == ("srt", [])
    assert [(d.path, d.line, d.code) for d in load.diagnostics] == [(str(path), None, "no-cues")]


def test_file_with_no_valid_cue_gives_no_cues_and_diagnostics(tmp_path):
    load = load_subtitles(write(tmp_path, "bad.srt", "1\n00:00:02,000 --> 00:00:01,000\nBackwards\n"))
    assert load.cues == []
    assert codes(load) == [(None, "no-cues"), (2, "bad-duration")]


def test_missing_file_raises_naming_it(tmp_path):
    path = tmp_path / "nope.srt"
    with pytest.raises(SubtitleError) as info:
        load_subtitles(path)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_directory_raises(tmp_path):
    with pytest.raises(SubtitleError, match="directory") as info:
        load_subtitles(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("content", [
    bytes(range(256)) * 8,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(200),
    b"Just a letter to a friend.\nNothing timed here.\n",
])
def test_not_a_subtitle_file_raises_naming_it(tmp_path, content):
    path = write(tmp_path, "junk.srt", content)
    with pytest.raises(SubtitleError) as info:
        load_subtitles(path)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_broken_utf16_raises(tmp_path):
    path = write(tmp_path, "odd.srt", b"\xff\xfe" + "1\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(SubtitleError, match="utf-16"):
        load_subtitles(path)


def test_subtitle_error_survives_pickling(tmp_path):
    with pytest.raises(SubtitleError) as info:
        load_subtitles(tmp_path / "gone.vtt")
    again = pickle.loads(pickle.dumps(info.value))
    assert (str(again), again.path) == (str(info.value), str(tmp_path / "gone.vtt"))


def test_save_srt_round_trips(tmp_path):
    from dubber.subtitles.load import load_subtitles, save_srt

    path = tmp_path / "out.srt"
    save_srt(path, [(800, 3195, "Good morning."), (3895, 5766, "The boats leave at nine.")])
    loaded = load_subtitles(path)
    assert [(c.start_ms, c.end_ms, c.text) for c in loaded.cues] == [
        (800, 3195, "Good morning."), (3895, 5766, "The boats leave at nine.")]
    assert loaded.diagnostics == []


def test_a_misspelt_cue_number_is_not_spoken_as_the_last_cues_words(tmp_path):
    from dubber.subtitles.load import load_subtitles

    path = tmp_path / "misnumbered.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nThe boats leave at nine.\n\n"
                    "xx\n00:00:03,000 --> 00:00:04,000\nThen we should hurry.\n", encoding="utf-8")
    loaded = load_subtitles(path)
    assert [(c.start_ms, c.text) for c in loaded.cues] == [(1000, "The boats leave at nine."),
                                                           (3000, "Then we should hurry.")]
    assert [(d.line, d.severity, d.code) for d in loaded.diagnostics] == [(5, "warning", "bad-index")]
    assert "xx" in loaded.diagnostics[0].message and str(path) in str(loaded.diagnostics[0])


def test_text_after_a_blank_line_inside_a_cue_is_still_its_text(tmp_path):
    from dubber.subtitles.load import load_subtitles

    path = tmp_path / "blank.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nThe boats\n\nleave at nine.\n\n"
                    "2\n00:00:03,000 --> 00:00:04,000\nThen we should hurry.\n", encoding="utf-8")
    assert [c.text for c in load_subtitles(path).cues] == ["The boats leave at nine.", "Then we should hurry."]


# Pronunciation markup (dubber.text.pronunciation) survives loading


def test_phonetic_override_survives_srt_and_ass_while_overrides_and_comments_go(tmp_path):
    assert one_srt(tmp_path, "<i>I say</i> {tomato|təˈmɑːtoʊ}.").text == "I say {tomato|təˈmɑːtoʊ}."
    raw = "{\\i1}I say{\\i0} {a comment} {tomato|təˈmɑːtoʊ} {\\fnA|B}now"
    assert [c.text for c in load_subtitles(ass(tmp_path, dialogue(raw))).cues] == ["I say {tomato|təˈmɑːtoʊ} now"]


def test_pinyin_tags_survive_and_a_bad_one_is_a_warning_naming_the_line(tmp_path):
    path = write(tmp_path, "zh.srt", "1\n00:00:01,000 --> 00:00:02,000\n她的爱好[h][ào]\n\n"
                                     "2\n00:00:03,000 --> 00:00:04,000\n他很好[hoa4]\n")
    load = load_subtitles(path)
    assert [c.text for c in load.cues] == ["她的爱好[h][ào]", "他很好[hoa4]"]
    assert codes(load) == [(6, "bad-markup")]
    assert "[hoa4] is not a pinyin syllable" in load.diagnostics[0].message
