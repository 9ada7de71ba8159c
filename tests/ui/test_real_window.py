"""The panel in a real X window under Xvfb, driven by the X pointer and keys, photographed at each stage to
tests/artifacts/panel-*.png (look at them): opened, dubbed, a line selected, a block being dragged, the cast,
and the whole window at 1920×1080."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
XVFB = shutil.which("Xvfb")
XDOTOOL = shutil.which("xdotool")


@pytest.fixture
def display():
    """A private Xvfb; -displayfd makes it pick a free display number and tell us."""
    read, write = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.skipif(XVFB is None or XDOTOOL is None,
                    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool); .ci/run installs them")
def test_the_panel_in_a_real_window(display, tmp_path):
    from PySide6.QtGui import QColor, QImage

    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    for old in ARTIFACTS.glob("panel-*.png"):
        old.unlink()
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / "panel_screenshot.py"), str(tmp_path),
                           str(ARTIFACTS)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["platform"] == "xcb"  # a real window on an X server, not offscreen
    assert result["opened"] and result["speakers"] == ["Aiko", "Kenji"]  # a lane each
    assert result["dubbed"] and result["statuses"] == ["ok"] * 6
    assert result["selected"] and result["subtitle"] == "Did you remember to bring the camera?"
    # The X pointer dragged line 4's block about 300 ms later: the ghost showed where, the release moved the
    # line there as one step, and a real Ctrl+Z put it back.
    drag = result["drag"]
    assert result["drag_preview"][0] == 4 and result["drag_preview"][1:] == drag["after"]
    assert drag["after"][0] - drag["before"][0] == drag["after"][1] - drag["before"][1]
    assert 200 <= drag["after"][0] - drag["before"][0] <= 400 and drag["undo"] == "Move line 4"
    assert result["undone"] == drag["before"]
    assert result["cast_shown"] and result["cast_rows"] == 2

    sizes = {name: (1024, 640) for name in ("1-opened", "2-dubbed", "3-selected", "4-dragging", "5-cast")}
    sizes.update({"1920-cast": (1920, 1080), "1920": (1920, 1080)})
    assert {name: tuple(size) for name, size in result["shots"].items()} == sizes
    for name, (width, height) in sizes.items():
        image = QImage(str(ARTIFACTS / f"panel-{name}.png"))
        assert (image.width(), image.height()) == (width, height), name
        colours = {image.pixel(x, y) for x in range(0, width, 7) for y in range(0, height, 7)}
        assert len(colours) > 200, name  # a drawn window with a picture, not a blank screen
        greens = sum(QColor(image.pixel(x, y)).name() == "#2e9d4f" for x in range(0, width, 3)
                     for y in range(0, height, 3))
        assert (greens > 50) == (name != "1-opened"), (name, greens)  # in sync once dubbed: the blocks, the table
