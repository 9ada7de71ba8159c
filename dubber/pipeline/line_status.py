"""What a line needs, judged from its chosen take: the statuses the panel and the service show."""

from __future__ import annotations

from dubber.fitting.fitter import STATUS_FAILED, STATUS_MISSED, STATUS_OK, STATUS_TOO_LONG, STATUS_TOO_SHORT
from dubber.fitting.slots import OVERRUN_MS, STATUS_OVERLAP, Slot, judge_take
from dubber.pipeline.dub import spoken_text
from dubber.project.store import LineEntry, SpeakerEntry, TakeRecord

# What a line needs, judged from its chosen take.
PENDING = "pending"  # not rendered yet
OK = "ok"  # fitted within the tolerance
OFF = "off"  # rendered, but beyond the tolerance
STALE = "stale"  # the text, timing or voice changed after its take was made: it needs a new one
UNFITTABLE = "unfittable"  # the engine could not reach the slot (too long or too short)
FAILED = "failed"  # the engine failed
SKIPPED = "skipped"  # not spoken: a sound description, a sign, another language, past the video's end ...
OVERLAP = "overlap"  # its speech (or, not dubbed yet, its slot) overlaps another line's on the timeline
NEEDS_WORK = (PENDING, OFF, STALE, UNFITTABLE, FAILED, OVERLAP)
# How a status is shown, in the Qt panel and the service's web page alike: green within the
# tolerance, amber beyond it, red where the line cannot fit, failed or overlaps another, grey when not spoken
# (pending: not coloured).
STATUS_COLOURS = {OK: "#2e9d4f", OFF: "#d99a1e", STALE: "#d99a1e", UNFITTABLE: "#c8402f", FAILED: "#c8402f",
                  SKIPPED: "#8a8a8a", OVERLAP: "#c8402f"}
STATUS_WORDS = {PENDING: "not dubbed", OK: "in sync", OFF: "out of sync", STALE: "edited, needs a new take",
                UNFITTABLE: "cannot fit", FAILED: "failed", SKIPPED: "not spoken", OVERLAP: "overlaps another line"}
# A take's status (dubber.fitting.slots) as the line's.
STATUS_OF_TAKE = {STATUS_OK: OK, STATUS_MISSED: OFF, STATUS_TOO_LONG: UNFITTABLE, STATUS_TOO_SHORT: UNFITTABLE,
                STATUS_FAILED: FAILED, STATUS_OVERLAP: OVERLAP}


def line_status(line: LineEntry, accept_ms: int = 50, speaker: SpeakerEntry | None = None,
                pronunciations: dict[str, str] | None = None, slot: Slot | None = None,
                next_onset_ms: int | None = None, overlap: tuple[int, int] | None = None) -> str:
    """Say what a line needs (see the constants above); `speaker` gives the voice a line without its own has,
    `pronunciations` the project's dictionary (a take speaks the line with it written in).

    With its `slot` (and the next line's onset) the take is judged where it lies now, by the rule the
    dub and the export use (dubber.fitting.slots); without, by what was measured when it was made.
    `overlap` (the other line, ms) says its speech overlaps another line's on the timeline: never in sync.
    """
    if not line.spoken:
        return SKIPPED
    take = line.take
    if take is not None and take.status == STATUS_FAILED:
        return FAILED
    if take is not None and stale_take(line, take, speaker, pronunciations or {}, slot):
        return STALE
    if overlap is not None:
        return OVERLAP  # two voices at once, as it lies now (or, not dubbed yet, as it is timed)
    if take is None:
        return PENDING
    if slot is not None and take.speech_ms is not None:
        return STATUS_OF_TAKE[judge_take(take.speech_ms, slot.borrowing(take.borrowed_ms), next_onset_ms,
                                       accept_ms).status]
    fill = take.window_ms is None
    if fill and take.status == STATUS_OK and (take.error_ms is None or abs(take.error_ms) > accept_ms):
        return OFF  # a take filling its cue, from before statuses were measured: its error decides
    return STATUS_OF_TAKE.get(take.status, OFF)


def stale_take(line: LineEntry, take: TakeRecord, speaker: SpeakerEntry | None, pronunciations: dict[str, str],
           slot: Slot | None = None) -> bool:
    """Whether the take was made for other words, another slot or another voice than the line has now."""
    if take.text and take.text != spoken_text(line.text, pronunciations):
        return True
    if slot is not None and made_for_another_slot(take, slot):
        return True
    if slot is None and take.window_ms is None and take.target_ms is not None and take.target_ms != line.duration_ms:
        return True
    if made_with_other_choices(line, take):
        return True
    engine = line.engine or (speaker.engine if speaker else None)
    if engine is not None and take.engine != engine:
        return True
    # Without a voice of its own, a line speaks with its speaker's voice, or another engine's default.
    voice = line.voice or (speaker.voice if speaker and engine == speaker.engine else None)
    return bool(voice) and take.voice != voice


def made_with_other_choices(line: LineEntry, take: TakeRecord) -> bool:
    """A take made with a fitting choice the line no longer has, or without one it has now and not in sync
    (a take in sync needs nothing more)."""
    for now, then in ((line.borrow_gap, take.borrow_gap), (line.allow_stretch, take.allow_stretch)):
        if (then and not now) or (now and not then and take.status != STATUS_OK):
            return True
    return False


def made_for_another_slot(take: TakeRecord, slot: Slot) -> bool:
    """A take aimed at another length, made under another policy, or too long for its window now."""
    if slot.fill != (take.window_ms is None) or take.target_ms != slot.target_ms:
        return True
    if slot.fill or take.window_ms == slot.window_ms:
        return False
    return take.speech_ms is not None and take.speech_ms > slot.window_ms + OVERRUN_MS
