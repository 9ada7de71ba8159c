"""The dub report: per-line measurements and a summary, written as JSON."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dubber.files import write_atomically

SCHEMA = "dubber.report/1"


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
    target_ms: int
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

    def measure(self, speech_start_ms: int, speech_end_ms: int) -> None:
        """Record the speech span found on the rendered timeline and the errors against the slot."""
        self.speech_start_ms, self.speech_end_ms = speech_start_ms, speech_end_ms
        self.onset_error_ms = speech_start_ms - self.start_ms
        self.offset_error_ms = speech_end_ms - (self.start_ms + self.target_ms)
        worst = max(self.onset_error_ms, self.offset_error_ms, key=abs)
        self.error_ms = worst


def summarize(lines: list[LineReport], wall_ms: int, audio_ms: int) -> dict[str, Any]:
    """Count lines by status and give error statistics, wall time, audio length and RTF."""
    errors = [abs(line.error_ms) for line in lines if line.error_ms is not None]
    return {
        "lines": len(lines),
        "by_status": dict(sorted(Counter(line.status for line in lines).items())),
        "median_abs_error_ms": statistics.median(errors) if errors else None,
        "max_abs_error_ms": max(errors) if errors else None,
        "within_50ms": sum(e <= 50 for e in errors),
        "wall_s": round(wall_ms / 1000, 3),
        "audio_s": round(audio_ms / 1000, 3),
        "rtf": round(wall_ms / audio_ms, 3) if audio_ms else None,
    }


def build_report(lines: list[LineReport], summary: dict[str, Any], diagnostics: list[dict[str, Any]],
                 inputs: dict[str, Any]) -> dict[str, Any]:
    """Assemble the report document."""
    return {"schema": SCHEMA, "inputs": inputs, "summary": summary, "diagnostics": diagnostics,
            "lines": [asdict(line) for line in lines]}


def write_json_atomic(path: str | Path, doc: dict[str, Any]) -> None:
    """Write JSON whole or not at all, so a crash never leaves half a file."""
    write_atomically(path, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
