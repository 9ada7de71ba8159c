from pathlib import Path

import numpy as np
import pytest

from dubber.errors import UnknownVoice, UnsupportedLanguage, UsageError
from dubber.plugin.engine import Capabilities, Emotion, Engine, Reference, SynthesisRequest, Take


class Cloner(Engine):
    name = "cloner"
    capabilities = Capabilities(languages=("en", "zh"), sample_rate=24000, voices=(), cloning="zero_shot",
                                emotion="vector")

    def synthesize(self, request):
        return Take(np.zeros(10, np.float32), 24000, request.text, voice=self.check_request(request))


class Catalogue(Engine):
    name = "catalogue"
    capabilities = Capabilities(languages=("en",), sample_rate=22050, voices=("a", "b"), default_voice={"en": "b"})

    def synthesize(self, request):
        return Take(np.zeros(10, np.float32), 22050, request.text, voice=self.check_request(request))


REF = Reference(Path("speaker.wav"), "what the speaker says", "en")


def test_cloning_engine_takes_a_reference_and_its_emotion_form():
    emotion = Emotion("vector", vector=(0.0,) * 8)
    take = Cloner().synthesize(SynthesisRequest("hi", "en", reference=REF, emotion=emotion))
    assert take.voice == "reference"


def test_catalogue_engine_refuses_a_reference():
    with pytest.raises(UsageError, match="cannot clone"):
        Catalogue().synthesize(SynthesisRequest("hi", "en", reference=REF))


@pytest.mark.parametrize("emotion", [Emotion("text", text="calm"), Emotion("mood")])
def test_emotion_must_match_the_declared_form(emotion):
    with pytest.raises(UsageError):
        Cloner().synthesize(SynthesisRequest("hi", "en", reference=REF, emotion=emotion))


def test_default_and_unknown_voices():
    assert Catalogue().synthesize(SynthesisRequest("hi", "en")).voice == "b"
    with pytest.raises(UnknownVoice, match="voices: a, b"):
        Catalogue().synthesize(SynthesisRequest("hi", "en", voice="c"))


def test_language_rate_and_text_are_checked():
    with pytest.raises(UnsupportedLanguage):
        Catalogue().synthesize(SynthesisRequest("hi", "fr"))
    with pytest.raises(UsageError, match="rate"):
        Catalogue().synthesize(SynthesisRequest("hi", "en", rate=5.0))
    with pytest.raises(UsageError, match="no text to speak"):  # the request's fault: not retried
        Catalogue().synthesize(SynthesisRequest("  ", "en"))


def test_engines_without_native_control_refuse_frames():
    from dubber.errors import EngineError

    assert not Catalogue().takes_durations
    with pytest.raises(EngineError, match="cannot take per-token durations"):
        Catalogue().synthesize_frames(SynthesisRequest("hi", "en"), np.array([1, 1, 1, 1]))


def test_capabilities_serialise_the_step_in_ms():
    caps = Capabilities(languages=("en",), sample_rate=22050, voices=("a",), duration_control="native_frames",
                        duration_step_samples=256)
    assert caps.to_dict()["duration_step_ms"] == 11.61


def test_an_engine_may_take_several_emotion_forms():
    class Expressive(Cloner):
        capabilities = Capabilities(languages=("en",), sample_rate=24000, voices=(), cloning="zero_shot",
                                    emotion="vector", emotion_kinds=("vector", "text"))

    assert Expressive.capabilities.to_dict()["emotion_kinds"] == ["vector", "text"]
    assert Cloner.capabilities.to_dict()["emotion_kinds"] == ["vector"]
    assert Catalogue.capabilities.to_dict()["emotion_kinds"] == []
    Expressive().synthesize(SynthesisRequest("hi", "en", reference=REF, emotion=Emotion("text", text="calm")))
    with pytest.raises(UsageError, match="'vector' or 'text', not 'reference'"):
        Expressive().synthesize(SynthesisRequest("hi", "en", reference=REF, emotion=Emotion("reference")))
    with pytest.raises(UsageError, match="takes no emotion"):
        Catalogue().synthesize(SynthesisRequest("hi", "en", emotion=Emotion("text", text="calm")))
