"""A batch (issue #24) on this machine with 1 and 2 line workers, and on a 2-node Ray cluster on it.

Two generated videos of N English lines each (a quiet tone under sentences from bench/duration.py) are
dubbed by Piper as one batch, three ways, side by side in one run: (a) locally, one line at a time;
(b) locally, 2 lines at once sharing the engine; (c) `RayExecutor` on a `ray.cluster_utils.Cluster` of two
nodes with one CPU each (an actor per node, each loading Piper once). Each run starts from empty output
folders; (c) counts starting its actors and loading their models, not starting the cluster. It prints the
wall seconds, the speed-ups over (a), and whether every stem is identical, sample for sample, to (a)'s.

    .venv/bin/python bench/batch.py [--lines 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.duration import ENGLISH  # noqa: E402
from dubber.audio import media  # noqa: E402
from dubber.pipeline.batch import BatchVideo, run_batch  # noqa: E402
from dubber.pipeline.dub import DubOptions  # noqa: E402
from dubber.subtitles.load import save_srt  # noqa: E402

RATE = 48000


def make_video(folder: Path, name: str, lines: list[str]) -> tuple[Path, Path]:
    """A small video with a quiet tone and an SRT giving each line a 3.5 s window."""
    rows = [(500 + 4000 * i, 4000 + 4000 * i, text) for i, text in enumerate(lines)]
    subs = folder / f"{name}.srt"
    save_srt(subs, rows)
    length = 4000 * len(lines) + 1000
    tone = (0.03 * np.sin(2 * np.pi * 110 * np.arange(length * RATE // 1000) / RATE)).astype(np.float32)
    return media.make_test_video(folder / f"{name}.mp4", length, tone, RATE, size="64x36", fps=5), subs


def videos(pair: list[tuple[Path, Path]], out: Path, workers: int) -> list[BatchVideo]:
    return [BatchVideo(video.stem, "en", video, subs, out / f"{video.stem}.mkv",
                       DubOptions(lang="en", engine="piper", mix="duck", workers=workers),
                       stem=out / f"{video.stem}.wav") for video, subs in pair]


def timed(label: str, run) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = run()
    wall = time.perf_counter() - started
    total = result.total()
    print(f"{label:34} {wall:7.1f} s   {total['lines']} lines, {total['ok']} in sync, {total['failed']} failed",
          flush=True)
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=10, help="lines per video (10)")
    args = parser.parse_args()
    texts = (ENGLISH * (2 * args.lines // len(ENGLISH) + 1))[:2 * args.lines]
    with tempfile.TemporaryDirectory(prefix="dubber-bench-batch-") as tmp:
        root = Path(tmp)
        pair = [make_video(root, f"v{i}", texts[i * args.lines:(i + 1) * args.lines]) for i in range(2)]
        walls = {"a": timed("(a) local, 1 worker", lambda: run_batch(videos(pair, root / "a", 1)))}
        walls["b"] = timed("(b) local, 2 workers", lambda: run_batch(videos(pair, root / "b", 2)))
        import ray
        from ray.cluster_utils import Cluster

        from dubber.pipeline.ray_executor import RayExecutor

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            walls["c"] = timed("(c) Ray, 2 nodes x 1 CPU", lambda: run_batch(videos(pair, root / "c", 1),
                                                                              RayExecutor()))
        finally:
            ray.shutdown()
            cluster.shutdown()
        print(f"speed-up over (a): (b) x{walls['a'] / walls['b']:.2f}, (c) x{walls['a'] / walls['c']:.2f}")
        for run in ("b", "c"):
            equal = all(np.array_equal(media.read_wav(root / run / f"v{i}.wav")[0],
                                       media.read_wav(root / "a" / f"v{i}.wav")[0]) for i in range(2))
            print(f"({run}) stems identical to (a): {equal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
