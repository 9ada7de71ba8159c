"""Qt tests run offscreen: no screen is needed (the one real-window test starts its own Xvfb)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
