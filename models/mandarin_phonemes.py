"""Turn Mandarin text into the IPA-with-tone-arrows symbols Kokoro v1.0 was trained on.

The chain is the one misaki's v1.0 Chinese front end uses, so the model hears what it was trained
on: jieba cuts words, pypinyin gives each character its syllable in word context (TONE3, neutral
tone 5), and misaki's transcription table turns syllables into IPA with the tones as arrows
(→ 1, ↗ 2, ↓ 3, ↘ 4; the neutral tone unmarked), words joined by spaces. No tone sandhi is applied:
the v1.0 training labels had none, so the model learned to realise it from context.

What dubber adds: numbers, dates and units are spelt out first (`dubber.text.normalize`); pinyin tags
(`好[h][ào]`, `好[hao4]`) replace the syllables pypinyin would choose, keeping the word cut around
them; English words inside a line are spoken through the English front end (Kokoro's vocabulary
holds both); `{word|IPA}` overrides go in as given.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dubber.models.english_phonemes import ipa_to_misaki
from dubber.models.english_phonemes import phonemize as english_phonemize
from dubber.text.normalize import normalize
from dubber.text.pronunciation import HAN, Phonetic, Pinyin, parse

_lock = threading.Lock()  # jieba builds its dictionary on first use; do it once
_ready = False
_COMBINING_BREVE_BELOW = "\u032f"  # misaki drops it from diphthongs ('au̯'); Kokoro has no token for it
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*(?:\s+[A-Za-z][A-Za-z0-9'’\-]*)*")


@dataclass(frozen=True)
class _Han:
    """One Han character and the syllable a tag gave it (None: pypinyin decides)."""

    char: str
    syllable: str | None = None


def _segments(text: str) -> list[str | _Han | Phonetic]:
    """Flatten markup into plain runs, Han characters (tagged or not) and phonetic overrides."""
    pieces = parse(text)
    out: list[str | _Han | Phonetic] = []
    for piece in pieces:
        if isinstance(piece, Pinyin):
            out.extend(_Han(ch, s) for ch, s in zip(piece.chars, piece.syllables))
        elif isinstance(piece, Phonetic):
            out.append(piece)
        else:
            for run in re.split(f"([{HAN}])", piece):
                if len(run) == 1 and re.match(f"[{HAN}]", run):
                    out.append(_Han(run))
                elif run:
                    out.append(run)
    return out


def _words(chars: list[_Han]) -> list[list[str]]:
    """Return the TONE3 syllables of a run of Han characters, grouped by jieba's words, tags applied."""
    global _ready
    import jieba
    from pypinyin import Style, lazy_pinyin

    with _lock:
        if not _ready:
            jieba.setLogLevel(60)  # its start-up chatter is not ours to print
            jieba.initialize()
            _ready = True
    text = "".join(h.char for h in chars)
    words, pos = [], 0
    for word in jieba.lcut(text, cut_all=False):
        syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
        if len(syllables) != len(word):  # pypinyin groups nothing for Han text; guard anyway
            syllables = [lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True)[0] for ch in word]
        words.append([chars[pos + i].syllable or s for i, s in enumerate(syllables)])
        pos += len(word)
    return words


def syllables(text: str) -> list[str]:
    """The TONE3 syllables `phonemize` speaks for the Han characters of `text`, tags applied."""
    han = [seg for seg in _segments(text) if isinstance(seg, _Han)]
    return [s for word in _words(han) for s in word] if han else []


def syllable_ipa(syllable: str) -> str:
    """One TONE3 syllable in Kokoro's symbols ('hao4' -> 'xau↘')."""
    from misaki.zh import ZHG2P

    return ZHG2P.py2ipa(syllable).replace(_COMBINING_BREVE_BELOW, "")


def _punctuation(run: str) -> str:
    """Chinese punctuation as the ASCII marks Kokoro reads as pauses (misaki's mapping)."""
    from misaki.zh import ZHG2P

    # A mark keeps the space after it that misaki writes, and none before, as in training.
    return ZHG2P.map_punctuation(run) + " " if run.strip() else run


def phonemize(text: str, english: Callable[[str], str] | None = None, normalized: bool = False) -> str:
    """Return Kokoro's phoneme string for Mandarin `text` (markup honoured); '' when nothing is speakable.

    `english` speaks Latin-letter words (default: the espeak-based English front end).
    """
    english = english or english_phonemize
    if not normalized:
        text = normalize(text, "zh")
    out: list[str] = []
    han: list[_Han] = []

    def flush() -> None:
        if han:
            out.append(" ".join("".join(syllable_ipa(s) for s in word) for word in _words(han)))
            han.clear()

    for segment in _segments(text):
        if isinstance(segment, _Han):
            han.append(segment)
            continue
        flush()
        if isinstance(segment, Phonetic):
            out.append(f" {ipa_to_misaki(segment.ipa)} ")
        else:
            out.append(_speak_run(segment, english))
    flush()
    spoken = re.sub(r"\s+", " ", "".join(out)).strip()
    return re.sub(r" (?=[,.!?;:])", "", spoken)


def _speak_run(run: str, english: Callable[[str], str]) -> str:
    """A run without Han characters: English words through `english`, punctuation as pause marks."""
    pieces, pos = [], 0
    for match in _LATIN.finditer(run):
        pieces.append(_punctuation(run[pos:match.start()]))
        pieces.append(f" {english(match.group(0))} ")
        pos = match.end()
    pieces.append(_punctuation(run[pos:]))
    return "".join(pieces)
