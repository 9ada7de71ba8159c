"""The real speakers of bench/data/librispeech load as promised and are told apart by the d-vector encoder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from dubber.audio.media import decode_audio
from dubber.models.speaker_embedding import cosine, default_embedder

BENCH = Path(__file__).resolve().parents[2] / "bench"
# The encoder costs about 25 ms of CPU a 0.4 s window, so the identity check reads the clips' starts: 5 s of
# CPU against 12 for whole clips. The own speaker's margin over the next is 0.16 (whole clips: 0.18).
REFERENCE_S, HELD_OUT_S = 4.0, 2.5


@pytest.fixture(scope="module")
def real_speakers():
    """Import bench/real_speakers.py (bench/ is not a package) and load the speakers once."""
    spec = importlib.util.spec_from_file_location("real_speakers", BENCH / "real_speakers.py")
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "real_speakers", module)  # its dataclass looks its module up
        spec.loader.exec_module(module)
        yield module


def test_ten_speakers_with_clips_in_range(real_speakers):
    speakers = real_speakers.load_speakers()
    assert [s.id for s in speakers] == ["367", "533", "1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331"]
    assert [s.sex for s in speakers].count("F") == 5 and all(s.name for s in speakers)
    for s in speakers:
        assert s.rate == 16000
        assert 6.0 <= s.reference.size / s.rate <= 10.0, s.id
        assert 2 <= len(s.held_out) <= 3, s.id
        assert all(3.0 <= h.size / s.rate <= 8.0 for h in s.held_out), s.id
        assert 10.0 <= sum(h.size for h in s.held_out) / s.rate <= 15.0, s.id
        assert all(clip.dtype == np.float32 and clip.ndim == 1 for clip in (s.reference, *s.held_out))
    total = sum(p.stat().st_size for p in real_speakers.FOLDER.iterdir())
    assert total < 2_500_000


def test_dubbers_decoder_reads_the_clips(real_speakers):
    speaker = real_speakers.load_speakers()[0]
    decoded = decode_audio(real_speakers.FOLDER / f"{speaker.id}-ref.opus", 16000, channels=1)[:, 0]
    assert decoded.size == speaker.reference.size
    assert np.corrcoef(decoded, speaker.reference)[0, 1] > 0.99


def test_each_reference_is_nearest_its_own_held_out_clips(real_speakers):
    speakers = real_speakers.load_speakers()
    embedder = default_embedder()
    references = [embedder.embed(s.reference[:int(REFERENCE_S * s.rate)], s.rate) for s in speakers]
    held = [[embedder.embed(h[:int(HELD_OUT_S * s.rate)], s.rate) for h in s.held_out] for s in speakers]
    for i, reference in enumerate(references):
        scores = [np.mean([cosine(reference, h) for h in clips]) for clips in held]
        assert int(np.argmax(scores)) == i, (speakers[i].id, np.round(scores, 2))
