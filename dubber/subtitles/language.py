"""Language tags for --lang, and each subtitle line's own language, found offline."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

from dubber.errors import UsageError
from dubber.subtitles.cue import SKIP_LANGUAGE, Cue, Diagnostic
from dubber.text.scripts import (ARABIC, CYRILLIC, DEVANAGARI, GREEK, HAN, HANGUL, HEBREW, KANA, LATIN, OTHER, THAI,
                                 main_script, script_of, words)

if TYPE_CHECKING:
    from lingua import LanguageDetector

# ---------------------------------------------------------------- tags

NAMES = {
    "en": "English", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "fr": "French", "de": "German",
    "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "tr": "Turkish",
    "sv": "Swedish", "ro": "Romanian", "id": "Indonesian", "vi": "Vietnamese", "da": "Danish",
    "nb": "Norwegian", "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "hu": "Hungarian", "ru": "Russian",
    "uk": "Ukrainian", "bg": "Bulgarian", "sr": "Serbian", "el": "Greek", "ar": "Arabic", "fa": "Persian",
    "he": "Hebrew", "th": "Thai", "hi": "Hindi", "yue": "Cantonese", "und": "an undetermined language",
}
# ISO 639-2/3 codes (both the B and T forms) for the two-letter codes above.
_THREE = {
    "eng": "en", "jpn": "ja", "zho": "zh", "chi": "zh", "cmn": "zh", "kor": "ko", "fra": "fr", "fre": "fr",
    "deu": "de", "ger": "de", "spa": "es", "ita": "it", "por": "pt", "nld": "nl", "dut": "nl", "pol": "pl",
    "tur": "tr", "swe": "sv", "ron": "ro", "rum": "ro", "ind": "id", "vie": "vi", "dan": "da", "nob": "nb",
    "nor": "no", "fin": "fi", "ces": "cs", "cze": "cs", "hun": "hu", "rus": "ru", "ukr": "uk", "bul": "bg",
    "srp": "sr", "ell": "el", "gre": "el", "ara": "ar", "fas": "fa", "per": "fa", "heb": "he", "tha": "th",
    "hin": "hi",
}
# ISO 15924 scripts each spoken language may be written in; a tag naming another is refused.
_TAG_SCRIPTS = {"en": {"Latn"}, "ja": {"Jpan", "Hrkt", "Hira", "Kana", "Hani"}, "zh": {"Hans", "Hant", "Hani"},
                "ko": {"Kore", "Hang"}}
_TRADITIONAL_REGIONS = {"TW", "HK", "MO"}
_CANTONESE_REGIONS = {"HK", "MO"}


@dataclass(frozen=True)
class LanguageChoice:
    """What a --lang tag means: dubber's code for it, and a note on what was mapped."""

    code: str  # dubber's language code, e.g. "en"
    tag: str  # the tag as given, e.g. "en-US"
    note: str = ""  # one sentence on the mapping, "" when the tag was already a bare supported code


def parse_language(tag: str, supported: Collection[str]) -> LanguageChoice:
    """Map a BCP-47 tag (en-US, zh_Hant, cmn, jpn) to one of the `supported` codes, or raise UsageError."""
    listed = ", ".join(sorted(supported))
    parts = re.split(r"[-_]", tag.strip())
    if not _well_formed(parts):
        raise UsageError(f"--lang {tag!r} is not a language tag; use one of {listed} "
                         "(or a tag such as en-US)", tag=tag, supported=sorted(supported))
    primary = parts[0].lower()
    rest = parts[1:]
    if primary == "zh" and rest and len(rest[0]) == 3 and rest[0].isalpha():
        primary = rest.pop(0).lower()  # an extended language subtag: zh-cmn, zh-yue
    code = _THREE.get(primary, primary)
    script = rest.pop(0).title() if rest and len(rest[0]) == 4 and rest[0].isalpha() else None
    region = rest.pop(0).upper() if rest and (len(rest[0]) == 2 and rest[0].isalpha()
                                              or len(rest[0]) == 3 and rest[0].isdigit()) else None
    if code not in supported:
        what = (f"{NAMES[code]} ({code}) is not spoken by dubber's engines" if code in NAMES
                else f"{primary!r} is not a language dubber knows")
        hint = "; dubber speaks Mandarin (zh)" if code == "yue" and "zh" in supported else ""
        raise UsageError(f"--lang {tag}: {what}{hint}; use one of {listed}",
                         tag=tag, supported=sorted(supported))
    if script is not None and code in _TAG_SCRIPTS and script not in _TAG_SCRIPTS[code]:
        raise UsageError(f"--lang {tag}: {NAMES[code]} is read from {'/'.join(sorted(_TAG_SCRIPTS[code]))} "
                         f"text, not {script}", tag=tag, supported=sorted(supported))
    if tag.strip().lower() == code:
        return LanguageChoice(code, tag)
    name = NAMES.get(code, code)
    if code == "zh":
        name = "Mandarin Chinese"
        if script == "Hant" or script is None and region in _TRADITIONAL_REGIONS:
            name += ", read from Traditional characters"
    said = [name]
    if code == "zh" and region in _CANTONESE_REGIONS:
        said.append("Cantonese is not spoken")
    if region is not None:
        said.append("the voices do not vary by region")
    return LanguageChoice(code, tag, f"--lang {tag}: speaking {code} ({'; '.join(said)})")


def _well_formed(parts: list[str]) -> bool:
    """Check a tag's subtags: a 2-3 letter language, then 1-8 letter or digit subtags."""
    if not parts or not all(p.isascii() and p.isalnum() and len(p) <= 8 for p in parts):
        return False
    return parts[0].isalpha() and len(parts[0]) in (2, 3)


# ---------------------------------------------------------------- scripts

_ONE_LANGUAGE = {KANA: "ja", HANGUL: "ko", GREEK: "el", HEBREW: "he", THAI: "th", DEVANAGARI: "hi"}
# The script each language's lines are written in; the others share theirs, so lingua weighs them.
SCRIPT_OF = {"ja": KANA, "zh": HAN, "ko": HANGUL, "el": GREEK, "he": HEBREW, "th": THAI, "hi": DEVANAGARI,
             "ru": CYRILLIC, "uk": CYRILLIC, "bg": CYRILLIC, "sr": CYRILLIC, "ar": ARABIC, "fa": ARABIC}
SCRIPT_OF.update({code: LATIN for code in NAMES if code not in SCRIPT_OF and code not in ("yue", "und")})
# The scripts a dub language's own lines may be in: Japanese writes Han words without kana ("先生！").
_OWN_SCRIPTS = {"ja": {KANA, HAN}}
# Common characters that Chinese writes and Japanese does not (simplified forms, and traditional ones
# Japan simplified differently), and the reverse: one settles a Han-only line that kana cannot.
_ZH_ONLY = set("们这说吗呢吧么还让给话对时过为样她啊东车门见长马开关问间听买卖飞电谢请认识现经谁"
               "們嗎說麼讓對樣裡聽關經妳")
_JA_ONLY = set("気込働畑様駅払広変売読続楽薬転伝円図歳戦済発権辺険検験実悪県黒団覚帰単両")


# ---------------------------------------------------------------- detection

# Thresholds for telling same-script languages apart, tuned on bench/data/short_lines.tsv and the
# short English lines in tests/dubber/subtitles/test_language.py: lingua gives a correct short English line as
# little as 0.16-0.5 ("It's fine.", "Hold on."), so only a line with enough evidence is judged. A line
# must also stay foreign without its accents: "The crème brûlée was perfect." is English that lingua
# calls French for its è, û and é. With that, the first English line of the bench or the tests to go
# foreign does so at a share of 0.45 ("It's a fait accompli."); 0.2 keeps a margin of two.
MIN_WORDS = 3  # fewer words are never judged by lingua
MIN_LETTERS = 12
MIN_TOP = 0.3  # the top language's confidence, to be believed
MAX_DUB_SHARE = 0.3  # the dub language's confidence, as a share of the top one's, for a line to be foreign
# The same, with accents stripped: that guards English lines with borrowed words ("crème brûlée"), and
# may be looser, as stripping accents also takes away much of a foreign line's evidence.
MAX_BARE_DUB_SHARE = 0.35
# A line whose words are mostly in the dub language's dictionary is never foreign: lingua's scores on a
# few words of names or jargon can favour any language. 3 of 4 in: "Hasta la vista, baby." stays.
MIN_LEXICON_SHARE = 0.75
# A Latin line in a non-Latin dub needs only this much to be foreign ("Thank you."), unless all its
# words are capitalised: a name, a title or an acronym ("Kenji Tanaka", "NASA", "OK").
MIN_FOREIGN_LATIN_WORDS = 2
MIN_FOREIGN_LATIN_LETTERS = 6
MAX_NAME_WORDS = 3
MIN_SCRIPT_LETTERS = 2  # a line in a script the dub never uses is foreign from two letters ("はい")
MIN_SETTLED_HAN = 4  # a Han-only line settled by one zh- or ja-only character is foreign from four
UND = "und"  # BCP-47's "undetermined": the script is certain, the language is not

# Languages lingua weighs a Latin, Cyrillic or Arabic line against. The Latin ones are those subtitles
# are most often in (OpenSubtitles' largest). Each Latin model costs ~25 MB once a Latin line is seen
# (lingua loads models lazily, so Cyrillic and Arabic cost nothing until such a line comes), and every
# extra language is another way to misread a short English line: with 18 Latin languages lingua named
# 93 % of the bench's plain English lines right, with these 10, 96 %. Other scripts settle themselves.
LINGUA_LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "nl", "pl", "tr", "sv", "ru", "uk", "ar", "fa")

Scorer = Callable[[str], Mapping[str, float]]  # a line's confidence (0-1) for each language code

_detector_lock = threading.Lock()
_detector: LanguageDetector | None = None


def _lingua() -> LanguageDetector:
    """Build lingua's detector once per process (~260 MB once all Latin models have loaded)."""
    global _detector
    with _detector_lock:
        if _detector is None:
            from lingua import IsoCode639_1, LanguageDetectorBuilder  # heavy: only when a line needs it

            codes = [getattr(IsoCode639_1, code.upper()) for code in LINGUA_LANGUAGES]
            _detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
        return _detector


def lingua_scores(text: str) -> dict[str, float]:
    """Score a line with lingua: confidence per language code."""
    return {value.language.iso_code_639_1.name.lower(): value.value
            for value in _lingua().compute_language_confidence_values(text)}


@dataclass(frozen=True)
class Detection:
    """A line's language as far as it can be told, and how it was told."""

    lang: str | None  # the likeliest language code; None when the line has no letters
    confidence: float  # 0-1
    by: str  # "script" (certain from the letters), "lingua" (enough evidence), "unsure"
    script: str | None = None  # the line's main script (KANA, HAN, LATIN, ...)
    candidates: tuple[str, ...] = ()  # the languages it may be in, likeliest first; ("zh", "ja") for Han only
    scores: tuple[tuple[str, float], ...] = ()  # same-script languages' confidences, best first
    bare_scores: tuple[tuple[str, float], ...] = ()  # the same for the line without its accents

    @property
    def settled(self) -> bool:
        """Whether the line is known to be in one language."""
        return self.by != "unsure" and len(self.candidates) == 1


def detect(text: str, scorer: Scorer | None = None) -> Detection:
    """Tell a line's language: by its script where that settles it, else by lingua (or `scorer`)."""
    script = main_script(text)
    if script is None:
        return Detection(None, 0.0, "unsure")
    if script in _ONE_LANGUAGE:
        lang = _ONE_LANGUAGE[script]
        return Detection(lang, 1.0, "script", script, (lang,))
    if script == HAN:
        return _han(text)
    if script == OTHER:
        return Detection(UND, 0.0, "unsure", script)
    score = scorer or lingua_scores
    ranked = _rank(score(text), script)
    if not ranked:
        return Detection(UND, 0.0, "unsure", script)
    bare = _strip_accents(text)
    bare_ranked = ranked if bare == text else _rank(score(bare), script)
    top, confidence = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    sure = (len(words(text)) >= MIN_WORDS and _letters(text) >= MIN_LETTERS
            and confidence >= MIN_TOP and runner_up <= confidence / 2)
    return Detection(top, confidence, "lingua" if sure else "unsure", script, (top,) if sure else (),
                     ranked, bare_ranked)


def _rank(scores: Mapping[str, float], script: str) -> tuple[tuple[str, float], ...]:
    """Keep the languages written in `script`, their confidences summing to 1, best first."""
    mine = {code: value for code, value in scores.items() if SCRIPT_OF.get(code) == script}
    total = sum(mine.values())
    if not total:
        return ()
    return tuple(sorted(((code, value / total) for code, value in mine.items()), key=lambda cv: -cv[1]))


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def _han(text: str) -> Detection:
    """Tell a Han-only line: Chinese or Japanese, unless a zh- or ja-only character settles it."""
    zh = sum(ch in _ZH_ONLY for ch in text)
    ja = sum(ch in _JA_ONLY for ch in text)
    if zh != ja:
        lang = "zh" if zh > ja else "ja"
        return Detection(lang, 1.0, "script", HAN, (lang,))
    return Detection("zh", 0.5, "script", HAN, ("zh", "ja"))


def _letters(text: str) -> int:
    return sum(script_of(ch) is not None for ch in text)


def _own_scripts(dub_lang: str) -> set[str]:
    """Name the scripts a dub language's own lines may be in, or raise UsageError for an unknown one."""
    if dub_lang not in SCRIPT_OF:
        raise UsageError(f"no script known for the dub language {dub_lang!r}", lang=dub_lang)
    return _OWN_SCRIPTS.get(dub_lang, {SCRIPT_OF[dub_lang]})


def is_foreign(detection: Detection, text: str, dub_lang: str) -> bool:
    """Whether a detected line is confidently not in the dub's language."""
    own = _own_scripts(dub_lang)
    if detection.lang is None or dub_lang in detection.candidates:
        return False
    script = detection.script
    if script in own and script in (KANA, HAN):
        return detection.settled and _letters(text) >= MIN_SETTLED_HAN
    if script in own:  # same script (en vs fr): only a line with enough evidence, clearly not the dub's
        return (len(words(text)) >= MIN_WORDS and _letters(text) >= MIN_LETTERS
                and _clearly_not(detection.scores, dub_lang)
                and _clearly_not(detection.bare_scores, dub_lang, MAX_BARE_DUB_SHARE)
                and not _in_lexicon(text, dub_lang))
    if script == LATIN:  # Latin letters in a ja or zh dub are often a name or an acronym
        found = words(text)
        named = len(found) <= MAX_NAME_WORDS and all(w[0].isupper() for w in found)
        return (len(found) >= MIN_FOREIGN_LATIN_WORDS and _letters(text) >= MIN_FOREIGN_LATIN_LETTERS
                and not named)
    return _letters(text) >= MIN_SCRIPT_LETTERS


def _in_lexicon(text: str, lang: str) -> bool:
    """Whether most of a line's words are in the language's pronouncing dictionary (English only: misaki's,
    which Kokoro's front end ships): "alpha beta gamma" reads as Swedish to lingua, but every word is English."""
    lexicon = _lexicon(lang)
    found = [w.lower() for w in words(text)]
    return bool(lexicon) and bool(found) and sum(w in lexicon for w in found) >= MIN_LEXICON_SHARE * len(found)


@cache
def _lexicon(lang: str) -> frozenset[str]:
    if lang != "en":
        return frozenset()
    import json
    from importlib import resources

    data = resources.files("misaki") / "data"
    known: set[str] = set()
    for name in ("us_gold.json", "us_silver.json"):
        known.update(word.lower() for word in json.loads((data / name).read_text(encoding="utf-8")))
    return frozenset(known)


def _clearly_not(ranked: tuple[tuple[str, float], ...], dub_lang: str, share: float = MAX_DUB_SHARE) -> bool:
    """Whether confidences put a line clearly in another language than the dub's."""
    scores = dict(ranked)
    if dub_lang not in scores:
        return False  # the scorer cannot weigh the dub's language against the others
    top_lang, top = ranked[0]
    return top_lang != dub_lang and top >= MIN_TOP and scores[dub_lang] <= share * top


def foreign_language(text: str, dub_lang: str, scorer: Scorer | None = None) -> str | None:
    """Name a line's language when it is confidently not the dub's ("und" when only its script is sure)."""
    detection = detect(text, scorer)
    return _label(detection, {}) if is_foreign(detection, text, dub_lang) else None


def _group(script: str | None) -> str | None:
    return HAN if script == KANA else script


def _label(detection: Detection, hints: Mapping[str | None, str]) -> str:
    """Name a foreign line's language: its own where settled, else the file's commonest in its script."""
    hint = hints.get(_group(detection.script))
    if detection.by == "unsure":
        return hint or UND
    if hint is not None and len(detection.candidates) > 1 and hint in detection.candidates:
        return hint
    return detection.lang or UND


# ---------------------------------------------------------------- cues

def mark_languages(cues: list[Cue], dub_lang: str, path: str,
                   scorer: Scorer | None = None) -> tuple[list[Cue], list[Diagnostic]]:
    """Skip the cues not in the dub's language, with one warning each; other skipped cues stay as they are."""
    _own_scripts(dub_lang)
    detections = [None if cue.skip else detect(cue.text, scorer) for cue in cues]
    hints = _hints([d for d in detections if d is not None])
    marked: list[Cue] = []
    diagnostics: list[Diagnostic] = []
    for cue, detection in zip(cues, detections):
        if detection is None or not is_foreign(detection, cue.text, dub_lang):
            marked.append(cue)
            continue
        lang = _label(detection, hints)
        reason = f"{_describe(lang, detection)}, not the dub's language ({dub_lang})"
        marked.append(replace(cue, skip=SKIP_LANGUAGE, skip_reason=reason, lang=lang))
        diagnostics.append(Diagnostic(path, cue.line, "warning", "wrong-language",
                                      f"cue {cue.index} is {reason}: not spoken"))
    return marked, diagnostics


def _describe(lang: str, detection: Detection) -> str:
    if lang == UND:
        if detection.script in (None, OTHER):
            return "in a script dubber does not know"
        return f"in {detection.script} script (its language is unsure)"
    if len(detection.candidates) > 1 and lang == detection.lang:
        return "in Chinese or Japanese (Han characters only)"
    return f"in {NAMES.get(lang, lang)} ({lang})"


def _hints(detections: Collection[Detection]) -> dict[str | None, str]:
    """Find each script's commonest settled language among a file's lines."""
    counts: dict[str | None, Counter[str]] = {}
    for d in detections:
        if d.settled and d.lang is not None:
            counts.setdefault(_group(d.script), Counter())[d.lang] += 1
    return {script: counter.most_common(1)[0][0] for script, counter in counts.items()}


def dominant_language(cues: list[Cue], scorer: Scorer | None = None) -> str | None:
    """Name the language most of the spoken cues are confidently in, or None when none is."""
    detections = [detect(cue.text, scorer) for cue in cues if cue.spoken]
    counts = Counter(d.lang for d in detections if d.settled and d.lang is not None)
    # Han-only lines go with the file's settled Chinese or Japanese; with neither (no kana anywhere),
    # Han is Chinese: Japanese text nearly always has kana.
    han = sum(1 for d in detections if d.script == HAN and not d.settled)
    if han:
        counts["ja" if counts["ja"] > counts["zh"] else "zh"] += han
    counts = +counts
    return counts.most_common(1)[0][0] if counts else None
