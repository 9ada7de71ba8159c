"""The in-process CosyVoice adapter against a stand-in for CosyVoice's Python package (and, opt-in, the real one).

The stand-in replaces only the package's boundary: `cosyvoice.cli.cosyvoice` (AutoModel and the model
classes, whose inference methods have upstream's names and signatures), `set_all_random_seed`, and,
for checkouts before December 2025, `load_wav`. Its "speech" is tone bursts laid out on 20 ms mel
frames, one sentence per yielded chunk, whose token counts vary with CosyVoice's random state and
whose frames are interpolated by `speed` the way token2wav does.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from dubber.audio.speech import speech_span
from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, MediaError, SynthesisError, UsageError
from dubber.fitting.fitter import STATUS_OK, fit_line
from dubber.plugin.cosyvoice_local import WEIGHTS, CosyVoiceLocalEngine
from dubber.plugin.engine import Emotion, Reference, SynthesisRequest

SR = 24000
MEL_HOP = 480  # samples per mel frame at 24 kHz
TOKEN_MELS = 2  # mel frames per speech token (token_mel_ratio)
TEXT = "Hello there, how are you?"
SYSTEM = "You are a helpful assistant.<|endofprompt|>"


class FakeTensor:
    """As much of a torch tensor as the adapter may touch: `.cpu()`, `.numpy()`, `.shape`."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


@dataclass
class Package:
    """What the fake package saw, and its global random state (torch's, in the real one)."""

    built: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (class, kwargs)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (method, arguments)
    seeds: list[int] = field(default_factory=list)
    loaded_wavs: list[tuple[str, int]] = field(default_factory=list)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(12345))
    fail: Exception | None = None  # raise this from inference

    def set_all_random_seed(self, seed: int) -> None:
        self.seeds.append(seed)
        self.rng = np.random.default_rng(seed)

    def speak(self, method: str, arguments: dict[str, Any]) -> Any:
        """Yield one chunk per sentence, as CosyVoice does with stream=False."""
        self.calls.append((method, arguments))
        if self.fail is not None:
            raise self.fail
        text = arguments["tts_text"].replace(SYSTEM, "")
        for sentence in re.findall(r"[^.!?。]*[.!?。]?", text):
            if sentence.strip(" .!?。"):
                yield {"tts_speech": FakeTensor(self.render(sentence, arguments["speed"])[None, :])}

    def render(self, sentence: str, speed: float) -> np.ndarray:
        """Lay a sentence out on mel frames, then interpolate them to int(frames / speed) like token2wav."""
        envelope = [np.zeros(6)]
        for word in sentence.split():
            tokens = max(1, round(len(word) * 2 * self.rng.uniform(0.85, 1.15)))
            envelope += [np.full(tokens * TOKEN_MELS, 0.3), np.zeros(4)]
        envelope.append(np.zeros(8))
        frames = np.concatenate(envelope)
        n = int(frames.size / speed)
        stretched = np.interp((np.arange(n) + 0.5) * frames.size / n - 0.5, np.arange(frames.size), frames)
        amplitude = np.repeat(stretched, MEL_HOP)
        t = np.arange(amplitude.size) / SR
        return (amplitude * np.sin(2 * np.pi * 210 * t)).astype(np.float32)


def _model_class(package: Package, version: int, prompt: str) -> type:
    """A CosyVoice2/3 look-alike whose methods take the prompt under the name `prompt`."""

    class Model:
        sample_rate = SR

        def __init__(self, model_dir: str, **flags: Any) -> None:
            package.built.append((f"CosyVoice{version}", {"model_dir": model_dir, **flags}))

    if prompt == "prompt_wav":
        def inference_zero_shot(self, tts_text, prompt_text, prompt_wav, zero_shot_spk_id="", stream=False,
                                speed=1.0, text_frontend=True):
            return package.speak("inference_zero_shot", dict(tts_text=tts_text, prompt_text=prompt_text,
                                                             prompt_wav=prompt_wav, stream=stream, speed=speed))

        def inference_cross_lingual(self, tts_text, prompt_wav, zero_shot_spk_id="", stream=False, speed=1.0,
                                    text_frontend=True):
            return package.speak("inference_cross_lingual", dict(tts_text=tts_text, prompt_wav=prompt_wav,
                                                                 stream=stream, speed=speed))

        def inference_instruct2(self, tts_text, instruct_text, prompt_wav, zero_shot_spk_id="", stream=False,
                                speed=1.0, text_frontend=True):
            return package.speak("inference_instruct2", dict(tts_text=tts_text, instruct_text=instruct_text,
                                                             prompt_wav=prompt_wav, stream=stream, speed=speed))
    else:
        def inference_zero_shot(self, tts_text, prompt_text, prompt_speech_16k, zero_shot_spk_id="", stream=False,
                                speed=1.0, text_frontend=True):
            return package.speak("inference_zero_shot", dict(tts_text=tts_text, prompt_text=prompt_text,
                                                             prompt_speech_16k=prompt_speech_16k, stream=stream,
                                                             speed=speed))

        def inference_cross_lingual(self, tts_text, prompt_speech_16k, zero_shot_spk_id="", stream=False,
                                    speed=1.0, text_frontend=True):
            return package.speak("inference_cross_lingual", dict(tts_text=tts_text, stream=stream, speed=speed,
                                                                 prompt_speech_16k=prompt_speech_16k))

        def inference_instruct2(self, tts_text, instruct_text, prompt_speech_16k, zero_shot_spk_id="",
                                stream=False, speed=1.0, text_frontend=True):
            return package.speak("inference_instruct2", dict(tts_text=tts_text, instruct_text=instruct_text,
                                                             prompt_speech_16k=prompt_speech_16k, stream=stream,
                                                             speed=speed))

    Model.inference_zero_shot = inference_zero_shot
    Model.inference_cross_lingual = inference_cross_lingual
    Model.inference_instruct2 = inference_instruct2
    return Model


def _module(name: str, package_dir: Path | None = None, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package_dir is not None)
    if package_dir is not None:
        module.__spec__.submodule_search_locations = [str(package_dir)]
        module.__path__ = [str(package_dir)]
    module.__dict__.update(attributes)
    return module


def _install(monkeypatch, tmp_path: Path, package: Package, old_api: bool = False, matcha: bool = True) -> None:
    """Put the fake package into sys.modules under CosyVoice's real import paths."""
    prompt = "prompt_speech_16k" if old_api else "prompt_wav"
    classes = {f"CosyVoice{v}": _model_class(package, v, prompt) for v in (2, 3)}

    def auto_model(**kwargs: Any) -> Any:  # upstream picks the class by the yaml in the folder
        version = 2 if Path(kwargs["model_dir"], "cosyvoice2.yaml").exists() else 3
        return classes[f"CosyVoice{version}"](**kwargs)

    def load_wav(wav: str, target_sr: int) -> FakeTensor:
        package.loaded_wavs.append((wav, target_sr))
        return FakeTensor(np.zeros((1, target_sr), np.float32))

    cli = _module("cosyvoice.cli.cosyvoice", **classes, **({} if old_api else {"AutoModel": auto_model}))
    modules = {
        "cosyvoice": _module("cosyvoice", tmp_path / "CosyVoice" / "cosyvoice"),
        "cosyvoice.cli": _module("cosyvoice.cli", tmp_path, cosyvoice=cli),
        "cosyvoice.cli.cosyvoice": cli,
        "cosyvoice.utils": _module("cosyvoice.utils", tmp_path),
        "cosyvoice.utils.common": _module("cosyvoice.utils.common", set_all_random_seed=package.set_all_random_seed),
        "cosyvoice.utils.file_utils": _module("cosyvoice.utils.file_utils", load_wav=load_wav),
        "matcha": _module("matcha", tmp_path) if matcha else None,
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def _model_dir(root: Path, version: int = 2, skip: tuple[str, ...] = ()) -> Path:
    """A weights folder with the files CosyVoice loads (empty: the stand-in reads none of them)."""
    folder = root / f"CosyVoice{version}-0.5B"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"cosyvoice{version}.yaml").write_text("sample_rate: 24000\n")
    for name in WEIGHTS[version]:
        if name in skip:
            continue
        if "." in name:
            (folder / name).write_bytes(b"")
        else:
            (folder / name).mkdir(exist_ok=True)
    return folder


def _clip(path: Path, rate: int = 16000, seconds: float = 3.0) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    soundfile.write(path, (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), rate)
    return path


@pytest.fixture
def package(monkeypatch, tmp_path) -> Package:
    fake = Package()
    _install(monkeypatch, tmp_path, fake)
    return fake


@pytest.fixture
def reference(tmp_path) -> Reference:
    return Reference(_clip(tmp_path / "speaker.wav", 48000), "what the speaker says", "en")


def _engine(tmp_path: Path, version: int = 2, **options: Any) -> CosyVoiceLocalEngine:
    return CosyVoiceLocalEngine(_model_dir(tmp_path, version), **options)


# -- the three modes ----------------------------------------------------------------------------

def test_zero_shot_gets_the_transcript_and_the_clips_path(package, tmp_path, reference):
    engine = _engine(tmp_path)
    take = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=7))
    (method, arguments), = package.calls
    assert method == "inference_zero_shot"
    assert arguments == {"tts_text": TEXT, "prompt_text": "what the speaker says",
                         "prompt_wav": str(reference.audio_path.resolve()), "stream": False, "speed": 1.0}
    assert package.built == [("CosyVoice2", {"model_dir": str(engine.model_dir)})]
    assert (take.sample_rate, take.seed, take.voice, take.engine, take.rate) == (SR, 7, "reference",
                                                                                 "cosyvoice_local", 1.0)


def test_another_language_or_no_transcript_goes_cross_lingual(package, tmp_path, reference):
    engine = _engine(tmp_path)
    engine.synthesize(SynthesisRequest("你好世界。", "zh", reference=reference))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(reference.audio_path, "", "en")))
    assert [m for m, _ in package.calls] == ["inference_cross_lingual"] * 2
    assert [a["tts_text"] for _, a in package.calls] == ["你好世界。", TEXT]
    assert all("prompt_text" not in a for _, a in package.calls)


def test_an_emotion_goes_to_instruct2(package, tmp_path, reference):
    _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=reference,
                                                  emotion=Emotion("text", text="Speak angrily.")))
    (method, arguments), = package.calls
    assert method == "inference_instruct2"
    assert arguments["instruct_text"] == "Speak angrily.<|endofprompt|>" and arguments["tts_text"] == TEXT


def test_version_3_is_read_from_the_folder_and_prompted_with_its_prefix(package, tmp_path, reference):
    engine = _engine(tmp_path, version=3)
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    engine.synthesize(SynthesisRequest("你好。", "zh", reference=reference))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, emotion=Emotion("text", text="请用广东话表达。")))
    zero, cross, instruct = (arguments for _, arguments in package.calls)
    assert zero["prompt_text"] == SYSTEM + "what the speaker says"
    assert cross["tts_text"] == SYSTEM + "你好。"
    assert instruct["instruct_text"] == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    assert package.built == [("CosyVoice3", {"model_dir": str(engine.model_dir)})]


def test_every_chunk_is_kept_in_order(package, tmp_path, reference):
    text = "First sentence here. And a second one! Then a third?"
    take = _engine(tmp_path).synthesize(SynthesisRequest(text, "en", reference=reference, seed=3))
    package.set_all_random_seed(3)  # render the same sentences the way the model did
    expected = [package.render(s, 1.0) for s in ("First sentence here.", " And a second one!", " Then a third?")]
    np.testing.assert_array_equal(take.samples, np.concatenate(expected))


def test_the_model_is_loaded_once(package, tmp_path, reference):
    engine = _engine(tmp_path)
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, rate=1.1))
    assert len(package.built) == 1 and len(package.calls) == 2


# -- rate and seed ------------------------------------------------------------------------------

def test_rate_is_cosyvoices_speed(package, tmp_path, reference):
    engine = _engine(tmp_path)
    slow = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=1))
    fast = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=1, rate=1.25))
    assert [a["speed"] for _, a in package.calls] == [1.0, 1.25] and fast.rate == 1.25
    assert fast.n_samples / slow.n_samples == pytest.approx(1 / 1.25, abs=0.01)


@pytest.mark.parametrize("rate", [0.75, 1.3])
def test_rates_beyond_the_declared_range_are_refused(package, tmp_path, reference, rate):
    with pytest.raises(UsageError, match="range"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=reference, rate=rate))
    assert not package.calls


def test_each_take_is_seeded_so_a_seed_names_one_rendition(package, tmp_path, reference):
    engine = _engine(tmp_path)
    first = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=5))
    again = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=5))
    other = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=6))
    assert package.seeds == [5, 5, 6]
    np.testing.assert_array_equal(first.samples, again.samples)
    assert other.n_samples != first.n_samples


def test_fit_line_searches_the_speed(package, tmp_path, reference):
    engine = _engine(tmp_path)
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=2))
    span = speech_span(natural.samples, SR)
    target = round(span.length * 1000 / SR * 1.12)
    fit = fit_line(engine, SynthesisRequest(TEXT, "en", seed=2, reference=reference), target)
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 50
    assert fit.method.startswith("rate") and fit.rate < 1.0
    speeds = [a["speed"] for _, a in package.calls]
    assert min(speeds) < 1.0 and all(0.8 <= s <= 1.25 for s in speeds)
    assert set(package.seeds) == {2}


# -- the prompt clip ----------------------------------------------------------------------------

def test_an_older_checkout_gets_a_16k_tensor_from_cosyvoices_load_wav(monkeypatch, tmp_path, reference):
    package = Package()
    _install(monkeypatch, tmp_path, package, old_api=True)  # no AutoModel, prompt_speech_16k
    engine = _engine(tmp_path)
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    engine.synthesize(SynthesisRequest("你好。", "zh", reference=reference))
    assert package.built == [("CosyVoice2", {"model_dir": str(engine.model_dir)})]
    assert package.loaded_wavs == [(str(reference.audio_path.resolve()), 16000)]  # loaded once, then reused
    tensors = [a["prompt_speech_16k"] for _, a in package.calls]
    assert tensors[0] is tensors[1] and tensors[0].shape == (1, 16000)


def test_a_reference_below_16k_is_refused(package, tmp_path):
    clip = _clip(tmp_path / "phone.wav", 8000)
    with pytest.raises(UsageError, match="8000 Hz; CosyVoice needs 16000 Hz"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=Reference(clip, "x", "en")))


def test_a_reference_over_30_s_is_refused(package, tmp_path):
    clip = _clip(tmp_path / "long.wav", 16000, 31.0)
    with pytest.raises(UsageError, match="31.0 s; CosyVoice takes at most 30 s"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=Reference(clip, "x", "en")))


def test_an_unreadable_reference_is_a_media_error(package, tmp_path):
    with pytest.raises(MediaError, match="missing.wav"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en",
                                                      reference=Reference(tmp_path / "missing.wav", "x", "en")))


def test_a_reference_is_required(package, tmp_path):
    with pytest.raises(UsageError, match="reference"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en"))


# -- failures -----------------------------------------------------------------------------------

def test_an_inference_failure_is_a_synthesis_error(package, tmp_path, reference):
    package.fail = RuntimeError("CUDA out of memory")
    with pytest.raises(SynthesisError, match="CUDA out of memory") as info:
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert info.value.engine == "cosyvoice_local" and info.value.text == TEXT


def test_no_chunks_is_a_synthesis_error(package, tmp_path, reference):
    with pytest.raises(SynthesisError, match="no audio"):
        _engine(tmp_path).synthesize(SynthesisRequest("...", "en", reference=reference))


def test_missing_requirements_at_import_say_what_to_install(package, monkeypatch, tmp_path, reference):
    monkeypatch.setitem(sys.modules, "cosyvoice.cli.cosyvoice", None)  # as if `import torch` failed inside it
    with pytest.raises(EngineUnavailable, match="pip install -r requirements.txt"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=reference))


def test_a_load_failure_is_engine_unavailable(package, monkeypatch, tmp_path, reference):
    def broken(**kwargs: Any) -> Any:
        raise ValueError("cosyvoice2.yaml not found!")

    monkeypatch.setattr(sys.modules["cosyvoice.cli.cosyvoice"], "AutoModel", broken)
    with pytest.raises(EngineUnavailable, match="could not load .*cosyvoice2.yaml not found"):
        _engine(tmp_path).synthesize(SynthesisRequest(TEXT, "en", reference=reference))


# -- settings and availability ------------------------------------------------------------------

def _settings(**values: Any) -> EngineSettings:
    return EngineSettings("cosyvoice_local", values)


def test_settings_pass_only_the_flags_switched_on(package, tmp_path, reference):
    folder = _model_dir(tmp_path)
    engine = CosyVoiceLocalEngine.from_settings(_settings(model_dir=str(folder), fp16=True, load_trt=True,
                                                          load_jit=False, version=2))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert package.built == [("CosyVoice2", {"model_dir": str(folder), "fp16": True, "load_trt": True})]


def test_a_flag_must_be_a_boolean(tmp_path):
    with pytest.raises(UsageError, match="engines.cosyvoice_local.fp16 must be true or false"):
        CosyVoiceLocalEngine.from_settings(_settings(model_dir=str(tmp_path), fp16="yes"))


def test_an_unknown_version_is_refused(tmp_path):
    with pytest.raises(UsageError, match="version must be 2 or 3"):
        CosyVoiceLocalEngine.from_settings(_settings(model_dir=str(tmp_path), version=1))


def test_available_with_the_package_and_a_complete_folder(package, tmp_path):
    assert CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path)))) is None
    assert CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path, 3)), version="auto")) is None


def test_availability_does_not_import_cosyvoice(monkeypatch, tmp_path):
    for name in ("cosyvoice", "matcha"):
        monkeypatch.setitem(sys.modules, name, _module(name, tmp_path))
    for name in ("cosyvoice.cli", "cosyvoice.cli.cosyvoice"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path)))) is None
    assert "cosyvoice.cli.cosyvoice" not in sys.modules and "torch" not in sys.modules


def test_without_the_package_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cosyvoice", None)  # find_spec answers None, installed or not
    reason = CosyVoiceLocalEngine.availability()
    assert "not importable" in reason and "git clone --recursive https://github.com/FunAudioLLM/CosyVoice" in reason
    assert "third_party/Matcha-TTS" in reason and "PYTHONPATH" in reason


def test_without_matcha_it_names_the_folder_to_add(monkeypatch, tmp_path):
    _install(monkeypatch, tmp_path, Package(), matcha=False)
    reason = CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path))))
    assert f"add {tmp_path / 'CosyVoice' / 'third_party' / 'Matcha-TTS'} to PYTHONPATH" in reason


def test_without_model_dir_it_says_where_weights_come_from(package):
    for settings in (None, _settings()):
        reason = CosyVoiceLocalEngine.availability(settings)
        assert "engines.cosyvoice_local.model_dir is not set" in reason
        assert "FunAudioLLM/CosyVoice2-0.5B" in reason and "Fun-CosyVoice3-0.5B-2512" in reason


def _folder(root: Path, *files: str) -> Path:
    folder = root / "weights"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("")
    return folder


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "nowhere", "is not a folder"),
    (lambda root: _folder(root, "llm.pt"), "has neither cosyvoice2.yaml nor cosyvoice3.yaml"),
    (lambda root: _folder(root, "cosyvoice.yaml"), "holds CosyVoice 1 (cosyvoice.yaml)"),
    (lambda root: _model_dir(root, 2, skip=("llm.pt", "CosyVoice-BlankEN")), "lacks llm.pt, CosyVoice-BlankEN"),
])
def test_a_bad_weights_folder_is_named(package, tmp_path, make, message):
    reason = CosyVoiceLocalEngine.availability(_settings(model_dir=str(make(tmp_path))))
    assert message in reason and "Hugging Face" in reason


def test_a_version_that_contradicts_the_folder_is_named(package, tmp_path):
    reason = CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path, 3)), version=2))
    assert "version is 2, but" in reason and "holds CosyVoice 3 (cosyvoice3.yaml)" in reason


def test_load_jit_is_refused_for_version_3(package, tmp_path):
    reason = CosyVoiceLocalEngine.availability(_settings(model_dir=str(_model_dir(tmp_path, 3)), load_jit=True))
    assert "CosyVoice 3 has no JIT export" in reason


def test_capabilities():
    caps = CosyVoiceLocalEngine.capabilities.to_dict()
    assert caps["languages"] == ["zh", "en", "ja", "ko", "yue"] and caps["sample_rate"] == 24000
    assert (caps["cloning"], caps["emotion"], caps["duration_control"]) == ("zero_shot", "text", "rate")
    assert caps["rate_range"] == [0.8, 1.25] and caps["needs_gpu"] and caps["voices"] == []


# -- the real engine, opt-in --------------------------------------------------------------------

@pytest.mark.engine
def test_real_cosyvoice_in_process():
    model_dir = os.environ.get("DUBBER_COSYVOICE_MODEL_DIR")
    problem = CosyVoiceLocalEngine.availability(_settings(model_dir=model_dir)) if model_dir else "not set"
    if problem:
        pytest.skip(f"set DUBBER_COSYVOICE_MODEL_DIR to a CosyVoice 2 or 3 folder, with the cosyvoice package on "
                    f"PYTHONPATH, to run the real engine ({problem}); DUBBER_COSYVOICE_REF (a clip) and "
                    f"DUBBER_COSYVOICE_REF_TEXT pick the voice, else the checkout's asset/zero_shot_prompt.wav")
    import importlib.util

    ref = os.environ.get("DUBBER_COSYVOICE_REF")
    if ref:
        reference = Reference(Path(ref), os.environ.get("DUBBER_COSYVOICE_REF_TEXT", ""), "en")
    else:
        checkout = Path(importlib.util.find_spec("cosyvoice").submodule_search_locations[0]).parent
        reference = Reference(checkout / "asset" / "zero_shot_prompt.wav", "希望你以后能够做的比我还好呦。", "zh")
    engine = CosyVoiceLocalEngine(model_dir)
    text = "This line is spoken by a cloned voice."
    natural = engine.synthesize(SynthesisRequest(text, "en", seed=1, reference=reference))
    fast = engine.synthesize(SynthesisRequest(text, "en", seed=1, rate=1.25, reference=reference))
    assert natural.sample_rate == 24000 and speech_span(natural.samples, 24000) is not None
    assert fast.n_samples / natural.n_samples == pytest.approx(1 / 1.25, rel=0.03)  # same seed: same tokens
    span_ms = speech_span(natural.samples, 24000).length * 1000 // 24000
    fit = fit_line(engine, SynthesisRequest(text, "en", seed=1, reference=reference), round(span_ms * 1.1))
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 50
