"""One `dub` run for the kill-and-resume test, in its own process so the test can SIGKILL it.

The frame-tone engine (tests/conftest.py) stands in for a model: natively duration-controlled like
Kokoro and Piper, deterministic, and fast enough to dub 100 lines many times over.
Usage: python resume_worker.py VIDEO SUBS OUT CALLS_FILE
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from dubber.pipeline.dub import DubOptions, dub  # noqa: E402
from dubber.plugin import registry  # noqa: E402
from tests.conftest import FrameToneEngine  # noqa: E402


class PacedEngine(FrameToneEngine):
    """The frame-tone engine taking a few milliseconds a call, as a model does: a line then takes long
    enough for the test's polling to see each one land, even on a loaded machine. It takes overlapping
    calls, as the built-in engines do, so two workers render lines at once and a kill lands between them."""

    thread_safe = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def synthesize_frames(self, request, frames):  # type: ignore[no-untyped-def]
        time.sleep(0.005)
        with self._lock:  # the call count is read-modify-write
            return super().synthesize_frames(request, frames)


def main() -> int:
    video, subs, out, calls = sys.argv[1:5]
    engine = PacedEngine()
    real = registry.get_engine
    registry.get_engine = lambda name, config=None: engine if name == engine.name else real(name, config)
    out_path = Path(out)
    # Filling each cue takes a few engine calls a line, so the kills land mid-dub (the cues are near the
    # lines' natural lengths); resuming speech-timed lines is tested in test_realworld.py.
    dub(video, subs, out_path, DubOptions(lang="en", engine=engine.name, mix="duck", sync="fill", workers=2),
        stem_path=out_path.with_suffix(".stem.wav"), report_path=out_path.with_suffix(".report.json"),
        overwrite=True)  # a run killed after writing a file is run again over it
    Path(calls).write_text(str(engine.calls), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
