"""Pitch: the median F0 of voiced frames, a length-exact shift, and the clamped shift toward a reference."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.audio.pitch import PITCH_LIMIT, median_f0, pitch_toward, shift_pitch

RATE = 24000
UP_3 = 2 ** (3 / 12)  # 1.189


def harmonic_tone(f0: float, seconds: float, rate: int = RATE) -> np.ndarray:
    """A voiced-like tone: five harmonics with falling amplitudes."""
    t = np.arange(int(seconds * rate)) / rate
    return (sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))).astype(np.float32)


@pytest.mark.parametrize("f0", [110.0, 240.0])
def test_median_f0_of_a_harmonic_tone(f0: float) -> None:
    assert median_f0(harmonic_tone(f0, 1.0), RATE) == pytest.approx(f0, rel=0.02)


def test_median_f0_counts_voiced_frames_only() -> None:
    rng = np.random.default_rng(0)
    noise = (0.05 * rng.standard_normal(RATE)).astype(np.float32)
    # Twice as much silence and noise as tone: an unvoiced-blind median would not land on the tone.
    clip = np.concatenate([np.zeros(RATE, np.float32), harmonic_tone(180.0, 1.0), noise])
    assert median_f0(clip, RATE) == pytest.approx(180.0, rel=0.02)


def test_median_f0_is_none_without_voice() -> None:
    rng = np.random.default_rng(1)
    assert median_f0((0.1 * rng.standard_normal(RATE)).astype(np.float32), RATE) is None
    assert median_f0(np.zeros(RATE, np.float32), RATE) is None
    assert median_f0(np.zeros(100, np.float32), RATE) is None


@pytest.mark.parametrize("semitones", [3.0, -3.0])
def test_shift_moves_the_median_f0_and_keeps_the_length(semitones: float) -> None:
    tone = harmonic_tone(150.0, 1.3)
    shifted = shift_pitch(tone, RATE, semitones)
    assert shifted.dtype == np.float32 and shifted.size == tone.size
    ratio = median_f0(shifted, RATE) / median_f0(tone, RATE)
    assert ratio == pytest.approx(2 ** (semitones / 12), rel=0.03)
    if semitones > 0:
        assert ratio == pytest.approx(UP_3, rel=0.03)


@pytest.mark.parametrize("n", [2048, 38912, 76800, 30001])
def test_shift_keeps_the_end_when_the_length_is_a_whole_number_of_packets(n: int) -> None:
    # Measured: without the tail, ffmpeg's rubberband drops ~1900 samples of a multiple of 1024.
    tone = harmonic_tone(200.0, n / RATE)[:n]
    shifted = shift_pitch(tone, RATE, 2.0)
    assert shifted.size == n
    assert np.abs(shifted[-256:]).max() > 0.1


def test_shift_by_nothing_is_a_copy() -> None:
    tone = harmonic_tone(200.0, 0.5)
    same = shift_pitch(tone, RATE, 0.0)
    assert np.array_equal(same, tone) and same is not tone
    assert shift_pitch(np.zeros(0, np.float32), RATE, 2.0).size == 0


def test_pitch_toward_is_clamped() -> None:
    assert pitch_toward(200.0, 100.0) == PITCH_LIMIT == 3.0
    assert pitch_toward(100.0, 200.0) == -3.0
    assert pitch_toward(110.0, 100.0) == pytest.approx(12 * np.log2(1.1))
    assert pitch_toward(200.0, 100.0, limit=1.5) == 1.5
    assert pitch_toward(None, 100.0) == pitch_toward(100.0, None) == pitch_toward(0.0, 100.0) == 0.0
