"""The service started for real on a loopback socket in a thread, for the HTTP and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import uvicorn

from dubber.audio import media
from dubber.audio.samples import ms_to_samples
from dubber.service.app import ServiceSettings, create_app

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


class RunningService:
    """`create_app(settings)` served by uvicorn on `host`:(a free port) until `stop`."""

    def __init__(self, settings: ServiceSettings, host: str = "127.0.0.1") -> None:
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.02)

    @property
    def queue(self):
        return self.app.state.queue

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()

    def __enter__(self) -> RunningService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for_job(client, job_id: str, timeout_s: float = 180.0, until=("done", "failed", "cancelled")) -> dict:
    """Poll a job until it reaches one of the `until` states; return its last status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get(f"/jobs/{job_id}").json()
        if status["state"] in until:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {status['state']} after {timeout_s} s: {status}")
        time.sleep(0.2)


def make_clip(folder: Path, cues: list[tuple[int, int, str]], video_ms: int = 4000) -> tuple[Path, Path]:
    """A small video (test picture, a quiet hum) and an SRT of `cues` (start ms, end ms, text)."""
    rate = 48000
    hum = (0.02 * np.sin(2 * np.pi * 110 * np.arange(ms_to_samples(video_ms, rate)) / rate)).astype(np.float32)
    video = media.make_test_video(folder / "clip.mp4", video_ms, np.stack([hum, hum], axis=1), rate)
    srt = folder / "clip.srt"
    srt.write_text("".join(f"{i}\n{_stamp(a)} --> {_stamp(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1)),
                   encoding="utf-8")
    return video, srt


def _stamp(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, f = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{f:03d}"
