"""The Mandarin rules of dubber.text.normalize (its docstring states them): numbers in Chinese, 两, dates,
times, money and units."""

from __future__ import annotations

import re

import cn2an

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
from dubber.text.pronunciation import HAN

_HAN_RE = re.compile(f"[{HAN}]")
_TRAILING_TAGS = re.compile(r"(?:\[[^\[\]]*\])+$")  # pinyin tags between 第 and a number

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
    negative, whole, decimals = split_number(number)
    if by_digit(whole, number):
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
    if not (is_year(match["y"], 1000) and 1 <= m <= 12 and 1 <= d <= 31):
        return None
    return f"{_zh_digits(match['y'])}年{cn2an.an2cn(str(m))}月{cn2an.an2cn(str(d))}日"


def _zh_year_month(match: re.Match[str]) -> str | None:
    m = int(match["m"])
    if not (is_year(match["y"]) and 1 <= m <= 12):
        return None
    return f"{_zh_digits(match['y'])}年{cn2an.an2cn(str(m))}月"


def _zh_year_range(match: re.Match[str]) -> str | None:
    if not (is_year(match["a"]) and is_year(match["b"])):
        return None
    return f"{_zh_digits(match['a'])}到{_zh_digits(match['b'])}"


def _zh_year(match: re.Match[str]) -> str | None:
    return _zh_digits(match["y"]) if is_year(match["y"]) else None


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
    if not is_range(a, b):
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
    if not phone_like(groups, bool(match["plus"])):
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
        _, whole, _ = split_number(number)
        return ("加" if by_digit(whole, number) else "+") + words
    return words


ZH_PASSES: list[tuple[re.Pattern[str], Replace]] = [
    *FULL_WIDTH_PASSES,
    (rx(r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])"), _zh_date),
    (rx(r"(?<![\d./-])(?P<y>\d{4})[-/](?P<m>\d{1,2})(?![\d/.-])"), _zh_year_month),
    (rx(r"(?<![\d.])(?P<a>\d{4})\s?[-~～–—至到]\s?(?P<b>\d{4})(?=\s?年)"), _zh_year_range),
    (rx(r"(?<![\d.])(?P<y>\d{4})(?=\s?年)"), _zh_year),
    (rx(r"(?:(?<=\d[:：]\d\d)(?P<to>\s?[-~～–—至到]\s?))?(?<![\d:.])(?P<h>\d{1,2})[:：](?P<m>\d{2})"
         r"(?:[:：](?P<s>\d{2}))?(?![\d:：])"), _zh_time),
    (rx(r"(?<![\d:.])(?P<a>\d+)[:：](?P<b>\d+)(?![\d:：])"), _zh_ratio),
    (rx(rf"(?P<sign>{SIGN_MARK})?(?P<sym>{_ZH_CURRENCY})\s?(?P<a>{NUM})(?P<sa>[万亿千百]*)"
         rf"(?:\s?[-~～到至]\s?(?:{_ZH_CURRENCY})?\s?(?P<b>{NUM})(?P<sb>[万亿千百]*))?"), _zh_money),
    (rx(rf"(?P<sa>{SIGN}){START}(?P<a>{NUM})\s?(?P<pa>[%‰])?\s?[-~～到至]\s?"
         rf"(?P<sb>[-\u2212]?)(?P<b>{NUM})\s?(?P<pb>[%‰])"), _zh_percent_range),
    (rx(rf"(?P<sign>{SIGN}){START}(?P<n>{NUM})\s?(?P<p>[%‰])"), _zh_percent),
    (rx(rf"(?<![A-Za-z0-9.\-/:])(?P<sa>{SIGN})(?P<a>{NUM})\s?(?P<sep>[-~～–—])\s?(?P<sb>)(?P<b>{NUM})"
         rf"(?![\d\-/:]|\.\d)(?:{UNIT})?"), _zh_range),
    (rx(r"(?<![A-Za-z0-9.\-/])(?P<plus>\+)?(?P<g>\d+(?:-\d+)+)(?![\d\-/]|\.\d)"), _zh_phone),
    (rx(r"(?<![\d.])\d+(?:\.\d+){2,}(?![\d]|\.\d)"), _zh_dotted),
    (rx(rf"{START}(?P<n>{SIGN}(?:\d+/\d+|{NUM})){UNIT}"), _zh_with_unit),
    (rx(r"(?<![\d./])(?P<a>\d+)/(?P<b>\d+)(?![\d/]|\.\d)"), _zh_fraction),
    (rx(rf"(?P<plus>(?<![A-Za-z0-9])\+)?(?P<n>{SIGN}{START}{NUM})"), _zh_plain),
]
