"""Shared fixtures: a synthetic engine with a realistic rate response, and small generated media."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.models.onnx_graph import CACHE_ENV
from dubber.plugin.engine import Capabilities, Engine, SynthesisRequest, Take


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Keep patched models out of the user's cache: the whole run shares one temp folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        yield


class ToneEngine(Engine):
    """Speaks 'syllables' as tone bursts; speech length follows 1/rate, but pauses scale less,
    like a real model, so the fitter's search has something to do."""

    name = "tone"
    capabilities = Capabilities(languages=("en",), sample_rate=24000, voices=("a", "b"),
                                default_voice={"en": "a"}, rate_range=(0.5, 2.0))

    def __init__(self, ms_per_char: int = 60, pause_ms: int = 120) -> None:
        self.ms_per_char, self.pause_ms, self.calls = ms_per_char, pause_ms, 0

    def synthesize(self, request: SynthesisRequest) -> Take:
        voice = self.check_request(request)
        self.calls += 1
        sr = self.capabilities.sample_rate
        text, seed, rate = request.text, request.seed, request.rate
        words = text.split()
        rng = np.random.default_rng(seed)
        parts = [np.zeros(sr * 40 // 1000, np.float32)]  # engines start with a little silence
        for i, word in enumerate(words):
            n = int(sr * self.ms_per_char * len(word) / 1000 / rate)
            t = np.arange(n) / sr
            burst = 0.3 * np.sin(2 * np.pi * (180 + 40 * (i % 3)) * t) * np.hanning(max(n, 2))[:n]
            parts.append((burst + 0.001 * rng.standard_normal(n)).astype(np.float32))
            if i < len(words) - 1:
                parts.append(np.zeros(int(sr * self.pause_ms / 1000 / rate ** 0.5), np.float32))
        parts.append(np.zeros(sr * 80 // 1000, np.float32))
        return Take(np.concatenate(parts), sr, text, engine=self.name, voice=voice, seed=seed, rate=rate)


@pytest.fixture
def tone_engine() -> ToneEngine:
    return ToneEngine()


class FrameToneEngine(Engine):
    """A natively duration-controlled test engine: each character is a symbol rendered for exactly
    its number of 10 ms frames (vowels as tones, consonants as quieter tones, spaces and
    punctuation as silence), like a model that takes per-token durations."""

    name = "frametone"
    capabilities = Capabilities(languages=("en",), sample_rate=24000, voices=("a",), default_voice={"en": "a"},
                                duration_control="native_frames", duration_step_samples=240,
                                rate_range=(0.5, 2.0))
    FRAME = 240

    def __init__(self) -> None:
        self.calls = 0

    def natural_frames(self, text: str) -> np.ndarray:
        def frames(ch: str) -> int:
            if ch in "aeiou":
                return 9
            if ch.isspace():
                return 5
            if not ch.isalpha():
                return 14
            return 5
        return np.array([12] + [frames(c) for c in text] + [20], dtype=np.int32)

    def synthesize(self, request: SynthesisRequest) -> Take:
        self.check_request(request)
        nat = self.natural_frames(request.text)
        return self.synthesize_frames(request, np.maximum(np.round(nat / request.rate), 1).astype(np.int32))

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        voice = self.check_request(request)
        self.calls += 1
        text = request.text
        frames = np.asarray(frames, dtype=np.int32)
        assert frames.size == len(text) + 2
        sr, parts = self.capabilities.sample_rate, []
        for i, n in enumerate(frames):
            ch = text[i - 1] if 0 < i <= len(text) else " "
            t = np.arange(int(n) * self.FRAME) / sr
            if ch.isalpha():
                amp = 0.3 if ch in "aeiou" else 0.12
                parts.append((amp * np.sin(2 * np.pi * (200 + 7 * (ord(ch) % 13)) * t)).astype(np.float32))
            else:
                parts.append(np.zeros(t.size, np.float32))
        return Take(np.concatenate(parts), sr, text, durations=frames, frame_samples=self.FRAME,
                    engine=self.name, voice=voice, seed=request.seed)


@pytest.fixture
def frame_engine() -> FrameToneEngine:
    return FrameToneEngine()


class CloningToneEngine(FrameToneEngine):
    """The frame-tone engine dressed as a cloning, emotional engine that records what each call got."""

    name = "cloning"
    capabilities = Capabilities(languages=("en",), sample_rate=24000, voices=(), cloning="zero_shot",
                                emotion="text", duration_control="native_frames", duration_step_samples=240)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, object, object]] = []

    def synthesize(self, request: SynthesisRequest) -> Take:
        self.seen.append(("synthesize", request.reference, request.emotion))
        self.check_request(request)
        return self.synthesize_frames(request, self.natural_frames(request.text))

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        self.seen.append(("frames", request.reference, request.emotion))
        return super().synthesize_frames(request, frames)


@pytest.fixture
def frame_tone(monkeypatch) -> FrameToneEngine:
    """One frame-tone engine answering for every engine name the registry is asked for."""
    from dubber.plugin import registry

    engine = FrameToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    return engine
