"""The GPT-SoVITS engine: zero-shot voice cloning through a running GPT-SoVITS `api_v2.py` server.

dubber does not load GPT-SoVITS itself; the user starts its HTTP server next to dubber:

    python api_v2.py -a 127.0.0.1 -p 9880 -c GPT_SoVITS/configs/tts_infer.yaml

and every line is one POST to its `/tts` endpoint. The server reads the reference clip from
its own disk, so by default only a server on this machine (a loopback address) is accepted.

Language codes: GPT-SoVITS v2 takes "zh", "ja", "ko" and "yue" as that language mixed with
English words (its "not changed" modes), "en" as English, and "all_*" as the language alone.
Subtitle lines often carry Latin names and words, so dubber's codes map to the mixed modes.

Sample rate: v1/v2/v2Pro models answer at 32 kHz, which `capabilities` declares; v3 (24 kHz)
and v4 (48 kHz) models answer at their own rate, and each `Take` reports the WAV's real rate.

Failures (an error status, no server, a timeout, a broken answer) become dubber's errors in
plugin/http_client.py, which also probes whether the server answers for `dubber engines`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from dubber.config import server_url
from dubber.errors import SynthesisError, UsageError
from dubber.plugin.engine import DURATION_RATE, Capabilities, Reference, SynthesisRequest, Take
from dubber.plugin.http_client import Server, ServedEngine

DEFAULT_URL = "http://127.0.0.1:9880"
DEFAULT_TIMEOUT_MS = 120_000
SAMPLE_RATE = 32000  # v1/v2/v2Pro models; v3 and v4 answer at 24 and 48 kHz (see `Take.sample_rate`)
REFERENCE_MIN_S = 3.0  # api_v2 refuses references outside 3-10 s (48000-160000 samples at 16 kHz)
REFERENCE_MAX_S = 10.0
START_HINT = "start GPT-SoVITS api_v2.py: python api_v2.py -a 127.0.0.1 -p 9880 -c GPT_SoVITS/configs/tts_infer.yaml"

# dubber language code -> api_v2 `text_lang` / `prompt_lang`.
LANGUAGES = {"zh": "zh", "en": "en", "ja": "ja", "ko": "ko", "yue": "yue"}


class GptSovitsEngine(ServedEngine):
    """Clone the voice of a reference clip with GPT-SoVITS; duration is steered by `speed_factor`."""

    name = "gpt_sovits"
    capabilities = Capabilities(
        languages=tuple(LANGUAGES),
        sample_rate=SAMPLE_RATE,
        voices=(),
        cloning="zero_shot",
        emotion="none",
        duration_control=DURATION_RATE,
        rate_range=(0.6, 1.65),  # the speed slider's range in GPT-SoVITS's own web UI
        needs_gpu=True,
        max_text_chars=60,  # one fragment per line (cut0); its decoder stops at 30 s, its own cutters use 50-60
    )

    def __init__(self, url: str = DEFAULT_URL, timeout_ms: int = DEFAULT_TIMEOUT_MS,
                 allow_remote: bool = False) -> None:
        self.url = server_url(self.name, url, allow_remote,
                              why="the server reads the reference clip from its own disk")
        if timeout_ms <= 0:
            raise UsageError(f"GPT-SoVITS timeout must be positive, got {timeout_ms} ms",
                             engine=self.name, timeout_ms=timeout_ms)
        self.timeout_ms = int(timeout_ms)
        self.allow_remote = allow_remote
        self.server = Server(self.name, "GPT-SoVITS", self.url, START_HINT, self.timeout_ms, allow_remote)

    @classmethod
    def from_settings(cls, settings: object) -> GptSovitsEngine:
        """Build from `[engines.gpt_sovits]`: url, timeout_ms, allow_remote."""
        return cls(url=settings.url(default=DEFAULT_URL), timeout_ms=settings.timeout_ms(DEFAULT_TIMEOUT_MS),
                   allow_remote=settings.allow_remote)

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak `text` in the voice of `reference` at `rate` (GPT-SoVITS's speed_factor)."""
        reference = self.need_reference(request.reference, " (3-10 s)")
        voice = self.check_request(request)
        ref_path = check_reference(Path(reference.audio_path))
        body = self.request_body(request, reference, ref_path)
        text = request.text
        answer = self.server.call("/tts", json.dumps(body).encode("utf-8"), "application/json", text=text,
                                  accept="audio/wav")
        samples, sample_rate = _read_wav(answer.body, text)
        return Take(samples, sample_rate, text, engine=self.name, voice=voice, seed=request.seed, rate=request.rate)

    def request_body(self, request: SynthesisRequest, reference: Reference, ref_path: Path) -> dict[str, Any]:
        """Build the JSON body api_v2's POST /tts takes for one line (`reference`: the request's, at `ref_path`)."""
        lang = request.lang
        prompt_lang = reference.lang or lang
        if prompt_lang not in LANGUAGES:
            raise UsageError(f"engine 'gpt_sovits' cannot read a reference in {prompt_lang!r} "
                             f"(it speaks {', '.join(LANGUAGES)})", engine=self.name, lang=prompt_lang)
        return {
            "text": " ".join(request.text.split()),  # one fragment: "cut0" never splits, and no line breaks remain
            "text_lang": LANGUAGES[lang],
            "ref_audio_path": str(ref_path),
            "prompt_text": reference.text,
            "prompt_lang": LANGUAGES[prompt_lang],
            "text_split_method": "cut0",
            "batch_size": 1,
            "speed_factor": float(request.rate),
            "fragment_interval": 0,
            "seed": int(request.seed),
            "media_type": "wav",
            "streaming_mode": False,
        }


def check_reference(path: Path) -> Path:
    """Return the reference clip's absolute path, or raise UsageError unless it lasts 3-10 s."""
    import soundfile

    path = path.expanduser().resolve()
    try:
        info = soundfile.info(str(path))
    except (OSError, RuntimeError) as exc:  # soundfile's errors are RuntimeErrors
        raise UsageError(f"cannot read the reference clip {path}: {exc}", engine="gpt_sovits", path=str(path)) from exc
    seconds = info.frames / info.samplerate
    if not REFERENCE_MIN_S <= seconds <= REFERENCE_MAX_S:
        raise UsageError(f"reference clip {path} lasts {seconds:.2f} s; GPT-SoVITS needs "
                         f"{REFERENCE_MIN_S:g}-{REFERENCE_MAX_S:g} s", engine="gpt_sovits", path=str(path),
                         seconds=seconds)
    return path


def _read_wav(audio: bytes, text: str) -> tuple[np.ndarray, int]:
    """Decode api_v2's WAV answer into float32 mono samples and their rate."""
    import soundfile

    try:
        samples, sample_rate = soundfile.read(io.BytesIO(audio), dtype="float32", always_2d=True)
    except RuntimeError as exc:
        raise SynthesisError(f"GPT-SoVITS answered {len(audio)} bytes that are not a WAV file: {exc}",
                             engine="gpt_sovits", text=text) from exc
    if samples.shape[0] == 0:
        raise SynthesisError(f"GPT-SoVITS returned no audio for {text!r}", engine="gpt_sovits", text=text)
    return samples.mean(axis=1), int(sample_rate)
