"""Loudness targets, measured back by ffmpeg's own EBU R128 meter (an implementation independent of ours)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.loudness import BROADCAST_LUFS, WEB_LUFS, integrated_lufs, normalize, true_peak_dbtp
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
    up = np.abs(resample_poly(data.astype(np.float64), 4, 1, axis=0))
    whole = up[:data.shape[0] * 4].reshape(data.shape[0], 4, -1).max(axis=(1, 2)).astype(np.float32)
    monkeypatch.setattr(loudness, "PEAK_BLOCK", 10_007)  # many block edges, none on a round number
    assert np.array_equal(loudness._oversampled_peaks(data, RATE), whole)
