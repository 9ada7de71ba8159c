"""The dub report: per-line measurements and a summary, written as JSON."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from dubber.fitting.slots import STATUS_OK, SYNC_SPEECH, Slot, Verdict

SCHEMA = "dubber.fitting.report/2"


@dataclass
class LineReport:
    """What happened to one cue, measured on the rendered audio."""

    index: int
    start_ms: int
    end_ms: int
    speaker: str | None
    text: str
    engine: str
    voice: str
    seed: int
    target_ms: int | None  # the length it aimed at: the original speech's, the cue's under fill; None: natural
    natural_ms: int | None = None
    speech_start_ms: int | None = None
    speech_end_ms: int | None = None
    onset_error_ms: int | None = None
    offset_error_ms: int | None = None
    error_ms: int | None = None  # the larger of the onset and offset errors, signed
    rate: float | None = None  # the engine's rate knob (1.0 under native duration control)
    heard_rate: float | None = None  # natural speech length / fitted speech length: what a listener hears
    stretch: float | None = None
    borrowed_ms: int = 0
    method: str = ""
    status: str = ""
    reason: str = ""
    line: int | None = None
    similarity: float | None = None  # the chosen take vs its speaker's reference clip, when there is one
    wer: float | None = None  # Whisper's word error rate on the chosen take, when measured
    takes: int = 1  # how many takes were rendered for this line
    sync: str = "fill"  # how the line was timed (dubber.fitting.slots): speech, cue or fill
    target_start_ms: int | None = None  # the original speech it follows (speech sync, where found)
    target_end_ms: int | None = None
    onset_ms: int | None = None  # where its speech was placed
    window_end_ms: int | None = None  # the latest it may end
    length_error_ms: int | None = None  # dub speech length minus the original speech's
    overlap_ms: int = 0  # how far it runs into the next line's speech
    part: int = 0  # the turn of a split cue
    lang: str | None = None  # spoken in its own language, not the dub's

    def judged(self, speech_start_ms: int, speech_end_ms: int, slot: Slot, verdict: Verdict) -> None:
        """Record the speech span found on the line's own placed clip and what the slot rule made of it."""
        self.speech_start_ms, self.speech_end_ms = speech_start_ms, speech_end_ms
        self.onset_ms, self.window_end_ms = slot.onset_ms, slot.end_ms
        self.onset_error_ms, self.offset_error_ms = verdict.onset_error_ms, verdict.offset_error_ms
        self.error_ms, self.overlap_ms = verdict.error_ms, verdict.overlap_ms
        # The take's own reason (the rate it would need) still helps an editor when the line is off.
        take_reason = self.reason if verdict.status != STATUS_OK and self.reason not in verdict.reason else ""
        self.status, self.reason = verdict.status, "; ".join(filter(None, (verdict.reason, take_reason)))
        if self.target_start_ms is not None and self.target_end_ms is not None and self.sync == SYNC_SPEECH:
            self.length_error_ms = (speech_end_ms - speech_start_ms) - (self.target_end_ms - self.target_start_ms)


@dataclass
class SkippedLine:
    """A cue that was not spoken, and why."""

    index: int
    line: int | None
    start_ms: int
    end_ms: int
    text: str
    skip: str  # the dubber.subtitles.cue SKIP_* kind
    reason: str


def summarize(lines: list[LineReport], wall_ms: int, audio_ms: int) -> dict[str, Any]:
    """Count lines by status and give error statistics, wall time, audio length and RTF."""
    errors = [abs(line.error_ms) for line in lines if line.error_ms is not None]
    lengths = [abs(line.length_error_ms) for line in lines if line.length_error_ms is not None]
    return {
        "lines": len(lines),
        "by_status": dict(sorted(Counter(line.status for line in lines).items())),
        "median_abs_error_ms": statistics.median(errors) if errors else None,
        "max_abs_error_ms": max(errors) if errors else None,
        "within_50ms": sum(e <= 50 for e in errors),
        "median_abs_length_error_ms": statistics.median(lengths) if lengths else None,
        "wall_s": round(wall_ms / 1000, 3),
        "audio_s": round(audio_ms / 1000, 3),
        "rtf": round(wall_ms / audio_ms, 3) if audio_ms else None,
    }


def build_report(lines: list[LineReport], summary: dict[str, Any], diagnostics: list[dict[str, Any]],
                 inputs: dict[str, Any]) -> dict[str, Any]:
    """Assemble the report document."""
    return {"schema": SCHEMA, "inputs": inputs, "summary": summary, "diagnostics": diagnostics,
            "lines": [asdict(line) for line in lines]}
