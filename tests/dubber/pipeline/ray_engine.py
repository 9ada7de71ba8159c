"""The engine the Ray workers of the cluster test speak with (a `worker_process_setup_hook`).

The frame-tone engine (tests/conftest.py) under its own name, taking 0.2 s a call as a model
does; on the node named by $DUBBER_TEST_HOLD_NODE its second call does not end, so the test's node
kill always takes a line with it, however fast or loaded the machine. Its samples are the frame-tone
engine's, so the driver's dubs (on the plain frame-tone engine) place the very same takes.
"""

from __future__ import annotations

import os
import time

from dubber.plugin import registry
from tests.conftest import FrameToneEngine


HOLD_NODE = "DUBBER_TEST_HOLD_NODE"  # the node whose second call never finishes: the test kills that node
HOLD_S = 60  # longer than any test waits: the line is lost with its node, not finished late


class PacedFrameTone(FrameToneEngine):
    def __init__(self) -> None:
        super().__init__()
        self.rendered = 0

    def synthesize_frames(self, request, frames):  # type: ignore[no-untyped-def]
        import ray

        time.sleep(0.2)
        if self.rendered and os.environ.get(HOLD_NODE) == ray.get_runtime_context().get_node_id():
            time.sleep(HOLD_S)  # in flight when its node is killed, whatever the machine's pace
        self.rendered += 1
        return super().synthesize_frames(request, frames)


def install() -> None:
    engine = PacedFrameTone()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
