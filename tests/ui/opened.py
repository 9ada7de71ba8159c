"""The panel on a real project, for tests: the sample opened once per module, a window over a copy of it,
and a window over a project built directly (no speech detector)."""

from __future__ import annotations

import shutil
from pathlib import Path

from dubber.pipeline.dub import DubOptions
from dubber.pipeline.session import Session
from dubber.plugin import registry
from dubber.project.store import LineEntry, Project, save_project
from dubber.ui.main_window import MainWindow

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def open_once(folder: Path, subtitles: str = "demo.en.srt") -> Path:
    """Copy the sample into `folder` and open it once: finding its speech takes seconds, reopening none."""
    shutil.copy(SAMPLES / "demo.mp4", folder / "demo.mp4")
    shutil.copy(SAMPLES / subtitles, folder / subtitles)
    Session.open(folder / "demo.mp4", folder / subtitles, DubOptions())
    return folder


def shown_window(qtbot, session: Session | None = None) -> MainWindow:
    """A shown window, over `session` when one is given."""
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    if session is not None:
        win.set_session(session)
    return win


def window_over_copy(qtbot, opened: Path, tmp_path: Path, monkeypatch, engine, position: int = 0) -> MainWindow:
    """A shown window over a copy of an opened sample with its line at `position` selected, every engine
    answered by `engine`."""
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    shutil.copytree(opened, tmp_path / "sample")
    win = shown_window(qtbot)
    win.open_paths([tmp_path / "sample" / "demo.mp4"])
    assert win.session is not None, win.message.last_message
    win.select_position(position)
    return win


def close(win: MainWindow) -> None:
    """Stop what the window still runs: a job, the player."""
    if win.jobs.job is not None:
        win.jobs.job.cancel()
        win.jobs.job.wait(30_000)
    win.player.stop()


def project_session(tmp_path: Path, lines: list[LineEntry], sync: str) -> Session:
    """A project of `lines` over a copy of the sample video, built directly, timed by `sync`."""
    video = tmp_path / "demo.mp4"
    shutil.copy(SAMPLES / "demo.mp4", video)
    path = tmp_path / "demo.dubber.json"
    project = Project(str(video), str(tmp_path / "demo.en.srt"), "en", lines=lines, sync=sync)
    save_project(project, path)
    return Session(project, path)
