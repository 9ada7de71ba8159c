"""Tuned Kokoro voices: packs named by their content, saved in the cache folder, spoken by name."""

from pathlib import Path

import numpy as np
import pytest

from dubber.errors import UnknownVoice, UsageError
from dubber.models import kokoro_voices
from dubber.models.kokoro import KokoroEngine
from dubber.models.kokoro_voices import PACK_SHAPE, TIMBRE_DIMS, is_tuned, tuned_folder, tuned_name
from dubber.models.onnx_graph import CACHE_ENV
from dubber.plugin.engine import SynthesisRequest

needs_kokoro = pytest.mark.skipif(KokoroEngine.unavailable_reason() is not None,
                                  reason=str(KokoroEngine.unavailable_reason()))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep tuned packs in a temporary folder (the patched graphs stay in the real cache: they are slow to make)."""
    monkeypatch.setattr(kokoro_voices, "tuned_folder", lambda: tmp_path / "tuned")
    return tmp_path / "tuned"


def _pack(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.2, PACK_SHAPE).astype(np.float32)


def test_names_are_content_digests() -> None:
    pack = _pack()
    name = tuned_name(pack)
    assert is_tuned(name) and len(name) == len("tuned-") + 16
    assert tuned_name(pack.copy()) == name and tuned_name(pack.astype(np.float64)) == name
    changed = pack.copy()
    changed[3, 7] += 1e-3
    assert tuned_name(changed) != name
    assert not is_tuned("tuned-xyz") and not is_tuned("jf_alpha") and not is_tuned(None)


def test_tuned_packs_sit_beside_the_voice_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert tuned_folder() == tmp_path / "voices" / "tuned"


def test_a_kept_pack_is_known_to_a_new_engine(folder: Path) -> None:
    pack = _pack()
    name = KokoroEngine().tuned_voice(pack)
    assert sorted(p.name for p in folder.iterdir()) == [f"{name}.npy"]  # no temporary file left behind
    other = KokoroEngine()
    assert other.check_voice_choice("en", name) == name and other.check_voice_choice("ja", name) == name
    assert np.array_equal(other._tuned.get(name), pack)


def test_an_unsaved_pack_is_known_to_its_engine_only(folder: Path) -> None:
    engine = KokoroEngine()
    name = engine.tuned_voice(_pack(1), keep=False)
    assert engine.check_voice_choice("en", name) == name and not folder.exists()
    with pytest.raises(UnknownVoice, match="--voice tune"):
        KokoroEngine().check_voice_choice("en", name)


def test_a_missing_or_damaged_pack_is_an_unknown_voice(folder: Path) -> None:
    engine = KokoroEngine()
    with pytest.raises(UnknownVoice, match="--voice tune") as caught:
        engine.check_voice_choice("en", tuned_name(_pack(2)))
    assert str(folder) in str(caught.value)
    name = engine.tuned_voice(_pack(3))
    np.save(folder / f"{name}.npy", _pack(4))  # another pack under this name
    with pytest.raises(UnknownVoice, match="damaged"):
        KokoroEngine()._tuned.get(name)
    with pytest.raises(UnknownVoice):
        engine.check_voice_choice("en", "tuned-notahexdigest")


def test_a_pack_of_the_wrong_shape_is_refused(folder: Path) -> None:
    with pytest.raises(UsageError, match="510"):
        KokoroEngine().tuned_voice(np.zeros((510, 128), np.float32))
    with pytest.raises(UsageError):
        KokoroEngine().tuned_voice(np.full(PACK_SHAPE, np.nan, np.float32))


def test_blends_of_tuned_voices_are_not_made(folder: Path) -> None:
    name = KokoroEngine().tuned_voice(_pack())
    with pytest.raises(UnknownVoice, match="blend"):
        KokoroEngine().check_voice_choice("en", f"{name}*0.5+jf_alpha*0.5")
    assert KokoroEngine.blend_voices([("jf_alpha", 0.6), ("jm_kumo", 0.4)]) == "jf_alpha*0.6+jm_kumo*0.4"


@needs_kokoro
def test_a_tuned_voice_speaks_its_pack(folder: Path) -> None:
    engine = KokoroEngine()
    start = engine.voice_pack("jf_alpha*0.5+jm_kumo*0.5")
    assert start.shape == PACK_SHAPE
    same = engine.tuned_voice(start)
    moved = start.copy()
    moved[:, :TIMBRE_DIMS] += 0.1 * np.sign(np.random.default_rng(0).normal(size=TIMBRE_DIMS)).astype(np.float32)
    other = engine.tuned_voice(moved, keep=False)
    request = SynthesisRequest("See you soon.", "en", voice="jf_alpha*0.5+jm_kumo*0.5", seed=3)
    blend = engine.synthesize(request)
    fresh = KokoroEngine()  # reads the saved pack from the cache folder
    again = fresh.synthesize(SynthesisRequest("See you soon.", "en", voice=same, seed=3))
    assert again.voice == same and np.array_equal(again.samples, blend.samples)
    assert np.array_equal(fresh.voice_pack(same), start)
    changed = engine.synthesize(SynthesisRequest("See you soon.", "en", voice=other, seed=3))
    # The timbre half feeds the decoder alone: the timing stays, the sound changes.
    assert np.array_equal(changed.durations, blend.durations) and not np.array_equal(changed.samples, blend.samples)
