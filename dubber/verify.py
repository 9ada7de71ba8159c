"""Check a finished dub: find each cue's speech on the output file itself and compare it to the cue."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from dubber import media
from dubber.audio import ms_to_samples, samples_to_ms
from dubber.cue import Cue
from dubber.speech import speech_span

VERIFY_RATE = 48000
SEARCH_MS = 300  # how far past the first and last cue to look for speech


@dataclass
class LineCheck:
    """A cue and the speech found for it on the output."""

    index: int
    start_ms: int
    end_ms: int
    speech_start_ms: int | None
    speech_end_ms: int | None

    @property
    def onset_error_ms(self) -> int | None:
        return None if self.speech_start_ms is None else self.speech_start_ms - self.start_ms

    @property
    def offset_error_ms(self) -> int | None:
        return None if self.speech_end_ms is None else self.speech_end_ms - self.end_ms

    def within(self, tolerance_ms: int) -> bool:
        """Say whether both speech edges lie within `tolerance_ms` of the cue's edges."""
        on, off = self.onset_error_ms, self.offset_error_ms
        return on is not None and off is not None and abs(on) <= tolerance_ms and abs(off) <= tolerance_ms

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "onset_error_ms": self.onset_error_ms, "offset_error_ms": self.offset_error_ms}


def check_output(path: str | Path, cues: list[Cue]) -> list[LineCheck]:
    """Measure each cue's speech span on the first audio track of `path`, searching up to the
    midpoints of the gaps to its neighbours."""
    audio = media.decode_audio(path, VERIFY_RATE, channels=1)[:, 0]
    ordered = sorted(cues, key=lambda c: c.start_ms)
    checks = []
    for i, cue in enumerate(ordered):
        lo = cue.start_ms - SEARCH_MS if i == 0 else (ordered[i - 1].end_ms + cue.start_ms) // 2
        hi = cue.end_ms + SEARCH_MS if i + 1 == len(ordered) else (cue.end_ms + ordered[i + 1].start_ms) // 2
        lo_s, hi_s = ms_to_samples(max(lo, 0), VERIFY_RATE), ms_to_samples(hi, VERIFY_RATE)
        span = speech_span(audio[lo_s:hi_s], VERIFY_RATE) if hi_s > lo_s else None
        start = None if span is None else samples_to_ms(lo_s + span.start, VERIFY_RATE)
        end = None if span is None else samples_to_ms(lo_s + span.end, VERIFY_RATE)
        checks.append(LineCheck(cue.index, cue.start_ms, cue.end_ms, start, end))
    return checks
