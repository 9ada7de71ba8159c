"""Text normalisation: every expected string is written out by hand, as a listener would say it."""

from __future__ import annotations

import pytest

from dubber.text.normalize import normalize

ZH = [
    # integers, separators, decimals, signs, full width
    ("1,234", "一千二百三十四"),
    ("12345", "一万二千三百四十五"),
    ("100,000,000", "一亿"),
    ("3.14", "三点一四"),
    ("0.5", "零点五"),
    ("-5", "负五"),
    ("温度-5度", "温度负五度"),
    ("-3.5", "负三点五"),
    ("１２３", "一百二十三"),
    # percentages and fractions
    ("50%", "百分之五十"),
    ("50.5%", "百分之五十点五"),
    ("５０％", "百分之五十"),
    ("-5%", "负百分之五"),
    ("10%-20%", "百分之十到百分之二十"),
    ("10-20%", "百分之十到百分之二十"),
    ("1/3", "三分之一"),
    # years and dates
    ("2024年", "二零二四年"),
    ("1990年代", "一九九零年代"),
    ("1000年前", "一千年前"),
    ("2024年3月5日", "二零二四年三月五日"),
    ("2024-03-05", "二零二四年三月五日"),
    ("2024/3/5", "二零二四年三月五日"),
    ("2024.3.5", "二零二四年三月五日"),
    ("2020-2024年", "二零二零到二零二四年"),
    # times and ratios
    ("10:30", "十点三十分"),
    ("8:05", "八点零五分"),
    ("10:00", "十点"),
    ("2:15", "两点十五分"),
    ("10:30:15", "十点三十分十五秒"),
    ("１０：３０", "十点三十分"),
    ("10:30-11:00", "十点三十分到十一点"),
    ("比分3:2", "比分三比二"),
    # ranges
    ("3-5公里", "三到五公里"),
    ("3-5km", "三到五公里"),
    ("第3-5章", "第三到五章"),
    ("3~5天", "三到五天"),
    ("2-3个", "两到三个"),
    ("iPhone 3-5", "iPhone 三-五"),
    # money
    ("¥100", "一百元"),
    ("￥100", "一百元"),
    ("100元", "一百元"),
    ("$5", "五美元"),
    ("€3.5", "三点五欧元"),
    ("£20", "二十英镑"),
    ("HK$50", "五十港元"),
    ("¥12.50", "十二点五元"),
    ("¥1.5亿", "一点五亿元"),
    ("¥100-200", "一百到二百元"),
    # units
    ("5km", "五公里"),
    ("5 km", "五公里"),
    ("3kg", "三公斤"),
    ("500g", "五百克"),
    ("8m", "八米"),
    ("5cm", "五厘米"),
    ("3mm", "三毫米"),
    ("100km/h", "一百公里每小时"),
    ("25℃", "二十五摄氏度"),
    ("-5°C", "负五摄氏度"),
    ("5m²", "五平方米"),
    ("64GB", "六十四GB"),
    ("500MB", "五百MB"),
    ("500ml", "五百毫升"),
    ("1.5L", "一点五升"),
    ("10min", "十分钟"),
    ("27in屏幕", "二十七英寸屏幕"),
    ("1/2kg", "二分之一公斤"),
    # 两 before measure words, 二 elsewhere
    ("2个", "两个"),
    ("2kg", "两公斤"),
    ("2万", "两万"),
    ("第2个", "第二个"),
    ("2月", "二月"),
    ("2年级", "二年级"),
    ("2分之1", "二分之一"),
    # digit by digit
    ("13800138000", "一三八零零一三八零零零"),
    ("010-12345678", "零一零 一二三四五六七八"),
    ("138-0013-8000", "一三八 零零一三 八零零零"),
    ("+8613800138000", "加八六一三八零零一三八零零零"),
    ("007", "零零七"),
    ("1.2.3", "一点二点三"),
    # mixed lines: Latin words stay, numbers are Chinese
    ("iPhone 15发布了", "iPhone 十五发布了"),
    ("我跑了5km", "我跑了五公里"),
    ("Python 3.11", "Python 三点一一"),
    ("MP3", "MP三"),
    ("5 apples", "五 apples"),
    ("Mr. Smith有3个", "Mr. Smith有三个"),
]

EN = [
    ("1,234", "one thousand two hundred thirty-four"),
    ("12345", "twelve thousand three hundred forty-five"),
    ("100,000,000", "one hundred million"),
    ("3.14", "three point one four"),
    ("-5", "minus five"),
    ("It was -5 outside", "It was minus five outside"),
    ("5 - 3", "five - three"),
    ("１２", "twelve"),
    # ordinals
    ("1st", "first"),
    ("2nd", "second"),
    ("23rd", "twenty-third"),
    ("11th", "eleventh"),
    # years
    ("1999", "nineteen ninety-nine"),
    ("2024", "twenty twenty-four"),
    ("2005", "two thousand five"),
    ("1905", "nineteen oh five"),
    ("in 1066", "in ten sixty-six"),
    ("1,999", "one thousand nine hundred ninety-nine"),
    ("1999-2005", "nineteen ninety-nine to two thousand five"),
    ("1990s", "nineteen nineties"),
    ("the 80s", "the eighties"),
    ("'90s", "nineties"),
    # dates
    ("2024-03-05", "March fifth, twenty twenty-four"),
    ("March 5, 2024", "March fifth, twenty twenty-four"),
    ("March 5th, 2024", "March fifth, twenty twenty-four"),
    ("Mar. 5", "March fifth"),
    ("in March 2024", "in March twenty twenty-four"),
    ("on 5 March 2024", "on the fifth of March, twenty twenty-four"),
    ("the 5th of March", "the fifth of March"),
    ("3/5/2024", "March fifth, twenty twenty-four"),
    ("25/12/2024", "December twenty-fifth, twenty twenty-four"),
    # times
    ("3:30 pm", "three thirty p m"),
    ("3:30pm", "three thirty p m"),
    ("10:05", "ten oh five"),
    ("10:00", "ten o'clock"),
    ("3 pm", "three p m"),
    ("at 5 p.m.", "at five p m."),
    ("10:30:15", "ten thirty and fifteen seconds"),
    ("10:30-11:00", "ten thirty to eleven o'clock"),
    ("16:9", "sixteen to nine"),
    # money
    ("$12.50", "twelve dollars and fifty cents"),
    ("$1", "one dollar"),
    ("$0.50", "fifty cents"),
    ("$1.01", "one dollar and one cent"),
    ("$3 million", "three million dollars"),
    ("$3m", "three million dollars"),
    ("$1.5 billion", "one point five billion dollars"),
    ("£5.50", "five pounds and fifty pence"),
    ("£1.01", "one pound and one penny"),
    ("€3.5", "three euros and fifty cents"),
    ("¥100", "one hundred yen"),
    ("$1,000,000", "one million dollars"),
    ("-$5", "minus five dollars"),
    ("$5-10", "five to ten dollars"),
    # percentages, fractions, ranges
    ("50%", "fifty percent"),
    ("50.5%", "fifty point five percent"),
    ("10-20%", "ten to twenty percent"),
    ("1/3", "one third"),
    ("3/4", "three quarters"),
    ("1/2", "one half"),
    ("3-5 km", "three to five kilometers"),
    ("pages 10-20", "pages ten to twenty"),
    # units and agreement
    ("1 km", "one kilometer"),
    ("2 km", "two kilometers"),
    ("1.5 km", "one point five kilometers"),
    ("60 mph", "sixty miles per hour"),
    ("100 km/h", "one hundred kilometers per hour"),
    ("25°C", "twenty-five degrees Celsius"),
    ("1°C", "one degree Celsius"),
    ("98.6°F", "ninety-eight point six degrees Fahrenheit"),
    ("64GB", "sixty-four gigabytes"),
    ("1 MB", "one megabyte"),
    ("5cm", "five centimeters"),
    ("3 mm", "three millimeters"),
    ("500 ml", "five hundred milliliters"),
    ("10 lbs", "ten pounds"),
    ("6 ft", "six feet"),
    ("1 ft", "one foot"),
    ("27in", "twenty-seven inches"),
    ("5 in a row", "five in a row"),
    ("wait 30s", "wait thirty seconds"),
    ("5 months", "five months"),
    # digit by digit
    ("555-1234", "five five five, one two three four"),
    ("1-800-555-0199", "one, eight zero zero, five five five, zero one nine nine"),
    ("007", "zero zero seven"),
    ("12345678901", "one two three four five six seven eight nine zero one"),
    # titles and abbreviations (what models.english_phonemes.normalize_text covered)
    ("Mr. Smith", "Mister Smith"),
    ("Mrs. Smith", "Missus Smith"),
    ("Dr. Who", "Doctor Who"),
    ("St. Louis", "Saint Louis"),
    ("Main St.", "Main Street"),
    ("No. 5", "number five"),
    ("#1", "number one"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("Jan. 5", "January fifth"),
    # mixed lines: Han stays, numbers are English, words stay apart from letters
    ("我有5个", "我有five个"),
    ("iPhone 15", "iPhone fifteen"),
    ("MP3", "MP three"),
]


@pytest.mark.parametrize(("text", "expected"), ZH)
def test_mandarin(text, expected):
    assert normalize(text, "zh") == expected


@pytest.mark.parametrize(("text", "expected"), EN)
def test_english(text, expected):
    assert normalize(text, "en") == expected


MARKUP = [
    ("她的爱好[h][ào]有5个", "zh", "她的爱好[h][ào]有五个"),
    ("银行[yin2][hang2]2024年[nian2]", "zh", "银行[yin2][hang2]二零二四年[nian2]"),  # 年 sits in the markup
    ("2个[ge4]", "zh", "两个[ge4]"),
    ("第[di4]2个", "zh", "第[di4]二个"),
    ("[laughs] 5km", "zh", "[laughs] 五公里"),
    ("I said {tomato|təˈmɑːtoʊ} 3 times", "en", "I said {tomato|təˈmɑːtoʊ} three times"),
    ("{v2|viː tuː} costs $5", "en", "{v2|viː tuː} costs five dollars"),
    # bad markup (a tag with no Han character before it): still normalised, tags kept as written
    ("5[hao4]", "zh", "五[hao4]"),
    ("好[hoo4] 5个", "zh", "好[hoo4] 五个"),
    ("{x|1} 2[hao4]", "en", "{x|1} two[hao4]"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), MARKUP)
def test_markup_passes_through(text, lang, expected):
    assert normalize(text, lang) == expected


ODD = [
    ("", "zh", ""),
    ("", "en", ""),
    ("!!!", "zh", "!!!"),
    ("...", "en", "..."),
    ("，。", "zh", "，。"),
    ("-", "en", "-"),
    ("$", "en", "$"),
    ("%", "zh", "%"),
    ("12345678901234567", "zh", "一二三四五六七八九零一二三四五六七"),  # over 10^16: digit by digit
    ("12345678901234567", "en",
     "one two three four five six seven eight nine zero one two three four five six seven"),
    ("12,345,678,901,234,567", "en",
     "one two three four five six seven eight nine zero one two three four five six seven"),
    ("5.", "en", "five."),
    ("1e5", "en", "one e five"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), ODD)
def test_odd_input(text, lang, expected):
    assert normalize(text, lang) == expected


@pytest.mark.parametrize("lang", ["fr", "ja", ""])
def test_other_languages_are_unchanged(lang):
    text = "5 km, $12.50, 2024-03-05, 50%"
    assert normalize(text, lang) == text


def test_huge_inputs_do_not_raise():
    # Python refuses int() of strings over 4300 digits: such runs must never reach int().
    for text in ("9" * 5000, "$" + "9" * 5000, "9" * 5000 + "th", "9" * 5000 + "/7", "9" * 5000 + "%"):
        for lang in ("zh", "en"):
            assert not any(ch.isdigit() for ch in normalize(text, lang))


IDEMPOTENT = [text for text, _ in ZH] + [text for text, _, _ in MARKUP] + [
    "2024年3月5日上午10:30，我花了¥1,234.50买了2个5GB的U盘，便宜了15%。",
    "Dr. Smith paid $3 million on March 5, 2024 at 3:30 pm for 2,000 km² in the 1990s & more.",
    "价格$5-10，约3-5km，电话010-12345678，版本v1.2.3",
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_idempotent(lang):
    for text in IDEMPOTENT + [text for text, _ in EN]:
        once = normalize(text, lang)
        assert normalize(once, lang) == once, text


def test_whole_lines():
    line = "2024年3月5日上午10:30，我花了¥1,234.50买了2个5GB的U盘，便宜了15%。"
    assert normalize(line, "zh") == (
        "二零二四年三月五日上午十点三十分，我花了一千二百三十四点五元买了两个五GB的U盘，便宜了百分之十五。")
    line = "Dr. Smith paid $3 million on March 5, 2024 at 3:30 pm for 2,000 km² in the 1990s & more."
    assert normalize(line, "en") == (
        "Doctor Smith paid three million dollars on March fifth, twenty twenty-four at three "
        "thirty p m for two thousand square kilometers in the nineteen nineties and more.")
