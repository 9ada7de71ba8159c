"""Load a subtitle file (SRT, ASS/SSA, WebVTT) into cues, with a diagnostic for every problem."""

from __future__ import annotations

import codecs
import html
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer
import pysubs2
from charset_normalizer.cd import coherence_ratio
from charset_normalizer.md import mess_ratio
from pysubs2.formats.subrip import SubripFormat
from pysubs2.formats.substation import EVENT_FIELDS, SubstationFormat
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

# A file with more NUL characters than this share (and a few) is binary; fewer are stray and dropped.
_MAX_NUL_SHARE, _STRAY_NULS = 0.01, 16
# A file whose non-ASCII lines are at least this share UTF-8 is UTF-8 with some lines pasted from elsewhere:
# legacy text almost never happens to be valid UTF-8 as well.
_MIN_UTF8_SHARE = 0.5
# The commonest legacy encoding of subtitles: it wins ties between 8-bit guesses that read equally well.
_PREFERRED_LEGACY = "cp1252"
# Unicode scripts that share words (Japanese mixes kana and kanji); other mixes inside a word mean a wrong guess.
_SCRIPT_FAMILY = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK", "FULLWIDTH": "CJK", "HALFWIDTH": "CJK",
                  "IDEOGRAPHIC": "CJK"}
_WORD = re.compile(r"[^\W\d_]+")

# One timestamp, looser than any spec: a sign, hours optional (any number), comma or dot, any fraction digits.
_LOOSE_TIME = re.compile(r"(-)?(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d*))?")
_DAY_MS = 86_400_000
# A cue longer than this is not a subtitle line; speaking it would take minutes and gigabytes.
MAX_CUE_CHARS = 1000
_ASS_TIME = re.compile(rf"-?(?:{TIMESTAMP.pattern}|{TIMESTAMP_SHORT.pattern})")
_VTT_SKIPPED_BLOCK = re.compile(r"(NOTE|STYLE|REGION)(\s|$)")
_VTT_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z0-9][^<>]*>")  # HTML tags and WebVTT's <00:00:01.000>
# '{' excluded: a line of lone braces stays linear. A block like '{tomato|təˈmɑːtoʊ}' (a '|', no '\\')
# is dubber's phonetic override (dubber.pronunciation), not an ASS override or comment: it is kept.
_OVERRIDE = re.compile(r"{(?![^{}|\\\n]+\|[^{}|\\\n]+})[^{}]*}")
_LINE_BREAK = re.compile(r"\\[Nn]")
_DRAWING = re.compile(r"\\p(\d+)")  # \p1 starts a vector drawing, \p0 ends it (\pos and \pbo are other tags)
# Zero-width and direction marks, BOMs, and control characters other than whitespace: nothing to speak.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
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
    """A cue found by the line scan: its line, its times or a header for pysubs2, its raw text lines."""

    line: int
    start_ms: int = 0  # SRT, VTT
    end_ms: int = 0
    head: str = ""  # ASS: the rebuilt Dialogue line
    text: list[str] = field(default_factory=list)
    speaker: str | None = None


class _Unreadable(Exception):
    """A timing line that cannot be read; the message says why."""


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
    report = _Report(name)
    text, encoding = _decode(data, report)
    text = _drop_nuls(text.lstrip("\ufeff"), report)
    hint = _EXTENSION_FORMAT.get(Path(name).suffix.lower())
    if not text.strip():
        report.error(None, "no-cues", "the file is empty")
        return SubtitleLoad(name, hint or "srt", encoding, [], report.items)

    fmt = _detect_format(text, hint, name, encoding)
    lines = _split_lines(text)
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


def _split_lines(text: str) -> list[str]:
    """Split at CRLF, CR or LF, as files from any system have them (mixed ones too)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


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


def _decode(data: bytes, report: _Report) -> tuple[str, str]:
    """Decode by BOM; else UTF-16/32 told by their zero bytes; else UTF-8, line by line if only some lines
    are; else the legacy encoding that reads most plausibly."""
    path = report.path
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _decode_cut(data[len(bom):], encoding, report), encoding
            except UnicodeDecodeError:
                raise SubtitleError(f"{path}: not valid {encoding} despite its byte-order mark",
                                    path=path) from None
    for encoding in filter(None, (_wide_encoding(data), "utf-8")):
        try:
            return _decode_cut(data, encoding, report), encoding
        except UnicodeDecodeError:
            pass
    mixed = _decode_mixed(data, report)
    if mixed is not None:
        return mixed, "utf-8"
    guess = _guess_legacy(data)
    if guess is None:
        raise SubtitleError(f"{path}: cannot tell the text encoding (binary or corrupt file?)", path=path)
    return guess


def _decode_cut(data: bytes, encoding: str, report: _Report) -> str:
    """Decode strictly, except that a character cut off at the very end (a truncated file) is dropped."""
    decoder = codecs.getincrementaldecoder(encoding)()
    text = decoder.decode(data, final=False)
    if decoder.getstate()[0]:
        report.warning(len(_split_lines(text)), "truncated",
                       f"the file ends in the middle of a {encoding} character (cut short?); that character is dropped")
    return text


def _wide_encoding(data: bytes) -> str | None:
    """Tell UTF-32 or UTF-16 without a byte-order mark by where the zero bytes of ASCII characters fall."""
    n = min(len(data), 4096) // 4 * 4
    if n < 16:
        return None
    zeros = [data[i:n:4].count(0) / (n // 4) for i in range(4)]  # share of zero bytes at each offset mod 4
    if zeros[2] > 0.9 and zeros[3] > 0.9 and zeros[0] < 0.5:
        return "utf-32-le"
    if zeros[0] > 0.9 and zeros[1] > 0.9 and zeros[3] < 0.5:
        return "utf-32-be"
    even, odd = (zeros[0] + zeros[2]) / 2, (zeros[1] + zeros[3]) / 2
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def _decode_mixed(data: bytes, report: _Report) -> str | None:
    """Read a UTF-8 file with a few lines in a legacy encoding (pasted from another file or editor),
    reporting each such line; None when the file is not mostly UTF-8."""
    lines = data.splitlines(keepends=True)  # CRLF, CR and LF, as _split_lines counts them
    foreign = []
    for n, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            foreign.append(n)
    non_ascii = sum(not line.isascii() for line in lines)
    if not foreign or len(foreign) > (1 - _MIN_UTF8_SHARE) * non_ascii:
        return None
    guess = _guess_legacy(b"".join(lines[n] for n in foreign))
    encoding = guess[1] if guess else _PREFERRED_LEGACY
    for n in foreign:
        lines[n] = lines[n].decode(encoding, errors="replace").encode("utf-8")
        report.warning(n + 1, "encoding", f"line is not UTF-8 like the rest of the file; read as {encoding}")
    return b"".join(lines).decode("utf-8")


def _guess_legacy(data: bytes) -> tuple[str, str] | None:
    """Return the text and encoding of the candidate that reads most plausibly: least noise (charset-normalizer's
    mess ratio plus words mixing scripts), then most like a language, then cp1252 before the others."""
    candidates = {match.encoding: str(match) for match in charset_normalizer.from_bytes(data)}
    try:
        # charset-normalizer reads short Western text as cp1250 or even Big5; cp1252 always competes.
        candidates.setdefault(_PREFERRED_LEGACY, data.decode(_PREFERRED_LEGACY))
    except UnicodeDecodeError:
        pass
    if not candidates:
        return None

    def implausibility(item: tuple[str, str]) -> tuple[float, float, bool]:
        encoding, text = item
        sample = text[:20_000]  # enough to judge; keeps a long file quick
        coherence = max((ratio for _, ratio in coherence_ratio(sample)), default=0.0)
        return (round(mess_ratio(sample, 1.0) + _mixed_script_share(sample), 3), -round(coherence, 3),
                encoding != _PREFERRED_LEGACY)

    encoding, text = min(candidates.items(), key=implausibility)
    return text, encoding


def _mixed_script_share(text: str) -> float:
    """Return the share of words that mix scripts (Latin letters glued to an ideograph: a wrong decoding)."""
    words = _WORD.findall(text)
    if not words:
        return 0.0
    return sum(len({_script(ch) for ch in word}) > 1 for word in words) / len(words)


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "?").split(" ", 1)[0]
    return _SCRIPT_FAMILY.get(name, name)


def _drop_nuls(text: str, report: _Report) -> str:
    """Remove stray NUL characters, reporting their lines; a file with many of them is binary."""
    count = text.count("\x00")
    if not count:
        return text
    if count > max(_STRAY_NULS, _MAX_NUL_SHARE * len(text)):
        raise SubtitleError(f"{report.path}: not a subtitle file (binary data)", path=report.path)
    for n, line in enumerate(_split_lines(text), 1):
        if "\x00" in line:
            report.warning(n, "nul", f"{line.count(chr(0))} NUL character(s) removed")
    return text.replace("\x00", "")


def _detect_format(text: str, hint: str | None, path: str, encoding: str) -> str:
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


def _timing(line: str, fmt: str, n: int, report: _Report) -> tuple[int, int]:
    """Read a timing line's start and end in milliseconds; raise _Unreadable if it cannot be read."""
    if "-->" in line:
        left, right = line.split("-->", 1)
        tokens = [left.strip(), (right.split() or [""])[0]]
    else:
        # pysubs2 takes any line with two timestamps as a timing line; so do we.
        tokens = [m.group(0) for m in TIMESTAMP.finditer(line)]
    start, end = (_stamp_ms(token, fmt, n, report) for token in tokens)
    return start, end


def _stamp_ms(token: str, fmt: str, n: int, report: _Report) -> int:
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


def _scan_srt(lines: list[str], report: _Report) -> list[_Block]:
    """Split SRT lines into cue blocks; report broken ones and leave them out."""
    blocks: list[_Block] = []
    current: _Block | None = None  # receives text lines; a broken block's text is dropped
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
                report.warning(opener[0], "bad-index", f"cue number {_short(opener[1])!r} is not a number")
            opener = None
            try:
                start, end = _timing(line, "srt", n, report)
            except _Unreadable as exc:
                report.error(n, "unparsable", f"cannot read the timing line {_short(line)!r}: {exc}")
                current, broken = None, True
            else:
                current, broken = _Block(n, start, end), False
                blocks.append(current)
            previous_blank, previous_timing = False, True
            continue
        if pending:
            number_line, number, at_block_start = pending
            pending = None
            if at_block_start and not blank_after_pending:
                report.error(n, "unparsable", f"cue {_short(number)} has no timing line (found {_short(line)!r})")
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
        report.error(pending[0], "unparsable", f"cue {_short(pending[1])} has no timing line")
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
            report.error(first_line, "unparsable", f"block has no timing line (found {_short(first)!r})")
            continue
        n, line = para[at]
        try:
            start, end = _timing(line, "vtt", n, report)
        except _Unreadable as exc:
            report.error(n, "unparsable", f"cannot read the timing line {_short(line)!r}: {exc}")
            continue
        text = [t for _, t in para[at + 1:]]
        voice = _VTT_VOICE.search("\n".join(text))
        blocks.append(_Block(n, start, end, text=text, speaker=voice.group(1).strip() if voice else None))
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
        blocks.append(_Block(n, head=head))
    return blocks


def _parse_heads(blocks: list[_Block], fmt: str, report: _Report) -> list[pysubs2.SSAEvent]:
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


def _make_cues(blocks: list[_Block], fmt: str, report: _Report) -> list[Cue]:
    """Turn blocks into numbered cues, dropping those with bad times or no text."""
    cues: list[Cue] = []
    events = _parse_heads(blocks, fmt, report) if fmt in ("ass", "ssa") else [None] * len(blocks)
    for block, event in zip(blocks, events, strict=True):
        start, end = block.start_ms, block.end_ms
        lines, speaker = block.text, block.speaker
        if event is not None:
            start, end = int(event.start), int(event.end)
            spoken, drew = _outside_drawings(event.text)
            if drew and not _clean_line(spoken):
                continue  # a vector drawing: nothing to say, nothing wrong
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
        if not any(ch.isalnum() for ch in text):
            report.warning(block.line, "no-words", f"cue has no words to speak ({_short(text)!r})")
            continue
        if len(text) > MAX_CUE_CHARS:
            report.error(block.line, "too-long", f"cue text is {len(text)} characters long; a line to dub is at "
                                                 f"most {MAX_CUE_CHARS} (split it into shorter cues)")
            continue
        markup_problem = _markup_problem(text)
        if markup_problem:
            report.warning(block.line, "bad-markup", f"{markup_problem}; the line fails until it is fixed")
        if start >= _DAY_MS:
            report.warning(block.line, "late-time", f"cue starts after 24 hours, at {_show(start)}; "
                                                    "is the timestamp right?")
        cues.append(Cue(len(cues) + 1, start, end, text, speaker or prefix_speaker, block.line))
    return cues


def _markup_problem(text: str) -> str | None:
    """Say what is wrong with the line's pronunciation markup (dubber.pronunciation), None when nothing is."""
    from dubber.pronunciation import MarkupError, parse

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


def _short(text: str, limit: int = 60) -> str:
    """Shorten text quoted in a message (a garbage line may be thousands of characters long)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
