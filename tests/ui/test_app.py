"""`dubber gui VIDEO SUBS` opens the panel with them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from dubber.cli.main import main
from dubber.ui.main_window import MainWindow

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_dubber_gui_opens_the_video_and_subtitles_given(qapp, tmp_path, monkeypatch):
    video, subs = tmp_path / "demo.mp4", tmp_path / "demo.en.srt"
    shutil.copy(SAMPLES / "demo.mp4", video)
    shutil.copy(SAMPLES / "demo.en.srt", subs)
    # Return at once instead of running the event loop: quitting the test process's one
    # application would leave it unable to deliver the worker threads' signals in later tests.
    monkeypatch.setattr(QApplication, "exec", lambda *args: 0)
    before = set(QApplication.topLevelWidgets())
    assert main(["gui", str(video), str(subs), "--lang", "en"]) == 0
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w not in before]
    try:
        assert [w.model.rowCount() for w in windows] == [6]
        assert windows[0].isVisible() and windows[0].windowTitle() == "dubber — demo.mp4"
        assert video.with_name("demo.dubber.json").exists()
    finally:
        for w in windows:
            w.close()
            w.deleteLater()
