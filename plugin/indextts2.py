"""The IndexTTS2 engine: zero-shot voice cloning with emotion control, through the official `indextts` package.

dubber loads the model in-process (index-tts's `indextts/infer_v2.py`, or `infer_v2_5.py` for
IndexTTS-2.5), as `IndexTTS2(cfg_path, model_dir, use_fp16 | use_bf16, device, use_cuda_kernel,
use_deepspeed, use_accel, use_torch_compile, use_qwen_emo, ...)`, and speaks each line with

    infer(spk_audio_prompt, text, output_path=None, [lang,] emo_audio_prompt, emo_alpha, emo_vector,
          use_emo_text, emo_text, max_text_tokens_per_segment, [duration_factor,] **generation_kwargs)

which, with no output path, returns `(22050, int16 array of shape (samples, 1))`. The pipeline
inside: a GPT samples semantic codes (50 per second for IndexTTS-2, 25 for 2.5), the S2Mel length
regulator stretches them to a target number of mel frames (`codes * 1.72`, or `2 * codes * 1.72 *
duration_factor` in 2.5; a frame is 256 samples, 11.61 ms), a flow-matching model fills the mel
frames and BigVGAN turns them into audio. The take therefore lasts exactly the target's frames.

Duration control. The released GPT is not length-conditioned (its `speed_emb` has two rows, and
`infer` feeds it zeros), so masking or forcing its end token would cut words or pad silence; the
length is set after it, at the regulator, as 2.5's own `duration_factor` does:
- a speaking rate r scales the target by 1/r: `duration_factor=1/r` where `infer` takes it (2.5),
  else the regulator's target is rescaled for that call;
- an exact length (`synthesize_frames`, or `target_ms`) replaces the target with that many frames,
  for both versions, since a factor would be relative to a code count known only after sampling.
  The rescaling wraps, for one `infer` call, the GPT's `inference_speech` (to know when a line's
  codes are ready; the reference clip's prompt also passes through the regulator, before) and the
  regulator's `forward`, and restores both after.
IndexTTS2 has no per-phoneme durations: a `Take`'s `durations` are its measured lead and tail
silence around the speech spread evenly over the characters of the text, and `synthesize_frames`
renders only their sum, as the take's total length. The model keeps its own rhythm inside.

A line is one segment (duration is per segment): `max_text_tokens_per_segment` is the GPT's whole
text capacity (`cfg.gpt.max_text_tokens`), so `infer` does not split it. IndexTTS-2.5 on a GPU
under 10 GB splits lines over 40 characters at punctuation anyway; there an exact length is
reached by scaling the natural take's length with `duration_factor` instead.

`infer` takes no seed: dubber seeds torch (`torch.manual_seed`) before each call, which fixes the
GPT's sampling and the flow-matching noise. The emotion vector is 8 weights in [0, 1], in
upstream's order (happy, angry, sad, afraid, disgusted, melancholic, surprised, calm), passed
through upstream's `normalize_emo_vec` as its web UI does. An emotion given as text needs
QwenEmotion (`use_qwen_emo = true`); one given as a clip becomes `emo_audio_prompt`.

Loading weights safely: upstream reads gpt.pth, s2mel.pth, the CAM++ and BigVGAN checkpoints and
its stat and matrix files with `torch.load` and no `weights_only`, which unpickles arbitrary
objects on torch before 2.6; dubber builds the model inside `weights_only_loads`
(plugin/weights_only.py), so every one of them reads weights only.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dubber.audio.samples import resample
from dubber.audio.speech import speech_span
from dubber.errors import DubberError, EngineUnavailable, MediaError, SynthesisError, UnsupportedLanguage, UsageError
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Capabilities, Emotion, Engine, SynthesisRequest, Take
from dubber.plugin.weights_only import weights_only_loads
from dubber.text.pronunciation import FORM_INDEXTTS

SAMPLE_RATE = 22050
FRAME_SAMPLES = 256  # S2Mel's mel hop, which BigVGAN upsamples back: one frame is 11.61 ms
EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
EMOTION_KINDS_TAKEN = ("vector", "text", "reference")
DEFAULT_SEGMENT_TOKENS = 600  # IndexTTS-2's and 2.5's cfg.gpt.max_text_tokens
LOW_VRAM_SPLIT_CHARS = 40  # infer_v2_5.infer splits longer lines on GPUs under 10 GB
NATURAL_CACHE = 256  # natural take lengths kept, to scale lines that IndexTTS splits itself
_MISSING = object()

MODULES = {"2": "indextts.infer_v2", "2.5": "indextts.infer_v2_5"}
HF_REPOS = {"2": "IndexTeam/IndexTTS-2", "2.5": "IndexTeam/IndexTTS-2.5"}
# What index-tts's webui.py checks for before loading each version, plus the config.
WEIGHTS = {
    "2": ("config.yaml", "bpe.model", "gpt.pth", "s2mel.pth", "wav2vec2bert_stats.pt"),
    "2.5": ("config.yaml", "gpt.pth", "s2mel.pth", "codec.pth", "multilingual_zh_ja_yue_char_del.tiktoken",
            "wav2vec2bert_stats.pt"),
}
# dubber language -> what `infer` takes: IndexTTS-2 reads Chinese and English from the text itself;
# 2.5 takes a language code (its web UI offers these five).
LANGUAGES = {"2": {"zh": None, "en": None},
             "2.5": {"zh": "ZH", "en": "EN", "ja": "JA", "es": "ES", "ar": "AR"}}
LOAD_OPTIONS = ("use_fp16", "use_bf16", "use_cuda_kernel", "use_deepspeed", "use_accel", "use_torch_compile",
                "use_qwen_emo")
SAMPLING_OPTIONS = ("temperature", "top_p", "top_k", "num_beams", "repetition_penalty", "length_penalty",
                    "max_mel_tokens")
INSTALL_HINT = ("install IndexTTS2 into dubber's environment: git clone https://github.com/index-tts/index-tts "
                "&& pip install -e ./index-tts")


def weights_hint(version: str = "2") -> str:
    """Say where the weights come from and which setting points at them."""
    repo = HF_REPOS[version]
    return (f"download the weights (hf download {repo} --local-dir ~/models/{repo.split('/')[1]}) "
            f"and set model_dir under [engines.indextts2] in dubber's config.toml")


class IndexTts2Engine(Engine):
    """Clone a reference voice with IndexTTS2; its S2Mel length target sets each take's exact length."""

    name: ClassVar[str] = "indextts2"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=("zh", "en", "ja", "es", "ar"),  # ja, es and ar need IndexTTS-2.5
        sample_rate=SAMPLE_RATE,
        voices=(),
        cloning="zero_shot",
        emotion="vector",
        emotion_kinds=EMOTION_KINDS_TAKEN,
        duration_control=DURATION_NATIVE_FRAMES,
        duration_step_samples=FRAME_SAMPLES,
        rate_range=(0.5, 2.0),  # duration_factor 2.0-0.5, the range 2.5 documents
        needs_gpu=True,
        max_text_chars=100,  # one segment per line; the GPT stops at max_mel_tokens (~30 s): 100 Han ~ 22 s
        pronunciation=FORM_INDEXTTS,  # its text normaliser reads 'XUAN4' in place of a character
    )

    def __init__(self, model_dir: str | os.PathLike[str], cfg_path: str | os.PathLike[str] | None = None,
                 version: str | None = None, device: str | None = None,
                 load_options: dict[str, bool] | None = None, sampling: dict[str, float] | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.cfg_path = Path(cfg_path) if cfg_path is not None else self.model_dir / "config.yaml"
        self.version = _version(version) if version is not None else detect_version(self.model_dir)
        if self.version is None:
            raise UsageError(f"cannot tell which IndexTTS version is in {self.model_dir}: set version = \"2\" or "
                             f"\"2.5\" under [engines.indextts2]", engine=self.name)
        self.device = device
        self.load_options = dict(load_options or {})
        self.sampling = dict(sampling or {})
        for key in self.load_options:
            if key not in LOAD_OPTIONS:
                raise UsageError(f"unknown IndexTTS2 option {key!r} (options: {', '.join(LOAD_OPTIONS)})",
                                 engine=self.name, key=key)
        self._tts: Any = None
        self._natural_frames: dict[tuple[Any, ...], int] = {}

    @classmethod
    def from_settings(cls, settings: object) -> IndexTts2Engine:
        """Build from `[engines.indextts2]`: model_dir, cfg_path, version, device, use_* flags, sampling."""
        model_dir = settings.path("model_dir")
        if model_dir is None:
            raise UsageError(f"engines.indextts2.model_dir is not set; {weights_hint()}", engine=cls.name,
                             key="engines.indextts2.model_dir")
        version = settings.get("version")
        device = settings.get("device")
        if device is not None and not isinstance(device, str):
            raise UsageError(f"engines.indextts2.device must be a string such as \"cuda:0\", got {device!r}",
                             engine=cls.name, key="engines.indextts2.device")
        load_options = {}
        for key in LOAD_OPTIONS:
            if key in settings:
                value = settings.get(key)
                if not isinstance(value, bool):
                    raise UsageError(f"engines.indextts2.{key} must be true or false, got {value!r}",
                                     engine=cls.name, key=f"engines.indextts2.{key}")
                load_options[key] = value
        sampling = {}
        for key in SAMPLING_OPTIONS:
            if key in settings:
                value = settings.get(key)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise UsageError(f"engines.indextts2.{key} must be a number, got {value!r}",
                                     engine=cls.name, key=f"engines.indextts2.{key}")
                sampling[key] = value
        return cls(model_dir, settings.path("cfg_path"), None if version is None else str(version), device,
                   load_options, sampling)

    @classmethod
    def availability(cls, settings: object | None = None, probe: bool = False) -> str | None:
        """Say what is missing: the `indextts` package, model_dir, its config or weights (nothing is imported)."""
        if not _has_module("indextts"):
            return f"the indextts package is not installed; {INSTALL_HINT}"
        model_dir = settings.path("model_dir") if settings is not None else None
        if model_dir is None:
            return f"engines.indextts2.model_dir is not set; {weights_hint()}"
        if not model_dir.is_dir():
            return f"IndexTTS2 model_dir {model_dir} is not a folder; {weights_hint()}"
        raw_version = settings.get("version")
        version = detect_version(model_dir) if raw_version is None else _version(str(raw_version))
        if version is None:
            return (f"{model_dir} holds neither IndexTTS-2 (bpe.model) nor IndexTTS-2.5 (codec.pth) weights; "
                    f"{weights_hint()}")
        if not _has_module(MODULES[version]):
            return f"the installed indextts has no {MODULES[version]} for IndexTTS-{version}; update it (git pull)"
        cfg_path = settings.path("cfg_path") or model_dir / "config.yaml"
        if not cfg_path.is_file():
            return (f"IndexTTS2 config {cfg_path} is missing; it comes with the weights "
                    f"({HF_REPOS[version]}), or set engines.indextts2.cfg_path")
        missing = [name for name in WEIGHTS[version] if name != "config.yaml" and not (model_dir / name).is_file()]
        if missing:
            return f"IndexTTS-{version} weights missing from {model_dir}: {', '.join(missing)}; {weights_hint(version)}"
        return None

    # -- synthesis --------------------------------------------------------------------------------

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak `text` in the voice of `reference`, at `rate`, or lasting `target_ms` in all when given."""
        voice = self._check(request)
        target_ms, rate = request.target_ms, request.rate
        if target_ms is not None:
            if target_ms <= 0:
                raise UsageError(f"target must be positive, got {target_ms} ms", engine=self.name)
            frames = max(1, round(target_ms * SAMPLE_RATE / (1000 * FRAME_SAMPLES)))
            samples = self._render_length(request, frames)
            return self._take(samples, request, voice, 1.0)
        samples = self._render(request, scale=1.0 / rate)
        if rate == 1.0:
            self._remember_natural(_natural_key(request), samples.size // FRAME_SAMPLES)
        return self._take(samples, request, voice, rate)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak `text` lasting `frames.sum()` frames in all; the split over symbols is not rendered."""
        voice = self._check(request)
        text = request.text
        frames = self.check_frames(text, text, frames)
        total = int(frames.sum())
        if total < 1:
            raise SynthesisError(f"{self.name} needs at least one frame for {text!r}", engine=self.name, text=text)
        samples = self._render_length(request, total)
        exact = samples.size // FRAME_SAMPLES == total
        return self._take(samples, request, voice, 1.0, frames if exact else None)

    def _check(self, request: SynthesisRequest) -> str:
        reference = self.need_reference(request.reference)
        voice = self.check_request(request)
        lang, emotion = request.lang, request.emotion
        if lang not in LANGUAGES[self.version]:
            raise UnsupportedLanguage(f"IndexTTS-{self.version} does not speak {lang!r} (it speaks "
                                      f"{', '.join(LANGUAGES[self.version])}; IndexTTS-2.5 adds ja, es and ar)",
                                      engine=self.name, lang=lang)
        if not Path(reference.audio_path).is_file():
            raise MediaError(f"the indextts2 reference clip {reference.audio_path} does not exist",
                             path=str(reference.audio_path))
        if emotion is not None:
            emotion_arguments(emotion)  # validate before loading anything
        return voice

    def _remember_natural(self, key: tuple[Any, ...], frames: int) -> None:
        self._natural_frames.pop(key, None)
        self._natural_frames[key] = frames
        while len(self._natural_frames) > NATURAL_CACHE:
            del self._natural_frames[next(iter(self._natural_frames))]

    def _render_length(self, request: SynthesisRequest, frames: int) -> np.ndarray:
        """Render a take lasting `frames` mel frames in all."""
        if not self._splits(request.text):
            return self._render(request, frames=frames)
        # Several segments: scale the natural take (made first if need be) by the ratio wanted.
        key = _natural_key(request)
        if key not in self._natural_frames:
            natural = self._render(request)
            self._remember_natural(key, natural.size // FRAME_SAMPLES)
        return self._render(request, scale=frames / self._natural_frames[key])

    def _splits(self, text: str) -> bool:
        """Say whether `infer` will cut this line into several segments whatever dubber asks."""
        tts = self._model()
        return bool(getattr(tts, "low_vram", False)) and len(text) > LOW_VRAM_SPLIT_CHARS

    def _render(self, request: SynthesisRequest, *, frames: int | None = None, scale: float = 1.0) -> np.ndarray:
        """Run `infer` once on the request's line; return float32 mono samples padded to whole frames."""
        tts = self._model()
        text = request.text
        arguments = self._infer_arguments(tts, request)
        target: _LengthTarget | None = None
        if frames is not None:
            target = _LengthTarget(tts, frames=frames)
        elif not math.isclose(scale, 1.0):
            if "duration_factor" in inspect.signature(tts.infer).parameters:
                arguments["duration_factor"] = scale
            else:
                target = _LengthTarget(tts, scale=scale)
        _seed(request.seed)
        with target.applied() if target is not None else nullcontext(), redirect_stdout(sys.stderr):
            try:
                result = tts.infer(**arguments)
            except DubberError:
                raise
            except Exception as err:  # upstream raises anything from RuntimeError (CUDA) to KeyError
                raise SynthesisError(f"IndexTTS2 failed on {text!r}: {err!r}", engine=self.name, text=text) from err
        if target is not None and target.segments == 0:
            raise SynthesisError("this indextts never ran its S2Mel length regulator after its GPT, so dubber "
                                 "could not set the take's length; update indextts", engine=self.name, text=text)
        return _samples(result, text)

    def _infer_arguments(self, tts: Any, request: SynthesisRequest) -> dict[str, Any]:
        reference, emotion = self.need_reference(request.reference), request.emotion
        arguments: dict[str, Any] = {
            "spk_audio_prompt": str(Path(reference.audio_path).expanduser().resolve()),
            "text": request.text,
            "output_path": None,
            "verbose": False,
            "max_text_tokens_per_segment": _segment_tokens(tts),
            **self.sampling,
        }
        code = LANGUAGES[self.version][request.lang]
        if code is not None:
            arguments["lang"] = code
        if emotion is not None:
            extra = emotion_arguments(emotion)
            if "emo_vector" in extra and callable(getattr(tts, "normalize_emo_vec", None)):
                # Upstream's web UI weights the vector and caps its sum before infer; so do we.
                extra["emo_vector"] = list(tts.normalize_emo_vec(extra["emo_vector"], apply_bias=True))
            if extra.get("use_emo_text") and getattr(tts, "qwen_emo", True) is None:
                raise UsageError("an emotion given as text needs IndexTTS2's QwenEmotion model: set "
                                 "use_qwen_emo = true under [engines.indextts2]", engine=self.name)
            arguments.update(extra)
        return arguments

    def _take(self, samples: np.ndarray, request: SynthesisRequest, voice: str, rate: float,
              durations: np.ndarray | None = None) -> Take:
        if durations is None:
            durations = spread_durations(samples, request.text)
        return Take(samples, SAMPLE_RATE, request.text, durations=durations, frame_samples=FRAME_SAMPLES,
                    engine=self.name, voice=voice, seed=request.seed, rate=rate)

    # -- loading ----------------------------------------------------------------------------------

    def _model(self) -> Any:
        """Load IndexTTS2 on first use."""
        if self._tts is not None:
            return self._tts
        cls = _import_model_class(self.version)
        arguments: dict[str, Any] = {"cfg_path": str(self.cfg_path), "model_dir": str(self.model_dir),
                                     **self.load_options}
        if self.device is not None:
            arguments["device"] = self.device
        accepted = inspect.signature(cls).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        refused = [] if takes_any else [key for key in arguments if key not in accepted]
        if refused:
            raise UsageError(f"IndexTTS-{self.version} does not take {', '.join(refused)} (it takes "
                             f"{', '.join(name for name in accepted if name not in ('self', 'aux_paths'))})",
                             engine=self.name)
        with redirect_stdout(sys.stderr), weights_only_loads():  # upstream prints its progress; keep stdout clean
            try:
                self._tts = cls(**arguments)
            except Exception as err:
                raise EngineUnavailable(f"IndexTTS-{self.version} could not load from {self.model_dir}: {err!r}",
                                        engine=self.name, hint=weights_hint(self.version)) from err
        return self._tts


def emotion_arguments(emotion: Emotion) -> dict[str, Any]:
    """Return the `infer` keywords for an emotion, or raise UsageError/MediaError if it is malformed."""
    if emotion.kind not in EMOTION_KINDS_TAKEN:
        raise UsageError(f"indextts2 takes emotion as one of {', '.join(EMOTION_KINDS_TAKEN)}, "
                         f"not {emotion.kind!r}", engine="indextts2")
    alpha = float(emotion.alpha)
    if not 0.0 <= alpha <= 1.0:
        raise UsageError(f"indextts2 emotion strength must be in [0, 1], got {emotion.alpha}", engine="indextts2")
    if emotion.kind == "vector":
        try:
            vector = [float(v) for v in emotion.vector]
        except (TypeError, ValueError):
            vector = [math.nan]
        if len(vector) != len(EMOTIONS) or not all(0.0 <= v <= 1.0 for v in vector):  # NaN fails too
            raise UsageError(f"indextts2 needs {len(EMOTIONS)} emotion weights in [0, 1] "
                             f"({', '.join(EMOTIONS)}), got {list(emotion.vector)}", engine="indextts2")
        return {"emo_vector": vector, "emo_alpha": alpha}
    if emotion.kind == "text":
        return {"use_emo_text": True, "emo_text": emotion.text.strip() or None, "emo_alpha": alpha}
    if emotion.audio_path is None or not Path(emotion.audio_path).is_file():
        raise MediaError(f"the indextts2 emotion clip {emotion.audio_path} does not exist",
                         path=str(emotion.audio_path))
    return {"emo_audio_prompt": str(Path(emotion.audio_path).expanduser().resolve()), "emo_alpha": alpha}


def spread_durations(samples: np.ndarray, text: str) -> np.ndarray:
    """Lay a take out as `Take.durations`: measured lead and tail silence, the speech spread evenly over `text`."""
    total = samples.size // FRAME_SAMPLES
    span = speech_span(samples, SAMPLE_RATE)
    lead, tail = (total, 0) if span is None else (span.start // FRAME_SAMPLES,
                                                  (samples.size - span.end) // FRAME_SAMPLES)
    speech = total - lead - tail
    per_symbol = np.full(len(text), speech // len(text), dtype=np.int32)
    per_symbol[: speech % len(text)] += 1
    return np.concatenate([[lead], per_symbol, [tail]]).astype(np.int32)


def detect_version(model_dir: Path) -> str | None:
    """Tell IndexTTS-2.5 weights (codec.pth) from IndexTTS-2 weights (bpe.model) in a folder."""
    if (model_dir / "codec.pth").is_file():
        return "2.5"
    if (model_dir / "bpe.model").is_file():
        return "2"
    return None


class _LengthTarget:
    """Set the S2Mel length-regulator target of the speech `infer` generates, for one call.

    The regulator also sizes the reference clip's prompt, before the GPT runs; only calls after
    `gpt.inference_speech` returned are the line's. Both are wrapped as instance attributes
    (nn.Module calls `self.forward`) and restored on exit.
    """

    def __init__(self, tts: Any, frames: int | None = None, scale: float = 1.0) -> None:
        try:
            self.gpt, self.regulator = tts.gpt, tts.s2mel.models["length_regulator"]
        except (AttributeError, KeyError, TypeError) as err:
            raise SynthesisError("this indextts has no gpt or s2mel.models['length_regulator'] where dubber sets "
                                 "the take's length; update indextts", engine="indextts2") from err
        self.frames, self.scale = frames, scale
        self.segments = 0
        self._codes_ready = False

    @contextmanager
    def applied(self) -> Iterator[None]:
        generate, forward = self.gpt.inference_speech, self.regulator.forward
        saved = [(owner, name, vars(owner).get(name, _MISSING))
                 for owner, name in ((self.gpt, "inference_speech"), (self.regulator, "forward"))]

        def inference_speech(*args: Any, **kwargs: Any) -> Any:
            out = generate(*args, **kwargs)
            self._codes_ready = True
            return out

        def regulate(x: Any, ylens: Any = None, *args: Any, **kwargs: Any) -> Any:
            if self._codes_ready and ylens is not None:
                self._codes_ready = False
                ylens = self._retarget(ylens)
            return forward(x, ylens, *args, **kwargs)

        self.gpt.inference_speech, self.regulator.forward = inference_speech, regulate
        try:
            yield
        finally:
            for owner, name, previous in saved:  # back to the class's method, or what was there before
                if previous is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, previous)

    def _retarget(self, ylens: Any) -> Any:
        self.segments += 1
        flat = ylens.reshape(-1)
        if int(flat.shape[0]) != 1:
            raise SynthesisError(f"IndexTTS2 regulated {int(flat.shape[0])} sequences at once; dubber sets one",
                                 engine="indextts2")
        if self.frames is not None:
            if self.segments > 1:
                raise SynthesisError("IndexTTS2 split the line into several segments, so its length cannot be "
                                     "set exactly; shorten the line", engine="indextts2")
            wanted = self.frames
        else:
            wanted = max(1, round(int(flat[0]) * self.scale))
        return ylens * 0 + wanted  # the same type, dtype and device as upstream's tensor


def _natural_key(request: SynthesisRequest) -> tuple[Any, ...]:
    """What a natural take's length depends on: the request less its voice, rate and target."""
    return (request.text, request.lang, request.reference, request.emotion, request.seed)


def _samples(result: Any, text: str) -> np.ndarray:
    """Turn `infer`'s `(rate, int16 array)` answer into float32 mono at 22.05 kHz, padded to whole frames."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise SynthesisError(f"IndexTTS2 returned no audio for {text!r} (got {type(result).__name__})",
                             engine="indextts2", text=text)
    rate, data = result
    audio = np.asarray(data)
    if audio.size == 0:
        raise SynthesisError(f"IndexTTS2 returned no audio for {text!r}", engine="indextts2", text=text)
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float32) / 32768.0
    audio = audio.astype(np.float32).reshape(audio.shape[0], -1).mean(axis=1)  # (samples, channels)
    if int(rate) != SAMPLE_RATE:
        audio = resample(audio, int(rate), SAMPLE_RATE)
    pad = -audio.size % FRAME_SAMPLES
    return np.concatenate([audio, np.zeros(pad, np.float32)]) if pad else audio


def _segment_tokens(tts: Any) -> int:
    """Return the GPT's text capacity, so that `infer` keeps a line in one segment."""
    try:
        return int(tts.cfg.gpt.max_text_tokens)
    except (AttributeError, KeyError, TypeError, ValueError):
        return DEFAULT_SEGMENT_TOKENS


def _seed(seed: int) -> None:
    """Seed torch, which samples IndexTTS2's GPT and flow matching (`infer` has no seed of its own)."""
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)


def _import_model_class(version: str) -> Any:
    hf_cache = os.environ.get("HF_HUB_CACHE")
    try:
        module = importlib.import_module(MODULES[version])
    except ImportError as err:
        raise EngineUnavailable(f"cannot import {MODULES[version]} for IndexTTS-{version}: {err}",
                                engine="indextts2", hint=INSTALL_HINT) from err
    finally:
        # infer_v2_5 points HF_HUB_CACHE at ./checkpoints/hf_cache when imported: undo that.
        if hf_cache is None:
            os.environ.pop("HF_HUB_CACHE", None)
        else:
            os.environ["HF_HUB_CACHE"] = hf_cache
    return module.IndexTTS2


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that is missing, or a module with no spec
        return False


def _version(value: str) -> str:
    version = {"2": "2", "2.0": "2", "2.5": "2.5"}.get(value.strip())
    if version is None:
        raise UsageError(f"engines.indextts2.version must be \"2\" or \"2.5\", got {value!r}", engine="indextts2",
                         key="engines.indextts2.version")
    return version
