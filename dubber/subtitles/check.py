"""`dubber check`: every trait of a subtitle file that a dub would trip on, by file:line with a code.

What the loader finds (unreadable blocks, overlaps, sound descriptions, signs, credits, mojibake,
duplicate simultaneous lines, split turns ...), and what needs the whole file or the video:

- `past-end`: a cue that starts after the video ends (not spoken) or runs past it;
- `short-cue`: a cue under SHORT_MS, too short for any line;
- `reading-speed`: more characters per second than anyone reads (READING_CPS);
- `display-time`: a cue shown longer than LONG_DISPLAY_MS, or shorter than SHORT_DISPLAY_MS;
- `wrong-language`: a line not in the dub's language (`--lang`), or not in the file's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dubber.subtitles.cue import Cue, Diagnostic
from dubber.subtitles.language import dominant_language, mark_languages
from dubber.subtitles.load import SubtitleLoad, load_subtitles
from dubber.subtitles.spoken import mark_past_end
from dubber.text.scripts import HAN, HANGUL, KANA, script_of

SHORT_MS = 300  # no line can be spoken in less
SHORT_DISPLAY_MS = 833  # five sixths of a second: the shortest display subtitling guides allow
LONG_DISPLAY_MS = 10_000  # a single subtitle shown longer holds more than one line's speech, or waits
# Characters per second beyond which a line is an outlier: subtitling guides cap adult reading
# speed near 20 (Latin scripts) and 9 (Chinese, Japanese), so these are half again as fast.
READING_CPS = {"latin": 30.0, "cjk": 13.5}
_CJK = {HAN, KANA, HANGUL}


@dataclass
class CheckResult:
    """A subtitle file checked: what was read and every problem found, in file order."""

    load: SubtitleLoad
    cues: list[Cue]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    lang: str | None = None  # the language lines were checked against

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def not_spoken(self) -> list[Cue]:
        return [cue for cue in self.cues if not cue.spoken]

    def to_dict(self) -> dict[str, object]:
        return {"path": self.load.path, "format": self.load.format, "encoding": self.load.encoding,
                "lang": self.lang, "cues": len(self.cues), "not_spoken": len(self.not_spoken),
                "errors": len(self.errors), "warnings": len(self.diagnostics) - len(self.errors),
                "diagnostics": [d.to_dict() for d in self.diagnostics]}


def check_subtitles(subtitles: str | Path, video_ms: int | None = None, lang: str | None = None) -> CheckResult:
    """Check a subtitle file (against a video of `video_ms`, and the dub language `lang`, when given)."""
    load = load_subtitles(subtitles)
    path = load.path
    cues, found = list(load.cues), list(load.diagnostics)
    cues, notes = mark_past_end(cues, video_ms, path)
    found += notes
    for cue in cues:
        found += _timing(cue, path)
    lang = lang or dominant_language(cues)
    if lang is not None:
        cues, notes = mark_languages(cues, lang, path)
        found += notes
    found.sort(key=lambda d: (d.line or 0, d.severity != "error"))
    return CheckResult(load, cues, found, lang)


def _timing(cue: Cue, path: str) -> list[Diagnostic]:
    """The short-cue, display-time and reading-speed problems of one cue."""
    duration = cue.duration_ms
    if duration < SHORT_MS:
        return [Diagnostic(path, cue.line, "warning", "short-cue",
                           f"cue {cue.index} lasts {duration} ms: no line can be spoken in under {SHORT_MS} ms")]
    notes = []
    if duration < SHORT_DISPLAY_MS or duration > LONG_DISPLAY_MS:
        notes.append(Diagnostic(path, cue.line, "warning", "display-time",
                                f"cue {cue.index} is shown for {duration / 1000:.2f} s (subtitles usually stay "
                                f"{SHORT_DISPLAY_MS / 1000:.2f}–{LONG_DISPLAY_MS / 1000:.0f} s)"))
    if cue.spoken:
        chars, kind = _reading_chars(cue.text)
        cps = chars * 1000 / duration
        if cps > READING_CPS[kind]:
            notes.append(Diagnostic(path, cue.line, "warning", "reading-speed",
                                    f"cue {cue.index} asks for {cps:.0f} characters a second "
                                    f"(more than {READING_CPS[kind]:.0f}: hard to read, and likely hard to speak "
                                    "in its time)"))
    return notes


def _reading_chars(text: str) -> tuple[int, str]:
    """The characters a reader reads (letters and digits) and the kind of script they are in."""
    chars = [ch for ch in text if ch.isalnum()]
    cjk = sum(script_of(ch) in _CJK for ch in chars)
    return len(chars), "cjk" if cjk * 2 > len(chars) else "latin"
