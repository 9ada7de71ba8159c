"""ASS/SSA events that are on-screen typesetting rather than speech, and styles that name their speaker.

Fansubs typeset signs, titles and karaoke as Dialogue events: positioned or moving text (`\\pos`,
`\\move`, `\\org`, `\\clip`), karaoke timing (`\\k`), a style or Name field called like its job ("Signs",
"TS", "OP-Romaji", "Note"), or text raised to the top of the screen with nobody named to say it. And
where the Name field is empty, the style is often the speaker ("Kenji", "Aiko Italics"); generic
styles ("Default", "Main", "Top", "Flashback") name nobody.
"""

from __future__ import annotations

import re

# Words that name a typesetting style or Name field, as a whole word of it, any case ...
_TYPESETTING = frozenset("""
sign signs ts typeset typesetting title titles karaoke kara kfx fx song songs lyric lyrics insert note notes
tlnote tl credit credits staff eyecatch logo opening ending preview
""".split())
_TYPESETTING_CAPS = re.compile(r"(?:OP|ED)\d*")  # ... 'OP' and 'ED' only in capitals: Ed is a name
_TYPESETTING_CJK = ("歌词", "歌詞", "注释", "注釋", "标题", "標題", "特效", "片头", "片尾", "字幕组", "看板",
                    "タイトル")
# ... and words that make a top-aligned style a sign style ("Screen", "Phone text"), not one of dialogue.
_SIGN_WHEN_TOP = frozenset("text screen board phone letter location place date time info overlay card book "
                           "sms message chapter episode ep label caption captions".split())
# Style names that say how dialogue looks, not who speaks it.
_GENERIC = frozenset("""
default main dialogue dialog dial dlg italics italic ital top alt alternate flashback fb narration thoughts
thought overlap overlapping subtitle subtitles sub subs normal regular standard text bottom up down upper
lower mid middle center centre left right bold internal inner monologue whisper shout offscreen os vo voice
bg background secondary second other new style copy white black yellow small big large en eng english jp
jpn ja japanese cn chs cht zh chinese sc tc kr korean fr de es ru pt tv radio phone
""".split())
_OVERRIDE_BLOCK = re.compile(r"{[^{}]*}")
_MOVING = re.compile(r"\\(pos|move|org|i?clip)\s*\(")
_KARAOKE = re.compile(r"\\(?:kf|ko|k|K)\s*\d")
_TOP = re.compile(r"\\an\s*([7-9])|\\a\s*([5-7])(?!\d)")  # \an7-9; SSA's legacy \a5-7
_EFFECT = re.compile(r"\s*(banner|scroll|karaoke|template|code|fx)\b", re.IGNORECASE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# SSA (v4) numbers alignment 1-3 bottom, 5-7 top, 9-11 middle; ASS (v4+) as a keypad: 7-9 top.
_SSA_TO_NUMPAD = {1: 1, 2: 2, 3: 3, 5: 7, 6: 8, 7: 9, 9: 4, 10: 5, 11: 6}


def numpad_alignment(value: int, legacy: bool) -> int:
    """Return an ASS keypad alignment (7-9 top) for a style's Alignment, converting SSA's legacy numbers."""
    return _SSA_TO_NUMPAD.get(value, 2) if legacy else value


def is_typesetting_name(name: str) -> bool:
    """Tell whether a style or Name field names typesetting ('Signs', 'TS', 'OP-Romaji'), not a speaker."""
    words = _words(name)
    return (any(w.casefold() in _TYPESETTING for w in words) or any(_TYPESETTING_CAPS.fullmatch(w) for w in words)
            or any(mark in name for mark in _TYPESETTING_CJK))


def sign_reason(text: str, style: str, name: str, effect: str, top_style: bool, has_speaker: bool) -> str:
    """Say why an event is an on-screen sign and not speech, "" when it is dialogue.

    `text` is the event's raw text with its override blocks; `top_style`: its style is top-aligned;
    `has_speaker`: the line names who says it, which keeps text raised to the top (`\\an8`) dialogue.
    """
    if name and is_typesetting_name(name):
        return f"typesetting (Name field {name!r})"
    if is_typesetting_name(style):
        return f"typesetting style {style!r}"
    if top_style and any(w.casefold() in _SIGN_WHEN_TOP for w in _words(style)):
        return f"top-aligned sign style {style!r}"
    overrides = "".join(_OVERRIDE_BLOCK.findall(text))
    if _KARAOKE.search(overrides):
        return "karaoke (\\k timing tags)"
    moving = _MOVING.search(overrides)
    if moving:
        return f"positioned on-screen text (\\{moving.group(1)})"
    if _EFFECT.match(effect):
        return f"on-screen effect {effect.strip()!r}"
    top = _TOP.search(overrides)
    if top and not has_speaker:
        return f"text at the top of the screen ({top.group().replace(' ', '')}) with no speaker named"
    return ""


def style_speaker(style: str) -> str | None:
    """Return the speaker a style names ('Kenji', 'Aiko' from 'Aiko_Italics'), None for generic or sign styles."""
    style = style.strip().lstrip("*")
    if not style or is_typesetting_name(style):
        return None
    words = _words(style)
    named = [w for w in words if not w.isdigit() and w.casefold() not in _GENERIC]
    if not named:
        return None
    return style if named == words else " ".join(named)


def _words(name: str) -> list[str]:
    """Split a style name into words at separators, digits and camel case ('OPRomaji2' -> OP, Romaji, 2)."""
    words: list[str] = []
    for token in re.findall(r"[^\W_]+", name):
        words.extend(_CAMEL.findall(token) if token.isascii() else [token])
    return words
