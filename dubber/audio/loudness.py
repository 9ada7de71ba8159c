"""Loudness: bring a track to a target integrated loudness (ITU-R BS.1770, EBU R128) under a true-peak ceiling.

Broadcast asks for −23 LUFS, the web for about −16 LUFS; both cap the true peak (the peak between
samples, found here by 4× oversampling) at −1 dBTP. Gain alone reaches the target; where it would
push a peak over the ceiling, a look-ahead limiter lowers just those moments, and the loudness lost
to the limiter is measured and made up again, so the result lands on the target.

A film-length track need not sit in memory. `plan_loudness` walks it once in blocks through a reader,
keeping per 100 ms only its loudness energy and true peak; where the limiter is needed, it measures
again only around the places the limiter works (elsewhere the result is the track times a gain). The
`LoudnessPlan` it returns gives the gain of any range from the audio around that range alone, the same
whether a block is rendered alone or inside the whole:

    plan, result = plan_loudness(read_mix, length, rate, -16.0)
    for lo in range(0, length, block):
        out, gain = plan.apply(read_mix, lo, min(lo + block, length))  # the stems take the same gain
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from dubber.audio.loudness_meter import (
    SETTLE_S,
    LoudnessMeter,
    frames,
    gated_lufs,
    sub_block_edge,
)
from dubber.audio.samples import db_to_gain
from dubber.errors import UsageError

BROADCAST_LUFS = -23.0
WEB_LUFS = -16.0
TRUE_PEAK_DBTP = -1.0
OVERSAMPLE = 4
LOOKAHEAD_MS = 5
RELEASE_MS = 80
RESOLUTION = 2.0 ** -30  # a limiter gain this close to 1 counts as 1: far below float32 resolution
RELEASE_TAIL = 21  # time constants after which a release's memory is below RESOLUTION (e^-21 < 2^-30)
SPAN_GAP = 4800  # samples: where a limiter pass acts, ranges closer than this are kept as one
PEAK_BLOCK = 1 << 20  # samples per block when oversampling for the true peak
PEAK_MARGIN = 512  # samples of context on each side of a block: longer than the interpolation filter
PLAN_BLOCK = 1 << 19  # samples per block when walking a track (about 11 s at 48 kHz)
PASSES = 4  # limiter passes; each makes up the loudness the last one took away
MIN_LUFS, MAX_LUFS = -70.0, -5.0

Reader = Callable[[int, int], np.ndarray]  # read(start, end) -> float32 [end - start, channels]; zeros outside
Spans = tuple[tuple[int, int], ...]


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
    data = frames(samples)
    meter = LoudnessMeter(rate, data.shape[1])
    for lo in range(0, data.shape[0], PLAN_BLOCK):
        meter.add(data[lo:lo + PLAN_BLOCK])
    return meter.lufs()


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float | None:
    """The true peak in dBTP: the largest magnitude after 4× oversampling; None for silence."""
    return _dbtp(_oversampled_peaks(frames(samples), rate))


def _dbtp(peaks: np.ndarray) -> float | None:
    """The largest of per-sample true peaks, in dBTP; None for silence."""
    peak = float(np.max(peaks, initial=0.0))
    return float(20 * np.log10(peak)) if peak > 0 else None


def array_reader(samples: np.ndarray) -> Reader:
    """A Reader over a track in memory ([n] or [n, channels]): zeros outside it."""
    data = frames(samples)

    def read(start: int, end: int) -> np.ndarray:
        out = np.zeros((end - start, data.shape[1]), dtype=np.float32)
        lo, hi = max(start, 0), min(end, data.shape[0])
        if hi > lo:
            out[lo - start:hi - start] = data[lo:hi]
        return out

    return read


@dataclass(frozen=True)
class LimiterPass:
    """One pass of the look-ahead limiter over the audio at the gain so far, then a make-up gain."""

    make_up_db: float = 0.0
    # Where the limiter lowers the gain by more than RESOLUTION (sorted sample ranges); elsewhere its gain
    # counts as 1, so a range far from them reads no context and costs no oversampling.
    spans: Spans = ()

    def within(self, start: int, end: int) -> tuple[list[tuple[int, int]], int]:
        """The parts of [start, end) where this pass acts, and where the first span they lie in starts."""
        hit = [(s, e) for s, e in self.spans if s < end and e > start]
        return [(max(s, start), min(e, end)) for s, e in hit], (hit[0][0] if hit else start)


@dataclass(frozen=True)
class LoudnessPlan:
    """What normalising decided, as numbers: the gain for any range is recomputed locally from the mix there.

    The gain is `gain_db`, then each of `passes` in turn: a limiter pass over the audio at the gain so far
    (held under `ceiling_dbtp`), then its make-up gain. A limiter pass reaches a few ms ahead and, while
    it is recovering, up to RELEASE_TAIL time constants back, so a range's gain depends on the audio
    within `margin` of it, and on none around it where no pass acts.
    """

    rate: int
    gain_db: float = 0.0
    ceiling_dbtp: float = TRUE_PEAK_DBTP
    passes: tuple[LimiterPass, ...] = ()  # () when gain alone stays under the ceiling

    @property
    def total_db(self) -> float:
        """The gain where the limiter does nothing."""
        return self.gain_db + sum(p.make_up_db for p in self.passes)

    @property
    def margin(self) -> int:
        """Samples of context `gain` reads on each side, at most (fewer ahead than behind)."""
        return len(self.passes) * (_hold(self.rate) + _tail(self.rate))

    def gain(self, read: Reader, start: int, end: int) -> np.ndarray:
        """The per-sample gain over [start, end), float32, from the audio within `margin` of the range."""
        if self._limits(start, end):
            return self._applied(read, start, end)[1].astype(np.float32)
        flat = db_to_gain(self.gain_db)  # no limiter here: the gain alone, nothing read
        for p in self.passes:  # in the order _applied multiplies them, for the same float32
            flat *= db_to_gain(p.make_up_db)
        return np.full(end - start, flat, dtype=np.float32)

    def apply(self, read: Reader, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """The audio over [start, end) at its gain ([n, channels], float32) and the gain ([n], float32), from
        one read: a caller whose reads cost a mix does not read the block twice."""
        if self._limits(start, end):
            data, exact, _ = self._applied(read, start, end)
            gain = exact.astype(np.float32)
        else:
            data, gain = frames(read(start, end)), self.gain(read, start, end)
        return (data * gain[:, None]).astype(np.float32), gain

    def _limits(self, start: int, end: int) -> bool:
        """Whether a limiter pass acts anywhere in [start, end)."""
        return any(p.within(start, end)[0] for p in self.passes)

    def _applied(self, read: Reader, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The audio over [start, end) ([n, channels], float32), its gain ([n], float64), and where the
        last pass acts there ([n] bool)."""
        hold, tail = _hold(self.rate), _tail(self.rate)
        # From the last pass back: where each pass acts in the range the next one needs, and so what it reads.
        need, work = (start, end), []
        for p in reversed(self.passes):
            acts, span_start = p.within(*need)
            if not acts:
                work.append(None)
                continue
            # The release starts afresh where its memory is below resolution: a span's start, or a tail back.
            first = max(span_start, acts[0][0] - tail)
            lo, hi = first - hold, acts[-1][1] + hold
            work.append((lo, hi, first, acts))
            need = (min(need[0], lo), max(need[1], hi))
        base = need[0]
        data = frames(read(*need))
        gain = np.full(data.shape[0], db_to_gain(self.gain_db))
        acting = np.zeros(end - start, dtype=bool)
        for k, (p, job) in enumerate(zip(self.passes, reversed(work))):
            if job is not None:
                lo, hi, first, acts = job
                part = slice(lo - base, hi - base)
                peaks = _oversampled_peaks(data[part] * gain[part, None], self.rate)
                limit = _limiter_gain(peaks, self.rate, self.ceiling_dbtp, first - lo)
                mask = np.zeros(hi - lo, dtype=bool)
                for s, e in acts:
                    mask[s - lo:e - lo] = True
                gain[part] *= np.where(mask, limit, 1.0)
                if k == len(self.passes) - 1:
                    a, b = max(lo, start), min(hi, end)
                    acting[a - start:b - start] = mask[a - lo:b - lo] & (limit[a - lo:b - lo] < 1 - RESOLUTION)
            gain *= db_to_gain(p.make_up_db)
        return data[start - base:end - base], gain[start - base:end - base], acting

    def limited(self, spans: Spans) -> LoudnessPlan:
        """This plan with one more limiter pass, acting within `spans`."""
        return replace(self, passes=self.passes + (LimiterPass(0.0, spans),))

    def last(self, **changes: object) -> LoudnessPlan:
        """This plan with its last pass changed."""
        return replace(self, passes=self.passes[:-1] + (replace(self.passes[-1], **changes),))


@dataclass(frozen=True)
class _Levels:
    """An output measured per 100 ms sub-block: K-weighted energy (complete sub-blocks) and true peak."""

    energy: np.ndarray
    peak: np.ndarray

    def scaled(self, gain_db: float) -> _Levels:
        return _Levels(self.energy * 10 ** (gain_db / 10), self.peak * 10 ** (gain_db / 20))

    def lufs(self, rate: int, gain_db: float = 0.0) -> float | None:
        return gated_lufs(self.energy, rate, gain_db)


def plan_loudness(read: Reader, length: int, rate: int, target_lufs: float,
                  ceiling_dbtp: float = TRUE_PEAK_DBTP, block: int = PLAN_BLOCK
                  ) -> tuple[LoudnessPlan, LoudnessResult]:
    """Decide the gain that brings a track of `length` samples to `target_lufs` under the ceiling.

    Walks the track once in blocks of `block` samples to measure it; each limiter pass then measures
    the limited result again around where the limiter works, and its lost loudness is made up as a gain.
    """
    if not MIN_LUFS <= target_lufs <= MAX_LUFS:
        raise UsageError(f"loudness target {target_lufs} LUFS is out of range ({MIN_LUFS:g} to {MAX_LUFS:g})")
    plan = LoudnessPlan(rate, 0.0, ceiling_dbtp)
    cells = -(-10 * length // rate)
    track = _Levels(np.zeros((10 * length + 9) // rate), np.zeros(cells))
    _measure(plan, read, length, block, [(0, cells)], track)
    before, before_peak = track.lufs(rate), _dbtp(track.peak)
    if before is None:  # silence stays silence
        return plan, LoudnessResult(target_lufs, None, None, before_peak, before_peak, 0.0, False)
    plan = replace(plan, gain_db=_toward(track, rate, target_lufs))
    out = track.scaled(plan.gain_db)
    limited = False
    for _ in range(PASSES):
        if (_dbtp(out.peak) or -np.inf) <= ceiling_dbtp + 0.01:
            break
        limited = True
        plan, out = _limit(plan, out, track, read, length, block)
        now = out.lufs(rate)
        if now is not None and abs(now - target_lufs) >= 0.1:
            make_up = _toward(out, rate, target_lufs)
            plan, out = plan.last(make_up_db=make_up), out.scaled(make_up)
        if now is None or abs(now - target_lufs) < 0.1:
            break
    if limited and (_dbtp(out.peak) or -np.inf) > ceiling_dbtp + 0.01:
        plan, out = _limit(plan, out, track, read, length, block)  # the ceiling wins over the last bit of a LU
    return plan, LoudnessResult(target_lufs, before, out.lufs(rate), before_peak, _dbtp(out.peak), plan.total_db,
                                limited)


def _limit(plan: LoudnessPlan, out: _Levels, track: _Levels, read: Reader, length: int, block: int
           ) -> tuple[LoudnessPlan, _Levels]:
    """Add a limiter pass where the output's peaks pass the ceiling, and measure the new output: the track
    times the plan's gain, but around the passes' spans, where it is measured again."""
    rate = plan.rate
    ceiling = db_to_gain(plan.ceiling_dbtp) * 0.995 * (1 - 1e-6)  # as _limiter_gain has it, and a hair under
    lead = 2 * _ahead(rate) + 2  # the hold and its smoothing reach this far either side of a peak
    candidates: list[tuple[int, int]] = []
    for cell in np.flatnonzero(out.peak > ceiling):
        s, e = int(sub_block_edge(cell, rate)) - lead, int(sub_block_edge(cell + 1, rate)) + lead + _tail(rate)
        if candidates and s <= candidates[-1][1]:
            candidates[-1] = (candidates[-1][0], e)
        else:
            candidates.append((s, e))
    plan = plan.limited(tuple(candidates))
    new = track.scaled(plan.total_db)
    spans = _measure(plan, read, length, block, _near(plan, length), new)
    return plan.last(spans=tuple(spans)), new


def _near(plan: LoudnessPlan, length: int) -> list[tuple[int, int]]:
    """The sub-blocks (ranges of their indices) whose energy or peak the passes' spans touch."""
    rate, cells = plan.rate, -(-10 * length // plan.rate)
    settle = math.ceil(SETTLE_S * rate)  # K-weighting rings on after a span
    ranges: list[tuple[int, int]] = []
    for s, e in sorted(span for p in plan.passes for span in p.spans):
        lo = (10 * max(s - PEAK_MARGIN, 0) + 9) // rate
        hi = min(-(-10 * (e + PEAK_MARGIN + settle) // rate), cells)
        if lo >= hi:
            continue
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges


def _measure(plan: LoudnessPlan, read: Reader, length: int, block: int, ranges: list[tuple[int, int]],
             levels: _Levels) -> list[tuple[int, int]]:
    """Measure the plan's output over ranges of sub-blocks into `levels`, a block at a time, and return
    where its last pass acts there. K-weighting starts SETTLE_S early wherever it cannot go on."""
    rate, complete = plan.rate, levels.energy.size
    meter: LoudnessMeter | None = None
    meter_end = -1
    spans: list[tuple[int, int]] = []
    for a, b in _chunks(ranges, max(10 * block // rate, 1)):
        s, e = int(sub_block_edge(a, rate)), min(int(sub_block_edge(b, rate)), length)
        if meter is None or meter_end != s:  # afresh, SETTLE_S early (or at the track's start)
            meter, first = None, max(a - math.ceil(SETTLE_S * 10), 0)
            lo = int(sub_block_edge(first, rate))
        else:
            lo = s
        data, gain, acting = plan._applied(read, lo - PEAK_MARGIN, e + PEAK_MARGIN)
        out = (data * gain[:, None]).astype(np.float32)  # as the caller will apply it
        inside = slice(s - lo + PEAK_MARGIN, e - lo + PEAK_MARGIN)
        edges = sub_block_edge(np.arange(a, b), rate) - s
        levels.peak[a:b] = np.maximum.reduceat(_oversampled_peaks(out, rate)[inside], edges)
        meter = meter or LoudnessMeter(rate, out.shape[1], first)
        meter.add(out[PEAK_MARGIN:inside.stop])
        meter_end = e
        energy = meter.energies(since=a)[:max(min(b, complete) - a, 0)]
        levels.energy[a:a + energy.size] = energy
        _add_runs(spans, acting[inside], s)
    return spans


def _chunks(ranges: list[tuple[int, int]], size: int) -> Iterator[tuple[int, int]]:
    """Ranges of sub-blocks cut into pieces of at most `size`."""
    for a, b in ranges:
        for lo in range(a, b, size):
            yield lo, min(lo + size, b)


def _toward(levels: _Levels, rate: int, target_lufs: float) -> float:
    """The gain (dB) that brings what was measured to the target; a second step where the gain moves
    gating blocks across the absolute gate."""
    gain_db = 0.0
    for _ in range(3):
        now = levels.lufs(rate, gain_db)
        if now is None or abs(now - target_lufs) < 0.001:
            break
        gain_db += target_lufs - now
    return gain_db


def _add_runs(spans: list[tuple[int, int]], mask: np.ndarray, offset: int) -> None:
    """Append the runs of True in `mask` (at `offset`) to sorted spans, joining those under SPAN_GAP apart."""
    change = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    for s, e in zip(change[::2] + offset, change[1::2] + offset):
        if spans and s - spans[-1][1] < SPAN_GAP:
            spans[-1] = (spans[-1][0], int(e))
        else:
            spans.append((int(s), int(e)))


def normalize(samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP
              ) -> tuple[np.ndarray, LoudnessResult]:
    """Return the track at `target_lufs` with no true peak above `ceiling_dbtp`, and what was done."""
    gain, result = loudness_gain(samples, rate, target_lufs, ceiling_dbtp)
    data = frames(samples).astype(np.float32)
    return (data * gain[:, None]).reshape(np.shape(samples)).astype(np.float32), result


def loudness_gain(samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP
                  ) -> tuple[np.ndarray, LoudnessResult]:
    """Return the per-sample gain ([n]) that brings the track to `target_lufs` under the ceiling.

    Normalising is a gain that changes only where the limiter works, so the same curve applied to
    each stem keeps the stems adding up to the normalised mix. The track in memory goes through the
    same plan, read in blocks, as a track streamed from elsewhere, so both give the same gain.
    """
    read, n = array_reader(samples), np.shape(samples)[0]
    plan, result = plan_loudness(read, n, rate, target_lufs, ceiling_dbtp)
    gain = np.empty(n, dtype=np.float32)
    for lo in range(0, n, PLAN_BLOCK):
        gain[lo:lo + PLAN_BLOCK] = plan.gain(read, lo, min(lo + PLAN_BLOCK, n))
    return gain, result


def _oversampled_peaks(data: np.ndarray, rate: int) -> np.ndarray:
    """Per-sample true-peak magnitude (max over channels of the 4× oversampled signal), [n].

    The interpolation is scipy's resample_poly (a Kaiser-windowed sinc, 81 taps) done as its polyphase
    parts: phase 0 is the sample itself (its other taps are the sinc's zeros), the three between are
    20-tap filters. Worked through in blocks with a margin on each side for the filter, so a film-length
    track never needs its oversampled copy in memory at once.
    """
    phases = _interpolator()
    n = data.shape[0]
    out = np.zeros(n, dtype=np.float32)
    for lo in range(0, n, PEAK_BLOCK):
        hi = min(lo + PEAK_BLOCK, n)
        a, b = max(lo - PEAK_MARGIN, 0), min(hi + PEAK_MARGIN, n)
        peak = np.zeros(b - a)
        for channel in np.asarray(data[a:b], dtype=np.float64).T:
            channel = np.ascontiguousarray(channel)
            np.maximum(peak, np.abs(channel) * phases[0][0], out=peak)
            for taps, delay in phases[1:]:
                np.maximum(peak, np.abs(np.convolve(channel, taps)[delay:delay + b - a]), out=peak)
        out[lo:hi] = peak[lo - a:hi - a]
    return out


@cache
def _interpolator() -> tuple[tuple[np.ndarray, int], ...]:
    """resample_poly's 4× filter split into its phases: (taps, delay) for each; phase 0 as its centre tap."""
    from scipy.signal import firwin

    half = 10 * OVERSAMPLE
    h = firwin(2 * half + 1, 1 / OVERSAMPLE, window=("kaiser", 5.0)) * OVERSAMPLE
    return ((h[half:half + 1], 0),) + tuple((h[p::OVERSAMPLE], half // OVERSAMPLE) for p in range(1, OVERSAMPLE))


def _ahead(rate: int) -> int:
    return max(int(rate * LOOKAHEAD_MS / 1000), 1)


def _release_samples(rate: int) -> int:
    return max(int(rate * RELEASE_MS / 1000), 1)


def _hold(rate: int) -> int:
    """How far a limiter pass's gain at a sample looks at the audio either way, release aside: the hold and
    its smoothing, and the oversampling filter (with its margin)."""
    return 2 * _ahead(rate) + 1 + PEAK_MARGIN


def _tail(rate: int) -> int:
    """How far back a release remembers a reduction, to RESOLUTION."""
    return math.ceil(RELEASE_TAIL * _release_samples(rate))


def _limiter_gain(peaks: np.ndarray, rate: int, ceiling_dbtp: float, first: int = 0) -> np.ndarray:
    """A look-ahead peak limiter's gain ([n], float64) for a track's per-sample true peaks: it falls before
    a peak arrives and recovers after it. The release starts afresh at `first` (what lies before is
    context for the hold, its own gain not wanted)."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    ceiling = db_to_gain(ceiling_dbtp) * 0.995  # a hair under, for the interpolation error of the estimate
    needed = np.minimum(1.0, ceiling / np.maximum(peaks.astype(np.float64), 1e-12))
    ahead = _ahead(rate)
    # Hold each reduction over the look-ahead window on both sides, then smooth: the gain reaches its
    # floor before the peak and never rises above what any sample in the window needs.
    held = -maximum_filter1d(-needed, size=2 * ahead + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=ahead, mode="nearest")
    gain = np.minimum(smooth, held)
    gain[:first] = 1.0
    return _release(gain, _release_samples(rate))


def _release(gain: np.ndarray, release: int) -> np.ndarray:
    """Let the gain recover gradually (one-pole) after a reduction, never faster than it fell."""
    from scipy.signal import lfilter

    coeff = np.exp(-1.0 / release)
    # Recovery toward 1 is smoothed; any fall is taken at once (the minimum keeps every peak under the ceiling).
    recovered = 1.0 - lfilter([1 - coeff], [1, -coeff], 1.0 - gain)
    return np.minimum(gain, recovered)
