"""Loudness: bring a track to a target integrated loudness (ITU-R BS.1770, EBU R128) under a true-peak ceiling.

Broadcast asks for −23 LUFS, the web for about −16 LUFS; both cap the true peak (the peak between
samples, found here by 4× oversampling) at −1 dBTP. Gain alone reaches the target; where it would
push a peak over the ceiling, a look-ahead limiter lowers just those moments, and the loudness lost
to the limiter is measured and made up again, so the result lands on the target.

A film-length track need not sit in memory: `plan_loudness` walks it in blocks through a reader
(measure, then, where the limiter is needed, measure the limited result and make up), and the
`LoudnessPlan` it returns gives the gain of any range from the audio around that range alone, the
same whether a block is rendered alone or inside the whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

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
ABSOLUTE_GATE = -70.0  # LUFS: gating blocks below it are not counted (BS.1770-4)
RELATIVE_GATE = -10.0  # LU under the loudness of the blocks above the absolute gate
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs (BS.1770-4); further channels count as 1

Reader = Callable[[int, int], np.ndarray]  # read(start, end) -> float32 [end - start, channels]; zeros outside


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


class LoudnessMeter:
    """Streaming BS.1770-4 integrated loudness: K-weighting with filter state carried across blocks, 100 ms
    sub-block energies, 400 ms gating blocks with 75 % overlap, absolute and relative gates.

    Only one number per 100 ms is kept (72,000 for two hours), so a block of any size may be added.
    """

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self._sos = _k_weighting(rate)
        self._state = np.zeros((self._sos.shape[0], 2, channels))
        weights = CHANNEL_WEIGHTS + (1.0,) * max(channels - len(CHANNEL_WEIGHTS), 0)
        self._weights = np.asarray(weights[:channels])
        self._done = 0  # samples added
        self._subs: list[np.ndarray] = []  # weighted energy sums of the complete 100 ms sub-blocks
        self._count = 0  # complete sub-blocks
        self._partial = 0.0  # energy so far of the sub-block under way

    def _edge(self, k: np.ndarray | int) -> np.ndarray | int:
        """Where sub-block k starts, in samples (a 100 ms grid that stays whole at any rate)."""
        return k * self.rate // 10

    def add(self, block: np.ndarray) -> None:
        """Take the next samples, [k, channels] (or [k] for mono), following the ones added before."""
        from scipy.signal import sosfilt

        data = _frames(block)
        if data.shape[1] != self.channels:
            raise ValueError(f"a block of {data.shape[1]} channels for a {self.channels}-channel meter")
        n = data.shape[0]
        if n == 0:
            return
        weighted, self._state = sosfilt(self._sos, data.astype(np.float64), axis=0, zi=self._state)
        energy = np.square(weighted) @ self._weights
        end = self._done + n
        last = (10 * end + 9) // self.rate  # the last sub-block edge at or before `end`
        edges = np.asarray(self._edge(np.arange(self._count + 1, last + 1)), dtype=np.int64) - self._done
        starts = np.concatenate([[0], edges])
        starts = starts[starts < n]
        sums = np.add.reduceat(energy, starts)
        sums[0] += self._partial
        if edges.size and edges[-1] == n:  # the block ends on an edge: nothing left under way
            complete, self._partial = sums, 0.0
        else:
            complete, self._partial = sums[:-1], float(sums[-1])
        self._subs.append(complete)
        self._count, self._done = last, end

    def lufs(self) -> float | None:
        """The integrated loudness so far in LUFS; None for silence or under 400 ms."""
        return self.lufs_at(0.0)

    def lufs_at(self, gain_db: float) -> float | None:
        """The integrated loudness the same audio would have `gain_db` louder (gating moves with it)."""
        subs = np.concatenate(self._subs) if self._subs else np.zeros(0)
        if subs.size < 4:
            return None
        k = np.arange(subs.size - 3)
        lengths = np.asarray(self._edge(k + 4)) - np.asarray(self._edge(k))
        energy = (subs[:-3] + subs[1:-2] + subs[2:-1] + subs[3:]) / lengths * 10 ** (gain_db / 10)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(energy)
        heard = loudness >= ABSOLUTE_GATE
        if not heard.any():
            return None
        relative = -0.691 + 10 * np.log10(energy[heard].mean()) + RELATIVE_GATE
        counted = (loudness > relative) & (loudness > ABSOLUTE_GATE)
        if not counted.any():
            return None
        return float(-0.691 + 10 * np.log10(energy[counted].mean()))


def _k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter (high shelf, then high pass) as second-order sections, designed as pyloudnorm
    designs it, so the streaming meter and pyloudnorm's agree at any rate."""
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
    high_pass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
    return np.array([np.concatenate([f.b, f.a]) for f in (shelf, high_pass)])


def integrated_lufs(samples: np.ndarray, rate: int) -> float | None:
    """Integrated loudness in LUFS (BS.1770-4, gated); None when the track is silent or too short."""
    data = _frames(samples)
    meter = LoudnessMeter(rate, data.shape[1])
    for lo in range(0, data.shape[0], PLAN_BLOCK):
        meter.add(data[lo:lo + PLAN_BLOCK])
    return meter.lufs()


def true_peak_dbtp(samples: np.ndarray, rate: int) -> float | None:
    """The true peak in dBTP: the largest magnitude after 4× oversampling; None for silence."""
    return _dbtp(_oversampled_peaks(_frames(samples), rate))


def _dbtp(peaks: np.ndarray) -> float | None:
    """The largest of per-sample true peaks, in dBTP; None for silence."""
    peak = float(np.max(peaks, initial=0.0))
    return float(20 * np.log10(peak)) if peak > 0 else None


def array_reader(samples: np.ndarray) -> Reader:
    """A Reader over a track in memory ([n] or [n, channels]): zeros outside it."""
    data = _frames(samples)

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
    # Where the limiter lowers the gain by more than float32 resolution (sorted sample ranges); elsewhere its
    # gain counts as 1, so a range far from them reads no context. None: anywhere (while measuring).
    spans: tuple[tuple[int, int], ...] | None = None

    def within(self, start: int, end: int) -> tuple[list[tuple[int, int]], int | None]:
        """The parts of [start, end) where this pass acts, and where the first span they lie in starts."""
        if self.spans is None:
            return [(start, end)], None
        hit = [(s, e) for s, e in self.spans if s < end and e > start]
        return [(max(s, start), min(e, end)) for s, e in hit], (hit[0][0] if hit else None)


@dataclass(frozen=True)
class LoudnessPlan:
    """What normalising decided, as numbers: the gain for any range is recomputed locally from the mix there.

    The gain is `gain_db`, then each of `passes` in turn: a limiter pass over the audio at the gain so far
    (held under `ceiling_dbtp`), then its make-up gain. A limiter pass reaches a few ms ahead and, while
    it is recovering, up to RELEASE_TAIL time constants back, so a range's gain depends on the audio
    within `margin` of it, and on none around it where no pass acts near the range.
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
        if not self.passes:
            return np.full(end - start, db_to_gain(self.gain_db), dtype=np.float32)
        return self._applied(read, start, end)[1].astype(np.float32)

    def _applied(self, read: Reader, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The audio over [start, end) ([n, channels], float32), its gain ([n], float64), and where the
        last pass acts there ([n] bool; None where no pass is computed)."""
        if not self.passes:
            return _frames(read(start, end)), np.full(end - start, db_to_gain(self.gain_db)), None
        hold, tail = _hold(self.rate), _tail(self.rate)
        # From the last pass back: where each pass acts in the range the next one needs, and so what it reads.
        need, work = (start, end), []
        for p in reversed(self.passes):
            acts, span_start = p.within(*need)
            if not acts:
                work.append(None)
                continue
            # The release starts afresh where its memory is below resolution: a span's start, or a tail back.
            first = acts[0][0] - tail if span_start is None else max(span_start, acts[0][0] - tail)
            lo, hi = first - hold, acts[-1][1] + hold
            work.append((lo, hi, first, acts))
            need = (min(need[0], lo), max(need[1], hi))
        base = need[0]
        data = _frames(read(*need))
        gain = np.full(data.shape[0], db_to_gain(self.gain_db))
        acting = None
        for p, job in zip(self.passes, reversed(work)):
            if job is not None:
                lo, hi, first, acts = job
                part = slice(lo - base, hi - base)
                peaks = _oversampled_peaks(data[part] * gain[part, None], self.rate)
                limit = _limiter_gain(peaks, self.rate, self.ceiling_dbtp, first - lo)
                mask = np.zeros(hi - lo, dtype=bool)
                for s, e in acts:
                    mask[s - lo:e - lo] = True
                gain[part] *= np.where(mask, limit, 1.0)
                acting = limit[start - lo:end - lo] < 1 - RESOLUTION if p.spans is None else None
            gain *= db_to_gain(p.make_up_db)
        return data[start - base:end - base], gain[start - base:end - base], acting

    def limited(self) -> LoudnessPlan:
        """This plan with one more limiter pass, acting anywhere until a walk finds where."""
        return replace(self, passes=self.passes + (LimiterPass(),))

    def last(self, **changes: object) -> LoudnessPlan:
        """This plan with its last pass changed."""
        return replace(self, passes=self.passes[:-1] + (replace(self.passes[-1], **changes),))


def plan_loudness(read: Reader, length: int, rate: int, target_lufs: float,
                  ceiling_dbtp: float = TRUE_PEAK_DBTP, block: int = PLAN_BLOCK
                  ) -> tuple[LoudnessPlan, LoudnessResult]:
    """Decide the gain that brings a track of `length` samples to `target_lufs` under the ceiling.

    Walks the track in blocks of `block` samples: once to measure it, then once per limiter pass to
    measure the limited result (whose lost loudness is made up, as a gain, without another walk).
    """
    if not MIN_LUFS <= target_lufs <= MAX_LUFS:
        raise UsageError(f"loudness target {target_lufs} LUFS is out of range ({MIN_LUFS:g} to {MAX_LUFS:g})")
    plan, meter, peak = _walk(LoudnessPlan(rate, 0.0, ceiling_dbtp), read, length, block)
    before, before_peak = meter.lufs(), peak
    if before is None:  # silence stays silence
        return plan, LoudnessResult(target_lufs, None, None, before_peak, before_peak, 0.0, False)
    gain_db = _toward(meter, target_lufs)
    plan = replace(plan, gain_db=gain_db)
    after, peak = meter.lufs_at(gain_db), _plus(peak, gain_db)
    limited = False
    for _ in range(PASSES):
        if (peak or -np.inf) <= ceiling_dbtp + 0.01:
            break
        limited = True
        plan, meter, peak = _walk(plan.limited(), read, length, block)
        now = after = meter.lufs()
        if now is not None and abs(now - target_lufs) >= 0.1:
            make_up = _toward(meter, target_lufs)
            plan = plan.last(make_up_db=make_up)
            after, peak = meter.lufs_at(make_up), _plus(peak, make_up)
        if now is None or abs(now - target_lufs) < 0.1:
            break
    if limited and (peak or -np.inf) > ceiling_dbtp + 0.01:
        plan, meter, peak = _walk(plan.limited(), read, length, block)  # the ceiling wins over the last bit of a LU
        after = meter.lufs()
    return plan, LoudnessResult(target_lufs, before, after, before_peak, peak, plan.total_db, limited)


def _toward(meter: LoudnessMeter, target_lufs: float) -> float:
    """The gain (dB) that brings what the meter measured to the target; a second step where the gain moves
    blocks across the absolute gate."""
    gain_db = 0.0
    for _ in range(3):
        now = meter.lufs_at(gain_db)
        if now is None or abs(now - target_lufs) < 0.001:
            break
        gain_db += target_lufs - now
    return gain_db


def _plus(peak: float | None, gain_db: float) -> float | None:
    return None if peak is None else peak + gain_db


def _walk(plan: LoudnessPlan, read: Reader, length: int, block: int
          ) -> tuple[LoudnessPlan, LoudnessMeter, float | None]:
    """Measure the plan's output block by block: its loudness (a meter) and its true peak (dBTP). A last
    pass that may act anywhere comes back with the spans where it does."""
    meter: LoudnessMeter | None = None
    peak = 0.0
    spans: list[tuple[int, int]] = []
    for lo in range(0, length, block):
        hi = min(lo + block, length)
        data, gain, acting = plan._applied(read, lo - PEAK_MARGIN, hi + PEAK_MARGIN)
        out = (data * gain[:, None]).astype(np.float32)  # as the caller will apply it
        inside = slice(PEAK_MARGIN, PEAK_MARGIN + hi - lo)
        peak = max(peak, float(np.max(_oversampled_peaks(out, plan.rate)[inside], initial=0.0)))
        meter = meter or LoudnessMeter(plan.rate, out.shape[1])
        meter.add(out[inside])
        if acting is not None:
            _add_runs(spans, acting[inside], lo)
    if plan.passes and plan.passes[-1].spans is None:
        plan = plan.last(spans=tuple(spans))
    return plan, meter or LoudnessMeter(plan.rate, 1), (float(20 * np.log10(peak)) if peak > 0 else None)


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
    data = _frames(samples).astype(np.float32)
    return (data * gain[:, None]).reshape(np.shape(samples)).astype(np.float32), result


def loudness_gain(samples: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float = TRUE_PEAK_DBTP
                  ) -> tuple[np.ndarray, LoudnessResult]:
    """Return the per-sample gain ([n]) that brings the track to `target_lufs` under the ceiling.

    Normalising is a gain that changes only where the limiter works, so the same curve applied to
    each stem keeps the stems adding up to the normalised mix. The track in memory goes through the
    same plan as one read in blocks, so both give the same gain.
    """
    read, n = array_reader(samples), np.shape(samples)[0]
    plan, result = plan_loudness(read, n, rate, target_lufs, ceiling_dbtp)
    gain = np.empty(n, dtype=np.float32)
    for lo in range(0, n, PLAN_BLOCK):
        gain[lo:lo + PLAN_BLOCK] = plan.gain(read, lo, min(lo + PLAN_BLOCK, n))
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
