"""DiskAudio: a decoded track on disk, sliced like the array it stands in for."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.source import DiskAudio, decode_to_disk
from dubber.errors import MediaError

RATE = 48000


@pytest.fixture()
def stored(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.uniform(-1, 1, (10_001, 2)).astype(np.float32)
    path = tmp_path / "track.f32"
    data.astype("<f4").tofile(path)
    return data, DiskAudio(path, 2, RATE)


def test_slices_read_the_same_samples_as_the_array(stored):
    data, disk = stored
    assert disk.shape == data.shape and len(disk) == data.shape[0] and disk.ndim == 2
    for key in (slice(0, 10), slice(9_990, None), slice(-5, None), slice(None), slice(20, 10), slice(4_000, 20_000)):
        assert np.array_equal(disk[key], data[key]), key
    assert np.array_equal(disk[100:200, :1], data[100:200, :1])
    assert np.array_equal(disk[100:200, 1], data[100:200, 1])
    assert np.array_equal(disk[-1], data[-1])
    assert np.array_equal(np.asarray(disk), data)


def test_read_pads_with_silence_outside_the_track(stored):
    data, disk = stored
    out = disk.read(-10, 20)
    assert out.shape == (30, 2)
    assert not out[:10].any() and np.array_equal(out[10:], data[:20])
    assert np.array_equal(disk.read(9_995, 10_010)[:6], data[9_995:]) and not disk.read(9_995, 10_010)[6:].any()


def test_blocks_cover_the_track_once_in_order(stored):
    data, disk = stored
    pieces = list(disk.blocks(3_000))
    assert [start for start, _ in pieces] == [0, 3_000, 6_000, 9_000]
    assert np.array_equal(np.concatenate([block for _, block in pieces]), data)


def test_steps_and_fancy_indexes_are_refused(stored):
    _, disk = stored
    with pytest.raises(TypeError):
        disk[::2]
    with pytest.raises(IndexError):
        disk[10_001]


def test_a_file_cut_short_is_named(stored):
    _, disk = stored
    with open(disk.path, "r+b") as handle:
        handle.truncate(8 * 100)
    with pytest.raises(MediaError, match="changed on disk"):
        disk[0:200]


def test_decoding_to_disk_gives_what_decoding_to_memory_gives(tmp_path):
    t = np.arange(RATE // 2) / RATE
    tone = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 220 * t)], axis=1).astype(np.float32)
    video = media.make_test_video(tmp_path / "v.mp4", 500, tone, RATE)
    disk = decode_to_disk(video, RATE, tmp_path)
    assert disk.path.parent == tmp_path and disk.sample_rate == RATE
    assert np.array_equal(disk[:], media.decode_audio(video, RATE))
    mono = decode_to_disk(video, 16000, tmp_path, channels=1)
    assert mono.shape[1] == 1 and np.array_equal(mono[:], media.decode_audio(video, 16000, 1))


def test_a_video_without_sound_is_named(tmp_path):
    video = media.make_test_video(tmp_path / "silent.mp4", 500, None, RATE)
    with pytest.raises(MediaError, match="no audio stream"):
        decode_to_disk(video, RATE, tmp_path)
