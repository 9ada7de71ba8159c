"""Give a speaker the engine voice nearest their own, for engines that cannot clone (issue #5).

Each voice of an engine is described by a speaker vector (`dubber.models.speaker_embedding`):
the normalised mean of the vectors of a few probe sentences it speaks (`PROBES`, never used as
test or benchmark references). A `VoiceCatalogue` measures them once and keeps them under the
cache folder (`$DUBBER_CACHE_DIR/voices`), keyed by engine, voice, language, probe texts and a
fingerprint of the engine's and the embedder's code and installed packages (`code_fingerprint`),
so a new model, adapter or pitch tracker is measured afresh.

`match_voice` ranks the voices by cosine similarity to the reference's vector. Engines that mix
voices (a `blend_voices(parts) -> name` method, as Kokoro has: a weighted average of style
packs) also get pairwise blends of the best BLEND_TOP voices at BLEND_WEIGHTS, each measured by
synthesizing the probes (an embedding is not linear in the style, so it is never interpolated);
a blend wins only if it beats the best single voice. With `pitch`, the winner's probes are
shifted toward the reference's median F0 (at most PITCH_LIMIT semitones, `dubber.audio.pitch`) and
measured again; the shift is kept only when it raises the similarity.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from dubber.audio.media import decode_audio
from dubber.audio.pitch import PITCH_LIMIT, median_f0, pitch_toward, shift_pitch
from dubber.audio.samples import resample
from dubber.errors import UnsupportedLanguage, UsageError
from dubber.models.onnx_graph import cache_dir, file_digest
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin.engine import Engine, Reference, SynthesisRequest

CACHE_FORMAT = 1  # bump when what a cache entry holds, or how it is measured, changes
CACHE_FOLDER = "voices"
PROBE_RATE = 16000  # probe audio is kept at the embedder's rate, as 16-bit samples
PROBE_SEED = 0
BLEND_TOP = 3  # blends are made of pairs among this many best single voices
BLEND_WEIGHTS = (0.25, 0.5, 0.75)  # the better voice's share in each pairwise blend
# Sentences each voice speaks to be described, per language: varied sounds, about 3 s each.
PROBES: dict[str, tuple[str, ...]] = {
    "en": ("A gentle breeze carried the smell of pine across the quiet valley.",
           "Could you tell me whether the museum opens before nine on Saturdays?",
           "Four bright yellow kites were flying high above the crowded beach."),
    "ja": ("山の上から見る景色は、いつも心を落ち着かせてくれます。",
           "新しい駅ができてから、町の雰囲気がずいぶん変わりました。",
           "明日の天気が良ければ、家族で川へ釣りに行く予定です。"),
}


class Embedder(Protocol):
    """What matching needs of a speaker embedder (`SpeakerEmbedder` is one)."""

    name: str

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray: ...


@dataclass(frozen=True)
class VoiceMatch:
    """The voice chosen for a reference, how close it is, and how close the default voice was.

    `pitch_semitones` is the shift to apply to the voice's takes: the one tried
    (`tried_semitones`, toward the reference's median F0, within ±PITCH_LIMIT) when it raised
    the similarity to `pitched_similarity`, else 0.
    """

    voice: str
    similarity: float
    default_voice: str
    default_similarity: float
    candidates: tuple[tuple[str, float], ...]  # every voice and blend measured, best first
    reference_f0: float | None = None
    voice_f0: float | None = None
    tried_semitones: float = 0.0
    pitched_similarity: float | None = None
    pitch_semitones: float = 0.0

    @property
    def gain(self) -> float:
        """How much closer to the reference the match is than the default voice."""
        return self.similarity - self.default_similarity

    @property
    def final_similarity(self) -> float:
        """The similarity of what will be spoken: the voice, shifted when the shift is kept."""
        if self.pitch_semitones and self.pitched_similarity is not None:
            return self.pitched_similarity
        return self.similarity

    def describe(self) -> str:
        """Say in one line what was chosen and the similarity before and after."""
        text = (f"{self.voice}: similarity {self.similarity:.3f} "
                f"(default {self.default_voice}: {self.default_similarity:.3f})")
        if self.pitched_similarity is not None:
            verdict = "kept" if self.pitch_semitones else "not kept"
            text += f"; pitch {self.tried_semitones:+.2f} st -> {self.pitched_similarity:.3f} ({verdict})"
        return text


@dataclass(frozen=True)
class _Measured:
    """A voice as its probes describe it."""

    vector: np.ndarray  # unit speaker vector
    probes: tuple[np.ndarray, ...]  # each probe's audio at PROBE_RATE, float32
    f0: float | None = None  # median F0 over the voiced frames of all probes (None: too few voiced)
    f0_known: bool = False  # F0 is measured on first use: only matched voices need it


class VoiceCatalogue:
    """The speaker vectors of an engine's voices (and blends) in one language, measured once and cached."""

    def __init__(self, engine: Engine, lang: str, *, probes: Sequence[str] | None = None,
                 embedder: Embedder | None = None, cache: bool = True) -> None:
        if lang not in engine.capabilities.languages:
            raise UnsupportedLanguage(f"engine {engine.name!r} does not speak {lang!r}", engine=engine.name,
                                      lang=lang)
        texts = tuple(probes) if probes is not None else PROBES.get(lang, ())
        if not texts:
            raise UsageError(f"voice matching has no probe sentences for {lang!r}; add some to "
                             f"dubber.voices.match.PROBES", lang=lang)
        if embedder is None:
            embedder = default_embedder()
        self.engine, self.lang, self.probes, self.embedder = engine, lang, texts, embedder
        self.cache = cache
        self._measured: dict[str, _Measured] = {}

    @property
    def voices(self) -> tuple[str, ...]:
        """The engine's own voices, in its order."""
        return self.engine.capabilities.voices

    @property
    def default_voice(self) -> str:
        caps = self.engine.capabilities
        return caps.default_voice.get(self.lang) or (caps.voices[0] if caps.voices else "")

    @property
    def can_blend(self) -> bool:
        """Say whether the engine names mixes of its voices (`blend_voices`)."""
        return callable(getattr(self.engine, "blend_voices", None))

    def blend(self, parts: Sequence[tuple[str, float]]) -> str:
        """Return the engine's name for the weighted mix of `parts`."""
        return str(self.engine.blend_voices(list(parts)))  # type: ignore[attr-defined]

    def vector(self, voice: str) -> np.ndarray:
        """Return the unit speaker vector of `voice` (a voice or blend name)."""
        return self._measure(voice).vector

    def known_vector(self, voice: str) -> np.ndarray | None:
        """Return the vector of `voice` when it was measured before (in memory or the cache), never speaking."""
        if voice not in self._measured and self.cache:
            measured = _read_entry(self._cache_path(voice))
            if measured is None:
                return None
            self._measured[voice] = measured
        return self._measured[voice].vector if voice in self._measured else None

    def f0(self, voice: str) -> float | None:
        """Return the median F0 of `voice` over its probes, None when they have too few voiced frames."""
        measured = self._measure(voice)
        if not measured.f0_known:
            measured = replace(measured, f0=median_f0(np.concatenate(measured.probes), PROBE_RATE), f0_known=True)
            self._measured[voice] = measured
            if self.cache:
                _write_entry(self._cache_path(voice), measured)
        return measured.f0

    def similarity(self, reference: np.ndarray, voice: str) -> float:
        """Return the cosine similarity of `voice` to a reference vector."""
        return _cosine(reference, self.vector(voice))

    def rank(self, reference: np.ndarray, voices: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """Return `voices` (default: all) with their similarity to `reference`, most similar first."""
        scored = [(voice, self.similarity(reference, voice)) for voice in (voices or self.voices)]
        return sorted(scored, key=lambda pair: -pair[1])

    def pitched_similarity(self, reference: np.ndarray, voice: str, semitones: float) -> float:
        """Return the similarity of `voice` to `reference` with its probes shifted by `semitones`."""
        probes = self._measure(voice).probes
        vectors = [self.embedder.embed(shift_pitch(audio, PROBE_RATE, semitones), PROBE_RATE) for audio in probes]
        return _cosine(reference, _unit(np.mean(vectors, axis=0)))

    def _measure(self, voice: str) -> _Measured:
        """Return what the probes say of `voice`: from memory, from the cache, or by speaking them."""
        if voice not in self._measured:
            path = self._cache_path(voice) if self.cache else None
            measured = _read_entry(path) if path is not None else None
            if measured is None:
                measured = self._speak_probes(voice)
                if path is not None:
                    _write_entry(path, measured)
            self._measured[voice] = measured
        return self._measured[voice]

    def _speak_probes(self, voice: str) -> _Measured:
        """Have the engine speak every probe in `voice` and describe the result."""
        audio = []
        for text in self.probes:
            take = self.engine.synthesize(SynthesisRequest(text, self.lang, voice, seed=PROBE_SEED))
            audio.append(_as_pcm16(resample(take.samples, take.sample_rate, PROBE_RATE)))
        vectors = [self.embedder.embed(clip, PROBE_RATE) for clip in audio]
        return _Measured(_unit(np.mean(vectors, axis=0)), tuple(audio))

    def _cache_path(self, voice: str) -> Path:
        """Name the cache file of `voice` by everything its measurement depends on."""
        key = json.dumps({
            "format": CACHE_FORMAT, "voice": voice, "lang": self.lang, "probes": self.probes, "seed": PROBE_SEED,
            "engine": self.engine.name, "engine_code": code_fingerprint(type(self.engine).__module__),
            "embedder": getattr(self.embedder, "name", ""),
            "embedder_code": code_fingerprint(type(self.embedder).__module__),
            "f0_code": code_fingerprint("dubber.audio.pitch"),
        }, ensure_ascii=False, sort_keys=True)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        # cache_dir() is the models folder; derived voice data sits beside it.
        return cache_dir().parent / CACHE_FOLDER / f"{_slug(self.engine.name)}-{digest}.npz"


def match_voice(reference_vector: np.ndarray, engine: Engine, lang: str, *, blends: bool = True,
                reference: Reference | str | os.PathLike[str] | None = None, pitch: bool = False,
                reference_f0: float | None = None, pitch_limit: float = PITCH_LIMIT,
                exclude: Collection[str] = (), catalogue: VoiceCatalogue | None = None) -> VoiceMatch:
    """Choose the voice (or blend) of `engine` most similar to the reference's speaker vector.

    With `pitch`, also try shifting the chosen voice toward the reference's median F0: given as
    `reference_f0`, else measured on the `reference` clip. `exclude` leaves voices out of the
    candidates (and out of the default, which becomes the first voice left).
    """
    catalogue = catalogue or VoiceCatalogue(engine, lang)
    if catalogue.engine is not engine or catalogue.lang != lang:
        raise UsageError("the voice catalogue given is for another engine or language", engine=engine.name)
    ranked = rank_voices(reference_vector, catalogue, blends=blends, exclude=exclude)
    return choose_voice(ranked, ranked.voice, catalogue, reference_vector, pitch=pitch, reference=reference,
                        reference_f0=reference_f0, pitch_limit=pitch_limit)


def rank_voices(reference_vector: np.ndarray, catalogue: VoiceCatalogue, *, blends: bool = True,
                exclude: Collection[str] = ()) -> VoiceMatch:
    """Rank the catalogue's voices (and, with `blends`, pairwise blends of the best) by similarity to the
    reference; the match names the best, unpitched."""
    engine = catalogue.engine
    singles = [voice for voice in catalogue.voices if voice not in exclude]
    if not singles:
        raise UsageError(f"engine {engine.name!r} has no voice left to match with", engine=engine.name)
    default = catalogue.default_voice if catalogue.default_voice in singles else singles[0]
    ranked = catalogue.rank(reference_vector, singles)
    if blends and catalogue.can_blend and len(ranked) > 1:
        top = [voice for voice, _ in ranked[:BLEND_TOP]]
        mixes = {catalogue.blend([(first, weight), (second, 1 - weight)])
                 for first, second in itertools.combinations(top, 2) for weight in BLEND_WEIGHTS}
        ranked = sorted(ranked + catalogue.rank(reference_vector, sorted(mixes - set(singles))),
                        key=lambda pair: -pair[1])
    voice, similarity = ranked[0]
    return VoiceMatch(voice, similarity, default, catalogue.similarity(reference_vector, default), tuple(ranked))


def choose_voice(ranked: VoiceMatch, voice: str, catalogue: VoiceCatalogue, reference_vector: np.ndarray, *,
                 pitch: bool = False, reference: Reference | str | os.PathLike[str] | None = None,
                 reference_f0: float | None = None, pitch_limit: float = PITCH_LIMIT) -> VoiceMatch:
    """Settle on `voice`, one of the ranked candidates (the best unless the cast keeps speakers apart), and
    with `pitch` try shifting it toward the reference's median F0 (kept only when the similarity rises)."""
    similarity = dict(ranked.candidates).get(voice)
    if similarity is None:
        similarity = catalogue.similarity(reference_vector, voice)
    match = replace(ranked, voice=voice, similarity=similarity)
    if not pitch:
        return match
    if reference_f0 is None and reference is not None:
        reference_f0 = clip_f0(reference)
    voice_f0 = catalogue.f0(voice)
    semitones = pitch_toward(reference_f0, voice_f0, pitch_limit)
    pitched = catalogue.pitched_similarity(reference_vector, voice, semitones) if semitones else None
    kept = semitones if pitched is not None and pitched > similarity else 0.0
    return replace(match, reference_f0=reference_f0, voice_f0=voice_f0, tried_semitones=semitones,
                   pitched_similarity=pitched, pitch_semitones=kept)


def reference_vector(source: np.ndarray | Reference | str | os.PathLike[str], rate: int | None = None, *,
                     embedder: Embedder | None = None) -> np.ndarray:
    """Return the speaker vector of a reference: a clip (path or `Reference`), or samples at `rate`."""
    if isinstance(source, np.ndarray):
        if rate is None:
            raise UsageError("reference_vector needs the sample rate of the samples it is given")
        samples = source
    else:
        samples, rate = _clip(source)
    if embedder is None:
        embedder = default_embedder()
    return _unit(embedder.embed(samples, rate))


@functools.cache
def code_fingerprint(module: str) -> str:
    """Digest what a module's results depend on besides their inputs: its source, and the installed versions
    of the distribution that provides it and of every package that distribution requires."""
    parts = [module]
    source = getattr(sys.modules.get(module), "__file__", None)
    if source and Path(source).is_file():
        parts.append(file_digest(Path(source)))
    top = module.partition(".")[0]
    for name in sorted(set(metadata.packages_distributions().get(top, []))):
        dist = metadata.distribution(name)
        parts.append(f"{name}=={dist.version}")
        for requirement in dist.requires or []:
            package = re.match(r"[A-Za-z0-9._-]+", requirement)
            try:
                parts.append(f"{package.group(0)}=={metadata.version(package.group(0))}" if package else "")
            except metadata.PackageNotFoundError:
                continue  # an extra that is not installed
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def clip_f0(source: Reference | str | os.PathLike[str]) -> float | None:
    """Return the median F0 of a reference clip, None when too few of its frames are voiced."""
    samples, rate = _clip(source)
    return median_f0(samples, rate)


def _clip(source: Reference | str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode a reference clip to mono samples at the embedder's rate."""
    path = Path(source.audio_path if isinstance(source, Reference) else source).resolve()
    return decode_audio(path, PROBE_RATE, channels=1)[:, 0], PROBE_RATE


def _read_entry(path: Path) -> _Measured | None:
    """Read a cached measurement, or None when there is none (or it cannot be read)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            bounds = np.cumsum(data["lengths"])[:-1]
            probes = tuple(clip.astype(np.float32) / 32767 for clip in np.split(data["audio"], bounds))
            measured = _Measured(data["vector"].astype(np.float32), probes)
            if "f0" in data.files:  # NaN: measured, too few voiced frames
                f0 = float(data["f0"])
                measured = replace(measured, f0=f0 if np.isfinite(f0) else None, f0_known=True)
            return measured
    except (OSError, ValueError, KeyError):  # a damaged entry is measured again
        return None


def _write_entry(path: Path, measured: _Measured) -> None:
    """Cache a measurement; written beside the target and renamed, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False)
    try:
        arrays = {"vector": measured.vector,
                  "audio": np.concatenate([np.round(clip * 32767).astype(np.int16) for clip in measured.probes]),
                  "lengths": np.array([clip.size for clip in measured.probes], dtype=np.int64)}
        if measured.f0_known:
            arrays["f0"] = np.float64(measured.f0 if measured.f0 is not None else np.nan)
        with handle:
            np.savez(handle, **arrays)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _as_pcm16(samples: np.ndarray) -> np.ndarray:
    """Round samples to 16-bit steps, as the cache keeps them, so fresh and cached measurements agree."""
    return (np.round(np.clip(samples, -1.0, 1.0) * 32767) / 32767).astype(np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return cosine(a, b)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "engine"
