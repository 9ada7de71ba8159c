"""The F5-TTS engine: zero-shot voice cloning by flow matching, with the total duration given natively.

dubber loads F5-TTS in-process through its Python API (the `f5-tts` package, `f5_tts/api.py`):

    F5TTS(model="F5TTS_v1_Base", ckpt_file=..., vocab_file=..., ode_method="euler", use_ema=True,
          vocoder_local_path=..., device=None)
    wav, sr, spectrogram = tts.infer(ref_file, ref_text, gen_text, show_info=..., progress=...,
          target_rms=0.1, cross_fade_duration=0.15, sway_sampling_coef=-1, cfg_strength=2, nfe_step=32,
          speed=1.0, fix_duration=None, remove_silence=False, seed=None)

`wav` is float32 at 24 kHz and holds only the generated speech: F5 generates mel frames for
reference + line, cuts the reference's frames off and vocodes the rest, 256 samples per frame.

What `infer` does, in `f5_tts/infer/utils_infer.py`, and what dubber sends because of it:

- `preprocess_ref_audio_text` clips the reference to about 12 s (at a silence when it can), trims
  its edges, appends 50 ms of silence, and caches the result by the clip's content hash. dubber calls
  the same function first, so it knows the exact reference length F5 will count.
- Without a transcript it would transcribe the clip with a Whisper model it downloads: dubber refuses
  an empty `Reference.text` instead.
- `fix_duration` is in seconds and counts the reference *plus* the generated audio; F5 turns it into
  `int(fix_duration * 24000 / 256)` mel frames. dubber sends (reference frames + line frames + ½)
  frames' worth, the half frame guarding the truncation, so the take is exactly the frames asked for.
  Without it F5 estimates the frames from the line's UTF-8 length at the reference's bytes per frame
  (divided by `speed`, or by 0.3 for lines under 10 bytes); dubber makes that same estimate itself
  (with `speed` = our rate) and always sends `fix_duration`.
- `infer_process` splits the text into chunks of at most `max_chars` bytes at punctuation. Up to
  f5-tts 1.1.20 every chunk got the whole `fix_duration`, so a split line came back about twice as
  long as asked; 1.1.22 shares it out by bytes but cross-fades the chunks, so the total is still off.
  With `fix_duration` set, `speed` only sizes those chunks (`max_chars` grows with it), so dubber
  raises it until the whole line is one chunk.
- F5 was trained on clips up to 30 s: reference + line must fit in 30 s, or dubber refuses the line.

Duration control: F5 takes a total length in 256-sample frames but no per-token durations. dubber
declares native frames anyway, because `fit_line` then re-times a line over ×0.7–×1.45 of its natural
length (rate control is held to ×0.8–×1.25): a natural take carries F5's estimate spread over the
line's characters in proportion to their UTF-8 bytes (as F5 estimates), and `synthesize_frames`
renders `frames.sum()` frames; how they fall on the characters is the model's own choice.

Nothing is ever downloaded: the checkpoint (`ckpt_path`) and the Vocos vocoder (`vocoder_dir`) must
be on disk, or the engine says which file is missing and where it comes from. F5 reads them with
safetensors or `torch.load(weights_only=True)`; dubber builds it inside `weights_only_loads`
(plugin/weights_only.py) all the same, so an f5-tts that did otherwise would still read weights only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from dubber.audio.samples import fit_length
from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, SynthesisError, UsageError
from dubber.models.frame_budget import round_exact
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Capabilities, Engine, Reference, SynthesisRequest, Take
from dubber.plugin.weights_only import weights_only_loads

SAMPLE_RATE = 24000  # every F5-TTS and E2-TTS config: 24 kHz mel, hop 256
HOP_SAMPLES = 256  # samples per mel frame, the step of `fix_duration`
MAX_TOTAL_S = 30  # reference + line; F5 was trained on clips up to 30 s
MAX_TOTAL_FRAMES = MAX_TOTAL_S * SAMPLE_RATE // HOP_SAMPLES
CHUNK_BUDGET_S = 22  # infer_process sizes text chunks so that reference + chunk last about 22 s
SHORT_TEXT_BYTES = 10  # F5 estimates lines shorter than this at speed 0.3
SHORT_TEXT_SPEED = 0.3
INSTALL_HINT = "pip install f5-tts (it needs torch and torchaudio; install the builds for your GPU first)"
VOCOS_REPO = "charactr/vocos-mel-24khz"
VOCOS_FILES = ("config.yaml", "pytorch_model.bin")  # what load_vocoder reads from a local folder

# model config name -> (Hugging Face repo, file in it) of its released checkpoint.
CHECKPOINTS = {
    "F5TTS_v1_Base": ("SWivid/F5-TTS", "F5TTS_v1_Base/model_1250000.safetensors"),
    "F5TTS_Base": ("SWivid/F5-TTS", "F5TTS_Base/model_1200000.safetensors"),
    "E2TTS_Base": ("SWivid/E2-TTS", "E2TTS_Base/model_1200000.safetensors"),
}
MODELS = (*CHECKPOINTS, "F5TTS_v1_Small", "F5TTS_Small", "E2TTS_Small")  # the configs f5-tts ships
DEFAULT_MODEL = "F5TTS_v1_Base"

# `[engines.f5_tts]` keys: paths end in _path/_dir so dubber's config resolves them.
OPTIONS = ("device", "ode_method", "use_ema", "nfe_step", "cfg_strength", "sway_sampling_coef", "target_rms",
           "cross_fade_duration")  # passed to the constructor as they are
SETTINGS = ("model", "ckpt_path", "vocab_path", "vocoder_dir", *OPTIONS)


@dataclass(frozen=True)
class PreparedReference:
    """A reference as F5 will use it: its processed clip and transcript, and their lengths."""

    clip: Path  # F5's trimmed copy (what infer_process loads)
    text: str  # the transcript with F5's closing punctuation
    frames: int  # mel frames F5 counts for the clip at 24 kHz
    seconds: float  # the clip's length at its own rate, as infer_process measures it to size chunks


class F5TtsEngine(Engine):
    """Clone a reference voice with F5-TTS; a line's length is passed to the model as `fix_duration`."""

    name: ClassVar[str] = "f5_tts"
    capabilities: ClassVar[Capabilities] = Capabilities(
        languages=("en", "zh"),  # the released checkpoints' training data (Emilia); fine-tunes may differ
        sample_rate=SAMPLE_RATE,
        voices=(),
        cloning="zero_shot",
        emotion="none",  # the reference clip carries the manner of speaking
        duration_control=DURATION_NATIVE_FRAMES,
        duration_step_samples=HOP_SAMPLES,
        rate_range=(0.5, 2.0),
        needs_gpu=True,
        max_text_chars=60,  # reference + line must fit MAX_TOTAL_S (30 s); ~12 s of reference leaves ~60 characters
    )

    def __init__(self, ckpt_path: str | Path, vocoder_dir: str | Path, model: str = DEFAULT_MODEL,
                 vocab_path: str | Path | None = None, device: str | None = None, ode_method: str = "euler",
                 use_ema: bool = True, nfe_step: int = 32, cfg_strength: float = 2.0,
                 sway_sampling_coef: float = -1.0, target_rms: float = 0.1,
                 cross_fade_duration: float = 0.15) -> None:
        problems = weight_problems(model, Path(ckpt_path), Path(vocoder_dir),
                                   Path(vocab_path) if vocab_path is not None else None)
        if problems:
            raise EngineUnavailable(f"F5-TTS cannot start: {'; '.join(problems)}", engine=self.name,
                                    hint="; ".join(problems))
        if isinstance(nfe_step, bool) or not isinstance(nfe_step, int) or nfe_step <= 0:
            raise UsageError(f"F5-TTS nfe_step must be a positive integer, got {nfe_step!r}", engine=self.name)
        for key, value in (("cfg_strength", cfg_strength), ("sway_sampling_coef", sway_sampling_coef),
                           ("target_rms", target_rms), ("cross_fade_duration", cross_fade_duration)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"F5-TTS {key} must be a number, got {value!r}", engine=self.name)
        if not isinstance(use_ema, bool):
            raise UsageError(f"F5-TTS use_ema must be true or false, got {use_ema!r}", engine=self.name)
        self.model = model
        self.ckpt_path = Path(ckpt_path)
        self.vocoder_dir = Path(vocoder_dir)
        self.vocab_path = Path(vocab_path) if vocab_path is not None else None
        self.device = device
        self.ode_method = ode_method
        self.use_ema = use_ema
        self.infer_options: dict[str, Any] = {
            "target_rms": float(target_rms), "cross_fade_duration": float(cross_fade_duration),
            "sway_sampling_coef": float(sway_sampling_coef), "cfg_strength": float(cfg_strength),
            "nfe_step": nfe_step,
        }
        self._tts: Any = None
        self._references: dict[tuple[str, int, int, str], PreparedReference] = {}

    @classmethod
    def from_settings(cls, settings: object) -> F5TtsEngine:
        """Build from `[engines.f5_tts]`: ckpt_path, vocoder_dir, model, vocab_path, device, and infer options."""
        unknown = sorted(set(settings.values) - set(SETTINGS) - {"allow_remote", "timeout_ms", "url"})
        if unknown:
            raise UsageError(f"engines.f5_tts has no setting {', '.join(map(repr, unknown))}; "
                             f"it reads {', '.join(SETTINGS)}", engine=cls.name)
        ckpt, vocoder = settings.path("ckpt_path"), settings.path("vocoder_dir")
        if ckpt is None or vocoder is None:
            reason = cls.availability(settings)
            raise EngineUnavailable(f"F5-TTS cannot start: {reason}", engine=cls.name, hint=reason)
        options = {key: settings.get(key) for key in OPTIONS if key in settings}
        return cls(ckpt, vocoder, model=settings.get("model", DEFAULT_MODEL), vocab_path=settings.path("vocab_path"),
                   **options)

    @classmethod
    def availability(cls, settings: object | None = None, probe: bool = False) -> str | None:
        """Say what is missing: the f5-tts package, the checkpoint or the vocoder (None: ready)."""
        settings = settings if settings is not None else EngineSettings(cls.name)
        problems = []
        if not _package_installed():
            problems.append(f"the f5_tts package is not installed: {INSTALL_HINT}")
        model = settings.get("model", DEFAULT_MODEL)
        ckpt, vocoder, vocab = settings.path("ckpt_path"), settings.path("vocoder_dir"), settings.path("vocab_path")
        if ckpt is None:
            problems.append(f"set engines.f5_tts.ckpt_path to the checkpoint: {checkpoint_source(model)}")
        if vocoder is None:
            problems.append(f"set engines.f5_tts.vocoder_dir to a folder holding {' and '.join(VOCOS_FILES)} "
                            f"from the Hugging Face repo {VOCOS_REPO}")
        problems += weight_problems(model, ckpt, vocoder, vocab)
        return "; ".join(problems) or None

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak `text` in the voice of `reference`, lasting `target_ms` when given, else F5's estimate / `rate`."""
        reference = self._transcribed_reference(request.reference)
        voice = self.check_request(request)
        target_ms, seed, rate = request.target_ms, request.seed, request.rate
        line = " ".join(request.text.split())  # whitespace F5 would collapse anyway; phonemes are the line's characters
        prepared = self.prepare_reference(reference)
        if target_ms is not None:
            if target_ms <= 0:
                raise UsageError(f"target must be positive, got {target_ms} ms", engine=self.name)
            frames = int(target_ms * SAMPLE_RATE + 500 * HOP_SAMPLES) // (1000 * HOP_SAMPLES)  # nearest frame
        else:
            frames = natural_frames(prepared, line, rate)
        samples = self._render(line, prepared, reference, max(frames, 1), seed)
        durations = spread_frames(line, max(frames, 1))
        return Take(samples, SAMPLE_RATE, line, durations=durations, frame_samples=HOP_SAMPLES, engine=self.name,
                    voice=voice, seed=seed, rate=rate if target_ms is None else 1.0)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Speak `text` lasting `frames.sum()` frames; F5 places them over the characters itself."""
        reference = self._transcribed_reference(request.reference)
        voice = self.check_request(request)
        text = request.text
        line = " ".join(text.split())
        frames = self.check_frames(text, line, frames)
        total = int(frames.sum())
        if total <= 0:
            raise SynthesisError(f"{self.name} got no frames to speak {text!r} in", engine=self.name, text=text)
        samples = self._render(line, self.prepare_reference(reference), reference, total, request.seed)
        return Take(samples, SAMPLE_RATE, line, durations=frames, frame_samples=HOP_SAMPLES, engine=self.name,
                    voice=voice, seed=request.seed, rate=1.0)

    def prepare_reference(self, reference: Reference) -> PreparedReference:
        """Run F5's own reference preprocessing and measure what it made."""
        import soundfile

        path = Path(reference.audio_path)
        try:
            stat = path.stat()
        except OSError as err:
            raise UsageError(f"cannot read the F5-TTS reference clip {path}: {err.strerror or err}",
                             engine=self.name, path=str(path)) from err
        key = (str(path), stat.st_mtime_ns, stat.st_size, reference.text)
        if key in self._references:
            return self._references[key]
        api = _api()
        try:
            with _quiet_stdout():
                clip, text = api.preprocess_ref_audio_text(str(path), reference.text, show_info=_ignore)
            info = soundfile.info(str(clip))
        except Exception as err:  # pydub/ffmpeg and soundfile raise their own types
            raise SynthesisError(f"F5-TTS cannot read the reference clip {path}: {err}",
                                 engine=self.name, path=str(path)) from err
        samples = info.frames if info.samplerate == SAMPLE_RATE else math.ceil(info.frames * SAMPLE_RATE
                                                                               / info.samplerate)
        prepared = PreparedReference(Path(clip), text, samples // HOP_SAMPLES, info.frames / info.samplerate)
        self._references = {key: prepared}  # one reference at a time is the common case
        return prepared

    def infer_arguments(self, line: str, prepared: PreparedReference, reference: Reference, frames: int,
                        seed: int) -> dict[str, Any]:
        """Build the keyword arguments of `F5TTS.infer` for a line lasting `frames` mel frames."""
        total = prepared.frames + frames
        if total > MAX_TOTAL_FRAMES:
            ref_s, line_s = prepared.frames * HOP_SAMPLES / SAMPLE_RATE, frames * HOP_SAMPLES / SAMPLE_RATE
            raise UsageError(f"F5-TTS speaks at most {MAX_TOTAL_S} s including the reference: {ref_s:.1f} s of "
                             f"reference + {line_s:.1f} s of {line!r} is {ref_s + line_s:.1f} s; split the line "
                             f"or use a shorter reference clip", engine=self.name, text=line)
        return {
            "ref_file": str(reference.audio_path),  # F5 finds its preprocessed copy by content hash
            "ref_text": reference.text,
            "gen_text": line,
            "show_info": _ignore,
            "progress": None,
            **self.infer_options,
            "speed": one_chunk_speed(line, prepared),
            "fix_duration": (total + 0.5) * HOP_SAMPLES / SAMPLE_RATE,
            "remove_silence": False,
            "seed": int(seed),
        }

    def _render(self, line: str, prepared: PreparedReference, reference: Reference, frames: int,
                seed: int) -> np.ndarray:
        """Generate exactly `frames` mel frames of `line` and return their samples."""
        arguments = self.infer_arguments(line, prepared, reference, frames, seed)
        tts = self._load()
        try:
            with _quiet_stdout():
                wav, rate, _spectrogram = tts.infer(**arguments)
        except Exception as err:  # torch and F5 raise anything; keep the line in the message
            raise SynthesisError(f"F5-TTS failed on {line!r}: {err!r}", engine=self.name, text=line) from err
        if wav is None:
            raise SynthesisError(f"F5-TTS returned no audio for {line!r}", engine=self.name, text=line)
        samples = np.asarray(wav, dtype=np.float32).reshape(-1)
        if rate != SAMPLE_RATE:
            raise SynthesisError(f"F5-TTS answered at {rate} Hz, not {SAMPLE_RATE}", engine=self.name, text=line)
        want = frames * HOP_SAMPLES
        if abs(samples.size - want) >= HOP_SAMPLES:
            raise SynthesisError(f"F5-TTS made {samples.size} samples of {line!r} where fix_duration asked for "
                                 f"{want}", engine=self.name, text=line)
        return fit_length(samples, want)  # within a frame: vocoder padding, not the model's choice

    def _load(self) -> Any:
        """Load the model and vocoder on first use."""
        if self._tts is None:
            api = _api()
            try:
                with _quiet_stdout(), weights_only_loads():
                    self._tts = api.F5TTS(model=self.model, ckpt_file=str(self.ckpt_path),
                                          vocab_file=str(self.vocab_path or ""), ode_method=self.ode_method,
                                          use_ema=self.use_ema, vocoder_local_path=str(self.vocoder_dir),
                                          device=self.device)
            except Exception as err:  # a wrong config for the checkpoint fails deep in torch
                hint = (f"check that engines.f5_tts.model ({self.model}) is the config {self.ckpt_path.name} was "
                        f"trained with, and that vocab_path is its vocabulary")
                raise EngineUnavailable(f"F5-TTS could not load {self.ckpt_path}: {err!r}; {hint}",
                                        engine=self.name, hint=hint) from err
        return self._tts

    def _transcribed_reference(self, reference: Reference | None) -> Reference:
        reference = self.need_reference(reference, " (up to 12 s)")
        if not reference.text.strip():
            raise UsageError("f5_tts needs the transcript of the reference clip: give it with --reference-text "
                             "(F5's own fallback would download a Whisper model to transcribe it)",
                             engine=self.name)
        return reference


def natural_frames(prepared: PreparedReference, line: str, rate: float = 1.0) -> int:
    """Estimate a line's frames as F5 does without `fix_duration`, at `speed` = rate."""
    ref_text = prepared.text
    if len(ref_text[-1].encode("utf-8")) == 1:
        ref_text += " "  # infer_batch_process pads an ASCII ending before counting
    line_bytes = len(line.encode("utf-8"))
    speed = (SHORT_TEXT_SPEED if line_bytes < SHORT_TEXT_BYTES else 1.0) * rate
    return int(prepared.frames / len(ref_text.encode("utf-8")) * line_bytes / speed)


def one_chunk_speed(line: str, prepared: PreparedReference) -> float:
    """Return a `speed` large enough that infer_process keeps `line` in one chunk."""
    per_speed = len(prepared.text.encode("utf-8")) / prepared.seconds * (CHUNK_BUDGET_S - prepared.seconds)
    if per_speed <= 0:
        raise UsageError(f"the F5-TTS reference lasts {prepared.seconds:.1f} s; keep it under 12 s",
                         engine=F5TtsEngine.name)
    need = len(line.encode("utf-8")) + 2  # chunk_text may add a space after the last sentence
    return max(1.0, (need + 1) / per_speed)  # +1: int() of the product must not fall below `need`


def spread_frames(line: str, frames: int) -> np.ndarray:
    """Lay `frames` over the line's characters by UTF-8 bytes, as `Take.durations` (no silences)."""
    weights = np.array([len(ch.encode("utf-8")) for ch in line], dtype=np.float64)
    share = frames * weights / weights.sum()
    per_char = round_exact(share, np.zeros_like(share), np.full_like(share, frames), frames)
    return np.concatenate([[0], per_char, [0]]).astype(np.int32)


def checkpoint_source(model: str) -> str:
    """Say where the checkpoint for a model config is downloaded from."""
    if model in CHECKPOINTS:
        repo, file = CHECKPOINTS[model]
        return f"download {file} from the Hugging Face repo {repo}"
    return f"a checkpoint trained with the {model} config"


def weight_problems(model: str, ckpt: Path | None, vocoder: Path | None, vocab: Path | None) -> list[str]:
    """List what is wrong with the configured model name and weight files (empty: nothing)."""
    problems = []
    if model not in MODELS:
        problems.append(f"engines.f5_tts.model {model!r} is not a config f5-tts ships ({', '.join(MODELS)})")
    if ckpt is not None and not ckpt.is_file():
        problems.append(f"no F5-TTS checkpoint at {ckpt} (engines.f5_tts.ckpt_path): {checkpoint_source(model)}")
    if vocoder is not None:
        missing = [name for name in VOCOS_FILES if not (vocoder / name).is_file()]
        if missing:
            problems.append(f"the vocoder folder {vocoder} (engines.f5_tts.vocoder_dir) lacks {' and '.join(missing)}"
                            f": download them from the Hugging Face repo {VOCOS_REPO}")
    if vocab is not None and not vocab.is_file():
        problems.append(f"no vocabulary at {vocab} (engines.f5_tts.vocab_path): use the vocab.txt the checkpoint "
                        f"came with, or unset vocab_path for the one f5-tts ships")
    return problems


def _package_installed() -> bool:
    """Say whether f5_tts can be found, without importing it (and torch)."""
    try:
        return importlib.util.find_spec("f5_tts") is not None
    except (ImportError, ValueError):  # a broken parent package, or a module without a spec
        return False


def _api() -> ModuleType:
    """Import f5_tts.api (and with it torch) on first use."""
    try:
        import f5_tts.api as api
    except ImportError as err:
        raise EngineUnavailable(f"cannot import F5-TTS: {err}; {INSTALL_HINT}", engine=F5TtsEngine.name,
                                hint=INSTALL_HINT) from err
    return api


def _ignore(*_args: object) -> None:
    """Take F5's progress messages and drop them."""


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Keep F5's progress prints off dubber's own output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
