"""Where a dragged cue edge lands: the snapping rules and the drag arithmetic, without Qt.

An edge within the tolerance of a candidate lands on it. The nearest candidate wins; at equal
distance the original speech's edges win over the playhead, and the playhead over other cues' edges.
Frame boundaries lie every few tens of ms, so they would always be nearest: they are the fallback,
used only when no other candidate is in reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SPEECH, PLAYHEAD, CUE, FRAME = "speech", "playhead", "cue", "frame"
RANK = {SPEECH: 0, PLAYHEAD: 1, CUE: 2, FRAME: 3}  # lower wins a tie
MIN_LENGTH_MS = 100  # an edge dragged towards the other stops this far from it


@dataclass(frozen=True)
class Candidate:
    """A time an edge may snap to, and what lies there."""

    ms: int
    kind: str  # SPEECH | PLAYHEAD | CUE | FRAME
    index: int | None = None  # the cue it belongs to (speech and cue edges)


def frame_candidates(ms: int, fps: float, tolerance_ms: float) -> list[Candidate]:
    """The frame boundaries (rounded to ms) within tolerance of ms."""
    if fps <= 0:
        return []
    period = 1000.0 / fps
    first = math.ceil((ms - tolerance_ms) / period)
    last = math.floor((ms + tolerance_ms) / period)
    return [Candidate(round(k * period), FRAME) for k in range(max(first, 0), last + 1)]


def _key(ms: int, candidate: Candidate) -> tuple[bool, int, int]:
    return candidate.kind == FRAME, abs(candidate.ms - ms), RANK.get(candidate.kind, len(RANK))


def snap(ms: int, candidates: Iterable[Candidate], tolerance_ms: float) -> tuple[int, Candidate | None]:
    """ms moved onto the best candidate within tolerance_ms, with that candidate; else ms and None."""
    best: Candidate | None = None
    for candidate in candidates:
        if abs(candidate.ms - ms) <= tolerance_ms and (best is None or _key(ms, candidate) < _key(ms, best)):
            best = candidate
    return (ms, None) if best is None else (best.ms, best)


def snap_span(start: int, end: int, candidates: Sequence[Candidate],
              tolerance_ms: float) -> tuple[int, int, Candidate | None]:
    """A span moved whole so that whichever of its edges lies best to a candidate lands on it."""
    s_ms, s_hit = snap(start, candidates, tolerance_ms)
    e_ms, e_hit = snap(end, candidates, tolerance_ms)
    if s_hit is None and e_hit is None:
        return start, end, None
    if e_hit is None or (s_hit is not None and _key(start, s_hit) <= _key(end, e_hit)):
        return s_ms, end + s_ms - start, s_hit
    return start + e_ms - end, e_ms, e_hit


@dataclass(frozen=True)
class Drag:
    """A cue block being dragged: which part, from where."""

    index: int
    part: str  # "start" | "end" | "body"
    start_ms: int  # the cue's span when the drag began
    end_ms: int
    anchor_ms: int  # the time under the pointer when the drag began

    def moved(self, pointer_ms: int, candidates: Sequence[Candidate],
              tolerance_ms: float) -> tuple[int, int, Candidate | None]:
        """The cue's span with the pointer at pointer_ms, snapped (tolerance 0: not snapped).

        An edge stops MIN_LENGTH_MS short of the other and never goes below 0; a moved body keeps its
        length and never starts before 0.
        """
        delta = pointer_ms - self.anchor_ms
        hit: Candidate | None
        if self.part == "body":
            start, end, hit = snap_span(self.start_ms + delta, self.end_ms + delta, candidates, tolerance_ms)
            if start < 0:
                start, end, hit = 0, self.end_ms - self.start_ms, None
            return start, end, hit
        if self.part == "start":
            start, hit = snap(self.start_ms + delta, candidates, tolerance_ms)
            limit = self.end_ms - min(MIN_LENGTH_MS, self.end_ms - self.start_ms)
            if start > limit or start < 0:
                start, hit = min(max(start, 0), limit), None
            return start, self.end_ms, hit
        end, hit = snap(self.end_ms + delta, candidates, tolerance_ms)
        limit = self.start_ms + min(MIN_LENGTH_MS, self.end_ms - self.start_ms)
        if end < limit:
            end, hit = limit, None
        return self.start_ms, end, hit
