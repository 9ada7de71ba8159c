"""How to use both cores (issue #22): threads sharing one engine, or processes with an engine each.

For each built-in engine, the same list of lines is rendered (natural takes, one per line) in one run by:

    (a) one thread, the engine's default intra-op threads;
    (a1) one thread, 1 intra-op thread (the sum of natural renders on one core, for reference);
    (b1) 2 threads sharing one engine with 1 intra-op thread; (b2) the same with 2 intra-op threads;
    (c) 2 processes (spawned), each loading its own engine with 1 intra-op thread.

Every variant starts from a fresh engine, so loading the model counts (and, for processes, starting
Python and importing dubber). It prints the wall seconds of each, its speed-up over (a), and the CPU
seconds it used (every thread, and the worker processes): on a machine others are loading, the wall times
follow their load, while the CPU seconds show what each variant costs in work.

    .venv/bin/python bench/workers.py [--engines piper,kokoro] [--lines 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.duration import ENGLISH, JAPANESE  # noqa: E402
from dubber.plugin.engine import Engine, SynthesisRequest  # noqa: E402

LANG = {"piper": ("en", ENGLISH), "kokoro": ("ja", JAPANESE)}

_engine: Engine | None = None  # a process worker's own engine


def new_engine(name: str, threads: int | None) -> Engine:
    """A fresh engine (not the registry's shared one), so each variant pays for loading its model."""
    if name == "piper":
        from dubber.models.piper import PiperEngine

        return PiperEngine(threads=threads)
    from dubber.models.kokoro import KokoroEngine

    return KokoroEngine(threads=threads)


def render(engine: Engine, lang: str, text: str) -> int:
    """One natural take of `text`; its length in samples (so the work cannot be skipped)."""
    return engine.synthesize(SynthesisRequest(text, lang, None, seed=0)).n_samples


def _start_worker(name: str) -> None:
    global _engine
    _engine = new_engine(name, 1)


def _render_in_worker(lang: str, text: str) -> int:
    assert _engine is not None
    return render(_engine, lang, text)


def sequential(name: str, lang: str, lines: list[str], threads: int | None) -> float:
    started = time.perf_counter()
    engine = new_engine(name, threads)
    for text in lines:
        render(engine, lang, text)
    return time.perf_counter() - started


def threaded(name: str, lang: str, lines: list[str], threads: int) -> float:
    started = time.perf_counter()
    engine = new_engine(name, threads)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda text: render(engine, lang, text), lines))
    return time.perf_counter() - started


def processes(name: str, lang: str, lines: list[str]) -> float:
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context, initializer=_start_worker, initargs=(name,)) as pool:
        list(pool.map(_render_in_worker, [lang] * len(lines), lines))
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """CPU seconds used so far by this process's threads and its ended worker processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="piper,kokoro")
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    for name in args.engines.split(","):
        lang, texts = LANG[name]
        lines = (texts * (args.lines // len(texts) + 1))[:args.lines]
        new_engine(name, 1).synthesize(SynthesisRequest("Warm.", "en") if lang == "en"
                                       else SynthesisRequest("はい。", lang))  # caches, imports: not timed
        variants: list[tuple[str, Callable[[], float]]] = [
            ("(a) sequential, default intra-op", lambda: sequential(name, lang, lines, None)),
            ("(a1) sequential, intra-op 1", lambda: sequential(name, lang, lines, 1)),
            ("(b1) 2 threads, one engine, intra-op 1", lambda: threaded(name, lang, lines, 1)),
            ("(b2) 2 threads, one engine, intra-op 2", lambda: threaded(name, lang, lines, 2)),
            ("(c) 2 processes, own engine, intra-op 1", lambda: processes(name, lang, lines)),
        ]
        print(f"{name} ({lang}), {len(lines)} lines, wall seconds with the engine's load:")
        base = None
        for label, run in variants:
            used = cpu_seconds()
            secs = run()
            base = base or secs
            print(f"  {label:<44} {secs:7.2f} s   speed-up over (a) {base / secs:5.2f}x   "
                  f"CPU {cpu_seconds() - used:7.2f} s   (load {' '.join(f'{x:.1f}' for x in os.getloadavg())})",
                  flush=True)


if __name__ == "__main__":
    main()
