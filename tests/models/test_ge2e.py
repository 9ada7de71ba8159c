"""The GE2E judge: Resemblyzer's encoder in numpy agrees with the real one, and its loader runs no code."""

from __future__ import annotations

import collections
import importlib.metadata
import io
import os
import pickle
import sys
import threading
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dubber.errors import EngineUnavailable, MediaError
from dubber.models import ge2e
from dubber.models.ge2e import GE2EEmbedder, bundled_weights, default_judge, load_state_dict, partial_starts
from dubber.voices.match import Embedder

DATA = Path(__file__).resolve().parents[1] / "data" / "ge2e"
UTTERANCE = "1688-142285-0002"  # see tests/data/ge2e/README.md


@pytest.fixture(scope="module")
def judge() -> GE2EEmbedder:
    try:
        importlib.metadata.distribution("resemblyzer")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"resemblyzer is not installed (`make test` installs it: {ge2e.INSTALL_HINT})")
    return default_judge()


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    samples, rate = sf.read(DATA / f"{UTTERANCE}.flac", dtype="float32")
    return samples, rate


def test_features_and_network_match_the_real_resemblyzer(judge, speech):
    # Measured 1.0000000 here (1 - 1.2e-7 at worst over 100 LibriSpeech utterances).
    expected = np.load(DATA / f"{UTTERANCE}.embed_utterance.npy")
    assert float(judge.embed_preprocessed(speech[0]) @ expected) >= 0.999


def test_the_full_pipeline_stays_close_with_silero_trimming(judge, speech):
    # Silero VAD cuts silences where Resemblyzer uses webrtcvad: measured 0.9943 on this clip.
    expected = np.load(DATA / f"{UTTERANCE}.preprocess_wav.npy")
    assert float(judge.embed(*speech) @ expected) >= 0.98


def test_vectors_are_unit_float32_and_rate_independent(judge, speech):
    from dubber.audio.samples import resample

    samples, rate = speech
    v = judge.embed(samples, rate)
    assert v.shape == (256,) and v.dtype == np.float32 and abs(float(np.linalg.norm(v)) - 1) < 1e-5
    stereo_48k = np.repeat(resample(samples, rate, 48000)[:, None], 2, axis=1)
    assert float(judge.embed(stereo_48k, 48000) @ v) > 0.98


def test_it_is_an_embedder_and_safe_across_threads(judge, speech):
    embedder: Embedder = judge
    assert embedder.name == "ge2e" and default_judge() is judge
    alone = judge.embed(*speech)
    found: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: found.append(judge.embed(*speech))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 2 and all(np.allclose(v, alone, atol=1e-6) for v in found)


@pytest.mark.parametrize("samples", [np.zeros(16000, np.float32), np.zeros(0, np.float32),
                                     np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32),
                                     np.full(1600, np.nan, np.float32)], ids=["silence", "empty", "noise", "nan"])
def test_no_speech_is_a_clear_error(judge, samples):
    # Resemblyzer embeds these as one fixed vector (a zero-padded silent partial), so any two would match.
    with pytest.raises(MediaError):
        judge.embed(samples, 16000)


def test_partials_follow_resemblyzers_slicing():
    # compute_partial_slices(n, rate=1.3, min_coverage=0.75) of the real package, as first frames.
    assert partial_starts(0) == [0]
    assert partial_starts(30000) == [0]
    assert partial_starts(160000) == list(range(0, 848, 77))
    assert partial_starts(25600 + 77 * 160 * 3) == [0, 77, 154, 231]


def test_weights_come_from_the_installed_distribution(judge):
    path = bundled_weights()
    assert path.name == "pretrained.pt" and path.parent.name == "resemblyzer"
    state = load_state_dict(path)
    assert state["lstm.weight_ih_l0"].shape == (1024, 40) and state["linear.weight"].dtype == np.float32


def test_a_missing_distribution_says_what_to_install(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(EngineUnavailable) as caught:
        bundled_weights()
    assert caught.value.hint == "pip install --no-deps resemblyzer==0.1.4"


def test_a_distribution_without_its_weights_is_refused(monkeypatch, tmp_path):
    class Empty:
        def locate_file(self, path):
            return tmp_path / path

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Empty())
    with pytest.raises(EngineUnavailable, match="without its weights"):
        bundled_weights()


class _Payload:
    """Pickles as a call of os.system: what a hostile checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _legacy_header() -> bytes:
    """The pickles that open a pre-zip torch.save file, before its object."""
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    return b"".join(pickle.dumps(x, protocol=2) for x in (ge2e.LEGACY_MAGIC, 1001, info))


@pytest.mark.parametrize("layout", ["legacy", "zip"])
def test_the_loader_refuses_other_globals_and_runs_nothing(tmp_path, layout):
    marker = tmp_path / "ran"
    payload = pickle.dumps({"model_state": _Payload(marker)}, protocol=2)
    path = tmp_path / "evil.pt"
    if layout == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", payload)
    else:
        path.write_bytes(_legacy_header() + payload)
    with pytest.raises(EngineUnavailable, match=r"refusing to load posix\.system|refusing to load os\.system"):
        load_state_dict(path)
    assert not marker.exists()


class _Storage:
    def __init__(self, key: str, data: np.ndarray) -> None:
        self.key, self.data = key, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        return (sys.modules["torch._utils"]._rebuild_tensor_v2, (*self.args, False, collections.OrderedDict()))


def _fake_torch(monkeypatch) -> type:
    """Stand-ins for the torch globals a checkpoint names, so one can be written without torch."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage_type = type("FloatStorage", (), {"__module__": "torch"})

    def rebuild(*args):
        raise AssertionError("never called: only pickled by name")

    rebuild.__module__, rebuild.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, torch._utils, utils._rebuild_tensor_v2 = storage_type, utils, rebuild
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return storage_type


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_zip_checkpoints_are_read_with_their_byte_order_and_strides(monkeypatch, tmp_path, byteorder):
    storage_type = _fake_torch(monkeypatch)
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    storage = _Storage("0", data)
    state = collections.OrderedDict([("w", _Tensor(storage, 0, (2, 3), (3, 1))),
                                     ("w_t", _Tensor(storage, 0, (3, 2), (1, 3))),
                                     ("tail", _Tensor(storage, 4, (2,), (1,)))])

    class Writer(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", storage_type, obj.key, "cpu", obj.data.size) if isinstance(obj, _Storage) else None

    buffer = io.BytesIO()
    Writer(buffer, protocol=2).dump({"model_state": state})
    path = tmp_path / "weights.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights/data.pkl", buffer.getvalue())
        archive.writestr("weights/byteorder", byteorder)
        archive.writestr("weights/data/0", data.astype("<f4" if byteorder == "little" else ">f4").tobytes())
    loaded = load_state_dict(path)
    assert np.array_equal(loaded["w"], data) and np.array_equal(loaded["w_t"], data.T)
    assert np.array_equal(loaded["tail"], [4, 5]) and loaded["w"].dtype == np.float32


def test_a_truncated_checkpoint_is_refused(judge, tmp_path):
    path = tmp_path / "short.pt"
    path.write_bytes(bundled_weights().read_bytes()[:1_000_000])
    with pytest.raises(EngineUnavailable, match="cannot read the GE2E weights"):
        GE2EEmbedder(path)
