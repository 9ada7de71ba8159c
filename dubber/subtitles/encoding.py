"""Read a subtitle file's bytes as text: byte-order marks, UTF-16/32 without them, UTF-8 with pasted lines,
legacy encodings, stray NULs, and mojibake repaired line by line."""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import charset_normalizer
import ftfy
from charset_normalizer.cd import coherence_ratio
from charset_normalizer.md import mess_ratio

from dubber.errors import SubtitleError

#: Records a warning: (1-based line or None, code, message).
Warn = Callable[[int | None, str, str], None]

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
_SNIPPET_CONTEXT = 12  # characters shown either side of a repair


def read_text(path: str, warn: Warn) -> tuple[str, str]:
    """Read and decode a subtitle file; return its text (no BOM, no NULs) and the codec that read it."""
    text, encoding = _decode(_read_bytes(path), path, warn)
    return _drop_nuls(text.lstrip("\ufeff"), path, warn), encoding


def split_lines(text: str) -> list[str]:
    """Split at CRLF, CR or LF, as files from any system have them (mixed ones too)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def repair_mojibake(lines: list[str], warn: Warn) -> list[str]:
    """Mend text that went through the wrong codec before it was saved ('â€”' for '—'), naming each line mended.

    Only the encoding is fixed (ftfy.fix_encoding): quotes, widths and the rest stay as written.
    """
    mended = []
    for n, line in enumerate(lines, 1):
        fixed = line if line.isascii() else ftfy.fix_encoding(line)
        if fixed != line:
            warn(n, "mojibake", f"mojibake repaired: {_change(line, fixed)}")
        mended.append(fixed)
    return mended


def _change(before: str, after: str) -> str:
    """Show where two versions of a line differ: "'Well â€” then' -> 'Well — then'"."""
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    start = max(0, head - _SNIPPET_CONTEXT)

    def cut(text: str) -> str:
        end = min(len(text), len(text) - tail + _SNIPPET_CONTEXT)
        return ("\u2026" if start else "") + text[start:end] + ("\u2026" if end < len(text) else "")

    return f"{cut(before)!r} -> {cut(after)!r}"


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


def _decode(data: bytes, path: str, warn: Warn) -> tuple[str, str]:
    """Decode by BOM; else UTF-16/32 told by their zero bytes; else UTF-8, line by line if only some lines
    are; else the legacy encoding that reads most plausibly."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _decode_cut(data[len(bom):], encoding, warn), encoding
            except UnicodeDecodeError:
                raise SubtitleError(f"{path}: not valid {encoding} despite its byte-order mark",
                                    path=path) from None
    for encoding in filter(None, (_wide_encoding(data), "utf-8")):
        try:
            return _decode_cut(data, encoding, warn), encoding
        except UnicodeDecodeError:
            pass
    mixed = _decode_mixed(data, warn)
    if mixed is not None:
        return mixed, "utf-8"
    guess = _guess_legacy(data)
    if guess is None:
        raise SubtitleError(f"{path}: cannot tell the text encoding (binary or corrupt file?)", path=path)
    return guess


def _decode_cut(data: bytes, encoding: str, warn: Warn) -> str:
    """Decode strictly, except that a character cut off at the very end (a truncated file) is dropped."""
    decoder = codecs.getincrementaldecoder(encoding)()
    text = decoder.decode(data, final=False)
    if decoder.getstate()[0]:
        warn(len(split_lines(text)), "truncated",
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


def _decode_mixed(data: bytes, warn: Warn) -> str | None:
    """Read a UTF-8 file with a few lines in a legacy encoding (pasted from another file or editor),
    reporting each such line; None when the file is not mostly UTF-8."""
    lines = data.splitlines(keepends=True)  # CRLF, CR and LF, as split_lines counts them
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
        warn(n + 1, "encoding", f"line is not UTF-8 like the rest of the file; read as {encoding}")
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


def _drop_nuls(text: str, path: str, warn: Warn) -> str:
    """Remove stray NUL characters, reporting their lines; a file with many of them is binary."""
    count = text.count("\x00")
    if not count:
        return text
    if count > max(_STRAY_NULS, _MAX_NUL_SHARE * len(text)):
        raise SubtitleError(f"{path}: not a subtitle file (binary data)", path=path)
    for n, line in enumerate(split_lines(text), 1):
        if "\x00" in line:
            warn(n, "nul", f"{line.count(chr(0))} NUL character(s) removed")
    return text.replace("\x00", "")

