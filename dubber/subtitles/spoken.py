"""Which cues a dub speaks, and in which language.

The subtitle loader already marks sound descriptions, signs, credits and duplicate simultaneous
lines (`Cue.skip`). Here the dub adds what needs the video and the dub's language: cues past the
video's end are skipped (never synthesised), and lines in another language are skipped or, with
`foreign="speak"`, spoken with an engine of their own language. `speak_all` speaks every cue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from dubber.errors import EngineError
from dubber.plugin import registry
from dubber.subtitles.cue import SKIP_LANGUAGE, SKIP_PAST_END, Cue, Diagnostic, show_time
from dubber.subtitles.language import mark_languages

FOREIGN_SKIP, FOREIGN_SPEAK = "skip", "speak"
FOREIGN_CHOICES = (FOREIGN_SKIP, FOREIGN_SPEAK)


def mark_past_end(cues: Sequence[Cue], video_ms: int | None, path: str) -> tuple[list[Cue], list[Diagnostic]]:
    """Skip the cues that start at or after the video's end; warn about those that run past it."""
    if not video_ms:
        return list(cues), []
    out, notes = [], []
    for cue in cues:
        if cue.start_ms >= video_ms:
            reason = f"starts at {show_time(cue.start_ms)}, after the video ends at {show_time(video_ms)}"
            out.append(dataclasses.replace(cue, skip=SKIP_PAST_END, skip_reason=reason))
            notes.append(Diagnostic(path, cue.line, "warning", "past-end", f"cue {cue.index} {reason}: not spoken"))
            continue
        if cue.end_ms > video_ms:
            notes.append(Diagnostic(path, cue.line, "warning", "past-end",
                                    f"cue {cue.index} ends at {show_time(cue.end_ms)}, after the video ends at "
                                    f"{show_time(video_ms)}: its speech must end with the video"))
        out.append(cue)
    return out, notes


def mark_foreign(cues: Sequence[Cue], lang: str, path: str, foreign: str = FOREIGN_SKIP,
                 speak_all: bool = False) -> tuple[list[Cue], list[Diagnostic]]:
    """Find the lines not in `lang`; skip them, or leave them to be spoken in their own language.

    With `speak_all` every line is spoken in the dub's language, as written.
    """
    if speak_all:
        return list(cues), []

    marked, notes = mark_languages(list(cues), lang, path)
    if foreign != FOREIGN_SPEAK:
        return marked, notes
    out = []
    for cue in marked:
        if cue.skip == SKIP_LANGUAGE and cue.lang is not None:
            engine = _engine_for(cue.lang)
            if engine is None:
                cue = dataclasses.replace(cue, skip_reason=f"{cue.skip_reason}; no installed engine speaks {cue.lang}")
            else:
                cue = dataclasses.replace(cue, skip="", skip_reason="")
                notes.append(Diagnostic(path, cue.line, "warning", "wrong-language",
                                        f"cue {cue.index} is spoken in {cue.lang} by {engine}"))
        out.append(cue)
    return out, notes


def _engine_for(lang: str) -> str | None:
    try:
        return registry.engine_for_language(lang)
    except EngineError:
        return None
