import numpy as np
import pytest

from dubber.errors import UsageError
from dubber.mix.mixing import Ducking, duck_envelope, mix, mix_range, speech_spans
from dubber.mix.timeline import Timeline

SR = 1000  # 1 sample per ms keeps the arithmetic readable


def test_duck_envelope_depth_and_ramps():
    env = duck_envelope(2000, [(500, 1000)], SR, depth_db=20, attack_ms=100, release_ms=200)
    assert env[:400].min() == 1.0
    assert np.allclose(env[500:1000], 0.1, atol=1e-6)
    assert 0.1 < env[450] < 1.0 and np.all(np.diff(env[400:500]) <= 0)
    assert 0.1 < env[1100] < 1.0 and np.all(np.diff(env[1000:1200]) >= 0)
    assert env[1200:].min() == 1.0


def test_close_spans_stay_ducked_between():
    env = duck_envelope(2000, [(100, 500), (550, 900)], SR, depth_db=20, attack_ms=100, release_ms=200)
    assert env[500:550].max() < 0.5


def test_replace_drops_the_original():
    dub = np.zeros(100, np.float32)
    dub[10:20] = 0.5
    original = np.full((100, 2), 0.3, np.float32)
    out = mix(dub, original, [(10, 20)], SR, mode="replace")
    assert out.track.shape == (100, 2) and out.track[:10].max() == 0 and out.track[15, 0] == 0.5
    assert out.original_gain is None and out.gain == 1.0


def test_duck_keeps_the_original_outside_speech():
    dub = np.zeros(3000, np.float32)
    dub[1000:2000] = 0.5
    original = np.full((3000, 1), 0.2, np.float32)
    out = mix(dub, original, [(1000, 2000)], SR, mode="duck", ducking=Ducking(20, None, 50, 50))
    assert out.track[0, 0] == pytest.approx(0.2) and out.track[1500, 0] == pytest.approx(0.5 + 0.02)
    assert out.original_gain[0] == 1.0 and out.original_gain[1500] == pytest.approx(0.1)


def test_threshold_ducks_under_speech_not_under_the_takes_silent_padding():
    rate = 16000
    dub = np.zeros(4 * rate, np.float32)
    take = (rate // 2, 3 * rate)  # the placed clip: 0.5 s to 3 s
    speech = (rate, 2 * rate)  # what is spoken in it: 1 s to 2 s
    dub[speech[0]:speech[1]] = 0.1 * np.sin(np.arange(rate) * 0.2)
    original = np.full((dub.size, 1), 0.2, np.float32)
    gated = mix(dub, original, [take], rate, ducking=Ducking(20, -45.0, 100, 200)).original_gain
    whole = mix(dub, original, [take], rate, ducking=Ducking(20, None, 100, 200)).original_gain
    assert whole[take[0]] == pytest.approx(0.1) and whole[int(2.9 * rate)] == pytest.approx(0.1)
    assert gated[take[0]] == 1.0 and gated[int(2.5 * rate)] == 1.0  # the padding leaves the original alone
    assert gated[speech[0]] == pytest.approx(0.1) and gated[speech[1] - 1] == pytest.approx(0.1)
    # the attack ends as the first word begins: halfway down 50 ms before it
    assert 0.1 < gated[speech[0] - rate // 20] < 1.0
    assert gated[speech[0] - rate // 10 - 1] == 1.0
    assert gated[speech[1] + rate // 5] == 1.0  # back up after the release


def test_short_pauses_are_held_and_long_ones_let_the_original_up():
    dub = np.zeros(5000, np.float32)
    for a, b in ((500, 1000), (1200, 1600), (2600, 3000)):  # a 200 ms pause, then a 1 s one
        dub[a:b] = 0.3
    spans = speech_spans(dub, [(400, 3100)], SR, -40.0)
    assert spans == [(500, 1600), (2600, 3000)]


def test_a_quiet_take_does_not_duck():
    dub = np.full(1000, 0.001, np.float32)  # -60 dBFS
    assert speech_spans(dub, [(0, 1000)], SR, -45.0) == []


def test_mix_never_clips_and_reports_its_gain():
    dub = np.full(100, 0.9, np.float32)
    out = mix(dub, np.full((100, 1), 0.9, np.float32), [], SR, mode="duck")
    assert np.abs(out.track).max() <= 0.98 + 1e-6
    assert out.gain == pytest.approx(0.98 / 1.8)


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError):
        mix(np.zeros(10, np.float32), None, [], SR, mode="karaoke")


@pytest.mark.parametrize("kwargs", [{"depth_db": -3}, {"threshold_db": 6}, {"attack_ms": -1},
                                    {"release_ms": 20_000}])
def test_bad_ducking_settings_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        Ducking(**kwargs)


def _busy_timeline(rate: int = SR) -> tuple[Timeline, np.ndarray]:
    rng = np.random.default_rng(7)
    timeline = Timeline(rate, 20_000)
    for key, start in enumerate(range(300, 19_000, 1700)):  # speech with pauses inside: the gate and hold matter
        take = (rng.standard_normal(900) * 0.3).astype(np.float32)
        take[300:420] = 0.0
        timeline.place(key, start, take)
    original = (rng.standard_normal((20_000, 2)) * 0.1).astype(np.float32)
    return timeline, original


@pytest.mark.parametrize("window", [(0, 500), (1000, 2600), (5555, 9876), (18_000, 20_000), (19_990, 25_000)])
def test_a_window_mixed_alone_equals_that_window_of_the_whole_mix(window):
    timeline, original = _busy_timeline()
    ducking = Ducking(18, -40, 60, 250)
    whole = mix(timeline.render(), original, timeline.spans(), SR, mode="duck", ducking=ducking)
    start, end = window
    part, stem, envelope = mix_range(timeline, original, start, end, "duck", ducking)
    assert part.shape == whole.track[start:end].shape
    assert np.allclose(part * np.float32(whole.gain), whole.track[start:end], atol=1e-6)
    assert np.array_equal(stem, timeline.render(start, end))
    assert np.allclose(envelope, whole.original_gain[start:end], atol=1e-7)


def test_a_window_of_a_replacing_mix_has_no_envelope():
    timeline, original = _busy_timeline()
    whole = mix(timeline.render(), original, timeline.spans(), SR, mode="replace")
    part, _, envelope = mix_range(timeline, original, 4000, 6000, "replace", None)
    assert envelope is None and np.allclose(part * np.float32(whole.gain), whole.track[4000:6000], atol=1e-6)
