"""Pronunciation markup inside a line's text, and the per-project dictionary that writes it.

Two forms, as the engines dubber is measured against take them:

- Pinyin after Han characters fixes a polyphone: `她的爱好[h][ào]` (initial and final, the
  IndexTTS/CosyVoice convention) or `爱好[hao4]`. Several whole syllables after several
  characters go to them in order: `银行[yin2][hang2]`.
- `{word|IPA}` says an English word with the given IPA: `{tomato|təˈmɑːtoʊ}`.

A bracket that is not pinyin (`[laughs]`) is ordinary text. A bracket that looks like an attempt
(it carries a tone) but is not a syllable is an error naming it, as is a tag without characters
to attach to. Engines that read phonemes (Kokoro, Piper) honour the markup; `plain` gives the
words alone for engines that do not, for subtitles and for the recogniser.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from dubber.errors import UsageError

# CJK unified ideographs with extension A and the compatibility block: what pinyin can follow.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")
INITIALS = frozenset("b p m f d t n l g k h j q x zh ch sh r z c s y w".split())
TONE_MARKS = "\u0304\u0301\u030c\u0300"  # macron, acute, caron, grave: tones 1-4 after NFD

_TAG = r"\[[^\[\]{}|\n]{1,12}\]"
_TAGS_RE = re.compile(f"(?:{_TAG})+")
_ONE_TAG_RE = re.compile(r"\[([^\[\]]*)\]")
_PHONETIC_RE = re.compile(r"\{([^{}|\n]+)\|([^{}|\n]+)\}")
_PINYIN_SHAPE = re.compile(r"[a-zü]+[1-5]?")


class MarkupError(UsageError):
    """Pronunciation markup that cannot be read: a bad pinyin tag or a tag with nothing to attach to."""


@dataclass(frozen=True)
class Pinyin:
    """Han characters with the syllables written for them (TONE3: 'hao4', neutral tone 5)."""

    chars: str
    syllables: tuple[str, ...]
    tags: int  # bracket tags written, as hosted engines count them
    written: str = field(default="", compare=False)  # the markup as it stood in the text


@dataclass(frozen=True)
class Phonetic:
    """English words spoken with the IPA written for them."""

    word: str
    ipa: str
    written: str = field(default="", compare=False)


Piece = str | Pinyin | Phonetic


def tone3(syllable: str) -> str | None:
    """Return a pinyin syllable in TONE3 form ('hào' and 'hao4' -> 'hao4', 'de' -> 'de5'), None if not pinyin."""
    text = unicodedata.normalize("NFD", syllable.strip().lower()).replace("u\u0308", "ü").replace("v", "ü")
    tone = "5"
    marks = [ch for ch in text if ch in TONE_MARKS]
    if len(marks) > 1:
        return None
    if marks:
        tone = str(TONE_MARKS.index(marks[0]) + 1)
        text = text.replace(marks[0], "")
    text = unicodedata.normalize("NFC", text)
    if text[-1:].isdigit():
        if marks:
            return None
        text, tone = text[:-1], text[-1]
    if not re.fullmatch(r"[a-zü]+", text) or tone not in "12345" or not _is_syllable(text + tone):
        return None
    return text.replace("ü", "v") + tone


@functools.lru_cache(maxsize=2048)  # a few hundred syllables exist; lines are parsed again at every step
def _is_syllable(syllable: str) -> bool:
    """Whether the transcription table knows this TONE3 syllable (misaki's, which Kokoro was trained on)."""
    from misaki.transcription import pinyin_to_ipa

    try:
        return bool(pinyin_to_ipa(syllable))
    except (ValueError, KeyError, IndexError, AssertionError):
        return False


def _looks_like_pinyin(tag: str) -> bool:
    """Whether a bracket's content reads as a tried syllable or initial, so a failure is the writer's error."""
    text = unicodedata.normalize("NFD", tag.strip().lower())
    has_tone = any(ch in TONE_MARKS for ch in text) or tag.strip()[-1:] in "12345"
    plain = "".join(ch for ch in text if ch not in TONE_MARKS + "\u0308")
    return has_tone and bool(_PINYIN_SHAPE.fullmatch(plain.replace("v", "ü")))


def _syllables(tags: list[str]) -> list[tuple[str, int]] | None:
    """Group bracket contents into TONE3 syllables with the tags each used; None when they are not pinyin.

    An initial alone (`[h]`) joins the tag after it (`[ào]`), the IndexTTS/CosyVoice form.
    """
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(tags):
        tag = tags[i].strip()
        if tag.lower() in INITIALS and i + 1 < len(tags):
            joined = tone3(tag + tags[i + 1].strip())
            if joined is not None:
                out.append((joined, 2))
                i += 2
                continue
        syllable = tone3(tag)
        if syllable is None:
            return None
        out.append((syllable, 1))
        i += 1
    return out


def parse(text: str) -> list[Piece]:
    """Split `text` into plain runs, `Pinyin` and `Phonetic` pieces; raise MarkupError on a bad tag."""
    pieces: list[Piece] = []
    pos = 0
    for match in _markup_matches(text):
        start, end = match.span()
        before = text[pos:start]
        if match.re is _PHONETIC_RE:
            word, ipa = match.group(1).strip(), match.group(2).strip()
            _append(pieces, before)
            pieces.append(Phonetic(word, ipa, match.group(0)))
            pos = end
            continue
        tags = _ONE_TAG_RE.findall(match.group(0))
        grouped = _syllables(tags)
        if grouped is None:
            bad = next((t for t in tags if _looks_like_pinyin(t) and tone3(t) is None), None)
            if bad is not None:
                raise MarkupError(f"[{bad}] is not a pinyin syllable (write it like [hao4] or [h][ào])")
            continue  # not pinyin: ordinary text such as [laughs]
        run = re.search(f"[{HAN}]{{{len(grouped)}}}\\Z", before)
        if run is None:
            raise MarkupError(
                f"{match.group(0)} needs {len(grouped)} Han character{'s' if len(grouped) > 1 else ''} right before "
                f"it, found {HAN_RE.search(before) and before[-len(grouped):] or 'none'!r}")
        _append(pieces, before[:run.start()])
        pieces.append(Pinyin(run.group(0), tuple(s for s, _ in grouped), sum(n for _, n in grouped),
                             run.group(0) + match.group(0)))
        pos = end
    _append(pieces, text[pos:])
    return pieces


def _markup_matches(text: str) -> list[re.Match[str]]:
    """Every tag run and phonetic override, in order."""
    found = [*_PHONETIC_RE.finditer(text), *_TAGS_RE.finditer(text)]
    return sorted(found, key=lambda m: m.start())


def _append(pieces: list[Piece], run: str) -> None:
    """Add a plain run, merging it with a plain run before it."""
    if not run:
        return
    if pieces and isinstance(pieces[-1], str):
        pieces[-1] += run
    else:
        pieces.append(run)


def plain(text: str) -> str:
    """The words of `text` with the markup taken out: what a subtitle shows and a listener hears as words."""
    try:
        pieces = parse(text)
    except MarkupError:
        return _PHONETIC_RE.sub(lambda m: m.group(1), text)
    return "".join(p if isinstance(p, str) else p.chars if isinstance(p, Pinyin) else p.word for p in pieces)


def has_markup(text: str) -> bool:
    """Whether `text` carries any pinyin tag or phonetic override."""
    return any(not isinstance(p, str) for p in parse(text))


def markup(pieces: list[Piece]) -> str:
    """Write pieces back as text (whole syllables in TONE3 tags)."""
    out = []
    for piece in pieces:
        if isinstance(piece, Pinyin):
            out.append(piece.chars + "".join(f"[{s}]" for s in piece.syllables))
        elif isinstance(piece, Phonetic):
            out.append(f"{{{piece.word}|{piece.ipa}}}")
        else:
            out.append(piece)
    return "".join(out)


def check_entry(word: str, pronunciation: str) -> str:
    """Check a dictionary entry and return its pronunciation in the form `apply_dictionary` writes.

    A word with Han characters takes one pinyin syllable per character ('hang2 zhang3' or
    'háng zhǎng'); any other word takes IPA.
    """
    word, pronunciation = word.strip(), pronunciation.strip()
    if not word or not pronunciation:
        raise MarkupError(f"a pronunciation entry needs a word and its pronunciation, got {word!r}: {pronunciation!r}")
    if any(ch in word for ch in "[]{}|") or any(ch in pronunciation for ch in "[]{}|"):
        raise MarkupError(f"{word!r}: write the entry without brackets or '|'")
    han = HAN_RE.findall(word)
    if not han:
        return pronunciation
    if len(han) != len(word):
        raise MarkupError(f"{word!r}: a Chinese entry is Han characters only")
    syllables = [tone3(s) for s in pronunciation.replace(",", " ").split()]
    if any(s is None for s in syllables):
        bad = next(raw for raw, s in zip(pronunciation.split(), syllables) if s is None)
        raise MarkupError(f"{word!r}: {bad!r} is not a pinyin syllable")
    if len(syllables) != len(han):
        raise MarkupError(f"{word!r} has {len(han)} characters but {len(syllables)} syllables in {pronunciation!r}")
    return " ".join(s for s in syllables if s)


def apply_dictionary(text: str, entries: dict[str, str]) -> str:
    """Write the dictionary's pronunciations into `text` as markup, longest word first.

    Markup already in the line wins: words inside it are left alone. English words match whole
    and case-sensitively; Han words match anywhere.
    """
    if not entries:
        return text
    pattern, values = _compiled(tuple(entries.items()))
    return "".join(_apply_plain(piece, pattern, values) if isinstance(piece, str) else piece.written
                   for piece in parse(text))


@functools.lru_cache(maxsize=8)
def _compiled(entries: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """Check a dictionary once and build its matcher, longest word first: every line and every status
    check applies the same dictionary."""
    values = {word.strip(): check_entry(word, value) for word, value in entries}
    words = sorted(values, key=len, reverse=True)
    pattern = re.compile("|".join(
        re.escape(w) if HAN_RE.search(w) else rf"(?<![A-Za-z0-9'-]){re.escape(w)}(?![A-Za-z0-9'-])" for w in words))
    return pattern, values


def _apply_plain(run: str, pattern: re.Pattern[str], values: dict[str, str]) -> str:
    """Mark every dictionary word in a run without markup."""
    if not run:
        return run

    def mark(match: re.Match[str]) -> str:
        word = match.group(0)
        value = values[word]
        if HAN_RE.search(word):
            return word + "".join(f"[{s}]" for s in value.split())
        return f"{{{word}|{value}}}"

    return pattern.sub(mark, run)


# How an engine takes pronunciation (Capabilities.pronunciation).
FORM_MARKUP = "markup"  # dubber's own markup: the engine reads phonemes (Kokoro, Piper)
FORM_COSYVOICE = "cosyvoice"  # CosyVoice3: '[h][ào]' in place of the character
FORM_INDEXTTS = "indextts"  # IndexTTS: 'HAO4' in place of the character
FORM_PLAIN = ""  # words only


def for_engine(text: str, form: str) -> str:
    """Write `text` the way an engine with pronunciation form `form` takes it.

    Forms the engine cannot read lose their markup and keep their words, so a line always speaks.
    """
    if form == FORM_MARKUP:
        return text
    try:
        pieces = parse(text)
    except MarkupError:
        return plain(text)
    out = []
    for piece in pieces:
        if isinstance(piece, Pinyin) and form == FORM_COSYVOICE:
            out.append("".join(_cosyvoice_tags(s) for s in piece.syllables))
        elif isinstance(piece, Pinyin) and form == FORM_INDEXTTS:
            out.append("".join(s.upper() for s in piece.syllables))
        elif isinstance(piece, Pinyin):
            out.append(piece.chars)
        elif isinstance(piece, Phonetic):
            out.append(piece.word)
        else:
            out.append(piece)
    return "".join(out)


def _cosyvoice_tags(syllable: str) -> str:
    """'hao4' -> '[h][ào]'; a syllable without an initial is one tag: 'ai4' -> '[ài]'."""
    from pypinyin.contrib.tone_convert import to_finals_tone, to_initials

    initial = to_initials(syllable, strict=False)
    final = to_finals_tone(syllable, strict=False).replace("v", "ü")
    return f"[{initial}][{final}]" if initial else f"[{final}]"


def load_dictionary(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a pronunciation dictionary file: one `word = pronunciation` (or word, a tab, pronunciation)
    per line, `#` starting a comment. A bad line is an error naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such pronunciation dictionary") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the pronunciation dictionary: {exc}") from exc
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, sep, value = line.partition("=") if "=" in line else line.partition("\t")
        if not sep:
            raise MarkupError(f"{path}:{number}: write 'word = pronunciation', got {raw.strip()!r}")
        try:
            entries[word.strip()] = check_entry(word, value)
        except MarkupError as exc:
            raise MarkupError(f"{path}:{number}: {exc}") from None
    return entries
