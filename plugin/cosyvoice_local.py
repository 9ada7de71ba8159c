"""The CosyVoice engine in process: CosyVoice 2 or 3 loaded through its own Python package.

CosyVoice is not on PyPI. Clone it with its submodules, install its requirements, and put the
checkout and its Matcha-TTS on PYTHONPATH:

    git clone --recursive https://github.com/FunAudioLLM/CosyVoice
    pip install -r CosyVoice/requirements.txt
    export PYTHONPATH=$PWD/CosyVoice:$PWD/CosyVoice/third_party/Matcha-TTS

Weights: CosyVoice 2 is `FunAudioLLM/CosyVoice2-0.5B` on Hugging Face (`iic/CosyVoice2-0.5B` on
ModelScope), CosyVoice 3 is `FunAudioLLM/Fun-CosyVoice3-0.5B-2512` on both. Download one into a
folder and name it in the config file (dubber never downloads it):

    [engines.cosyvoice_local]
    model_dir = "~/models/CosyVoice2-0.5B"
    version = 2       # optional: read from the folder (cosyvoice2.yaml or cosyvoice3.yaml)
    fp16 = false      # also load_jit (CosyVoice 2 only), load_trt, load_vllm: AutoModel's own flags

dubber builds the model with `cosyvoice.cli.cosyvoice.AutoModel(model_dir=...)` (checkouts older
than December 2025 lack it; then `CosyVoice2` or `CosyVoice3` directly) and speaks each line with
`inference_zero_shot`, `inference_cross_lingual` or `inference_instruct2`, chosen and prompted as
for the server engine (`cosyvoice_request` in plugin/cosyvoice.py). Those methods are generators
of `{'tts_speech': tensor[1, T]}` at `model.sample_rate` (24 kHz); with `stream=False` they yield
one chunk per sentence of the line, and the take is all of them in order.

The prompt clip: current CosyVoice takes its path (`prompt_wav`) and loads it at 16 and 24 kHz
itself; older checkouts take a 16 kHz tensor (`prompt_speech_16k`), which dubber makes with
CosyVoice's own `load_wav`. The method's signature says which. Either way CosyVoice refuses a clip
sampled below 16 kHz or longer than 30 s, so dubber checks both first.

Duration: `speed` stretches the whole mel spectrogram by linear interpolation before the vocoder
(`token2wav` in cosyvoice/cli/model.py; not when streaming), so a take lasts 1/speed as long,
pauses included, at the same pitch. The vocoder resynthesises the stretched spectrogram, which
sounds cleaner than stretching the waveform, but it still smears like any time-stretch, so dubber
keeps it within ×0.8-×1.25, its own bound on stretching (CosyVoice's web UI offers 0.5-2.0).
Every call first seeds CosyVoice's random generators (`set_all_random_seed`, as its web UI does):
takes at different rates then share their speech tokens, so the rate search converges on one
rendition and a seed names a reproducible take.

Trust: the model is built inside `weights_only_loads` (plugin/weights_only.py), so its .pt files
are read as weights only; but CosyVoice builds it from the folder's yaml with hyperpyyaml, which
can construct and call any Python object the yaml names, so use a model folder from a source you trust.
"""

from __future__ import annotations

import importlib.util
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dubber.errors import DubberError, EngineUnavailable, MediaError, SynthesisError, UsageError
from dubber.plugin.cosyvoice import LANGUAGES, SAMPLE_RATE, check_version, cosyvoice_request, pronunciation_for
from dubber.plugin.engine import DURATION_RATE, Capabilities, Engine, SynthesisRequest, Take
from dubber.plugin.weights_only import weights_only_loads

RATE_RANGE = (0.8, 1.25)  # CosyVoice's `speed`, kept within dubber's own stretch bound (see above)
PROMPT_MIN_RATE = 16000  # CosyVoice's load_wav refuses clips sampled below this
PROMPT_MAX_S = 30.0  # its speech tokenizer refuses longer clips
FLAGS = ("fp16", "load_jit", "load_trt", "load_vllm")  # AutoModel's switches, passed on only when true
CONFIG_YAML = {2: "cosyvoice2.yaml", 3: "cosyvoice3.yaml"}
V1_YAML = "cosyvoice.yaml"
# What CosyVoice2/CosyVoice3.__init__ load from the folder besides the yaml.
WEIGHTS = {
    2: ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v2.onnx", "CosyVoice-BlankEN"),
    3: ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v3.onnx", "CosyVoice-BlankEN"),
}
PROMPT_PARAMETERS = ("prompt_wav", "prompt_speech_16k")  # current CosyVoice, then checkouts before December 2025

INSTALL_HINT = ("CosyVoice is not on PyPI: git clone --recursive https://github.com/FunAudioLLM/CosyVoice, "
                "pip install -r CosyVoice/requirements.txt, and put the checkout and its third_party/Matcha-TTS "
                "on PYTHONPATH (export PYTHONPATH=/path/to/CosyVoice:/path/to/CosyVoice/third_party/Matcha-TTS)")
WEIGHTS_HINT = ("download CosyVoice 2 (FunAudioLLM/CosyVoice2-0.5B on Hugging Face, iic/CosyVoice2-0.5B on "
                "ModelScope) or CosyVoice 3 (FunAudioLLM/Fun-CosyVoice3-0.5B-2512 on either) into a folder, and "
                "set model_dir to it in [engines.cosyvoice_local] of the config file "
                "(or --engine-opt cosyvoice_local.model_dir=PATH)")


@dataclass(frozen=True)
class _Loaded:
    """A loaded CosyVoice model and what dubber needs beside it."""

    model: Any  # cosyvoice.cli.cosyvoice.CosyVoice2 or CosyVoice3
    version: int
    seed: Callable[[int], None]  # cosyvoice.utils.common.set_all_random_seed


class CosyVoiceLocalEngine(Engine):
    """Clone a reference voice with CosyVoice 2 or 3 in this process; duration is steered by `speed`."""

    name = "cosyvoice_local"
    capabilities = Capabilities(
        languages=LANGUAGES,
        sample_rate=SAMPLE_RATE,
        voices=(),
        cloning="zero_shot",
        emotion="text",
        duration_control=DURATION_RATE,
        rate_range=RATE_RANGE,
        needs_gpu=True,
    )

    def __init__(self, model_dir: str | Path, version: int | None = None, fp16: bool = False,
                 load_jit: bool = False, load_trt: bool = False, load_vllm: bool = False) -> None:
        self.model_dir = Path(model_dir).expanduser()
        self.version = None if version is None else check_version(version, self.name)
        self.capabilities = pronunciation_for(type(self).capabilities, self.version)  # type: ignore[misc]
        flags = {"fp16": fp16, "load_jit": load_jit, "load_trt": load_trt, "load_vllm": load_vllm}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise UsageError(f"engines.{self.name}.{key} must be true or false, got {value!r}",
                                 engine=self.name, key=f"engines.{self.name}.{key}")
        self.flags = {key: True for key, value in flags.items() if value}  # older checkouts lack some flags
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # seeding and generating must not interleave
        self._prompts: dict[tuple[str, int, int], Any] = {}

    @classmethod
    def from_settings(cls, settings: object) -> CosyVoiceLocalEngine:
        """Build from `[engines.cosyvoice_local]`: model_dir, version (2, 3 or "auto"), fp16, load_jit, load_trt, load_vllm."""
        model_dir = settings.path("model_dir")
        if model_dir is None:
            raise UsageError(f"engines.{cls.name}.model_dir is not set: {WEIGHTS_HINT}", engine=cls.name,
                             key=f"engines.{cls.name}.model_dir", hint=WEIGHTS_HINT)
        version = settings.get("version", "auto")
        return cls(model_dir, version=None if version == "auto" else version,
                   **{flag: settings.get(flag, False) for flag in FLAGS})

    @classmethod
    def availability(cls, settings: object | None = None, probe: bool = False) -> str | None:
        """Say what is missing (the package, Matcha-TTS, the weights folder or a setting), without importing CosyVoice."""
        problem = missing_package()
        if problem:
            return problem
        if settings is None:
            return f"engines.{cls.name}.model_dir is not set: {WEIGHTS_HINT}"
        try:
            cls.from_settings(settings).checked_version()
        except (UsageError, EngineUnavailable) as exc:
            return str(exc)
        return None

    def checked_version(self) -> int:
        """Return the CosyVoice version in `model_dir`, or raise saying what is wrong with the folder or flags."""
        version = model_dir_version(self.model_dir, self.version)
        if version == 3 and "load_jit" in self.flags:
            raise UsageError(f"CosyVoice 3 has no JIT export: set engines.{self.name}.load_jit = false",
                             engine=self.name)
        return version

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak `text` in the voice of `reference` at `rate` (CosyVoice's speed); a seed gives the same take."""
        reference = self.need_reference(request.reference)
        voice = self.check_request(request)
        text, seed, rate = request.text, request.seed, request.rate
        clip = check_prompt(Path(reference.audio_path))
        loaded = self._load()
        mode, arguments = cosyvoice_request(text, request.lang, reference, request.emotion, loaded.version, self.name)
        method = getattr(loaded.model, mode)
        parameter = prompt_parameter(method)
        arguments[parameter] = self._prompt(clip, parameter)
        with self._run_lock:
            try:
                loaded.seed(int(seed))
                chunks = [_samples(out["tts_speech"]) for out in method(**arguments, stream=False, speed=float(rate))]
            except DubberError:
                raise
            except Exception as exc:  # CosyVoice raises what torch raises (CUDA out of memory, asserts)
                raise SynthesisError(f"CosyVoice failed on {text!r}: {exc!r}", engine=self.name, text=text) from exc
        if not chunks or not sum(chunk.size for chunk in chunks):
            raise SynthesisError(f"CosyVoice returned no audio for {text!r}", engine=self.name, text=text)
        return Take(np.concatenate(chunks), int(loaded.model.sample_rate), text, engine=self.name, voice=voice,
                    seed=seed, rate=rate)

    def _load(self) -> _Loaded:
        """Return the model, loading it on first use."""
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._read_model()
            return self._loaded

    def _read_model(self) -> _Loaded:
        problem = missing_package()
        if problem:
            raise EngineUnavailable(problem, engine=self.name, hint=INSTALL_HINT)
        version = self.checked_version()
        try:
            import cosyvoice.cli.cosyvoice as cosyvoice_cli
            from cosyvoice.utils.common import set_all_random_seed
        except ImportError as exc:
            hint = "run pip install -r requirements.txt in your CosyVoice checkout"
            raise EngineUnavailable(f"CosyVoice cannot be imported ({exc}): {hint}", engine=self.name,
                                    hint=hint) from exc
        build = getattr(cosyvoice_cli, "AutoModel", None) or getattr(cosyvoice_cli, f"CosyVoice{version}", None)
        if build is None:
            raise EngineUnavailable(f"this CosyVoice checkout cannot load CosyVoice {version}: update it (git pull)",
                                    engine=self.name, hint="git pull in your CosyVoice checkout")
        try:
            with weights_only_loads():  # checkouts before December 2025 torch.load without weights_only
                model = build(model_dir=str(self.model_dir), **self.flags)
        except Exception as exc:  # a broken folder or requirement fails inside CosyVoice in many ways
            raise EngineUnavailable(f"CosyVoice could not load {self.model_dir}: {exc!r}", engine=self.name,
                                    hint=WEIGHTS_HINT) from exc
        return _Loaded(model, version, set_all_random_seed)

    def _prompt(self, clip: Path, parameter: str) -> Any:
        """Return the prompt as the method takes it: the clip's path, or a 16 kHz tensor for older checkouts."""
        if parameter == "prompt_wav":
            return str(clip)
        stat = clip.stat()
        key = (str(clip), stat.st_mtime_ns, stat.st_size)
        if key not in self._prompts:
            from cosyvoice.utils.file_utils import load_wav

            self._prompts = {key: load_wav(str(clip), PROMPT_MIN_RATE)}  # one reference at a time is the common case
        return self._prompts[key]


def missing_package() -> str | None:
    """Say which of CosyVoice's two PYTHONPATH entries is missing, without importing either."""
    spec = importlib.util.find_spec("cosyvoice")
    if spec is None:
        return f"the cosyvoice package is not importable. {INSTALL_HINT}"
    if importlib.util.find_spec("matcha") is None:
        locations = list(spec.submodule_search_locations or [])
        where = (Path(locations[0]).parent / "third_party" / "Matcha-TTS" if locations
                 else "CosyVoice/third_party/Matcha-TTS")
        return (f"cosyvoice is importable but Matcha-TTS is not: add {where} to PYTHONPATH "
                f"(it is a git submodule: clone with --recursive, or run git submodule update --init)")
    return None


def model_dir_version(model_dir: Path, version: int | None) -> int:
    """Return the CosyVoice version a weights folder holds, or raise EngineUnavailable saying what is wrong."""
    def unavailable(problem: str) -> EngineUnavailable:
        return EngineUnavailable(f"{problem}; {WEIGHTS_HINT}", engine="cosyvoice_local", hint=WEIGHTS_HINT,
                                 path=str(model_dir))

    if not model_dir.is_dir():
        raise unavailable(f"the CosyVoice model_dir {model_dir} is not a folder")
    found = [v for v, yaml in CONFIG_YAML.items() if (model_dir / yaml).is_file()]
    if not found:
        if (model_dir / V1_YAML).is_file():
            raise unavailable(f"{model_dir} holds CosyVoice 1 ({V1_YAML}); dubber speaks through CosyVoice 2 and 3")
        raise unavailable(f"{model_dir} has neither {' nor '.join(CONFIG_YAML.values())}")
    detected = found[0]  # AutoModel's order: cosyvoice2.yaml before cosyvoice3.yaml
    if version is not None and version != detected:
        raise UsageError(f"engines.cosyvoice_local.version is {version}, but {model_dir} holds CosyVoice {detected} "
                         f"({CONFIG_YAML[detected]}); set version = {detected} or leave it out",
                         engine="cosyvoice_local", version=version)
    missing = [name for name in WEIGHTS[detected] if not (model_dir / name).exists()]
    if missing:
        raise unavailable(f"{model_dir} lacks {', '.join(missing)}, so its download is incomplete")
    return detected


def check_prompt(path: Path) -> Path:
    """Return the reference clip's absolute path, or raise unless CosyVoice can take it (>= 16 kHz, <= 30 s)."""
    import soundfile

    path = path.expanduser().resolve()
    try:
        info = soundfile.info(str(path))
    except (OSError, RuntimeError) as exc:  # soundfile raises LibsndfileError, a RuntimeError
        raise MediaError(f"cannot read the cosyvoice reference clip {path}: {exc}", path=str(path)) from exc
    if info.samplerate < PROMPT_MIN_RATE:
        raise UsageError(f"reference clip {path} is sampled at {info.samplerate} Hz; CosyVoice needs "
                         f"{PROMPT_MIN_RATE} Hz or more", engine="cosyvoice_local", path=str(path))
    seconds = info.frames / info.samplerate
    if seconds > PROMPT_MAX_S:
        raise UsageError(f"reference clip {path} lasts {seconds:.1f} s; CosyVoice takes at most {PROMPT_MAX_S:g} s",
                         engine="cosyvoice_local", path=str(path), seconds=seconds)
    return path


def prompt_parameter(method: Callable[..., Any]) -> str:
    """Return the name under which `method` takes the prompt clip: `prompt_wav` or `prompt_speech_16k`."""
    parameters = inspect.signature(method).parameters
    for name in PROMPT_PARAMETERS:
        if name in parameters:
            return name
    raise SynthesisError(f"CosyVoice's {getattr(method, '__name__', method)} takes none of "
                         f"{', '.join(PROMPT_PARAMETERS)}; this checkout is newer or older than dubber knows",
                         engine="cosyvoice_local")


def _samples(speech: Any) -> np.ndarray:
    """Return one `tts_speech` chunk (a tensor [1, T]) as float32 samples."""
    return np.asarray(speech.cpu().numpy(), dtype=np.float32).reshape(-1)
