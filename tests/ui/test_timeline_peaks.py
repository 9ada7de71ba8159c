"""The timeline's waveform pyramid and spectrogram against brute force on generated audio, from an array and from
a track on disk read by ranges."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.audio.source import DiskAudio
from dubber.ui.peaks import BASE_BLOCK, FANOUT, READ_BLOCK, Peaks, Spectrogram, column_edges, envelope_columns

RATE = 8000


def brute(frames_lo: np.ndarray, frames_hi: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min and max over frames [bounds[i], bounds[i+1]) for each column, NaN where empty."""
    n = frames_lo.size
    lo, hi = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        a, b = max(int(a), 0), min(int(b), n)
        lo.append(frames_lo[a:b].min() if b > a else np.nan)
        hi.append(frames_hi[a:b].max() if b > a else np.nan)
    return np.array(lo, np.float32), np.array(hi, np.float32)


@pytest.fixture(scope="module")
def stereo() -> np.ndarray:
    rng = np.random.default_rng(21)
    return rng.uniform(-1, 1, (RATE * 60 + 1234, 2)).astype(np.float32)  # a minute and a ragged tail


def test_the_pyramid_levels_are_min_and_max_of_their_blocks(stereo):
    peaks = Peaks(stereo, RATE)
    lo_frames, hi_frames = stereo.min(axis=1), stereo.max(axis=1)
    for level in (0, 1, 3):
        block = BASE_BLOCK * FANOUT ** level
        bounds = np.arange(0, stereo.shape[0] + block, block)
        lo, hi = brute(lo_frames, hi_frames, bounds)
        np.testing.assert_array_equal(peaks.levels[level][0][: lo.size], lo[: peaks.levels[level][0].size])
        np.testing.assert_array_equal(peaks.levels[level][1][: hi.size], hi[: peaks.levels[level][1].size])
    assert peaks.levels[-1][0].size == 1
    assert (peaks.levels[-1][0][0], peaks.levels[-1][1][0]) == (stereo.min(), stereo.max())


@pytest.mark.parametrize("level", [0, 1, 2, 4])
def test_columns_equal_brute_force_where_the_level_aligns(stereo, level):
    """Columns whose edges fall on the level's blocks are exact."""
    peaks = Peaks(stereo, RATE)
    block = BASE_BLOCK * FANOUT ** level
    columns = 50
    per_column = block * (2 if level < 4 else 1)  # the level the query picks: block <= samples per column
    first = block * 3
    start_ms, end_ms = first * 1000 // RATE, (first + columns * per_column) * 1000 // RATE
    assert (first * 1000) % RATE == 0 and ((first + columns * per_column) * 1000) % RATE == 0
    assert peaks.level_for(per_column) == level
    lo, hi = peaks.columns(0, (start_ms, end_ms), columns)
    expected = brute(stereo.min(axis=1), stereo.max(axis=1), first + np.arange(columns + 1) * per_column)
    np.testing.assert_array_equal(lo, expected[0])
    np.testing.assert_array_equal(hi, expected[1])


@pytest.mark.parametrize("window,columns", [((0, 61_000), 800), ((1234, 5678), 333), ((30_001, 30_999), 97),
                                            ((59_000, 62_000), 640), ((-500, 2000), 100)])
def test_columns_anywhere_read_the_whole_blocks_that_start_in_each_column(stereo, window, columns):
    """Off the blocks' edges, each column shows the blocks whose first sample falls in it: its bounds move
    right by less than one block, which is at most one column's samples."""
    peaks = Peaks(stereo, RATE)
    start_ms = 250  # the track placed 250 ms into the video
    lo, hi = peaks.columns(start_ms, window, columns)
    edges = column_edges(RATE, start_ms, window, columns)
    level = peaks.level_for((edges[-1] - edges[0]) / columns)
    lo_frames, hi_frames = stereo.min(axis=1), stereo.max(axis=1)
    if level < 0:
        expected = envelope_columns(stereo, RATE, start_ms, window, columns)
    else:
        block = BASE_BLOCK * FANOUT ** level
        assert block <= (edges[-1] - edges[0]) / columns
        shifted = -(-edges // block) * block
        assert np.all((shifted >= edges) & (shifted - edges < block))  # each bound moves less than one block
        expected = brute(lo_frames, hi_frames, shifted)
    assert not np.isnan(lo).all()
    np.testing.assert_array_equal(lo, expected[0])
    np.testing.assert_array_equal(hi, expected[1])


def test_zoomed_in_past_a_block_per_column_columns_are_exact(stereo):
    peaks = Peaks(stereo, RATE)
    window, columns = (10_000, 10_400), 400  # 8 samples per column
    lo, hi = peaks.columns(0, window, columns)
    expected = brute(stereo.min(axis=1), stereo.max(axis=1), column_edges(RATE, 0, window, columns))
    np.testing.assert_array_equal(lo, expected[0])
    np.testing.assert_array_equal(hi, expected[1])


def test_mono_integer_samples_scale_to_one():
    samples = (np.sin(np.arange(RATE) / 10) * 32767).astype(np.int16)
    peaks = Peaks(samples, RATE)
    lo, hi = peaks.columns(0, (0, 1000), 4)
    assert lo.min() == pytest.approx(-1, abs=1e-3) and hi.max() == pytest.approx(1, abs=1e-3)
    with pytest.raises(ValueError):
        Peaks(samples, 0)
    with pytest.raises(ValueError):
        Peaks(np.zeros((2, 2, 2), np.float32), RATE)


def test_a_sine_lands_in_its_bin_and_the_shape_is_capped():
    rate, freq = 16_000, 1500.0
    t = np.arange(rate * 3) / rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    tone[rate * 2:] = 0  # the last second silent
    maker = Spectrogram(np.stack([tone, tone], axis=1), rate, fft_size=512)
    db = maker.window((0, 3000), 300)
    assert db.shape == (257, 300)
    peak_rows = db[:, :190].argmax(axis=0)  # the columns inside the tone
    assert np.all(np.abs(peak_rows - freq / maker.bin_hz) <= 1)
    assert db[:, :190].max() > -10  # a 0.5 amplitude sine: about -6 dB
    assert db[:, 210:].max() < -100  # silence
    assert maker.window((0, 3000), 300) is db  # cached by window
    assert maker.window((0, 3000), 10_000).shape == (257, 1600)  # at most max_columns
    outside = maker.window((5000, 6000), 10)
    assert outside.max() < -100  # past the track's end


class CountedDiskAudio(DiskAudio):
    """A DiskAudio that remembers the longest range read from it and refuses to be loaded whole."""

    longest = 0

    def _read(self, lo: int, hi: int) -> np.ndarray:
        self.longest = max(self.longest, hi - lo)
        return super()._read(lo, hi)

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise AssertionError("the whole track was asked for")


def on_disk(samples: np.ndarray, folder) -> CountedDiskAudio:
    path = folder / "track.f32"
    samples.astype("<f4").tofile(path)
    return CountedDiskAudio(path, samples.shape[1], RATE)


def test_a_track_on_disk_builds_the_same_pyramid_by_blocks(stereo, tmp_path):
    assert stereo.shape[0] > READ_BLOCK and stereo.shape[0] % BASE_BLOCK  # crosses a read, ragged end
    disk = on_disk(stereo, tmp_path)
    from_disk, in_memory = Peaks(disk, RATE), Peaks(stereo, RATE)
    assert disk.longest == READ_BLOCK
    assert len(from_disk.levels) == len(in_memory.levels)
    for (lo_d, hi_d), (lo_m, hi_m) in zip(from_disk.levels, in_memory.levels):
        np.testing.assert_array_equal(lo_d, lo_m)
        np.testing.assert_array_equal(hi_d, hi_m)
    assert from_disk.nbytes == in_memory.nbytes == sum(lo.nbytes * 2 for lo, _ in in_memory.levels)


@pytest.mark.parametrize("window,columns", [((0, 61_000), 800), ((1234, 5678), 333), ((10_000, 10_400), 400),
                                            ((30_001, 30_013), 97), ((59_000, 62_000), 640), ((-500, 2000), 100)])
def test_columns_drawn_from_disk_equal_those_drawn_from_memory(stereo, tmp_path, window, columns):
    """At every zoom, down to several columns per sample (read from the track, not the pyramid)."""
    disk = on_disk(stereo, tmp_path)
    from_disk = Peaks(disk, RATE)
    disk.longest = 0
    lo, hi = from_disk.columns(250, window, columns)
    expected = Peaks(stereo, RATE).columns(250, window, columns)
    np.testing.assert_array_equal(lo, expected[0])
    np.testing.assert_array_equal(hi, expected[1])
    per_column = (window[1] - window[0]) * RATE / 1000 / columns
    # Finer than the finest level, only the samples in view are read; coarser, none.
    assert disk.longest <= (per_column * columns + 1 if per_column < BASE_BLOCK else 0)


def spectrogram_by_gathering(samples: np.ndarray, rate: int, window: tuple[int, int], columns: int) -> np.ndarray:
    """The spectrogram's columns computed from the whole array at once, as it was before tracks were read by ranges."""
    size = 512
    centres_ms = window[0] + (np.arange(columns) + 0.5) * ((window[1] - window[0]) / columns)
    centres = np.floor(centres_ms * rate / 1000.0).astype(np.int64)
    index = centres[:, None] + (np.arange(size) - size // 2)[None, :]
    n = samples.shape[0]
    frames = np.where((index >= 0) & (index < n), samples[np.clip(index, 0, n - 1)].mean(axis=2, dtype=np.float32), 0)
    hann = np.hanning(size).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(frames * hann, axis=1)) * (2.0 / hann.sum())
    return (20.0 * np.log10(np.maximum(magnitude, 1e-6))).T.astype(np.float32)


@pytest.mark.parametrize("window,columns", [((0, 61_000), 700), ((20_000, 20_300), 300), ((59_900, 61_500), 50),
                                            ((-300, 100), 40)])
def test_the_spectrogram_from_disk_reads_ranges_and_looks_the_same(stereo, tmp_path, window, columns):
    """Zoomed out each column reads its own frame; zoomed in, one range holds them all."""
    disk = on_disk(stereo, tmp_path)
    db = Spectrogram(disk, RATE).window(window, columns)
    np.testing.assert_array_equal(db, Spectrogram(stereo, RATE).window(window, columns))
    np.testing.assert_allclose(db, spectrogram_by_gathering(stereo, RATE, window, columns), atol=1e-4)
    assert disk.longest <= columns * 512
