"""The IndexTTS2 engine against a stand-in `indextts` package (and, opt-in, the real one).

The stand-in mirrors upstream's structure where the adapter touches it: `IndexTTS2(cfg_path,
model_dir, ...)` with `infer(...)` answering `(22050, int16 (samples, 1))`, a `gpt` whose
`inference_speech` samples codes, and `s2mel.models['length_regulator']`, a module whose call
runs `forward(x, ylens=...)`: the reference prompt passes it first (when the clip changes), then
each segment's codes, and the output lasts exactly the frames it was given, 256 samples each.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import os
import re
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from dubber.audio.samples import samples_to_ms
from dubber.audio.speech import speech_span
from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, MediaError, SynthesisError, UnsupportedLanguage, UsageError
from dubber.fitting.fitter import STATUS_OK, fit_line
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Emotion, Reference, SynthesisRequest
from dubber.plugin.indextts2 import WEIGHTS, IndexTts2Engine

SR, HOP = 22050, 256
STOP = 8193
LEAD_CODES, TAIL_CODES = 4, 6  # silent codes around the speech
PROMPT_FRAMES = 200  # what the stand-in's reference clip is in mel frames
TEXT = "The quick brown fox jumps over the lazy dog"  # 43 characters


class FakeRegulator:
    """InterpolateRegulator's interface: calling the module runs `forward`; output lasts `ylens` frames."""

    def __init__(self) -> None:
        self.targets: list[int] = []

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, x, ylens=None, n_quantizers=None, f0=None):
        self.targets.append(int(ylens[0]))
        return np.zeros((x.shape[0], int(ylens.max()), 2), np.float32), ylens, None, None, None


class FakeGpt:
    """Samples a code count that follows the text, varying a little from call to call like sampling."""

    def __init__(self, codes_per_char: float) -> None:
        self.codes_per_char = codes_per_char
        self.jitter = itertools.cycle([1.0, 1.04, 0.97, 1.02, 0.95])
        self.calls: list[dict] = []

    def inference_speech(self, speech_condition, text_inputs, *args, max_generate_length=None, **kwargs):
        self.calls.append({"max_generate_length": max_generate_length, **kwargs})
        speech = round(text_inputs.shape[1] * self.codes_per_char * next(self.jitter))
        codes = [7] * (LEAD_CODES + speech + TAIL_CODES) + [STOP]
        return np.array([codes]), None


class FakeIndexTTS2:
    """indextts.infer_v2.IndexTTS2 at its boundary: 50 codes a second, 1.72 mel frames per code."""

    instances: list[FakeIndexTTS2] = []
    codes_per_char, frames_per_code = 3.6, 1.72

    def __init__(self, cfg_path="checkpoints/config.yaml", model_dir="checkpoints", use_fp16=False, device=None,
                 use_cuda_kernel=None, use_deepspeed=False, use_accel=False, use_torch_compile=False,
                 use_qwen_emo=True, aux_paths=None):
        self.init_args = {"cfg_path": cfg_path, "model_dir": model_dir, "use_fp16": use_fp16, "device": device,
                          "use_cuda_kernel": use_cuda_kernel, "use_deepspeed": use_deepspeed,
                          "use_accel": use_accel, "use_torch_compile": use_torch_compile,
                          "use_qwen_emo": use_qwen_emo}
        self.cfg = SimpleNamespace(gpt=SimpleNamespace(max_text_tokens=600, stop_mel_token=STOP))
        self.gpt = FakeGpt(self.codes_per_char)
        self.s2mel = SimpleNamespace(models={"length_regulator": FakeRegulator()})
        self.qwen_emo = object() if use_qwen_emo else None
        self.cache_spk_audio_prompt = None
        self.calls: list[dict] = []
        self.segments: list[tuple[int, int]] = []  # (codes, the length target infer asked for)
        self.fail_with: Exception | None = None
        type(self).instances.append(self)

    def normalize_emo_vec(self, emo_vector, apply_bias=True):
        return [round(v * 0.5, 4) for v in emo_vector]  # stands in for upstream's bias and 0.8 cap

    def infer(self, spk_audio_prompt, text, output_path, emo_audio_prompt=None, emo_alpha=1.0, emo_vector=None,
              use_emo_text=False, emo_text=None, use_random=False, interval_silence=200, verbose=False,
              max_text_tokens_per_segment=120, stream_return=False, more_segment_before=0, **generation_kwargs):
        args = {k: v for k, v in locals().items() if k not in ("self", "generation_kwargs")}
        self.calls.append({**args, **generation_kwargs})
        size = max_text_tokens_per_segment
        segments = [text[i:i + size] for i in range(0, len(text), size)]  # characters stand in for tokens
        return self._speak(spk_audio_prompt, segments, interval_silence, 1.0)

    def _speak(self, prompt, segments, interval_silence, duration_factor):
        if self.fail_with is not None:
            raise self.fail_with
        regulator = self.s2mel.models["length_regulator"]
        if self.cache_spk_audio_prompt != prompt:  # the prompt passes the regulator when the clip changes
            regulator(np.zeros((1, 116, 2)), ylens=np.array([PROMPT_FRAMES]), n_quantizers=3, f0=None)
            self.cache_spk_audio_prompt = prompt
        pieces = []
        for segment in segments:
            codes, _ = self.gpt.inference_speech(None, np.zeros((1, len(segment))))
            code_len = int(np.flatnonzero(codes[0] == STOP)[0])
            asked = self._target(code_len, duration_factor)
            self.segments.append((code_len, asked))
            cond = regulator(np.zeros((1, code_len, 2)), ylens=np.array([asked]), n_quantizers=3, f0=None)[0]
            pieces.append(_render(segment, code_len, cond.shape[1]))
            pieces.append(np.zeros(SR * interval_silence // 1000, np.float32))
        wav = np.clip(32767 * np.concatenate(pieces[:-1]), -32767, 32767)
        return SR, wav.astype(np.int16)[:, None]

    def _target(self, code_len, duration_factor):
        return int(code_len * self.frames_per_code)


class FakeIndexTTS25(FakeIndexTTS2):
    """indextts.infer_v2_5.IndexTTS2: 25 codes a second, decoded to 50, a language and duration_factor."""

    codes_per_char = 1.8
    low_vram = False  # upstream sets it at load, on a GPU under 10 GB

    def __init__(self, cfg_path="checkpoints/config.yaml", model_dir="checkpoints", use_bf16=False, device=None,
                 use_cuda_kernel=None, use_deepspeed=False, use_accel=False, use_torch_compile=False,
                 use_qwen_emo=False):
        super().__init__(cfg_path, model_dir, False, device, use_cuda_kernel, use_deepspeed, use_accel,
                         use_torch_compile, use_qwen_emo)
        self.init_args.pop("use_fp16")
        self.init_args["use_bf16"] = use_bf16

    def infer(self, spk_audio_prompt, text, output_path, lang, emo_audio_prompt=None, emo_alpha=1.0,
              emo_vector=None, use_emo_text=False, emo_text=None, use_random=False, interval_silence=200,
              verbose=False, max_text_tokens_per_segment=120, stream_return=False, more_segment_before=0,
              duration_factor=1.0, text_normalization=True, **generation_kwargs):
        args = {k: v for k, v in locals().items() if k not in ("self", "generation_kwargs")}
        self.calls.append({**args, **generation_kwargs})
        segments = [text]
        if self.low_vram and len(text) > 40:  # upstream splits at punctuation, 40 characters at most
            segments = [s for s in re.split(r"(?<=[,.!?])", text) if s]
        return self._speak(spk_audio_prompt, segments, interval_silence, duration_factor)

    def _target(self, code_len, duration_factor):
        return int(2 * code_len * 1.72 * duration_factor)


def _render(segment: str, code_len: int, frames: int) -> np.ndarray:
    """Audio for `frames` mel frames of `code_len` codes: silent codes around, a tone per letter."""
    speech = code_len - LEAD_CODES - TAIL_CODES
    loud = np.zeros(code_len)
    for i in range(speech):
        loud[LEAD_CODES + i] = segment[i * len(segment) // speech].isalnum()
    per_frame = loud[np.arange(frames) * code_len // frames]  # the regulator's nearest interpolation
    t = np.arange(frames * HOP) / SR
    return (0.3 * np.repeat(per_frame, HOP) * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return module


@pytest.fixture
def fake(monkeypatch):
    """Put the stand-in `indextts` in sys.modules and return the list of models it makes."""
    made: list[FakeIndexTTS2] = []
    monkeypatch.setattr(FakeIndexTTS2, "instances", made)
    v2, v25 = _module("indextts.infer_v2"), _module("indextts.infer_v2_5")
    v2.IndexTTS2, v25.IndexTTS2 = FakeIndexTTS2, FakeIndexTTS25
    for module in (_module("indextts"), v2, v25):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(sys.modules, "torch", None)  # as in dubber's own environment: no torch
    return made


def _weights(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in WEIGHTS[version]:
        (folder / name).write_bytes(b"")
    return folder


@pytest.fixture(params=["2", "2.5"])
def version(request):
    return request.param


@pytest.fixture
def model_dir(tmp_path, version):
    return _weights(tmp_path / f"IndexTTS-{version}", version)


@pytest.fixture
def reference(tmp_path):
    path = tmp_path / "speaker.wav"
    soundfile.write(path, (0.1 * np.sin(np.arange(SR) / 10)).astype(np.float32), SR)
    return Reference(path, "what the speaker says", "en")


def _settings(**values) -> EngineSettings:
    return EngineSettings("indextts2", {key: str(v) if isinstance(v, Path) else v for key, v in values.items()})


def _speech_ms(take) -> int:
    return samples_to_ms(speech_span(take.samples, take.sample_rate).length, take.sample_rate)


# -- loading and the call ---------------------------------------------------------------------

def test_capabilities_say_what_dubber_relies_on():
    caps = IndexTts2Engine.capabilities
    assert IndexTts2Engine.name == "indextts2" and caps.sample_rate == 22050
    assert caps.cloning == "zero_shot" and caps.emotion == "vector"
    assert caps.duration_control == DURATION_NATIVE_FRAMES and caps.duration_step_samples == 256


def test_settings_reach_the_constructor_and_the_model_loads_once(fake, model_dir, reference, version):
    half = "use_fp16" if version == "2" else "use_bf16"
    engine = IndexTts2Engine.from_settings(_settings(model_dir=model_dir, device="cuda:1", use_cuda_kernel=False,
                                                     use_qwen_emo=True, **{half: True}))
    assert fake == []  # nothing loads until a line is spoken
    engine.synthesize(SynthesisRequest("Hello there.", "en", reference=reference))
    engine.synthesize(SynthesisRequest("Again.", "en", reference=reference))
    assert len(fake) == 1
    expected = {"cfg_path": str(model_dir / "config.yaml"), "model_dir": str(model_dir), "device": "cuda:1",
                "use_cuda_kernel": False, "use_deepspeed": False, "use_accel": False, "use_torch_compile": False,
                "use_qwen_emo": True, half: True}
    assert fake[0].init_args == expected


def test_cfg_path_and_version_can_be_given(fake, tmp_path, reference):
    model_dir = _weights(tmp_path / "weights", "2")
    cfg = tmp_path / "elsewhere.yaml"
    engine = IndexTts2Engine.from_settings(_settings(model_dir=model_dir, cfg_path=cfg, version=2.5))
    assert engine.version == "2.5"
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference))
    assert isinstance(fake[0], FakeIndexTTS25) and fake[0].init_args["cfg_path"] == str(cfg)


def test_an_option_the_version_does_not_take_is_refused(fake, tmp_path, reference):
    engine = IndexTts2Engine(_weights(tmp_path / "w", "2.5"), load_options={"use_fp16": True})
    with pytest.raises(UsageError, match="use_fp16"):
        engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference))


@pytest.mark.parametrize("values, key", [
    ({"version": "3"}, "version"), ({"use_fp16": "yes"}, "use_fp16"), ({"top_p": "high"}, "top_p"),
    ({"device": 0}, "device"),
])
def test_bad_settings_are_usage_errors(tmp_path, values, key):
    with pytest.raises(UsageError, match=key):
        IndexTts2Engine.from_settings(_settings(model_dir=_weights(tmp_path / "w", "2"), **values))


def test_infer_gets_exactly_one_segment_and_no_output_path(fake, model_dir, reference, version):
    engine = IndexTts2Engine(model_dir, sampling={"temperature": 0.7, "num_beams": 1})
    take = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    call = fake[0].calls[-1]
    assert call["spk_audio_prompt"] == str(reference.audio_path.resolve())
    assert call["text"] == TEXT and call["output_path"] is None and call["verbose"] is False
    assert call["max_text_tokens_per_segment"] == 600  # the GPT's capacity: a line is never split
    assert (call["temperature"], call["num_beams"]) == (0.7, 1)
    assert (call["emo_vector"], call["emo_audio_prompt"], call["use_emo_text"]) == (None, None, False)
    assert call.get("lang") == (None if version == "2" else "EN")
    assert call.get("duration_factor", 1.0) == 1.0
    assert take.sample_rate == 22050 and take.samples.dtype == np.float32 and take.samples.ndim == 1
    assert 0.2 < np.abs(take.samples).max() <= 1.0  # int16 scaled to [-1, 1]
    assert take.engine == "indextts2" and take.voice == "reference" and take.phonemes == TEXT


def test_natural_take_is_laid_out_as_durations(fake, model_dir, reference):
    take = IndexTts2Engine(model_dir).synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert take.frame_samples == 256 and take.n_samples % 256 == 0
    assert take.durations.dtype == np.int32 and take.durations.size == len(TEXT) + 2
    assert take.durations.sum() * 256 == take.n_samples
    span = speech_span(take.samples, take.sample_rate)
    assert take.durations[0] == span.start // 256 and take.durations[-1] == (take.n_samples - span.end) // 256
    assert take.durations[1:-1].max() - take.durations[1:-1].min() <= 1  # spread evenly: no per-symbol timing


# -- duration ---------------------------------------------------------------------------------

def test_frames_set_the_total_length_exactly(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir)
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    for scale in (0.7, 1.0, 1.4):
        frames = natural.durations.copy()
        frames[1:-1] = np.round(frames[1:-1] * scale)
        take = engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=reference), frames)
        assert take.n_samples == frames.sum() * 256
        np.testing.assert_array_equal(take.durations, frames)


def test_the_length_target_is_set_after_the_gpt_and_put_back(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir)
    frames = np.array([5] + [6] * len(TEXT) + [9], dtype=np.int32)
    engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=reference), frames)
    model = fake[0]
    regulator = model.s2mel.models["length_regulator"]
    assert regulator.targets == [PROMPT_FRAMES, frames.sum()]  # the prompt's own target is left alone
    assert "forward" not in vars(regulator) and "inference_speech" not in vars(model.gpt)
    engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=reference), frames)
    assert regulator.targets[2:] == [frames.sum()]  # clip cached: no prompt pass this time


def test_the_patches_are_removed_when_infer_fails(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir)
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference))
    fake[0].fail_with = RuntimeError("CUDA out of memory")
    with pytest.raises(SynthesisError, match="CUDA out of memory"):
        engine.synthesize_frames(SynthesisRequest("Hello.", "en", reference=reference), np.array([3] * 8, np.int32))
    assert "forward" not in vars(fake[0].s2mel.models["length_regulator"])
    assert "inference_speech" not in vars(fake[0].gpt)


def test_target_ms_is_the_takes_total_length(fake, model_dir, reference):
    take = IndexTts2Engine(model_dir).synthesize(SynthesisRequest(TEXT, "en", target_ms=2500, reference=reference))
    assert take.n_samples == round(2500 * 22050 / 256 / 1000) * 256


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_rate_scales_the_length_target(fake, model_dir, reference, version, rate):
    IndexTts2Engine(model_dir).synthesize(SynthesisRequest(TEXT, "en", reference=reference, rate=rate))
    model = fake[0]
    code_len, asked = model.segments[-1]
    arrived = model.s2mel.models["length_regulator"].targets[-1]
    if version == "2.5":  # its own knob: nothing is patched
        assert model.calls[-1]["duration_factor"] == pytest.approx(1 / rate)
        assert arrived == asked == int(2 * code_len * 1.72 / rate)
    else:
        assert "duration_factor" not in model.calls[-1]
        assert asked == int(code_len * 1.72) and arrived == round(asked / rate)


def test_a_line_split_in_segments_cannot_get_an_exact_length(fake, tmp_path, reference):
    engine = IndexTts2Engine(_weights(tmp_path / "w", "2"))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    fake[0].cfg.gpt.max_text_tokens = 20  # a line longer than the GPT takes at once
    with pytest.raises(SynthesisError, match="segments"):
        engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=reference), np.full(len(TEXT) + 2, 6, np.int32))


def test_low_vram_splitting_falls_back_to_scaling_the_natural_take(fake, tmp_path, reference, monkeypatch):
    monkeypatch.setattr(FakeIndexTTS25, "low_vram", True)
    engine = IndexTts2Engine(_weights(tmp_path / "w", "2.5"))
    text = "One short clause, then another one, and a third to end it."
    natural = engine.synthesize(SynthesisRequest(text, "en", reference=reference))
    assert len(fake[0].segments) == 3
    frames = natural.durations.copy()
    frames[1:-1] = np.round(frames[1:-1] * 1.2)
    take = engine.synthesize_frames(SynthesisRequest(text, "en", reference=reference), frames)
    want = frames.sum() / natural.durations.sum()
    assert fake[0].calls[-1]["duration_factor"] == pytest.approx(want)
    assert abs(take.n_samples / natural.n_samples - want) < 0.1
    assert take.durations.sum() * 256 == take.n_samples  # re-measured, not the frames asked for


@pytest.mark.parametrize("ratio", [0.7, 0.85, 1.15, 1.4])
def test_fit_line_lands_within_50_ms(fake, model_dir, reference, ratio):
    natural_ms = _speech_ms(IndexTts2Engine(model_dir).synthesize(SynthesisRequest(TEXT, "en", reference=reference)))
    target = round(natural_ms * ratio)
    engine = IndexTts2Engine(model_dir)  # a fresh model: its natural take is the one measured above
    fit = fit_line(engine, SynthesisRequest(TEXT, "en", reference=reference), target)
    assert fit.natural_ms == natural_ms
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 50, (fit.method, fit.attempts)
    assert fit.method.startswith("native")
    assert fit.stretch == pytest.approx(1.0, abs=0.05)  # the model re-timed it; stretching only trims


# -- emotion, reference, language, seed -------------------------------------------------------

def test_emotion_vector_goes_through_upstreams_normaliser(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir)
    vector = (0.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.2, 0.4)
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference,
                                       emotion=Emotion("vector", vector=vector, alpha=0.8)))
    call = fake[0].calls[-1]
    assert call["emo_vector"] == [0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2] and call["emo_alpha"] == 0.8
    assert call["use_emo_text"] is False and call["emo_audio_prompt"] is None


@pytest.mark.parametrize("emotion", [
    Emotion("vector", vector=(0.1,) * 7), Emotion("vector", vector=(0.1,) * 7 + (1.2,)),
    Emotion("vector", vector=(0.1,) * 7 + (float("nan"),)), Emotion("vector", vector=(0.1,) * 8, alpha=1.5),
    Emotion("mood"),
])
def test_malformed_emotions_are_refused_before_loading(fake, model_dir, reference, emotion):
    with pytest.raises(UsageError):
        IndexTts2Engine(model_dir).synthesize(SynthesisRequest("Hello.", "en", reference=reference, emotion=emotion))
    assert fake == []


def test_emotion_text_uses_qwen_emotion(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir, load_options={"use_qwen_emo": True})
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference,
                                       emotion=Emotion("text", text="  furious  ", alpha=0.6)))
    call = fake[0].calls[-1]
    assert (call["use_emo_text"], call["emo_text"], call["emo_alpha"]) == (True, "furious", 0.6)
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference, emotion=Emotion("text")))
    assert fake[0].calls[-1]["emo_text"] is None  # upstream then reads the emotion from the line itself


def test_emotion_text_without_qwen_emotion_says_how_to_enable_it(fake, model_dir, reference):
    engine = IndexTts2Engine(model_dir, load_options={"use_qwen_emo": False})
    with pytest.raises(UsageError, match="use_qwen_emo = true"):
        engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference, emotion=Emotion("text", text="sad")))


def test_emotion_reference_clip_is_passed(fake, model_dir, reference, tmp_path):
    engine = IndexTts2Engine(model_dir)
    emotion = Emotion("reference", audio_path=reference.audio_path, alpha=0.7)
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference, emotion=emotion))
    call = fake[0].calls[-1]
    assert call["emo_audio_prompt"] == str(reference.audio_path.resolve()) and call["emo_alpha"] == 0.7
    with pytest.raises(MediaError):
        engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference,
                                           emotion=Emotion("reference", audio_path=tmp_path / "missing.wav")))


def test_fit_line_passes_reference_and_emotion_to_every_take(fake, model_dir, reference):
    emotion = Emotion("vector", vector=(0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0))
    request = SynthesisRequest(TEXT, "en", reference=reference, emotion=emotion)
    natural_ms = _speech_ms(IndexTts2Engine(model_dir).synthesize(request))
    fit = fit_line(IndexTts2Engine(model_dir), request, round(natural_ms * 1.3))
    assert fit.status == STATUS_OK and len(fake[1].calls) >= 2
    for call in fake[1].calls:
        assert call["spk_audio_prompt"] == str(reference.audio_path.resolve())
        assert call["emo_vector"] == [0.0, 0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_a_reference_is_required_and_must_exist(fake, model_dir, tmp_path):
    engine = IndexTts2Engine(model_dir)
    with pytest.raises(UsageError, match="reference"):
        engine.synthesize(SynthesisRequest("Hello.", "en"))
    with pytest.raises(UsageError, match="reference"):
        engine.synthesize_frames(SynthesisRequest("Hello.", "en"), np.full(8, 4, np.int32))
    with pytest.raises(MediaError):
        engine.synthesize(SynthesisRequest("Hello.", "en", reference=Reference(tmp_path / "nobody.wav")))


def test_languages_follow_the_version(fake, tmp_path, reference):
    v2 = IndexTts2Engine(_weights(tmp_path / "a", "2"))
    with pytest.raises(UnsupportedLanguage, match="2.5"):
        v2.synthesize(SynthesisRequest("こんにちは", "ja", reference=reference))
    v25 = IndexTts2Engine(_weights(tmp_path / "b", "2.5"))
    v25.synthesize(SynthesisRequest("こんにちは", "ja", reference=reference))
    assert fake[-1].calls[-1]["lang"] == "JA"
    with pytest.raises(UnsupportedLanguage):
        v25.synthesize(SynthesisRequest("Bonjour", "fr", reference=reference))


def test_seed_goes_to_torch_when_torch_is_there(fake, model_dir, reference, monkeypatch):
    engine = IndexTts2Engine(model_dir)
    take = engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference, seed=42))  # no torch to seed
    assert take.seed == 42
    seeds = []
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(manual_seed=seeds.append))
    engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference, seed=7))
    engine.synthesize_frames(SynthesisRequest("Hello.", "en", seed=7, reference=reference), np.full(8, 4, np.int32))
    assert seeds == [7, 7]


def test_failures_become_dubber_errors(fake, model_dir, reference, monkeypatch):
    engine = IndexTts2Engine(model_dir)
    monkeypatch.setattr(FakeIndexTTS2, "infer", lambda self, **kwargs: None)
    monkeypatch.setattr(FakeIndexTTS25, "infer", lambda self, **kwargs: None)
    with pytest.raises(SynthesisError, match="no audio"):
        engine.synthesize(SynthesisRequest("Hello.", "en", reference=reference))

    def broken(self, **kwargs):
        raise FileNotFoundError("gpt.pth")

    monkeypatch.setattr(FakeIndexTTS2, "__init__", broken)
    monkeypatch.setattr(FakeIndexTTS25, "__init__", broken)
    with pytest.raises(EngineUnavailable, match="gpt.pth"):
        IndexTts2Engine(model_dir).synthesize(SynthesisRequest("Hello.", "en", reference=reference))


# -- availability -----------------------------------------------------------------------------

def test_availability_names_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "indextts", None)
    reason = IndexTts2Engine.availability(_settings(model_dir=_weights(tmp_path / "w", "2")))
    assert "pip install" in reason and "index-tts" in reason


def test_availability_checks_weights_without_importing_the_model(monkeypatch, tmp_path):
    # A real package on disk whose model module would fail if imported.
    package = tmp_path / "site" / "indextts"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in ("infer_v2.py", "infer_v2_5.py"):
        (package / name).write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in ("indextts", "indextts.infer_v2", "indextts.infer_v2_5"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    assert "model_dir is not set" in IndexTts2Engine.availability(None)
    assert "hf download IndexTeam/IndexTTS-2 " in IndexTts2Engine.availability(_settings())
    assert "not a folder" in IndexTts2Engine.availability(_settings(model_dir=tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "neither" in IndexTts2Engine.availability(_settings(model_dir=empty))
    v25 = _weights(tmp_path / "v25", "2.5")
    assert IndexTts2Engine.availability(_settings(model_dir=v25)) is None
    (v25 / "codec.pth").unlink()
    reason = IndexTts2Engine.availability(_settings(model_dir=v25, version="2.5"))
    assert "codec.pth" in reason and "IndexTeam/IndexTTS-2.5" in reason
    v2 = _weights(tmp_path / "v2", "2")
    (v2 / "config.yaml").unlink()
    assert "config.yaml is missing" in IndexTts2Engine.availability(_settings(model_dir=v2))
    assert IndexTts2Engine.availability(_settings(model_dir=v2, cfg_path=v25 / "config.yaml")) is None
    assert "indextts.infer_v2" not in sys.modules and "indextts.infer_v2_5" not in sys.modules


def test_availability_asks_for_an_update_when_2_5_support_is_missing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "indextts", _module("indextts"))
    monkeypatch.setitem(sys.modules, "indextts.infer_v2_5", None)
    reason = IndexTts2Engine.availability(_settings(model_dir=_weights(tmp_path / "w", "2.5")))
    assert "infer_v2_5" in reason and "update" in reason


# -- the real engine, opt-in ------------------------------------------------------------------

@pytest.mark.engine
def test_real_indextts2_speaks_to_length(tmp_path):
    model_dir, ref = os.environ.get("DUBBER_INDEXTTS2_MODEL_DIR"), os.environ.get("DUBBER_INDEXTTS2_REF")
    if importlib.util.find_spec("indextts") is None or not model_dir or not ref:
        pytest.skip("install indextts (github.com/index-tts/index-tts) and set DUBBER_INDEXTTS2_MODEL_DIR (its "
                    "weights) and DUBBER_INDEXTTS2_REF (a clip of the voice) to run the real IndexTTS2")
    engine = IndexTts2Engine.from_settings(_settings(model_dir=Path(model_dir)))
    reference = Reference(Path(ref))
    natural = engine.synthesize(SynthesisRequest("This line is spoken by a cloned voice.", "en", seed=1,
                                                 reference=reference))
    assert natural.sample_rate == 22050 and speech_span(natural.samples, 22050) is not None
    frames = np.round(natural.durations * 1.3).astype(np.int32)
    request = SynthesisRequest(natural.phonemes, "en", seed=1, reference=reference)
    longer = engine.synthesize_frames(request, frames)
    assert longer.n_samples == int(frames.sum()) * 256
    assert _speech_ms(longer) > _speech_ms(natural) * 1.15  # the speech itself, not only silence, grew
    fit = fit_line(engine, request, round(_speech_ms(natural) * 0.8))
    assert abs(fit.error_ms) <= 50, fit.attempts
