"""Loudness: bring a track to a target integrated loudness (ITU-R BS.1770, EBU R128) under a true-peak ceiling.

Broadcast asks for −23 LUFS, the web for about −16 LUFS; both cap the true peak (the peak between
samples, found here by 4× oversampling) at −1 dBTP. Gain alone reaches the target; where it would
push a peak over the ceiling, a look-ahead limiter lowers just those moments, and the loudness lost
to the limiter is measured and made up again, so the result lands on the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dubber.audio.samples import db_to_gain
from dubber.errors import UsageError

BROADCAST_LUFS = -23.0
WEB_LUFS = -16.0
TRUE_PEAK_DBTP = -1.0
OVERSAMPLE = 4
LOOKAHEAD_MS = 5
RELEASE_MS = 80
PEAK_BLOCK = 1 << 20  # samples per block when oversampling for the true peak
PEAK_MARGIN = 512  # samples of context on each side of a block: longer than the interpolation filter
PASSES = 4  # limiter passes; each makes up the loudness the last one took away
MIN_LUFS, MAX_LUFS = -70.0, -5.0


@dataclass(frozen=True)
class LoudnessResult:
    """What normalising did: loudness and true peak before and after, and the gain applied."""

    target_lufs: float
    before_lufs: float | None  # None: silence (nothing to measure)
    after_lufs: float | None
    before_peak_dbtp: float | None
    after_peak_dbtp: float | None
    gain_db: float
    limited: bool  # the limiter had to hold peaks down

    def to_dict(self) -> dict[str, object]:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def integrated_lufs(samples: np.ndarray, rate: int) -> float | None:
    """Integrated loudness in LUFS (BS.1770-4, gated); None when the track is silent or too short."""
    import pyloudnorm

    data = _frames(samples)
    if data.shape[0] < int(0.4 * rate):  # one 400 ms gating block at least
        return None
    value = float(pyloudnorm.Meter(rate).integrated_loudness(data.astype(np.float64)))
    return value if np.isfinite(value) else None


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float | None:
    """The true peak in dBTP: the largest magnitude after 4× oversampling; None for silence."""
    return _dbtp(_oversampled_peaks(_frames(samples), rate))


def _dbtp(peaks: np.ndarray) -> float | None:
    """The largest of per-sample true peaks, in dBTP; None for silence."""
    peak = float(np.max(peaks, initial=0.0))
    return float(20 * np.log10(peak)) if peak > 0 else None


def normalize(samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP
              ) -> tuple[np.ndarray, LoudnessResult]:
    """Return the track at `target_lufs` with no true peak above `ceiling_dbtp`, and what was done."""
    gain, result = loudness_gain(samples, rate, target_lufs, ceiling_dbtp)
    data = _frames(samples).astype(np.float32)
    return (data * gain[:, None]).reshape(np.shape(samples)).astype(np.float32), result


def loudness_gain(samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP
                  ) -> tuple[np.ndarray, LoudnessResult]:
    """Return the per-sample gain ([n]) that brings the track to `target_lufs` under the ceiling.

    Normalising is a gain that changes only where the limiter works, so the same curve applied to
    each stem keeps the stems adding up to the normalised mix.
    """
    if not MIN_LUFS <= target_lufs <= MAX_LUFS:
        raise UsageError(f"loudness target {target_lufs} LUFS is out of range ({MIN_LUFS:g} to {MAX_LUFS:g})")
    data = _frames(samples).astype(np.float32)
    gain = np.ones(data.shape[0], dtype=np.float32)
    before = integrated_lufs(data, rate)
    before_peak = true_peak_dbtp(data, rate)
    if before is None:  # silence stays silence
        return gain, LoudnessResult(target_lufs, None, None, before_peak, before_peak, 0.0, False)
    gain_db = float(target_lufs - before)
    gain *= db_to_gain(gain_db)
    # `out` and its per-sample true peaks always follow `gain`: each is computed once per change.
    out = data * gain[:, None]
    peaks = _oversampled_peaks(out, rate)
    limited = False
    for _ in range(PASSES):
        if (_dbtp(peaks) or -np.inf) <= ceiling_dbtp + 0.01:
            break
        limited = True
        gain *= _limiter_gain(peaks, rate, ceiling_dbtp)
        out = data * gain[:, None]
        now = integrated_lufs(out, rate)
        if now is not None and abs(now - target_lufs) >= 0.1:
            make_up = float(target_lufs - now)
            gain_db += make_up
            gain *= db_to_gain(make_up)
            out = data * gain[:, None]
        peaks = _oversampled_peaks(out, rate)
        if now is None or abs(now - target_lufs) < 0.1:
            break
    if limited and (_dbtp(peaks) or -np.inf) > ceiling_dbtp + 0.01:
        gain *= _limiter_gain(peaks, rate, ceiling_dbtp)  # the ceiling wins over the last fraction of a LU
        out = data * gain[:, None]
        peaks = _oversampled_peaks(out, rate)
    result = LoudnessResult(target_lufs, before, integrated_lufs(out, rate), before_peak, _dbtp(peaks), gain_db,
                            limited)
    return gain, result


def _frames(samples: np.ndarray) -> np.ndarray:
    """[n] or [n, channels] as [n, channels]."""
    data = np.asarray(samples)
    return data.reshape(-1, 1) if data.ndim == 1 else data


def _oversampled_peaks(data: np.ndarray, rate: int) -> np.ndarray:
    """Per-sample true-peak magnitude (max over channels of the 4× oversampled signal), [n].

    Worked through in blocks with a margin on each side for the filter, so a film-length track
    never needs its 4× float64 copy in memory at once.
    """
    from scipy.signal import resample_poly

    n = data.shape[0]
    out = np.zeros(n, dtype=np.float32)
    for lo in range(0, n, PEAK_BLOCK):
        hi = min(lo + PEAK_BLOCK, n)
        a, b = max(lo - PEAK_MARGIN, 0), min(hi + PEAK_MARGIN, n)
        up = np.abs(resample_poly(data[a:b].astype(np.float64), OVERSAMPLE, 1, axis=0))
        up = up[(lo - a) * OVERSAMPLE:(hi - a) * OVERSAMPLE].reshape(hi - lo, OVERSAMPLE, -1)
        out[lo:hi] = up.max(axis=(1, 2))
    return out


def _limiter_gain(peaks: np.ndarray, rate: int, ceiling_dbtp: float) -> np.ndarray:
    """A look-ahead peak limiter's gain ([n]) for a track's per-sample true peaks: it falls before a
    peak arrives and recovers after it."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    ceiling = db_to_gain(ceiling_dbtp) * 0.995  # a hair under, for the interpolation error of the estimate
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    ahead = max(int(rate * LOOKAHEAD_MS / 1000), 1)
    # Hold each reduction over the look-ahead window on both sides, then smooth: the gain reaches its
    # floor before the peak and never rises above what any sample in the window needs.
    held = -maximum_filter1d(-needed, size=2 * ahead + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=ahead, mode="nearest")
    gain = np.minimum(smooth, held)
    release = max(int(rate * RELEASE_MS / 1000), 1)
    return _release(gain, release)


def _release(gain: np.ndarray, release: int) -> np.ndarray:
    """Let the gain recover gradually (one-pole) after a reduction, never faster than it fell."""
    from scipy.signal import lfilter

    coeff = np.exp(-1.0 / release)
    # Recovery toward 1 is smoothed; any fall is taken at once (the minimum keeps every peak under the ceiling).
    recovered = 1.0 - lfilter([1 - coeff], [1, -coeff], 1.0 - gain)
    return np.minimum(gain, recovered).astype(np.float32)


# STAND-IN for part 3's streaming API (same signatures), so the mix in blocks can be built against it now;
# replaced by the real module when it lands in main. Not for the final commits.
Reader = Callable[[int, int], np.ndarray]
STAND_IN_MARGIN_MS = 1500  # look-ahead plus the release's tail (exp(-1500/80) is under float32 resolution)


class LoudnessMeter:
    """Integrated loudness of consecutive blocks (stand-in: keeps them and measures at the end)."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self._parts: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        self._parts.append(np.asarray(block, np.float32).reshape(-1, self.channels))

    def lufs(self) -> float | None:
        if not self._parts:
            return None
        return integrated_lufs(np.concatenate(self._parts), self.rate)


@dataclass(frozen=True)
class LoudnessPlan:
    """A scalar gain and, where peaks pass the ceiling, a local limiter recomputed from the mix around a range."""

    rate: int
    gain_db: float = 0.0
    ceiling_dbtp: float = TRUE_PEAK_DBTP
    limit: bool = False

    @property
    def margin(self) -> int:
        return int(self.rate * STAND_IN_MARGIN_MS / 1000) if self.limit else 0

    def gain(self, read: Reader, start: int, end: int) -> np.ndarray:
        scalar = np.float32(db_to_gain(self.gain_db))
        if not self.limit:
            return np.full(end - start, scalar, np.float32)
        m = self.margin
        data = _frames(read(start - m, end + m)) * scalar
        limiter = _limiter_gain(_oversampled_peaks(data, self.rate), self.rate, self.ceiling_dbtp)
        return (scalar * limiter[m:m + end - start]).astype(np.float32)


def plan_loudness(read: Reader, length: int, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP,
                  block: int = PEAK_BLOCK) -> tuple[LoudnessPlan, LoudnessResult]:
    if not MIN_LUFS <= target_lufs <= MAX_LUFS:
        raise UsageError(f"loudness target {target_lufs} LUFS is out of range ({MIN_LUFS:g} to {MAX_LUFS:g})")
    def walk(get: Reader) -> np.ndarray:  # stand-in: reads by blocks, keeps the whole
        return np.concatenate([get(lo, min(lo + block, length)) for lo in range(0, length, block)] or [read(0, 0)])

    data = _frames(walk(read))
    before, before_peak = integrated_lufs(data, rate), true_peak_dbtp(data, rate)
    if before is None:
        return LoudnessPlan(rate), LoudnessResult(target_lufs, None, None, before_peak, before_peak, 0.0, False)
    gain_db = float(target_lufs - before)
    limit = (before_peak or -np.inf) + gain_db > ceiling_dbtp + 0.01
    plan = LoudnessPlan(rate, gain_db, ceiling_dbtp, limit)
    for _ in range(PASSES if limit else 0):
        now = integrated_lufs(data * walk(lambda a, b: plan.gain(read, a, b))[:, None], rate)
        if now is None or abs(now - target_lufs) < 0.05:
            break
        plan = LoudnessPlan(rate, plan.gain_db + float(target_lufs - now), ceiling_dbtp, True)
    out = data * walk(lambda a, b: plan.gain(read, a, b))[:, None]
    return plan, LoudnessResult(target_lufs, before, integrated_lufs(out, rate), before_peak,
                                true_peak_dbtp(out, rate), plan.gain_db, limit)
