"""Voice matching: ranking, blends kept only when better, the pitch shift, and the catalogue's cache.

The ranking logic runs on a fake engine whose voices are harmonic tones (a blend mixes its voices'
tones by weight) and a fake embedder that describes a clip by its smoothed log-frequency spectrum,
so similar pitches give similar vectors. The real engines are exercised by bench/voice.py and by
the Kokoro blend tests in tests/models/test_kokoro.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.media import write_wav
from dubber.errors import UnsupportedLanguage, UsageError
from dubber.models.onnx_graph import CACHE_ENV
from dubber.plugin.engine import Capabilities, Engine, Reference, SynthesisRequest, Take
from dubber.voices.match import PROBES, VoiceCatalogue, code_fingerprint, match_voice, reference_vector

RATE = 24000
PITCHES = {"low": 120.0, "mid": 220.0, "high": 400.0}
TEST_PROBES = ("one two", "three four five")


def tone(f0: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))).astype(np.float32)


def parse(voice: str) -> list[tuple[str, float]]:
    parts = [(name, float(weight or 1)) for name, _, weight in (p.partition("*") for p in voice.split("+"))]
    total = sum(w for _, w in parts)
    return [(name, w / total) for name, w in parts]


class ToneVoices(Engine):
    """Three voices, each a harmonic tone at its own pitch; a blend mixes its voices' tones by weight."""

    name = "tonevoices"
    capabilities = Capabilities(languages=("en",), sample_rate=RATE, voices=tuple(PITCHES),
                                default_voice={"en": "mid"})

    def __init__(self) -> None:
        self.spoken: list[str] = []

    def synthesize(self, request):
        voice = request.voice or "mid"
        self.check_request(replace(request, voice=voice.split("*")[0].split("+")[0]))
        self.spoken.append(voice)
        seconds = 0.4 + 0.04 * len(request.text)
        samples = sum(w * tone(PITCHES[name], seconds) for name, w in parse(voice))
        return Take(samples, RATE, request.text, engine=self.name, voice=voice, seed=request.seed)

    @staticmethod
    def blend_voices(parts):
        return "+".join(f"{name}*{weight:.6g}" for name, weight in parts)


class NoBlends(ToneVoices):
    blend_voices = None  # type: ignore[assignment]


class SpectrumEmbedder:
    """A stand-in speaker embedder: the clip's spectral energy in 256 log-frequency bands, smoothed
    over about 2.5 semitones so that nearby pitches give similar vectors."""

    name = "spectrum"
    EDGES = np.geomspace(60, 4000, 257)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        power = np.abs(np.fft.rfft(np.asarray(samples, np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(samples), 1 / sample_rate)
        bands, _ = np.histogram(freqs, bins=self.EDGES, weights=power)
        kernel = np.exp(-0.5 * (np.arange(-24, 25) / 8.0) ** 2)
        vector = np.sqrt(np.convolve(bands / power.sum(), kernel, mode="same"))
        return (vector / np.linalg.norm(vector)).astype(np.float32)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
def engine() -> ToneVoices:
    return ToneVoices()


def catalogue_for(engine: Engine, **kwargs) -> VoiceCatalogue:
    return VoiceCatalogue(engine, "en", probes=TEST_PROBES, embedder=SpectrumEmbedder(), **kwargs)


def spoken_vector(engine: Engine, voice: str) -> np.ndarray:
    take = engine.synthesize(SynthesisRequest("a reference line", "en", voice))
    return reference_vector(take.samples, take.sample_rate, embedder=SpectrumEmbedder())


def test_a_voice_is_matched_to_itself(engine: ToneVoices) -> None:
    catalogue = catalogue_for(engine)
    for voice in PITCHES:
        match = match_voice(spoken_vector(engine, voice), engine, "en", catalogue=catalogue)
        assert match.voice == voice and match.similarity > 0.99
        assert match.default_voice == "mid"
        assert match.default_similarity == pytest.approx(catalogue.similarity(spoken_vector(engine, voice), "mid"))
        similarities = [s for _, s in match.candidates]
        assert similarities == sorted(similarities, reverse=True)
        # Blends were measured (the engine mixes voices), but none beats the voice itself.
        assert any("+" in v for v, _ in match.candidates)


def test_a_blend_wins_only_when_it_beats_the_best_single_voice(engine: ToneVoices) -> None:
    catalogue = catalogue_for(engine)
    reference = spoken_vector(engine, "low*0.7+mid*0.3")
    match = match_voice(reference, engine, "en", catalogue=catalogue)
    assert set(dict(parse(match.voice))) == {"low", "mid"}
    best_single = max(s for v, s in match.candidates if "+" not in v)
    assert match.similarity > best_single
    assert match.gain == pytest.approx(match.similarity - match.default_similarity)
    # Blend vectors come from speaking the probes in the blend, not from mixing vectors.
    assert {v for v in engine.spoken if "+" in v} >= {match.voice}
    single = match_voice(reference, engine, "en", blends=False, catalogue=catalogue)
    assert single.voice == "low" and single.similarity == pytest.approx(best_single)


def test_no_blends_for_engines_that_cannot_mix() -> None:
    engine = NoBlends()
    match = match_voice(spoken_vector(engine, "low"), engine, "en", catalogue=catalogue_for(engine))
    assert all("+" not in v for v, _ in match.candidates) and len(match.candidates) == 3
    assert all("+" not in v for v in engine.spoken[1:])


def test_blends_mix_only_the_best_voices(engine: ToneVoices, monkeypatch: pytest.MonkeyPatch) -> None:
    from dubber.voices import match as voice_match

    monkeypatch.setattr(voice_match, "BLEND_TOP", 2)
    match = match_voice(spoken_vector(engine, "high"), engine, "en", catalogue=catalogue_for(engine))
    blends = [v for v, _ in match.candidates if "+" in v]
    assert len(blends) == len(voice_match.BLEND_WEIGHTS)
    assert all(set(dict(parse(v))) == {"high", "mid"} for v in blends)


def test_excluded_voices_are_not_candidates_nor_the_default(engine: ToneVoices) -> None:
    catalogue = catalogue_for(engine)
    match = match_voice(spoken_vector(engine, "mid"), engine, "en", blends=False, exclude=("mid",),
                        catalogue=catalogue)
    assert match.voice in ("low", "high") and all(v != "mid" for v, _ in match.candidates)
    assert match.default_voice == "low"  # the first voice left
    with pytest.raises(UsageError, match="no voice left"):
        match_voice(spoken_vector(engine, "mid"), engine, "en", exclude=tuple(PITCHES), catalogue=catalogue)


def test_pitch_shift_is_kept_when_it_raises_the_similarity(engine: ToneVoices) -> None:
    catalogue = catalogue_for(engine)
    # A speaker 2 semitones above "mid": the shift moves "mid" onto it.
    reference = reference_vector(tone(220.0 * 2 ** (2 / 12), 1.5), RATE, embedder=SpectrumEmbedder())
    match = match_voice(reference, engine, "en", blends=False, pitch=True, reference_f0=220.0 * 2 ** (2 / 12),
                        catalogue=catalogue)
    assert match.voice == "mid"
    assert match.voice_f0 == pytest.approx(220.0, rel=0.02)
    assert match.tried_semitones == pytest.approx(2.0, abs=0.4)
    assert match.pitched_similarity is not None and match.pitched_similarity > match.similarity
    assert match.pitch_semitones == match.tried_semitones
    assert match.final_similarity == match.pitched_similarity
    assert "kept" in match.describe() and "not kept" not in match.describe()


def test_pitch_shift_is_dropped_when_it_lowers_the_similarity(engine: ToneVoices) -> None:
    catalogue = catalogue_for(engine)
    # The reference sounds like "mid" but its F0 is claimed an octave higher: moving toward it only hurts.
    match = match_voice(spoken_vector(engine, "mid"), engine, "en", blends=False, pitch=True, reference_f0=440.0,
                        catalogue=catalogue)
    assert match.tried_semitones == pytest.approx(3.0)  # clamped
    assert match.pitched_similarity is not None and match.pitched_similarity < match.similarity
    assert match.pitch_semitones == 0.0 and match.final_similarity == match.similarity
    assert "not kept" in match.describe()


def test_pitch_reads_the_reference_clip(engine: ToneVoices, tmp_path: Path) -> None:
    clip = write_wav(tmp_path / "speaker.wav", tone(250.0, 1.2, 48000), 48000)
    vector = reference_vector(Reference(clip), embedder=SpectrumEmbedder())
    match = match_voice(vector, engine, "en", blends=False, pitch=True, reference=clip,
                        catalogue=catalogue_for(engine))
    assert match.reference_f0 == pytest.approx(250.0, rel=0.02)
    assert match.tried_semitones == pytest.approx(12 * np.log2(250 / 220), abs=0.4)


def test_reference_vector_from_a_clip_or_samples(tmp_path: Path) -> None:
    samples = tone(180.0, 1.0, 44100)
    clip = write_wav(tmp_path / "ref.wav", samples, 44100)
    embedder = SpectrumEmbedder()
    from_clip = reference_vector(clip, embedder=embedder)
    from_samples = reference_vector(samples, 44100, embedder=embedder)
    assert float(from_clip @ from_samples) > 0.99
    assert float(reference_vector(Reference(clip), embedder=embedder) @ from_clip) == pytest.approx(1.0)
    with pytest.raises(UsageError, match="sample rate"):
        reference_vector(samples)


def test_catalogue_is_cached_by_what_it_depends_on(engine: ToneVoices, cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dubber.voices import match as voice_match

    first = catalogue_for(engine)
    vector = first.vector("low")
    assert engine.spoken == ["low"] * len(TEST_PROBES)
    files = list((cache / "voices").glob("tonevoices-*.npz"))
    assert len(files) == 1
    f0 = first.f0("low")  # measured on first use, and added to the entry
    assert f0 == pytest.approx(PITCHES["low"], rel=0.02)

    again = ToneVoices()
    cached = catalogue_for(again)
    with monkeypatch.context() as patch:
        patch.setattr(voice_match, "median_f0", lambda *a: pytest.fail("F0 should come from the cache"))
        assert np.array_equal(cached.vector("low"), vector) and cached.f0("low") == f0
    assert again.spoken == []  # read from the cache, not spoken
    # The cached probes still serve the pitch shift.
    assert cached.pitched_similarity(vector, "low", 1.0) == pytest.approx(first.pitched_similarity(vector, "low", 1.0))

    other_probes = VoiceCatalogue(again, "en", probes=("something else",), embedder=SpectrumEmbedder())
    other_probes.vector("low")
    assert again.spoken == ["low"]

    files[0].write_bytes(b"not an npz")  # a damaged entry is measured again
    catalogue_for(again).vector("low")
    assert again.spoken == ["low"] * (1 + len(TEST_PROBES))

    uncached = ToneVoices()
    catalogue_for(uncached, cache=False).vector("low")
    assert uncached.spoken == ["low"] * len(TEST_PROBES)


def test_fingerprint_follows_the_module() -> None:
    assert code_fingerprint("dubber.audio.pitch") == code_fingerprint("dubber.audio.pitch")
    assert code_fingerprint("dubber.audio.pitch") != code_fingerprint("dubber.audio.samples")


def test_catalogue_checks_language_and_probes(engine: ToneVoices) -> None:
    with pytest.raises(UnsupportedLanguage):
        VoiceCatalogue(engine, "ja", embedder=SpectrumEmbedder())
    with pytest.raises(UsageError, match="probe"):
        VoiceCatalogue(engine, "en", probes=(), embedder=SpectrumEmbedder())
    with pytest.raises(UsageError, match="another engine"):
        match_voice(np.ones(256), ToneVoices(), "en", catalogue=catalogue_for(engine))


def test_probes_are_not_bench_references(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "bench" / "voice.py"
    spec = importlib.util.spec_from_file_location("bench_voice", path)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_voice", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    assert not set(bench.ENGLISH) & set(PROBES["en"]) and not set(bench.JAPANESE) & set(PROBES["ja"])
    assert all(len(PROBES[lang]) in (2, 3) for lang in ("en", "ja"))
