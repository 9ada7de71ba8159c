"""The English rules of dubber.text.normalize (its docstring states them): cardinals, ordinals and years,
dates, times, money, units, titles and abbreviations."""

from __future__ import annotations

import re

from num2words import num2words

from dubber.text.normalize_shared import (
    FULL_WIDTH_PASSES,
    NUM,
    SIGN,
    SIGN_MARK,
    START,
    UNIT,
    UNITS,
    Replace,
    by_digit,
    is_range,
    is_year,
    phone_like,
    rx,
    split_number,
)

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
    negative, whole, decimals = split_number(number)
    words = _en_digits(whole) if by_digit(whole, number) else _en_cardinal(int(whole))
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
    if not is_year(match["y"], 1000):
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
    if not is_year(match["y"], 1000):
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
    negative, whole, decimals = split_number(number)
    sign = "minus " if negative else ""
    if by_digit(whole, number):
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
    return None if by_digit(whole, match["n"]) else _en_ordinal(int(whole))


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
    if not is_range(a, b):
        return None
    unit, kept = _en_unit_words(match, b)
    if not unit and is_year(a) and is_year(b):
        return f"{_en_year(int(a))} to {_en_year(int(b))}" + kept
    return f"{_en_number(a)} to {_en_number(b)}{unit}{kept}"


def _en_phone(match: re.Match[str]) -> str | None:
    groups = match["g"].split("-")
    if not phone_like(groups, bool(match["plus"])):
        return None
    return ("plus " if match["plus"] else "") + ", ".join(_en_digits(g) for g in groups)


def _en_dotted(match: re.Match[str]) -> str:
    return " point ".join(_en_number(part) for part in match.group(0).split("."))


def _en_fraction(match: re.Match[str]) -> str:
    a, b = match["a"], match["b"]
    if by_digit(a, a) or by_digit(b, b) or not 2 <= int(b) <= 100:
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
    if not is_year(match["y"], 1000):
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
    *FULL_WIDTH_PASSES,
    (rx(r"\s*&\s*"), lambda m: " and "),
    (rx(r"(?<![A-Za-z])(" + "|".join(ABBREVIATIONS) + r")\.(?=\s|$)"), _abbreviation),
    (rx(r"(?<![A-Za-z])St\.(?=\s+[A-Z])"), lambda m: "Saint"),
    (rx(r"(?<![A-Za-z])St\."), lambda m: "Street"),
    (rx(r"(?<![A-Za-z])No\.\s*(?=\d)"), lambda m: "number "),
    (rx(r"#\s*(?=\d)"), lambda m: "number "),
]
_EN_NUMBERS: list[tuple[re.Pattern[str], Replace]] = [
    (rx(r"(?<![A-Za-z0-9-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![A-Za-z0-9-])"), _en_iso_date),
    (rx(r"(?<![\d/])(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"), _en_iso_date),
    (rx(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])"), _en_slash_date),
    (rx(rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])"
         rf"(?:,?\s+(?P<y>\d{{4}})(?!\d))?"), _en_month_day),
    (rx(rf"(?<![\d.])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?"
         rf"(?:,?\s+(?P<y>\d{{4}})(?!\d))?"), _en_day_month),
    (rx(rf"\b(?P<mon>{_MONTH})\.?,?\s+(?P<y>\d{{4}})(?!\d)"), _en_month_year),
    (rx(rf"(?:(?<=\d:\d\d)(?P<to>\s?[-–—~]\s?))?(?<![\d:.])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})"
         rf"(?::(?P<s>\d{{2}}))?(?![\d:])(?:\s?{_AMPM})?"), _en_time),
    (rx(rf"(?<![\d:.])(?P<h>\d{{1,2}})\s?{_AMPM}"), _en_hour),
    (rx(r"(?<![\d:.])(?P<a>\d+):(?P<b>\d+)(?![\d:])"), _en_ratio),
    (rx(rf"(?P<sign>{SIGN_MARK})?(?P<sym>{_EN_CURRENCY})\s?(?P<a>{NUM})"
         rf"(?:\s?(?:-|–|~|to)\s?(?:{_EN_CURRENCY})?(?P<b>{NUM}))?"
         rf"(?:\s?(?P<scale>{_SCALE})(?![A-Za-z]))?"), _en_money),
    (rx(rf"(?P<sa>{SIGN}){START}(?P<a>{NUM})\s?(?P<pa>[%‰])?\s?(?:-|–|~|to)\s?"
         rf"(?P<sb>[-\u2212]?)(?P<b>{NUM})\s?(?P<pb>[%‰])"), _en_percent_range),
    (rx(rf"(?P<sign>{SIGN}){START}(?P<n>{NUM})\s?(?P<p>[%‰])"), _en_percent),
    (rx(r"(?<![A-Za-z0-9])(?P<ap>['’])?(?P<n>\d{2}|\d{4})['’]?s(?![A-Za-z])"), _en_decade),
    (rx(r"(?<![\d.])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)(?![A-Za-z])"), _en_ordinal_match),
    (rx(rf"(?<![A-Za-z0-9.\-/:])(?P<sa>{SIGN})(?P<a>{NUM})\s?(?:-|–|—|~)\s?(?P<sb>)(?P<b>{NUM})"
         rf"(?![\d\-/:]|\.\d)(?:{UNIT})?"), _en_range),
    (rx(r"(?<![A-Za-z0-9.\-/])(?P<plus>\+)?(?P<g>\d+(?:-\d+)+)(?![\d\-/]|\.\d)"), _en_phone),
    (rx(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d]|\.\d)"), _en_dotted),
    (rx(r"(?<![\d./])(?P<a>\d+)/(?P<b>\d+)(?![\d/]|\.\d)"), _en_fraction),
    (rx(rf"{START}(?P<n>{SIGN}{NUM}){UNIT}"), _en_with_unit),
    (rx(rf"\b(?P<w>{_YEAR_WORDS})\s+(?P<y>\d{{4}})(?![\d]|[.,]\d)"), _en_year_after_word),
    (rx(r"(?<![\d.,\-\u2212$£€¥#])(?:1[1-9]\d\d|20\d\d)(?![\d]|[.,]\d)"), _en_bare_year),
    (rx(rf"(?P<plus>(?<![A-Za-z0-9])\+)?(?P<n>{SIGN}{START}{NUM})"), _en_plain),
]
EN_PASSES = _EN_WORDS + [(pattern, _apart(replace)) for pattern, replace in _EN_NUMBERS]
