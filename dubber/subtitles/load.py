"""Load a subtitle file (SRT, ASS/SSA, WebVTT) into cues, with a diagnostic for every problem.

Every cue is kept, spoken or not: sound descriptions, lyrics, credits and ads (dubber.subtitles.nonspeech) and
ASS signs (dubber.subtitles.typesetting) stay in the list with `Cue.skip` saying why they are not spoken, and a
line both speakers say at once is spoken once. A cue holding two speakers' dashed turns becomes one
cue per turn over the same window (`Cue.part`).
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pysubs2

from dubber.errors import SubtitleError
from dubber.files import write_atomically
from dubber.subtitles.cue import SKIP_DUPLICATE, SKIP_SIGN, Cue, Diagnostic, show_time
from dubber.subtitles.encoding import read_text, repair_mojibake, split_lines
from dubber.subtitles.formats import (VTT_VOICE, Block, Report, detect_format, parse_heads, scan_ass, scan_srt,
                                     scan_vtt, short)
from dubber.subtitles.nonspeech import classify
from dubber.subtitles.typesetting import is_typesetting_name, sign_reason, style_speaker
from dubber.synthesis.budget import MAX_SPOKEN_CHARS
from dubber.text.pronunciation import MarkupError, parse

#: The formats this module reads.
FORMATS = ("srt", "ass", "ssa", "vtt")

_EXTENSION_FORMAT = {".srt": "srt", ".ass": "ass", ".ssa": "ssa", ".vtt": "vtt"}

_DAY_MS = 86_400_000
# A cue longer than this as written is not a subtitle line. What is spoken (digits as words) is
# checked against the same number when the line is rendered, in its language (dubber.synthesis.budget).
MAX_CUE_CHARS = MAX_SPOKEN_CHARS
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z0-9][^<>]*>")  # HTML tags and WebVTT's <00:00:01.000>
# '{' excluded: a line of lone braces stays linear. A block like '{tomato|təˈmɑːtoʊ}' (a '|', no '\\')
# is dubber's phonetic override (dubber.text.pronunciation), not an ASS override or comment: it is kept.
_OVERRIDE = re.compile(r"{(?![^{}|\\\n]+\|[^{}|\\\n]+})[^{}]*}")
_LINE_BREAK = re.compile(r"\\[Nn]")
_DRAWING = re.compile(r"\\p(\d+)")  # \p1 starts a vector drawing, \p0 ends it (\pos and \pbo are other tags)
# Zero-width and direction marks, BOMs, and control characters other than whitespace: nothing to speak.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_DASH = re.compile(r"^[-\u2010\u2013\u2014]+\s*(?=\D|$)")
_SPEAKER = re.compile(r"^(?P<name>[^\W\d_][\w.'\u2019&\- ]*?)\s*(?::\s+|\uff1a\s*)(?P<rest>\S.*)$")
_SPEAKER_MAX_CHARS = 30
_SPEAKER_MAX_WORDS = 3
# Italics switches while a cue's lines are cut; _INVISIBLE strips them afterwards.
_ITALIC_ON, _ITALIC_OFF = "\x01", "\x02"
_HTML_ITALIC = re.compile(r"<\s*(/?)\s*i\s*>", re.IGNORECASE)
_ASS_ITALIC = re.compile(r"\\i([01]?)(?![A-Za-z0-9])")  # \i1 on, \i0 or \i off; not \iclip
# A line ending a sentence: only after one does a dash start another speaker's turn when the first has no dash.
_SENTENCE_END = re.compile("[.?!\u2026\u3002\uff1f\uff01\"'\u201d\u2019)\\]]$")
_SAME_TIME_MS = 100  # cues starting and ending this close together are said at the same time


@dataclass
class SubtitleLoad:
    """The cues read from one subtitle file, and every problem met on the way."""

    path: str
    format: str  # one of FORMATS
    encoding: str  # the Python codec the file was decoded with
    cues: list[Cue] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def errors(self) -> list[Diagnostic]:
        """Return the diagnostics whose block or cue was dropped."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def warnings(self) -> list[Diagnostic]:
        """Return the diagnostics about cues that were kept or skipped harmlessly."""
        return [d for d in self.diagnostics if d.severity == "warning"]


@dataclass
class _Line:
    """One line of a cue's text, cleaned: its words, the speaker it names, whether a dash opens it, italics."""

    text: str
    speaker: str | None
    dashed: bool
    italic: bool


@dataclass
class _Turn:
    """One speaker's turn in a cue: its lines' words, the speaker they name (None: not named), italics."""

    lines: list[str]
    speaker: str | None
    italic: bool

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def load_subtitles(path: str | os.PathLike[str], *, speak_all: bool = False) -> SubtitleLoad:
    """Read a subtitle file into numbered cues; raise SubtitleError only if it is unusable.

    With `speak_all`, nothing is taken for non-speech: descriptions, lyrics, credits and signs are spoken as
    written. Mojibake is mended, and speakers, turns and lines said together are found, either way.
    """
    name = os.fspath(path)
    report = Report(name)
    text, encoding = read_text(name, report.warning)
    hint = _EXTENSION_FORMAT.get(Path(name).suffix.lower())
    if not text.strip():
        report.error(None, "no-cues", "the file is empty")
        return SubtitleLoad(name, hint or "srt", encoding, [], report.items)

    fmt = detect_format(text, hint, name, encoding)
    lines = repair_mojibake(split_lines(text), report.warning)
    if fmt in ("ass", "ssa"):
        blocks = scan_ass(lines, fmt, report)
    elif fmt == "vtt":
        blocks = scan_vtt(lines, report)
    else:
        blocks = scan_srt(lines, report)
    cues = _mark_duplicates(_make_cues(blocks, fmt, report, speak_all), report)
    _check_overlaps(cues, report)
    if not cues:
        report.error(None, "no-cues", "no cue in the file has text to speak")
    elif not any(cue.spoken for cue in cues):
        report.error(None, "no-cues", f"none of the {len(cues)} cues in the file is speech (--speak-all speaks them)")
    report.items.sort(key=lambda d: d.line or 0)
    return SubtitleLoad(name, fmt, encoding, cues, report.items)


def _make_cues(blocks: list[Block], fmt: str, report: Report, speak_all: bool) -> list[Cue]:
    """Turn blocks into numbered cues, dropping those with bad times or no text."""
    cues: list[Cue] = []
    events = parse_heads(blocks, fmt, report) if fmt in ("ass", "ssa") else [None] * len(blocks)
    for block, event in zip(blocks, events, strict=True):
        start, end = block.start_ms, block.end_ms
        raw, speaker, style = block.text, block.speaker, None
        if event is not None:
            start, end = int(event.start), int(event.end)
            spoken, drew = _outside_drawings(event.text)
            if drew and not _clean_line(spoken):
                continue  # a vector drawing: nothing to say, nothing wrong
            name = event.name.strip()
            raw, speaker = [spoken], None if is_typesetting_name(name) else name or None
            style = style_speaker(block.style)  # fansubs name the speaker by the style, the Name field left empty
        if start < 0:
            report.warning(block.line, "negative-time", f"start {show_time(start)} is before zero; using 0")
            start = 0
        if end <= start:
            report.error(block.line, "bad-duration", f"cue ends at {show_time(end)}, not after its start at {show_time(start)}")
            continue
        lines = _cue_lines(raw, fmt)
        text = " ".join(line.text for line in lines)
        if not text:
            report.warning(block.line, "empty-text", "cue has no text to speak")
            continue
        if not any(ch.isalnum() for ch in text):
            report.warning(block.line, "no-words", f"cue has no words to speak ({short(text)!r})")
            continue
        if len(text) > MAX_CUE_CHARS:
            report.error(block.line, "too-long", f"cue text is {len(text)} characters long; a line to dub is at "
                                                 f"most {MAX_CUE_CHARS} (split it into shorter cues)")
            continue
        sign = ""
        if event is not None and not speak_all:
            named = bool(speaker or style or any(line.speaker for line in lines))
            sign = sign_reason(raw[0], block.style, event.name.strip(), block.effect, block.top_style, named)
        if sign:
            report.warning(block.line, "non-speech", f"on-screen sign, {sign}: not spoken")
            cues.append(Cue(len(cues) + 1, start, end, text, speaker or _one_speaker(lines), block.line,
                            skip=SKIP_SIGN, skip_reason=f"on-screen sign: {sign}"))
        else:
            made = _cues_of(lines, Cue(len(cues) + 1, start, end, text, speaker, block.line), style, speak_all, report)
            for cue in made:
                markup_problem = None if cue.skip else _markup_problem(cue.text)
                if markup_problem:
                    report.warning(block.line, "bad-markup", f"{markup_problem}; the line fails until it is fixed")
            cues.extend(made)
        if start >= _DAY_MS:
            report.warning(block.line, "late-time", f"cue starts after 24 hours, at {show_time(start)}; "
                                                    "is the timestamp right?")
    return cues


def _cues_of(lines: list[_Line], whole: Cue, style: str | None, speak_all: bool, report: Report) -> list[Cue]:
    """Make the cues of one block: one cue, one per speaker's turn, or one not spoken when none of it is speech.

    `whole` is the block as one cue (its speaker from the ASS Name field or a WebVTT voice); `style` is the
    speaker its ASS style names, the last resort.
    """
    turns = _turns(lines)
    kept: list[_Turn] = []
    cut: list[str] = []  # each piece not spoken, in words
    skips: list[tuple[str, str]] = []  # (kind, reason) of each turn with no speech in it
    for turn in turns:
        if speak_all:
            kept.append(turn)
            continue
        found = classify("\n".join(turn.lines), italic=turn.italic)
        if found.skip:
            skips.append((found.skip, found.reason))
            cut.append(found.reason)
            continue
        cut.extend(found.dropped)
        name, words = turn.speaker, found.text
        if found.dropped and name is None:
            name, words = _split_speaker(words)  # '[laughing] MAN: Sure.'
        kept.append(_Turn([words], name, turn.italic))
    speaker = whole.speaker or _one_speaker(kept or turns) or style
    if not kept:
        reason = "; ".join(reason for _, reason in skips)
        report.warning(whole.line, "non-speech", f"{reason}: not spoken")
        return [dataclasses.replace(whole, speaker=speaker, skip=skips[0][0], skip_reason=reason)]
    if cut:
        report.warning(whole.line, "non-speech", f"{', '.join(cut)} dropped; the rest is spoken")
    names = {turn.speaker for turn in kept}
    if len(kept) == 1 or (len(names) == 1 and None not in names):
        return [dataclasses.replace(whole, text=" ".join(turn.text for turn in kept), speaker=speaker)]
    # Each turn its own line over the cue's window; the pipeline shares the window out where the speech pauses.
    report.warning(whole.line, "split-turns", f"cue holds {len(kept)} speakers' turns; dubbed as {len(kept)} lines")
    return [dataclasses.replace(whole, index=whole.index + i, text=turn.text, part=i + 1,
                                speaker=turn.speaker or whole.speaker or style) for i, turn in enumerate(kept)]


def _markup_problem(text: str) -> str | None:
    """Say what is wrong with the line's pronunciation markup (dubber.text.pronunciation), None when nothing is."""
    try:
        parse(text)
    except MarkupError as exc:
        return str(exc)
    return None


def _outside_drawings(text: str) -> tuple[str, bool]:
    """Drop the vector drawings from an ASS event's text (between {\\p1} and {\\p0}); say whether it had any.

    pysubs2's parse_tags does this too, but in time quadratic in the number of override blocks.
    """
    kept: list[str] = []
    drawing = drew = False
    at = 0
    for block in _OVERRIDE.finditer(text):
        if not drawing:
            kept.append(text[at:block.start()])
        kept.append(block.group())  # override blocks are stripped later, like any others
        for scale in _DRAWING.findall(block.group()):
            drawing = int(scale) > 0
            drew = drew or drawing
        at = block.end()
    if not drawing:
        kept.append(text[at:])
    return "".join(kept), drew


def _clean_line(line: str, unescape: bool = False) -> str:
    """Strip tags and invisible marks from one line and collapse its whitespace."""
    line = _TAG.sub("", _OVERRIDE.sub("", line)).replace("\\h", " ")
    if unescape:
        line = html.unescape(line)
    return " ".join(_INVISIBLE.sub("", line).split())


def _cue_lines(raw_lines: list[str], fmt: str) -> list[_Line]:
    """Cut a cue's text into clean lines, noting each one's dash, speaker (a NAME: prefix or voice) and italics."""
    lines: list[_Line] = []
    italic = False  # italics run on from line to line until switched off
    for raw in raw_lines:
        # Overrides first, so that '{\fnNew Font}' is not split at its '\n'.
        for piece in _LINE_BREAK.split(_mark_italics(raw)):
            voice = VTT_VOICE.search(piece) if fmt == "vtt" else None
            all_italic, italic = _italics(_TAG.sub("", piece), italic)
            text = _clean_line(piece, unescape=fmt == "vtt")
            dashed = bool(_DASH.match(text))
            name, text = _split_speaker(_DASH.sub("", text))
            if text:
                lines.append(_Line(text, voice.group(1).strip() if voice else name, dashed, all_italic))
    return lines


def _mark_italics(raw: str) -> str:
    """Drop ASS override blocks, leaving their italics switches (and HTML <i>, </i>) as one mark each."""
    def switch(block: re.Match[str]) -> str:
        found = _ASS_ITALIC.findall(block.group())
        return "" if not found else _ITALIC_ON if found[-1] == "1" else _ITALIC_OFF

    return _HTML_ITALIC.sub(lambda tag: _ITALIC_OFF if tag.group(1) else _ITALIC_ON, _OVERRIDE.sub(switch, raw))


def _italics(piece: str, italic: bool) -> tuple[bool, bool]:
    """Say whether every word of a marked line is in italics, starting in `italic`; return that and the end state."""
    every, seen = True, False
    for ch in piece:
        if ch == _ITALIC_ON or ch == _ITALIC_OFF:
            italic = ch == _ITALIC_ON
        elif ch.isalnum():
            seen, every = True, every and italic
    return seen and every, italic


def _turns(lines: list[_Line]) -> list[_Turn]:
    """Group a cue's lines into speakers' turns.

    Each dashed line opens one ('- Late?' / '- Waiting.'), and so does a dash after a finished sentence when
    the first line has none ('Late?' / '- Waiting.'); a dash after an unfinished one is the same speaker's.
    """
    groups: list[list[_Line]] = []
    for i, line in enumerate(lines):
        opens = line.dashed and i > 0 and (lines[0].dashed or bool(_SENTENCE_END.search(lines[i - 1].text)))
        if not groups or (opens and _has_words(line.text)):  # '- ...' is a pause, not a turn
            groups.append([line])
        else:
            groups[-1].append(line)
    if len(groups) > 1 and not any(_has_words(line.text) for line in groups[0]):
        first = groups.pop(0)
        groups[0][:0] = first
    return [_Turn([line.text for line in group], _one_speaker(group), all(line.italic for line in group))
            for group in groups]


def _has_words(text: str) -> bool:
    """Tell whether text has a letter or digit to speak."""
    return any(ch.isalnum() for ch in text)


def _one_speaker(items: list[_Line] | list[_Turn]) -> str | None:
    """Return the speaker the lines name: one named, or several all naming the same one; mixed lines get none."""
    names = {item.speaker for item in items if item.speaker}
    return names.pop() if len(names) == 1 else None


def _split_speaker(line: str) -> tuple[str | None, str]:
    """Split 'NAME: text' into its name and text, if the prefix looks like a short name."""
    match = _SPEAKER.match(line)
    if match is None:
        return None, line
    name = match["name"].strip()
    if len(name) > _SPEAKER_MAX_CHARS or len(name.split()) > _SPEAKER_MAX_WORDS:
        return None, line  # a sentence with a colon in it
    return name, match["rest"]


def _mark_duplicates(cues: list[Cue], report: Report) -> list[Cue]:
    """Mark each cue another says at the same time with the same words: said together, it is spoken once."""
    said: dict[str, list[Cue]] = {}  # spoken cues by their words
    marked: list[Cue] = []
    for cue in cues:
        words = "".join(ch for ch in cue.text.casefold() if ch.isalnum())
        twins = said.get(words, []) if cue.spoken else []
        twin = next((other for other in twins if _said_together(other, cue)), None)
        if twin is None:
            if cue.spoken:
                said.setdefault(words, []).append(cue)
            marked.append(cue)
            continue
        reason = f"said together with cue {twin.index} (line {twin.line}): spoken once"
        report.warning(cue.line, "duplicate", f"cue {cue.index} has the same words at the same time as cue "
                                              f"{twin.index} (line {twin.line}): said together, spoken once")
        marked.append(dataclasses.replace(cue, skip=SKIP_DUPLICATE, skip_reason=reason))
    return marked


def _said_together(first: Cue, second: Cue) -> bool:
    """Tell whether two cues with the same words start and end together (a split cue's own turns are not)."""
    same_cue = first.part and second.part and first.line == second.line
    return (not same_cue and abs(first.start_ms - second.start_ms) <= _SAME_TIME_MS
            and abs(first.end_ms - second.end_ms) <= _SAME_TIME_MS)


def _check_overlaps(cues: list[Cue], report: Report) -> None:
    """Warn about each spoken cue that starts before an earlier-starting one has ended.

    The turns of a split cue share its window, lines said together are spoken once, and signs sit over
    dialogue all the time: none of them is a problem.
    """
    latest: Cue | None = None  # the cue ending last among those started so far
    for cue in sorted((c for c in cues if c.spoken and c.part <= 1), key=lambda c: (c.start_ms, c.end_ms, c.index)):
        if latest is not None and cue.start_ms < latest.end_ms:
            report.warning(cue.line, "overlap",
                           f"cue {cue.index} starts at {show_time(cue.start_ms)}, "
                           f"before cue {latest.index} ends at {show_time(latest.end_ms)}")
        if latest is None or cue.end_ms > latest.end_ms:
            latest = cue


@dataclass(frozen=True)
class SubtitleLine:
    """One line to write: its times, its text and who speaks it ('' for nobody in particular)."""

    start_ms: int
    end_ms: int
    text: str
    speaker: str = ""


def save_subtitles(path: str | os.PathLike[str], lines: list[SubtitleLine], fmt: str | None = None) -> Path:
    """Write lines as UTF-8 subtitles, in `fmt` or the format the extension names (.srt, .ass, .ssa, .vtt).

    ASS/SSA keep each speaker in the Name field; SRT and WebVTT put it before the text ("Anna: ...")
    as dubber reads it back. The file is written whole or not at all.
    """
    target = Path(path)
    fmt = fmt or _EXTENSION_FORMAT.get(target.suffix.lower())
    if fmt not in FORMATS:
        raise SubtitleError(f"cannot write subtitles as {str(target)!r}: use .srt, .ass, .ssa or .vtt",
                            path=str(target))
    subs = pysubs2.SSAFile()
    named = fmt in ("ass", "ssa")
    for line in sorted(lines, key=lambda item: (item.start_ms, item.end_ms)):
        text = line.text if named or not line.speaker else f"{line.speaker}: {line.text}"
        subs.events.append(pysubs2.SSAEvent(start=line.start_ms, end=line.end_ms, text=text.replace("\n", "\\N"),
                                            name=line.speaker if named else ""))
    write_atomically(target, subs.to_string(fmt))
    return target


def save_srt(path: str | os.PathLike[str], lines: list[tuple[int, int, str]]) -> None:
    """Write (start_ms, end_ms, text) lines as a UTF-8 SRT file."""
    save_subtitles(path, [SubtitleLine(start, end, text) for start, end, text in lines], fmt="srt")
