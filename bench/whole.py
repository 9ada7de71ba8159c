"""Whole dubs (issue #22): a 100-line English video (Piper) and a 100-line Japanese one (Kokoro), against
the sum of their lines' natural renders on one core, with 1 and 2 workers.

Per language, in one run:

1. Natural: each line rendered once at the engine's own pace by a fresh engine with 1 intra-op thread
   (its model loaded before timing); the sum of those seconds is the least the dub's speech can cost
   on one core.
2. A video is made of them: each natural take, time-stretched by 0.8-1.25 (a translation is seldom as
   long as the original), stands in for the original speech at 48 kHz over quiet noise; each cue is a
   subtitle's display window around it (opening 100-400 ms early, held 300-1,000 ms after), the next
   one 300-1,500 ms later. The picture is a tiny test pattern.
3. `dub()` of that video (decode, detect speech, render, mix, mux: the whole call, engine load
   included) in a fresh process, with --workers 1 and then 2 (each on its own project: nothing resumed).

It prints the seconds, whole ÷ natural-sum for each worker count (the issue's target: ≤ 1.3) and the
2-worker speed-up over 1, with the load average beside them: the wall times are only as quiet as the
machine. The CPU seconds (every thread of the process) beside them change less with the machine's load:
whole CPU ÷ natural CPU says how much work the dub adds to the natural renders, and the seconds spent
rendering the lines (`fit_cues`) say how much of the wall time the workers can share; the stages' wall
seconds (decoding, the language check, the speech search, the lines, measuring the mix, writing the tracks,
the mux) say where the rest goes.

    .venv/bin/python bench/whole.py [--langs en,ja] [--lines 100] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.duration import ENGLISH, JAPANESE  # noqa: E402

RATE = 48000
SETS = {"en": ("piper", ENGLISH), "ja": ("kokoro", JAPANESE)}
TARGET = 1.3


def new_engine(name: str, threads: int):  # noqa: ANN201
    """A fresh engine with its own sessions (not the registry's shared one)."""
    if name == "piper":
        from dubber.models.piper import PiperEngine

        return PiperEngine(threads=threads)
    from dubber.models.kokoro import KokoroEngine

    return KokoroEngine(threads=threads)


def natural_renders(name: str, lang: str, texts: list[str]) -> tuple[float, float, list[tuple[np.ndarray, int]]]:
    """Render each text once at its natural pace on 1 intra-op thread; the wall and CPU seconds summed, and
    the takes."""
    from dubber.plugin.engine import SynthesisRequest

    engine = new_engine(name, 1)
    engine.synthesize(SynthesisRequest(texts[0], lang))  # loads the model: not counted
    total, cpu, takes = 0.0, 0.0, []
    for text in texts:
        started, used = time.perf_counter(), time.process_time()
        take = engine.synthesize(SynthesisRequest(text, lang))
        total += time.perf_counter() - started
        cpu += time.process_time() - used
        takes.append((take.samples, take.sample_rate))
    return total, cpu, takes


def make_media(folder: Path, texts: list[str], takes: list[tuple[np.ndarray, int]], seed: int) -> tuple[Path, Path]:
    """The video whose original speech is the stretched natural takes, and its subtitles (see the docstring)."""
    from dubber.audio import media
    from dubber.audio.samples import resample, time_stretch
    from dubber.audio.speech import speech_span
    from dubber.subtitles.load import save_srt

    rng = random.Random(seed)
    placed, rows, t = [], [], 1000
    for text, (samples, rate) in zip(texts, takes):
        span = speech_span(samples, rate)
        speech = samples[span.start:span.end] if span is not None else samples
        speech = resample(speech, rate, RATE)
        speech = time_stretch(speech, int(speech.size * rng.uniform(0.8, 1.25)))
        start = t + rng.randint(100, 400)
        end = start + speech.size * 1000 // RATE
        placed.append((start, speech))
        rows.append((t, end + rng.randint(300, 1000), text))
        t = rows[-1][1] + rng.randint(300, 1500)
    total_ms = t + 1000
    noise = np.random.default_rng(seed).standard_normal(total_ms * RATE // 1000).astype(np.float32) * 0.002
    for start, speech in placed:
        at = start * RATE // 1000
        noise[at:at + speech.size] += 0.5 * speech
    video = media.make_test_video(folder / "video.mp4", total_ms, np.stack([noise, noise], axis=1), RATE,
                                  size="64x36", fps=1)
    subs = folder / "video.srt"
    save_srt(subs, rows)
    return video, subs


# Where a dub's wall time goes: (module, function) pairs timed in the child, named as printed.
STAGES = (("dubber.pipeline.dub", "decode_to_disk", "decode"),
          ("dubber.pipeline.spoken_cues", "mark_foreign", "language"),
          ("dubber.pipeline.spoken_cues", "find_speech", "speech search"),
          ("dubber.pipeline.dub", "fit_cues", "lines"),
          ("dubber.pipeline.dub", "measure_mix", "mix measure"),
          ("dubber.pipeline.dub", "write_blocks", "tracks"),
          ("dubber.audio.media", "mux", "mux"))


def child(video: str, subs: str, out: str, lang: str, engine: str, workers: int) -> None:
    """One whole dub in this process; print its wall and CPU seconds (the whole, and rendering the lines
    alone: `fit_cues`), the wall seconds of each of STAGES and the lines' statuses as JSON."""
    import importlib
    from collections import Counter

    from dubber.pipeline import dub as pipeline

    spent: dict[str, float] = {}
    stages: dict[str, float] = {}

    def timed(function, name, cpu=False):  # noqa: ANN001, ANN202
        def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started, used = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - started
                if cpu:
                    spent.update(render=time.perf_counter() - started, render_cpu=time.process_time() - used)
        return run

    for module, attr, name in STAGES:
        owner = importlib.import_module(module)
        setattr(owner, attr, timed(getattr(owner, attr), name, cpu=attr == "fit_cues"))
    started, used = time.perf_counter(), time.process_time()
    result = pipeline.dub(video, subs, out, pipeline.DubOptions(lang=lang, engine=engine, workers=workers),
                          overwrite=True)
    spent.update(wall=time.perf_counter() - started, cpu=time.process_time() - used)
    failed = [f"{line.index}: {line.reason}" for line in result.lines if line.status == "failed"]
    print(json.dumps({**spent, "stages": stages, "statuses": Counter(line.status for line in result.lines),
                      "failed": failed}))


def whole(video: Path, subs: Path, folder: Path, lang: str, engine: str, workers: int) -> dict:
    out = folder / f"w{workers}" / "dub.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, __file__, "--child", str(video), str(subs), str(out), lang, engine,
                           str(workers)], capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"the dub with {workers} workers failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--langs", default="en,ja")
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, subs, out, lang, engine, workers = args.child
        child(video, subs, out, lang, engine, int(workers))
        return
    counts = [int(n) for n in args.workers.split(",")]
    for lang in args.langs.split(","):
        engine, pool = SETS[lang]
        texts = (pool * (args.lines // len(pool) + 1))[:args.lines]
        natural, natural_cpu, takes = natural_renders(engine, lang, texts)
        print(f"{lang} ({engine}), {len(texts)} lines: natural renders on 1 thread, summed: {natural:.1f} s "
              f"wall, {natural_cpu:.1f} s CPU (load {load()})", flush=True)
        with tempfile.TemporaryDirectory(prefix="dubber-whole-") as tmp:
            video, subs = make_media(Path(tmp), texts, takes, seed=len(texts))
            walls = {}
            for workers in counts:
                result = whole(video, subs, Path(tmp), lang, engine, workers)
                walls[workers] = result["wall"]
                print(f"  whole dub, {workers} worker(s): {result['wall']:.1f} s = {result['wall'] / natural:.2f}x "
                      f"the natural sum (target {TARGET}x); rendering the lines {result['render']:.1f} s of it; "
                      f"CPU {result['cpu']:.1f} s = {result['cpu'] / natural_cpu:.2f}x the natural sum's "
                      f"(rendering {result['render_cpu']:.1f} s); lines {dict(result['statuses'])} (load {load()})",
                      flush=True)
                shares = ", ".join(f"{name} {secs:.1f}" for name, secs in result["stages"].items())
                print(f"    stages (wall s): {shares}", flush=True)
                for reason in result["failed"]:
                    print(f"    failed {reason}", flush=True)
            if 1 in walls and 2 in walls:
                print(f"  2 workers over 1: {walls[1] / walls[2]:.2f}x faster", flush=True)


if __name__ == "__main__":
    main()
