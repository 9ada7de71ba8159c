"""Loudness: targets measured back by ffmpeg's own EBU R128 meter (an implementation independent of ours), the
streaming meter against pyloudnorm, and the plan walked in blocks: on target, local, the same over any partition."""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from dubber.audio.loudness import (
    BROADCAST_LUFS,
    PEAK_MARGIN,
    WEB_LUFS,
    LoudnessMeter,
    array_reader,
    integrated_lufs,
    loudness_gain,
    normalize,
    plan_loudness,
    true_peak_dbtp,
)
from dubber.audio.loudness_meter import SETTLE_S
from dubber.audio.media import ffmpeg_exe, write_wav
from dubber.cli.main import main
from dubber.errors import UsageError

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
RATE = 48000


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a file's first audio track, by ffmpeg's ebur128 filter."""
    done = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a:0",
                           "-af", "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True, check=True)
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def programme(seconds: int = 12, channels: int = 1, clicks: bool = True) -> np.ndarray:
    """Speech-like bursts over a quiet bed, with a few near-full-scale clicks a limiter has to catch."""
    rng = np.random.default_rng(1)
    t = np.arange(RATE * seconds) / RATE
    voice = 0.25 * np.sin(2 * np.pi * 190 * t) * (np.sin(2 * np.pi * 0.6 * t) > 0)
    bed = 0.02 * rng.standard_normal(t.size)
    x = voice + bed
    if clicks:
        for s in (2, 5, 9):
            x[RATE * s:RATE * s + 60] = 0.97
    x = x.astype(np.float32)
    return x if channels == 1 else np.stack([x, 0.7 * x], axis=1)


@pytest.mark.parametrize("target", [BROADCAST_LUFS, WEB_LUFS, -12.0])
@pytest.mark.parametrize("channels", [1, 2])
def test_normalize_lands_on_the_target_under_the_ceiling(tmp_path, target, channels):
    out, result = normalize(programme(channels=channels), RATE, target)
    wav = write_wav(tmp_path / "n.wav", out, RATE)
    integrated, peak = ebur128(wav)
    assert abs(integrated - target) <= 0.5
    assert peak <= -1.0 + 0.15  # ffmpeg's true-peak estimate differs from ours by a little
    assert abs(result.after_lufs - target) <= 0.2 and result.after_peak_dbtp <= -0.99
    assert out.shape == programme(channels=channels).shape


def test_gain_alone_when_no_peak_would_pass_the_ceiling():
    quiet = programme(clicks=False) * 0.2
    out, result = normalize(quiet, RATE, BROADCAST_LUFS)
    assert not result.limited
    expected = quiet * 10 ** (result.gain_db / 20)
    assert np.allclose(out, expected, atol=1e-6)  # a pure gain: nothing else touched


def test_the_limiter_holds_peaks_and_makes_up_the_loudness():
    loud = programme()
    out, result = normalize(loud, RATE, -10.0)
    assert result.limited
    assert true_peak_dbtp(out, RATE) <= -0.99
    assert abs(integrated_lufs(out, RATE) - (-10.0)) <= 0.2


def test_silence_stays_silence_and_bad_targets_are_refused():
    out, result = normalize(np.zeros(RATE * 2, np.float32), RATE, WEB_LUFS)
    assert not out.any() and result.before_lufs is None and result.gain_db == 0.0
    with pytest.raises(UsageError, match="out of range"):
        normalize(programme(), RATE, 3.0)


def test_dub_with_loudness_writes_a_track_at_the_target(tmp_path, capsys):
    out = tmp_path / "o.mp4"
    code = main(["dub", str(SAMPLES / "demo.mp4"), str(SAMPLES / "demo.en.srt"), "-o", str(out),
                 "--loudness", "-16", "--report", str(tmp_path / "r.json")])
    assert code == 0
    integrated, peak = ebur128(out)  # read back from the AAC track in the video
    assert abs(integrated - WEB_LUFS) <= 0.5 and peak <= -0.8
    assert "loudness -16" in capsys.readouterr().err
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["inputs"]["loudness"] == -16.0 and abs(report["loudness"]["after_lufs"] + 16) <= 0.2


@pytest.mark.parametrize("text, value", [("web", -16.0), ("broadcast", -23.0), ("-18.5", -18.5)])
def test_loudness_option_spellings(text, value):
    from dubber.cli.arguments import lufs

    assert lufs(text) == value


@pytest.mark.parametrize("text", ["loud", "3", "-90"])
def test_bad_loudness_option_is_refused(text, capsys):
    with pytest.raises(SystemExit):
        main(["dub", "v.mp4", "s.srt", "-o", "o.mp4", "--loudness", text])
    err = capsys.readouterr().err
    assert "--loudness" in err and ("LUFS" in err or "not a loudness" in err)


def test_true_peak_in_blocks_equals_the_whole_track_at_once(monkeypatch):
    from scipy.signal import resample_poly

    from dubber.audio import loudness

    data = programme(seconds=3, channels=2)
    whole = loudness._oversampled_peaks(data, RATE)
    up = np.abs(resample_poly(data.astype(np.float64), 4, 1, axis=0))  # the interpolation it stands for
    assert np.allclose(whole, up[:data.shape[0] * 4].reshape(data.shape[0], -1).max(axis=1), rtol=1e-6, atol=0)
    monkeypatch.setattr(loudness, "PEAK_BLOCK", 10_007)  # many block edges, none on a round number
    assert np.array_equal(loudness._oversampled_peaks(data, RATE), whole)


# The streaming meter and the plan: a track walked in blocks through a reader, its gain computed range by range.

def signals(rate: int) -> dict[str, np.ndarray]:
    """Generated programmes: a tone, noise bursts, speech-like gated noise over a faint floor, stereo."""
    rng = np.random.default_rng(7)
    t = np.arange(rate * 6) / rate
    syllables = (np.sin(2 * np.pi * 3.3 * t) > 0) * (np.sin(2 * np.pi * 0.4 * t) > -0.3)
    return {
        "tone": 0.3 * np.sin(2 * np.pi * 997 * t),
        "bursts": 0.2 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 0.5 * t) > 0.4),
        "speech": 0.1 * rng.standard_normal(t.size) * syllables + 1e-4 * rng.standard_normal(t.size),
        "stereo": np.stack([0.3 * np.sin(2 * np.pi * 120 * t), 0.05 * rng.standard_normal(t.size)], axis=1),
    }


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("block", [1000, 4799, 4800, 33333, 10**7])
def test_the_streaming_meter_agrees_with_pyloudnorm_at_any_block_size(rate, block):

    for name, x in signals(rate).items():
        meter = LoudnessMeter(rate, 1 if x.ndim == 1 else x.shape[1])
        for lo in range(0, x.shape[0], block):
            meter.add(x[lo:lo + block].astype(np.float32))
        expected = pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float32).astype(np.float64))
        assert abs(meter.lufs() - expected) <= 0.05, name
        assert abs(integrated_lufs(x, rate) - expected) <= 0.05, name


def test_the_meter_says_none_for_silence_and_under_400_ms_and_moves_its_gates_with_a_gain():

    meter = LoudnessMeter(RATE, 2)
    meter.add(np.zeros((RATE, 2), np.float32))
    assert meter.lufs() is None  # all under the absolute gate
    short = LoudnessMeter(RATE, 1)
    short.add(0.5 * np.ones(int(0.39 * RATE), np.float32))
    assert short.lufs() is None
    with pytest.raises(ValueError, match="channels"):
        short.add(np.zeros((10, 2), np.float32))
    # A passage 8 dB under the rest, under the absolute gate here and over it 30 dB louder, where it counts:
    # lufs_at says what the louder audio measures without the audio.
    t = np.arange(RATE * 6) / RATE
    x = (np.where(t < 3, 10 ** (-63 / 20), 10 ** (-71 / 20)) * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    quiet, loud = LoudnessMeter(RATE, 1), LoudnessMeter(RATE, 1)
    quiet.add(x)
    loud.add(x * np.float32(10 ** 1.5))
    assert abs(quiet.lufs_at(30.0) - loud.lufs()) <= 1e-3
    assert loud.lufs() < quiet.lufs() + 30.0 - 1.0  # not a plain shift: the gate let the quiet passage in


class Recording:
    """A Reader over a track in memory that remembers every range it was asked for."""

    def __init__(self, data: np.ndarray):
        self.read, self.asked = array_reader(data), []

    def __call__(self, start: int, end: int) -> np.ndarray:
        self.asked.append((start, end))
        return self.read(start, end)


def film(seconds: int = 40, channels: int = 2) -> np.ndarray:
    """Speech-like programme with a loud stretch (a limiter's work) and long calm parts around it."""
    x = programme(seconds, channels=1, clicks=False)
    x[RATE * 20:RATE * 23] *= 3.5  # a shout: the limiter holds it when the rest is brought up
    x[RATE * 31:RATE * 31 + 90] = 0.98
    return x if channels == 1 else np.stack([x, 0.8 * x], axis=1)


def gains(plan, data: np.ndarray, block: int) -> np.ndarray:
    """The plan's gain over the whole track, computed block by block."""

    read, n = array_reader(data), data.shape[0]
    return np.concatenate([plan.gain(read, lo, min(lo + block, n)) for lo in range(0, n, block)])


def applied(plan, data: np.ndarray, block: int) -> np.ndarray:
    """The plan's output over the whole track, its gain computed block by block."""
    gain = gains(plan, data, block)
    return data * gain[:, None] if data.ndim == 2 else data * gain


@pytest.mark.parametrize("target, channels", [(-23.0, 2), (-14.0, 2), (-12.0, 1)])
def test_a_plan_walked_in_blocks_lands_on_the_target_under_the_ceiling(target, channels):

    data = film(channels=channels)
    reader = Recording(data)
    plan, result = plan_loudness(reader, data.shape[0], RATE, target, block=RATE * 3 + 17)
    out = applied(plan, data, RATE * 5 + 3)
    assert abs(integrated_lufs(out, RATE) - target) <= 0.1
    assert true_peak_dbtp(out, RATE) <= -1.0 + 0.01
    assert result.limited == bool(plan.passes) == (target > -23.0)
    assert abs(result.after_lufs - integrated_lufs(out, RATE)) <= 0.01
    assert abs(result.after_peak_dbtp - true_peak_dbtp(out, RATE)) <= 0.01
    # Memory follows the block, never the track: no read is longer than a block and its margins.
    assert max(e - s for s, e in reader.asked) <= RATE * 3 + 17 + 2 * (plan.margin + PEAK_MARGIN) + SETTLE_S * RATE
    # It reads the track once, and again only around where the limiter works.
    assert sum(e - s for s, e in reader.asked) < data.shape[0] * (1.9 if plan.passes else 1.1)
    if plan.passes:  # the limiter works only around the shout and the click
        spans = [s for p in plan.passes for s in p.spans]
        assert spans and all(RATE * 19 < s and e < RATE * 34 for s, e in spans)


def test_the_gain_of_any_partition_is_the_gain_of_the_whole():

    data = film()
    read = array_reader(data)
    plan, _ = plan_loudness(read, data.shape[0], RATE, -12.0)
    assert len(plan.passes) >= 1 and plan.margin > RATE  # the release's memory: over a second behind
    whole = plan.gain(read, 0, data.shape[0])
    rng = np.random.default_rng(3)
    for cuts in ([RATE * 20 + 1, RATE * 21 + 7, RATE * 31 + 45],  # edges inside the shout and the click
                 sorted(rng.integers(1, data.shape[0], 40)), list(range(RATE, data.shape[0], RATE // 3))):
        edges = [0, *cuts, data.shape[0]]
        parts = np.concatenate([plan.gain(read, a, b) for a, b in itertools.pairwise(edges)])
        assert np.all(np.abs(parts - whole) <= 1e-6 * whole)
    assert whole.min() < 0.7 * whole.max()  # the limiter did work inside the range


def test_the_gain_is_local_it_reads_within_its_margin_and_nothing_far_from_the_limiter():

    data = film()
    reader = Recording(data)
    plan, _ = plan_loudness(reader, data.shape[0], RATE, -12.0)
    start, end = RATE * 21, RATE * 22
    reader.asked.clear()
    near = plan.gain(reader, start, end)
    assert all(start - plan.margin <= s and e <= end + plan.margin for s, e in reader.asked)
    # Audio changed beyond the margin leaves the gain alone; a block far from any span reads nothing.
    changed = data.copy()
    changed[:start - plan.margin] *= 0.1
    changed[end + plan.margin:] = 0.9
    assert np.array_equal(plan.gain(Recording(changed), start, end), near)
    reader.asked.clear()
    calm = plan.gain(reader, RATE * 5, RATE * 10)
    assert reader.asked == [] and np.all(calm == np.float32(10 ** (plan.total_db / 20)))
    # apply: the audio at its gain from one read, near the limiter and far from it.
    for a, b in ((start, end), (RATE * 5, RATE * 10)):
        reader.asked.clear()
        out, gain = plan.apply(reader, a, b)
        assert len(reader.asked) == 1 and np.array_equal(gain, plan.gain(reader, a, b))
        assert np.array_equal(out, data[a:b] * gain[:, None])


def test_loudness_gain_in_memory_is_the_plan_walked_in_blocks():

    data = film(seconds=30)
    gain, result = loudness_gain(data, RATE, -12.0)
    plan, walked = plan_loudness(array_reader(data), data.shape[0], RATE, -12.0, block=RATE * 2 + 1)
    assert walked.limited and abs(walked.after_lufs - result.after_lufs) <= 0.01
    assert np.abs(gains(plan, data, RATE) - gain).max() <= 1e-5 * gain.max()


def test_the_limiter_looks_ahead_5_ms_and_releases_over_80_ms():
    """What it sounds like: the gain is already down when a click arrives and recovers with an ~80 ms
    time constant after it, the same at the whole-track call and in blocks."""

    x = 0.1 * np.sin(2 * np.pi * 200 * np.arange(RATE * 4) / RATE).astype(np.float32)
    click = RATE * 2
    x[click:click + 10] = 0.99
    read = array_reader(x)
    plan, _ = plan_loudness(read, x.size, RATE, -20.0)
    gain = plan.gain(read, 0, x.size) / np.float32(10 ** (plan.total_db / 20))
    floor = gain[click:click + 10].min()
    assert floor < 0.8
    assert gain[click - RATE // 1000] <= floor + 0.01  # down 1 ms before the click
    assert gain[click - RATE // 50] > 0.999  # untouched 20 ms before
    # After the hold the reduction fades like a one-pole release: by e^-1 over 80 ms.
    after = click + 10 + RATE * 10 // 1000
    assert 0.3 < (1 - gain[after + RATE * 80 // 1000]) / (1 - gain[after]) < 0.45
    assert gain[click + RATE] > 0.999


def test_a_meter_started_inside_a_track_settles_onto_the_whole_tracks_energies():
    """Measuring a stretch again (what the plan does around the limiter): K-weighting started SETTLE_S
    early, on the track's 100 ms grid, gives the energies of a meter that saw the track from its start."""

    rate = 44100  # 4410 samples per sub-block
    x = signals(rate)["stereo"].astype(np.float32)
    whole = LoudnessMeter(rate, 2)
    whole.add(x)
    first, since = 20, 20 + int(SETTLE_S * 10)
    again = LoudnessMeter(rate, 2, first=first)
    again.add(x[first * rate // 10:])
    tail = again.energies(since=since)
    assert tail.size == whole.energies().size - since
    assert np.allclose(tail, whole.energies(since=since), rtol=1e-9, atol=0)
    assert not np.allclose(again.energies()[:2], whole.energies()[first:first + 2], rtol=1e-9, atol=0)
