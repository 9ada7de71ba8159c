"""Run the panel in a real window, as an editor would, and photograph the screen.

Started by test_real_window.py with DISPLAY set to its own Xvfb. It opens a copy of the sample,
dubs every line with the default engine, selects line 3, plays it in context, and saves the whole
X screen (what a user would see) to the given PNG. It prints what it did as JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from dubber.ui.app import application
from dubber.ui.main_window import MainWindow

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def wait(app, condition, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    return bool(condition())


def main(workdir: Path, png: Path) -> int:
    app = application()
    video, subs = workdir / "demo.mp4", workdir / "demo.en.srt"
    shutil.copy(SAMPLES / "demo.mp4", video)
    shutil.copy(SAMPLES / "demo.en.srt", subs)
    window = MainWindow()
    screen = app.primaryScreen().geometry()
    window.setGeometry(screen)
    window.show()
    window.open_paths([video, subs])
    window.takes.dub_pending()
    dubbed = wait(app, lambda: not window.jobs.busy, 300)
    window.select_position(2)
    line = window.session.project.lines[2]
    window.preview.play_in_context()
    # Photograph mid-line: the playhead inside the cue, the picture and the dub both running.
    playing = wait(app, lambda: window.player.is_playing()
                   and window.player.absolute_ms(window.player.media_player.position()) > line.start_ms + 300, 60)
    window.player.toggle()  # pause, so the frame on screen is the one measured
    wait(app, lambda: False, 0.5)
    shot = app.primaryScreen().grabWindow(0)
    png.parent.mkdir(parents=True, exist_ok=True)
    shot.save(str(png))
    statuses = [window.session.status(x) for x in window.session.project.lines]
    print(json.dumps({"dubbed": dubbed, "playing": playing, "statuses": statuses,
                      "platform": app.platformName(), "size": [shot.width(), shot.height()],
                      "playhead_ms": window.player.absolute_ms(window.player.media_player.position()),
                      "line": [line.start_ms, line.end_ms]}))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
