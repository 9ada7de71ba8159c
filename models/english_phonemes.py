"""Turn English text into the misaki US-English symbols Kokoro v1.0 was trained on, by way of espeak-ng."""

from __future__ import annotations

import re
import unicodedata

from dubber.errors import EngineUnavailable
from dubber.models.espeak import ESPEAK_LOCK
from dubber.text.normalize import normalize
from dubber.text.pronunciation import Phonetic, Pinyin, parse

# Kokoro's English symbols: misaki's US set plus the punctuation Kokoro reads as pauses.
# Capitals are misaki's one-letter diphthongs: A=eɪ, I=aɪ, O=oʊ, W=aʊ, Y=ɔɪ.
CONSONANTS = "bdfhjklmnpstvwzɡŋɹʃʒðθʤʧɾ"
VOWELS = "əiuɑɔɛɜɪʊʌæᵻᵊAIOWY"
STRESS = "ˈˌ"
PUNCTUATION = ";:,.!?—…"
US_SYMBOLS = frozenset(CONSONANTS + VOWELS + STRESS + PUNCTUATION + " ")

SYLLABIC = "\u0329"  # combining mark espeak puts under a syllabic consonant

# espeak IPA -> misaki, longest first so digraphs win over their letters.
_REPLACEMENTS = (
    ("ʔˌn" + SYLLABIC, "tᵊn"),
    ("ʔn" + SYLLABIC, "tᵊn"),
    ("ɜːɹ", "ɜɹ"),
    ("ɜː", "ɜɹ"),
    ("ɝ", "ɜɹ"),
    ("ɚ", "əɹ"),
    ("aɪ", "I"),
    ("aʊ", "W"),
    ("eɪ", "A"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("ɔɪ", "Y"),
    ("dʒ", "ʤ"),
    ("tʃ", "ʧ"),
    ("r", "ɹ"),
    ("ɐ", "ə"),
    ("ɒ", "ɑ"),
    ("e", "A"),
    ("o", "ɔ"),
    ("a", "æ"),
    ("g", "ɡ"),
    ("x", "k"),
    ("ç", "k"),
    ("ɬ", "l"),
    ("ʔ", "t"),
    ("ː", ""),
    ("ʲ", ""),
    ("\u0303", ""),  # nasalised vowels in loanwords
)

# espeak ends a clause at '...' without giving a mark; a comma keeps Kokoro's pause there.
_CLAUSE_PAUSE = ","

_voice_ready = False


def normalize_text(text: str) -> str:
    """Spell out what espeak reads badly (numbers, dates, money, units, titles): `dubber.text.normalize`."""
    return normalize(text, "en")


def ipa_to_misaki(ipa: str) -> str:
    """Map one espeak-ng en-us IPA string to misaki symbols, dropping what Kokoro does not know."""
    ps = re.sub(r"\([^)]*\)", "", ipa)  # language-switch flags such as (fr)
    ps = unicodedata.normalize("NFD", ps)
    for old, new in _REPLACEMENTS:
        ps = ps.replace(old, new)
    # A syllabic consonant becomes a reduced vowel before it, as in misaki's 'ˈæpᵊl'.
    ps = re.sub(r"(\S)" + SYLLABIC, r"ᵊ\1", ps).replace(SYLLABIC, "")
    # espeak writes the '-le' of 'little' and 'apples' as a full schwa; misaki uses the reduced one.
    ps = re.sub(r"(?<=[" + CONSONANTS + r"])əl(?![" + VOWELS + STRESS + r"])", "ᵊl", ps)
    # espeak links 'sister only' with an extra r after its r-coloured vowel.
    ps = ps.replace("ɹɹ", "ɹ")
    ps = "".join(ch for ch in ps if ch in US_SYMBOLS)
    return re.sub(r"\s+", " ", ps).strip()


def _espeak_clauses(text: str) -> list[tuple[str, str, bool]]:
    """Run espeak-ng (as bundled with piper-tts) and return its (phonemes, terminator, ends sentence) clauses."""
    global _voice_ready
    try:
        from piper import espeakbridge
        from piper.phonemize_espeak import ESPEAK_DATA_DIR
    except ImportError as exc:
        raise EngineUnavailable(
            f"English phonemes need espeak-ng from piper-tts ({exc}); run: pip install piper-tts",
            hint="pip install piper-tts") from exc
    with ESPEAK_LOCK:
        if not _voice_ready:
            espeakbridge.initialize(str(ESPEAK_DATA_DIR))
            _voice_ready = True
        espeakbridge.set_voice("en-us")  # piper's phonemizer sets its voice's own on the same state
        return list(espeakbridge.get_phonemes(text))


def phonemize(text: str) -> str:
    """Return the Kokoro phoneme string for English `text` ('' when nothing is speakable).

    `{word|IPA}` overrides (dubber.text.pronunciation) are spoken from their IPA; the rest through espeak-ng.
    """
    pieces = parse(text)
    if not any(isinstance(piece, Phonetic) for piece in pieces):
        return _phonemize_plain("".join(p.chars if isinstance(p, Pinyin) else p for p in pieces))
    out = []
    for piece in pieces:
        if isinstance(piece, Phonetic):
            out.append(ipa_to_misaki(piece.ipa))
        else:
            out.append(_phonemize_plain(piece.chars if isinstance(piece, Pinyin) else piece))
    return re.sub(r" +(?=[" + re.escape(PUNCTUATION) + "])", "", " ".join(ps for ps in out if ps))


def _phonemize_plain(text: str) -> str:
    """Phonemize text without markup through espeak-ng, clause by clause."""
    text = normalize_text(text).strip()
    if not text:
        return ""
    out = []
    clauses = _espeak_clauses(text)
    for i, (ipa, terminator, end_of_sentence) in enumerate(clauses):
        ps = ipa_to_misaki(ipa)
        if not ps:
            continue
        last = i == len(clauses) - 1
        if terminator and terminator in PUNCTUATION:
            ps += terminator
        elif not last and not end_of_sentence:
            ps += _CLAUSE_PAUSE
        out.append(ps)
    return " ".join(out)
