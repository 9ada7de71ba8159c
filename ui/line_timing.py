"""Where each line and its take lie on the timeline, as the strip draws them and the player plays them.

A take lies where the session places it for export: its speech onset on its slot's onset (the
original speech's onset under `speech` sync), not on the cue's start.
"""

from __future__ import annotations

from dubber.mix.placement import onset_of
from dubber.mix.timeline import Clip
from dubber.pipeline.preview import preview_window
from dubber.pipeline.session import OFF, OK, OVERLAP, PENDING, SKIPPED, STALE, Session
from dubber.project.store import LineEntry
from dubber.ui.line_words import not_spoken, target
from dubber.ui.timeline_strip import StripCue

STRIP_STATES = {OK: "ok", OFF: "off", STALE: "off", PENDING: "pending", SKIPPED: "skipped",
                OVERLAP: "overlap"}  # the rest: "failed"


def strip_cues(session: Session) -> list[StripCue]:
    """Every line as the strip shows it: its cue, its original speech, its slot and its state."""
    slots = session.slots()
    cues = []
    for line in session.project.lines:
        status = session.status(line)
        slot = slots.get(line.index)
        take = line.take
        note = (not_spoken(line) if status == SKIPPED else session.overlap(line) if status == OVERLAP
                else take.reason if take is not None else "")
        cues.append(StripCue(line.index, line.start_ms, line.end_ms, line.text, STRIP_STATES.get(status, "failed"),
                             target(line), (slot.onset_ms, slot.end_ms) if slot else None, note, line.speaker))
    return cues


def placed_take(session: Session, line: LineEntry) -> Clip | None:
    """The line's chosen take as placed on the timeline, or None when it has no audio to show."""
    try:
        return session.clip(line)
    except Exception:  # a missing take file shows as no waveform; playing it says why
        return None


def take_start_ms(clip: Clip) -> int:
    """When a placed take's first sample plays (video time): its onset less the silence before its speech."""
    return clip.onset_ms - clip.lead * 1000 // clip.sample_rate


def context_window(session: Session, line: LineEntry, margin_ms: int = 1500) -> tuple[int, int]:
    """What 'play in context' plays: the cue, the original speech and the placed take, with `margin_ms` either
    side."""
    start, end = line.start_ms, line.end_ms
    speech = target(line)
    if speech is not None:
        start, end = min(start, speech[0]), max(end, speech[1])
    take = line.take
    if take is not None and line.spoken:
        onset = onset_of(line, session.slots())
        start, end = min(start, onset), max(end, onset + (take.speech_ms or 0))
    return preview_window(start, end, session.duration_ms, margin_ms, margin_ms)
