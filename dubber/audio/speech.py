"""Measure where speech is in rendered audio, by short-time energy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dubber.audio.samples import as_mono

WINDOW_MS = 6  # energy window; short so edges are placed within a few ms
RELATIVE_DB = 35.0  # speech is what lies within this many dB of the loudest window
FLOOR_DBFS = -55.0  # never call anything quieter than this speech


@dataclass(frozen=True)
class Span:
    """A half-open range of samples [start, end)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def energy_envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Return the per-sample RMS over a centred window, in dBFS."""
    x = as_mono(samples).astype(np.float64)
    win = max(1, rate * WINDOW_MS // 1000)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = win // 2
    idx = np.arange(x.size)
    lo = np.clip(idx - half, 0, x.size)
    hi = np.clip(idx - half + win, 0, x.size)
    power = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def speech_span(samples: np.ndarray, rate: int, floor_dbfs: float = FLOOR_DBFS) -> Span | None:
    """Return the span from the first to the last sample of speech, or None for silence."""
    if np.asarray(samples).size == 0:
        return None
    env = energy_envelope(samples, rate)
    threshold = max(float(env.max()) - RELATIVE_DB, floor_dbfs)
    loud = np.flatnonzero(env > threshold)
    if loud.size == 0:
        return None
    return Span(int(loud[0]), int(loud[-1]) + 1)


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing silence, keeping exactly the measured speech span."""
    span = speech_span(samples, rate)
    if span is None:
        return np.zeros(0, dtype=np.float32)
    return as_mono(samples)[span.start:span.end]
