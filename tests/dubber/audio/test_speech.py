import numpy as np

from dubber.audio.speech import speech_span, trim_silence

SR = 24000


def _burst(lead_ms: int, speech_ms: int, tail_ms: int, amp: float = 0.3) -> np.ndarray:
    n = SR * speech_ms // 1000
    tone = amp * np.sin(2 * np.pi * 220 * np.arange(n) / SR)
    return np.concatenate([np.zeros(SR * lead_ms // 1000), tone, np.zeros(SR * tail_ms // 1000)]).astype(np.float32)


def test_span_edges_within_a_few_ms():
    span = speech_span(_burst(200, 1000, 300), SR)
    assert abs(span.start - SR * 200 // 1000) <= SR * 4 // 1000
    assert abs(span.end - SR * 1200 // 1000) <= SR * 4 // 1000


def test_silence_has_no_span():
    assert speech_span(np.zeros(SR, np.float32), SR) is None
    assert speech_span(np.zeros(0, np.float32), SR) is None


def test_low_noise_floor_is_not_speech():
    x = _burst(300, 500, 300)
    x += (1e-4 * np.random.default_rng(0).standard_normal(x.size)).astype(np.float32)
    span = speech_span(x, SR)
    assert abs(span.start - SR * 300 // 1000) <= SR * 5 // 1000


def test_quiet_speech_is_found_relative_to_its_own_level():
    span = speech_span(_burst(100, 400, 100, amp=0.01), SR)
    assert span is not None and abs(span.length - SR * 400 // 1000) <= SR * 8 // 1000


def test_trim_silence_keeps_the_span():
    assert abs(trim_silence(_burst(100, 400, 100), SR).size - SR * 400 // 1000) <= SR * 8 // 1000
