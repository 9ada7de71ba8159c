"""Start the panel: `dubber gui [VIDEO [SUBS]]`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

from dubber import __version__
from dubber.pipeline.dub import DubOptions
from dubber.ui.main_window import MainWindow


def application() -> QApplication:
    """The running QApplication, made once."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("dubber")
        app.setApplicationVersion(__version__)
    return app  # type: ignore[return-value]


def run(options: DubOptions, paths: Sequence[Path] = ()) -> int:
    """Show the panel, open `paths` (a video, its subtitles, or a project) and run until it closes."""
    app = application()
    window = MainWindow(options)
    window.show()
    if paths:
        window.open_paths(list(paths))
    return app.exec()
