"""Each line's slot on the timeline, and the one rule that says whether a rendered line is in sync.

Three policies (`--sync`):

- `speech` (the default when the video has audio): a line starts where the original speech starts
  and should last about as long as it; the cue is only the outer bound. A line shorter than the
  original speech is fine (a note says by how much); one that runs past its window or into the next
  line's speech is `too_long`. A line whose cue has no original speech is timed as under `cue`.
- `cue`: a line starts at its cue's start at its natural length, bounded by the cue.
- `fill` (dubber's first policy, `--fill`): a line starts at its cue's start and lasts exactly the
  cue, within the acceptance tolerance at both edges.

The window's end is the cue's end (or the original speech's, when the actor speaks past the cue),
never closer than GUARD_MS to the next line's onset, never past the video; `--borrow-gap` lets it
run to the next line (GUARD_MS before it), and so does a line's own choice to borrow the gap after it
(`borrowing`: those lines only). The pipeline, the panel, `verify` and the service all judge with `judge`.

Lines are judged one by one, then together: two lines whose speech overlaps on the timeline are
both `overlap` (`overlapping`, `with_overlap`), whatever each is alone. An editor may overlap cues
on purpose (under `fill` a line fills its cue, so overlapping cues overlap their speech), but two
voices at once are never in sync.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from dubber.subtitles.cue import show_time

SYNC_SPEECH, SYNC_CUE, SYNC_FILL = "speech", "cue", "fill"
SYNC_MODES = (SYNC_SPEECH, SYNC_CUE, SYNC_FILL)

STATUS_OK = "ok"
STATUS_TOO_LONG = "too_long"
STATUS_TOO_SHORT = "too_short"
STATUS_MISSED = "missed"  # fittable, but the take ended outside the acceptance window
STATUS_FAILED = "failed"  # the engine failed or the line has no speech
STATUS_OVERLAP = "overlap"  # its speech overlaps another line's on the timeline

GUARD_MS = 40  # silence kept between a line's end and the next line's onset
OVERRUN_MS = 25  # a line may end this far past its window (a frame's rounding) and still be in sync
ACCEPT_MS = 50  # onsets (and, under `fill`, ends) within this of their mark are in sync


class Timed(Protocol):
    """What a slot is planned from: a line's cue and, where found, its original speech (ms)."""

    index: int
    start_ms: int
    end_ms: int
    target_start_ms: int | None
    target_end_ms: int | None


@dataclass(frozen=True)
class Slot:
    """Where a line is placed and how long it may last."""

    onset_ms: int  # the line's speech starts here
    end_ms: int  # and must end by here
    target_ms: int | None  # the length to approach: the original speech's, or under `fill` the cue's; None: natural
    fill: bool = False  # `fill`: the line must last exactly target_ms

    @property
    def window_ms(self) -> int:
        return self.end_ms - self.onset_ms

    def borrowing(self, ms: int) -> Slot:
        """The slot of a `fill` line that borrowed `ms` of the gap after its cue (`--borrow-gap`)."""
        if not ms or not self.fill or self.target_ms is None:
            return self
        return Slot(self.onset_ms, max(self.end_ms, self.onset_ms + self.target_ms + ms), self.target_ms + ms, True)


@dataclass(frozen=True)
class Verdict:
    """A rendered line judged against its slot."""

    status: str
    error_ms: int | None  # the sync error: onset error, or the overrun when larger (fill: the worse edge)
    reason: str = ""  # why it is not ok, or a note (shorter than the original speech)
    onset_error_ms: int | None = None
    offset_error_ms: int | None = None  # fill: end vs the cue's end; else the end vs the window's end
    overlap_ms: int = 0  # how far it runs into the next line's speech


def plan_slots(lines: Sequence[Timed], sync: str, borrow_gap: bool = False,
               video_end_ms: int | None = None, borrowing: Collection[int] = ()) -> dict[int, Slot]:
    """Give every line its slot; the lines are those to speak, any order. `borrow_gap` lets every line run
    on into the gap after it, `borrowing` (line indexes) only those lines."""
    following = next_onsets({line.index: _onset(line, sync) for line in lines})
    slots = {}
    for line in lines:
        onset = _onset(line, sync)
        nxt = following[line.index][0] if following[line.index] else None
        if sync == SYNC_FILL:
            end = line.end_ms
            target: int | None = line.end_ms - line.start_ms
        else:
            end = max(line.end_ms, line.target_end_ms or 0)
            target = _target_ms(line) if sync == SYNC_SPEECH else None
        if (borrow_gap or line.index in borrowing) and nxt is not None:
            end = max(end, nxt - GUARD_MS)
        if nxt is not None and sync != SYNC_FILL:
            end = min(end, nxt - GUARD_MS)
        if video_end_ms is not None:
            end = min(end, video_end_ms)
        slots[line.index] = Slot(onset, max(end, onset + 1), target, sync == SYNC_FILL)
    return slots


def next_onsets(onsets: Mapping[int, int]) -> dict[int, tuple[int, int] | None]:
    """For each line (index -> onset ms), the (onset, index) of the first line that starts after it;
    lines said at the same moment do not bound each other."""
    ordered = sorted((onset, index) for index, onset in onsets.items())
    starts = [onset for onset, _ in ordered]
    following: dict[int, tuple[int, int] | None] = {}
    for onset, index in ordered:
        k = bisect_right(starts, onset)
        following[index] = ordered[k] if k < len(ordered) else None
    return following


def _onset(line: Timed, sync: str) -> int:
    if sync == SYNC_SPEECH and line.target_start_ms is not None:
        return line.target_start_ms
    return line.start_ms


def _target_ms(line: Timed) -> int | None:
    if line.target_start_ms is None or line.target_end_ms is None:
        return None
    return line.target_end_ms - line.target_start_ms


def judge(speech: tuple[int, int] | None, slot: Slot, next_onset_ms: int | None = None,
          accept_ms: int = ACCEPT_MS, next_index: int | None = None) -> Verdict:
    """Judge a line's measured speech span (ms on the timeline) against its slot and the next line's
    measured onset."""
    if speech is None:
        return Verdict(STATUS_FAILED, None, "no speech found on the timeline")
    start, end = speech
    onset_error = start - slot.onset_ms
    if slot.fill:
        return _judge_fill(start, end, slot, accept_ms)
    overrun = end - slot.end_ms
    overlap = max(0, end - next_onset_ms) if next_onset_ms is not None else 0
    error = onset_error if abs(onset_error) >= max(overrun, 0) else overrun
    common = {"onset_error_ms": onset_error, "offset_error_ms": overrun, "overlap_ms": overlap}
    if overlap > 0:
        whose = f"line {next_index}'s" if next_index is not None else "the next line's"
        return Verdict(STATUS_TOO_LONG, error, f"runs {overlap} ms into {whose} speech", **common)
    if overrun > OVERRUN_MS:
        return Verdict(STATUS_TOO_LONG, error, f"runs {overrun} ms past its window (ends by {show_time(slot.end_ms)})",
                       **common)
    if abs(onset_error) > accept_ms:
        return Verdict(STATUS_MISSED, error, f"starts {onset_error:+d} ms off its onset", **common)
    note = ""
    if slot.target_ms is not None and slot.target_ms - (end - start) > accept_ms:
        note = f"{slot.target_ms - (end - start)} ms shorter than the original speech"
    return Verdict(STATUS_OK, error, note, **common)


def _judge_fill(start: int, end: int, slot: Slot, accept_ms: int) -> Verdict:
    """`fill`: both edges on the cue's."""
    target = slot.target_ms if slot.target_ms is not None else slot.window_ms
    onset_error, offset_error = start - slot.onset_ms, end - (slot.onset_ms + target)
    error = max(onset_error, offset_error, key=abs)
    common = {"onset_error_ms": onset_error, "offset_error_ms": offset_error}
    if abs(onset_error) <= accept_ms and abs(offset_error) <= accept_ms:
        return Verdict(STATUS_OK, error, **common)
    if abs(offset_error) > accept_ms:
        status = STATUS_TOO_LONG if offset_error > 0 else STATUS_TOO_SHORT
        return Verdict(status, error, f"speech {'longer' if offset_error > 0 else 'shorter'} than its cue by "
                                      f"{abs(offset_error)} ms", **common)
    return Verdict(STATUS_MISSED, error, f"starts {onset_error:+d} ms off its cue", **common)


def judge_take(speech_ms: int | None, slot: Slot, next_onset_ms: int | None = None,
               accept_ms: int = ACCEPT_MS) -> Verdict:
    """Judge a take alone, as it will lie on the timeline: its speech onset lands on the slot's."""
    if speech_ms is None:
        return Verdict(STATUS_FAILED, None, "no speech")
    return judge((slot.onset_ms, slot.onset_ms + speech_ms), slot, next_onset_ms, accept_ms)


def overlap_pairs(spans: Mapping[int, tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Every pair of lines whose speech (index -> (start, end) ms on the timeline) overlaps, earlier
    first, with by how many ms."""
    ordered = sorted((start, end, index) for index, (start, end) in spans.items())
    found = []
    for i, (start, end, index) in enumerate(ordered):
        for other_start, other_end, other in ordered[i + 1:]:
            if other_start >= end:
                break  # sorted by start: no later line reaches back this far
            found.append((index, other, min(end, other_end) - other_start))
    return found


def overlapping(spans: Mapping[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """For each line whose speech overlaps another's, (the line it overlaps most, by how many ms)."""
    found: dict[int, tuple[int, int]] = {}
    for first, second, ms in overlap_pairs(spans):
        for line, other in ((first, second), (second, first)):
            if ms > found.get(line, (0, 0))[1]:
                found[line] = (other, ms)
    return found


def with_overlap(verdict: Verdict, other: int, ms: int) -> Verdict:
    """`verdict` of a line whose speech overlaps line `other`'s by `ms`: `overlap`, unless it has no speech."""
    if verdict.status == STATUS_FAILED:
        return verdict
    # Its own fault stays in words, unless that was running into this very speech (said now).
    own = verdict.reason if verdict.status != STATUS_OK and not verdict.overlap_ms else ""
    reason = "; ".join(filter(None, (overlap_words(other, ms), own)))
    return replace(verdict, status=STATUS_OVERLAP, reason=reason, overlap_ms=max(verdict.overlap_ms, ms))


def overlap_words(other: int, ms: int) -> str:
    """'overlaps line 8's speech by 500 ms'."""
    return f"overlaps line {other}'s speech by {ms} ms"
