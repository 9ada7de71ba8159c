"""One sample-exact timeline: every clip placed at an absolute sample, never concatenated."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from dubber.audio import as_mono, ms_to_samples, resample


@dataclass(frozen=True)
class Placement:
    """A mono clip placed at an absolute sample (may start before 0; the part before is cut)."""

    key: int  # the cue index
    start: int
    samples: np.ndarray

    @property
    def end(self) -> int:
        return self.start + int(self.samples.shape[0])


@dataclass
class Timeline:
    """Clips on one timeline at one sample rate, rendered by adding them in place."""

    sample_rate: int
    length: int  # samples; clips running past the end are cut
    placements: list[Placement] = field(default_factory=list)

    def place(self, key: int, start: int, samples: np.ndarray, from_rate: int | None = None) -> Placement:
        """Place a clip so that its first sample lands on `start`, resampling it if needed."""
        clip = as_mono(samples)
        if from_rate is not None and from_rate != self.sample_rate:
            clip = resample(clip, from_rate, self.sample_rate)
        placement = Placement(key, int(start), clip)
        self.placements.append(placement)
        return placement

    def render(self, start: int = 0, end: int | None = None, keys: Collection[int] | None = None) -> np.ndarray:
        """Mix the clips (all, or those with `keys`) into one float32 mono track: samples [start, end)."""
        end = self.length if end is None else min(end, self.length)
        start = max(0, min(start, end))
        out = np.zeros(end - start, dtype=np.float32)
        for p in self.placements:
            if keys is not None and p.key not in keys:
                continue
            lo, hi = max(p.start, start), min(p.end, end)
            if hi > lo:
                out[lo - start:hi - start] += p.samples[lo - p.start:hi - p.start]
        return out

    def spans(self) -> list[tuple[int, int]]:
        """Return the (start, end) sample range each clip covers on the timeline, in order."""
        return sorted((max(p.start, 0), min(p.end, self.length)) for p in self.placements if p.end > 0)


@dataclass(frozen=True)
class Clip:
    """A take ready to place: its speech onset (`lead` samples in, at its own rate) lands on `onset_ms`."""

    key: int  # the cue index
    onset_ms: int
    samples: np.ndarray
    sample_rate: int
    lead: int


def place_clips(clips: list[Clip], length: int, rate: int) -> Timeline:
    """Place every clip so that its speech onset lands exactly on its cue's start sample."""
    timeline = Timeline(rate, length)
    for clip in clips:
        lead = (clip.lead * rate + clip.sample_rate // 2) // clip.sample_rate
        timeline.place(clip.key, ms_to_samples(clip.onset_ms, rate) - lead, clip.samples, from_rate=clip.sample_rate)
    return timeline
