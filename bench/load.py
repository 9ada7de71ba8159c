"""Load: dub a long video with 100, 500 and 1,500 cues and report peak memory and time per line.

Each dub runs in a fresh process, so its peak resident memory (the kernel's high-water mark, read
when it ends) is its own. The video is the same for every count (two hours by default, a tiny
picture with a quiet stereo tone), so what changes between rows is only the number of cues: memory
that grows with the cue count, beyond the decoded take cache, would show as a rising last column.

    .venv/bin/python bench/load.py [--minutes 120] [--counts 100,500,1500] [--engine piper|frametone] [--keep DIR]

--keep DIR keeps the generated video there and reuses it on the next run (making it takes minutes).

`--engine frametone` uses the test suite's synthetic, natively duration-controlled engine
(tests/conftest.py): much faster, so the fixed costs (decoding, mixing, muxing) dominate.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 48000
WORDS = ("harbour lantern tide morning rope gull sail north bell stone anchor mist river field window "
         "station evening winter bridge garden").split()


def make_video(path: Path, minutes: int) -> Path:
    """A long, tiny video: 1 fps 64x36 test pattern over a quiet stereo tone."""
    from dubber import media

    n = minutes * 60 * RATE
    t = np.arange(n, dtype=np.float64) / RATE
    tone = (0.03 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    return media.make_test_video(path, minutes * 60_000, np.stack([tone, 0.8 * tone], axis=1), RATE,
                                 size="64x36", fps=1)


def make_subtitles(path: Path, count: int, minutes: int) -> None:
    """`count` cues of 2-5 words spread evenly over the video, each slot 1.0-2.6 s."""
    from dubber.subtitles import save_srt

    rng = random.Random(count)
    step = minutes * 60_000 // count
    rows = []
    for i in range(count):
        words = rng.randint(2, 5)
        slot = min(step - 200, 450 * words + rng.randint(-100, 300))
        start = i * step + 100
        rows.append((start, start + slot, " ".join(rng.choice(WORDS) for _ in range(words)) + "."))
    save_srt(path, rows)


def child(video: str, subs: str, out: str, engine_name: str) -> None:
    """Run one dub here and print its measurements as JSON (the parent reads the last line)."""
    from dubber.pipeline import DubOptions, dub
    from dubber.plugin import registry

    if engine_name == "frametone":
        from tests.conftest import FrameToneEngine

        engine = FrameToneEngine()
        real = registry.get_engine
        registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    started = time.monotonic()
    result = dub(video, subs, out, DubOptions(lang="en", engine=engine_name, mix="duck"))
    wall = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"lines": len(result.lines), "ok": result.summary["by_status"].get("ok", 0),
                      "wall_s": round(wall, 1), "peak_mb": round(peak_kb / 1024)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=120)
    parser.add_argument("--counts", default="100,500,1500")
    parser.add_argument("--engine", default="piper", choices=("piper", "frametone"))
    parser.add_argument("--keep", metavar="DIR", help="make (or reuse) the video in DIR")
    parser.add_argument("--child", nargs=3, metavar=("VIDEO", "SUBS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.engine)
        return 0

    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory(prefix="dubber-load-") as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        video = Path(args.keep or tmp) / f"long{args.minutes}.mp4"
        if not video.exists():
            video.parent.mkdir(parents=True, exist_ok=True)
            make_video(video, args.minutes)
        print(f"video: {args.minutes} min, ready in {time.monotonic() - started:.0f} s; engine {args.engine}")
        rows = []
        for count in counts:
            subs = folder / f"cues{count}.srt"
            make_subtitles(subs, count, args.minutes)
            out = folder / f"out{count}" / "dub.mkv"
            done = subprocess.run([sys.executable, __file__, "--engine", args.engine, "--child", str(video),
                                   str(subs), str(out)], capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((count, row))
            print(f"  {count} cues: {row['ok']}/{row['lines']} ok, {row['wall_s']} s, "
                  f"peak {row['peak_mb']} MB", flush=True)
    base = rows[0][1]["peak_mb"]
    print(f"\n{'cues':>6} {'wall s':>8} {'s/line':>8} {'peak MB':>8} {'vs first':>9}")
    for count, row in rows:
        print(f"{count:>6} {row['wall_s']:>8} {row['wall_s'] / count:>8.3f} {row['peak_mb']:>8} "
              f"{row['peak_mb'] / base:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
