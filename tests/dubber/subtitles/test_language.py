"""Tests for --lang tags and each subtitle line's own language."""

from __future__ import annotations

import pytest

from dubber.errors import UsageError
from dubber.subtitles import language
from dubber.subtitles.cue import SKIP_LANGUAGE, SKIP_SOUND, Cue
from dubber.subtitles.language import (
    HAN,
    KANA,
    LATIN,
    LanguageChoice,
    detect,
    dominant_language,
    foreign_language,
    is_foreign,
    main_script,
    mark_languages,
    parse_language,
)

SUPPORTED = ("en", "ja", "zh")

# Short English lines that must never come out foreign in an English dub. Held out from the bench's
# set (bench/data/short_lines.tsv), which bench/language.py checks against them too.
SHORT_ENGLISH = [
    "Let's go.", "Hey!", "Wait for me!", "I'm sorry.", "Mind the step.", "Over here!", "Get down!",
    "Help me!", "No way.", "Of course.", "See you later.", "Good night.", "Be careful.", "Stay here.",
    "Run!", "Follow me.", "It's fine.", "Trust me.", "I can't.", "Why not?", "Who are you?", "Where is she?",
    "What was that?", "Are you okay?", "I got it.", "Leave me alone.", "That's enough.", "You're late.",
    "Listen to me.", "Not again.", "Say something.", "Don't move.", "Hurry up!", "Me too.", "Forget it.",
    "Same here.", "Good job.", "Watch out!", "Open the window.", "Take a seat.", "How much is it?",
    "Just a minute.", "Calm down.", "Let me see.", "Pass the salt, please.", "Happy birthday!",
    "All right then.", "Turn left here.", "Keep going.", "Any questions?", "Yes, sir.", "I love you.",
    "Come in.", "Thanks a lot.", "That's my car.", "Fair enough.", "Nice to meet you.", "Did you eat?",
    "Bye!", "Ready?", "No!", "OK", "Kenji!", "NASA", "Hmm.",
    # borrowed words and names, which pull a detector towards other languages
    "Bon appétit, everyone!", "Let's grab a latte at the café.", "Gesundheit!", "Kenji, over here!",
    "Oh my God.", "Mamma mia, look at this mess.", "Déjà vu, again.", "Adios, amigo.",
    "Hasta la vista, baby.", "Salut, Marie.", "Pardon me.", "Ciao for now.", "The fiancée arrived late.",
    "He's my protégé.",
]
ENGLISH_SENTENCES = [
    "Where are you going tonight?", "I told you not to touch that.", "We have to leave before dark.",
    "Nobody knows what really happened.", "Give me the keys, now.",
]
FRENCH_SENTENCES = [
    "Je ne sais pas ce que tu veux dire.", "Pourquoi tu ne m'as pas appelé hier soir ?",
    "On doit partir avant le coucher du soleil.", "Personne ne sait ce qui s'est vraiment passé.",
    "Donne-moi les clés de la voiture.",
]
HAN_ONLY = ["先生！", "本当？", "了解。", "大丈夫？", "日本人。"]


# Tags


@pytest.mark.parametrize("tag, code, note", [
    ("en", "en", ""),
    ("EN", "en", ""),
    ("ja", "ja", ""),
    ("zh", "zh", ""),
    ("en-US", "en", "--lang en-US: speaking en (English; the voices do not vary by region)"),
    ("en-GB", "en", "--lang en-GB: speaking en (English; the voices do not vary by region)"),
    ("en_us", "en", "--lang en_us: speaking en (English; the voices do not vary by region)"),
    ("ja-JP", "ja", "--lang ja-JP: speaking ja (Japanese; the voices do not vary by region)"),
    ("zh-Hans", "zh", "--lang zh-Hans: speaking zh (Mandarin Chinese)"),
    ("zh-CN", "zh", "--lang zh-CN: speaking zh (Mandarin Chinese; the voices do not vary by region)"),
    ("zh-Hans-CN", "zh", "--lang zh-Hans-CN: speaking zh (Mandarin Chinese; the voices do not vary by region)"),
    ("zh-Hant", "zh", "--lang zh-Hant: speaking zh (Mandarin Chinese, read from Traditional characters)"),
    ("zh-TW", "zh", "--lang zh-TW: speaking zh (Mandarin Chinese, read from Traditional characters; "
                    "the voices do not vary by region)"),
    ("zh-HK", "zh", "--lang zh-HK: speaking zh (Mandarin Chinese, read from Traditional characters; "
                    "Cantonese is not spoken; the voices do not vary by region)"),
    ("cmn", "zh", "--lang cmn: speaking zh (Mandarin Chinese)"),
    ("zh-cmn-Hant", "zh", "--lang zh-cmn-Hant: speaking zh (Mandarin Chinese, read from Traditional characters)"),
    ("jpn", "ja", "--lang jpn: speaking ja (Japanese)"),
    ("eng", "en", "--lang eng: speaking en (English)"),
    (" en-us ", "en", "--lang  en-us : speaking en (English; the voices do not vary by region)"),
])
def test_tags_map_to_supported_codes(tag, code, note):
    assert parse_language(tag, SUPPORTED) == LanguageChoice(code, tag, note)


@pytest.mark.parametrize("tag, says", [
    ("pt-BR", "Portuguese (pt) is not spoken"),
    ("fr", "French (fr) is not spoken"),
    ("de-DE", "German (de) is not spoken"),
    ("yue", "Cantonese (yue) is not spoken by dubber's engines; dubber speaks Mandarin (zh)"),
    ("zh-yue", "Cantonese (yue)"),
    ("xx", "'xx' is not a language dubber knows"),
])
def test_unsupported_languages_are_refused_with_the_supported_list(tag, says):
    with pytest.raises(UsageError) as caught:
        parse_language(tag, SUPPORTED)
    assert says in str(caught.value) and tag in str(caught.value) and "en, ja, zh" in str(caught.value)
    assert caught.value.supported == ["en", "ja", "zh"]


def test_a_script_the_language_is_not_read_from_is_refused():
    with pytest.raises(UsageError, match="--lang ja-Latn: Japanese is read from .*Jpan.* text, not Latn"):
        parse_language("ja-Latn", SUPPORTED)


@pytest.mark.parametrize("tag", ["", "e", "english", "en--US", "en-", "123", "en-toolongsubtag", "日本語", "en US"])
def test_malformed_tags_are_refused(tag):
    with pytest.raises(UsageError, match="not a language tag") as caught:
        parse_language(tag, SUPPORTED)
    assert caught.value.tag == tag


def test_supported_codes_come_from_the_caller():
    assert parse_language("pt-BR", ("en", "pt")).code == "pt"


# Scripts


@pytest.mark.parametrize("text, script", [
    ("ありがとう。", KANA), ("iPhoneを買った", KANA), ("先生！", HAN), ("Open the window.", LATIN),
    ("안녕하세요", "Hangul"), ("Привет!", "Cyrillic"), ("مرحبا", "Arabic"), ("Γεια σου", "Greek"),
    ("…!?", None), ("", None), ("OK、行こう！", KANA),
])
def test_main_script(text, script):
    assert main_script(text) == script


def test_script_settles_kana_hangul_and_greek():
    assert [(d.lang, d.by, d.confidence) for d in map(detect, ["はい", "네", "Ναι"])] == [
        ("ja", "script", 1.0), ("ko", "script", 1.0), ("el", "script", 1.0)]


def test_han_only_may_be_chinese_or_japanese_unless_a_character_settles_it():
    assert detect("先生！").candidates == ("zh", "ja")
    assert detect("他怎么了？").candidates == ("zh",)  # 么, simplified: Chinese only
    assert detect("気分転換").candidates == ("ja",)  # 気, 転: Japanese forms


def test_no_letters_is_no_language():
    assert detect("... !? 123").lang is None
    assert foreign_language("♪ ♪", "en") is None


# Foreign lines


def test_short_english_lines_are_never_foreign_in_an_english_dub():
    assert len(SHORT_ENGLISH) >= 40
    flagged = {line: foreign_language(line, "en") for line in SHORT_ENGLISH}
    assert {line: lang for line, lang in flagged.items() if lang} == {}


@pytest.mark.parametrize("dub", ["ja", "zh"])
def test_english_sentences_are_foreign_in_a_japanese_or_chinese_dub(dub):
    assert [foreign_language(line, dub) for line in ENGLISH_SENTENCES] == ["en"] * len(ENGLISH_SENTENCES)


@pytest.mark.parametrize("line", ["OK", "Kenji!", "NASA", "Hmm.", "No!", "Kenji Tanaka", "OK, OK", "New York"])
def test_names_and_interjections_are_not_foreign_in_a_japanese_dub(line):
    assert foreign_language(line, "ja") is None


def test_short_english_is_foreign_in_a_japanese_dub_though_its_language_is_unsure():
    assert foreign_language("Thank you.", "ja") == "und"


def test_french_sentences_are_foreign_in_an_english_dub():
    assert [foreign_language(line, "en") for line in FRENCH_SENTENCES] == ["fr"] * len(FRENCH_SENTENCES)


def test_short_french_is_left_to_the_reader():
    assert foreign_language("Merci.", "en") is None  # too little to tell, so spoken


@pytest.mark.parametrize("dub", ["ja", "zh"])
def test_han_only_lines_are_never_foreign_in_a_japanese_or_chinese_dub(dub):
    assert [foreign_language(line, dub) for line in HAN_ONLY] == [None] * len(HAN_ONLY)


def test_kana_is_foreign_in_a_chinese_dub_and_simplified_chinese_in_a_japanese_one():
    assert foreign_language("ありがとう。", "zh") == "ja"
    assert foreign_language("我们走吧，他们在等。", "ja") == "zh"
    assert foreign_language("我们走吧。", "zh") is None


def test_other_scripts_are_foreign_in_an_english_dub():
    lines = ["はい", "안녕하세요", "Привет, как дела?", "先生！"]
    assert [foreign_language(line, "en") for line in lines] == ["ja", "ko", "ru", "zh"]


def test_a_scorer_without_the_dub_language_never_flags():
    french_only = lambda text: {"fr": 1.0}  # noqa: E731
    line = "Je ne sais pas ce que tu veux dire."
    assert is_foreign(detect(line, french_only), line, "en") is False


def test_a_line_of_dictionary_words_is_never_foreign_in_an_english_dub():
    # lingua reads these as Swedish: but every word is in the English pronouncing dictionary
    swedish = lambda text: {"sv": 0.9, "en": 0.05}  # noqa: E731
    assert foreign_language("alpha beta gamma", "en", swedish) is None
    assert foreign_language("Hasta la vista, baby.", "en", lambda text: {"es": 0.9, "en": 0.05}) is None
    assert foreign_language("Je ne sais pas où il est parti ce matin.", "en") == "fr"


def test_a_line_must_stay_foreign_without_its_accents():
    # a scorer that sees French only in the accents, as a detector does with borrowed words
    scorer = lambda text: {"fr": 0.9, "en": 0.1} if "è" in text else {"fr": 0.4, "en": 0.6}  # noqa: E731
    line = "The crème brûlée was perfect tonight."
    assert detect(line, scorer).lang == "fr"
    assert foreign_language(line, "en", scorer) is None


def test_an_unknown_dub_language_is_refused():
    with pytest.raises(UsageError):
        foreign_language("Hello there, how are you?", "xx")


# Cue lists


def cues(*texts, skip=None):
    skip = skip or {}
    return [Cue(i, i * 1000, i * 1000 + 900, text, line=i * 4 - 2, skip=skip.get(i, ""))
            for i, text in enumerate(texts, start=1)]


HALF_TRANSLATED = cues(
    "おはよう、ケンジ。",
    "Where were you last night?",
    "ごめん、寝坊した。",
    "You always say that.",
    "先生！",
    "Thank you.",
    "OK",
    "[door slams]",
    "今日は何をするの？",
    "We have to finish the report today.",
    skip={8: SKIP_SOUND},
)


def test_mark_languages_skips_the_untranslated_lines_of_a_japanese_dub():
    marked, diagnostics = mark_languages(HALF_TRANSLATED, "ja", "talk.ja.srt")
    flagged = [(c.index, c.lang, c.skip) for c in marked if c.skip == SKIP_LANGUAGE]
    # "Thank you." is too short for lingua, but the file's other English lines name it
    assert flagged == [(2, "en", SKIP_LANGUAGE), (4, "en", SKIP_LANGUAGE), (6, "en", SKIP_LANGUAGE),
                       (10, "en", SKIP_LANGUAGE)]
    assert marked[1].skip_reason == "in English (en), not the dub's language (ja)"
    assert [(d.line, d.severity, d.code) for d in diagnostics] == [
        (6, "warning", "wrong-language"), (14, "warning", "wrong-language"),
        (22, "warning", "wrong-language"), (38, "warning", "wrong-language")]
    assert str(diagnostics[0]) == ("talk.ja.srt:6: warning: cue 2 is in English (en), not the dub's language "
                                   "(ja): not spoken")


def test_mark_languages_leaves_other_cues_alone():
    marked, _ = mark_languages(HALF_TRANSLATED, "ja", "talk.ja.srt")
    untouched = [i for i, (before, after) in enumerate(zip(HALF_TRANSLATED, marked)) if before is after]
    assert [HALF_TRANSLATED[i].index for i in untouched] == [1, 3, 5, 7, 8, 9]
    assert marked[7].skip == SKIP_SOUND and marked[7].lang is None  # already skipped: not looked at
    assert HALF_TRANSLATED[1].skip == ""  # the input is not changed


def test_mark_languages_in_an_english_dub_flags_only_the_japanese():
    marked, diagnostics = mark_languages(HALF_TRANSLATED, "en", "talk.srt")
    assert [(c.index, c.lang) for c in marked if c.skip == SKIP_LANGUAGE] == [(1, "ja"), (3, "ja"), (5, "ja"),
                                                                             (9, "ja")]
    assert marked[4].skip_reason == "in Japanese (ja), not the dub's language (en)"  # Han only: the file is ja
    assert len(diagnostics) == 4


def test_unsure_latin_lines_with_no_hint_are_undetermined():
    marked, _ = mark_languages(cues("はい、そうです。", "Thank you."), "ja", "a.srt")
    assert (marked[1].lang, marked[1].skip_reason) == (
        "und", "in Latin script (its language is unsure), not the dub's language (ja)")


def test_dominant_language():
    assert dominant_language(HALF_TRANSLATED) == "ja"
    assert dominant_language(cues(*ENGLISH_SENTENCES, "はい")) == "en"
    assert dominant_language(cues("先生！", "本当？", "了解。")) == "zh"  # Han with no kana anywhere
    assert dominant_language(cues("先生！", "本当？", "了解。", "そうですね。")) == "ja"
    assert dominant_language(cues("OK", "Hmm.", "♪")) is None
    assert dominant_language([]) is None


def test_the_detector_is_built_once():
    language.lingua_scores("Hello there.")
    first = language._detector
    language.lingua_scores("Bonjour tout le monde.")
    assert language._detector is first


def test_a_script_dubber_does_not_know_is_foreign_and_undetermined():
    marked, _ = mark_languages(cues("გამარჯობა, მეგობარო"), "en", "a.srt")
    assert (marked[0].lang, marked[0].skip_reason) == (
        "und", "in a script dubber does not know, not the dub's language (en)")


def test_mark_languages_refuses_an_unknown_dub_language():
    with pytest.raises(UsageError, match="'xx'"):
        mark_languages([], "xx", "a.srt")
