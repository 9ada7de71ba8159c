"""Panel: peak memory and the original lane's build time on a 30-minute and a 2-hour project, the original on disk.

The original track is made directly as the raw float32 file a DiskAudio reads (48 kHz stereo, a quiet tone
with a louder burst under every cue, written in 10 s blocks), so no long video is needed: the project's
video is the short sample, and the session's original is that file (the timeline runs to its end). Each
length runs in a fresh process, which opens the panel offscreen, shows the session (its `--cues` lines
spread over the track), waits for the waveform pyramid built on its thread (shown s: from showing the session
until the lane has it; before that the pyramid is built once alone on the main thread and let go: pyramid s),
and draws the whole track as a waveform and as a spectrogram, then a zoomed-in view (the first draw of each).
It prints the process's peak resident memory (the kernel's high-water mark) beside the level of the empty
window before the session was shown, and the build and drawing times.

    .venv/bin/python bench/panel_memory.py [--minutes 30,120] [--cues 1500] [--array] [--keep DIR]

--array also runs the shortest length with the original as an in-memory array (the panel as it was before
DiskAudio): the same drawing, for the ratio of the two peaks and build times measured in one run.
--keep DIR keeps the generated tracks there for the next run (2 h is 2.8 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 48_000
CHANNELS = 2
BLOCK_S = 10


def cue_spans(minutes: int, count: int) -> list[tuple[int, int]]:
    """`count` cues (ms) spread evenly over the track, each 1.2-2.6 s."""
    step = minutes * 60_000 // count
    return [(i * step + 300, i * step + 300 + min(1200 + (i * 337) % 1400, step - 400)) for i in range(count)]


def make_track(path: Path, minutes: int, count: int) -> Path:
    """The raw float32 [n, 2] track, written block by block: a 110 Hz tone, louder noise under each cue."""
    if path.exists() and path.stat().st_size == minutes * 60 * RATE * CHANNELS * 4:
        return path
    print(f"writing a {minutes}-minute track ({minutes * 60 * RATE * CHANNELS * 4 / 1e9:.1f} GB) …", flush=True)
    spans = np.array([(a * RATE // 1000, b * RATE // 1000) for a, b in cue_spans(minutes, count)], np.int64)
    rng = np.random.default_rng(22)
    with open(path, "wb") as out:
        for lo in range(0, minutes * 60 * RATE, BLOCK_S * RATE):
            index = lo + np.arange(BLOCK_S * RATE, dtype=np.int64)
            tone = 0.03 * np.sin(2 * np.pi * 110 * index / RATE)
            at = np.searchsorted(spans[:, 0], index, side="right") - 1
            loud = (at >= 0) & (index < spans[np.maximum(at, 0), 1])
            mono = (tone + loud * 0.3 * rng.standard_normal(index.size)).astype(np.float32)
            np.stack([mono, 0.8 * mono], axis=1).astype("<f4").tofile(out)
    return path


def rss_mb() -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def child(track: Path, minutes: int, count: int, in_memory: bool, folder: Path) -> dict[str, float]:
    """Open the panel on the long session in this process and measure it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dubber.audio.source import DiskAudio
    from dubber.pipeline.session import Session
    from dubber.project.store import LineEntry, Project, save_project
    from dubber.ui.app import application
    from dubber.ui.main_window import MainWindow
    from dubber.ui.peaks import Peaks

    video = folder / "demo.mp4"
    shutil.copy(ROOT / "samples" / "demo.mp4", video)
    lines = [LineEntry(i + 1, a, b, f"Line {i + 1} of the long project.", "", target_start_ms=a + 100,
                       target_end_ms=b - 100) for i, (a, b) in enumerate(cue_spans(minutes, count))]
    path = folder / "long.dubber.json"
    save_project(Project(str(video), str(folder / "long.srt"), "en", lines=lines, sync="speech"), path)
    session = Session(Project(str(video), str(folder / "long.srt"), "en", lines=lines, sync="speech"), path)

    app = application()
    win = MainWindow()
    win.resize(1600, 900)
    win.show()
    app.processEvents()
    empty_mb = rss_mb()
    disk = DiskAudio(track, CHANNELS, RATE)
    session.__dict__["original"] = np.fromfile(track, "<f4").reshape(-1, CHANNELS) if in_memory else disk
    begun = time.perf_counter()
    alone = Peaks(session.original, RATE)  # the pyramid alone, on this thread, let go before the panel builds its own
    pyramid_s = time.perf_counter() - begun
    del alone
    started = time.perf_counter()
    win.set_session(session)
    while win.strip.original() is None:
        app.processEvents()
        time.sleep(0.005)
    built = time.perf_counter() - started
    peaks = win.strip.original()

    def drawn(window: tuple[int, int], spectrogram: bool) -> float:
        win.strip.set_spectrogram(spectrogram)
        win.strip.set_window(*window)
        begun = time.perf_counter()
        win.strip.repaint()
        QApplication.processEvents()
        return time.perf_counter() - begun

    whole = (0, session.duration_ms)
    zoom = (session.duration_ms // 2, session.duration_ms // 2 + 200)  # past a sample a column: read from the track
    times = {"wave_whole_s": drawn(whole, False), "wave_zoom_s": drawn(zoom, False),
             "spectrum_whole_s": drawn(whole, True), "spectrum_zoom_s": drawn(zoom, True)}
    return {"minutes": minutes, "in_memory": in_memory, "frames": disk.frames, "empty_mb": empty_mb,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "build_s": built,
            "pyramid_s": pyramid_s, "pyramid_mb": peaks.nbytes / 1e6, **times}


def run(track: Path, minutes: int, count: int, in_memory: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="dubber-panel-memory-") as folder:
        command = [sys.executable, __file__, "--child", str(track), "--minutes", str(minutes), "--cues", str(count),
                   "--folder", folder] + (["--array"] if in_memory else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {minutes}-minute run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", default="30,120")
    parser.add_argument("--cues", type=int, default=1500)
    parser.add_argument("--array", action="store_true")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, int(args.minutes), args.cues, args.array, args.folder)))
        return

    lengths = [int(m) for m in args.minutes.split(",")]
    keep = args.keep or Path(tempfile.mkdtemp(prefix="dubber-tracks-"))
    keep.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for minutes in lengths:
            track = make_track(keep / f"track-{minutes}min-{args.cues}.f32", minutes, args.cues)
            rows.append(run(track, minutes, args.cues, False))
            if args.array and minutes == lengths[0]:
                rows.append(run(track, minutes, args.cues, True))
    finally:
        if args.keep is None:
            shutil.rmtree(keep, ignore_errors=True)

    columns = [("peak MB", "peak_mb", 1, 0), ("empty MB", "empty_mb", 1, 0), ("growth MB", "growth_mb", 1, 0),
               ("pyramid MB", "pyramid_mb", 1, 1), ("shown s", "build_s", 1, 2), ("pyramid s", "pyramid_s", 1, 2),
               ("wave all ms", "wave_whole_s", 1000, 0), ("wave zoom ms", "wave_zoom_s", 1000, 0),
               ("spec all ms", "spectrum_whole_s", 1000, 0), ("spec zoom ms", "spectrum_zoom_s", 1000, 0)]
    print("\n" + f"{'original':<16}" + "".join(f"{title:>13}" for title, *_ in columns))
    for row in rows:
        row["growth_mb"] = row["peak_mb"] - row["empty_mb"]
        name = f"{row['minutes']} min {'array' if row['in_memory'] else 'disk'}"
        print(f"{name:<16}" + "".join(f"{row[key] * scale:>13.{places}f}" for _, key, scale, places in columns))
    disk = [r for r in rows if not r["in_memory"]]
    if len(disk) > 1:
        a, b = disk[0], disk[-1]
        print(f"\n{b['minutes']} min against {a['minutes']} min on disk (the track {b['frames'] / a['frames']:.1f}x): "
              f"peak {b['peak_mb'] / a['peak_mb']:.2f}x, growth over the empty window "
              f"{b['growth_mb'] / a['growth_mb']:.2f}x, pyramid {b['pyramid_s'] / a['pyramid_s']:.2f}x")
    array = [r for r in rows if r["in_memory"]]
    if array:
        memory = array[0]
        on_disk = next(r for r in disk if r["minutes"] == memory["minutes"])
        print(f"{memory['minutes']} min on disk against in memory: peak {on_disk['peak_mb'] / memory['peak_mb']:.2f}x, "
              f"pyramid {on_disk['pyramid_s'] / memory['pyramid_s']:.2f}x")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
