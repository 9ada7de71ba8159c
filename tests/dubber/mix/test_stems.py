"""Stems add up: speakers to the dialogue, dialogue plus background to the mix, lines to the dialogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.mix.blocks import measure_mix
from dubber.mix.mixing import Ducking
from dubber.mix.stems import BACKGROUND, DIALOGUE, line_file_name, speaker_file_names, write_stems
from dubber.mix.timeline import Timeline

RATE = 8000


def burst(n: int, freq: float) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.float32)


@pytest.fixture
def placed() -> tuple[Timeline, dict[int, str]]:
    timeline = Timeline(RATE, 4 * RATE)
    timeline.place(1, -200, burst(RATE, 300))  # starts before the video: the part before 0 is cut
    timeline.place(2, RATE + 100, burst(RATE // 2, 500))
    timeline.place(3, int(2.5 * RATE), burst(2 * RATE, 700))  # runs past the end: cut there
    return timeline, {1: "Anna", 2: "", 3: "Anna"}


def test_stems_add_up_to_the_mix(placed, tmp_path: Path) -> None:
    timeline, speakers = placed
    original = np.random.default_rng(0).normal(0, 0.1, (timeline.length, 2)).astype(np.float32)
    original[::997] = 0.9  # clicks for the limiter to hold down
    # Loud enough that the limiter works: the gain varies sample by sample.
    mixdown, result = measure_mix(timeline, original, "duck", Ducking(12, None, 20, 50), target_lufs=-8.0)
    assert result is not None and result.limited
    written, clips = write_stems(tmp_path, speakers, mixdown)
    track = mixdown.track(0, timeline.length)

    dialogue, rate = media.read_wav(tmp_path / DIALOGUE)
    background, _ = media.read_wav(tmp_path / BACKGROUND)
    assert rate == RATE and dialogue.shape == (timeline.length,) and background.shape == (timeline.length, 2)
    assert np.allclose(dialogue[:, None] + background, track, atol=1e-6)

    anna, _ = media.read_wav(tmp_path / "speakers" / "Anna.wav")
    nobody, _ = media.read_wav(tmp_path / "speakers" / "unnamed.wav")
    assert np.allclose(anna + nobody, dialogue, atol=1e-7)
    assert np.abs(nobody[: RATE]).max() == 0 and np.abs(anna[RATE + 200: int(2.4 * RATE)]).max() == 0

    assert [(c.index, c.speaker, c.start, c.length) for c in clips] == [
        (1, "Anna", 0, RATE - 200), (2, "", RATE + 100, RATE // 2), (3, "Anna", int(2.5 * RATE), int(1.5 * RATE))]
    summed = np.zeros(timeline.length, np.float32)
    for clip in clips:
        assert clip.path.name == line_file_name(clip.index) and clip.path.is_absolute()
        samples, _ = media.read_wav(clip.path)
        assert samples.shape == (clip.length,)
        summed[clip.start:clip.start + clip.length] += samples
    assert np.allclose(summed, dialogue, atol=1e-7)
    assert set(written) >= {tmp_path / DIALOGUE, tmp_path / BACKGROUND} | {c.path for c in clips}


def test_replace_mix_has_no_background_stem(placed, tmp_path: Path) -> None:
    timeline, speakers = placed
    original = np.full((timeline.length, 1), 0.1, np.float32)
    mixdown, _ = measure_mix(timeline, original, "replace")
    write_stems(tmp_path, speakers, mixdown)
    assert (tmp_path / DIALOGUE).is_file() and not (tmp_path / BACKGROUND).exists()


def test_speaker_file_names_are_safe_and_distinct() -> None:
    names = speaker_file_names({"", "Anna", "A B", "A_B", "a_b", "../etc", "Zoë"})
    assert names[""] == "unnamed.wav" and names["Anna"] == "Anna.wav" and names["Zoë"] == "Zoë.wav"
    assert names["../etc"] == "etc.wav"
    assert len({name.lower() for name in names.values()}) == len(names)
    assert all("/" not in name for name in names.values())
