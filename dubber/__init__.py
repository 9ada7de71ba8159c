"""dubber: duration-exact video dubbing. The Qt-free core."""

__version__ = "0.1.0"
