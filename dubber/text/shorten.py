"""Propose a shorter line for a dub that cannot fit its window: what an adapter cuts first.

The rules take out what carries least, in this order, and stop once enough is gone: asides in
brackets or between dashes, hesitations (uh, um), a word said twice over, discourse fillers set off
by commas (you know, I mean, I think, well, like), a leading and/so/but/well/oh, then hedges (actually,
really, just, basically ...) that lean on a following word. A line is never emptied. English only: in
another language the text comes back unchanged, with the reason and how many words must go.

How much must go is rough: a line `ratio` times too long (its natural length over its window) fits
at `fastest` (the fastest the fitter may speak it, ×1.0 for its natural pace) once about
1 - fastest / ratio of its words are cut.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from dubber.text.pronunciation import plain

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_ASIDES = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\]|\s[—–]\s?[^—–]+?\s?[—–](?=\s)|—[^—]+—)")
_HESITATIONS = re.compile(r"(?i)(?<![\w'’-])(?:u+h+|u+m+|e+r+m*|a+h+|hm+|mm+)(?![\w'’-])[,.…]*")
# Said twice: "I I", "no, no, no". Words that grammar repeats are left ("that that", "had had").
_REPEATED = re.compile(r"(?i)(?<![\w'’-])([^\W_]+)(?:[,\s]+\1(?![\w'’-]))+")
_GRAMMAR_REPEATS = {"that", "had", "is"}
_FILLERS = re.compile(r"(?i)(^|[,;:.!?])\s*(?:you know|i mean|you see|i think|i guess|like|well|okay|ok|oh)"
                      r"\s*(?:,|(?=[.!?;…])|$)")
_LEADING = re.compile(r"(?i)(^|[.!?…]\s+)(?:and|so|but|well|oh|now|okay)(?:,\s*|\s+)(?=[^\W_])")
_HEDGES = re.compile(r"(?i)(?<![\w'’-])(?:actually|really|just|basically|literally|honestly|totally|simply|"
                     r"kinda|sorta|definitely|pretty much)(?![\w'’-]),?\s+(?=[^\W_])")


@dataclass(frozen=True)
class Shortening:
    """A proposed shorter line and what is left to do."""

    text: str  # the proposal; the line itself when nothing could go
    cut: int  # words cut
    more: int  # roughly how many more words must go for the line to fit (0: enough)
    reason: str = ""  # why nothing was cut: another language, nothing to cut, it fits already


def words(text: str) -> int:
    """How many words a line speaks (markup aside)."""
    return len(_WORD.findall(plain(text)))


def words_to_cut(count: int, ratio: float, fastest: float = 1.0) -> int:
    """Roughly how many of a line's `count` words must go for it to fit, `ratio` times too long for its
    window at its natural pace, when it may be spoken up to `fastest` times faster."""
    if ratio <= fastest or count == 0:
        return 0
    return min(count, math.ceil(count * (1 - fastest / ratio) - 1e-9))


def shorten(text: str, lang: str, ratio: float, fastest: float = 1.0) -> Shortening:
    """Propose a shorter `text` for a line `ratio` (natural length / window) times too long, spoken at
    most `fastest` times faster than natural: the rules above, in order, until enough is cut."""
    count = words(text)
    need = words_to_cut(count, ratio, fastest)
    if not lang.lower().startswith("en"):
        return Shortening(text, 0, need, f"the shortening rules are for English, not {lang}")
    if need == 0:
        return Shortening(text, 0, 0, "it fits without cutting a word")
    current = text
    for rule in _RULES:
        proposal = _tidy(rule(current), text)
        if words(proposal) == 0:
            continue  # never empty the line
        current = proposal
        if count - words(current) >= need:
            break
    cut = count - words(current)
    if cut == 0:
        return Shortening(text, 0, need, "nothing to cut by rule")
    return Shortening(current, cut, max(need - cut, 0))


def _drop_asides(text: str) -> str:
    return _ASIDES.sub("", text)


def _drop_hesitations(text: str) -> str:
    return _HESITATIONS.sub("", text)


def _drop_repeats(text: str) -> str:
    return _REPEATED.sub(lambda m: m.group(0) if m.group(1).lower() in _GRAMMAR_REPEATS else m.group(1), text)


def _drop_fillers(text: str) -> str:
    # Keep the punctuation before the filler; two fillers in a row go in two passes.
    return _FILLERS.sub(lambda m: m.group(1), _FILLERS.sub(lambda m: m.group(1), text))


def _drop_leading(text: str) -> str:
    return _LEADING.sub(lambda m: m.group(1), text)


def _drop_hedges(text: str) -> str:
    return _HEDGES.sub("", _HEDGES.sub("", text))  # twice: "just really" overlaps in one pass


_RULES: tuple[Callable[[str], str], ...] = (_drop_asides, _drop_hesitations, _drop_repeats, _drop_fillers,
                                            _drop_leading, _drop_hedges)


def _tidy(text: str, original: str) -> str:
    """Mend the spacing and punctuation a cut leaves, and capitalise sentences as the line did."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.!?;:…])", r"\1", text)
    text = re.sub(r",(?:\s*,)+", ",", text)
    text = re.sub(r",\s*([.!?;:…])", r"\1", text)
    text = re.sub(r"^[,;:\s]+", "", text)
    text = re.sub(r"([.!?…])(?=[^\W\d_])", r"\1 ", text)
    if original[:1].isupper():
        text = text[:1].upper() + text[1:]
    return re.sub(r"([.!?…]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
