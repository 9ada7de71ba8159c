"""The mix in blocks is the whole mix: block by block it writes what mixing the whole track writes, and it
never reads more of the original at once than a block and its margins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.loudness import loudness_gain
from dubber.audio.source import DiskAudio
from dubber.mix.blocks import Mixdown, Output, measure_mix, write_blocks
from dubber.mix.mixing import GATE_WINDOW_MS, HOLD_MS, Ducking, mix
from dubber.mix.stems import BACKGROUND, DIALOGUE, SPEAKERS_FOLDER, write_stems
from dubber.mix.timeline import Timeline

RATE = 8000
BLOCK = 1000  # 125 ms: every line, ramp and limiter window straddles block edges
DUCKING = Ducking(14.0, -40.0, 60, 200)


def tone(n: int, freq: float, level: float = 0.5) -> np.ndarray:
    t = np.arange(n) / RATE
    # Words and pauses: the gate opens and closes inside each take.
    words = (np.sin(2 * np.pi * 2.5 * t) > -0.3).astype(np.float32)
    return (level * words * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def scene() -> tuple[Timeline, np.ndarray, dict[int, str]]:
    """Six seconds: three takes (one from before the start, one past the end), an original with clicks."""
    timeline = Timeline(RATE, 6 * RATE)
    timeline.place(1, -300, tone(RATE + 700, 310))
    timeline.place(2, int(1.9 * RATE) + 37, tone(int(1.3 * RATE), 520, 0.7))
    timeline.place(3, int(2.6 * RATE) + 11, tone(int(1.1 * RATE), 440))  # overlaps take 2
    timeline.place(4, int(5.2 * RATE) + 5, tone(RATE, 650, 0.9))
    rng = np.random.default_rng(3)
    original = rng.normal(0, 0.15, (int(5.5 * RATE), 2)).astype(np.float32)  # ends before the timeline
    original[::1231] = 0.95  # clicks: the peak guard and the limiter both have work
    return timeline, original, {1: "Anna", 2: "Ben", 3: "Anna", 4: ""}


def whole(timeline: Timeline, original: np.ndarray | None, mode: str, target: float | None,
          mixdown: Mixdown) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The whole-track way: `mix` over the whole timeline, then `loudness_gain` over the whole mixed track:
    (track, total gain per sample, the original's envelope)."""
    made = mix(timeline.render(), original, timeline.spans(), RATE, mode, DUCKING)
    assert made.gain == pytest.approx(mixdown.guard, rel=1e-6)
    track, gain = made.track, np.full(timeline.length, np.float32(made.gain), np.float32)
    if target is not None:
        loud, _ = loudness_gain(made.track, RATE, target)
        track, gain = track * loud[:, None], gain * loud
    return track, gain, made.original_gain


@pytest.mark.parametrize("mode, target", [("duck", -9.0), ("duck", None), ("replace", -12.0)])
def test_blocks_are_the_whole_mix(scene, mode: str, target: float | None) -> None:
    timeline, original, _ = scene
    mixdown, result = measure_mix(timeline, original, mode, DUCKING, target, block=BLOCK)
    if target is not None:
        assert result is not None and (result.limited or mode == "replace")
    track, gain, envelope = whole(timeline, original, mode, target, mixdown)
    blocks = list(mixdown.blocks(BLOCK))
    assert [b.start for b in blocks] == list(range(0, timeline.length, BLOCK))
    assert np.allclose(np.concatenate([b.mix for b in blocks]), track, atol=1e-6)
    assert np.allclose(np.concatenate([b.gain for b in blocks]), gain, atol=1e-6)
    assert np.allclose(np.concatenate([b.stem for b in blocks]), timeline.render(), atol=1e-7)
    # Any range alone, edges anywhere, is the same slice of the whole.
    for lo, hi in ((0, 17), (BLOCK - 5, 3 * BLOCK + 9), (int(2.61 * RATE), int(2.9 * RATE)), (40_000, 48_000)):
        assert np.allclose(mixdown.track(lo, hi), track[lo:hi], atol=1e-6)
        assert np.allclose(mixdown.gain(lo, hi), gain[lo:hi], atol=1e-6)
        if envelope is not None:
            assert np.allclose(mixdown.envelope(lo, hi), envelope[lo:hi], atol=1e-7)
    if mode == "duck":
        n = original.shape[0]
        background = np.concatenate([b.original for b in blocks])
        assert np.allclose(background[:n], original * envelope[:n, None], atol=1e-7)
        assert not background[n:].any()


def test_written_files_are_the_whole_mix(scene, tmp_path: Path) -> None:
    timeline, original, speakers = scene
    mixdown, _ = measure_mix(timeline, original, "duck", DUCKING, -9.0, block=BLOCK)
    track, gain, envelope = whole(timeline, original, "duck", -9.0, mixdown)
    write_blocks(mixdown, [Output(tmp_path / "dub.wav", 2, lambda b: b.mix)], BLOCK)
    written, _ = write_stems(tmp_path / "stems", speakers, mixdown)
    read = {path.name: media.read_wav(path)[0] for path in [tmp_path / "dub.wav", *written] if path.suffix == ".wav"}
    assert np.allclose(read["dub.wav"], track, atol=1e-6)
    assert np.allclose(read[DIALOGUE], timeline.render() * gain, atol=1e-6)
    n = original.shape[0]
    assert np.allclose(read[BACKGROUND][:n], original * (envelope * gain)[:n, None], atol=1e-6)
    anna, _ = media.read_wav(tmp_path / "stems" / SPEAKERS_FOLDER / "Anna.wav")
    assert np.allclose(anna, timeline.render(keys={1, 3}) * gain, atol=1e-6)
    assert np.allclose(read[DIALOGUE][:, None] + read[BACKGROUND], read["dub.wav"], atol=2e-6)


class RecordedAudio(DiskAudio):
    """The original on disk, recording every range read from it."""

    def __init__(self, path: Path, channels: int, rate: int) -> None:
        super().__init__(path, channels, rate)
        self.reads: list[tuple[int, int]] = []

    def _read(self, lo: int, hi: int) -> np.ndarray:
        self.reads.append((lo, hi))
        return super()._read(lo, hi)


def test_the_mix_reads_the_original_a_block_and_its_margins_at_a_time(tmp_path: Path) -> None:
    seconds, line = 60, int(1.5 * RATE)
    rng = np.random.default_rng(5)
    samples = rng.normal(0, 0.05, (seconds * RATE, 2)).astype("<f4")
    samples[::1231] = 0.95
    (tmp_path / "original.f32").write_bytes(samples.tobytes())
    original = RecordedAudio(tmp_path / "original.f32", 2, RATE)
    timeline = Timeline(RATE, seconds * RATE)
    for k, start in enumerate(range(RATE // 3, (seconds - 2) * RATE, int(2.3 * RATE))):
        timeline.place(k, start, tone(line, 300 + 10 * k, 0.3))
    mixdown, result = measure_mix(timeline, original, "duck", DUCKING, -8.0, block=BLOCK)
    assert result is not None and result.limited
    write_blocks(mixdown, [Output(tmp_path / "dub.wav", 2, lambda b: b.mix),
                           Output(tmp_path / "background.wav", 2, lambda b: b.scaled(b.original))], BLOCK)
    reach = (max(DUCKING.attack_ms, DUCKING.release_ms) + HOLD_MS + GATE_WINDOW_MS) * RATE // 1000
    # A block, the limiter's margin each side, and the takes whose ducking reaches into it, whole.
    most = BLOCK + 2 * mixdown.margin + 2 * (reach + line)
    assert original.reads and max(hi - lo for lo, hi in original.reads) <= most < seconds * RATE // 4
    assert {lo for lo, _ in original.reads} >= set(range(0, seconds * RATE, BLOCK))  # every block was read
    assert media.read_wav(tmp_path / "dub.wav")[0].shape == (seconds * RATE, 2)
