"""The CosyVoice adapter against an in-process stand-in for CosyVoice's FastAPI server."""

from __future__ import annotations

import importlib.util
import io
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dubber.config import EngineSettings
from dubber.errors import EngineUnavailable, MediaError, SynthesisError, UsageError
from dubber.fitting.fitter import STATUS_OK, fit_line
from dubber.plugin.cosyvoice import START_HINT, CosyVoiceEngine
from dubber.plugin.engine import Emotion, Reference, SynthesisRequest


def _load_server():
    spec = importlib.util.spec_from_file_location("cosyvoice_server", Path(__file__).with_name("cosyvoice_server.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("cosyvoice_server", module)
    spec.loader.exec_module(module)
    return sys.modules["cosyvoice_server"]


server = _load_server()
FakeCosyVoice, speech = server.FakeCosyVoice, server.speech
TEXT = "Hello there, how are you?"


@pytest.fixture
def fake():
    with FakeCosyVoice() as running:
        yield running


@pytest.fixture(scope="module")
def ref_48k(tmp_path_factory) -> Reference:
    """A 48 kHz stereo reference, which the adapter must bring down to 16 kHz mono."""
    path = tmp_path_factory.mktemp("ref") / "speaker.wav"
    t = np.arange(48000) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    soundfile.write(path, np.stack([tone, tone], axis=1), 48000)
    return Reference(path, "what the speaker says", "en")


@pytest.fixture(scope="module")
def ref_16k(tmp_path_factory) -> Reference:
    path = tmp_path_factory.mktemp("ref16") / "speaker16.wav"
    soundfile.write(path, (0.2 * np.sin(np.arange(16000) / 5)).astype(np.float32), 16000, subtype="PCM_16")
    return Reference(path, "lo que dice", "en")


def _engine(fake, **options) -> CosyVoiceEngine:
    return CosyVoiceEngine(fake.url, **options)


def _upload(record) -> tuple[np.ndarray, int]:
    filename, content = record.files["prompt_wav"]
    audio, rate = soundfile.read(io.BytesIO(content), dtype="float32")
    return audio, rate


def test_capabilities_declare_a_stretch_only_cloner():
    caps = CosyVoiceEngine.capabilities
    assert caps.languages == ("zh", "en", "ja", "ko", "yue")
    assert (caps.sample_rate, caps.voices, caps.cloning, caps.emotion) == (24000, (), "zero_shot", "text")
    assert caps.duration_control == "stretch" and caps.rate_range == (1.0, 1.0) and caps.needs_gpu


def test_zero_shot_sends_the_transcript_and_a_16k_prompt(fake, ref_48k):
    take = _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k, seed=7))
    (record,) = fake.requests
    assert (record.method, record.path) == ("POST", "/inference_zero_shot")
    assert record.fields == {"tts_text": TEXT, "prompt_text": "what the speaker says"}
    audio, rate = _upload(record)
    assert rate == 16000 and audio.ndim == 1 and abs(audio.size - 16000) <= 2
    assert take.sample_rate == 24000 and take.seed == 7 and take.voice == "reference" and take.engine == "cosyvoice"
    np.testing.assert_allclose(take.samples, speech(TEXT).astype(np.float32) / 32768)


def test_a_16k_mono_reference_is_sent_as_is(fake, ref_16k):
    _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_16k))
    assert fake.requests[0].files["prompt_wav"][1] == ref_16k.audio_path.read_bytes()


def test_another_language_or_no_transcript_goes_cross_lingual(fake, ref_48k):
    engine = _engine(fake)
    engine.synthesize(SynthesisRequest("你好世界", "zh", reference=ref_48k))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(ref_48k.audio_path, "", "en")))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(ref_48k.audio_path, "words", None)))
    assert [r.path for r in fake.requests] == ["/inference_cross_lingual"] * 3
    assert [r.fields for r in fake.requests] == [{"tts_text": "你好世界"}, {"tts_text": TEXT}, {"tts_text": TEXT}]
    assert all(_upload(r)[1] == 16000 for r in fake.requests)


def test_an_emotion_goes_to_instruct2(fake, ref_48k):
    _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k,
                                              emotion=Emotion("text", text="Speak angrily.")))
    (record,) = fake.requests
    assert record.path == "/inference_instruct2"
    assert record.fields == {"tts_text": TEXT, "instruct_text": "Speak angrily.<|endofprompt|>"}
    assert _upload(record)[1] == 16000


def test_other_emotion_kinds_and_empty_instructions_are_refused(fake, ref_48k):
    engine = _engine(fake)
    with pytest.raises(UsageError, match="takes emotion as 'text'"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k, emotion=Emotion("vector", vector=(0.0,) * 8)))
    with pytest.raises(UsageError, match="instruction"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k, emotion=Emotion("text", text=" ")))
    assert not fake.requests


def test_version_3_prefixes_the_prompts(fake, ref_48k):
    engine = _engine(fake, version=3)
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))
    engine.synthesize(SynthesisRequest("你好", "zh", reference=ref_48k))
    engine.synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k, emotion=Emotion("text", text="请用广东话表达。")))
    zero, cross, instruct = (r.fields for r in fake.requests)
    assert zero == {"tts_text": TEXT, "prompt_text": "You are a helpful assistant.<|endofprompt|>what the speaker says"}
    assert cross == {"tts_text": "You are a helpful assistant.<|endofprompt|>你好"}
    assert instruct["instruct_text"] == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"


def test_unknown_version_is_refused():
    with pytest.raises(UsageError, match="version"):
        CosyVoiceEngine(version=1)


def test_a_reference_is_required(fake):
    with pytest.raises(UsageError, match="reference"):
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en"))


def test_an_unreadable_reference_is_a_media_error(fake, tmp_path):
    with pytest.raises(MediaError):
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=Reference(tmp_path / "missing.wav", "x", "en")))


def test_rates_other_than_one_are_refused(fake, ref_48k):
    with pytest.raises(UsageError, match="range"):
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k, rate=1.1))


@pytest.mark.parametrize("chunk_bytes", [1, 777, 10**7])
def test_the_stream_is_reassembled_across_chunks(ref_48k, chunk_bytes):
    text = "abc" if chunk_bytes == 1 else TEXT  # byte-sized chunks are slow: keep that stream short
    with FakeCosyVoice(chunk_bytes=chunk_bytes) as fake:
        take = _engine(fake).synthesize(SynthesisRequest(text, "en", reference=ref_48k))
    assert np.array_equal(take.samples, speech(text).astype(np.float32) / 32768)


def test_an_odd_trailing_byte_is_dropped(ref_48k):
    with FakeCosyVoice(odd_byte=True, chunk_bytes=1001) as fake:
        take = _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))
    assert take.n_samples == speech(TEXT).size


def test_an_empty_stream_is_a_synthesis_error(ref_48k):
    with FakeCosyVoice(empty=True) as fake, pytest.raises(SynthesisError, match="no audio"):
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))


def test_a_stream_cut_short_is_a_synthesis_error(ref_48k):
    with FakeCosyVoice(cut_after=5000, chunk_bytes=1000) as fake, pytest.raises(SynthesisError, match="cut short"):
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))


def test_an_error_status_is_a_synthesis_error_with_the_body(ref_48k):
    with FakeCosyVoice(fail_status=500) as fake, pytest.raises(SynthesisError, match="500.*CUDA out of memory") as info:
        _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))
    assert info.value.status == 500


def test_a_get_only_server_is_retried_with_get(ref_48k):
    with FakeCosyVoice(methods=("GET",)) as fake:
        take = _engine(fake).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))
    assert [r.method for r in fake.requests] == ["POST", "GET"]
    assert fake.requests[1].fields["prompt_text"] == "what the speaker says" and take.n_samples


def test_a_slow_server_times_out(ref_48k):
    with FakeCosyVoice(delay_s=1.0) as fake, pytest.raises(SynthesisError, match="timed out after 200 ms"):
        _engine(fake, timeout_ms=200).synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))


def test_no_server_is_engine_unavailable_with_how_to_start_it(ref_48k):
    with pytest.raises(EngineUnavailable) as info:
        CosyVoiceEngine(f"http://127.0.0.1:{_free_port()}").synthesize(SynthesisRequest(TEXT, "en", reference=ref_48k))
    assert "server.py --port 50000 --model_dir" in info.value.hint


@pytest.mark.parametrize("url", ["http://127.0.0.1:50000", "http://localhost:1/", "http://[::1]:50000",
                                 "http://127.8.0.1"])
def test_loopback_servers_are_allowed(url):
    assert CosyVoiceEngine(url).url == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://10.0.0.5:50000", "http://gpu-box:50000", "http://localhost.evil.com",
                                 "http://127.0.0.1.nip.io"])
def test_remote_servers_need_permission(url):
    with pytest.raises(UsageError, match="not on this machine"):
        CosyVoiceEngine(url)
    assert CosyVoiceEngine(url, allow_remote=True).url == url


@pytest.mark.parametrize("url", ["127.0.0.1:50000", "ftp://127.0.0.1/", "http://"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(UsageError):
        CosyVoiceEngine(url, allow_remote=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_availability_probes_a_running_server_only_when_asked(fake):
    settings = EngineSettings("cosyvoice", {"url": fake.url})
    assert CosyVoiceEngine.availability(settings) is None and not fake.requests
    assert CosyVoiceEngine.availability(settings, probe=True) is None
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/")]  # a 404 still means it is up


def test_availability_of_a_server_that_is_down_says_how_to_start_it():
    url = f"http://127.0.0.1:{_free_port()}"
    settings = EngineSettings("cosyvoice", {"url": url})
    assert CosyVoiceEngine.availability(settings) is None  # no probe, no connection
    assert CosyVoiceEngine.availability(settings, probe=True) == (
        f"no CosyVoice server answers at {url} (connection refused); {START_HINT}")


def test_availability_names_a_refused_setting():
    remote = EngineSettings("cosyvoice", {"url": "http://10.0.0.5:50000"})
    assert "not on this machine" in CosyVoiceEngine.availability(remote, probe=True)
    assert "version must be 2 or 3" in CosyVoiceEngine.availability(EngineSettings("cosyvoice", {"version": 4}))
    assert "timeout_ms must be a positive integer" in CosyVoiceEngine.availability(
        EngineSettings("cosyvoice", {"timeout_ms": 0}))


def test_fit_line_stretches_a_stretch_only_engine_to_its_slot(fake, ref_48k):
    engine = _engine(fake)
    natural = fit_line(engine, SynthesisRequest(TEXT, "en", reference=ref_48k), 1000).natural_ms
    target = round(natural * 1.1)
    fake.requests.clear()
    fit = fit_line(engine, SynthesisRequest(TEXT, "en", reference=ref_48k), target)
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 50
    assert "stretch" in fit.method and fit.rate == 1.0 and fit.stretch > 1.0
    assert len(fake.requests) == 1  # the rate search has nothing to search: no more engine calls


@pytest.mark.engine
def test_a_real_cosyvoice_server_speaks():
    url, ref = os.environ.get("DUBBER_COSYVOICE_URL"), os.environ.get("DUBBER_COSYVOICE_REF")
    if not url or not ref:
        pytest.skip("set DUBBER_COSYVOICE_URL (a running CosyVoice FastAPI server) and DUBBER_COSYVOICE_REF "
                    "(a reference clip) to run this")
    engine = CosyVoiceEngine(url, allow_remote=True)
    take = engine.synthesize(SynthesisRequest("This is a short test of the dubbing engine.", "en",
                                              reference=Reference(Path(ref))))
    assert take.sample_rate == 24000 and take.duration_ms > 500
    assert np.all(np.isfinite(take.samples)) and np.abs(take.samples).max() > 0.01


def test_only_cosyvoice3_takes_pinyin_tags():
    from dubber.plugin.cosyvoice import CosyVoiceEngine
    from dubber.text.pronunciation import FORM_COSYVOICE, for_engine

    assert CosyVoiceEngine(version=2).capabilities.pronunciation == ""
    v3 = CosyVoiceEngine(version=3)
    assert v3.capabilities.pronunciation == FORM_COSYVOICE and v3.capabilities.languages == CosyVoiceEngine.capabilities.languages
    assert for_engine("说明她好[h][ào]干净", v3.capabilities.pronunciation) == "说明她[h][ào]干净"
    assert for_engine("说明她好[h][ào]干净", CosyVoiceEngine(version=2).capabilities.pronunciation) == "说明她好干净"
