"""The CosyVoice engine: zero-shot voice cloning through CosyVoice's own FastAPI server.

The server is `runtime/python/fastapi/server.py` in the CosyVoice repository. Each endpoint
takes multipart form fields plus the prompt clip as an upload named `prompt_wav`, and answers
with raw 16-bit little-endian PCM, streamed, at the model's rate (24 kHz for CosyVoice 2 and 3):

- `/inference_zero_shot`: `tts_text`, `prompt_text`, `prompt_wav`;
- `/inference_cross_lingual`: `tts_text`, `prompt_wav`;
- `/inference_instruct2`: `tts_text`, `instruct_text`, `prompt_wav`.

Older copies of server.py route these as GET only (with a form body), newer ones as GET and
POST; we POST, and repeat the request as GET when the server answers 405. Failures become
dubber's errors in plugin/http_client.py, which also probes whether the server answers.

The server takes no seed, speed or duration: a take is not reproducible per seed (the seed is
only recorded in the Take), and duration is reached by the fitting ladder's residual stretch.

CosyVoice 3 is prompted in a chat-like form, as its repository's example.py shows: the prompt
text becomes `You are a helpful assistant.<|endofprompt|>` + transcript, a cross-lingual
`tts_text` gets the same prefix (it has no prompt text to carry it), and an instruction becomes
`You are a helpful assistant. ` + instruction + `<|endofprompt|>`. CosyVoice 2 instructions end
with `<|endofprompt|>` too, with no system sentence. `cosyvoice_request` holds these rules and the
choice of mode, for this engine and for the in-process one (plugin/cosyvoice_local.py).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from dubber.audio.samples import resample
from dubber.config import server_url
from dubber.errors import MediaError, SynthesisError, UsageError
from dubber.plugin.engine import DURATION_STRETCH_ONLY, Capabilities, Emotion, Reference, SynthesisRequest, Take
from dubber.plugin.http_client import Answer, Server, ServedEngine
from dubber.text.pronunciation import FORM_COSYVOICE

SAMPLE_RATE = 24000  # CosyVoice 2 and 3 speak at 24 kHz
PROMPT_RATE = 16000  # the server loads the prompt clip at 16 kHz; we send it at that rate
DEFAULT_URL = "http://127.0.0.1:50000"
END_OF_PROMPT = "<|endofprompt|>"
V3_SYSTEM = "You are a helpful assistant."
RATE_HEADER = "X-Custom-Header-sampleRate"  # some forks of server.py say the rate here
LANGUAGES = ("zh", "en", "ja", "ko", "yue")
VERSIONS = (2, 3)
# The modes: each is both a server endpoint and the Python method of the same name.
ZERO_SHOT, CROSS_LINGUAL, INSTRUCT2 = "inference_zero_shot", "inference_cross_lingual", "inference_instruct2"
START_HINT = ("start CosyVoice's server from its repository: "
              "python runtime/python/fastapi/server.py --port 50000 --model_dir pretrained_models/CosyVoice2-0.5B")


class CosyVoiceEngine(ServedEngine):
    """Clone a reference voice with a CosyVoice server; duration is fitted by stretching."""

    name: ClassVar[str] = "cosyvoice"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=LANGUAGES,
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
        self.version = check_version(version, self.name)
        self.capabilities = pronunciation_for(type(self).capabilities, self.version)  # type: ignore[misc]
        if timeout_ms <= 0:
            raise UsageError(f"timeout must be positive, got {timeout_ms} ms", engine=self.name)
        self.url = server_url(self.name, url.strip(), allow_remote,
                              why="the text and the reference voice would leave this machine")
        self.timeout_ms = timeout_ms
        self.server = Server(self.name, "CosyVoice", self.url, START_HINT, timeout_ms, allow_remote)
        self._prompts: dict[tuple[str, int, int], bytes] = {}

    @classmethod
    def from_settings(cls, settings: object) -> CosyVoiceEngine:
        """Build from `[engines.cosyvoice]`: url, timeout_ms, allow_remote, version."""
        return cls(url=settings.url(default=DEFAULT_URL), timeout_ms=settings.timeout_ms(120000),
                   allow_remote=settings.allow_remote, version=settings.get("version", 2))

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak `text` in the voice of `reference`; `target_ms` and `seed` cannot be passed on.

        With an emotion the line goes to instruct2; with a transcript of a reference in the
        line's own language to zero-shot; otherwise to cross-lingual.
        """
        reference = self.need_reference(request.reference)
        voice = self.check_request(request)
        text = request.text
        endpoint, fields = cosyvoice_request(text, request.lang, reference, request.emotion, self.version, self.name)
        samples = self._post(endpoint, fields, self._prompt_wav(reference.audio_path), text)
        return Take(samples, SAMPLE_RATE, text, engine=self.name, voice=voice, seed=request.seed, rate=1.0)

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
        path = f"/{endpoint}"
        try:
            answer = self.server.call(path, body, content_type, text=text)
        except SynthesisError as err:
            if err.details.get("status") != 405:
                raise
            answer = self.server.call(path, body, content_type, text=text, method="GET")  # older servers route GET only
        return self._samples(answer, text)

    def _samples(self, answer: Answer, text: str) -> np.ndarray:
        """Decode the server's int16 PCM stream into float32 samples at 24 kHz."""
        data = answer.body[:len(answer.body) - len(answer.body) % 2]  # an odd trailing byte is half a sample
        if not data:
            raise SynthesisError(f"the cosyvoice server returned no audio for {text!r}", engine=self.name, text=text)
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        rate = answer.headers.get(RATE_HEADER)
        if rate and rate.strip().isdigit() and int(rate) != SAMPLE_RATE:
            samples = resample(samples, int(rate), SAMPLE_RATE)
        return samples


def pronunciation_for(capabilities: Capabilities, version: int | None) -> Capabilities:
    """CosyVoice3 reads pinyin tags ('[h][ào]' in place of a character); version 2 would speak the brackets."""
    return replace(capabilities, pronunciation=FORM_COSYVOICE) if version == 3 else capabilities


def check_version(version: object, engine: str) -> int:
    """Return a CosyVoice version dubber speaks (2 or 3), or raise UsageError."""
    if isinstance(version, int) and not isinstance(version, bool) and version in VERSIONS:
        return version
    raise UsageError(f"CosyVoice version must be 2 or 3, got {version!r}", engine=engine, version=version)


def cosyvoice_request(text: str, lang: str, reference: Reference, emotion: Emotion | None, version: int,
                      engine: str = "cosyvoice") -> tuple[str, dict[str, str]]:
    """Choose CosyVoice's mode for a line and build its text arguments, prompted as `version` expects.

    With an emotion the line goes to instruct2; with a transcript of a reference in the line's own
    language to zero-shot; otherwise to cross-lingual. The mode names both the server's endpoint
    and the Python method, and the fields (`tts_text`, `prompt_text`, `instruct_text`) are both the
    server's form fields and the method's keyword arguments.
    """
    v3 = version == 3
    if emotion is not None:
        instruction = emotion.text.strip()
        if not instruction:
            raise UsageError("cosyvoice needs the emotion as an instruction text", engine=engine)
        if instruction.endswith(END_OF_PROMPT):
            instruction = instruction[:-len(END_OF_PROMPT)]
        if v3 and not instruction.startswith(V3_SYSTEM):
            instruction = f"{V3_SYSTEM} {instruction}"
        return INSTRUCT2, {"tts_text": text, "instruct_text": instruction + END_OF_PROMPT}
    if reference.text.strip() and reference.lang == lang:
        prompt = reference.text.strip()
        if v3 and END_OF_PROMPT not in prompt:
            prompt = V3_SYSTEM + END_OF_PROMPT + prompt
        return ZERO_SHOT, {"tts_text": text, "prompt_text": prompt}
    tts_text = V3_SYSTEM + END_OF_PROMPT + text if v3 else text
    return CROSS_LINGUAL, {"tts_text": tts_text}


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
