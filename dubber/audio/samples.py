"""Sample-level audio helpers: resampling, time-stretching, gain conversions."""

from __future__ import annotations

import numpy as np

MAX_STRETCH = 1.25  # the largest time-stretch ratio dubber ever applies, either way
BOUND_SLACK = 1e-3  # bounds are inclusive: rounding to whole samples or ms must not cross them


def as_mono(samples: np.ndarray) -> np.ndarray:
    """Return float32 mono samples, averaging channels when there are several."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(x.reshape(-1))


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float32 audio with soxr's high-quality filter."""
    x = as_mono(samples)
    if from_rate == to_rate or x.size == 0:
        return x
    import soxr

    return np.ascontiguousarray(soxr.resample(x, from_rate, to_rate, quality="HQ"), dtype=np.float32)


def resampled_length(n: int, from_rate: int, to_rate: int) -> int:
    """How many samples `resample` makes of `n`: n * to / from, rounded half up (as soxr does)."""
    return n if from_rate == to_rate else (n * to_rate + from_rate // 2) // from_rate


def time_stretch(samples: np.ndarray, out_len: int) -> np.ndarray:
    """Stretch audio to exactly `out_len` samples with WSOLA (pitch kept), within ×MAX_STRETCH."""
    x = as_mono(samples)
    if out_len == x.size or x.size == 0:
        return x.copy()
    ratio = out_len / x.size
    if not ((1 - BOUND_SLACK) / MAX_STRETCH <= ratio <= MAX_STRETCH * (1 + BOUND_SLACK)):
        raise ValueError(f"stretch ratio {ratio:.3f} is outside [{1 / MAX_STRETCH:.2f}, {MAX_STRETCH:.2f}]")
    import pytsmod

    y = np.asarray(pytsmod.wsola(x.astype(np.float64), ratio), dtype=np.float32).reshape(-1)
    return fit_length(y, out_len)


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Cut or zero-pad at the end to exactly `n` samples."""
    if samples.shape[0] >= n:
        return samples[:n]
    pad = np.zeros((n - samples.shape[0],) + samples.shape[1:], dtype=samples.dtype)
    return np.concatenate([samples, pad])


def db_to_gain(db: float) -> float:
    """Convert decibels to a linear amplitude factor."""
    return float(10.0 ** (db / 20.0))


def ms_to_samples(ms: int, rate: int) -> int:
    """Convert integer milliseconds to the nearest sample index (exact integer arithmetic)."""
    return (ms * rate + 500) // 1000


def samples_to_ms(n: int, rate: int) -> int:
    """Convert a sample count to the nearest integer millisecond."""
    return (n * 1000 + rate // 2) // rate
