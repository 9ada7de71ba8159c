"""Load a subtitle file (SRT, ASS/SSA, WebVTT) into cues, with a diagnostic for every problem."""

from __future__ import annotations

import codecs
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import pysubs2
from pysubs2.formats.subrip import SubripFormat
from pysubs2.formats.substation import EVENT_FIELDS, SubstationFormat, parse_tags
from pysubs2.formats.webvtt import WebVTTFormat
from pysubs2.time import TIMESTAMP, TIMESTAMP_SHORT

from dubber.cue import Cue, Diagnostic
from dubber.errors import SubtitleError
from dubber.files import write_atomically

#: The formats this module reads.
FORMATS = ("srt", "ass", "ssa", "vtt")

_EXTENSION_FORMAT = {".srt": "srt", ".ass": "ass", ".ssa": "ssa", ".vtt": "vtt"}

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# One timestamp, looser than any spec: hours optional, comma or dot, 0-3 fraction digits.
_LOOSE_TIME = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?")
_ASS_TIME = re.compile(rf"-?(?:{TIMESTAMP.pattern}|{TIMESTAMP_SHORT.pattern})")
_VTT_SKIPPED_BLOCK = re.compile(r"(NOTE|STYLE|REGION)(\s|$)")
_VTT_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z0-9][^<>]*>")  # HTML tags and WebVTT's <00:00:01.000>
_OVERRIDE = re.compile(r"{[^}]*}")
_LINE_BREAK = re.compile(r"\\[Nn]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_DASH = re.compile(r"^[-\u2010\u2013\u2014]+\s*(?=\D|$)")
_SPEAKER = re.compile(r"^(?P<name>[^\W\d_][\w.'\u2019&\- ]*?)\s*(?::\s+|\uff1a\s*)(?P<rest>\S.*)$")
_SPEAKER_MAX_CHARS = 30
_SPEAKER_MAX_WORDS = 3


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
class _Block:
    """A cue found by the line scan: its line, a header for pysubs2, its raw text lines."""

    line: int
    head: str  # canonical timing line (SRT, VTT) or rebuilt Dialogue line (ASS)
    text: list[str] = field(default_factory=list)
    speaker: str | None = None


class _Report:
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


def load_subtitles(path: str | os.PathLike[str]) -> SubtitleLoad:
    """Read a subtitle file into numbered cues; raise SubtitleError only if it is unusable."""
    name = os.fspath(path)
    data = _read_bytes(name)
    text, encoding = _decode(data, name)
    if "\x00" in text:
        raise SubtitleError(f"{name}: not a subtitle file (binary data)", path=name)
    text = text.lstrip("\ufeff")
    hint = _EXTENSION_FORMAT.get(Path(name).suffix.lower())
    report = _Report(name)
    if not text.strip():
        report.error(None, "no-cues", "the file is empty")
        return SubtitleLoad(name, hint or "srt", encoding, [], report.items)

    fmt = _detect_format(text, hint, name)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if fmt in ("ass", "ssa"):
        blocks = _scan_ass(lines, fmt, report)
    elif fmt == "vtt":
        blocks = _scan_vtt(lines, report)
    else:
        blocks = _scan_srt(lines, report)
    cues = _make_cues(blocks, fmt, report)
    _check_overlaps(cues, report)
    if not cues:
        report.error(None, "no-cues", "no cue in the file has text to speak")
    report.items.sort(key=lambda d: d.line or 0)
    return SubtitleLoad(name, fmt, encoding, cues, report.items)


def _read_bytes(path: str) -> bytes:
    """Read the whole file, turning OS errors into SubtitleError."""
    if os.path.isdir(path):
        raise SubtitleError(f"{path}: is a directory, not a subtitle file", path=path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SubtitleError(f"{path}: subtitle file not found", path=path) from None
    except OSError as exc:
        raise SubtitleError(f"{path}: cannot read subtitle file ({exc.strerror or exc})", path=path) from exc


def _decode(data: bytes, path: str) -> tuple[str, str]:
    """Decode by BOM, else as UTF-8, else as the legacy encoding charset-normalizer finds."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), encoding
            except UnicodeDecodeError:
                raise SubtitleError(f"{path}: not valid {encoding} despite its byte-order mark",
                                    path=path) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise SubtitleError(f"{path}: cannot tell the text encoding (binary or corrupt file?)", path=path)
    return str(best), best.encoding


def _detect_format(text: str, hint: str | None, path: str) -> str:
    """Guess the format from content with pysubs2's probes; the extension breaks ties."""
    found = [guess for guess in (SubstationFormat.guess_format(text), WebVTTFormat.guess_format(text),
                                 SubripFormat.guess_format(text)) if guess]
    if hint in found:
        return hint
    if hint == "vtt" and found == ["srt"]:
        return hint  # a WebVTT file missing its header
    if found:
        return found[0]
    # pysubs2 needs a styles section or millisecond timestamps to recognise a file.
    if re.search(r"^\s*\[events\]", text, re.IGNORECASE | re.MULTILINE):
        return hint if hint in ("ass", "ssa") else "ass"
    if hint in ("srt", "vtt") and "-->" in text:
        return hint
    raise SubtitleError(f"{path}: not a subtitle file (expected SRT, ASS/SSA or WebVTT)", path=path)


def _timing(line: str, fmt: str, n: int, report: _Report) -> str | None:
    """Return the canonical form of a timing line, or None if it cannot be read."""
    if "-->" in line:
        left, right = line.split("-->", 1)
        tokens = [left.strip(), (right.split() or [""])[0]]
    else:
        # pysubs2 takes any line with two timestamps as a timing line; so do we.
        tokens = [m.group(0) for m in TIMESTAMP.finditer(line)]
    stamps = []
    for token in tokens:
        match = _LOOSE_TIME.fullmatch(token)
        if match is None:
            return None
        h, m, s, frac = match.groups()
        clock = f"{int(h or 0):02d}:{int(m):02d}:{int(s):02d}"
        if fmt == "vtt":
            if frac is not None and len(frac) < 3:
                # pysubs2 reads ".50" as 50 ms; we read it as a decimal fraction, as SRT does.
                report.warning(n, "ambiguous-time",
                               f"timestamp {token!r} has too few fraction digits; read as {clock}.{frac:0<3}")
            stamps.append(f"{clock}.{frac or '':0<3}")
        else:
            stamps.append(f"{clock},{frac or '000'}")  # pysubs2 reads ',5' as 500 ms
    return " --> ".join(stamps)


def _is_srt_timing(line: str) -> bool:
    """Tell whether a line is meant as an SRT timing line (pysubs2's rule, or an arrow)."""
    return "-->" in line or len(TIMESTAMP.findall(line)) == 2


def _scan_srt(lines: list[str], report: _Report) -> list[_Block]:
    """Split SRT lines into cue blocks; report broken ones and leave them out."""
    blocks: list[_Block] = []
    current: _Block | None = None  # receives text lines; a broken block's text is dropped
    broken = False
    pending: tuple[int, str, bool] | None = None  # a bare number: the next cue's index, or text
    blank_after_pending = False
    previous_blank = True
    previous_timing = False

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
            head = _timing(line, "srt", n, report)
            if head is None:
                report.error(n, "unparsable", f"cannot read the timing line {line!r}")
                current, broken = None, True
            else:
                current, broken = _Block(n, head), False
                blocks.append(current)
            previous_blank, previous_timing = False, True
            continue
        if pending:
            number_line, number, at_block_start = pending
            pending = None
            if at_block_start and not blank_after_pending:
                report.error(n, "unparsable", f"cue {number} has no timing line (found {line!r})")
                current, broken = None, True
            else:
                add_text(number_line, number)
                if blank_after_pending:
                    add_text(number_line, "")
        if line.isdigit() and not previous_timing:
            pending, blank_after_pending = (n, line, previous_blank), False
        else:
            add_text(n, line)
        previous_blank, previous_timing = False, False
    if pending and not pending[2]:
        add_text(pending[0], pending[1])
    elif pending:
        report.error(pending[0], "unparsable", f"cue {pending[1]} has no timing line")
    return blocks


def _scan_vtt(lines: list[str], report: _Report) -> list[_Block]:
    """Split WebVTT lines into cue blocks, skipping the header, notes, styles and regions."""
    paragraphs: list[list[tuple[int, str]]] = [[]]
    for n, raw in enumerate(lines, 1):
        if raw.strip():
            paragraphs[-1].append((n, raw.strip()))
        elif paragraphs[-1]:
            paragraphs.append([])
    blocks: list[_Block] = []
    for i, para in enumerate(p for p in paragraphs if p):
        first_line, first = para[0]
        if (i == 0 and first.startswith("WEBVTT")) or _VTT_SKIPPED_BLOCK.match(first):
            continue
        # The timing line comes first, or second after a cue identifier.
        at = next((j for j, (_, line) in enumerate(para[:2]) if "-->" in line), None)
        if at is None:
            report.error(first_line, "unparsable", f"block has no timing line (found {first!r})")
            continue
        n, line = para[at]
        head = _timing(line, "vtt", n, report)
        if head is None:
            report.error(n, "unparsable", f"cannot read the timing line {line!r}")
            continue
        text = [t for _, t in para[at + 1:]]
        voice = _VTT_VOICE.search("\n".join(text))
        blocks.append(_Block(n, head, text, voice.group(1).strip() if voice else None))
    return blocks


def _scan_ass(lines: list[str], fmt: str, report: _Report) -> list[_Block]:
    """Find the Dialogue lines of the [Events] section; report broken ones and leave them out."""
    fields = list(EVENT_FIELDS[fmt])
    section = ""
    blocks: list[_Block] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line.lower()
            continue
        if section != "[events]":
            continue
        kind, _, rest = line.partition(":")
        kind = kind.strip().lower()
        if kind == "format":
            names = [f.strip().lower().replace(" ", "") for f in rest.split(",")]
            if {"start", "end", "text"} <= set(names) and names[-1] == "text":
                fields = names
            else:
                report.warning(n, "bad-format-line", "cannot use this Format line; assuming the standard one")
            continue
        if kind != "dialogue":
            continue  # Comment events and other kinds are not speech
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
        # Only times, name and text matter here; the rest is rebuilt so pysubs2 cannot trip on it.
        first = "Marked=0" if fmt == "ssa" else "0"
        head = f"Dialogue: {first},{start},{end},Default,{event.get('name', '').strip()},0,0,0,,{event['text']}"
        blocks.append(_Block(n, head))
    return blocks


def _parse_heads(blocks: list[_Block], fmt: str, report: _Report) -> list[pysubs2.SSAEvent]:
    """Have pysubs2 read the blocks' headers, one event per block."""
    if fmt in ("ass", "ssa"):
        doc = "[Script Info]\n\n[Events]\n" + "\n".join(b.head for b in blocks)
    else:
        doc = "\n\n".join(b.head for b in blocks)
    try:
        events = pysubs2.SSAFile.from_string(doc, format_=fmt).events
    except (pysubs2.Pysubs2Error, ValueError, LookupError, TypeError) as exc:
        raise SubtitleError(f"{report.path}: pysubs2 cannot read it ({exc})", path=report.path) from exc
    if len(events) != len(blocks):
        raise SubtitleError(f"{report.path}: pysubs2 read {len(events)} cues where {len(blocks)} were found",
                            path=report.path)
    return events


def _make_cues(blocks: list[_Block], fmt: str, report: _Report) -> list[Cue]:
    """Turn blocks into numbered cues, dropping those with bad times or no text."""
    cues: list[Cue] = []
    for block, event in zip(blocks, _parse_heads(blocks, fmt, report), strict=True):
        start, end = int(event.start), int(event.end)
        lines, speaker = block.text, block.speaker
        if fmt in ("ass", "ssa"):
            fragments = parse_tags(event.text)
            if any(style.drawing for _, style in fragments):
                spoken = "".join(text for text, style in fragments if not style.drawing)
                if not _clean_line(spoken):
                    continue  # a vector drawing: nothing to say, nothing wrong
            else:
                spoken = event.text
            lines, speaker = [spoken], event.name.strip() or None
        if start < 0:
            report.warning(block.line, "negative-time", f"start {_show(start)} is before zero; using 0")
            start = 0
        if end <= start:
            report.error(block.line, "bad-duration", f"cue ends at {_show(end)}, not after its start at {_show(start)}")
            continue
        text, prefix_speaker = _clean_text(lines, unescape=fmt == "vtt")
        if not text:
            report.warning(block.line, "empty-text", "cue has no text to speak")
            continue
        cues.append(Cue(len(cues) + 1, start, end, text, speaker or prefix_speaker, block.line))
    return cues


def _clean_line(line: str, unescape: bool = False) -> str:
    """Strip tags and invisible marks from one line and collapse its whitespace."""
    line = _TAG.sub("", _OVERRIDE.sub("", line)).replace("\\h", " ")
    if unescape:
        line = html.unescape(line)
    return " ".join(_INVISIBLE.sub("", line).split())


def _clean_text(lines: list[str], unescape: bool = False) -> tuple[str, str | None]:
    """Join a cue's lines into one, dropping dialogue dashes and NAME: prefixes; return text and speaker."""
    parts: list[str] = []
    speakers: list[str] = []
    for raw in lines:
        # Overrides first, so that '{\fnNew Font}' is not split at its '\n'.
        for piece in _LINE_BREAK.split(_OVERRIDE.sub("", raw)):
            line = _DASH.sub("", _clean_line(piece, unescape))
            name, line = _split_speaker(line)
            if name:
                speakers.append(name)
            if line:
                parts.append(line)
    # One speaker named, or several lines all naming the same one; mixed lines get none.
    speaker = speakers[0] if speakers and len(set(speakers)) == 1 else None
    return " ".join(parts), speaker


def _split_speaker(line: str) -> tuple[str | None, str]:
    """Split 'NAME: text' into its name and text, if the prefix looks like a short name."""
    match = _SPEAKER.match(line)
    if match is None:
        return None, line
    name = match["name"].strip()
    if len(name) > _SPEAKER_MAX_CHARS or len(name.split()) > _SPEAKER_MAX_WORDS:
        return None, line  # a sentence with a colon in it
    return name, match["rest"]


def _check_overlaps(cues: list[Cue], report: _Report) -> None:
    """Warn about each cue that starts before an earlier-starting cue has ended."""
    latest: Cue | None = None  # the cue ending last among those started so far
    for cue in sorted(cues, key=lambda c: (c.start_ms, c.end_ms, c.index)):
        if latest is not None and cue.start_ms < latest.end_ms:
            report.warning(cue.line, "overlap",
                           f"cue {cue.index} starts at {_show(cue.start_ms)}, "
                           f"before cue {latest.index} ends at {_show(latest.end_ms)}")
        if latest is None or cue.end_ms > latest.end_ms:
            latest = cue


def _show(ms: int) -> str:
    """Format milliseconds as H:MM:SS.mmm for messages."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    return f"{sign}{ms // 3_600_000}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


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
