"""Run the panel in a real window on the two-speaker sample, as an editor would, and photograph it at each stage.

Started by test_real_window.py with DISPLAY set to its own 1920×1080 Xvfb. The window is 1024×640 first: it
opens a copy of the sample (its ASS, two speakers), dubs every line with the default engine, selects line 3,
drags a block on the timeline with the X pointer (xdotool: real X events, through the window system), opens
the cast with a real Ctrl+K, then fills the 1920×1080 screen. Each stage is saved as a PNG in the folder given
(what a user would see of the window); what happened is printed as JSON on the last line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QPoint

from dubber.ui.app import application
from dubber.ui.main_window import MainWindow

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
STAGES = ("1-opened", "2-dubbed", "3-selected", "4-dragging", "5-cast")


def wait(app, condition, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    return bool(condition())


def settle(app, seconds: float = 0.4) -> None:
    wait(app, lambda: False, seconds)


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def main(workdir: Path, folder: Path) -> int:
    app = application()
    video, subs = workdir / "demo.mp4", workdir / "demo.en.ass"
    shutil.copy(SAMPLES / "demo.mp4", video)
    shutil.copy(SAMPLES / "demo.en.ass", subs)
    folder.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.setGeometry(0, 0, 1024, 640)
    window.show()
    wait(app, window.isVisible, 10)
    result: dict = {"platform": app.platformName(), "shots": {}}

    def shot(name: str, whole_screen: bool = False) -> None:
        settle(app)
        picture = app.primaryScreen().grabWindow(0 if whole_screen else window.winId())
        path = folder / f"panel-{name}.png"
        picture.save(str(path))
        result["shots"][name] = [picture.width(), picture.height()]

    window.open_paths([video, subs])
    session = window.session
    result["opened"] = session is not None and wait(app, lambda: window.strip.original() is not None, 60)
    result["speakers"] = list(window.strip.speakers())
    shot("1-opened")

    window.takes.dub_pending()
    result["dubbed"] = wait(app, lambda: not window.jobs.busy, 600)
    result["statuses"] = [session.status(line) for line in session.project.lines]
    shot("2-dubbed")

    window.select_position(2)
    still = window.player.still
    result["selected"] = wait(app, lambda: still.image() is not None and still.wanted() is not None
                              and still.wanted()[1] == window.strip.playhead(), 20)
    result["subtitle"] = still.subtitle()
    shot("3-selected")

    # Drag line 4's block 300 ms later with the X pointer, photographed mid-drag (the ghost and any snap guide).
    strip = window.strip
    moved = session.project.lines[3]
    before = (moved.start_ms, moved.end_ms)
    strip.set_window(moved.start_ms - 4000, moved.end_ms + 4000)
    settle(app)
    cue = next(c for c in strip.cues() if c.index == moved.index)
    rect = strip.block_rect(cue)
    press = strip.mapToGlobal(QPoint(round(rect.center().x()), round(rect.center().y())))
    target_x = press.x() + round(strip.x_at(moved.start_ms + 300) - strip.x_at(moved.start_ms))
    xdotool("mousemove", str(press.x()), str(press.y()))
    settle(app, 0.2)
    xdotool("mousedown", "1")
    for k in range(1, 6):
        xdotool("mousemove", str(press.x() + (target_x - press.x()) * k // 5), str(press.y()))
        settle(app, 0.1)
    result["drag_preview"] = list(strip.drag_preview()[:3]) if strip.drag_preview() else None
    shot("4-dragging")
    steps = window.undo.count()
    xdotool("mouseup", "1")
    wait(app, lambda: window.undo.count() > steps and not window.jobs.busy, 120)
    after = session.project.lines[3]
    result["drag"] = {"before": list(before), "after": [after.start_ms, after.end_ms],
                      "undo": window.undo.text(window.undo.count() - 1)}
    xdotool("key", "ctrl+z")  # a real key: the drag is undone
    wait(app, lambda: (session.project.lines[3].start_ms, session.project.lines[3].end_ms) == before, 10)
    result["undone"] = [session.project.lines[3].start_ms, session.project.lines[3].end_ms]

    xdotool("key", "ctrl+k")  # the cast, by its key
    result["cast_shown"] = wait(app, lambda: window.cast.isVisible(), 10)
    result["cast_rows"] = window.cast.table.rowCount()
    window.select_position(2)
    wait(app, lambda: still.image() is not None, 10)
    shot("5-cast")

    window.setGeometry(0, 0, 1920, 1080)
    wait(app, lambda: window.width() == 1920, 10)
    shot("1920-cast", whole_screen=True)
    window.show_cast(False)
    shot("1920", whole_screen=True)
    print(json.dumps(result))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
