import numpy as np

from dubber.timeline import Timeline


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
