"""The panel in a real X window under Xvfb, photographed to tests/artifacts/panel.png (look at it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "tests" / "artifacts" / "panel.png"
XVFB = shutil.which("Xvfb")


@pytest.fixture
def display():
    """A private Xvfb; -displayfd makes it pick a free display number and tell us."""
    read, write = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
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


@pytest.mark.skipif(XVFB is None, reason="needs Xvfb (apt-get install xvfb); .ci/run installs it")
def test_the_panel_in_a_real_window(display, tmp_path):
    from PySide6.QtGui import QColor, QImage

    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    ARTIFACT.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / "panel_screenshot.py"), str(tmp_path),
                           str(ARTIFACT)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["platform"] == "xcb"  # a real window on an X server, not offscreen
    assert result["dubbed"] and result["statuses"] == ["ok"] * 6
    assert result["playing"] and result["line"][0] <= result["playhead_ms"] <= result["line"][1] + 1500

    image = QImage(str(ARTIFACT))
    assert (image.width(), image.height()) == (1440, 900)
    colours = {image.pixel(x, y) for x in range(0, 1440, 7) for y in range(0, 900, 7)}
    assert len(colours) > 200  # a drawn window with a picture, not a blank screen
    greens = sum(QColor(image.pixel(x, y)).name() == "#2e9d4f" for x in range(0, 1440, 3) for y in range(0, 900, 3))
    assert greens > 50  # the in-sync colour: the error column and the strip's blocks
