"""A line's timing and state in words, for the table's tooltips, the line editor and the strip.

Qt-free: it reads the session and says what the panel shows, so every view words a line the same way.
"""

from __future__ import annotations

from dubber.fitting.slots import SYNC_CUE, SYNC_FILL, SYNC_SPEECH, Slot
from dubber.pipeline.checks import line_checks
from dubber.pipeline.dub import sync_of
from dubber.pipeline.session import SKIPPED, STALE, STATUS_WORDS, Session
from dubber.project.store import LineEntry
from dubber.subtitles.cue import SKIP_PAST_END

SPEAK_KEY = "S"
POLICY_WORDS = {
    SYNC_SPEECH: "follows the original speech: starts where the actor starts; the cue is only the outer bound",
    SYNC_CUE: "starts at its cue, at its natural length, within the cue",
    SYNC_FILL: "fills its cue exactly",
}
NO_SPEECH = "no original speech to follow: starts at its cue, at its natural length, within the cue"
PAST_THE_END = "past the video's end"


def clock(ms: int) -> str:
    """12:34.567 (or 1:02:03.456 past an hour)."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    head = f"{hours}:{minutes:02d}" if hours else f"{minutes}"
    return f"{head}:{seconds:02d}.{millis:03d}"


def span(start_ms: int | None, end_ms: int | None) -> str:
    """'0:03.412 → 0:05.230', or '—' for no span."""
    if start_ms is None or end_ms is None:
        return "—"
    return f"{clock(start_ms)} → {clock(end_ms)}"


def seconds(ms: int) -> str:
    """'2.150 s'."""
    return f"{ms / 1000:.3f} s"


def target(line: LineEntry) -> tuple[int, int] | None:
    """The original speech a line follows, or None."""
    if line.target_start_ms is None or line.target_end_ms is None:
        return None
    return line.target_start_ms, line.target_end_ms


def not_spoken(line: LineEntry) -> str:
    """Why a skipped line is not spoken, and how to speak it."""
    return f"Not spoken: {line.skip_reason or line.skip}. Press {SPEAK_KEY} to speak it anyway."


def status_words(line: LineEntry, status: str) -> str:
    """A line's status in words: a line not spoken because it starts after the video ends says so."""
    if status == SKIPPED and line.skip == SKIP_PAST_END:
        return PAST_THE_END
    return STATUS_WORDS[status]


def spoken_anyway(line: LineEntry) -> str:
    """What a line spoken against its skip says, and how to stop."""
    return f"Spoken anyway ({line.skip_reason or line.skip}). Press {SPEAK_KEY} to stop speaking it."


def policy(sync: str, line: LineEntry, slot: Slot | None) -> str:
    """How the line is timed under the project's `sync`, in words, with the latest it may end."""
    if slot is None:
        return ""
    how = sync_of(line, slot)
    words = NO_SPEECH if sync == SYNC_SPEECH and how == SYNC_CUE else POLICY_WORDS[how]
    return f"Timing: {words}; ends by {clock(slot.end_ms)}."


def target_length(line: LineEntry, slot: Slot | None) -> str:
    """The table's Target cell: the length aimed at, '≤ window' for a natural length, '—' when not spoken."""
    if slot is None:
        return "—"
    if slot.target_ms is not None:
        return seconds(slot.target_ms)
    return f"≤ {seconds(slot.window_ms)}"


def tooltip(session: Session, line: LineEntry) -> str:
    """Everything about a line's timing: both spans, the policy, the take's note or why it is not spoken, and
    its timing checks with what would help (dubber.pipeline.checks)."""
    status = session.status(line)
    cue = f"Cue: {span(line.start_ms, line.end_ms)} ({seconds(line.duration_ms)})"
    if status == SKIPPED:
        return "\n".join((f"Line {line.index} · {status_words(line, status)}", not_spoken(line), cue))
    rows = [f"Line {line.index} · {STATUS_WORDS[status]}", cue]
    speech = target(line)
    rows.append(f"Original speech: {span(*speech)} ({seconds(speech[1] - speech[0])})" if speech
                else "Original speech: none")
    slot = session.slots().get(line.index)
    if slot is not None:
        rows.append(policy(session.project.sync, line, slot))
    if line.skip:
        rows.append(spoken_anyway(line))
    take = line.take
    if status == STALE:
        rows.append("Its take was made for other words, another slot or another voice: it needs a new take.")
    elif take is not None and take.reason:
        rows.append(f"Take: {take.reason}")
    checks = line_checks(session, line)
    if checks.problems:
        rows.append(checks.words)
    return "\n".join(rows)
