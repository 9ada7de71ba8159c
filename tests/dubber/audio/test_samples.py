import numpy as np
import pytest

from dubber.audio.samples import fit_length, ms_to_samples, resample, resampled_length, samples_to_ms, time_stretch


def test_ms_sample_conversions_are_exact_integers():
    assert ms_to_samples(1000, 48000) == 48000
    assert ms_to_samples(1, 22050) == 22
    assert samples_to_ms(22050, 22050) == 1000
    assert isinstance(samples_to_ms(12345, 24000), int)


def test_resample_keeps_duration():
    x = np.sin(np.arange(24000) * 0.05).astype(np.float32)
    y = resample(x, 24000, 48000)
    assert y.dtype == np.float32 and abs(y.size - 48000) <= 1


@pytest.mark.parametrize("ratio", [0.8, 0.95, 1.05, 1.25])
def test_time_stretch_hits_exact_length(ratio):
    x = np.sin(np.arange(24000) * 2 * np.pi * 200 / 24000).astype(np.float32)
    n = round(x.size * ratio)
    y = time_stretch(x, n)
    assert y.size == n and y.dtype == np.float32
    assert 0.5 < np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)) < 1.5


def test_time_stretch_refuses_beyond_bounds():
    with pytest.raises(ValueError):
        time_stretch(np.ones(1000, np.float32), 1300)


def test_fit_length_pads_and_cuts():
    assert fit_length(np.ones(5, np.float32), 8).tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert fit_length(np.ones(5, np.float32), 3).size == 3


@pytest.mark.parametrize(("from_rate", "to_rate"), [(22050, 48000), (24000, 48000), (44100, 48000), (48000, 22050),
                                                    (16000, 16000)])
@pytest.mark.parametrize("n", [1, 2, 1001, 22050, 54321])
def test_resampled_length_is_what_resample_makes(n, from_rate, to_rate):
    assert resample(np.ones(n, np.float32), from_rate, to_rate).size == resampled_length(n, from_rate, to_rate)
