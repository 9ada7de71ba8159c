"""The CosyVoice engine: zero-shot voice cloning through CosyVoice's own FastAPI server.

The server is `runtime/python/fastapi/server.py` in the CosyVoice repository. Each endpoint
takes multipart form fields plus the prompt clip as an upload named `prompt_wav`, and answers
with raw 16-bit little-endian PCM, streamed, at the model's rate (24 kHz for CosyVoice 2 and 3):

- `/inference_zero_shot`: `tts_text`, `prompt_text`, `prompt_wav`;
- `/inference_cross_lingual`: `tts_text`, `prompt_wav`;
- `/inference_instruct2`: `tts_text`, `instruct_text`, `prompt_wav`.

Older copies of server.py route these as GET only (with a form body), newer ones as GET and
POST; we POST, and repeat the request as GET when the server answers 405.

The server takes no seed, speed or duration: a take is not reproducible per seed (the seed is
only recorded in the Take), and duration is reached by the fitting ladder's residual stretch.

CosyVoice 3 is prompted in a chat-like form, as its repository's example.py shows: the prompt
text becomes `You are a helpful assistant.<|endofprompt|>` + transcript, a cross-lingual
`tts_text` gets the same prefix (it has no prompt text to carry it), and an instruction becomes
`You are a helpful assistant. ` + instruction + `<|endofprompt|>`. CosyVoice 2 instructions end
with `<|endofprompt|>` too, with no system sentence.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import ClassVar

import numpy as np

from dubber.errors import EngineUnavailable, MediaError, SynthesisError, UsageError
from dubber.plugin.engine import DURATION_STRETCH_ONLY, Capabilities, Emotion, Engine, Reference, Take

SAMPLE_RATE = 24000  # CosyVoice 2 and 3 speak at 24 kHz
PROMPT_RATE = 16000  # the server loads the prompt clip at 16 kHz; we send it at that rate
DEFAULT_URL = "http://127.0.0.1:50000"
END_OF_PROMPT = "<|endofprompt|>"
V3_SYSTEM = "You are a helpful assistant."
RATE_HEADER = "X-Custom-Header-sampleRate"  # some forks of server.py say the rate here
READ_BYTES = 64 * 1024
ERROR_BODY_CHARS = 500
START_HINT = ("start CosyVoice's server from its repository: "
              "python runtime/python/fastapi/server.py --port 50000 --model_dir pretrained_models/CosyVoice2-0.5B")


class CosyVoiceEngine(Engine):
    """Clone a reference voice with a CosyVoice server; duration is fitted by stretching."""

    name: ClassVar[str] = "cosyvoice"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=("zh", "en", "ja", "ko", "yue"),
        sample_rate=SAMPLE_RATE,
        voices=(),
        cloning="zero_shot",
        emotion="text",
        duration_control=DURATION_STRETCH_ONLY,
        rate_range=(1.0, 1.0),  # the server has no speed control
        needs_gpu=True,
    )

    def __init__(self, url: str = DEFAULT_URL, timeout_ms: int = 120000, allow_remote: bool = False,
                 version: int = 2) -> None:
        if version not in (2, 3):
            raise UsageError(f"CosyVoice version must be 2 or 3, got {version!r}", engine=self.name)
        if timeout_ms <= 0:
            raise UsageError(f"timeout must be positive, got {timeout_ms} ms", engine=self.name)
        from dubber.config import server_url

        self.url = server_url(self.name, url.strip(), allow_remote,
                              why="the text and the reference voice would leave this machine")
        self.timeout_ms = timeout_ms
        self.version = version
        self._prompts: dict[tuple[str, int, int], bytes] = {}

    @classmethod
    def from_settings(cls, settings: object) -> CosyVoiceEngine:
        """Build from `[engines.cosyvoice]`: url, timeout_ms, allow_remote, version."""
        return cls(url=settings.url(default=DEFAULT_URL), timeout_ms=settings.timeout_ms(120000),
                   allow_remote=settings.allow_remote, version=int(settings.get("version", 2)))

    def synthesize(
        self,
        text: str,
        lang: str,
        voice: str | None = None,
        target_ms: int | None = None,
        seed: int = 0,
        rate: float = 1.0,
        *,
        reference: Reference | None = None,
        emotion: Emotion | None = None,
    ) -> Take:
        """Speak `text` in the voice of `reference`; `target_ms` and `seed` cannot be passed on.

        With an emotion the line goes to instruct2; with a transcript of a reference in the
        line's own language to zero-shot; otherwise to cross-lingual.
        """
        if reference is None:
            raise UsageError("cosyvoice clones a voice and has none of its own: give it a reference clip",
                             engine=self.name)
        voice = self.check_request(lang, voice, text=text, rate=rate, reference=reference, emotion=emotion)
        endpoint, fields = self.request_fields(text, lang, reference, emotion)
        samples = self._post(endpoint, fields, self._prompt_wav(reference.audio_path), text)
        return Take(samples, SAMPLE_RATE, text, engine=self.name, voice=voice, seed=seed, rate=1.0)

    def request_fields(self, text: str, lang: str, reference: Reference,
                       emotion: Emotion | None = None) -> tuple[str, dict[str, str]]:
        """Choose the endpoint for a line and build its form fields (the upload aside)."""
        v3 = self.version == 3
        if emotion is not None:
            instruction = emotion.text.strip()
            if not instruction:
                raise UsageError("cosyvoice needs the emotion as an instruction text", engine=self.name)
            if instruction.endswith(END_OF_PROMPT):
                instruction = instruction[:-len(END_OF_PROMPT)]
            if v3 and not instruction.startswith(V3_SYSTEM):
                instruction = f"{V3_SYSTEM} {instruction}"
            return "inference_instruct2", {"tts_text": text, "instruct_text": instruction + END_OF_PROMPT}
        if reference.text.strip() and reference.lang == lang:
            prompt = reference.text.strip()
            if v3 and END_OF_PROMPT not in prompt:
                prompt = V3_SYSTEM + END_OF_PROMPT + prompt
            return "inference_zero_shot", {"tts_text": text, "prompt_text": prompt}
        tts_text = V3_SYSTEM + END_OF_PROMPT + text if v3 else text
        return "inference_cross_lingual", {"tts_text": tts_text}

    def _prompt_wav(self, path: Path) -> bytes:
        """Return the reference clip as the server should get it: a 16 kHz mono file."""
        import soundfile

        try:
            stat = Path(path).stat()
            key = (str(path), stat.st_mtime_ns, stat.st_size)
            if key in self._prompts:
                return self._prompts[key]
            info = soundfile.info(str(path))
            if info.samplerate == PROMPT_RATE and info.channels == 1:
                data = Path(path).read_bytes()
            else:
                from dubber.audio import resample

                audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
                buffer = io.BytesIO()
                soundfile.write(buffer, resample(audio, rate, PROMPT_RATE), PROMPT_RATE, subtype="PCM_16",
                                format="WAV")
                data = buffer.getvalue()
        except (OSError, RuntimeError) as err:  # soundfile raises LibsndfileError, a RuntimeError
            raise MediaError(f"cannot read the cosyvoice reference clip {path}: {err}", path=str(path)) from err
        self._prompts = {key: data}  # one reference at a time is the common case
        return data

    def _post(self, endpoint: str, fields: dict[str, str], prompt_wav: bytes, text: str) -> np.ndarray:
        """Send one request and return its PCM as float32 samples."""
        body, content_type = _multipart(fields, ("prompt_wav", "prompt_wav.wav", prompt_wav))
        url = f"{self.url}/{endpoint}"
        try:
            try:
                return self._request(url, "POST", body, content_type, text)
            except urllib.error.HTTPError as err:
                if err.code != 405:
                    raise
                err.close()
                return self._request(url, "GET", body, content_type, text)  # older servers route GET only
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", errors="replace").strip()[:ERROR_BODY_CHARS]
            raise SynthesisError(f"cosyvoice server answered {err.code} {err.reason} on /{endpoint}: "
                                 f"{detail or '(no body)'}", engine=self.name, text=text, status=err.code) from err
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise self._timeout(endpoint, text) from err
            if isinstance(reason, ConnectionRefusedError):
                raise EngineUnavailable(f"no cosyvoice server at {self.url}: connection refused",
                                        engine=self.name, hint=START_HINT) from err
            raise SynthesisError(f"cannot reach the cosyvoice server at {self.url}: {reason}",
                                 engine=self.name, text=text) from err
        except ConnectionRefusedError as err:
            raise EngineUnavailable(f"no cosyvoice server at {self.url}: connection refused",
                                    engine=self.name, hint=START_HINT) from err
        except (TimeoutError, socket.timeout) as err:
            raise self._timeout(endpoint, text) from err
        except (OSError, http.client.HTTPException) as err:
            raise SynthesisError(f"the cosyvoice stream from /{endpoint} broke off: {err!r}",
                                 engine=self.name, text=text) from err

    def _request(self, url: str, method: str, body: bytes, content_type: str, text: str) -> np.ndarray:
        """Make one HTTP request and read its whole PCM stream within the deadline."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
        chunks = []
        with urllib.request.urlopen(request, timeout=self.timeout_ms / 1000) as response:
            rate = response.headers.get(RATE_HEADER)
            while True:
                try:
                    chunk = response.read(READ_BYTES)
                except http.client.IncompleteRead as err:
                    raise SynthesisError(f"the cosyvoice stream from {url} was cut short after "
                                         f"{sum(map(len, chunks)) + len(err.partial)} bytes",
                                         engine=self.name, text=text) from err
                if not chunk:
                    break
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError
        data = b"".join(chunks)
        data = data[:len(data) - len(data) % 2]  # an odd trailing byte is half a sample: drop it
        if not data:
            raise SynthesisError(f"the cosyvoice server returned no audio for {text!r}", engine=self.name, text=text)
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        if rate and rate.strip().isdigit() and int(rate) != SAMPLE_RATE:
            from dubber.audio import resample

            samples = resample(samples, int(rate), SAMPLE_RATE)
        return samples

    def _timeout(self, endpoint: str, text: str) -> SynthesisError:
        return SynthesisError(f"the cosyvoice server took longer than {self.timeout_ms} ms on /{endpoint}",
                              engine=self.name, text=text, timeout_ms=self.timeout_ms)


def _multipart(fields: dict[str, str], upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """Encode form fields and one file upload as multipart/form-data; return body and content type."""
    boundary = f"dubber-{uuid.uuid4().hex}"
    lines = []
    for key, value in fields.items():
        lines += [f"--{boundary}\r\n".encode(),
                  f'Content-Disposition: form-data; name="{key}"\r\n'.encode(),
                  b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
                  value.encode("utf-8"), b"\r\n"]
    name, filename, data = upload
    lines += [f"--{boundary}\r\n".encode(),
              f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode(),
              b"Content-Type: application/octet-stream\r\n\r\n",
              data, b"\r\n", f"--{boundary}--\r\n".encode()]
    return b"".join(lines), f"multipart/form-data; boundary={boundary}"
