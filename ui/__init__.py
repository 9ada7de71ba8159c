"""The PySide6 panel (imported as dubber.ui); `system-packages.txt` lists the system libraries it needs."""
