"""Panel: moving a block by 200 ms, until the preview shows it, on the sample, a 30-minute and a 2-hour project.

What the panel does when a block is dropped 200 ms later on the timeline (the same length: no render):
the edit is applied through the core and saved, every line's status and slot are planned again for the
timeline and the table, the still frame at the line's new onset is fetched, and the preview's audio (the
exported mix around the line, what "play in context" plays) is mixed. Each step is timed alone; beside
them, mixing the whole track again (what the context audio cost before previews were mixed by window).
Then the whole move in the real window (offscreen Qt): from the strip's `blockMoved` (a mouse release on a
dragged block) until the table, the timeline and the frame at the new onset are drawn, plus the context audio.

    .venv/bin/python bench/panel_move.py [--minutes 30] [--cues 600] [--feature 120] [--feature-cues 1500]
                                         [--moves 5] [--keep DIR]

The 2-hour project (--feature, 0 to skip; --feature-only for it alone) is timed by its core steps only, without the whole mix beside
them (the mix is measured and written in blocks; holding two hours of it whole is what the blocks avoid).

The long project is dubbed first with the test suite's synthetic engine (tests/conftest.py, frametone),
so each line has a real take on disk; --keep DIR keeps the video and project for the next run. The first
move after opening pays for decoding the original audio and the first mix; the numbers are of the moves
after it (median and worst of --moves), as an editor drags block after block.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_S = 1.0


def long_project(folder: Path, minutes: int, cues: int) -> Path:
    """A `minutes` long video with `cues` lines, dubbed by the synthetic engine; returns the project file.

    Each length has a folder of its own under `folder`."""
    from bench.load import make_subtitles, make_video
    from dubber.pipeline.dub import DubOptions, dub
    from dubber.plugin import registry
    from dubber.project.store import project_path_for
    from tests.conftest import FrameToneEngine

    folder = folder / f"{minutes}min-{cues}"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "long.dub.mp4"
    project = project_path_for(out)
    if project.exists():
        return project
    video, subs = folder / "long.mp4", folder / "long.srt"
    if not video.exists():
        print(f"making a {minutes}-minute video …", flush=True)
        make_video(video, minutes)
    make_subtitles(subs, cues, minutes)
    engine = FrameToneEngine()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    print(f"dubbing {cues} lines with the synthetic engine …", flush=True)
    dub(video, subs, out, DubOptions(lang="en", engine=engine.name, mix="duck"))
    registry.get_engine = real
    return project


def sample_project(folder: Path) -> Path:
    """The bundled two-speaker sample, dubbed with Piper."""
    from dubber.pipeline.dub import DubOptions, dub
    from dubber.project.store import project_path_for

    out = folder / "demo.dub.mp4"
    project = project_path_for(out)
    if not project.exists():
        for name in ("demo.mp4", "demo.en.ass"):
            shutil.copy(ROOT / "samples" / name, folder / name)
        print("dubbing the sample with Piper …", flush=True)
        dub(folder / "demo.mp4", folder / "demo.en.ass", out, DubOptions(lang="en"))
    return project


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def core_steps(project: Path, moves: int, whole: bool = True) -> dict[str, list[float]]:
    """Each step of a move, timed alone, for `moves` moves of lines spread over the project (and, with `whole`,
    the whole mix again beside them)."""
    from dubber.pipeline.preview import frame_at
    from dubber.pipeline.session import Session
    from dubber.project.edits import nudge
    from dubber.ui.line_timing import context_window, strip_cues
    from tests.conftest import FrameToneEngine
    from dubber.plugin import registry

    engine = FrameToneEngine()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    session = Session.open_project(project)
    lines = session.project.lines
    session.preview_audio(0, 1000)  # decode the original and mix once, as the panel has by the first move
    strip_cues(session)
    times: dict[str, list[float]] = {"edit+save": [], "statuses": [], "frame": [], "context audio": [], "total": []}
    if whole:
        times["whole mix"] = []
    picks = spread([p for p, line in enumerate(lines) if line.spoken and line.take is not None
                    and session.keeps_take(nudge(session.project, p, 200).after)], moves)
    done = []
    for position in picks:
        edit = nudge(session.project, position, 200)  # what a block's body dropped 200 ms later does
        done.append(edit)
        parts = {
            "edit+save": timed(lambda: session.apply(edit)),
            "statuses": timed(lambda: strip_cues(session)),
            "frame": timed(lambda: frame_at(session.video, session.project.lines[position].start_ms, 640)),
            "context audio": timed(lambda: session.preview_audio(*context_window(session, session.project.lines[position]))),
        }
        parts["total"] = sum(parts.values())
        # What the context audio cost before it was mixed by window: the whole track again (not in the total).
        if whole:
            parts["whole mix"] = timed(session.mixed)
        for key, value in parts.items():
            times[key].append(value)
    for edit in reversed(done):  # the project as it was, for the next run
        session.revert(edit)
    registry.get_engine = real
    return times


def window_moves(project: Path, moves: int) -> dict[str, list[float]]:
    """The whole move in the real window (offscreen Qt): from the strip's `blockMoved` (what a mouse release on a
    dragged block sends) until the table, the timeline and the still frame at the new onset are on screen and
    the context audio is mixed."""
    from dubber.plugin import registry
    from dubber.ui.app import application
    from dubber.ui.line_timing import context_window
    from dubber.ui.main_window import MainWindow
    from dubber.project.edits import nudge
    from tests.conftest import FrameToneEngine

    engine = FrameToneEngine()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    app = application()
    window = MainWindow()
    window.resize(1280, 820)
    window.show()
    window.open_paths([project])
    session = window.session
    assert session is not None, window.message.text()

    def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
        end = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there")
            app.processEvents()
            time.sleep(0.001)

    until(lambda: window.strip.original() is not None)
    session.preview_audio(0, 1000)
    lines = session.project.lines
    picks = spread([p for p, line in enumerate(lines) if line.spoken and line.take is not None
                    and session.keeps_take(nudge(session.project, p, 200).after)], moves)
    times: dict[str, list[float]] = {"on screen": [], "context audio": [], "total": []}
    still = window.player.still
    for position in picks:
        window.select_position(position)
        until(lambda: still.image() is not None and still.wanted() is not None)
        line = lines[position]
        onset = (line.target_start_ms if line.target_start_ms is not None else line.start_ms) + 200
        shown: list[int] = []
        still.frameShown.connect(shown.append)
        started = time.perf_counter()
        window.strip.blockMoved.emit(line.index, line.start_ms + 200, line.end_ms + 200)
        until(lambda: onset in shown)
        window.repaint()  # the table, the timeline and the picture drawn now, not at the next idle
        screen = time.perf_counter() - started
        audio = timed(lambda: session.preview_audio(*context_window(session, session.project.lines[position])))
        still.frameShown.disconnect(shown.append)
        times["on screen"].append(screen)
        times["context audio"].append(audio)
        times["total"].append(screen + audio)
    while window.undo.canUndo():  # the project as it was, for the next run
        window.undo.undo()
    window.close()
    registry.get_engine = real
    return times


def spread(positions: list[int], count: int) -> list[int]:
    """Up to `count` of the positions, spread from the first to the last, each once."""
    return list(dict.fromkeys(positions[round(k * (len(positions) - 1) / max(count - 1, 1))]
                              for k in range(count))) if positions else []


def report(name: str, times: dict[str, list[float]]) -> None:
    print(f"\n{name}: {len(times['total'])} moves of 200 ms (median / worst, seconds)")
    for key, values in times.items():
        print(f"  {key:<14} {statistics.median(values):7.3f} / {max(values):7.3f}")
    if "whole mix" in times:
        ratio = statistics.median(times["whole mix"]) / statistics.median(times["context audio"])
        print(f"  context audio by window vs the whole mix again: {ratio:.0f}x faster (medians)")
    worst = max(times["total"])
    print(f"  under {TARGET_S:g} s: {'yes' if worst < TARGET_S else 'NO'} (worst {worst:.3f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--cues", type=int, default=600)
    parser.add_argument("--feature", type=int, default=120, help="minutes of the feature-length project (0: none)")
    parser.add_argument("--feature-cues", type=int, default=1500)
    parser.add_argument("--feature-only", action="store_true", help="only the feature-length project's core steps")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dubber-bench-move-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not args.feature_only:
            sample, long = sample_project(folder), long_project(folder, args.minutes, args.cues)
            report("sample (2 speakers, Piper), core steps", core_steps(sample, args.moves))
            report("sample, in the window", window_moves(sample, args.moves))
            report(f"{args.minutes}-minute project, {args.cues} lines, core steps", core_steps(long, args.moves))
            report(f"{args.minutes}-minute project, in the window", window_moves(long, args.moves))
        if args.feature:
            feature = long_project(folder, args.feature, args.feature_cues)
            report(f"{args.feature}-minute project, {args.feature_cues} lines, core steps",
                   core_steps(feature, args.moves, whole=False))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
