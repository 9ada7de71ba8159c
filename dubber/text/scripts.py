"""Which script a letter or a line is written in (Latin, kana, Han, Hangul, ...), and a line's words."""

from __future__ import annotations

import re
from collections import Counter

LATIN, CYRILLIC, ARABIC, GREEK, HEBREW, THAI, DEVANAGARI = (
    "Latin", "Cyrillic", "Arabic", "Greek", "Hebrew", "Thai", "Devanagari")
KANA, HAN, HANGUL, OTHER = "kana", "Han", "Hangul", "other"
_RANGES = (  # (first, last, script) code points, the commonest first
    (0x0000, 0x024F, LATIN), (0x1E00, 0x1EFF, LATIN), (0xFF21, 0xFF5A, LATIN),
    (0x3040, 0x30FA, KANA), (0x30FC, 0x30FF, KANA), (0x31F0, 0x31FF, KANA), (0xFF66, 0xFF9D, KANA),
    (0x3005, 0x3005, KANA),  # 々, Japanese only (30FB ・ is left out: Chinese text uses it too)
    (0x4E00, 0x9FFF, HAN), (0x3400, 0x4DBF, HAN), (0xF900, 0xFAFF, HAN), (0x20000, 0x2FFFF, HAN),
    (0xAC00, 0xD7AF, HANGUL), (0x1100, 0x11FF, HANGUL), (0x3130, 0x318F, HANGUL),
    (0x0400, 0x052F, CYRILLIC), (0x0370, 0x03FF, GREEK), (0x1F00, 0x1FFF, GREEK), (0x0590, 0x05FF, HEBREW),
    (0x0600, 0x06FF, ARABIC), (0x0750, 0x077F, ARABIC), (0xFB50, 0xFDFF, ARABIC), (0xFE70, 0xFEFF, ARABIC),
    (0x0E00, 0x0E7F, THAI), (0x0900, 0x097F, DEVANAGARI),
)
def script_of(ch: str) -> str | None:
    """Name a letter's script (KANA, HAN, LATIN, ...), or None for a non-letter."""
    if not ch.isalpha():
        return None
    o = ord(ch)
    for first, last, script in _RANGES:
        if first <= o <= last:
            return script
    return OTHER


def _scripts(text: str) -> Counter[str]:
    """Count a text's letters by script."""
    return Counter(s for s in map(script_of, text) if s is not None)


def main_script(text: str) -> str | None:
    """Name the script most of a line is in: KANA when it has kana among its Han, None without letters."""
    counts = _scripts(text)
    if not counts:
        return None
    # A Han character or Hangul block is about a word's worth of Latin letters' weight; 2 is conservative.
    weights = Counter({s: n * (2 if s in (KANA, HAN, HANGUL) else 1) for s, n in counts.items()})
    cjk = weights.pop(KANA, 0) + weights.pop(HAN, 0)
    top, n = weights.most_common(1)[0] if weights else (OTHER, 0)
    if cjk > n or cjk == n and cjk:
        return KANA if counts[KANA] else HAN
    return top


_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Split a line into words (letters, with inner apostrophes)."""
    return _WORD.findall(text)
