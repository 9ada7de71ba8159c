"""Tell a subtitle line's speech from what is not spoken: sound descriptions, lyrics, credits and ads.

Pure text rules, no I/O. A line is one of a cue's lines (tags already stripped); a cue's lines go in
joined by newlines. Descriptions inside dialogue are cut out and the dialogue kept; when unsure, a
piece of text is taken for dialogue, since a line dubbed in vain costs less than a line lost.

- Sound descriptions: `[door slams]` (but not pinyin after Han characters, `好[hao4]`, which is
  dubber.text.pronunciation markup), `(laughs)` at the start of a line or naming a sound anywhere,
  `*sighs*`, full-width `（笑い）` and `【拍手】`, a short ALL-CAPS line naming a sound (`DOOR SLAMS`,
  but not shouting: `WAIT FOR ME!`), and an italic line of a sound word or two (`<i>Laughs</i>`:
  italics alone are not a description, off-screen dialogue is italic too).
- Lyrics and music: a line with a music note (`♪ … ♪`, `♫`) or opening with `# ` as some SRTs mark songs.
- Credits and ads: URLs, `www.`, e-mail addresses, "Subtitles by …", "Downloaded from …", OpenSubtitles'
  own cues, case-insensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dubber.subtitles.cue import SKIP_CREDIT, SKIP_LYRICS, SKIP_SOUND

# Words that name a sound in SDH captions, as they are written there (laughs, laughing, laughter ...).
_SOUND_BASES = """
laugh laughter chuckle giggle snicker cackle guffaw chortle sigh gasp groan moan scream shriek screech yelp
sob weep whimper wail cry cough sneeze sniff sniffle snort snore yawn hiccup grunt pant wheeze gulp gag retch
vomit hum whistle mumble mutter murmur whisper stammer stutter grumble growl howl bark meow purr chirp tweet
roar hiss buzz beep ring ding chime knock bang thud thump slam creak squeak squeal crash clatter clang clank
click splash rumble thunder thunderclap music song sing applause applaud clap cheering footsteps footstep
gunshot gunfire explosion siren alarm static silence chatter indistinct muffled inaudible panting breathing
exhale inhale scoff tut tsk whoosh honk kiss smooch strain shush shiver shudder slurp sizzle clink jingle
rustle thunk crackle bleep
""".split()


def _forms(base: str) -> set[str]:
    """Spell a sound word's usual forms: sighs, sighing, sighed; sob -> sobbing; giggle -> giggling; cry -> cries."""
    forms = {base, base + "s", base + "es", base + "ing", base + "ed"}
    if base.endswith("e"):
        forms |= {base[:-1] + "ing", base + "d"}
    if base.endswith("y"):
        forms |= {base[:-1] + "ies", base[:-1] + "ied"}
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnpt]", base):
        forms |= {base + base[-1] + "ing", base + base[-1] + "ed"}
    return forms


SOUND_WORDS = frozenset(form for base in _SOUND_BASES for form in _forms(base))
# Sounds as Japanese and Chinese captions write them inside （） or 【】; a name of a sound ends in 音 or 声.
_CJK_SOUNDS = frozenset("笑 笑い 笑う 笑い声 笑声 拍手 掌声 歓声 欢呼 ため息 叹气 悲鳴 尖叫 音楽 音乐 泣き声 "
                        "哭声 咳 咳払い 咳嗽 息 雷 雷鸣 銃声 枪声 爆発 爆炸 足音 ノック 敲门 チャイム 電話 着信 "
                        "音 声 歌".split())
# A first or second person in a line means someone is talking, not a caption naming a sound.
_PERSONS = frozenset("i i'm i'll i've me my mine we we're us our you you're your yours".split())

_SQUARE = re.compile(r"\[([^\[\]\n]*)\]|［([^［］\n]*)］|【([^【】\n]*)】")
_ROUND = re.compile(r"\(([^()\n]*)\)|（([^（）\n]*)）|\*([^*\n]+)\*")
_PINYIN_TAG = re.compile(r"[a-zA-Z\u00c0-\u024f\u0300-\u036f]{1,8}[1-5]?")  # what dubber.text.pronunciation reads
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LABEL = re.compile(r"\s*[^\W\d_][\w.' \u2019-]{0,29}:\s*")  # a NAME: prefix before a description
_NOTES = re.compile("[\u266a\u266b\u266c\U0001f3b5\U0001f3b6]")
_HASH_SONG = re.compile(r"#\s*[^\W\d_]|#\s*$")  # '# Never gonna give you up #'; not '#1'
_URL = re.compile(r"\bhttps?://|\bwww\.\S|[\w.+-]+@[\w-]+\.[a-z]{2,}\b", re.IGNORECASE)
_DOMAIN = re.compile(r"\b[\w-]{2,}\.(?:com|org|net|info|tv|io|co|me|to|ru|cn|de|uk|link|xyz)\b", re.IGNORECASE)
# Credit phrases as a line's opening words (so "it was translated by my father" stays dialogue) ...
_CREDIT_OPENING = re.compile(
    r"\W*(?:re-?)?(?:subtitles?|subtitled|subs?|sync(?:ed|hronized)?|corrections?|corrected|translat(?:ed|ions?)|"
    r"transcri(?:bed|pt|ption)|captions?|captioned|captioning|encoded|ripped|timing|timed|edited|downloaded)"
    r"(?:\s*(?:and|&|\+|/|,)\s*(?:re-?)?[a-z]+)*\s+(?:by|from)\b", re.IGNORECASE)
# ... and phrases that are never dialogue, anywhere.
_CREDIT_ANYWHERE = re.compile(r"opensubtitles|subscene|addic7ed|podnapisi|support us and become vip member|"
                              r"advertise your product or brand here|please rate this subtitle|osdb\.link",
                              re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_SENTENCE = re.compile(r"[.?!,;\u2026\u3002\uff1f\uff01]")
_LEFTOVER_HEAD = re.compile(r"^[\s,;:\-\u2013\u2014]+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.!?;:\u2026])")
_QUOTE_CHARS = 40


@dataclass(frozen=True)
class Classified:
    """A line sorted out: the words to speak, or why none of it is speech."""

    text: str  # the words left to speak, lines joined by spaces; "" when nothing is speech
    skip: str = ""  # a SKIP_* kind (dubber.subtitles.cue) when nothing is speech, else ""
    reason: str = ""  # why nothing is spoken, in words: "sound description '[door slams]'"
    dropped: tuple[str, ...] = ()  # what was cut out of a line that is otherwise spoken, in words


def classify(text: str, *, italic: bool = False) -> Classified:
    """Sort a cue's text (lines joined by newlines) into speech and what is not spoken; `italic`: all of it was."""
    spoken: list[str] = []
    cut: list[tuple[str, str]] = []  # (kind, words) for each piece not spoken
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        kind = _whole_line_kind(line, italic)
        if kind:
            cut.append((kind, _words(kind, line)))
            continue
        rest, descriptions = _cut_descriptions(line)
        if descriptions and not any(ch.isalnum() for ch in rest):
            cut.append((SKIP_SOUND, _words(SKIP_SOUND, line)))  # '[sighs]...': the dots go with it
            continue
        spoken.append(rest)
        cut.extend((SKIP_SOUND, _words(SKIP_SOUND, d)) for d in descriptions)
    said = " ".join(spoken)
    if cut and not any(ch.isalnum() for ch in said):
        return Classified("", cut[0][0], "; ".join(words for _, words in cut))
    return Classified(said, dropped=tuple(words for _, words in cut))


def is_sound_word(word: str) -> bool:
    """Tell whether a word names a sound as SDH captions write it (laughs, sighing, applause)."""
    return word.casefold() in SOUND_WORDS


def _whole_line_kind(line: str, italic: bool) -> str:
    """Return the SKIP_* kind of a line that is not speech as a whole, "" when it may be."""
    if _NOTES.search(line) or _HASH_SONG.match(line):
        return SKIP_LYRICS
    if _URL.search(line) or _CREDIT_ANYWHERE.search(line) or _CREDIT_OPENING.match(line) or _bare_domain(line):
        return SKIP_CREDIT
    if _caps_sound(line) or (italic and _italic_sound(line)):
        return SKIP_SOUND
    return ""


def _bare_domain(line: str) -> bool:
    """A domain name alone, or nearly ('Visit AllSubs.org'); one inside a sentence is someone saying it."""
    return bool(_DOMAIN.search(line)) and len(_WORD.findall(line)) <= 3


def _caps_sound(line: str) -> bool:
    """An ALL-CAPS caption naming a sound ('DOOR SLAMS'); shouted dialogue ('WAIT FOR ME!') is not one."""
    words = _WORD.findall(line)
    if not words or len(words) > 5 or _SENTENCE.search(line) or any(ch.islower() for ch in line):
        return False
    if not any(ch.isupper() for ch in line) or any(w.casefold() in _PERSONS for w in words):
        return False
    return any(is_sound_word(w) for w in words)


def _italic_sound(line: str) -> bool:
    """An italic sound word ('Laughs', 'Sighs.') or two or three without punctuation ('Music playing')."""
    words = _WORD.findall(line)
    if len(words) == 1:
        return is_sound_word(words[0]) and not re.search(r"[?!,;]", line)
    return 2 <= len(words) <= 3 and not _SENTENCE.search(line) and (is_sound_word(words[0])
                                                                    or is_sound_word(words[-1]))


def _cut_descriptions(line: str) -> tuple[str, list[str]]:
    """Cut the bracketed descriptions out of a line; return what is left and what was cut."""
    cut: list[str] = []
    kept: list[str] = []
    at = 0
    markup_end = -1  # where the last kept pinyin tag ended: a tag right after it is pinyin too
    for match in _SQUARE.finditer(line):
        inner = next(g for g in match.groups() if g is not None)
        before = line[match.start() - 1] if match.start() else ""
        after_han = bool(_HAN.match(before)) or match.start() == markup_end
        if match.group(1) is not None and after_han and _PINYIN_TAG.fullmatch(inner) and not is_sound_word(inner):
            markup_end = match.end()
            continue
        kept.append(line[at:match.start()])
        cut.append(match.group())
        at = match.end()
    kept.append(line[at:])
    line = "".join(kept)
    kept, at = [], 0
    for match in _ROUND.finditer(line):
        if _is_round_description(line, match):
            kept.append(line[at:match.start()])
            cut.append(match.group())
            at = match.end()
    kept.append(line[at:])
    return (_tidy("".join(kept)) if cut else line), cut


def _is_round_description(line: str, match: re.Match[str]) -> bool:
    """Tell a description in (), （） or ** from an aside in dialogue: keep the aside when unsure."""
    _, wide_inner, starred = match.groups()
    inner = next(g for g in match.groups() if g is not None).strip()
    words = _WORD.findall(inner)
    if not words:
        return False
    at_start = not re.search(r"[^\W_]", line[:match.start()]) or bool(_LABEL.fullmatch(line[:match.start()]))
    if wide_inner is not None:  # （笑い）, or a speaker's name before the words: （健二）待ったぞ
        return (inner in _CJK_SOUNDS or inner.endswith(("音", "声", "聲"))
                or (at_start and len(inner) <= 6 and not _SENTENCE.search(inner) and bool(line[match.end():].strip())))
    if is_sound_word(words[0]) or (len(words) > 1 and is_sound_word(words[-1])):
        return True
    if starred is not None:
        return False  # *really*: emphasis
    caps = not any(ch.islower() for ch in inner) and sum(ch.isalpha() for ch in inner) >= 2
    if caps and (len(words) > 1 or len(inner) > 4):
        return True  # (LAUGHING), (DOOR CLOSES); not an acronym like (FBI)
    # A short caption opening the line, '(door closes) Who's there?'; a sentence in brackets is someone's words.
    return (at_start and len(words) <= 5 and not _SENTENCE.search(inner)
            and not any(w.casefold() in _PERSONS for w in words))


def _tidy(text: str) -> str:
    """Close the gaps a cut leaves: doubled spaces, a space before a stop, a leading comma or dash."""
    text = _SPACE_BEFORE_MARK.sub(r"\1", " ".join(text.split()))
    return _LEFTOVER_HEAD.sub("", text)


def _words(kind: str, piece: str) -> str:
    """Name a piece that is not spoken: "sound description '[door slams]'"."""
    label = {SKIP_SOUND: "sound description", SKIP_LYRICS: "lyrics", SKIP_CREDIT: "credit or ad"}[kind]
    quoted = piece if len(piece) <= _QUOTE_CHARS else piece[:_QUOTE_CHARS - 1] + "\u2026"
    return f"{label} '{quoted}'"
