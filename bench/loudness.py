"""Loudness in blocks: plan a long track's loudness through a reader and apply it block by block.

The track is a generated 61 s programme repeated (speech-like bursts over a bed, a loud stretch and a
click for the limiter), so only the programme sits in memory, whatever the length. For each length
it prints the time to plan (measure, then measure again around the limiter) and to compute the gain
of 10 s blocks, the process's peak resident memory (each row runs in a fresh process), the limiter passes and
the seconds they act on, and the result measured on the applied blocks. The last row normalises the
shortest track as one array in memory (`loudness_gain`), the same plan, for the ratio.

    .venv/bin/python bench/loudness.py [--minutes 5,20] [--target -16] [--channels 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 48000


def synthetic(seconds: int, channels: int):
    """A Reader over a generated track of `seconds`: a 61 s programme made once and repeated, so reading
    costs a copy and memory holds only the programme, whatever the length."""
    rng = np.random.default_rng(5)
    t = np.arange(61 * RATE) / RATE
    loop = 0.12 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 3.1 * t) > 0) * (np.sin(2 * np.pi * 0.23 * t) > -0.4)
    loop += 0.01 * rng.standard_normal(t.size)
    loop[30 * RATE:32 * RATE] *= 4.0  # a shout, or music: the limiter holds it
    loop[45 * RATE:45 * RATE + 80] = 0.98  # a click
    loop = np.stack([loop * (1 - 0.2 * c) for c in range(channels)], axis=1).astype(np.float32)

    def read(start: int, end: int) -> np.ndarray:
        out = np.zeros((end - start, channels), dtype=np.float32)
        pos = max(start, 0)
        while pos < min(end, seconds * RATE):
            at = pos % loop.shape[0]
            take = min(loop.shape[0] - at, min(end, seconds * RATE) - pos)
            out[pos - start:pos - start + take] = loop[at:at + take]
            pos += take
        return out

    return read


def streamed(minutes: int, channels: int, target: float) -> dict:
    from dubber.audio.loudness import (
        PEAK_MARGIN,
        LoudnessMeter,
        _oversampled_peaks,
        plan_loudness,
    )

    n, read = minutes * 60 * RATE, synthetic(minutes * 60, channels)
    t0 = time.perf_counter()
    plan, result = plan_loudness(read, n, RATE, target)
    t1 = time.perf_counter()
    meter, peak, block, applying = LoudnessMeter(RATE, channels), 0.0, 10 * RATE, 0.0
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        t = time.perf_counter()
        gain = plan.gain(read, lo - PEAK_MARGIN, hi + PEAK_MARGIN)
        applying += time.perf_counter() - t
        out = read(lo - PEAK_MARGIN, hi + PEAK_MARGIN) * gain[:, None]
        meter.add(out[PEAK_MARGIN:PEAK_MARGIN + hi - lo])  # the check: the applied blocks measured
        peak = max(peak, float(_oversampled_peaks(out, RATE)[PEAK_MARGIN:PEAK_MARGIN + hi - lo].max()))
    acting = sum(e - s for p in plan.passes for s, e in p.spans) / RATE
    return {"minutes": minutes, "plan_s": t1 - t0, "apply_s": applying,
            "passes": len(plan.passes), "acting_s": acting, "lufs": meter.lufs(), "dbtp": 20 * np.log10(peak),
            "before": result.before_lufs}


def in_memory(minutes: int, channels: int, target: float) -> dict:
    from dubber.audio.loudness import integrated_lufs, loudness_gain, true_peak_dbtp

    n, read = minutes * 60 * RATE, synthetic(minutes * 60, channels)
    track = read(0, n)
    t0 = time.perf_counter()
    gain, result = loudness_gain(track, RATE, target)
    out = track * gain[:, None]
    t1 = time.perf_counter()
    return {"minutes": minutes, "plan_s": t1 - t0, "apply_s": 0.0,
            "passes": None, "acting_s": None, "lufs": integrated_lufs(out, RATE), "dbtp": true_peak_dbtp(out, RATE),
            "before": result.before_lufs}


def row(how: str, minutes: int, channels: int, target: float) -> dict:
    """One row, in a fresh process: its peak resident memory is its own."""
    done = subprocess.run([sys.executable, __file__, "--row", how, "--minutes", str(minutes), "--channels",
                           str(channels), "--target", str(target)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", default="5,20")
    parser.add_argument("--target", type=float, default=-16.0)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--row", choices=("streamed", "in memory"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        measure = streamed if args.row == "streamed" else in_memory
        streamed(1, args.channels, args.target)  # imports and filter designs, outside the timing
        result = measure(int(args.minutes), args.channels, args.target)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    lengths = [int(m) for m in args.minutes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}; target {args.target} LUFS, {args.channels} channels, 48 kHz")
    print(f"{'how':>9} {'min':>4} {'plan s':>7} {'gain s':>7} {'peak MB':>8} {'passes':>6} {'acting s':>8} "
          f"{'LUFS':>7} {'dBTP':>6}")
    rows = [("streamed", row("streamed", m, args.channels, args.target)) for m in lengths]
    rows.append(("in memory", row("in memory", lengths[0], args.channels, args.target)))
    for how, r in rows:
        print(f"{how:>9} {r['minutes']:>4} {r['plan_s']:>7.1f} {r['apply_s']:>7.1f} {r['peak_mb']:>8.0f} "
              f"{'' if r['passes'] is None else r['passes']:>6} "
              f"{'' if r['acting_s'] is None else round(r['acting_s']):>8} {r['lufs']:>7.2f} {r['dbtp']:>6.2f}")
    first, last, memory = rows[0][1], rows[-2][1], rows[-1][1]
    print(f"streamed peak memory {last['minutes']} min / {first['minutes']} min: "
          f"{last['peak_mb'] / first['peak_mb']:.2f}; streamed / in memory at {first['minutes']} min: "
          f"memory {first['peak_mb'] / memory['peak_mb']:.2f}, "
          f"time (plan and gain) {(first['plan_s'] + first['apply_s']) / memory['plan_s']:.2f}")


if __name__ == "__main__":
    main()
