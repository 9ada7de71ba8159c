"""Speakers matched with --voice auto are cast together: two who sound alike still get voices heard apart,
a settled speaker's voice is kept away from, and the report names pairs the catalogue cannot separate.

A stand-in engine speaks harmonic tones (a blend mixes its voices' tones) and a stand-in embedder describes a
clip by its smoothed log-frequency spectrum, as in test_match.py; the real engines run in bench/voice.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.media import write_wav
from dubber.models.onnx_graph import CACHE_ENV
from dubber.plugin import registry
from dubber.plugin.engine import Capabilities, Engine, Take
from dubber.project.store import SpeakerEntry
from dubber.subtitles.cue import Cue
from dubber.subtitles.speakers import AUTO, SpeakerMap, SpeakerSettings
from dubber.voices import casting, match
from dubber.voices.apart import MIN_DISTANCE
from dubber.voices.casting import VoiceRequest, cast_warnings, plan_speaker, plan_speakers

RATE = 24000
PITCHES = {"low": 110.0, "mid": 220.0, "high": 440.0, "top": 880.0}


def tone(f0: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))).astype(np.float32)


class Tones(Engine):
    """Four voices an octave apart; a blend mixes its voices' tones by weight."""

    name = "tones"
    capabilities = Capabilities(languages=("en",), sample_rate=RATE, voices=tuple(PITCHES),
                                default_voice={"en": "mid"})

    def synthesize(self, request):
        voice = request.voice or "mid"
        parts = [(name, float(weight or 1)) for name, _, weight in (p.partition("*") for p in voice.split("+"))]
        total = sum(w for _, w in parts)
        samples = sum(w / total * tone(PITCHES[name], 1.5) for name, w in parts)
        return Take(samples, RATE, request.text, engine=self.name, voice=voice, seed=request.seed)

    def check_voice_choice(self, lang, voice, reference=None, emotion=None):
        if voice and "*" in voice:
            return voice
        return super().check_voice_choice(lang, voice, reference, emotion)

    @staticmethod
    def blend_voices(parts):
        return "+".join(f"{name}*{weight:.6g}" for name, weight in parts)


class Spectrum:
    """A clip's spectral energy in log-frequency bands, smoothed: nearby pitches give nearby vectors."""

    name = "spectrum"
    EDGES = np.geomspace(60, 4000, 257)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        power = np.abs(np.fft.rfft(np.asarray(samples, np.float64))) ** 2
        bands, _ = np.histogram(np.fft.rfftfreq(len(samples), 1 / sample_rate), bins=self.EDGES, weights=power)
        vector = np.sqrt(np.convolve(bands / power.sum(), np.exp(-0.5 * (np.arange(-24, 25) / 8.0) ** 2), "same"))
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def install(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modules=(match, casting)) -> Engine:
    """Make `engine` every engine the registry gives, heard by the spectral embedder, with a cache of its own."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    for module in modules:
        monkeypatch.setattr(module, "default_embedder", Spectrum)
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    monkeypatch.setattr(registry, "engine_class", lambda name: type(engine))
    return engine


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tones:
    return install(Tones(), tmp_path, monkeypatch)


def clips(tmp_path: Path, **pitches: float) -> SpeakerMap:
    """A speakers map giving each speaker a clip: a tone at its pitch, matched with --voice auto."""
    settings = {}
    for name, f0 in pitches.items():
        path = tmp_path / f"{name}.wav"
        write_wav(path, tone(f0, 3.0), RATE)
        settings[name] = SpeakerSettings(name, voice=AUTO, reference=path)
    return SpeakerMap(speakers=settings)


def cues(*names: str) -> list[Cue]:
    return [Cue(i, i * 2000, i * 2000 + 1500, "Hello there.", speaker=name) for i, name in enumerate(names, 1)]



def test_two_speakers_who_sound_alike_get_voices_heard_apart(engine, tmp_path):
    request = VoiceRequest("en", voice=AUTO, speakers=clips(tmp_path, Ann=215.0, Bea=225.0))
    plans = plan_speakers(cues("Ann", "Bea", "Bea"), request, None, RATE, tmp_path, tmp_path / "p.json")
    alone = plan_speaker("Ann", request, None, tmp_path, tmp_path / "p.json")
    assert alone.voice == "mid"  # on her own, Ann's nearest voice
    voices = {name: plan.voice for name, plan in plans.items()}
    assert voices["Bea"] == "mid"  # Bea speaks more lines: she keeps the nearest voice
    assert voices["Ann"] != "mid"
    catalogue = match.VoiceCatalogue(engine, "en")
    assert 1 - float(catalogue.vector(voices["Ann"]) @ catalogue.vector("mid")) >= MIN_DISTANCE
    assert all(plan.entry.matched and plan.entry.similarity is not None for plan in plans.values())
    speakers = {name: plan.entry for name, plan in plans.items()}
    assert cast_warnings(speakers, "film.srt", "en") == []


def test_a_settled_speaker_is_kept_away_from(engine, tmp_path):
    request = VoiceRequest("en", voice=AUTO, speakers=clips(tmp_path, Ann=215.0))
    settled = {"Kai": SpeakerEntry("Kai", "tones", "mid")}
    plan = plan_speaker("Ann", request, None, tmp_path, tmp_path / "p.json", settled=settled)
    assert plan.voice != "mid"


def test_voices_the_catalogue_cannot_separate_are_named_in_the_report(engine, tmp_path):
    catalogue = match.VoiceCatalogue(engine, "en")
    near = catalogue.blend([("mid", 0.9), ("high", 0.1)])
    assert 1 - float(catalogue.vector(near) @ catalogue.vector("mid")) < MIN_DISTANCE  # measured, so known
    speakers = {"Ann": SpeakerEntry("Ann", "tones", "mid"), "Bea": SpeakerEntry("Bea", "tones", near),
                "Cal": SpeakerEntry("Cal", "tones", "mid")}
    notes = cast_warnings(speakers, "film.srt", "en")
    assert [n.code for n in notes] == ["shared-voice", "close-voices", "close-voices"]
    assert "Ann and Cal" in notes[0].message
    assert "Ann and Bea" in notes[1].message and "tones has no voice that keeps them apart" in notes[1].message
    # A pair never measured is not guessed at.
    assert cast_warnings({"Ann": speakers["Ann"], "Dee": replace(speakers["Bea"], voice="low*0.5+top*0.5")},
                         "film.srt", "en") == []
