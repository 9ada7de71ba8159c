"""Text normalisation: write numbers, dates, times, money, percentages and units as words.

A TTS front end reads '2024-03-05', '$12.50' or '5km' badly or not at all; `normalize` spells them
out for Mandarin ('zh') and English ('en') and leaves every other language as it is.

Rules the module follows (where reading is ambiguous, these are the choices made):

- Pronunciation markup (`好[h][ào]`, `{tomato|təˈmɑːtoʊ}`, see dubber.pronunciation) is written back
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
from collections.abc import Callable

import cn2an
from num2words import num2words

from dubber.pronunciation import HAN, MarkupError, parse

Segment = tuple[str, bool]  # text, protected (markup written back as it stood)
Replace = Callable[[re.Match[str]], str | None]  # None keeps the match as written

# --- shared patterns ---------------------------------------------------------------------------

# An amount: thousands groups or a plain run, with an optional decimal part.
NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
# A minus sign when it is a sign: not a hyphen after a word or a number ('COVID-19', '5 - 3').
SIGN_MARK = r"(?<![A-Za-z0-9)\]])(?<![0-9] )[-\u2212]"
SIGN = f"(?:{SIGN_MARK})?"
_START = r"(?<!\d)(?<!\d\.)"  # not in the middle or the decimals of another number
_HAN_RE = re.compile(f"[{HAN}]")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％", "0123456789%")
_FULL_WIDTH_SEPARATORS = re.compile(r"(?<=\d)([．－／：])(?=\d)", re.ASCII)
_TRAILING_TAGS = re.compile(r"(?:\[[^\[\]]*\])+$")  # pinyin tags between 第 and a number
# When markup cannot be parsed: what parse would have kept (phonetic overrides, pinyin-shaped tags).
_MARKUP_LOOKALIKE = re.compile(r"\{[^{}|\n]+\|[^{}|\n]+\}|\[[A-Za-z\u00c0-\u024f\u0300-\u036f]+[1-5]?\]")

# Units written after a number: Chinese reading, English singular, English plural.
UNITS: dict[str, tuple[str, str, str]] = {
    "km/h": ("公里每小时", "kilometer per hour", "kilometers per hour"),
    "kph": ("公里每小时", "kilometer per hour", "kilometers per hour"),
    "mph": ("英里每小时", "mile per hour", "miles per hour"),
    "m/s": ("米每秒", "meter per second", "meters per second"),
    "km²": ("平方公里", "square kilometer", "square kilometers"),
    "m²": ("平方米", "square meter", "square meters"),
    "cm²": ("平方厘米", "square centimeter", "square centimeters"),
    "m³": ("立方米", "cubic meter", "cubic meters"),
    "cm³": ("立方厘米", "cubic centimeter", "cubic centimeters"),
    "km": ("公里", "kilometer", "kilometers"),
    "cm": ("厘米", "centimeter", "centimeters"),
    "mm": ("毫米", "millimeter", "millimeters"),
    "m": ("米", "meter", "meters"),
    "mi": ("英里", "mile", "miles"),
    "ft": ("英尺", "foot", "feet"),
    "in": ("英寸", "inch", "inches"),
    "kg": ("公斤", "kilogram", "kilograms"),
    "mg": ("毫克", "milligram", "milligrams"),
    "g": ("克", "gram", "grams"),
    "lb": ("磅", "pound", "pounds"),
    "lbs": ("磅", "pound", "pounds"),
    "oz": ("盎司", "ounce", "ounces"),
    "ml": ("毫升", "milliliter", "milliliters"),
    "mL": ("毫升", "milliliter", "milliliters"),
    "L": ("升", "liter", "liters"),
    "l": ("升", "liter", "liters"),
    "°C": ("摄氏度", "degree Celsius", "degrees Celsius"),
    "℃": ("摄氏度", "degree Celsius", "degrees Celsius"),
    "°F": ("华氏度", "degree Fahrenheit", "degrees Fahrenheit"),
    "℉": ("华氏度", "degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("度", "degree", "degrees"),
    "TB": ("TB", "terabyte", "terabytes"),
    "GB": ("GB", "gigabyte", "gigabytes"),
    "MB": ("MB", "megabyte", "megabytes"),
    "KB": ("KB", "kilobyte", "kilobytes"),
    "GHz": ("吉赫兹", "gigahertz", "gigahertz"),
    "MHz": ("兆赫", "megahertz", "megahertz"),
    "kHz": ("千赫", "kilohertz", "kilohertz"),
    "Hz": ("赫兹", "hertz", "hertz"),
    "kWh": ("千瓦时", "kilowatt hour", "kilowatt hours"),
    "kW": ("千瓦", "kilowatt", "kilowatts"),
    "W": ("瓦", "watt", "watts"),
    "V": ("伏", "volt", "volts"),
    "mAh": ("毫安时", "milliamp hour", "milliamp hours"),
    "ms": ("毫秒", "millisecond", "milliseconds"),
    "s": ("秒", "second", "seconds"),
    "min": ("分钟", "minute", "minutes"),
    "mins": ("分钟", "minute", "minutes"),
    "h": ("小时", "hour", "hours"),
    "hr": ("小时", "hour", "hours"),
    "hrs": ("小时", "hour", "hours"),
}
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
# The unit with the space before it; a letter or digit after it means it is part of a word.
UNIT = rf"(?P<usp>\s?)(?P<unit>{_UNIT})(?![A-Za-z0-9²³])"


def _rx(pattern: str) -> re.Pattern[str]:
    """Compile with ASCII classes: \\d is 0-9 only, and Han characters are not word characters,
    so '\\b' and lookarounds see a boundary between Han and Latin text."""
    return re.compile(pattern, re.ASCII)


def normalize(text: str, lang: str) -> str:
    """Spell out what a TTS front end reads badly, for lang 'zh' or 'en' (other langs: unchanged).

    Numbers, dates, times, money, percentages and units become words; pronunciation markup is kept
    as written; the result normalises to itself.
    """
    passes = {"zh": _ZH_PASSES, "en": _EN_PASSES}.get(lang)
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


def _full_width(match: re.Match[str]) -> str:
    return match.group(0).translate(_FULL_WIDTH)


def _full_width_separator(match: re.Match[str]) -> str:
    return {"．": ".", "－": "-", "／": "/", "：": ":"}[match.group(1)]


_FULL_WIDTH_PASSES: list[tuple[re.Pattern[str], Replace]] = [
    (_rx("[０-９％]+"), _full_width),
    (_FULL_WIDTH_SEPARATORS, _full_width_separator),
]


def _split_number(number: str) -> tuple[bool, str, str]:
    """'-1,234.50' -> (negative, '1234', '50')."""
    negative = number[:1] in "-\u2212"
    whole, _, decimals = number.lstrip("-\u2212").partition(".")
    return negative, whole.replace(",", ""), decimals


def _by_digit(whole: str, written: str) -> bool:
    """Whether an integer is an identifier rather than an amount (see the module rules)."""
    return len(whole) > 16 or (len(whole) > 1 and whole[0] == "0") or (len(whole) >= 11 and "," not in written)


def _is_year(whole: str, low: int = 1100) -> bool:
    return len(whole) == 4 and low <= int(whole) <= 2099


def _is_range(a: str, b: str) -> bool:
    """Whether 'a-b' reads as a range rather than a code or a phone number."""
    _, wa, da = _split_number(a)
    _, wb, db = _split_number(b)
    if any(len(w) > 1 and w[0] == "0" for w in (wa, wb)) or max(len(wa), len(wb)) > 16:
        return False
    if (len(wa), len(wb)) == (3, 4) and not da and not db:
        return False
    return float(f"{wa}.{da or 0}") < float(f"{wb}.{db or 0}")


# --- Mandarin ----------------------------------------------------------------------------------

ZH_DIGITS = "零一二三四五六七八九"
ZH_CURRENCY = {"¥": "元", "￥": "元", "$": "美元", "＄": "美元", "US$": "美元", "HK$": "港元",
               "€": "欧元", "£": "英镑", "￡": "英镑"}
_ZH_CURRENCY = r"US\$|HK\$|[¥￥$＄€£￡]"
# Measure words and units that take 两 rather than 二.
ZH_MEASURES = (*"个位只本次种天件条张台辆倍份家岁周年人口双对把杯瓶碗遍场块元角毛分秒点克升米吨斤千百万亿",
               "小时", "分钟", "公里", "公斤", "美元", "欧元", "英镑", "港元", "平方", "立方")
ZH_NOT_MEASURES = ("年级", "分之")  # 二年级 (second grade), 二分之一


def _zh_digits(digits: str) -> str:
    return "".join(ZH_DIGITS[int(d)] for d in digits if d.isdigit())


def _takes_liang(after: str, before: str) -> bool:
    """Whether a lone 2 reads 两: before a measure word, and not an ordinal (第2个)."""
    after = after.lstrip()
    ordinal = _TRAILING_TAGS.sub("", before).endswith("第")
    return not ordinal and after.startswith(ZH_MEASURES) and not after.startswith(ZH_NOT_MEASURES)


def _zh_number(number: str, after: str = "", before: str = "") -> str:
    """Read an amount in Chinese; the text `after` and `before` it decide 两 for a lone 2."""
    negative, whole, decimals = _split_number(number)
    if _by_digit(whole, number):
        words = _zh_digits(whole)
    elif whole == "2" and not decimals and _takes_liang(after, before):
        words = "两"
    else:
        words = cn2an.an2cn(str(int(whole)))
    if decimals:
        words += "点" + _zh_digits(decimals)
    return ("负" if negative else "") + words


def _zh_money_amount(number: str, after: str) -> str:
    """An amount of money, without trailing decimal zeros (¥12.50 -> 十二点五)."""
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return _zh_number(number, after)


def _zh_date(match: re.Match[str]) -> str | None:
    m, d = int(match["m"]), int(match["d"])
    if not (_is_year(match["y"], 1000) and 1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{_zh_digits(match['y'])}年{cn2an.an2cn(str(m))}月{cn2an.an2cn(str(d))}日"


def _zh_year_month(match: re.Match[str]) -> str | None:
    m = int(match["m"])
    if not (_is_year(match["y"]) and 1 <= m <= 12):
        return None
    return f"{_zh_digits(match['y'])}年{cn2an.an2cn(str(m))}月"


def _zh_year_range(match: re.Match[str]) -> str | None:
    if not (_is_year(match["a"]) and _is_year(match["b"])):
        return None
    return f"{_zh_digits(match['a'])}到{_zh_digits(match['b'])}"


def _zh_year(match: re.Match[str]) -> str | None:
    return _zh_digits(match["y"]) if _is_year(match["y"]) else None


def _zh_time(match: re.Match[str]) -> str | None:
    h, m, s = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if h > 24 or m > 59 or s > 59:
        return None
    words = ("到" if match["to"] else "") + _zh_number(str(h), "点") + "点"
    if m or match["s"]:
        words += (ZH_DIGITS[0] if 0 < m < 10 else "") + cn2an.an2cn(str(m)) + "分"
    if match["s"]:
        words += (ZH_DIGITS[0] if 0 < s < 10 else "") + cn2an.an2cn(str(s)) + "秒"
    return words


def _zh_ratio(match: re.Match[str]) -> str:
    return f"{_zh_number(match['a'])}比{_zh_number(match['b'])}"


def _zh_money(match: re.Match[str]) -> str:
    name = ZH_CURRENCY[match["sym"]]
    words = _zh_money_amount(match["a"], match["sa"] or name) + match["sa"]
    if match["b"]:
        words += "到" + _zh_money_amount(match["b"], match["sb"] or name) + match["sb"]
    tail = match.string[match.end():]
    return ("负" if match["sign"] else "") + words + ("" if tail.startswith(name) else name)


def _zh_percent_word(sign: str, number: str, mark: str) -> str:
    return ("负" if sign else "") + ("千分之" if mark == "‰" else "百分之") + _zh_number(number)


def _zh_percent_range(match: re.Match[str]) -> str:
    mark = match["pb"]
    return (_zh_percent_word(match["sa"], match["a"], match["pa"] or mark) + "到"
            + _zh_percent_word(match["sb"], match["b"], mark))


def _zh_percent(match: re.Match[str]) -> str:
    return _zh_percent_word(match["sign"], match["n"], match["p"])


def _zh_unit_word(match: re.Match[str]) -> tuple[str, str]:
    """The Chinese unit and what to keep after it ('5 in' keeps ' in': a word, not inches)."""
    unit = match["unit"]
    if unit is None:
        return "", ""
    if unit == "in" and match["usp"]:
        return "", match["usp"] + unit
    return UNITS[unit][0], ""


def _zh_range(match: re.Match[str]) -> str | None:
    a, b = match["sa"] + match["a"], match["sb"] + match["b"]
    if not _is_range(a, b):
        return None
    unit, kept = _zh_unit_word(match)
    text, end = match.string, match.end()
    beside_han = bool(_HAN_RE.match(text[end:].lstrip()[:1]) or _HAN_RE.match(text[:match.start()].rstrip()[-1:]))
    if match["sep"] in "-–—" and not (unit or beside_han):
        return None
    after = unit or text[end:]
    before = text[:match.start()]
    return _zh_number(a, after, before) + "到" + _zh_number(b, after) + unit + kept


def _zh_phone(match: re.Match[str]) -> str | None:
    groups = match["g"].split("-")
    if not _phone_like(groups, bool(match["plus"])):
        return None
    return ("加" if match["plus"] else "") + " ".join(_zh_digits(g) for g in groups)


def _zh_dotted(match: re.Match[str]) -> str:
    return "点".join(_zh_number(part) for part in match.group(0).split("."))


def _zh_amount(number: str, after: str, before: str) -> str:
    """An amount that may be a fraction ('1/2' -> 二分之一)."""
    if "/" in number:
        top, bottom = number.split("/")
        return f"{_zh_number(bottom)}分之{_zh_number(top)}"
    return _zh_number(number, after, before)


def _zh_with_unit(match: re.Match[str]) -> str:
    unit, kept = _zh_unit_word(match)
    return _zh_amount(match["n"], unit or kept, match.string[:match.start()]) + unit + kept


def _zh_fraction(match: re.Match[str]) -> str:
    return f"{_zh_number(match['b'])}分之{_zh_number(match['a'])}"


def _zh_plain(match: re.Match[str]) -> str:
    text, number = match.string, match["n"]
    words = _zh_number(number, text[match.end():], text[:match.start()])
    if match["plus"]:
        _, whole, _ = _split_number(number)
        return ("加" if _by_digit(whole, number) else "+") + words
    return words


def _phone_like(groups: list[str], plus: bool) -> bool:
    """Hyphen-joined digit groups that are a phone number or a code, read digit by digit."""
    return (plus or len(groups) >= 3 or groups[0].startswith("0") or any(len(g) >= 7 for g in groups)
            or [len(g) for g in groups] == [3, 4])


_ZH_PASSES: list[tuple[re.Pattern[str], Replace]] = [
    *_FULL_WIDTH_PASSES,
    (_rx(r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])"), _zh_date),
    (_rx(r"(?<![\d./-])(?P<y>\d{4})[-/](?P<m>\d{1,2})(?![\d/.-])"), _zh_year_month),
    (_rx(r"(?<![\d.])(?P<a>\d{4})\s?[-~～–—至到]\s?(?P<b>\d{4})(?=\s?年)"), _zh_year_range),
    (_rx(r"(?<![\d.])(?P<y>\d{4})(?=\s?年)"), _zh_year),
    (_rx(r"(?:(?<=\d[:：]\d\d)(?P<to>\s?[-~～–—至到]\s?))?(?<![\d:.])(?P<h>\d{1,2})[:：](?P<m>\d{2})"
         r"(?:[:：](?P<s>\d{2}))?(?![\d:：])"), _zh_time),
    (_rx(r"(?<![\d:.])(?P<a>\d+)[:：](?P<b>\d+)(?![\d:：])"), _zh_ratio),
    (_rx(rf"(?P<sign>{SIGN_MARK})?(?P<sym>{_ZH_CURRENCY})\s?(?P<a>{NUM})(?P<sa>[万亿千百]*)"
         rf"(?:\s?[-~～到至]\s?(?:{_ZH_CURRENCY})?\s?(?P<b>{NUM})(?P<sb>[万亿千百]*))?"), _zh_money),
    (_rx(rf"(?P<sa>{SIGN}){_START}(?P<a>{NUM})\s?(?P<pa>[%‰])?\s?[-~～到至]\s?"
         rf"(?P<sb>[-\u2212]?)(?P<b>{NUM})\s?(?P<pb>[%‰])"), _zh_percent_range),
    (_rx(rf"(?P<sign>{SIGN}){_START}(?P<n>{NUM})\s?(?P<p>[%‰])"), _zh_percent),
    (_rx(rf"(?<![A-Za-z0-9.\-/:])(?P<sa>{SIGN})(?P<a>{NUM})\s?(?P<sep>[-~～–—])\s?(?P<sb>)(?P<b>{NUM})"
         rf"(?![\d\-/:]|\.\d)(?:{UNIT})?"), _zh_range),
    (_rx(r"(?<![A-Za-z0-9.\-/])(?P<plus>\+)?(?P<g>\d+(?:-\d+)+)(?![\d\-/]|\.\d)"), _zh_phone),
    (_rx(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d]|\.\d)"), _zh_dotted),
    (_rx(rf"{_START}(?P<n>{SIGN}(?:\d+/\d+|{NUM})){UNIT}"), _zh_with_unit),
    (_rx(r"(?<![\d./])(?P<a>\d+)/(?P<b>\d+)(?![\d/]|\.\d)"), _zh_fraction),
    (_rx(rf"(?P<plus>(?<![A-Za-z0-9])\+)?(?P<n>{SIGN}{_START}{NUM})"), _zh_plain),
]


# --- English -----------------------------------------------------------------------------------

EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
_MONTH_NAMES = {m: m for m in MONTHS} | {
    "Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June", "Jul": "July",
    "Aug": "August", "Sep": "September", "Sept": "September", "Oct": "October", "Nov": "November",
    "Dec": "December"}
_MONTH = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
ABBREVIATIONS = {
    "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Dr": "Doctor", "Prof": "Professor",
    "Jr": "Junior", "Sr": "Senior", "Mt": "Mount", "vs": "versus", "approx": "approximately",
    "Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June",
    "Jul": "July", "Aug": "August", "Sep": "September", "Sept": "September", "Oct": "October",
    "Nov": "November", "Dec": "December",
}
# Currency: the unit, its plural, the hundredth, its plural ('' where no hundredth is spoken).
EN_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "US$": ("dollar", "dollars", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"), "€": ("euro", "euros", "cent", "cents"),
               "¥": ("yen", "yen", "", "")}
_EN_CURRENCY = r"US\$|[$£€¥]"
_SCALES = {"thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion",
           "k": "thousand", "K": "thousand", "m": "million", "M": "million", "bn": "billion", "BN": "billion"}
_SCALE = "|".join(sorted(_SCALES, key=len, reverse=True))
_YEAR_WORDS = r"[Ii]n|[Ss]ince|[Ff]rom|[Bb]y|[Uu]ntil|[Oo]f|[Dd]uring|[Bb]efore|[Aa]fter"
_DECADE_WORDS = ("the", "my", "your", "his", "her", "its", "our", "their", "early", "late", "mid", "mid-")


def _clean(words: str) -> str:
    """num2words writes British 'one hundred and one, ...'; say it the American way."""
    return re.sub(r" and\b", "", words).replace(",", "")


def _en_digits(digits: str) -> str:
    return " ".join(EN_DIGITS[int(d)] for d in digits if d.isdigit())


def _en_cardinal(value: int) -> str:
    return _clean(num2words(value))


def _en_number(number: str) -> str:
    """Read an amount in English: 'minus', thousands, 'point' and then digits."""
    negative, whole, decimals = _split_number(number)
    words = _en_digits(whole) if _by_digit(whole, number) else _en_cardinal(int(whole))
    if decimals:
        words += " point " + _en_digits(decimals)
    return ("minus " if negative else "") + words


def _en_year(value: int) -> str:
    return _clean(num2words(value, to="year")).replace("oh-", "oh ")


def _en_ordinal(value: int) -> str:
    return _clean(num2words(value, to="ordinal"))


def _is_one(number: str) -> bool:
    return number.lstrip("-\u2212") == "1"


def _plural_last(words: str) -> str:
    """'nineteen ninety' -> 'nineteen nineties'."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


def _abbreviation(match: re.Match[str]) -> str:
    return ABBREVIATIONS[match.group(1)]


def _en_date_words(month: int, day: int, year: str | None) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    words = f"{MONTHS[month - 1]} {_en_ordinal(day)}"
    return f"{words}, {_en_year(int(year))}" if year else words


def _en_iso_date(match: re.Match[str]) -> str | None:
    if not _is_year(match["y"], 1000):
        return None
    return _en_date_words(int(match["m"]), int(match["d"]), match["y"])


def _en_slash_date(match: re.Match[str]) -> str | None:
    first, second = int(match["a"]), int(match["b"])
    month, day = (second, first) if first > 12 else (first, second)
    return _en_date_words(month, day, match["y"])


def _en_month_day(match: re.Match[str]) -> str | None:
    month = MONTHS.index(_MONTH_NAMES[match["mon"]]) + 1
    return _en_date_words(month, int(match["d"]), match["y"])


def _en_month_year(match: re.Match[str]) -> str | None:
    if not _is_year(match["y"], 1000):
        return None
    return f"{_MONTH_NAMES[match['mon']]} {_en_year(int(match['y']))}"


def _en_day_month(match: re.Match[str]) -> str | None:
    day = int(match["d"])
    if not 1 <= day <= 31:
        return None
    the = "" if match.string[:match.start()].rstrip().lower().endswith("the") else "the "
    words = f"{the}{_en_ordinal(day)} of {_MONTH_NAMES[match['mon']]}"
    return f"{words}, {_en_year(int(match['y']))}" if match["y"] else words


def _en_meridiem(match: re.Match[str]) -> str:
    """'p.m.' -> 'p m', keeping a full stop that also ends the sentence."""
    ap = match["ap"]
    words = f"{ap[0].lower()} m"
    tail = match.string[match.end():]
    if ap.endswith(".") and (not tail.strip() or re.match(r"\s+[A-Z]", tail)):
        words += "."
    return words


def _en_time(match: re.Match[str]) -> str | None:
    h, m, s = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if h > 24 or m > 59 or s > 59:
        return None
    words = (" to " if match["to"] else "") + _en_cardinal(h)
    if m:
        words += " " + ("oh " if m < 10 else "") + _en_cardinal(m)
    elif not match["ap"]:
        words += " o'clock" if 1 <= h <= 12 else " hundred"
    if match["s"]:
        words += f" and {_en_cardinal(s)} second" + ("" if s == 1 else "s")
    return words + (" " + _en_meridiem(match) if match["ap"] else "")


def _en_hour(match: re.Match[str]) -> str | None:
    h = int(match["h"])
    if not 1 <= h <= 12:
        return None
    return f"{_en_cardinal(h)} {_en_meridiem(match)}"


def _en_ratio(match: re.Match[str]) -> str:
    return f"{_en_number(match['a'])} to {_en_number(match['b'])}"


def _en_money_amount(number: str, symbol: str) -> str:
    """'12.50' dollars -> 'twelve dollars and fifty cents'."""
    one, many, hundredth, hundredths = EN_CURRENCY[symbol]
    negative, whole, decimals = _split_number(number)
    sign = "minus " if negative else ""
    if _by_digit(whole, number):
        return f"{_en_number(number)} {many}"
    if not decimals or (len(decimals) <= 2 and hundredth):
        cents = int(decimals.ljust(2, "0")) if decimals else 0
        parts = []
        if int(whole) or not cents:
            written = number.lstrip("-\u2212").split(".")[0]
            parts.append(f"{_en_number(written)} {one if whole == '1' else many}")
        if cents:
            parts.append(f"{_en_cardinal(cents)} {hundredth if cents == 1 else hundredths}")
        return sign + " and ".join(parts)
    return f"{_en_number(number)} {many}"


def _en_money(match: re.Match[str]) -> str:
    symbol = match["sym"]
    sign = "minus " if match["sign"] else ""
    many = EN_CURRENCY[symbol][1]
    if match["scale"]:
        words = _en_number(match["a"])
        if match["b"]:
            words += " to " + _en_number(match["b"])
        return f"{sign}{words} {_SCALES[match['scale']]} {many}"
    if match["b"]:
        return f"{sign}{_en_number(match['a'])} to {_en_number(match['b'])} {many}"
    return sign + _en_money_amount(match["a"], symbol)


def _en_percent_word(mark: str) -> str:
    return "per mille" if mark == "‰" else "percent"


def _en_percent_range(match: re.Match[str]) -> str:
    return (f"{_en_number(match['sa'] + match['a'])} to {_en_number(match['sb'] + match['b'])} "
            f"{_en_percent_word(match['pb'])}")


def _en_percent(match: re.Match[str]) -> str:
    return f"{_en_number(match['sign'] + match['n'])} {_en_percent_word(match['p'])}"


def _en_decade(match: re.Match[str]) -> str | None:
    n = match["n"]
    if not n.endswith("0"):
        return None
    if len(n) == 4:
        return _plural_last(_en_year(int(n))) if 1000 <= int(n) <= 2090 else None
    before = match.string[:match.start()].rstrip().lower().split()
    if not match["ap"] and not (before and before[-1] in _DECADE_WORDS):
        return None
    return _plural_last(_en_cardinal(int(n)))


def _en_ordinal_match(match: re.Match[str]) -> str | None:
    whole = match["n"].replace(",", "")
    return None if _by_digit(whole, match["n"]) else _en_ordinal(int(whole))


def _en_unit_words(match: re.Match[str], number: str) -> tuple[str, str]:
    """The English unit agreeing with `number`, and what to keep after it (' in' is a word)."""
    unit = match["unit"]
    if unit is None:
        return "", ""
    if unit == "in" and match["usp"]:
        return "", match["usp"] + unit
    _, singular, plural = UNITS[unit]
    return " " + (singular if _is_one(number) else plural), ""


def _en_range(match: re.Match[str]) -> str | None:
    a, b = match["sa"] + match["a"], match["sb"] + match["b"]
    if not _is_range(a, b):
        return None
    unit, kept = _en_unit_words(match, b)
    if not unit and _is_year(a) and _is_year(b):
        return f"{_en_year(int(a))} to {_en_year(int(b))}" + kept
    return f"{_en_number(a)} to {_en_number(b)}{unit}{kept}"


def _en_phone(match: re.Match[str]) -> str | None:
    groups = match["g"].split("-")
    if not _phone_like(groups, bool(match["plus"])):
        return None
    return ("plus " if match["plus"] else "") + ", ".join(_en_digits(g) for g in groups)


def _en_dotted(match: re.Match[str]) -> str:
    return " point ".join(_en_number(part) for part in match.group(0).split("."))


def _en_fraction(match: re.Match[str]) -> str:
    a, b = match["a"], match["b"]
    if _by_digit(a, a) or _by_digit(b, b) or not 2 <= int(b) <= 100:
        return f"{_en_number(a)} over {_en_number(b)}"
    top, bottom = int(a), int(b)
    if (top, bottom) == (24, 7):
        return "twenty-four seven"
    name = {2: "half", 4: "quarter"}.get(bottom) or _en_ordinal(bottom)
    if top != 1:
        name = "halves" if bottom == 2 else name + "s"
    return f"{_en_cardinal(top)} {name}"


def _en_with_unit(match: re.Match[str]) -> str:
    number = match["n"]
    unit, kept = _en_unit_words(match, number)
    return _en_number(number) + unit + kept


def _en_year_after_word(match: re.Match[str]) -> str | None:
    if not _is_year(match["y"], 1000):
        return None
    return f"{match['w']} {_en_year(int(match['y']))}"


def _en_bare_year(match: re.Match[str]) -> str:
    return _en_year(int(match.group(0)))


def _en_plain(match: re.Match[str]) -> str:
    return ("plus " if match["plus"] else "") + _en_number(match["n"])


def _apart(replace: Replace) -> Replace:
    """Keep spelled-out words apart from Latin letters they were glued to ('MP3' -> 'MP three')."""
    def spaced(match: re.Match[str]) -> str | None:
        words = replace(match)
        if not words:
            return words
        text = match.string
        if re.match(r"[A-Za-z]", words) and re.search(r"[A-Za-z}]$", text[:match.start()]):
            words = " " + words
        if re.search(r"[A-Za-z]$", words) and re.match(r"[A-Za-z{]", text[match.end():]):
            words += " "
        return words
    return spaced


_AMPM = r"(?P<ap>[aApP]\.?[mM]\.?)(?![A-Za-z])"
_EN_WORDS: list[tuple[re.Pattern[str], Replace]] = [
    *_FULL_WIDTH_PASSES,
    (_rx(r"\s*&\s*"), lambda m: " and "),
    (_rx(r"(?<![A-Za-z])(" + "|".join(ABBREVIATIONS) + r")\.(?=\s|$)"), _abbreviation),
    (_rx(r"(?<![A-Za-z])St\.(?=\s+[A-Z])"), lambda m: "Saint"),
    (_rx(r"(?<![A-Za-z])St\."), lambda m: "Street"),
    (_rx(r"(?<![A-Za-z])No\.\s*(?=\d)"), lambda m: "number "),
    (_rx(r"#\s*(?=\d)"), lambda m: "number "),
]
_EN_NUMBERS: list[tuple[re.Pattern[str], Replace]] = [
    (_rx(r"(?<![A-Za-z0-9-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![A-Za-z0-9-])"), _en_iso_date),
    (_rx(r"(?<![\d/])(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"), _en_iso_date),
    (_rx(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])"), _en_slash_date),
    (_rx(rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])"
         rf"(?:,?\s+(?P<y>\d{{4}})(?!\d))?"), _en_month_day),
    (_rx(rf"(?<![\d.])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?"
         rf"(?:,?\s+(?P<y>\d{{4}})(?!\d))?"), _en_day_month),
    (_rx(rf"\b(?P<mon>{_MONTH})\.?,?\s+(?P<y>\d{{4}})(?!\d)"), _en_month_year),
    (_rx(rf"(?:(?<=\d:\d\d)(?P<to>\s?[-–—~]\s?))?(?<![\d:.])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})"
         rf"(?::(?P<s>\d{{2}}))?(?![\d:])(?:\s?{_AMPM})?"), _en_time),
    (_rx(rf"(?<![\d:.])(?P<h>\d{{1,2}})\s?{_AMPM}"), _en_hour),
    (_rx(r"(?<![\d:.])(?P<a>\d+):(?P<b>\d+)(?![\d:])"), _en_ratio),
    (_rx(rf"(?P<sign>{SIGN_MARK})?(?P<sym>{_EN_CURRENCY})\s?(?P<a>{NUM})"
         rf"(?:\s?(?:-|–|~|to)\s?(?:{_EN_CURRENCY})?(?P<b>{NUM}))?"
         rf"(?:\s?(?P<scale>{_SCALE})(?![A-Za-z]))?"), _en_money),
    (_rx(rf"(?P<sa>{SIGN}){_START}(?P<a>{NUM})\s?(?P<pa>[%‰])?\s?(?:-|–|~|to)\s?"
         rf"(?P<sb>[-\u2212]?)(?P<b>{NUM})\s?(?P<pb>[%‰])"), _en_percent_range),
    (_rx(rf"(?P<sign>{SIGN}){_START}(?P<n>{NUM})\s?(?P<p>[%‰])"), _en_percent),
    (_rx(r"(?<![A-Za-z0-9])(?P<ap>['’])?(?P<n>\d{2}|\d{4})['’]?s(?![A-Za-z])"), _en_decade),
    (_rx(r"(?<![\d.])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)(?![A-Za-z])"), _en_ordinal_match),
    (_rx(rf"(?<![A-Za-z0-9.\-/:])(?P<sa>{SIGN})(?P<a>{NUM})\s?(?:-|–|—|~)\s?(?P<sb>)(?P<b>{NUM})"
         rf"(?![\d\-/:]|\.\d)(?:{UNIT})?"), _en_range),
    (_rx(r"(?<![A-Za-z0-9.\-/])(?P<plus>\+)?(?P<g>\d+(?:-\d+)+)(?![\d\-/]|\.\d)"), _en_phone),
    (_rx(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d]|\.\d)"), _en_dotted),
    (_rx(r"(?<![\d./])(?P<a>\d+)/(?P<b>\d+)(?![\d/]|\.\d)"), _en_fraction),
    (_rx(rf"{_START}(?P<n>{SIGN}{NUM}){UNIT}"), _en_with_unit),
    (_rx(rf"\b(?P<w>{_YEAR_WORDS})\s+(?P<y>\d{{4}})(?![\d]|[.,]\d)"), _en_year_after_word),
    (_rx(r"(?<![\d.,\-\u2212$£€¥#])(?:1[1-9]\d\d|20\d\d)(?![\d]|[.,]\d)"), _en_bare_year),
    (_rx(rf"(?P<plus>(?<![A-Za-z0-9])\+)?(?P<n>{SIGN}{_START}{NUM})"), _en_plain),
]
_EN_PASSES = _EN_WORDS + [(pattern, _apart(replace)) for pattern, replace in _EN_NUMBERS]
