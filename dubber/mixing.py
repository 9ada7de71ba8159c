"""Mix the dub with the original audio: replace it, or duck it under dubbed speech."""

from __future__ import annotations

import numpy as np

from dubber.audio import db_to_gain, ms_to_samples
from dubber.errors import UsageError

MIX_MODES = ("replace", "duck")


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
        mode: str = "duck", depth_db: float = 15.0, attack_ms: int = 60, release_ms: int = 250) -> np.ndarray:
    """Return the dub track [n, channels]: the dub alone, or over the ducked original."""
    if mode not in MIX_MODES:
        raise UsageError(f"unknown mix mode {mode!r}; choose one of {', '.join(MIX_MODES)}")
    channels = 1 if original is None else min(max(original.shape[1], 1), 2)
    out = np.repeat(dub.reshape(-1, 1), channels, axis=1).astype(np.float32)
    if mode == "duck" and original is not None:
        orig = original[:, :channels]
        n = min(orig.shape[0], out.shape[0])
        gain = duck_envelope(out.shape[0], spans, rate, depth_db, attack_ms, release_ms)
        out[:n] += orig[:n] * gain[:n, None]
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 0.98:
        out *= 0.98 / peak  # keep the encoder from clipping; loudness control comes later
    return out
