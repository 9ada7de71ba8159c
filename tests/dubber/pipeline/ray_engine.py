"""The engine the Ray workers of the cluster test speak with (a `worker_process_setup_hook`).

The frame-tone engine (tests/conftest.py) under its own name, taking 0.2 s a call as a model
does, so the test's node kill lands while lines are being rendered. Its samples are the frame-tone
engine's, so the driver's dubs (on the plain frame-tone engine) place the very same takes.
"""

from __future__ import annotations

import time

from dubber.plugin import registry
from tests.conftest import FrameToneEngine


class PacedFrameTone(FrameToneEngine):
    def synthesize_frames(self, request, frames):  # type: ignore[no-untyped-def]
        time.sleep(0.2)  # long enough that the killed node has lines left to lose once its processes notice
        return super().synthesize_frames(request, frames)


def install() -> None:
    engine = PacedFrameTone()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
