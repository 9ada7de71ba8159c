import numpy as np
import pytest

from dubber.errors import UsageError
from dubber.mixing import duck_envelope, mix

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
    assert out.shape == (100, 2) and out[:10].max() == 0 and out[15, 0] == 0.5


def test_duck_keeps_the_original_outside_speech():
    dub = np.zeros(3000, np.float32)
    dub[1000:2000] = 0.5
    original = np.full((3000, 1), 0.2, np.float32)
    out = mix(dub, original, [(1000, 2000)], SR, mode="duck", depth_db=20, attack_ms=50, release_ms=50)
    assert out[0, 0] == pytest.approx(0.2) and out[1500, 0] == pytest.approx(0.5 + 0.02)


def test_mix_never_clips():
    dub = np.full(100, 0.9, np.float32)
    out = mix(dub, np.full((100, 1), 0.9, np.float32), [], SR, mode="duck")
    assert np.abs(out).max() <= 0.98 + 1e-6


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError):
        mix(np.zeros(10, np.float32), None, [], SR, mode="karaoke")
