"""What the English and Mandarin rules of dubber.text.normalize share: the number and unit patterns,
the unit table, full-width digits, and the tests that tell an amount from a year, a range or a code."""

from __future__ import annotations

import re
from collections.abc import Callable

Replace = Callable[[re.Match[str]], str | None]  # None keeps the match as written

# An amount: thousands groups or a plain run, with an optional decimal part.
NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
# A minus sign when it is a sign: not a hyphen after a word or a number ('COVID-19', '5 - 3').
SIGN_MARK = r"(?<![A-Za-z0-9)\]])(?<![0-9] )[-\u2212]"
SIGN = f"(?:{SIGN_MARK})?"
START = r"(?<!\d)(?<!\d\.)"  # not in the middle or the decimals of another number
# Full-width digits and separators (２０２４－０３) are read as their ASCII forms.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９％", "0123456789%")
_FULL_WIDTH_SEPARATORS = re.compile(r"(?<=\d)([．－／：])(?=\d)", re.ASCII)

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


def rx(pattern: str) -> re.Pattern[str]:
    """Compile with ASCII classes: \\d is 0-9 only, and Han characters are not word characters,
    so '\\b' and lookarounds see a boundary between Han and Latin text."""
    return re.compile(pattern, re.ASCII)


def _full_width(match: re.Match[str]) -> str:
    return match.group(0).translate(_FULL_WIDTH)


def _full_width_separator(match: re.Match[str]) -> str:
    return {"．": ".", "－": "-", "／": "/", "：": ":"}[match.group(1)]


FULL_WIDTH_PASSES: list[tuple[re.Pattern[str], Replace]] = [
    (rx("[０-９％]+"), _full_width),
    (_FULL_WIDTH_SEPARATORS, _full_width_separator),
]


def split_number(number: str) -> tuple[bool, str, str]:
    """'-1,234.50' -> (negative, '1234', '50')."""
    negative = number[:1] in "-\u2212"
    whole, _, decimals = number.lstrip("-\u2212").partition(".")
    return negative, whole.replace(",", ""), decimals


def by_digit(whole: str, written: str) -> bool:
    """Whether an integer is an identifier rather than an amount (see dubber.text.normalize's rules)."""
    return len(whole) > 16 or (len(whole) > 1 and whole[0] == "0") or (len(whole) >= 11 and "," not in written)


def is_year(whole: str, low: int = 1100) -> bool:
    return len(whole) == 4 and low <= int(whole) <= 2099


def is_range(a: str, b: str) -> bool:
    """Whether 'a-b' reads as a range rather than a code or a phone number."""
    _, wa, da = split_number(a)
    _, wb, db = split_number(b)
    if any(len(w) > 1 and w[0] == "0" for w in (wa, wb)) or max(len(wa), len(wb)) > 16:
        return False
    if (len(wa), len(wb)) == (3, 4) and not da and not db:
        return False
    return float(f"{wa}.{da or 0}") < float(f"{wb}.{db or 0}")


def phone_like(groups: list[str], plus: bool) -> bool:
    """Hyphen-joined digit groups that are a phone number or a code, read digit by digit."""
    return (plus or len(groups) >= 3 or groups[0].startswith("0") or any(len(g) >= 7 for g in groups)
            or [len(g) for g in groups] == [3, 4])
