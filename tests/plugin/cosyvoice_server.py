"""A stand-in for CosyVoice's FastAPI server, in process, for the adapter's tests.

It follows runtime/python/fastapi/server.py: the inference endpoints take multipart form fields
and a `prompt_wav` upload, and stream raw int16 little-endian PCM at 24 kHz. Its "speech" is a
deterministic tone whose length grows with the text. Every request is recorded.
"""

from __future__ import annotations

import email.parser
import email.policy
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

SAMPLE_RATE = 24000
FIELDS = {
    "/inference_zero_shot": ("tts_text", "prompt_text"),
    "/inference_cross_lingual": ("tts_text",),
    "/inference_instruct2": ("tts_text", "instruct_text"),
}


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]]  # field name -> (filename, content)


def speech(text: str, ms_per_char: int = 50) -> np.ndarray:
    """Return the int16 'speech' for `text`: silence, a tone lasting ms_per_char per character, silence."""
    sr = SAMPLE_RATE
    n = sr * ms_per_char * len(text) // 1000
    t = np.arange(n) / sr
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    ramp = min(n // 2, sr // 200)
    if ramp:
        tone[:ramp] *= np.linspace(0, 1, ramp)
        tone[n - ramp:] *= np.linspace(1, 0, ramp)
    audio = np.concatenate([np.zeros(sr // 25), tone, np.zeros(sr // 10)])
    return np.round(audio * 32767).astype("<i2")


@dataclass
class FakeCosyVoice:
    """Serve the CosyVoice endpoints on 127.0.0.1 from a thread; set the knobs to misbehave."""

    ms_per_char: int = 50
    chunk_bytes: int = 9600  # the stream goes out in chunks of this size (chunked transfer)
    methods: tuple[str, ...] = ("GET", "POST")  # newer server.py routes both; older ones GET only
    delay_s: float = 0.0  # wait this long before answering
    fail_status: int = 0  # answer with this status (and `fail_body`) instead of audio
    fail_body: str = "CUDA out of memory"
    cut_after: int = 0  # close the stream after this many bytes, without ending it properly
    odd_byte: bool = False  # append a stray byte to the stream
    empty: bool = False  # answer 200 with no audio
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeCosyVoice:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def pcm(self, fields: dict[str, str]) -> bytes:
        """Return the stream the server sends for these fields."""
        if self.empty:
            return b""
        data = speech(fields.get("tts_text", ""), self.ms_per_char).tobytes()
        return data + b"\x01" if self.odd_byte else data


def _parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Split a multipart/form-data body into text fields and uploads."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8")
    return fields, files


def _handler(fake: FakeCosyVoice) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            fields, files = _parse_form(self.headers.get("Content-Type", ""), body)
            fake.requests.append(Recorded(method, self.path, fields, files))
            if self.path not in FIELDS:
                return self._reply(404, b'{"detail":"Not Found"}')
            if method not in fake.methods:
                return self._reply(405, b'{"detail":"Method Not Allowed"}')
            missing = [name for name in (*FIELDS[self.path], "prompt_wav")
                       if name not in fields and name not in files]
            if missing:
                return self._reply(422, f'{{"detail":"missing {missing}"}}'.encode())
            if fake.delay_s:
                time.sleep(fake.delay_s)
            if fake.fail_status:
                return self._reply(fake.fail_status, fake.fail_body.encode())
            data = fake.pcm(fields)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            limit = fake.cut_after or len(data)
            for start in range(0, min(limit, len(data)), fake.chunk_bytes):
                chunk = data[start:min(start + fake.chunk_bytes, limit)]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            if fake.cut_after:
                self.close_connection = True
                return None
            self.wfile.write(b"0\r\n\r\n")
            return None

    return Handler
