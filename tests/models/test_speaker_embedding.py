"""The torch-free speaker embedder: a stable vector per voice, different vectors for different voices."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.errors import MediaError
from dubber.models.speaker_embedding import SpeakerEmbedder, bundled_model, cosine, default_embedder
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine

TEXTS = ["The quick brown fox jumps over the lazy dog near the river bank.",
         "Please remember to close the window before you leave the house."]


@pytest.fixture(scope="module")
def voices():
    """Two texts each from Piper's voice and two Kokoro voices."""
    piper, kokoro = get_engine("piper"), get_engine("kokoro")
    takes = {}
    for label, engine, voice in [("joe", piper, None), ("kumo", kokoro, "jm_kumo"), ("alpha", kokoro, "jf_alpha")]:
        takes[label] = [engine.synthesize(SynthesisRequest(text, "en", voice)) for text in TEXTS]
    return takes


def test_the_same_voice_scores_higher_than_another_voice_across_texts(voices):
    emb = default_embedder()
    vec = {label: [emb.embed(t.samples, t.sample_rate) for t in takes] for label, takes in voices.items()}
    for label in vec:
        same = cosine(vec[label][0], vec[label][1])
        for other in vec:
            if other != label:
                assert same > cosine(vec[label][0], vec[other][1]) + 0.02, (label, other)


def test_vectors_are_unit_length_and_rate_independent(voices):
    from dubber.audio.samples import resample

    emb = default_embedder()
    take = voices["joe"][0]
    v = emb.embed(take.samples, take.sample_rate)
    assert v.shape == (256,) and v.dtype == np.float32 and abs(np.linalg.norm(v) - 1) < 1e-5
    at_48k = emb.embed(resample(take.samples, take.sample_rate, 48000), 48000)
    assert cosine(v, at_48k) > 0.99


def test_window_embeddings_cover_the_clip(voices):
    take = voices["kumo"][0]
    windows = default_embedder().window_embeddings(take.samples, take.sample_rate)
    seconds = take.n_samples / take.sample_rate
    assert windows.shape[1] == 256 and abs(windows.shape[0] - (seconds * 100 - 80) / 40 - 1) <= 2


def test_the_recipe_comes_from_the_model_file():
    emb = SpeakerEmbedder(bundled_model())
    assert emb.sample_rate == 16000 and emb.recipe.n_mels == 40 and emb.recipe.window == 80


def test_too_short_audio_is_a_clear_error():
    with pytest.raises(MediaError, match="too short"):
        default_embedder().embed(np.zeros(800, np.float32), 16000)


def test_cosine_edge_cases():
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine(np.zeros(2), np.ones(2)) == 0.0
