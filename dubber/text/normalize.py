"""Text normalisation: write numbers, dates, times, money, percentages and units as words.

A TTS front end reads '2024-03-05', '$12.50' or '5km' badly or not at all; `normalize` spells them
out for Mandarin ('zh') and English ('en') and leaves every other language as it is.

Rules the module follows (where reading is ambiguous, these are the choices made):

- Pronunciation markup (`好[h][ào]`, `{tomato|təˈmɑːtoʊ}`, see dubber.text.pronunciation) is written back
  untouched; only the plain text around it changes. When the markup cannot be parsed, bracket and
  brace groups are still kept as written and the rest is normalised as plain text.
- Mixed lines. With 'zh', Latin-letter words stay as they are (the engine speaks them in English)
  and every number is read in Chinese: 'iPhone 15发布了' -> 'iPhone 十五发布了', '我跑了5km' ->
  '我跑了五公里'. With 'en', Han runs stay as they are and every number is read in English.
- Every rule starts from a digit and writes words, so the output has no digits left and a second
  pass changes nothing.
- Digit by digit: integers of 11 or more digits written without separators (phone numbers, IDs),
  integers with a leading zero ('007'), digit groups joined by hyphens that are not a range
  ('010-12345678', '138-0013-8000', '555-1234'), and any integer over 16 digits. In Chinese a 1 is
  read 一, not the colloquial 幺.
- Years: zh reads 4-digit years 1100-2099 before 年 digit by digit (2024年 -> 二零二四年); other
  numbers before 年 are durations (1000年前 -> 一千年前). en reads 4-digit numbers 1100-2099 as years
  (1999 -> nineteen ninety-nine, 2005 -> two thousand five) unless a unit, sign, separator or
  decimal shows they are amounts; after in/since/from/by/until/of/during/before/after 1000-1099 too.
- Ranges: 'a-b' reads 'a to b' (到 / 'to') when a < b, neither has a leading zero and it is not a
  3-then-4-digit phone number; with 'zh' a hyphen range also needs a unit or a Han character next
  to it. '~' is always a range.
- Dates: zh 'y-m-d', 'y/m/d', 'y.m.d' and 'y-m' -> 二零二四年三月五日. en ISO and month-name dates ->
  'March fifth, twenty twenty-four'; '3/5/2024' is read month first (US), day first when the first
  number is over 12. A day before the month reads 'the fifth of March'.
- Times: zh 10:30 -> 十点三十分, 8:05 -> 八点零五分, 10:00 -> 十点, 2:15 -> 两点十五分. en 10:05 -> ten
  oh five, 3:30 pm -> three thirty p m; on the hour 'o'clock' for 1-12 and 'hundred' otherwise.
  'a:b' that is not a time is a ratio: 十六比九 / 'sixteen to nine'.
- 两: a lone 2 (not after 第) before a measure word or unit reads 两 (两个, 两公里, 两点); 2000 stays
  二千 as cn2an writes it.
- Money: zh ¥/￥ -> 元, $ -> 美元, HK$ -> 港元, € -> 欧元, £ -> 英镑, decimals without trailing zeros
  (¥12.50 -> 十二点五元). en '$12.50' -> 'twelve dollars and fifty cents', '$3 million' and '$3m'
  -> 'three million dollars', ¥ -> yen.
- Units after numbers: zh writes the Chinese unit (km 公里, km/h 公里每小时, °C 摄氏度); byte sizes
  (GB, MB...) stay in Latin letters, the way they are said. en writes the unit word and agrees in
  number: exactly 1 takes the singular. 'in' counts as inches only when glued to the number (5in).
- en also expands what models.english_phonemes.normalize_text did: titles and abbreviations
  ending in a period (Mr., Dr., Jan. ...), St. (Saint before a capitalised word, else Street),
  No. and # before a number, and '&'.

Number words come from cn2an (an2cn, for Chinese integers) and num2words (English cardinals,
ordinals and years). cn2an.transform is not used: it reads '2024-03-05' as 二千零二十四负三负五,
'1,234' as 一,二百三十四, '8:05' as 八:五, phone numbers as amounts, and cannot skip markup.
"""

from __future__ import annotations

import re

from dubber.text.normalize_en import EN_PASSES
from dubber.text.normalize_shared import Replace
from dubber.text.normalize_zh import ZH_PASSES
from dubber.text.pronunciation import MarkupError, parse

Segment = tuple[str, bool]  # text, protected (markup written back as it stood)
# When markup cannot be parsed: what parse would have kept (phonetic overrides, pinyin-shaped tags).
_MARKUP_LOOKALIKE = re.compile(r"\{[^{}|\n]+\|[^{}|\n]+\}|\[[A-Za-z\u00c0-\u024f\u0300-\u036f]+[1-5]?\]")


def normalize(text: str, lang: str) -> str:
    """Spell out what a TTS front end reads badly, for lang 'zh' or 'en' (other langs: unchanged).

    Numbers, dates, times, money, percentages and units become words; pronunciation markup is kept
    as written; the result normalises to itself.
    """
    passes = {"zh": ZH_PASSES, "en": EN_PASSES}.get(lang)
    if passes is None or not text:
        return text
    segments = _segments(text)
    for pattern, replace in passes:
        segments = _apply(segments, pattern, replace)
    return "".join(t for t, _ in segments)


# --- markup-safe substitution --------------------------------------------------------------------

def _segments(text: str) -> list[Segment]:
    """Split `text` into plain runs and markup kept as written."""
    try:
        segments = [(p, False) if isinstance(p, str) else (p.written, True) for p in parse(text)]
    except MarkupError:
        segments = []
    # parse can attach a tag across a newline ('零\n[hao4]') and drop the newline: never lose text.
    if segments and "".join(t for t, _ in segments) == text:
        return segments
    segments, pos = [], 0
    for match in _MARKUP_LOOKALIKE.finditer(text):
        segments += [(text[pos:match.start()], False), (match.group(0), True)]
        pos = match.end()
    return [*segments, (text[pos:], False)]


def _apply(segments: list[Segment], pattern: re.Pattern[str], replace: Replace) -> list[Segment]:
    """Substitute in the plain runs; matching sees the whole line, so context crosses markup."""
    full = "".join(t for t, _ in segments)
    matches = list(pattern.finditer(full))
    out: list[Segment] = []
    start = 0
    for text, protected in segments:
        end = start + len(text)
        if protected:
            out.append((text, True))
        else:
            parts, pos = [], start
            for match in matches:
                if match.start() < start or match.end() > end or match.start() == match.end():
                    continue
                new = replace(match)
                if new is None:
                    continue
                parts += [full[pos:match.start()], new]
                pos = match.end()
            out.append(("".join(parts) + full[pos:end], False))
        start = end
    return out
