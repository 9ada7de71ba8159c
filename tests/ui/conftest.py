"""Qt tests run offscreen: no screen is needed (the one real-window test starts its own Xvfb)."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import qInstallMessageHandler  # noqa: E402


def _say(mode, context, message):
    sys.__stderr__.write(f"{message}\n")


# A Python handler for the whole session: pytest-qt installs its own around each test and then puts
# back the one before. Were that None, a Qt thread that warns just then (QtMultimedia's threads do)
# would call PySide's null handler and crash the run.
qInstallMessageHandler(_say)
