"""The GPT-SoVITS engine against an in-process stand-in for its api_v2 server (and, opt-in, a real one)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dubber.audio.speech import speech_span
from dubber.config import EngineSettings, is_loopback
from dubber.errors import EngineUnavailable, SynthesisError, UnsupportedLanguage, UsageError
from dubber.fitting.fitter import fit_line
from dubber.plugin.engine import Emotion, Reference, SynthesisRequest
from dubber.plugin.gpt_sovits import START_HINT, GptSovitsEngine


def _load_server():
    name = "gpt_sovits_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("gpt_sovits_server.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


FakeGptSovits = _load_server().FakeGptSovits
TEXT = "The quick brown fox jumps over the lazy dog"


def _write_clip(path: Path, seconds: float, rate: int = 32000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(1)
    clip = 0.3 * np.sin(2 * np.pi * 150 * t) + 0.02 * rng.standard_normal(t.size)
    soundfile.write(path, clip.astype(np.float32), rate)
    return path


@pytest.fixture
def server():
    with FakeGptSovits() as fake:
        yield fake


@pytest.fixture
def engine(server) -> GptSovitsEngine:
    return GptSovitsEngine(url=server.url, timeout_ms=10_000)


@pytest.fixture
def reference(tmp_path) -> Reference:
    return Reference(_write_clip(tmp_path / "ref.wav", 5.0), text="This is what the speaker says.", lang="en")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the request ------------------------------------------------------------------------------

def test_posts_exactly_the_body_api_v2_takes(engine, server, reference):
    take = engine.synthesize(SynthesisRequest("Hello there,\nfriend.", "en", reference=reference))
    sent = server.last_request
    assert (sent.method, sent.path) == ("POST", "/tts")
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.body == {
        "text": "Hello there, friend.",
        "text_lang": "en",
        "ref_audio_path": str(reference.audio_path.resolve()),
        "prompt_text": "This is what the speaker says.",
        "prompt_lang": "en",
        "text_split_method": "cut0",
        "batch_size": 1,
        "speed_factor": 1.0,
        "fragment_interval": 0,
        "seed": 0,
        "media_type": "wav",
        "streaming_mode": False,
    }
    assert Path(sent.body["ref_audio_path"]).is_absolute()
    assert take.engine == "gpt_sovits" and take.voice == "reference" and take.phonemes == "Hello there,\nfriend."


def test_seed_and_speed_factor_are_passed(engine, server, reference):
    take = engine.synthesize(SynthesisRequest(TEXT, "en", seed=1234, rate=1.3, reference=reference))
    assert server.last_request.body["seed"] == 1234
    assert server.last_request.body["speed_factor"] == pytest.approx(1.3)
    assert (take.seed, take.rate) == (1234, 1.3)
    again = engine.synthesize(SynthesisRequest(TEXT, "en", seed=1234, rate=1.3, reference=reference))
    np.testing.assert_array_equal(take.samples, again.samples)  # the server honours the seed


@pytest.mark.parametrize("lang, code", [("zh", "zh"), ("en", "en"), ("ja", "ja"), ("ko", "ko"), ("yue", "yue")])
def test_languages_map_to_api_v2_codes(engine, server, reference, lang, code):
    engine.synthesize(SynthesisRequest("text", lang, reference=Reference(reference.audio_path, "prompt")))
    assert server.last_request.body["text_lang"] == code
    assert server.last_request.body["prompt_lang"] == code  # no reference language: the line's


def test_reference_language_is_its_own(engine, server, reference):
    engine.synthesize(SynthesisRequest("text", "en", reference=Reference(reference.audio_path, "プロンプト", lang="ja")))
    assert server.last_request.body["prompt_lang"] == "ja"


def test_unsupported_language_is_refused_before_asking(engine, server, reference):
    with pytest.raises(UnsupportedLanguage):
        engine.synthesize(SynthesisRequest("texte", "fr", reference=reference))
    with pytest.raises(UsageError, match="'fr'"):
        engine.synthesize(SynthesisRequest("text", "en", reference=Reference(reference.audio_path, "texte", lang="fr")))
    assert server.requests == []


# -- the answer -------------------------------------------------------------------------------

def test_take_is_float32_mono_at_the_servers_rate(engine, reference):
    take = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert take.samples.dtype == np.float32 and take.samples.ndim == 1
    assert take.sample_rate == 32000 == GptSovitsEngine.capabilities.sample_rate
    assert speech_span(take.samples, take.sample_rate) is not None


def test_take_reports_the_wavs_real_rate(reference):
    with FakeGptSovits(sample_rate=24000) as v3:  # v3 models answer at 24 kHz
        take = GptSovitsEngine(url=v3.url).synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert take.sample_rate == 24000


def test_rate_shortens_the_take(engine, reference):
    slow = engine.synthesize(SynthesisRequest(TEXT, "en", rate=1.0, reference=reference))
    fast = engine.synthesize(SynthesisRequest(TEXT, "en", rate=1.5, reference=reference))
    assert fast.n_samples / slow.n_samples == pytest.approx(1 / 1.5, rel=0.02)


# -- failures ---------------------------------------------------------------------------------

def test_error_body_becomes_synthesis_error_with_the_servers_message(reference):
    body = {"message": "tts failed", "Exception": "CUDA out of memory"}
    with FakeGptSovits(error=(400, body)) as failing:
        with pytest.raises(SynthesisError, match="tts failed: CUDA out of memory") as info:
            GptSovitsEngine(url=failing.url).synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert info.value.status == 400 and info.value.engine == "gpt_sovits"


def test_servers_own_validation_reaches_the_user(reference):
    with FakeGptSovits(version="v1") as v1:  # v1 models speak no Korean
        with pytest.raises(SynthesisError, match="text_lang: ko is not supported in version v1"):
            GptSovitsEngine(url=v1.url).synthesize(SynthesisRequest("annyeong", "ko", reference=reference))


def test_timeout_is_a_synthesis_error(reference):
    with FakeGptSovits(delay_s=3.0) as slow:
        start = time.monotonic()
        with pytest.raises(SynthesisError, match="timed out after 200 ms"):
            GptSovitsEngine(url=slow.url, timeout_ms=200).synthesize(SynthesisRequest(TEXT, "en", reference=reference))
        assert time.monotonic() - start < 2.0


def test_connection_refused_says_how_to_start_the_server(reference):
    engine = GptSovitsEngine(url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(EngineUnavailable, match=r"python api_v2\.py -a 127\.0\.0\.1 -p 9880") as info:
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    assert "api_v2.py" in info.value.hint
    assert GptSovitsEngine.unavailable_reason() is None  # availability is the server's, found on first use


# -- availability -----------------------------------------------------------------------------

def test_availability_probes_a_running_server_only_when_asked(server):
    settings = EngineSettings("gpt_sovits", {"url": server.url})
    assert GptSovitsEngine.availability(settings) is None and not server.requests
    assert GptSovitsEngine.availability(settings, probe=True) is None
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/")]  # a 404 still means it is up


def test_availability_of_a_server_that_is_down_says_how_to_start_it():
    url = f"http://127.0.0.1:{_free_port()}"
    settings = EngineSettings("gpt_sovits", {"url": url})
    assert GptSovitsEngine.availability(settings) is None  # no probe, no connection
    assert GptSovitsEngine.availability(settings, probe=True) == (
        f"no GPT-SoVITS server answers at {url} (connection refused); {START_HINT}")


def test_availability_names_a_refused_setting():
    remote = EngineSettings("gpt_sovits", {"url": "http://192.168.1.5:9880"})
    assert "not on this machine" in GptSovitsEngine.availability(remote, probe=True)
    assert GptSovitsEngine.availability(EngineSettings("gpt_sovits", {"url": "http://192.168.1.5:9880",
                                                                      "allow_remote": True})) is None
    assert GptSovitsEngine.availability() is None


# -- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:9880", "http://127.8.0.1:1", "http://localhost:9880",
                                 "http://LOCALHOST", "http://[::1]:9880", "http://[::ffff:127.0.0.1]:9880"])
def test_loopback_urls_are_accepted(url):
    assert GptSovitsEngine(url=url).url == url


@pytest.mark.parametrize("url", ["http://192.168.1.5:9880", "http://gpu-box:9880", "http://127.0.0.1.nip.io:9880",
                                 "http://[2001:db8::1]:9880", "http://0.0.0.0:9880"])
def test_remote_urls_need_allow_remote(url):
    with pytest.raises(UsageError, match="not on this machine"):
        GptSovitsEngine(url=url)
    assert GptSovitsEngine(url=url, allow_remote=True).allow_remote


@pytest.mark.parametrize("url", ["127.0.0.1:9880", "ftp://127.0.0.1", "http://"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(UsageError):
        GptSovitsEngine(url=url)


def test_timeout_must_be_positive():
    with pytest.raises(UsageError, match="positive"):
        GptSovitsEngine(timeout_ms=0)


def test_is_loopback_reads_addresses_literally():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("127.0.0.1.example.com") and not is_loopback("10.0.0.1")


# -- the reference ----------------------------------------------------------------------------

def test_missing_reference_is_a_usage_error(engine, server):
    with pytest.raises(UsageError, match="reference"):
        engine.synthesize(SynthesisRequest(TEXT, "en"))
    assert server.requests == []


@pytest.mark.parametrize("seconds", [2.0, 11.0])
def test_reference_must_last_3_to_10_seconds(engine, server, tmp_path, seconds):
    clip = _write_clip(tmp_path / "odd.wav", seconds)
    with pytest.raises(UsageError, match=rf"odd\.wav lasts {seconds:.2f} s") as info:
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(clip, "prompt")))
    assert info.value.seconds == pytest.approx(seconds)
    assert server.requests == []


def test_unreadable_reference_is_a_usage_error(engine, tmp_path):
    with pytest.raises(UsageError, match="nothing.wav"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=Reference(tmp_path / "nothing.wav", "prompt")))


def test_rate_and_emotion_are_checked(engine, reference):
    with pytest.raises(UsageError, match="range"):
        engine.synthesize(SynthesisRequest(TEXT, "en", rate=2.0, reference=reference))
    with pytest.raises(UsageError, match="emotion"):
        engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference, emotion=Emotion("text", text="happy")))


# -- same treatment as the built-in engines ---------------------------------------------------

def test_fit_line_fits_through_the_server(engine, server, reference):
    natural = engine.synthesize(SynthesisRequest(TEXT, "en", reference=reference))
    span = speech_span(natural.samples, natural.sample_rate)
    natural_ms = span.length * 1000 // natural.sample_rate
    fit = fit_line(engine, SynthesisRequest(TEXT, "en", reference=reference), round(natural_ms * 1.1))
    assert fit.status == "ok" and abs(fit.error_ms) <= 50
    assert fit.method.startswith("rate") and fit.rate < 1.0
    assert min(r.body["speed_factor"] for r in server.requests) < 1.0


def test_capabilities():
    caps = GptSovitsEngine.capabilities.to_dict()
    assert caps["languages"] == ["zh", "en", "ja", "ko", "yue"]
    assert (caps["cloning"], caps["emotion"], caps["duration_control"]) == ("zero_shot", "none", "rate")
    assert caps["rate_range"] == [0.6, 1.65] and caps["needs_gpu"] and caps["voices"] == []


# -- the stand-in keeps api_v2's contract -----------------------------------------------------

def _get(url: str, **query) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"{url}/tts?{urllib.parse.urlencode(query)}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_stand_in_answers_get_like_post(server, reference):
    query = dict(text="Hello world", text_lang="EN", ref_audio_path=str(reference.audio_path), prompt_lang="en",
                 seed=5, speed_factor=1.2)
    status, audio = _get(server.url, **query)
    assert status == 200
    samples, rate = soundfile.read(io.BytesIO(audio))
    assert rate == 32000 and samples.size > 0
    assert server.last_request.method == "GET" and server.last_request.body["text_lang"] == "EN"


@pytest.mark.parametrize("drop, message", [("ref_audio_path", "ref_audio_path is required"),
                                           ("text", "text is required")])
def test_stand_in_requires_fields(server, reference, drop, message):
    query = dict(text="Hi", text_lang="en", ref_audio_path=str(reference.audio_path), prompt_lang="en")
    query.pop(drop)
    status, body = _get(server.url, **query)
    assert status == 400 and json.loads(body) == {"message": message}


@pytest.mark.parametrize("field, value, message", [
    ("media_type", "mp3", "media_type: mp3 is not supported"),
    ("text_split_method", "cut9", "text_split_method:cut9 is not supported"),
    ("streaming_mode", "7", "the value of streaming_mode must be"),
    ("ref_audio_path", "/no/such.wav", "tts failed"),
])
def test_stand_in_validates_like_api_v2(server, reference, field, value, message):
    query = dict(text="Hi", text_lang="en", ref_audio_path=str(reference.audio_path), prompt_lang="en")
    query[field] = value
    status, body = _get(server.url, **query)
    assert status == 400 and json.loads(body)["message"].startswith(message)


# -- a real server, opt-in --------------------------------------------------------------------

@pytest.mark.engine
def test_real_gpt_sovits_server():
    url, ref = os.environ.get("DUBBER_GPT_SOVITS_URL"), os.environ.get("DUBBER_GPT_SOVITS_REF")
    if not url or not ref:
        pytest.skip("set DUBBER_GPT_SOVITS_URL (a running api_v2.py) and DUBBER_GPT_SOVITS_REF "
                    "(a 3-10 s clip; its transcript in DUBBER_GPT_SOVITS_REF_TEXT, language in "
                    "DUBBER_GPT_SOVITS_REF_LANG) to test a real GPT-SoVITS server")
    lang = os.environ.get("DUBBER_GPT_SOVITS_REF_LANG", "en")
    reference = Reference(Path(ref), os.environ.get("DUBBER_GPT_SOVITS_REF_TEXT", ""), lang)
    engine = GptSovitsEngine(url=url, allow_remote=True)
    request = SynthesisRequest("This line is spoken by a cloned voice.", "en", seed=1, reference=reference)
    natural = engine.synthesize(request)
    fast = engine.synthesize(replace(request, rate=1.4))
    assert natural.sample_rate in (24000, 32000, 48000)
    assert speech_span(natural.samples, natural.sample_rate) is not None
    assert fast.n_samples < natural.n_samples
