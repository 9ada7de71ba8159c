import numpy as np
import pytest

from dubber.audio.samples import ms_to_samples
from dubber.errors import MediaError
from dubber.mix.timeline import Clip, Timeline, place_clips


def test_clips_land_on_their_exact_sample():
    tl = Timeline(48000, 48000)
    tl.place(1, 1000, np.ones(10, np.float32))
    tl.place(2, 30000, np.full(5, 0.5, np.float32))
    out = tl.render()
    assert np.flatnonzero(out).tolist() == list(range(1000, 1010)) + list(range(30000, 30005))


def test_positions_do_not_drift_over_many_clips():
    # 500 clips of odd lengths: each one's position depends only on its own start.
    tl = Timeline(48000, 48000 * 600)
    starts = [i * 48000 + (i * 37) % 997 for i in range(500)]
    for i, s in enumerate(starts):
        tl.place(i, s, np.ones(1 + i % 7, np.float32))
    out = tl.render()
    assert all(out[s] == 1.0 and out[s - 1] == 0.0 for s in starts)


def test_overlaps_add_and_edges_are_cut():
    tl = Timeline(8000, 100)
    tl.place(1, -5, np.ones(10, np.float32))
    tl.place(2, 3, np.ones(4, np.float32))
    tl.place(3, 95, np.ones(10, np.float32))
    out = tl.render()
    assert out[:5].tolist() == [1, 1, 1, 2, 2] and out[95:].tolist() == [1] * 5
    assert tl.spans() == [(0, 5), (3, 7), (95, 100)]


def test_resampled_clip_keeps_its_start():
    tl = Timeline(48000, 48000)
    p = tl.place(1, 4800, np.ones(2400, np.float32), from_rate=24000)
    assert p.start == 4800 and abs(p.samples.size - 4800) <= 1


# -- render(start, end) and place_clips ----------------------------------------------------------


def _busy_timeline() -> Timeline:
    rng = np.random.default_rng(3)
    tl = Timeline(8000, 1000)
    tl.place(1, -40, rng.standard_normal(100).astype(np.float32))  # cut at the start
    tl.place(2, 300, rng.standard_normal(250).astype(np.float32))
    tl.place(3, 450, rng.standard_normal(200).astype(np.float32))  # overlaps clip 2
    tl.place(4, 950, rng.standard_normal(120).astype(np.float32))  # cut at the end
    return tl


def test_a_window_render_is_the_same_slice_of_the_full_render():
    tl = _busy_timeline()
    full = tl.render()
    for start, end in [(0, 1000), (0, 30), (20, 80), (299, 301), (320, 520), (549, 551), (600, 1000), (960, 1000),
                       (700, 800)]:
        window = tl.render(start, end)
        assert window.dtype == np.float32 and window.shape == (end - start,)
        assert np.array_equal(window, full[start:end]), (start, end)


def test_a_window_render_clamps_to_the_timeline():
    tl = _busy_timeline()
    full = tl.render()
    assert np.array_equal(tl.render(900, 5000), full[900:])
    assert np.array_equal(tl.render(-50, 10), full[:10])
    assert np.array_equal(tl.render(500), full[500:])
    assert tl.render(600, 400).shape == (0,) and tl.render(2000, 3000).shape == (0,)


def test_place_clips_puts_each_onset_on_its_cue_sample():
    rate = 48000
    clips = []
    for key, (onset_ms, lead) in enumerate([(250, 720), (1000, 1), (1733, 0)], start=1):
        samples = np.zeros(lead + 2400, np.float32)
        samples[lead:] = 0.5  # speech starts `lead` samples in, at 24 kHz
        clips.append(Clip(key, onset_ms, samples, 24000, lead))
    tl = place_clips(clips, rate * 3, rate)
    out = tl.render()
    for clip in clips:
        at = ms_to_samples(clip.onset_ms, rate)
        assert out[at] > 0.4 and abs(out[at - 2]) < 0.05, clip.key
    assert [p.start for p in tl.placements] == [12000 - 1440, 48000 - 2, ms_to_samples(1733, rate)]


def test_place_clips_rounds_the_lead_at_another_rate():
    # 441 samples at 44.1 kHz are exactly 480 at 48 kHz; 440 round to 479 (478.9).
    tl = place_clips([Clip(1, 100, np.ones(1000, np.float32), 44100, 441),
                      Clip(2, 200, np.ones(1000, np.float32), 44100, 440)], 48000, 48000)
    assert [p.start for p in tl.placements] == [4800 - 480, 9600 - 479]
    assert [p.key for p in tl.placements] == [1, 2]


def test_place_clips_cuts_a_lead_that_runs_before_zero():
    samples = np.concatenate([np.zeros(960, np.float32), np.full(480, 0.5, np.float32)])
    tl = place_clips([Clip(1, 10, samples, 48000, 960)], 4800, 48000)
    out = tl.render()
    assert tl.placements[0].start == 480 - 960
    assert np.flatnonzero(out).tolist() == list(range(480, 960))


def test_a_stored_clip_renders_like_one_in_memory_and_is_read_only_when_rendered(tmp_path, monkeypatch):
    from dubber.audio import media
    from dubber.mix import timeline as timeline_module

    rng = np.random.default_rng(3)
    take = (0.2 * rng.standard_normal(22050)).astype(np.float32)
    path = media.write_wav(tmp_path / "take.wav", take, 22050)
    eager = place_clips([Clip(1, 500, take, 22050, 441)], 96000, 48000)
    lazy = place_clips([Clip(1, 500, None, 22050, 441, path, media.audio_frames(path))], 96000, 48000)
    reads = []
    real = timeline_module.read_wav
    monkeypatch.setattr(timeline_module, "read_wav", lambda p: reads.append(p) or real(p))
    assert lazy.spans() == eager.spans() and not reads  # placing reads nothing
    assert np.array_equal(lazy.render(), eager.render()) and reads == [path]
    media.write_wav(path, take[:1000], 22050)  # the file changed under the project
    with pytest.raises(MediaError, match="changed on disk"):
        lazy.render()
