"""Mix the dub with the original audio: replace it, or duck it under dubbed speech."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dubber.audio.samples import db_to_gain, fit_length, ms_to_samples
from dubber.errors import UsageError
from dubber.mix.timeline import Timeline

MIX_MODES = ("replace", "duck")
GATE_WINDOW_MS = 10  # the dub's level is read in windows this long
HOLD_MS = 300  # pauses between words shorter than this keep the original down (no pumping)
PEAK_GUARD = 0.98  # the mix is scaled under this so the encoder never clips


@dataclass(frozen=True)
class Ducking:
    """How the original is lowered under dubbed speech, like a side-chained ducker.

    The original is lowered by `depth_db` wherever a take's level is above `threshold_db` (dBFS,
    read in 10 ms windows; None ducks under the whole take), falling over `attack_ms` before the
    speech starts (the dub is known in advance, so the ramp ends as the first word begins) and
    rising over `release_ms` after it ends.
    """

    depth_db: float = 15.0
    threshold_db: float | None = -45.0
    attack_ms: int = 60
    release_ms: int = 250

    def __post_init__(self) -> None:
        if not 0 <= self.depth_db <= 96:
            raise UsageError(f"duck depth {self.depth_db} dB is out of range (0 to 96)")
        if self.threshold_db is not None and not -96 <= self.threshold_db <= 0:
            raise UsageError(f"duck threshold {self.threshold_db} dBFS is out of range (-96 to 0)")
        for name, value in (("attack", self.attack_ms), ("release", self.release_ms)):
            if not 0 <= value <= 10_000:
                raise UsageError(f"duck {name} {value} ms is out of range (0 to 10000)")


@dataclass
class MixedTrack:
    """A whole mixed track in memory and how it was made: for short clips, and the reference that the mix in
    blocks (dubber.mix.blocks.Mixdown, which a dub writes) is checked against."""

    track: np.ndarray  # [n, channels]
    gain: float | np.ndarray  # the gain applied to the summed mix (peak guard; loudness, per sample where limited)
    original_gain: np.ndarray | None  # per-sample gain on the original ([n]); None when it is not in the mix

    def scaled(self, samples: np.ndarray, start: int = 0) -> np.ndarray:
        """Apply the mix's gain to part of the timeline ([k] or [k, channels], from sample `start`)."""
        if np.isscalar(self.gain) or np.ndim(self.gain) == 0:
            return (samples * np.float32(self.gain)).astype(np.float32)
        gain = np.asarray(self.gain)[start:start + samples.shape[0]]
        return (samples * (gain if samples.ndim == 1 else gain[:, None])).astype(np.float32)


def speech_spans(dub: np.ndarray, spans: list[tuple[int, int]], rate: int,
                 threshold_db: float | None) -> list[tuple[int, int]]:
    """Return the parts of the take spans where the dub is louder than `threshold_db`, pauses held."""
    if threshold_db is None:
        return sorted(spans)
    window = max(ms_to_samples(GATE_WINDOW_MS, rate), 1)
    hold = ms_to_samples(HOLD_MS, rate)
    level = db_to_gain(threshold_db)
    found: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        s, e = max(start, 0), min(end, dub.shape[0])
        if e <= s:
            continue
        chunk = dub[s:e].astype(np.float64)
        n = -(-chunk.shape[0] // window)
        padded = np.zeros(n * window)
        padded[:chunk.shape[0]] = chunk
        loud = np.flatnonzero(np.sqrt(np.mean(padded.reshape(n, window) ** 2, axis=1)) > level)
        if loud.size == 0:
            continue
        # Runs of loud windows, joined across pauses shorter than the hold.
        breaks = np.flatnonzero(np.diff(loud) * window > hold)
        firsts = np.concatenate(([loud[0]], loud[breaks + 1]))
        lasts = np.concatenate((loud[breaks], [loud[-1]]))
        found += [(s + int(a) * window, min(s + (int(b) + 1) * window, e)) for a, b in zip(firsts, lasts)]
    return found


def duck_envelope(length: int, spans: list[tuple[int, int]], rate: int, depth_db: float,
                  attack_ms: int, release_ms: int) -> np.ndarray:
    """Return a per-sample gain for the original: `depth_db` under spans, ramping in and out."""
    amount = np.zeros(length, dtype=np.float32)  # 0: untouched, 1: fully ducked
    attack, release = ms_to_samples(attack_ms, rate), ms_to_samples(release_ms, rate)
    for start, end in spans:
        s, e = max(start, 0), min(end, length)
        if e <= s:
            continue
        amount[s:e] = 1.0
        if attack:
            a0 = max(s - attack, 0)
            ramp = np.linspace(0.0, 1.0, attack + 1, dtype=np.float32)[1:][attack - (s - a0):]
            np.maximum(amount[a0:s], ramp, out=amount[a0:s])
        if release:
            r1 = min(e + release, length)
            ramp = np.linspace(1.0, 0.0, release + 1, dtype=np.float32)[:-1][:r1 - e]
            np.maximum(amount[e:r1], ramp, out=amount[e:r1])
    floor = db_to_gain(-abs(depth_db))
    return (1.0 - amount * (1.0 - floor)).astype(np.float32)


def mix(dub: np.ndarray, original: np.ndarray | None, spans: list[tuple[int, int]], rate: int,
        mode: str = "duck", ducking: Ducking | None = None) -> MixedTrack:
    """Mix the dub track [n, channels]: the dub alone, or over the original ducked under its speech."""
    out, envelope = mix_unguarded(dub, original, spans, rate, mode, ducking)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    gain = 1.0
    if peak > PEAK_GUARD:
        gain = PEAK_GUARD / peak  # keep the encoder from clipping; loudness control comes later
        out *= gain
    return MixedTrack(out, gain, envelope)


def mix_unguarded(dub: np.ndarray, original: np.ndarray | None, spans: list[tuple[int, int]], rate: int,
                  mode: str = "duck", ducking: Ducking | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The mix before any gain, and the original's ducking envelope (None when it is not ducked)."""
    if mode not in MIX_MODES:
        raise UsageError(f"unknown mix mode {mode!r}; choose one of {', '.join(MIX_MODES)}")
    ducking = ducking or Ducking()
    channels = 1 if original is None else min(max(original.shape[1], 1), 2)
    out = np.repeat(dub.reshape(-1, 1), channels, axis=1).astype(np.float32)
    envelope = None
    if mode == "duck" and original is not None:
        orig = original[:, :channels]
        n = min(orig.shape[0], out.shape[0])
        envelope = duck_envelope(out.shape[0], speech_spans(dub, spans, rate, ducking.threshold_db), rate,
                                 ducking.depth_db, ducking.attack_ms, ducking.release_ms)
        out[:n] += orig[:n] * envelope[:n, None]
    return out, envelope


def mix_range(timeline: Timeline, original: np.ndarray | None, start: int, end: int, mode: str,
              ducking: Ducking | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The mix of samples [start, end) before any gain, computed alone exactly as `mix` makes it over the whole
    timeline, with the stem there and the original's ducking envelope (None when it is not ducked).

    The ducking is exact: the takes whose speech can move the original's level inside the range are
    rendered whole, so their speech is gated as in the whole mix. `original` is only sliced.
    """
    ducking = ducking or Ducking()
    start, end = max(0, start), max(start, min(end, timeline.length))
    reach = ms_to_samples(max(ducking.attack_ms, ducking.release_ms) + HOLD_MS + GATE_WINDOW_MS, timeline.sample_rate)
    near = [(s, e) for s, e in timeline.spans() if e > start - reach and s < end + reach]
    lo = min([start, *(s for s, _ in near)])
    hi = max([end, *(e for _, e in near)])
    stem = timeline.render(lo, hi)
    # The original may end first: silence after it.
    region = fit_length(original[lo:hi], stem.shape[0]) if original is not None else None
    spans = [(s - lo, e - lo) for s, e in near]
    out, envelope = mix_unguarded(stem, region, spans, timeline.sample_rate, mode, ducking)
    cut = slice(start - lo, end - lo)
    return out[cut], stem[cut], envelope[cut] if envelope is not None else None

