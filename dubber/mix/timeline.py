"""One sample-exact timeline: every clip placed at an absolute sample, never concatenated."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dubber.audio.media import read_wav
from dubber.audio.samples import as_mono, ms_to_samples, resample, resampled_length
from dubber.errors import MediaError


@dataclass(frozen=True)
class Placement:
    """A mono clip placed at an absolute sample (may start before 0; the part before is cut).

    `source` is the clip itself, or, for a take stored on disk, a function that reads it: a long
    dub then holds only the clips being rendered, not every take at once.
    """

    key: int  # the cue index
    start: int
    length: int
    source: np.ndarray | Callable[[], np.ndarray]

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def samples(self) -> np.ndarray:
        """The clip at the timeline's rate."""
        if isinstance(self.source, np.ndarray):
            return self.source
        samples = self.source()
        if samples.shape[0] != self.length:
            raise MediaError(f"take of line {self.key} changed on disk: {samples.shape[0]} samples, "
                             f"{self.length} expected")
        return samples


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
        placement = Placement(key, int(start), int(clip.shape[0]), clip)
        self.placements.append(placement)
        return placement

    def place_file(self, key: int, start: int, path: Path, frames: int, from_rate: int) -> Placement:
        """Place a stored clip of `frames` samples at `from_rate`, read from `path` only when rendered."""
        rate = self.sample_rate

        def load() -> np.ndarray:
            samples, _ = read_wav(path)
            return resample(samples, from_rate, rate)

        placement = Placement(key, int(start), resampled_length(frames, from_rate, rate), load)
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
    """A take ready to place: its speech onset (`lead` samples in, at its own rate) lands on `onset_ms`.

    The samples are given, or left on disk: `path` and its length in `frames`.
    """

    key: int  # the cue index
    onset_ms: int
    samples: np.ndarray | None
    sample_rate: int
    lead: int
    path: Path | None = None
    frames: int = 0


def place_clips(clips: list[Clip], length: int, rate: int) -> Timeline:
    """Place every clip so that its speech onset lands exactly on its cue's start sample."""
    timeline = Timeline(rate, length)
    for clip in clips:
        lead = (clip.lead * rate + clip.sample_rate // 2) // clip.sample_rate
        start = ms_to_samples(clip.onset_ms, rate) - lead
        if clip.samples is None and clip.path is not None:
            timeline.place_file(clip.key, start, clip.path, clip.frames, clip.sample_rate)
        else:
            timeline.place(clip.key, start, clip.samples, from_rate=clip.sample_rate)
    return timeline
