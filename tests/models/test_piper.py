"""Tests for the Piper engine (en_US-joe-medium)."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.errors import SynthesisError, UnknownVoice, UnsupportedLanguage, UsageError
from dubber.models.frame_budget import speech_budget
from dubber.models.onnx_graph import NO_SPINNING
from dubber.models.piper import ENCODED, FRAME_SAMPLES, SAMPLE_RATE, VOICE, PiperEngine, _phoneme_frames, _split
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, SynthesisRequest

pytestmark = pytest.mark.skipif(
    PiperEngine.unavailable_reason() is not None, reason=str(PiperEngine.unavailable_reason()))


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine()


def test_capabilities() -> None:
    caps = PiperEngine.capabilities
    assert PiperEngine.name == "piper"
    assert caps.languages == ("en",)
    assert caps.sample_rate == 22050
    assert caps.voices == (VOICE,) == ("en_US-joe-medium",)
    assert caps.default_voice == {"en": VOICE}
    assert caps.duration_control == DURATION_NATIVE_FRAMES and caps.duration_step_samples == 256
    assert PiperEngine().takes_durations
    assert caps.rate_range == (0.5, 2.0)


def test_available_without_loading() -> None:
    engine = PiperEngine()
    assert PiperEngine.unavailable_reason() is None
    assert engine._model is None


def test_wrong_language(engine: PiperEngine) -> None:
    with pytest.raises(UnsupportedLanguage):
        engine.synthesize(SynthesisRequest("Bonjour.", "fr"))


def test_wrong_voice(engine: PiperEngine) -> None:
    with pytest.raises(UnknownVoice):
        engine.synthesize(SynthesisRequest("Hello.", "en", voice="nobody"))


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text(engine: PiperEngine, text: str) -> None:
    with pytest.raises(UsageError) as info:  # the request's fault: not retried, 400 from the service
        engine.synthesize(SynthesisRequest(text, "en"))
    assert repr(text) in str(info.value)


def test_rate_out_of_range(engine: PiperEngine) -> None:
    with pytest.raises(UsageError, match="rate"):
        engine.synthesize(SynthesisRequest("Hello.", "en", rate=3.0))


def test_synthesis(engine: PiperEngine) -> None:
    take = engine.synthesize(SynthesisRequest("Hello there. How are you today?", "en", seed=1))
    assert take.samples.dtype == np.float32
    assert take.samples.ndim == 1
    assert take.sample_rate == 22050
    assert 0.8 * 22050 < take.n_samples < 5 * 22050
    assert np.sqrt(np.mean(take.samples ** 2)) > 0.01
    assert np.abs(take.samples).max() <= 1.0
    assert take.engine == "piper" and take.voice == VOICE and take.seed == 1 and take.rate == 1.0
    assert take.frame_samples == FRAME_SAMPLES == 256
    assert take.durations.dtype == np.int32
    # BOS with its pad, each phoneme symbol with its pad, EOS; the space between sentences
    # carries one sentence's EOS and the next one's BOS. Ceil makes every entry at least 1.
    assert len(take.durations) == len(take.phonemes) + 2
    assert take.durations.min() >= 1
    # Measured: the audio is exactly sum(frames) * 256 samples.
    assert take.durations.sum() * take.frame_samples == take.n_samples
    # Two sentences, phonemized by espeak-ng.
    assert "ð" in take.phonemes and len(take.phonemes.split(" ")) >= 2


def test_rate_changes_length(engine: PiperEngine) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    fast = engine.synthesize(SynthesisRequest(text, "en", rate=1.25))
    slow = engine.synthesize(SynthesisRequest(text, "en", rate=0.8))
    assert fast.n_samples < 0.8 * slow.n_samples
    assert fast.durations.sum() < slow.durations.sum()


def test_deterministic(engine: PiperEngine) -> None:
    text = "Same seed, same sound."
    first = engine.synthesize(SynthesisRequest(text, "en", seed=5))
    again = engine.synthesize(SynthesisRequest(text, "en", seed=5))
    other = engine.synthesize(SynthesisRequest(text, "en", seed=6))
    assert np.array_equal(first.samples, again.samples)
    assert np.array_equal(first.durations, again.durations)
    assert first.phonemes == again.phonemes
    assert not np.array_equal(first.samples[:2048], other.samples[:2048])


def test_deterministic_across_instances(engine: PiperEngine) -> None:
    text = "A fresh engine."
    assert np.array_equal(engine.synthesize(SynthesisRequest(text, "en", seed=9)).samples,
                          PiperEngine().synthesize(SynthesisRequest(text, "en", seed=9)).samples)


def test_phoneme_frames_follow_piper_id_layout() -> None:
    from piper.phoneme_ids import phonemes_to_ids

    id_map = {"_": [0], "^": [1], "$": [2], "a": [3], "b": [4]}
    phonemes = ["a", "x", "b"]  # piper skips "x", which has no id
    ids = phonemes_to_ids(phonemes, id_map)
    assert ids == [1, 0, 3, 0, 4, 0, 2]
    frames = _phoneme_frames(phonemes, ids, np.array([5, 1, 2, 1, 3, 1, 4]), id_map)
    assert frames.tolist() == [6, 3, 0, 4, 4]


def test_split_keeps_natural_shares() -> None:
    floors = np.array([1, 0])  # a phoneme id and its PAD
    assert _split(4, np.array([3, 1]), floors).tolist() == [3, 1]
    assert _split(7, np.array([3, 1]), floors).tolist() == [5, 2]
    assert _split(1, np.array([3, 1]), floors).tolist() == [1, 0]
    assert _split(0, np.array([3, 1]), floors).tolist() == [0, 0]


def test_frames_graph_reads_only_the_flow_noise(engine: PiperEngine) -> None:
    model = engine._load()
    assert model.natural.noise == (0, 1) and model.timing.noise == (0,) and model.frames.noise == (1,)
    names = [i.name for i in model.frames.session.get_inputs()]
    assert "/Ceil_output_0" in names and "dubber_noise_0" not in names
    # It decodes from the plan's encoder outputs: the text encoder is not in it.
    assert set(ENCODED) <= set(names) and "input" not in names
    assert set(ENCODED) <= {o.name for o in model.timing.session.get_outputs()}


def test_sessions_wait_without_spinning(engine: PiperEngine) -> None:
    model = engine._load()
    for graph in (model.natural, model.timing, model.frames):
        assert graph.session.get_session_options().get_session_config_entry(NO_SPINNING[0]) == NO_SPINNING[1]


def test_natural_frames_give_the_natural_take(engine: PiperEngine) -> None:
    text = "Hello there. How are you today?"
    natural = engine.synthesize(SynthesisRequest(text, "en", seed=4))
    again = engine.synthesize_frames(SynthesisRequest(text, "en", seed=4), natural.durations)
    # Measured: bit-identical with the same seed (the flow noise is the same draw).
    assert np.array_equal(again.samples, natural.samples)
    assert np.array_equal(again.durations, natural.durations)


@pytest.mark.parametrize("ratio", [0.8, 1.3])
def test_scaled_frames_give_exactly_that_length(engine: PiperEngine, ratio: float) -> None:
    text = "The quick brown fox jumps over the lazy dog. It ran away."
    natural = engine.synthesize(SynthesisRequest(text, "en", seed=2))
    budget = speech_budget(natural.durations, natural.phonemes, round(natural.durations[1:-1].sum() * ratio))
    assert budget.reachable
    take = engine.synthesize_frames(SynthesisRequest(text, "en", seed=2), budget.frames)
    assert np.array_equal(take.durations, budget.frames)
    assert take.n_samples == budget.frames.sum() * FRAME_SAMPLES
    assert np.sqrt(np.mean(take.samples ** 2)) > 0.01
    again = engine.synthesize_frames(SynthesisRequest(text, "en", seed=2), budget.frames)
    assert np.array_equal(take.samples, again.samples)
    other = engine.synthesize_frames(SynthesisRequest(text, "en", seed=3), budget.frames)
    assert other.n_samples == take.n_samples and not np.array_equal(other.samples, take.samples)


def test_target_ms_is_met_natively(engine: PiperEngine) -> None:
    text = "Thank you very much for your help."
    natural = engine.synthesize(SynthesisRequest(text, "en", seed=1))
    target_ms = int(natural.durations[1:-1].sum() * 1000 * FRAME_SAMPLES / SAMPLE_RATE * 1.2)
    take = engine.synthesize(SynthesisRequest(text, "en", seed=1, target_ms=target_ms))
    assert take.durations[1:-1].sum() == round(target_ms * SAMPLE_RATE / 1000 / FRAME_SAMPLES)
    assert take.durations[0] == natural.durations[0] and take.durations[-1] == natural.durations[-1]
    assert take.n_samples == take.durations.sum() * FRAME_SAMPLES


@pytest.mark.parametrize("change", ["short", "float", "zero", "negative"])
def test_bad_frames_raise(engine: PiperEngine, change: str) -> None:
    frames = engine.synthesize(SynthesisRequest("All right.", "en")).durations.copy()
    bad = {"short": frames[:-1], "float": frames.astype(np.float32),
           "zero": np.where(np.arange(len(frames)) == 2, 0, frames),
           "negative": np.where(np.arange(len(frames)) == 2, -1, frames)}[change]
    with pytest.raises(SynthesisError, match="frame"):
        engine.synthesize_frames(SynthesisRequest("All right.", "en"), bad)


@pytest.mark.parametrize("text", ["The boats leave at nine, so we should hurry.",
                                  "Did you remember to bring the camera?"])
def test_the_natural_length_is_estimated_from_the_phonemes(engine: PiperEngine, text: str) -> None:
    from dubber.audio.speech import speech_span

    natural = engine.synthesize(SynthesisRequest(text, "en"))
    measured = speech_span(natural.samples, SAMPLE_RATE).length * 1000 // SAMPLE_RATE
    # Lines the pace was not fitted on; on the 73 it was fitted on, lines over a second came within ±35%.
    assert abs(engine.estimate_speech_ms(text, "en") / measured - 1) <= 0.35


def test_a_long_sentence_is_cut_at_words_and_run_in_bounded_pieces(engine: PiperEngine) -> None:
    from dubber.models.piper import MAX_PHONEMES, _bounded

    assert _bounded(list("ab cd, ef gh"), 6) == [list("ab cd,"), list("ef gh")]  # after the clause mark
    text = "nine " * 90  # one sentence of about 540 phonemes: over the bound, so two graph runs
    sentences = engine._sentences(engine._load(), text)
    assert len(sentences) == 2 and max(len(sentence) for sentence in sentences) <= MAX_PHONEMES
    natural = engine.synthesize(SynthesisRequest(text, "en"))
    assert natural.phonemes == " ".join("".join(sentence) for sentence in sentences)
    assert int(natural.durations.sum()) * FRAME_SAMPLES == natural.n_samples
    # The fitter's frames still reach the pieces: the natural frames give the natural take back.
    again = engine.synthesize_frames(SynthesisRequest(text, "en"), natural.durations)
    assert np.array_equal(again.samples, natural.samples)


@pytest.mark.parametrize("seed", [0, 7])
def test_plan_gives_the_natural_takes_durations_without_audio(engine: PiperEngine, seed: int) -> None:
    request = SynthesisRequest("Two sentences here. And a second one, with a pause.", "en", seed=seed)
    timing = engine.plan(request)
    take = engine.synthesize(request)
    assert timing.phonemes == take.phonemes and timing.frame_samples == FRAME_SAMPLES
    assert np.array_equal(timing.durations, take.durations)
    assert timing.n_samples == take.n_samples and timing.seed == seed
    faster = engine.plan(SynthesisRequest(request.text, "en", seed=seed, rate=1.5))
    assert faster.durations.sum() < timing.durations.sum()


def test_frames_after_a_plan_match_frames_without_one(engine: PiperEngine) -> None:
    request = SynthesisRequest("Where did you put the spare batteries?", "en")
    frames = engine.plan(request).durations * 2
    planned = engine.synthesize_frames(request, frames)  # reuses the plan's frames per phoneme id
    fresh = PiperEngine().synthesize_frames(request, frames)
    assert np.array_equal(planned.samples, fresh.samples)
