"""The F5-TTS engine against a stand-in for `f5_tts.api` (and, opt-in, the real package)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import math
import os
import re
import subprocess
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dubber.audio.speech import speech_span
from dubber.config import load_config
from dubber.errors import EngineUnavailable, SynthesisError, UsageError
from dubber.fitting.fitter import fit_line
from dubber.plugin.engine import DURATION_NATIVE_FRAMES, Reference, SynthesisRequest
from dubber.plugin.f5_tts import MAX_TOTAL_FRAMES, F5TtsEngine

RATE, HOP = 24000, 256
REF_SECONDS, REF_RATE = 5.0, 16000
REF_TEXT = "This is what the speaker says."
TEXT = "The quick brown fox jumps over the lazy dog"
LINE_OF_SENTENCES = ("Well, I suppose you are right. But tell me, honestly: why did you leave the house so early, "
                     "without a word to anyone? Nobody knew where you had gone, and we waited for hours!")
LEAD_MS, TAIL_MS = 80, 120  # the stand-in's silence around its speech, as F5 leaves some


# -- a stand-in for f5_tts.api, following upstream's infer() and its helpers ------------------

class FakePreprocess:
    """preprocess_ref_audio_text: clip to 12 s, append 50 ms of silence, cache by content hash."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.cache, self.calls = folder, {}, []

    def __call__(self, ref_audio_orig, ref_text, show_info=print):
        self.calls.append((ref_audio_orig, ref_text))
        data = Path(ref_audio_orig).read_bytes()
        digest = hashlib.md5(data).hexdigest()
        if digest not in self.cache:
            audio, sr = soundfile.read(ref_audio_orig, dtype="float32")
            audio = np.concatenate([audio[:12 * sr], np.zeros(sr // 20, np.float32)])
            path = self.folder / f"ref-{digest}.wav"
            soundfile.write(path, audio, sr)
            self.cache[digest] = str(path)
        if not ref_text.strip():
            raise AssertionError("the stand-in would download Whisper here")
        if not ref_text.endswith(". ") and not ref_text.endswith("。"):
            ref_text += " " if ref_text.endswith(".") else ". "
        return self.cache[digest], ref_text


def fake_chunks(text: str, max_chars: int) -> list[str]:
    """Split like infer_process: sentences end at punctuation before whitespace, packed into max_chars bytes."""
    chunks, current = [], ""
    for sentence in (s for s in re.split(r"(?<=[;:,.!?])\s+|(?<=[；：，。！？])", text) if s):
        piece = sentence + " " if len(sentence[-1].encode()) == 1 else sentence
        if len(current.encode()) + len(sentence.encode()) <= max_chars:
            current += piece
        else:
            if current:
                chunks.append(current.strip())
            current = piece
    return chunks + [current.strip()] if current else chunks


class FakeF5TTS:
    """Records its constructor and infer() arguments; speaks each chunk as a tone for its frames."""

    created: list[dict] = []
    preprocess: FakePreprocess

    def __init__(self, model="F5TTS_v1_Base", ckpt_file="", vocab_file="", ode_method="euler", use_ema=True,
                 vocoder_local_path=None, device=None, hf_cache_dir=None):
        self.kwargs = dict(model=model, ckpt_file=ckpt_file, vocab_file=vocab_file, ode_method=ode_method,
                           use_ema=use_ema, vocoder_local_path=vocoder_local_path, device=device,
                           hf_cache_dir=hf_cache_dir)
        FakeF5TTS.created.append(self.kwargs)
        self.calls: list[dict] = []
        self.fail: Exception | None = None

    def infer(self, ref_file, ref_text, gen_text, show_info=print, progress=None, target_rms=0.1,
              cross_fade_duration=0.15, sway_sampling_coef=-1, cfg_strength=2, nfe_step=32, speed=1.0,
              fix_duration=None, remove_silence=False, file_wave=None, file_spec=None, seed=None):
        call = dict(ref_file=ref_file, ref_text=ref_text, gen_text=gen_text, show_info=show_info,
                    progress=progress, target_rms=target_rms, cross_fade_duration=cross_fade_duration,
                    sway_sampling_coef=sway_sampling_coef, cfg_strength=cfg_strength, nfe_step=nfe_step,
                    speed=speed, fix_duration=fix_duration, remove_silence=remove_silence, seed=seed)
        self.calls.append(call)
        if self.fail is not None:
            raise self.fail
        clip, ref_text = self.preprocess(ref_file, ref_text, show_info)
        info = soundfile.info(clip)
        ref_frames = math.ceil(info.frames * RATE / info.samplerate) // HOP  # torchaudio's Resample length
        seconds = info.frames / info.samplerate
        max_chars = int(len(ref_text.encode()) / seconds * (22 - seconds) * speed)
        call["chunks"] = fake_chunks(gen_text, max_chars)
        padded = ref_text + " " if len(ref_text[-1].encode()) == 1 else ref_text
        rng = np.random.default_rng(seed)
        waves = []
        for chunk in call["chunks"]:
            if fix_duration is not None:
                frames = int(fix_duration * RATE / HOP) - ref_frames
            else:
                local_speed = 0.3 if len(chunk.encode()) < 10 else speed
                frames = int(ref_frames / len(padded.encode()) * len(chunk.encode()) / local_speed)
            waves.append(_speech(frames * HOP, rng))
        return np.concatenate(waves), RATE, np.zeros((100, 1), np.float32)


def _speech(n: int, rng: np.random.Generator) -> np.ndarray:
    """A tone between short silences, `n` samples in all."""
    lead, tail = RATE * LEAD_MS // 1000, RATE * TAIL_MS // 1000
    body = max(n - lead - tail, 0)
    t = np.arange(body) / RATE
    tone = 0.3 * np.sin(2 * np.pi * (150 + 40 * rng.random()) * t) + 0.01 * rng.standard_normal(body)
    out = np.zeros(n, np.float32)
    out[lead:lead + body] = tone[: max(n - lead, 0)]
    return out


@pytest.fixture
def fake_api(monkeypatch, tmp_path):
    """Put the stand-in where `import f5_tts.api` finds it."""
    package = types.ModuleType("f5_tts")
    package.__spec__ = importlib.machinery.ModuleSpec("f5_tts", None, is_package=True)
    api = types.ModuleType("f5_tts.api")
    api.__spec__ = importlib.machinery.ModuleSpec("f5_tts.api", None)
    folder = tmp_path / "f5-temp"
    folder.mkdir()
    api.preprocess_ref_audio_text = FakePreprocess(folder)
    FakeF5TTS.preprocess = api.preprocess_ref_audio_text
    FakeF5TTS.created = []
    api.F5TTS = FakeF5TTS
    package.api = api
    monkeypatch.setitem(sys.modules, "f5_tts", package)
    monkeypatch.setitem(sys.modules, "f5_tts.api", api)
    return api


@pytest.fixture
def weights(tmp_path) -> dict[str, Path]:
    ckpt = tmp_path / "F5TTS_v1_Base" / "model_1250000.safetensors"
    vocoder = tmp_path / "vocos"
    ckpt.parent.mkdir()
    vocoder.mkdir()
    ckpt.write_bytes(b"weights")
    for name in ("config.yaml", "pytorch_model.bin"):
        (vocoder / name).write_bytes(b"x")
    return {"ckpt_path": ckpt, "vocoder_dir": vocoder}


@pytest.fixture
def engine(fake_api, weights) -> F5TtsEngine:
    return F5TtsEngine(**weights)


@pytest.fixture
def reference(tmp_path) -> Reference:
    n = int(REF_SECONDS * REF_RATE)
    t = np.arange(n) / REF_RATE
    clip = 0.3 * np.sin(2 * np.pi * 140 * t) + 0.02 * np.random.default_rng(1).standard_normal(n)
    soundfile.write(tmp_path / "ref.wav", clip.astype(np.float32), REF_RATE)
    return Reference(tmp_path / "ref.wav", REF_TEXT, "en")


# The stand-in's processed reference: 5 s + 50 ms at 16 kHz is 121200 samples at 24 kHz.
REF_FRAMES = (int(REF_SECONDS * REF_RATE) + REF_RATE // 20) * RATE // REF_RATE // HOP
assert REF_FRAMES == 473


def _last(engine: F5TtsEngine) -> dict:
    return engine._tts.calls[-1]


def _frames_asked(call: dict) -> int:
    return int(call["fix_duration"] * RATE / HOP) - REF_FRAMES


# -- what is sent ---------------------------------------------------------------------------

def test_capabilities_declare_native_frames_at_24khz():
    caps = F5TtsEngine.capabilities
    assert (caps.sample_rate, caps.duration_control, caps.duration_step_samples) == (24000, DURATION_NATIVE_FRAMES, 256)
    assert caps.cloning == "zero_shot" and F5TtsEngine.name == "f5_tts"


def test_constructor_gets_upstream_arguments(fake_api, weights, reference, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    engine = F5TtsEngine(model="E2TTS_Base", vocab_path=vocab, device="cpu", ode_method="midpoint", use_ema=False,
                         **weights)
    assert FakeF5TTS.created == []  # loaded on first use, not when built
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=3))
    assert FakeF5TTS.created == [dict(model="E2TTS_Base", ckpt_file=str(weights["ckpt_path"]), vocab_file=str(vocab),
                                      ode_method="midpoint", use_ema=False,
                                      vocoder_local_path=str(weights["vocoder_dir"]), device="cpu",
                                      hf_cache_dir=None)]


def test_infer_gets_exactly_these_arguments(fake_api, weights, reference):
    engine = F5TtsEngine(nfe_step=16, cfg_strength=2.5, sway_sampling_coef=-0.5, target_rms=0.08,
                         cross_fade_duration=0.1, **weights)
    engine.synthesize(SynthesisRequest("  The quick brown\nfox.  ", "en", reference=reference, seed=11))
    call = _last(engine)
    assert call["ref_file"] == str(reference.audio_path)  # F5 preprocesses it and finds our copy by hash
    assert (call["ref_text"], call["gen_text"]) == (REF_TEXT, "The quick brown fox.")
    assert (call["nfe_step"], call["cfg_strength"], call["sway_sampling_coef"]) == (16, 2.5, -0.5)
    assert (call["target_rms"], call["cross_fade_duration"]) == (0.08, 0.1)
    assert (call["seed"], call["remove_silence"], call["progress"]) == (11, False, None)
    assert call["show_info"] is not print and call["fix_duration"] is not None


def test_target_ms_sets_fix_duration_to_reference_plus_line(engine, reference):
    take = engine.synthesize(SynthesisRequest(TEXT, "en", target_ms=2000, reference=reference))
    call = _last(engine)
    frames = (2000 * RATE + 500 * HOP) // (1000 * HOP)  # 187.5 frames, to the nearest: 188
    assert frames == 188
    assert int(call["fix_duration"] * RATE / HOP) == REF_FRAMES + frames
    assert call["fix_duration"] == pytest.approx((REF_FRAMES + frames + 0.5) * HOP / RATE)
    assert take.n_samples == frames * HOP and take.sample_rate == RATE
    assert take.durations.sum() == frames and take.frame_samples == HOP
    assert take.rate == 1.0 and take.engine == "f5_tts"


@pytest.mark.parametrize("target_ms", [417, 1000, 3317, 9999])  # 3317: 311 frames, where F5 truncates
def test_fix_duration_survives_f5s_truncation(engine, reference, target_ms):
    take = engine.synthesize(SynthesisRequest(TEXT, "en", target_ms=target_ms, reference=reference))
    assert abs(take.n_samples - target_ms * RATE / 1000) <= HOP / 2  # the nearest whole frame


def test_natural_take_is_f5s_own_estimate(engine, reference):
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    fast = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, rate=1.25))
    # F5: reference frames per byte of its padded transcript ("says." + ". " + " "), times the line's bytes.
    per_byte = REF_FRAMES / len((REF_TEXT + "  ").encode())
    assert _frames_asked(engine._tts.calls[0]) == int(per_byte * len(TEXT)) == natural.n_samples // HOP
    assert _frames_asked(engine._tts.calls[1]) == int(per_byte * len(TEXT) / 1.25) == fast.n_samples // HOP
    assert fast.rate == 1.25
    assert natural.phonemes == TEXT and natural.durations.size == len(TEXT) + 2
    assert natural.durations[0] == natural.durations[-1] == 0
    assert natural.durations.sum() * HOP == natural.n_samples


def test_short_line_gets_f5s_slow_estimate(engine, reference):
    engine.synthesize(SynthesisRequest("Yes.", "en", reference=reference))
    per_byte = REF_FRAMES / len((REF_TEXT + "  ").encode())
    assert _frames_asked(_last(engine)) == int(per_byte * 4 / 0.3)


def test_multibyte_characters_get_frames_by_bytes(engine, reference):
    take = engine.synthesize(SynthesisRequest("你好，世界。", "zh", reference=reference))
    chars = take.durations[1:-1]
    assert take.durations.sum() * HOP == take.n_samples
    assert max(chars) - min(chars) <= 1  # every character is three bytes: equal shares


def test_a_line_is_never_split(engine, reference):
    line = LINE_OF_SENTENCES
    take = engine.synthesize(SynthesisRequest(line, "en", target_ms=6000, reference=reference))
    call = _last(engine)
    assert call["chunks"] == [line]
    assert take.n_samples == 563 * HOP  # one chunk's worth: a split line would come back twice as long
    # At F5's default speed this line would have been split, so the speed really is what keeps it whole.
    seconds = REF_SECONDS + 0.05
    default_max = int(len((REF_TEXT + " ").encode()) / seconds * (22 - seconds))
    assert len(fake_chunks(line, default_max)) > 1


def test_thirty_second_cap_counts_the_reference(engine, reference):
    longest = (MAX_TOTAL_FRAMES - REF_FRAMES) * HOP * 1000 // RATE  # 24.94 s after a 5.05 s reference
    take = engine.synthesize(SynthesisRequest(TEXT, "en", target_ms=longest, reference=reference))
    assert int(_last(engine)["fix_duration"] * RATE / HOP) <= 30 * RATE // HOP
    calls = len(engine._tts.calls)
    with pytest.raises(UsageError, match=r"at most 30 s including the reference: 5\.0 s of reference") as err:
        engine.synthesize(SynthesisRequest(TEXT, "en", target_ms=longest + 30, reference=reference))
    assert len(engine._tts.calls) == calls  # refused before F5 was asked
    assert err.value.engine == "f5_tts" and take.n_samples > 0


def test_reference_without_transcript_is_refused_before_f5_runs(engine, fake_api, reference):
    bare = Reference(reference.audio_path, "  ", "en")
    with pytest.raises(UsageError, match="--reference-text.*Whisper"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=bare))
    with pytest.raises(UsageError, match="--reference-text"):
        engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=bare), np.ones(len(TEXT) + 2, np.int32))
    assert fake_api.preprocess_ref_audio_text.calls == [] and engine._tts is None


def test_no_reference_is_a_usage_error(engine):
    with pytest.raises(UsageError, match="clones a voice"):
        engine.synthesize(SynthesisRequest(TEXT, "en"))


def test_missing_reference_clip_is_a_usage_error(engine, tmp_path):
    with pytest.raises(UsageError, match="cannot read the F5-TTS reference clip"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(tmp_path / "nope.wav", REF_TEXT)))


def test_reference_is_preprocessed_once(engine, fake_api, reference):
    for seed in range(3):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=seed))
    assert len(fake_api.preprocess_ref_audio_text.calls) == 1 + 3  # ours once, then once per infer (F5's cache hit)
    assert len(fake_api.preprocess_ref_audio_text.cache) == 1


def test_seed_is_passed_and_decides_the_take(engine, reference):
    a = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=5))
    b = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=5))
    c = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, seed=6))
    assert [call["seed"] for call in engine._tts.calls] == [5, 5, 6]
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)
    assert (a.seed, c.seed) == (5, 6)


def test_synthesize_frames_renders_their_total(engine, reference):
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    frames = natural.durations.copy()
    frames[5] += 40
    take = engine.synthesize_frames(SynthesisRequest(TEXT, "en", seed=2, reference=reference), frames)
    assert _frames_asked(_last(engine)) == frames.sum()
    assert np.array_equal(take.durations, frames) and take.n_samples == frames.sum() * HOP
    with pytest.raises(SynthesisError, match="needs 45 whole frame counts"):
        engine.synthesize_frames(SynthesisRequest(TEXT, "en", reference=reference), frames[:-1])


def test_f5_failure_is_a_synthesis_error(engine, reference):
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    engine._tts.fail = RuntimeError("CUDA out of memory")
    with pytest.raises(SynthesisError, match="F5-TTS failed on 'The quick.*CUDA out of memory"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))


def test_missing_package_at_first_use_is_engine_unavailable(weights, reference, monkeypatch):
    monkeypatch.setitem(sys.modules, "f5_tts", None)
    engine = F5TtsEngine(**weights)
    with pytest.raises(EngineUnavailable, match="pip install f5-tts"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))


# -- fitting ----------------------------------------------------------------------------------

@pytest.mark.parametrize("factor", [0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.4])
def test_fit_line_lands_within_50_ms(engine, reference, factor):
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    natural_ms = speech_span(natural.samples, RATE).length * 1000 // RATE
    target = round(natural_ms * factor)
    fit = fit_line(engine, SynthesisRequest(TEXT, "en", reference=reference), target)
    assert fit.status == "ok", (fit.method, fit.attempts, fit.reason)
    assert abs(fit.speech_ms - target) <= 50
    assert "stretch" not in fit.method  # F5's own duration did it
    if factor != 1.0:
        assert fit.method.startswith("native")


# -- settings and availability ----------------------------------------------------------------

def test_from_settings_reads_the_engine_table(fake_api, weights, reference, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f"""
[engines.f5_tts]
model = "F5TTS_Base"
ckpt_path = "{weights['ckpt_path'].relative_to(tmp_path).as_posix()}"
vocoder_dir = "{weights['vocoder_dir'].as_posix()}"
device = "cuda:1"
nfe_step = 16
cfg_strength = 1.5
""")
    settings = load_config(config).engine("f5_tts")
    engine = F5TtsEngine.from_settings(settings)
    assert F5TtsEngine.availability(settings) is None
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert FakeF5TTS.created[0]["ckpt_file"] == str(weights["ckpt_path"])  # resolved against the file's folder
    assert (FakeF5TTS.created[0]["model"], FakeF5TTS.created[0]["device"]) == ("F5TTS_Base", "cuda:1")
    assert (_last(engine)["nfe_step"], _last(engine)["cfg_strength"]) == (16, 1.5)


def test_from_settings_refuses_unknown_keys_and_bad_values(fake_api, weights, tmp_path):
    base = [f"f5_tts.ckpt_path={weights['ckpt_path']}", f"f5_tts.vocoder_dir={weights['vocoder_dir']}"]
    settings = load_config(tmp_path / "none.toml", base + ["f5_tts.ckpt_file=x"]).engine("f5_tts")
    with pytest.raises(UsageError, match="no setting 'ckpt_file'.*ckpt_path"):
        F5TtsEngine.from_settings(settings)
    settings = load_config(tmp_path / "none.toml", base + ["f5_tts.nfe_step=0"]).engine("f5_tts")
    with pytest.raises(UsageError, match="nfe_step must be a positive integer"):
        F5TtsEngine.from_settings(settings)
    with pytest.raises(EngineUnavailable, match="ckpt_path"):
        F5TtsEngine.from_settings(load_config(tmp_path / "none.toml", base[1:]).engine("f5_tts"))


def test_availability_names_package_and_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "f5_tts", None)
    reason = F5TtsEngine.availability()
    assert "pip install f5-tts" in reason and "torchaudio" in reason
    assert "engines.f5_tts.ckpt_path" in reason and "SWivid/F5-TTS" in reason
    assert "F5TTS_v1_Base/model_1250000.safetensors" in reason
    assert "engines.f5_tts.vocoder_dir" in reason and "charactr/vocos-mel-24khz" in reason


def test_availability_names_each_missing_file(fake_api, weights, tmp_path):
    (weights["vocoder_dir"] / "pytorch_model.bin").unlink()
    overrides = [f"f5_tts.ckpt_path={tmp_path / 'nowhere.safetensors'}", f"f5_tts.vocoder_dir={weights['vocoder_dir']}",
                 f"f5_tts.vocab_path={tmp_path / 'vocab.txt'}", "f5_tts.model=E2TTS_Base"]
    settings = load_config(tmp_path / "none.toml", overrides).engine("f5_tts")
    reason = F5TtsEngine.availability(settings)
    assert "pip install" not in reason  # the stand-in package is importable
    assert f"no F5-TTS checkpoint at {tmp_path / 'nowhere.safetensors'}" in reason
    assert "SWivid/E2-TTS" in reason and "E2TTS_Base/model_1200000.safetensors" in reason
    assert "lacks pytorch_model.bin" in reason and "config.yaml" not in reason
    assert f"no vocabulary at {tmp_path / 'vocab.txt'}" in reason
    with pytest.raises(EngineUnavailable, match="no F5-TTS checkpoint") as err:
        F5TtsEngine.from_settings(settings)
    assert "lacks pytorch_model.bin" in err.value.hint


def test_availability_refuses_an_unknown_model(fake_api, weights, tmp_path):
    settings = load_config(tmp_path / "none.toml", [f"f5_tts.ckpt_path={weights['ckpt_path']}",
                                                    f"f5_tts.vocoder_dir={weights['vocoder_dir']}",
                                                    "f5_tts.model=F5TTS_Huge"]).engine("f5_tts")
    assert "'F5TTS_Huge' is not a config f5-tts ships" in F5TtsEngine.availability(settings)


def test_adapter_imports_without_torch_or_f5():
    blocked = "import sys; sys.modules.update(torch=None, torchaudio=None, f5_tts=None); "
    check = blocked + "import dubber.plugin.f5_tts as m; print(m.F5TtsEngine.availability())"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "pip install f5-tts" in done.stdout


# -- the real package, opt-in -----------------------------------------------------------------

def _real_f5_missing() -> str | None:
    for name in ("f5_tts", "torch", "torchaudio", "vocos"):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return f"{name} is not installed (pip install f5-tts, with torch and torchaudio)"
    return None


@pytest.mark.engine
def test_real_f5_tts_with_weights():
    missing = _real_f5_missing()
    ckpt, vocoder, ref = (os.environ.get(f"DUBBER_F5_TTS_{key}") for key in ("CKPT", "VOCODER", "REF"))
    if missing or not (ckpt and vocoder and ref):
        pytest.skip(missing or "set DUBBER_F5_TTS_CKPT (e.g. model_1250000.safetensors from SWivid/F5-TTS), "
                    "DUBBER_F5_TTS_VOCODER (a folder with charactr/vocos-mel-24khz's config.yaml and "
                    "pytorch_model.bin), DUBBER_F5_TTS_REF (a clip up to 12 s) and DUBBER_F5_TTS_REF_TEXT "
                    "(its transcript) to run the real F5-TTS")
    engine = F5TtsEngine(ckpt, vocoder, model=os.environ.get("DUBBER_F5_TTS_MODEL", "F5TTS_v1_Base"),
                         vocab_path=os.environ.get("DUBBER_F5_TTS_VOCAB"),
                         device=os.environ.get("DUBBER_F5_TTS_DEVICE"))
    reference = Reference(Path(ref), os.environ.get("DUBBER_F5_TTS_REF_TEXT", ""), "en")
    request = SynthesisRequest("This line is spoken by a cloned voice.", "en", seed=1, reference=reference)
    take = engine.synthesize(replace(request, target_ms=2500))
    assert take.n_samples == (2500 * RATE + 500 * HOP) // (1000 * HOP) * HOP
    assert speech_span(take.samples, RATE) is not None
    fit = fit_line(engine, request, 2000)
    assert abs(fit.speech_ms - 2000) <= 50, (fit.method, fit.attempts)


@pytest.mark.engine
def test_tiny_random_f5_through_the_real_package(tmp_path, reference):
    missing = _real_f5_missing()
    if missing:
        pytest.skip(missing)
    try:
        importlib.import_module("f5_tts.api")  # torchaudio's compiled parts may not load on this machine
    except (ImportError, OSError) as err:
        pytest.skip(f"f5_tts does not import here: {err}")
    spec = importlib.util.spec_from_file_location("f5_tiny", Path(__file__).with_name("f5_tiny.py"))
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    started = time.monotonic()
    engine = tiny.tiny_engine(tmp_path / "weights")
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", seed=3, reference=reference))
    per_byte = REF_FRAMES / len((REF_TEXT + "  ").encode())
    assert natural.n_samples == int(per_byte * len(TEXT)) * HOP and np.all(np.isfinite(natural.samples))
    # F5's own output, before the adapter trims anything: exactly the frames asked, in one chunk.
    prepared = engine.prepare_reference(reference)
    assert prepared.frames == REF_FRAMES
    for line, frames in ((TEXT, 188), (LINE_OF_SENTENCES, 563)):
        wav, rate, spectrogram = engine._load().infer(**engine.infer_arguments(line, prepared, reference, frames, 5))
        assert (wav.size, rate, spectrogram.shape) == (frames * HOP, RATE, (100, frames))
    for factor in (0.7, 1.4):
        target = round(natural.duration_ms * factor)
        fit = fit_line(engine, SynthesisRequest(TEXT, "en", seed=3, reference=reference), target)
        assert abs(fit.speech_ms - target) <= 50, (fit.method, fit.attempts)
    assert time.monotonic() - started < 120
