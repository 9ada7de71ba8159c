"""A stand-in for GPT-SoVITS's `api_v2.py` server, speaking its `/tts` contract over real HTTP.

It validates requests the way api_v2 does (required fields, supported languages, media types,
split methods, streaming modes, a reference clip that exists and lasts 3-10 s) and answers
errors as HTTP 400 with `{"message": ..., "Exception": ...}`. Its "speech" is a deterministic
tone burst per word whose length follows len(text) / speed_factor, so the engine's timing
logic has something real to measure. Every request is recorded for assertions.
"""

from __future__ import annotations

import io
import json
import threading
import wave
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import soundfile

# TTS_Config's language lists (GPT_SoVITS/TTS_infer_pack/TTS.py).
LANGUAGES = {
    "v1": ("auto", "en", "zh", "ja", "all_zh", "all_ja"),
    "v2": ("auto", "auto_yue", "en", "zh", "ja", "yue", "ko", "all_zh", "all_ja", "all_yue", "all_ko"),
}
CUT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")
MEDIA_TYPES = ("wav", "raw", "ogg", "aac")

# TTS_Request's fields and defaults; POST bodies are read through these like pydantic does.
DEFAULTS: dict[str, Any] = {
    "text": None, "text_lang": None, "ref_audio_path": None, "aux_ref_audio_paths": None,
    "prompt_lang": None, "prompt_text": "", "top_k": 15, "top_p": 1.0, "temperature": 1.0,
    "text_split_method": "cut5", "batch_size": 1, "batch_threshold": 0.75, "split_bucket": True,
    "speed_factor": 1.0, "fragment_interval": 0.3, "seed": -1, "media_type": "wav",
    "streaming_mode": False, "parallel_infer": True, "repetition_penalty": 1.35, "sample_steps": 32,
    "super_sampling": False, "overlap_length": 2, "min_chunk_length": 16,
}
_INTS = {"top_k", "batch_size", "seed", "sample_steps", "overlap_length", "min_chunk_length"}
_FLOATS = {"top_p", "temperature", "batch_threshold", "speed_factor", "fragment_interval", "repetition_penalty"}
_BOOLS = {"split_bucket", "parallel_infer", "super_sampling"}

REFERENCE_RANGE_MESSAGE = "Reference audio is outside the 3-10 second range, please choose another one!"


@dataclass
class Recorded:
    """One request as it reached the server."""

    method: str
    path: str
    body: dict[str, Any]  # the JSON body of a POST, or the query of a GET (single values)
    headers: dict[str, str]


@dataclass
class _Failure(Exception):
    status: int
    payload: Any


@dataclass
class FakeGptSovits:
    """An api_v2 look-alike on 127.0.0.1 (a free port), served from a thread; use as a context manager."""

    sample_rate: int = 32000  # v1/v2 models answer at 32 kHz
    version: str = "v2"
    ms_per_char: float = 55.0
    delay_s: float = 0.0  # sleep before answering /tts, for timeout tests
    error: tuple[int, dict[str, Any]] | None = None  # answer every /tts with this status and JSON body
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="fake-gpt-sovits",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def last_request(self) -> Recorded:
        assert self.requests, "the server got no request"
        return self.requests[-1]

    def close(self) -> None:
        """Stop serving; a request sleeping in `delay_s` gives up at once."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeGptSovits:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what api_v2 does with a request --------------------------------------------------

    def handle_tts(self, req: dict[str, Any]) -> tuple[bytes, str]:
        """Validate and "synthesize" one request; return the body and its content type, or raise _Failure."""
        if self._stop.wait(self.delay_s) and self.delay_s:
            raise _Failure(503, {"message": "server shutting down"})
        if self.error is not None:
            raise _Failure(*self.error)
        self._check_params(req)
        streaming, fragments = self._streaming(req["streaming_mode"])
        try:
            audio = self._synthesize(req)
            media_type = req["media_type"]
            if streaming or fragments:
                header = _wav_header(self.sample_rate) if media_type == "wav" else b""
                return header + _pack(audio, self.sample_rate, "raw" if media_type == "wav" else media_type), \
                    f"audio/{media_type}"
            return _pack(audio, self.sample_rate, media_type), f"audio/{media_type}"
        except _Failure:
            raise
        except Exception as exc:  # api_v2 wraps every pipeline failure the same way
            raise _Failure(400, {"message": "tts failed", "Exception": str(exc)}) from exc

    def _check_params(self, req: dict[str, Any]) -> None:
        languages = LANGUAGES["v1" if self.version == "v1" else "v2"]
        if req.get("ref_audio_path") in (None, ""):
            raise _Failure(400, {"message": "ref_audio_path is required"})
        if req.get("text") in (None, ""):
            raise _Failure(400, {"message": "text is required"})
        for key in ("text_lang", "prompt_lang"):
            value = req.get(key)
            if value in (None, ""):
                raise _Failure(400, {"message": f"{key} is required"})
            if str(value).lower() not in languages:
                raise _Failure(400, {"message": f"{key}: {value} is not supported in version {self.version}"})
        if req["media_type"] not in MEDIA_TYPES:
            raise _Failure(400, {"message": f"media_type: {req['media_type']} is not supported"})
        if req["text_split_method"] not in CUT_METHODS:
            raise _Failure(400, {"message": f"text_split_method:{req['text_split_method']} is not supported"})

    @staticmethod
    def _streaming(mode: Any) -> tuple[bool, bool]:
        """Map streaming_mode to (stream chunks, return fragments) as api_v2 does."""
        if mode in (0, False) and not isinstance(mode, float):
            return False, False
        if mode in (1, True):
            return False, True
        if mode in (2, 3):
            return True, False
        raise _Failure(400, {"message": "the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)"})

    def _synthesize(self, req: dict[str, Any]) -> np.ndarray:
        ref = Path(req["ref_audio_path"])
        if not ref.exists():
            raise ValueError(f"{ref} not exists")
        info = soundfile.info(str(ref))
        if not 3.0 <= info.frames / info.samplerate <= 10.0:
            raise OSError(REFERENCE_RANGE_MESSAGE)
        speed = float(req["speed_factor"])
        if speed <= 0:
            raise ValueError(f"speed_factor must be positive, got {speed}")
        seed = int(req["seed"])
        rng = np.random.default_rng(None if seed == -1 else seed)
        sr = self.sample_rate

        def samples(ms: float) -> int:
            return int(round(sr * ms / 1000 / speed))  # atempo scales the whole fragment, pauses included

        parts = [np.zeros(samples(90), np.float32)]
        words = str(req["text"]).split()
        for i, word in enumerate(words):
            n = samples(self.ms_per_char * len(word))
            t = np.arange(n) / sr
            envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01) if n else t
            tone = 0.4 * np.sin(2 * np.pi * (170 + 35 * (i % 4)) * t) * envelope
            parts.append((tone + 0.002 * rng.standard_normal(n)).astype(np.float32))
            if i < len(words) - 1:
                parts.append(np.zeros(samples(70), np.float32))
        parts.append(np.zeros(samples(140), np.float32))
        parts.append(np.zeros(int(sr * float(req["fragment_interval"])), np.float32))  # after each fragment
        return np.concatenate(parts)


def _pack(audio: np.ndarray, rate: int, media_type: str) -> bytes:
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)  # the pipeline hands out int16
    buffer = io.BytesIO()
    if media_type == "wav":
        soundfile.write(buffer, pcm, rate, format="WAV")
    elif media_type == "ogg":
        soundfile.write(buffer, pcm, rate, format="OGG")
    elif media_type == "aac":
        raise FileNotFoundError("[Errno 2] No such file or directory: 'ffmpeg'")
    else:
        buffer.write(pcm.tobytes())
    return buffer.getvalue()


def _wav_header(rate: int) -> bytes:
    """The empty WAV that starts a streamed answer, as api_v2's wave_header_chunk writes it."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"")
    return buffer.getvalue()


def _coerce(key: str, value: Any) -> Any:
    if key in _INTS:
        return int(value)
    if key in _FLOATS:
        return float(value)
    if key in _BOOLS:
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes", "on")
    if key == "streaming_mode" and isinstance(value, str):
        low = value.lower()
        return {"true": True, "false": False}.get(low, int(low) if low.isdigit() else value)
    return value


def _handler_for(fake: FakeGptSovits) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
            self._serve("GET", parts.path, query)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw.decode("utf-8"))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self._send(422, json.dumps({"detail": [{"msg": f"invalid JSON body: {exc}"}]}).encode(),
                           "application/json")
                return
            self._serve("POST", urlsplit(self.path).path, body)

        def _serve(self, method: str, path: str, body: dict[str, Any]) -> None:
            fake.requests.append(Recorded(method, path, body, dict(self.headers.items())))
            if path != "/tts":
                self._send(404, b'{"detail":"Not Found"}', "application/json")
                return
            if method == "GET" and (body.get("text_lang") is None or body.get("prompt_lang") is None):
                # api_v2's GET lowercases both languages unchecked, so a missing one is a crash.
                self._send(500, b"Internal Server Error", "text/plain; charset=utf-8")
                return
            try:
                req = {key: _coerce(key, body.get(key, default)) if body.get(key, default) is not None else None
                       for key, default in DEFAULTS.items()}
            except (TypeError, ValueError) as exc:
                self._send(422, json.dumps({"detail": [{"msg": str(exc)}]}).encode(), "application/json")
                return
            if method == "GET":
                req["text_lang"], req["prompt_lang"] = req["text_lang"].lower(), req["prompt_lang"].lower()
            try:
                audio, content_type = fake.handle_tts(req)
            except _Failure as failure:
                self._send(failure.status, json.dumps(failure.payload, ensure_ascii=False).encode(),
                           "application/json")
                return
            self._send(200, audio, content_type)

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler
