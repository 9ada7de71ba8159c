"""The PySide6 panel (imported as dubber.ui). Nothing here yet: see issue #6."""
