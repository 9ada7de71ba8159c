"""--voice tune in casting: the matched voice is tuned toward the speaker, the answer spoken and recorded, a
re-run costs no synthesis, and an engine without style packs is refused before any clip is cut.

The stand-in engine speaks harmonic tones whose pitch is its style pack's one timbre value (log2 of the pitch),
so a tuned pack is a new pitch; a spectral embedder (test_casting_together.py) hears it move toward the
reference. The search itself is tested in test_tune.py, real Kokoro in bench/tune.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.media import write_wav
from dubber.cli.main import _speaker_line
from dubber.errors import UsageError
from dubber.plugin import registry
from dubber.plugin.engine import Capabilities, Engine, Take
from dubber.project.store import Project, load_project, save_project
from dubber.subtitles.speakers import TUNE, SpeakerMap, SpeakerSettings
from dubber.voices import casting, match, tune
from dubber.voices.casting import VoiceRequest, plan_speaker, plan_speakers
from tests.dubber.voices.test_casting_together import PITCHES, RATE, Spectrum, Tones, cues, install, tone


class TunableTones(Engine):
    """The tone voices, each a style pack (4 rows: log2 of its pitch, then a prosody value); tuned packs speak
    at the pitch their timbre value names."""

    name = "tunabletones"
    capabilities = Capabilities(languages=("en",), sample_rate=RATE, voices=tuple(PITCHES),
                                default_voice={"en": "mid"})
    timbre_dims = 1

    def __init__(self) -> None:
        self.packs = {v: np.array([[np.log2(f0), 0.0]] * 4, np.float32) for v, f0 in PITCHES.items()}
        self.spoken: list[str] = []

    def check_voice_choice(self, lang, voice, reference=None, emotion=None):
        if voice in self.packs:
            super().check_voice_choice(lang, None, reference, emotion)
            return voice
        return super().check_voice_choice(lang, voice, reference, emotion)

    def synthesize(self, request):
        voice = self.check_request(request)
        self.spoken.append(voice)
        f0 = float(2 ** self.packs[voice][:, 0].mean())
        return Take(tone(f0, 1.5), RATE, request.text, engine=self.name, voice=voice, seed=request.seed)

    def voice_pack(self, voice: str) -> np.ndarray:
        return self.packs[self.check_voice_choice("en", voice)].copy()

    def tuned_voice(self, pack: np.ndarray, *, keep: bool = True) -> str:
        name = "tuned-" + hashlib.sha256(np.asarray(pack, np.float32).tobytes()).hexdigest()[:16]
        self.packs[name] = np.array(pack, np.float32)
        return name


class Understood:
    """Whisper, hearing every probe right: intelligibility is not what these tests are about."""

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        return "right"

    def wer(self, references: list[str], hypotheses: list[str]) -> float:
        return 0.0


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TunableTones:
    monkeypatch.setattr(tune, "default_judge", Spectrum)
    monkeypatch.setattr(tune, "Whisper", Understood)
    return install(TunableTones(), tmp_path, monkeypatch, (match, casting, tune))


def speaker_at(tmp_path: Path, name: str, f0: float, voice: str = TUNE) -> SpeakerMap:
    path = tmp_path / f"{name}.wav"
    write_wav(path, tone(f0, 3.0), RATE)
    return SpeakerMap(speakers={name: SpeakerSettings(name, voice=voice, reference=path)})


def test_a_tuned_voice_comes_closer_to_the_speaker_than_the_matched_one(engine, tmp_path):
    steps: list[tuple[str, int, int]] = []
    request = VoiceRequest("en", voice=TUNE, speakers=speaker_at(tmp_path, "Ann", 300.0),
                           progress=lambda *step: steps.append(step))
    plans = plan_speakers(cues("Ann"), request, None, RATE, tmp_path, tmp_path / "p.json")
    entry = plans["Ann"].entry
    assert entry.matched and entry.tuned_from in PITCHES and entry.tuned
    assert plans["Ann"].voice == entry.voice and entry.voice.startswith("tuned-")
    assert entry.tune_similarity[1] > entry.tune_similarity[0]
    assert entry.tune_judged[1] > entry.tune_judged[0] and entry.tune_wer == [0.0, 0.0]
    assert "closer under both encoders" in entry.tune_reason
    # The tuned pitch moved from the matched voice's toward the speaker's 300 Hz.
    start, tuned = (float(2 ** engine.packs[v][:, 0].mean()) for v in (entry.tuned_from, entry.voice))
    assert abs(tuned - 300.0) < abs(start - 300.0)
    assert {s[0] for s in steps} == {"Ann"} and steps[-1][1] == steps[-1][2]
    assert [s[1] for s in steps] == sorted(s[1] for s in steps)

    # A second run (a resumed dub, a re-roll) finds the tuning in the cache: nothing is spoken.
    engine.spoken.clear()
    again = plan_speaker("Ann", request, None, tmp_path, tmp_path / "p.json")
    assert again.voice == entry.voice and again.entry.tune_similarity == entry.tune_similarity
    assert engine.spoken == []

    # The project keeps what tuning measured, and the CLI says it.
    save_project(Project("v.mp4", "v.srt", "en", speakers={"Ann": entry}), tmp_path / "p.json")
    assert load_project(tmp_path / "p.json").speakers["Ann"] == entry
    line = _speaker_line("Ann", entry.__dict__)
    assert f"tuned from {entry.tuned_from}: kept" in line and "judge" in line and "WER 0.0 -> 0.0" in line


def test_a_speaker_the_matched_voice_fits_exactly_keeps_it(engine, tmp_path):
    request = VoiceRequest("en", voice=TUNE, speakers=speaker_at(tmp_path, "Ann", PITCHES["high"]))
    entry = plan_speaker("Ann", request, None, tmp_path, tmp_path / "p.json").entry
    assert entry.voice == entry.tuned_from == "high" and not entry.tuned
    assert entry.tune_reason


def test_tune_on_an_engine_without_style_packs_is_refused_before_any_clip_is_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: Tones())
    request = VoiceRequest("en", voice=TUNE)
    with pytest.raises(UsageError, match="tones has no style vector to tune"):
        plan_speaker("Ann", request, None, tmp_path, tmp_path / "p.json")
    assert list(tmp_path.iterdir()) == []
