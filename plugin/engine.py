"""The engine contract: what an engine declares and what it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from dubber.errors import EngineError, SynthesisError, UnknownVoice, UnsupportedLanguage, UsageError

# How an engine can reach a target duration, best first.
DURATION_NATIVE_TOKENS = "native_tokens"
DURATION_NATIVE_FRAMES = "native_frames"
DURATION_RATE = "rate"
DURATION_STRETCH_ONLY = "stretch"


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, known without loading it."""

    languages: tuple[str, ...]
    sample_rate: int
    voices: tuple[str, ...]
    default_voice: dict[str, str] = field(default_factory=dict)  # lang -> voice
    cloning: str = "none"  # "none" | "zero_shot"
    emotion: str = "none"  # the main form: "none" | "vector" | "text" | "reference"
    emotion_kinds: tuple[str, ...] = ()  # every form taken; () means just `emotion` (none if "none")
    duration_control: str = DURATION_RATE
    duration_step_samples: int = 0  # smallest duration step, in output samples (0: continuous)
    rate_range: tuple[float, float] = (0.5, 2.0)  # speaking-rate multipliers the engine accepts
    needs_gpu: bool = False
    # How it takes pronunciation markup (dubber.text.pronunciation FORM_*): "markup" reads dubber's own
    # (it speaks phonemes), "cosyvoice" / "indextts" take pinyin in their convention, "" words only.
    pronunciation: str = ""
    max_text_chars: int = 0  # longest text one request takes, in characters without markup (0: no limit)

    @property
    def accepted_emotions(self) -> tuple[str, ...]:
        """Every emotion form the engine takes."""
        if self.emotion_kinds:
            return self.emotion_kinds
        return () if self.emotion == "none" else (self.emotion,)

    def to_dict(self) -> dict[str, object]:
        step_ms = round(1000 * self.duration_step_samples / self.sample_rate, 2)
        return {
            "languages": list(self.languages),
            "sample_rate": self.sample_rate,
            "voices": list(self.voices),
            "default_voice": dict(self.default_voice),
            "cloning": self.cloning,
            "emotion": self.emotion,
            "emotion_kinds": list(self.accepted_emotions),
            "duration_control": self.duration_control,
            "duration_step_ms": step_ms,
            "rate_range": list(self.rate_range),
            "needs_gpu": self.needs_gpu,
            "pronunciation": self.pronunciation,
            "max_text_chars": self.max_text_chars,
        }


@dataclass(frozen=True)
class Reference:
    """A voice to clone: a clip of the speaker and what is said in it (the prompt text)."""

    audio_path: Path
    text: str = ""
    lang: str | None = None


EMOTION_KINDS = ("vector", "text", "reference")


@dataclass(frozen=True)
class Emotion:
    """How a line should feel, in one of the forms cloning engines take."""

    kind: str  # one of EMOTION_KINDS
    vector: tuple[float, ...] = ()  # e.g. IndexTTS2's 8 weights: happy, angry, sad, afraid, disgusted, melancholic, surprised, calm
    text: str = ""
    audio_path: Path | None = None
    alpha: float = 1.0  # how strongly to apply it


@dataclass(frozen=True)
class SynthesisRequest:
    """One line to speak: its text and language, the voice (or reference clip) and emotion, the seed, and how
    long (target_ms) or how fast (rate) to say it."""

    text: str
    lang: str
    voice: str | None = None
    target_ms: int | None = None
    seed: int = 0
    rate: float = 1.0
    reference: Reference | None = None
    emotion: Emotion | None = None


@dataclass
class Take:
    """One synthesis result: the audio and what timing is built on."""

    samples: np.ndarray  # float32, mono, in [-1, 1]
    sample_rate: int
    phonemes: str
    # Frames per phoneme symbol, when the engine has them: int32, len(phonemes) + 2 entries,
    # [silence before, one per symbol of `phonemes`, silence after], summing to the take's length.
    durations: np.ndarray | None = None
    frame_samples: int | None = None  # samples per duration frame
    engine: str = ""
    voice: str = ""
    seed: int = 0
    rate: float = 1.0  # speaking-rate multiplier used (>1 is faster)

    def __post_init__(self) -> None:
        self.samples = np.ascontiguousarray(self.samples, dtype=np.float32).reshape(-1)

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_ms(self) -> int:
        return self.n_samples * 1000 // self.sample_rate


@dataclass
class Timing:
    """A line's natural timing, planned without audio (`Engine.plan`): what `Take` carries, less the samples."""

    sample_rate: int
    phonemes: str
    durations: np.ndarray  # int32 frames laid out as `Take.durations`
    frame_samples: int  # samples per duration frame
    engine: str = ""
    voice: str = ""
    seed: int = 0
    rate: float = 1.0

    def __post_init__(self) -> None:
        self.durations = np.asarray(self.durations, dtype=np.int32).reshape(-1)

    @property
    def n_samples(self) -> int:
        """The length the take would have: every frame, silences included."""
        return int(self.durations.sum()) * self.frame_samples


class Engine(ABC):
    """A text-to-speech engine. Subclasses set `name` and `capabilities`."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # Whether calls on one instance may overlap from several threads (parallel line workers then share
    # it); False: the guard lets one call in at a time.
    thread_safe: ClassVar[bool] = False

    @classmethod
    def from_settings(cls, settings: object) -> Engine:
        """Build the engine from its `[engines.NAME]` config table (`dubber.config.EngineSettings`)."""
        return cls()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Say what is missing (package, weights) or None when the engine can run."""
        return None

    @classmethod
    def availability(cls, settings: object | None = None, probe: bool = False) -> str | None:
        """Say why the engine cannot run with these settings (None: it can), without loading it.

        `settings` is the engine's `[engines.NAME]` table (`dubber.config.EngineSettings`) or None.
        Engines with weights check their folders here; server engines, when `probe` is true, see
        whether their server answers. The answer names what to install, start, or where weights go.
        """
        return cls.unavailable_reason()

    def warm_up(self) -> None:
        """Load what synthesis needs (the model, its sessions) now, instead of on the first call.

        Optional: a dub calls it on a background thread while it reads the original speech, so the first line
        does not wait for the model. The default does nothing (an engine with nothing to load, or a server).
        """

    @abstractmethod
    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak the request's text; honour its `target_ms` natively when the engine can, else use its `rate`.

        Cloning engines speak in the voice of its `reference`; its `emotion` goes to engines that take one.
        """

    def estimate_speech_ms(self, text: str, lang: str, voice: str | None = None) -> int | None:
        """Estimate how long `text` lasts spoken naturally (the speech, not the silence around it), cheaply.

        Optional: an engine that can phonemize without synthesising answers its phonemes at its voice's
        pace, so a line far beyond its slot is refused before any synthesis. None (the default): the
        engine has no estimate, and dubber estimates from the text (`dubber.synthesis.budget`).
        """
        return None

    def plan(self, request: SynthesisRequest) -> Timing | None:
        """Predict the request's natural timing at its `rate` without rendering audio, cheaply.

        Optional, for engines with native duration control whose model predicts its durations apart from
        its decoder: the answer is the phonemes and frames the take of the same request would have (the
        same seed gives the same durations), so the fitter budgets frames from it and renders a line once
        (`synthesize_frames`) instead of rendering a natural take first. None (the default): no plan.
        """
        return None

    @property
    def takes_durations(self) -> bool:
        """Say whether `synthesize_frames` can render our own per-token durations."""
        return self.capabilities.duration_control in (DURATION_NATIVE_FRAMES, DURATION_NATIVE_TOKENS)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak the request's text with exactly `frames` per symbol, laid out as `Take.durations`.

        Only engines with native duration control implement this; the returned take's
        `durations` equal `frames` and its length is their sum times `frame_samples`.
        The request's `target_ms` and `rate` do not apply: the frames set the timing.
        """
        raise EngineError(f"engine {self.name!r} cannot take per-token durations "
                          f"(duration control: {self.capabilities.duration_control})", engine=self.name)

    def check_frames(self, text: str, phonemes: str, frames: np.ndarray) -> np.ndarray:
        """Validate frames laid out as `Take.durations` for these phonemes and return them as int32."""
        frames = np.asarray(frames)
        if frames.ndim != 1 or len(frames) != len(phonemes) + 2 or not np.issubdtype(frames.dtype, np.integer):
            raise SynthesisError(
                f"{self.name} needs {len(phonemes) + 2} whole frame counts for {text!r} (silence before, one per "
                f"symbol of {phonemes!r}, silence after), got {frames.dtype} of shape {frames.shape}",
                engine=self.name, text=text)
        if frames.min() < 0:
            raise SynthesisError(f"{self.name} got negative frames for {text!r}: {frames.tolist()}",
                                 engine=self.name, text=text)
        return frames.astype(np.int32)

    def need_reference(self, reference: Reference | None, what: str = "") -> Reference:
        """Return the reference a cloning engine was given, or say how to give one (`what`: its limits)."""
        if reference is None:
            raise UsageError(f"engine {self.name!r} clones a voice and has none of its own: give it a reference "
                             f"clip{what} and its transcript (--reference CLIP --reference-text TEXT)",
                             engine=self.name)
        return reference

    def check_voice_choice(self, lang: str, voice: str | None, reference: Reference | None = None,
                           emotion: Emotion | None = None) -> str:
        """Validate a speaker's language, voice, reference and emotion, before any line; return the voice to use."""
        caps = self.capabilities
        check_language(self.name, caps, lang)
        if reference is None and caps.cloning != "none" and not caps.voices:
            self.need_reference(reference)
        if reference is not None and caps.cloning == "none":
            raise UsageError(f"engine {self.name!r} cannot clone a voice from a reference; pick one of its voices",
                             engine=self.name)
        if emotion is not None and emotion.kind not in EMOTION_KINDS:
            raise UsageError(f"unknown emotion kind {emotion.kind!r}; use one of {', '.join(EMOTION_KINDS)}",
                             engine=self.name)
        if emotion is not None and emotion.kind not in caps.accepted_emotions:
            taken = " or ".join(repr(kind) for kind in caps.accepted_emotions)
            raise UsageError(f"engine {self.name!r} takes " + (f"emotion as {taken}, not {emotion.kind!r}" if taken
                             else "no emotion"), engine=self.name)
        if reference is not None:
            return voice or "reference"  # a cloned voice is named by its reference, not a catalogue entry
        if voice is None:
            voice = caps.default_voice.get(lang) or (caps.voices[0] if caps.voices else "")
        check_voice(self.name, caps, voice)
        return voice

    def check_request(self, request: SynthesisRequest) -> str:
        """Validate a request (the voice choice as `check_voice_choice` does, the rate, the text); return the voice."""
        voice = self.check_voice_choice(request.lang, request.voice, request.reference, request.emotion)
        low, high = self.capabilities.rate_range
        rate, text = request.rate, request.text
        if not low <= rate <= high:
            raise UsageError(f"rate {rate} is outside {self.name}'s range {low}-{high}", engine=self.name, rate=rate)
        if not text.strip():
            raise UsageError(f"{self.name} has no text to speak: {text!r}", engine=self.name, text=text)
        return voice


def check_language(name: str, caps: Capabilities, lang: str) -> None:
    """Refuse a language engine `name` does not speak (checked from its capabilities: nothing is loaded)."""
    if lang not in caps.languages:
        raise UnsupportedLanguage(f"engine {name!r} does not speak {lang!r} (it speaks {', '.join(caps.languages)})",
                                  engine=name, lang=lang)


def check_voice(name: str, caps: Capabilities, voice: str) -> None:
    """Refuse a voice that is not in engine `name`'s catalogue."""
    if voice not in caps.voices:
        raise UnknownVoice(f"engine {name!r} has no voice {voice!r} (voices: {', '.join(caps.voices) or 'none'})",
                           engine=name, voice=voice)
