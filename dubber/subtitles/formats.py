"""Find the cue blocks of SRT, WebVTT and ASS/SSA text, with their times, and name every broken one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pysubs2
from pysubs2.formats.subrip import SubripFormat
from pysubs2.formats.substation import EVENT_FIELDS, STYLE_FIELDS, SubstationFormat
from pysubs2.formats.webvtt import WebVTTFormat
from pysubs2.time import TIMESTAMP, TIMESTAMP_SHORT

from dubber.errors import SubtitleError
from dubber.subtitles.cue import Diagnostic
from dubber.subtitles.typesetting import numpad_alignment

# One timestamp, looser than any spec: a sign, hours optional (any number), comma or dot, any fraction digits.
_LOOSE_TIME = re.compile(r"(-)?(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d*))?")
_ASS_TIME = re.compile(rf"-?(?:{TIMESTAMP.pattern}|{TIMESTAMP_SHORT.pattern})")
_VTT_SKIPPED_BLOCK = re.compile(r"(NOTE|STYLE|REGION)(\s|$)")
VTT_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")  # a WebVTT voice span: who speaks
_STYLE_SECTIONS = ("[v4+ styles]", "[v4 styles]", "[v4 styles+]")


@dataclass
class Block:
    """A cue found by the line scan: its line, its times or a header for pysubs2, its raw text lines."""

    line: int
    start_ms: int = 0  # SRT, VTT
    end_ms: int = 0
    head: str = ""  # ASS: the rebuilt Dialogue line
    text: list[str] = field(default_factory=list)
    speaker: str | None = None
    style: str = ""  # ASS: the event's style, its Effect field, and whether the style sits at the top
    effect: str = ""
    top_style: bool = False


class _Unreadable(Exception):
    """A timing line that cannot be read; the message says why."""


class Report:
    """Collect diagnostics for one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def error(self, line: int | None, code: str, message: str) -> None:
        """Record a problem that dropped something."""
        self.items.append(Diagnostic(self.path, line, "error", code, message))

    def warning(self, line: int | None, code: str, message: str) -> None:
        """Record a problem that changed or skipped nothing important."""
        self.items.append(Diagnostic(self.path, line, "warning", code, message))


def detect_format(text: str, hint: str | None, path: str, encoding: str) -> str:
    """Guess the format from content with pysubs2's probes; the extension breaks ties."""
    found = [guess for guess in (SubstationFormat.guess_format(text), WebVTTFormat.guess_format(text),
                                 SubripFormat.guess_format(text)) if guess]
    if hint in found:
        return hint
    # pysubs2 wants a styles section; an [Events] or [Script Info] heading is enough to be ASS/SSA.
    if re.search(r"^\s*\[(events|script info)\]", text, re.IGNORECASE | re.MULTILINE):
        if hint in ("ass", "ssa"):
            return hint
        return "ssa" if re.search(r"^\s*\[v4 styles\]|^\s*scripttype:\s*v4\.00\s*$", text,
                                   re.IGNORECASE | re.MULTILINE) else "ass"
    if hint == "vtt" and found == ["srt"]:
        return hint  # a WebVTT file missing its header
    if found:
        return found[0]
    if hint in ("srt", "vtt") and "-->" in text:
        return hint
    read_as = "" if encoding == "utf-8" else f"; read as {encoding}"
    raise SubtitleError(f"{path}: not a subtitle file (expected SRT, ASS/SSA or WebVTT{read_as})", path=path)


def _timing(line: str, fmt: str, n: int, report: Report) -> tuple[int, int]:
    """Read a timing line's start and end in milliseconds; raise _Unreadable if it cannot be read."""
    if "-->" in line:
        left, right = line.split("-->", 1)
        tokens = [left.strip(), (right.split() or [""])[0]]
    else:
        # pysubs2 takes any line with two timestamps as a timing line; so do we.
        tokens = [m.group(0) for m in TIMESTAMP.finditer(line)]
    start, end = (_stamp_ms(token, fmt, n, report) for token in tokens)
    return start, end


def _stamp_ms(token: str, fmt: str, n: int, report: Report) -> int:
    """Read one timestamp: hours optional and unbounded, a decimal fraction (',5' is 500 ms), maybe negative."""
    match = _LOOSE_TIME.fullmatch(token)
    if match is None:
        raise _Unreadable(f"cannot read the timestamp {token!r}" if token else "a timestamp is missing")
    sign, h, m, s, frac = match.groups()
    if int(m) > 59 or int(s) > 59:
        raise _Unreadable(f"timestamp {token!r} has minutes or seconds above 59")
    frac = frac or ""
    if fmt == "vtt" and 0 < len(frac) < 3:
        # pysubs2 reads ".50" as 50 ms; we read it as a decimal fraction, as SRT does.
        report.warning(n, "ambiguous-time", f"timestamp {token!r} has too few fraction digits; "
                                            f"read as {int(h or 0):02d}:{int(m):02d}:{int(s):02d}.{frac:0<3}")
    scale = 10 ** len(frac)
    ms = (int(frac or 0) * 2000 + scale) // (2 * scale)  # the fraction rounded to the nearest millisecond
    total = ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + ms
    return -total if sign else total


def _is_srt_timing(line: str) -> bool:
    """Tell whether a line is meant as an SRT timing line (pysubs2's rule, or an arrow)."""
    return "-->" in line or len(TIMESTAMP.findall(line)) == 2


def scan_srt(lines: list[str], report: Report) -> list[Block]:
    """Split SRT lines into cue blocks; report broken ones and leave them out."""
    blocks: list[Block] = []
    current: Block | None = None  # receives text lines; a broken block's text is dropped
    broken = False
    pending: tuple[int, str, bool] | None = None  # a bare number: the next cue's index, or text
    blank_after_pending = False
    previous_blank = True
    previous_timing = False
    opener: tuple[int, str] | None = None  # a text line that opened a block: a bad index if timing follows

    def add_text(n: int, text: str) -> None:
        nonlocal broken
        if current is None and not broken:
            report.error(n, "unparsable", "text outside any cue")
            broken = True
        if current is not None:
            current.text.append(text)

    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            if pending:
                blank_after_pending = True
            elif current is not None:
                current.text.append("")
            previous_blank, previous_timing = True, False
            continue
        if _is_srt_timing(line):
            pending = None  # it was this cue's index
            if opener is not None and current is not None and current.text and current.text[-1] == opener[1]:
                current.text.pop()  # not the last cue's words: this cue's index, misspelt
                report.warning(opener[0], "bad-index", f"cue number {short(opener[1])!r} is not a number")
            opener = None
            try:
                start, end = _timing(line, "srt", n, report)
            except _Unreadable as exc:
                report.error(n, "unparsable", f"cannot read the timing line {short(line)!r}: {exc}")
                current, broken = None, True
            else:
                current, broken = Block(n, start, end), False
                blocks.append(current)
            previous_blank, previous_timing = False, True
            continue
        if pending:
            number_line, number, at_block_start = pending
            pending = None
            if at_block_start and not blank_after_pending:
                report.error(n, "unparsable", f"cue {short(number)} has no timing line (found {short(line)!r})")
                current, broken = None, True
            else:
                add_text(number_line, number)
                if blank_after_pending:
                    add_text(number_line, "")
        opener = None
        if line.isdigit() and not previous_timing:
            pending, blank_after_pending = (n, line, previous_blank), False
        else:
            add_text(n, line)
            if previous_blank and not previous_timing:
                opener = (n, line)
        previous_blank, previous_timing = False, False
    if pending and not pending[2]:
        add_text(pending[0], pending[1])
    elif pending:
        report.error(pending[0], "unparsable", f"cue {short(pending[1])} has no timing line")
    return blocks


def scan_vtt(lines: list[str], report: Report) -> list[Block]:
    """Split WebVTT lines into cue blocks, skipping the header, notes, styles and regions."""
    paragraphs: list[list[tuple[int, str]]] = [[]]
    for n, raw in enumerate(lines, 1):
        if raw.strip():
            paragraphs[-1].append((n, raw.strip()))
        elif paragraphs[-1]:
            paragraphs.append([])
    blocks: list[Block] = []
    for i, para in enumerate(p for p in paragraphs if p):
        first_line, first = para[0]
        if (i == 0 and first.startswith("WEBVTT")) or _VTT_SKIPPED_BLOCK.match(first):
            continue
        # The timing line comes first, or second after a cue identifier.
        at = next((j for j, (_, line) in enumerate(para[:2]) if "-->" in line), None)
        if at is None:
            report.error(first_line, "unparsable", f"block has no timing line (found {short(first)!r})")
            continue
        n, line = para[at]
        try:
            start, end = _timing(line, "vtt", n, report)
        except _Unreadable as exc:
            report.error(n, "unparsable", f"cannot read the timing line {short(line)!r}: {exc}")
            continue
        text = [t for _, t in para[at + 1:]]
        voice = VTT_VOICE.search("\n".join(text))
        blocks.append(Block(n, start, end, text=text, speaker=voice.group(1).strip() if voice else None))
    return blocks


def scan_ass(lines: list[str], fmt: str, report: Report) -> list[Block]:
    """Find the Dialogue lines of the [Events] section; report broken ones and leave them out."""
    fields = list(EVENT_FIELDS[fmt])
    style_fields = ["name", *STYLE_FIELDS[fmt]]
    section = ""
    blocks: list[Block] = []
    top_styles: set[str] = set()
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line.lower()
            continue
        kind, _, rest = line.partition(":")
        kind = kind.strip().lower()
        if section in _STYLE_SECTIONS:
            if kind == "format":
                style_fields = [f.strip().lower().replace(" ", "") for f in rest.split(",")]
            elif kind == "style" and _top_aligned(rest, style_fields, legacy=section == "[v4 styles]"):
                top_styles.add(rest.split(",", 1)[0].strip())
            continue
        if section != "[events]":
            continue
        if kind == "format":
            names = [f.strip().lower().replace(" ", "") for f in rest.split(",")]
            if {"start", "end", "text"} <= set(names) and names[-1] == "text":
                fields = names
            else:
                report.warning(n, "bad-format-line", "cannot use this Format line; assuming the standard one")
            continue
        if kind != "dialogue":
            continue  # Comments are never shown, so never spoken; fansubs hold hundreds: not worth a word each
        values = rest.strip().split(",", len(fields) - 1)
        if len(values) < len(fields):
            report.error(n, "unparsable", f"Dialogue line has {len(values)} of {len(fields)} fields")
            continue
        event = dict(zip(fields, values, strict=True))
        start, end = event["start"].strip(), event["end"].strip()
        bad = [t for t in (start, end) if not _ASS_TIME.fullmatch(t)]
        if bad:
            report.error(n, "unparsable", f"cannot read the time {bad[0]!r}")
            continue
        # pysubs2 reads times, name and text; the rest is rebuilt so it cannot trip on it (style and effect
        # are kept beside, for telling signs from dialogue).
        first = "Marked=0" if fmt == "ssa" else "0"
        head = f"Dialogue: {first},{start},{end},Default,{event.get('name', '').strip()},0,0,0,,{event['text']}"
        blocks.append(Block(n, head=head, style=event.get("style", "").strip(), effect=event.get("effect", "")))
    for block in blocks:  # a file may list its styles after its events
        block.top_style = block.style.lstrip("*") in top_styles
    return blocks


def _top_aligned(style: str, fields: list[str], legacy: bool) -> bool:
    """Tell whether a Style line's Alignment puts its text at the top of the screen."""
    values = dict(zip(fields, style.split(",", len(fields) - 1), strict=False))
    try:
        return numpad_alignment(int(values.get("alignment", "2").strip()), legacy) >= 7
    except ValueError:
        return False


def parse_heads(blocks: list[Block], fmt: str, report: Report) -> list[pysubs2.SSAEvent]:
    """Have pysubs2 read the ASS blocks' Dialogue lines, one event per block."""
    doc = "[Script Info]\n\n[Events]\n" + "\n".join(b.head for b in blocks)
    try:
        events = pysubs2.SSAFile.from_string(doc, format_=fmt).events
    except (pysubs2.Pysubs2Error, ValueError, LookupError, TypeError) as exc:
        raise SubtitleError(f"{report.path}: pysubs2 cannot read it ({exc})", path=report.path) from exc
    if len(events) != len(blocks):
        raise SubtitleError(f"{report.path}: pysubs2 read {len(events)} cues where {len(blocks)} were found",
                            path=report.path)
    return events


def short(text: str, limit: int = 60) -> str:
    """Shorten text quoted in a message (a garbage line may be thousands of characters long)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
