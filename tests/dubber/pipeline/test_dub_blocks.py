"""A dub writes its tracks block by block, and they are what mixing the whole track writes: the dub track, the
dialogue track, the stem and the stems, with ducking, a loudness target that needs the limiter, and blocks
small enough that lines and ramps straddle their edges."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.loudness import loudness_gain
from dubber.audio.samples import ms_to_samples
from dubber.mix import blocks
from dubber.mix.mixing import Ducking, mix
from dubber.mix.stems import BACKGROUND, DIALOGUE, SPEAKERS_FOLDER
from dubber.pipeline import dub as dub_module
from dubber.pipeline.dub import DubOptions, dub
from dubber.plugin import registry
from dubber.subtitles.load import save_srt
from tests.conftest import FrameToneEngine

RATE = 48000
VIDEO_MS = 5000
LINES = [(300, 1500, "Anna: morning over the harbour"), (1700, 2900, "Ben: the boats leave at nine"),
         (3200, 4400, "Anna: then we should hurry")]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    n = ms_to_samples(VIDEO_MS, RATE)
    t = np.arange(n) / RATE
    bed = (0.08 * np.sin(2 * np.pi * 110 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)
    bed[::7919] = 0.9  # clicks: past the ceiling once brought up to the target
    return media.make_test_video(tmp_path / "film.mp4", VIDEO_MS, np.stack([bed, 0.7 * bed], axis=1), RATE)


def test_the_dub_in_blocks_writes_the_whole_mix(video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FrameToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    monkeypatch.setattr(blocks, "BLOCK", 4801)  # 100 ms: lines, ramps and the limiter straddle block edges
    measured, tracks = [], tmp_path / "tracks"
    real_measure, real_mux = dub_module.measure_mix, media.mux

    def measure(*args, **kwargs):
        measured.append(real_measure(*args, **kwargs))
        return measured[-1]

    def mux(video_path, dub_wav, out_path, **kwargs):
        tracks.mkdir(exist_ok=True)
        for wav in [Path(dub_wav), *(Path(track.wav) for track in kwargs.get("extra_tracks", ()))]:
            shutil.copy(wav, tracks / wav.name)
        return real_mux(video_path, dub_wav, out_path, **kwargs)

    monkeypatch.setattr(dub_module, "measure_mix", measure)
    monkeypatch.setattr(media, "mux", mux)
    srt = tmp_path / "film.srt"
    save_srt(srt, LINES)
    ducking = Ducking(12.0, -45.0, 60, 250)
    out = tmp_path / "out" / "film.dub.mkv"
    result = dub(video, srt, out, DubOptions(lang="en", engine=engine.name, mix="duck", ducking=ducking, sync="fill",
                                             loudness=-10.0, dialogue_track=True, exports=("stems",)),
                 stem_path=tmp_path / "out" / "stem.wav")
    assert result.report["loudness"]["limited"]
    ((mixdown, _),) = measured

    # The whole-track way: the whole stem mixed over the whole original, the loudness gain over the whole track.
    timeline = mixdown.timeline
    original = media.decode_audio(video, RATE)
    stem = timeline.render()
    made = mix(stem, original, timeline.spans(), RATE, "duck", ducking)
    assert made.gain == pytest.approx(mixdown.guard, rel=1e-6)
    loud, whole = loudness_gain(made.track, RATE, -10.0)
    assert whole.limited and whole.after_lufs == pytest.approx(result.report["loudness"]["after_lufs"], abs=0.01)
    gain = loud * np.float32(made.gain)
    track = made.track * loud[:, None]

    def wav(path: Path) -> np.ndarray:
        samples, rate = media.read_wav(path)
        assert rate == RATE
        return samples

    assert np.allclose(wav(tracks / "dub.wav"), track, atol=1e-6)
    assert np.allclose(wav(tracks / "dialogue.wav"), stem * gain, atol=1e-6)
    assert np.allclose(wav(tmp_path / "out" / "stem.wav"), stem * gain, atol=1e-6)
    stems = out.with_name("film.dub.stems")
    assert np.allclose(wav(stems / DIALOGUE), stem * gain, atol=1e-6)
    n = min(original.shape[0], timeline.length)
    background = np.zeros_like(track)
    background[:n] = original[:n] * (made.original_gain * gain)[:n, None]
    assert np.allclose(wav(stems / BACKGROUND), background, atol=1e-6)
    anna = timeline.render(keys={line.index for line in result.lines if line.speaker == "Anna"})
    assert np.abs(anna).max() > 0.1
    assert np.allclose(wav(stems / SPEAKERS_FOLDER / "Anna.wav"), anna * gain, atol=1e-6)
    assert (stems / "lines" / "0002.wav").is_file()
