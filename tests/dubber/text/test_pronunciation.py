"""Pronunciation markup: pinyin tags, phonetic overrides and the project dictionary."""

import pytest

from dubber.text.pronunciation import (
    MarkupError,
    Phonetic,
    Pinyin,
    apply_dictionary,
    check_entry,
    for_engine,
    has_markup,
    parse,
    plain,
    tone3,
)


@pytest.mark.parametrize("written, expected", [
    ("hào", "hao4"), ("hao4", "hao4"), ("HAO4", "hao4"), ("de", "de5"), ("lǜ", "lv4"), ("lv4", "lv4"),
    ("nü3", "nv3"), ("zhōng", "zhong1"), ("er2", "er2"),
    ("hoa4", None), ("h", None), ("xx", None), ("hǎo4", None), ("hao6", None), ("laughs", None),
])
def test_tone3_reads_marks_and_numbers(written, expected):
    assert tone3(written) == expected


def test_initial_and_final_tags_make_one_syllable_for_the_character_before():
    assert parse("她的爱好[h][ào]") == ["她的爱", Pinyin("好", ("hao4",), 2)]


def test_whole_syllable_tags_go_to_the_characters_before_them_in_order():
    pieces = parse("银行[yin2][hang2]行长")
    assert pieces == [Pinyin("银行", ("yin2", "hang2"), 2), "行长"]
    assert pieces[0].written == "银行[yin2][hang2]"


def test_phonetic_override_keeps_word_and_ipa():
    assert parse("I say {tomato|təˈmɑːtoʊ}.") == ["I say ", Phonetic("tomato", "təˈmɑːtoʊ"), "."]


def test_brackets_that_are_not_pinyin_stay_text():
    assert parse("你好[laughs] [music]") == ["你好[laughs] [music]"]
    assert not has_markup("你好[laughs]")


@pytest.mark.parametrize("text, words", [
    ("他[hoa4]", "[hoa4] is not a pinyin syllable"),
    ("[hao4]好", "needs 1 Han character"),
    ("好[ni3][hao3]", "needs 2 Han characters"),
])
def test_bad_tags_are_errors_naming_them(text, words):
    with pytest.raises(MarkupError, match=words.replace("[", r"\[").replace("]", r"\]")):
        parse(text)


def test_plain_takes_the_markup_out():
    assert plain("她的爱好[h][ào]，I say {tomato|təˈmɑːtoʊ}.") == "她的爱好，I say tomato."
    assert plain("他[hoa4]") == "他[hoa4]"  # unreadable markup is left for the error to name


def test_for_engine_writes_each_engines_convention():
    text = "说明她好[h][ào]干净，{tomato|təˈmɑːtoʊ}"
    assert for_engine(text, "markup") == text
    assert for_engine(text, "") == "说明她好干净，tomato"
    # CosyVoice3 puts [initial][final] in place of the character; IndexTTS its TONE3 syllable in capitals.
    assert for_engine(text, "cosyvoice") == "说明她[h][ào]干净，tomato"
    assert for_engine(text, "indextts") == "说明她HAO4干净，tomato"
    assert for_engine("爱[ai4]了[le5]", "cosyvoice") == "[ài][l][e]"


def test_dictionary_marks_words_outside_existing_markup():
    entries = {"行长": "hang2 zhang3", "银行": "yín háng", "tomato": "təˈmɑːtoʊ"}
    text = "行长说银行[yin2][hang2]和tomato, tomatoes"
    assert apply_dictionary(text, entries) == \
        "行长[hang2][zhang3]说银行[yin2][hang2]和{tomato|təˈmɑːtoʊ}, tomatoes"
    assert apply_dictionary(text, {}) == text


@pytest.mark.parametrize("word, value, problem", [
    ("行长", "hang2", "2 characters but 1 syllables"),
    ("行长", "hang2 zhang9", "'zhang9' is not a pinyin syllable"),
    ("行a", "hang2 a1", "Han characters only"),
    ("", "x", "needs a word"),
    ("to[m]", "x", "without brackets"),
])
def test_dictionary_entries_are_checked(word, value, problem):
    with pytest.raises(MarkupError, match=problem.replace("[", r"\[")):
        check_entry(word, value)


def test_dictionary_file_reads_entries_and_names_a_bad_line(tmp_path):
    from dubber.text.pronunciation import load_dictionary

    path = tmp_path / "words.txt"
    path.write_text("# project words\n行长 = háng zhǎng\ntomato\ttəˈmɑːtoʊ  # the British way\n\n", encoding="utf-8")
    assert load_dictionary(path) == {"行长": "hang2 zhang3", "tomato": "təˈmɑːtoʊ"}
    path.write_text("行长 = hang2 zhang3\n银行 yin2 hang2\n", encoding="utf-8")
    with pytest.raises(MarkupError, match=r"words.txt:2: write 'word = pronunciation'"):
        load_dictionary(path)
    path.write_text("行长 = hang2\n", encoding="utf-8")
    with pytest.raises(MarkupError, match=r"words.txt:1: '行长' has 2 characters but 1 syllables"):
        load_dictionary(path)
