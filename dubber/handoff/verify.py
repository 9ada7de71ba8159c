"""Check a finished dub: find each line's speech on the output file itself and judge it by the dub's rule.

Each line is judged against its slot (dubber.fitting.slots): where the dub placed it and how long it may
last. The slots come from the dub's report (`--report`), else from the project the dub left beside
the output, else from the cues themselves under `fill` (both edges on the cue's). On a mixed file the
lines cannot be told apart by source, so each is searched between its neighbours: up to just before
the next line's onset (a line running on past it shows as too long), or, under `fill`, to the
middles of the gaps between cues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.errors import UsageError
from dubber.fitting.slots import ACCEPT_MS, SYNC_FILL, SYNC_MODES, Slot, Verdict, judge, next_onsets, plan_slots
from dubber.project.store import load_project, project_path_for
from dubber.subtitles.cue import Cue

VERIFY_RATE = 48000
SEARCH_MS = 300  # how far past the first and last line to look for speech
EDGE_MS = 10  # a line's search ends this long before the next line's onset


@dataclass
class LineCheck:
    """A line, its slot, and the speech found for it on the output."""

    index: int
    start_ms: int
    end_ms: int
    speech_start_ms: int | None
    speech_end_ms: int | None
    onset_ms: int = 0
    window_end_ms: int = 0
    status: str = ""
    error_ms: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start_ms": self.start_ms, "end_ms": self.end_ms,
                "speech_start_ms": self.speech_start_ms, "speech_end_ms": self.speech_end_ms,
                "onset_ms": self.onset_ms, "window_end_ms": self.window_end_ms, "status": self.status,
                "error_ms": self.error_ms, "reason": self.reason}


def slots_from_report(path: str | Path) -> tuple[dict[int, Slot], str]:
    """The slots a dub's report gives its lines, and the sync policy it names."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        sync = doc.get("inputs", {}).get("sync") or SYNC_FILL
        slots = {}
        for line in doc["lines"]:
            if line.get("onset_ms") is None or line.get("window_end_ms") is None:
                continue
            fill = line.get("sync", SYNC_FILL) == SYNC_FILL
            slots[int(line["index"])] = Slot(int(line["onset_ms"]), int(line["window_end_ms"]),
                                             line.get("target_ms"), fill)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: cannot read the dub's report: {exc}", path=str(path)) from exc
    if sync not in SYNC_MODES:
        raise UsageError(f"{path}: unknown sync policy {sync!r}", path=str(path))
    return slots, sync


def slots_for(media_path: str | Path, cues: list[Cue], report: str | Path | None = None) -> tuple[dict[int, Slot], str]:
    """The slots to judge `cues` by: the report's, else the project's beside the media, else `fill` at the cues."""
    if report is not None:
        return slots_from_report(report)
    project_path = project_path_for(media_path)
    if project_path.is_file():
        project = load_project(project_path)
        spoken = [line for line in project.lines if line.spoken]
        borrowing = {line.index for line in spoken if line.borrow_gap}  # the lines' own choice, as dubbed
        return plan_slots(spoken, project.sync, video_end_ms=None, borrowing=borrowing), project.sync
    return plan_slots(cues, SYNC_FILL), SYNC_FILL


def check_output(path: str | Path, cues: list[Cue], slots: dict[int, Slot] | None = None,
                 accept_ms: int = ACCEPT_MS) -> list[LineCheck]:
    """Measure each line's speech on the first audio track of `path` and judge it against its slot
    (default: filling its cue)."""
    if slots is None:
        slots = plan_slots(cues, SYNC_FILL)
    audio = media.decode_audio(path, VERIFY_RATE, channels=1)[:, 0]
    by_index = {cue.index: cue for cue in cues}
    ordered = sorted((slot.onset_ms, index) for index, slot in slots.items() if index in by_index)
    following = next_onsets({index: onset for onset, index in ordered})
    checks = []
    for i, (onset, index) in enumerate(ordered):
        slot, cue = slots[index], by_index[index]
        nxt = following[index][0] if following[index] else None
        lo, hi = _search(slots, ordered, i, nxt)
        lo_s, hi_s = ms_to_samples(max(lo, 0), VERIFY_RATE), ms_to_samples(max(hi, 0), VERIFY_RATE)
        span = speech_span(audio[lo_s:hi_s], VERIFY_RATE) if hi_s > lo_s else None
        found = None if span is None else (samples_to_ms(lo_s + span.start, VERIFY_RATE),
                                           samples_to_ms(lo_s + span.end, VERIFY_RATE))
        verdict: Verdict = judge(found, slot, nxt, accept_ms)
        checks.append(LineCheck(index, cue.start_ms, cue.end_ms, found[0] if found else None,
                                found[1] if found else None, slot.onset_ms, slot.end_ms, verdict.status,
                                verdict.error_ms, verdict.reason))
    return checks


def _search(slots: dict[int, Slot], ordered: list[tuple[int, int]], i: int, nxt: int | None) -> tuple[int, int]:
    """Where to look for line i's speech: between its neighbours (`nxt`: the next later onset)."""
    onset, index = ordered[i]
    slot = slots[index]
    if slot.fill:  # the middles of the gaps between slots, as cues are back to back or apart
        prev_end = slots[ordered[i - 1][1]].end_ms if i else None
        next_start = ordered[i + 1][0] if i + 1 < len(ordered) else None
        lo = onset - SEARCH_MS if prev_end is None else (prev_end + onset) // 2
        hi = slot.end_ms + SEARCH_MS if next_start is None else (slot.end_ms + next_start) // 2
        return lo, hi
    # The searches tile the track: each from just before its line's onset to just before the next's.
    lo = onset - SEARCH_MS if i == 0 else onset - EDGE_MS
    return lo, nxt - EDGE_MS if nxt is not None else slot.end_ms + SEARCH_MS
