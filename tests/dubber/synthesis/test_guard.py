"""The engine guard: timeouts, output checks and bounded retries, down to a dub whose other lines go on."""

from __future__ import annotations

import http.server
import socket
import threading
import time

import numpy as np
import pytest

from dubber.synthesis import guard as engine_guard

from dubber.audio import media
from dubber.audio.samples import samples_to_ms
from dubber.audio.speech import speech_span
from dubber.errors import EngineUnavailable, SynthesisError, UnknownVoice, UsageError
from dubber.fitting.fitter import STATUS_FAILED, STATUS_OK, fit_line
from dubber.pipeline.dub import DubOptions, dub, fit_cues
from dubber.plugin.engine import Capabilities, Engine, SynthesisRequest, Take
from dubber.plugin.http_client import Server, ServedEngine
from dubber.project.store import SpeakerEntry
from dubber.subtitles.cue import Cue
from dubber.subtitles.load import save_srt
from dubber.subtitles.speakers import UNNAMED
from dubber.synthesis.guard import EngineTimeout, GuardedEngine, GuardPolicy, guard_engine, is_transient
from dubber.voices.casting import SpeakerPlan

SR = 24000
# Fast: a hung call is given up on after 0.3 s, no load allowance, retries after 10 ms.
FAST = GuardPolicy(min_timeout_ms=300, timeout_factor=0, load_allowance_ms=0, abandoned_grace_ms=200, backoff_ms=10)


def speech(text: str, rate: float = 1.0, sr: int = SR) -> np.ndarray:
    """Tone bursts, one per word, 60 ms per character at rate 1, with pauses and a little lead and tail."""
    parts = [np.zeros(sr * 40 // 1000, np.float32)]
    for i, word in enumerate(text.split()):
        n = int(sr * 0.06 * len(word) / rate)
        t = np.arange(n) / sr
        parts.append((0.3 * np.sin(2 * np.pi * (180 + 40 * (i % 3)) * t) * np.hanning(n)).astype(np.float32))
        parts.append(np.zeros(int(sr * 0.12 / rate ** 0.5), np.float32))
    parts.append(np.zeros(sr * 80 // 1000, np.float32))
    return np.concatenate(parts)


class ScriptedEngine(Engine):
    """Each call does the next step of its script (the last repeats), or the step of a word in the text."""

    name = "scripted"
    capabilities = Capabilities(languages=("en",), sample_rate=SR, voices=("a",), default_voice={"en": "a"},
                                rate_range=(0.5, 2.0))

    def __init__(self, *script: str, faults: dict[str, str] | None = None,
                 release: threading.Event | None = None) -> None:
        self.script, self.faults, self.release = list(script) or ["ok"], faults or {}, release
        self.calls = 0
        self.blend_voices = lambda parts: "blend"  # an attribute the Engine base does not have

    def synthesize(self, request):
        voice = self.check_request(request)
        step = next((fault for word, fault in self.faults.items() if word in request.text.split()),
                    self.script[min(self.calls, len(self.script) - 1)])
        self.calls += 1
        return self.perform(step, request.text, voice, request.seed, request.rate)

    def perform(self, step: str, text: str, voice: str, seed: int, rate: float):
        samples, sr = speech(text, rate), SR
        if step == "hang":
            assert self.release is not None and self.release.wait(10)
        elif step == "raise":
            raise RuntimeError("boom")
        elif step == "connection":  # what dubber.plugin.http_client raises when a server cannot be reached
            raise SynthesisError("cannot reach the fake server", engine=self.name, text=text, url="http://127.0.0.1:9")
        elif step == "silence":
            samples = np.zeros_like(samples)
        elif step in ("nan", "inf"):
            samples[len(samples) // 2] = np.nan if step == "nan" else np.inf
        elif step == "empty":
            samples = samples[:0]
        elif step == "pcm":
            samples = samples * 32767
        elif step == "array":
            return samples
        elif step.startswith("rate"):  # "rate48000": the same speech, really rendered at that rate
            sr = int(step[4:])
            samples = speech(text, rate, sr) if sr >= 8000 else samples
        else:
            assert step == "ok", step
        return Take(samples, sr, text, engine=self.name, voice=voice, seed=seed, rate=rate)


@pytest.fixture
def release():
    """Lets hung engine calls end when the test does, so no thread outlives it."""
    event = threading.Event()
    yield event
    event.set()


def natural_ms(text: str) -> int:
    samples = speech(text)
    return samples_to_ms(speech_span(samples, SR).length, SR)


# -- the interface -----------------------------------------------------------------------------


def test_the_guard_has_the_engines_interface():
    inner = ScriptedEngine()
    guarded = guard_engine(inner, FAST)
    public = [name for name in dir(Engine) if not name.startswith("_")]
    wrappers = GuardedEngine.__mro__[:GuardedEngine.__mro__.index(Engine)]  # the guard and WrappedEngine
    assert public and all(any(name in klass.__dict__ for klass in wrappers) for name in public), \
        "an Engine member is not delegated"
    assert isinstance(guarded, Engine)
    assert (guarded.name, guarded.capabilities, guarded.takes_durations) == ("scripted", inner.capabilities, False)
    assert guarded.check_request(SynthesisRequest("hello", "en")) == "a"
    assert guarded.check_voice_choice("en", None) == "a"
    with pytest.raises(UnknownVoice):
        guarded.check_request(SynthesisRequest("hello", "en", "zz"))
    assert guarded.blend_voices([("a", 1.0)]) == "blend"  # anything else is the wrapped engine's
    assert guarded.availability() is None and guarded.unavailable_reason() is None
    assert guard_engine(guarded) is guarded and guard_engine(guarded, GuardPolicy()).inner is inner


def test_a_good_take_passes_through_once():
    inner = ScriptedEngine("ok")
    take = guard_engine(inner, FAST).synthesize(SynthesisRequest("hello there", "en", seed=3, rate=1.2))
    np.testing.assert_array_equal(take.samples, speech("hello there", 1.2))
    assert (take.sample_rate, take.seed, take.rate, inner.calls) == (SR, 3, 1.2, 1)


def test_native_engines_are_fitted_through_the_guard(frame_engine):
    natural = frame_engine.synthesize(SynthesisRequest("the quick brown fox jumps", "en"))
    target = round(samples_to_ms(speech_span(natural.samples, SR).length, SR) * 1.2)
    fit = fit_line(guard_engine(frame_engine, FAST), SynthesisRequest("the quick brown fox jumps", "en"), target)
    assert fit.status == STATUS_OK and fit.method.startswith("native")
    assert abs(fit.error_ms) <= 50 and frame_engine.calls >= 3


# -- faults ------------------------------------------------------------------------------------


def test_an_engine_that_raises_fails_at_once_with_the_reason():
    inner = ScriptedEngine("raise")
    with pytest.raises(SynthesisError) as caught:
        guard_engine(inner, FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert "RuntimeError: boom" in str(caught.value) and "(1 attempt; not retried)" in str(caught.value)
    assert caught.value.attempts == 1 and inner.calls == 1
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_request_errors_pass_through_unchanged():
    inner = ScriptedEngine("ok")
    with pytest.raises(UsageError) as caught:
        guard_engine(inner, FAST).synthesize(SynthesisRequest("hello there", "en", rate=5.0))
    assert str(caught.value) == "rate 5.0 is outside scripted's range 0.5-2.0" and inner.calls == 0


@pytest.mark.parametrize("step, fault, message", [
    ("silence", "silence", "returned silence (peak -inf dBFS, below -60)"),
    ("nan", "nan", "returned NaN/inf samples (1 of"),
    ("inf", "nan", "returned NaN/inf samples (1 of"),
    ("empty", "empty", "returned no samples"),
])
def test_unusable_takes_are_retried_then_fail(step, fault, message):
    inner = ScriptedEngine(step)
    with pytest.raises(SynthesisError) as caught:
        guard_engine(inner, FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert message in str(caught.value) and str(caught.value).endswith("(gave up after 3 attempts)")
    assert inner.calls == 3 and caught.value.fault == fault and caught.value.attempts == 3


@pytest.mark.parametrize("step, message", [
    ("pcm", "far outside [-1, 1] (peak 9"),
    ("array", "returned ndarray, not a Take"),
    ("rate1000", "at 1000 Hz (it declares 24000 Hz)"),
])
def test_wrong_kinds_of_output_are_not_retried(step, message):
    inner = ScriptedEngine(step)
    with pytest.raises(SynthesisError) as caught:
        guard_engine(inner, FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert message in str(caught.value) and "(1 attempt; not retried)" in str(caught.value)
    assert inner.calls == 1


def test_a_take_at_another_real_rate_is_fitted_at_its_own_rate():
    inner = ScriptedEngine("rate48000")  # declares 24 kHz, truthfully answers at 48 kHz (like GPT-SoVITS v3/v4)
    text = "we meet at the station"
    target = natural_ms(text) + 150
    fit = fit_line(guard_engine(inner, FAST), SynthesisRequest(text, "en"), target)
    assert fit.sample_rate == 48000 and fit.status == STATUS_OK and abs(fit.error_ms) <= 50

    with pytest.raises(SynthesisError) as caught:
        guard_engine(ScriptedEngine("rate48000"), GuardPolicy(strict_rate=True)).synthesize(
            SynthesisRequest(text, "en"))
    n = speech(text, 1.0, 48000).size
    assert (f"at 48000 Hz, not the 24000 Hz it declares (read at 24000 Hz its {n * 1000 // 48000} ms would last "
            f"{n * 1000 // 24000} ms)") in str(caught.value)


@pytest.mark.parametrize("step", ["connection", "silence"])
def test_a_flaky_engine_succeeds_within_its_retries(step):
    inner = ScriptedEngine(step, step, "ok")
    policy = GuardPolicy(min_timeout_ms=300, timeout_factor=0, load_allowance_ms=0, backoff_ms=50)
    started = time.monotonic()
    take = guard_engine(inner, policy).synthesize(SynthesisRequest("hello there", "en"))
    elapsed = time.monotonic() - started
    assert inner.calls == 3 and speech_span(take.samples, take.sample_rate) is not None
    assert 0.15 <= elapsed < 2  # backed off 50 ms, then 100 ms

    inner = ScriptedEngine(step, step, "ok")
    with pytest.raises(SynthesisError) as caught:
        guard_engine(inner, GuardPolicy(retries=1, backoff_ms=10)).synthesize(SynthesisRequest("hello there", "en"))
    assert str(caught.value).endswith("(gave up after 2 attempts)") and inner.calls == 2


# -- timeouts ----------------------------------------------------------------------------------


def test_a_hung_engine_times_out_and_is_not_entered_again_until_it_ends(release):
    inner = ScriptedEngine("hang", "ok", release=release)
    guarded = guard_engine(inner, FAST)
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as caught:
        guarded.synthesize(SynthesisRequest("hello there", "en"))
    elapsed = time.monotonic() - started
    assert 0.28 <= elapsed < 1.5 and inner.calls == 1  # not retried
    assert "did not finish 'hello there' within 0.3 s" in str(caught.value)
    assert str(caught.value).endswith("(1 attempt; not retried)")

    # Another guard of the same engine instance waits the grace period, then fails without calling it.
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as caught:
        guard_engine(inner, FAST).synthesize(SynthesisRequest("next line", "en"))
    elapsed = time.monotonic() - started
    assert 0.18 <= elapsed < 1.2 and inner.calls == 1
    assert "still running a call abandoned after its timeout (on 'hello there')" in str(caught.value)
    assert "(0 attempts; not retried)" in str(caught.value)

    release.set()  # the abandoned call ends: the engine is used again
    take = guarded.synthesize(SynthesisRequest("next line", "en"))
    assert inner.calls == 2 and take.n_samples == speech("next line").size


def test_the_first_call_gets_the_load_allowance(release):
    inner = ScriptedEngine("hang", "ok", "hang", release=release)
    guarded = guard_engine(inner, GuardPolicy(min_timeout_ms=300, timeout_factor=0, load_allowance_ms=400,
                                              abandoned_grace_ms=2000))
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match="within 0.7 s"):
        guarded.synthesize(SynthesisRequest("hello there", "en"))
    assert 0.65 <= time.monotonic() - started < 1.5
    release.set()
    guarded.synthesize(SynthesisRequest("hello there", "en"))  # waits for the abandoned call, then succeeds: proven
    release.clear()
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match=r"within 0.3 s \(the time cap of one call\)"):
        guarded.synthesize(SynthesisRequest("hello there", "en"))
    assert 0.28 <= time.monotonic() - started < 0.65


def test_the_timeout_grows_with_the_audio_asked_for():
    policy = GuardPolicy()
    assert policy.timeout_ms_for("short") == 30_000
    assert policy.timeout_ms_for("x" * 100) == 100_000  # 10 s of speech at 100 ms a character
    assert policy.timeout_ms_for("x" * 100, rate=2.0) == 50_000
    assert policy.timeout_ms_for("hi", target_ms=8000) == 80_000
    assert policy.timeout_ms_for("hi", frames_ms=4500) == 45_000
    with pytest.raises(UsageError):
        GuardPolicy(min_timeout_ms=0)


def test_the_timeout_of_one_call_is_capped_however_long_the_text():
    policy = GuardPolicy()
    assert policy.timeout_ms_for("x" * 1000) == 600_000  # not 1,000 s for a 1,000-character line
    assert policy.timeout_ms_for("hi", target_ms=3_600_000) == policy.max_timeout_ms
    assert GuardPolicy(max_timeout_ms=60_000).timeout_ms_for("x" * 1000) == 60_000
    with pytest.raises(UsageError, match="time cap"):
        GuardPolicy(min_timeout_ms=30_000, max_timeout_ms=10_000)


class HangingServedEngine(ServedEngine):
    """A served engine whose first call hangs; a server queues requests, so it is not serialised."""

    name = "served"
    capabilities = ScriptedEngine.capabilities

    def __init__(self, release: threading.Event, timeout_ms: int) -> None:
        self.server = Server(engine=self.name, label="Fake", url="http://127.0.0.1:9", start_hint="start it",
                             timeout_ms=timeout_ms)
        self.inner = ScriptedEngine("hang", "ok", release=release)

    def synthesize(self, request):
        return self.inner.synthesize(request)


def test_a_served_engine_waits_for_its_server_timeout_and_is_called_again_at_once(release, monkeypatch):
    monkeypatch.setattr(engine_guard, "SERVED_GRACE_MS", 0)
    served = HangingServedEngine(release, timeout_ms=500)
    guarded = guard_engine(served, FAST)
    assert not guarded.exclusive
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match="within 0.5 s"):  # its own HTTP timeout is the floor
        guarded.synthesize(SynthesisRequest("hello there", "en"))
    assert 0.48 <= time.monotonic() - started < 1.2
    # Served at once: serialised, it would wait, then fail.
    take = guarded.synthesize(SynthesisRequest("next line", "en"))
    assert take.n_samples == speech("next line").size and not release.is_set() and served.inner.calls == 2


# -- what counts as transient, on a real HTTP server -------------------------------------------


class _FlakyHandler(http.server.BaseHTTPRequestHandler):
    statuses: list[int] = []
    seen: list[int] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = self.statuses[min(len(self.seen), len(self.statuses) - 1)]
        self.seen.append(status)
        body = speech("hello there").astype("<f4").tobytes() if status == 200 else b'{"detail": "busy"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HttpEngine(ServedEngine):
    """Asks a local HTTP server for float32 samples, through dubber's own HTTP client."""

    name = "http"
    capabilities = ScriptedEngine.capabilities

    def __init__(self, url: str) -> None:
        self.server = Server(engine=self.name, label="Fake", url=url, start_hint="start it", timeout_ms=2000)

    def synthesize(self, request):
        answer = self.server.call("/tts", b"{}", "application/json", text=request.text)
        return Take(np.frombuffer(answer.body, "<f4"), SR, request.text, engine=self.name)


@pytest.fixture
def flaky_server():
    def serve(*statuses: int) -> tuple[str, list[int]]:
        handler = type("Handler", (_FlakyHandler,), {"statuses": list(statuses), "seen": []})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", handler.seen

    servers: list[http.server.ThreadingHTTPServer] = []
    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_server_errors_are_retried_and_request_errors_are_not(flaky_server):
    url, seen = flaky_server(503, 500, 200)
    take = guard_engine(HttpEngine(url), FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert seen == [503, 500, 200] and take.n_samples == speech("hello there").size

    url, seen = flaky_server(400, 200)
    with pytest.raises(SynthesisError, match=r"HTTP 400 .*busy \(1 attempt; not retried\)") as caught:
        guard_engine(HttpEngine(url), FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert seen == [400] and caught.value.status == 400


def test_a_refused_connection_is_retried_then_named():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EngineUnavailable) as caught:
        guard_engine(HttpEngine(f"http://127.0.0.1:{port}"), FAST).synthesize(SynthesisRequest("hello there", "en"))
    assert "connection refused" in str(caught.value) and str(caught.value).endswith("(gave up after 3 attempts)")
    assert caught.value.attempts == 3 and caught.value.hint == "start it"


@pytest.mark.parametrize("error, transient", [
    (SynthesisError("x", status=503, url="u"), True),
    (SynthesisError("x", status=429, url="u"), True),
    (SynthesisError("x", status=404, url="u"), False),
    (SynthesisError("x", status=302, url="u"), False),
    (SynthesisError("x", timeout_ms=1000, text="t"), False),
    (SynthesisError("x", url="u"), True),
    (EngineUnavailable("x", hint="install it"), False),
    (EngineTimeout("x", url="u"), False),
    (SynthesisError("x", fault="silence", transient=True), True),
    (ConnectionResetError(), True),
    (ValueError("x"), False),
])
def test_what_counts_as_transient(error, transient):
    assert is_transient(error) is transient


# -- in a dub: the faulty line fails with its reason, the others go on --------------------------


def plan(engine: Engine, policy: GuardPolicy = FAST) -> dict[str, SpeakerPlan]:
    return {UNNAMED: SpeakerPlan(SpeakerEntry(UNNAMED, engine.name, "a"), guard_engine(engine, policy))}


def cues(*texts: str) -> list[Cue]:
    return [Cue(i + 1, 2000 * i, 2000 * i + natural_ms(text), text) for i, text in enumerate(texts)]


def test_fit_cues_fails_only_the_faulty_lines(release):
    inner = ScriptedEngine("ok", faults={"broken": "raise", "quiet": "silence", "stuck": "hang"}, release=release)
    lines = ["first line here", "broken line here", "quiet line here", "stuck line here", "last line here"]

    def progress(done: int, total: int, cue: Cue) -> None:
        if cue.text.startswith("stuck"):
            release.set()  # the abandoned call ends while the next line waits for it

    started = time.monotonic()
    policy = GuardPolicy(min_timeout_ms=300, timeout_factor=0, load_allowance_ms=0, abandoned_grace_ms=3000,
                         backoff_ms=10)
    results, entries = fit_cues(cues(*lines), plan(inner, policy), DubOptions(lang="en", engine_guard=policy),
                                progress)
    assert time.monotonic() - started < 5
    status = {line.text: (line.status, line.reason) for line, _ in results}
    assert status["first line here"][0] == status["last line here"][0] == STATUS_OK
    assert status["broken line here"] == (STATUS_FAILED, "SynthesisError: engine 'scripted' failed on "
                                          "'broken line here': RuntimeError: boom (1 attempt; not retried)")
    assert status["quiet line here"][0] == STATUS_FAILED
    quiet = status["quiet line here"][1]
    assert "returned silence" in quiet and quiet.endswith("(gave up after 3 attempts)")
    assert status["stuck line here"][0] == STATUS_FAILED
    assert status["stuck line here"][1].startswith("EngineTimeout: engine 'scripted' did not finish 'stuck line here'")
    assert [entry.take.status for entry in entries] == [STATUS_OK, STATUS_FAILED, STATUS_FAILED, STATUS_FAILED,
                                                        STATUS_OK]


def test_lines_after_an_engine_that_stays_hung_fail_fast(release):
    inner = ScriptedEngine("ok", faults={"stuck": "hang"}, release=release)
    texts = ["first line here", "stuck line here", "third line here", "fourth line here"]
    started = time.monotonic()
    results, _ = fit_cues(cues(*texts), plan(inner), DubOptions(lang="en", engine_guard=FAST))
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 + 2 * 0.2 + 1.0  # the timeout, then at most the grace period per later line
    reasons = [line.reason for line, _ in results]
    assert [line.status for line, _ in results] == [STATUS_OK] + [STATUS_FAILED] * 3
    assert all("still running a call abandoned after its timeout (on 'stuck line here')" in r for r in reasons[2:])
    assert inner.calls == 2


def test_dub_marks_the_faulty_line_failed_and_keeps_the_others(tmp_path, monkeypatch):
    from dubber.plugin import registry

    inner = ScriptedEngine("ok", faults={"broken": "nan"})
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: guard_engine(inner, FAST))
    texts = ["first line here", "broken line here", "last line here"]
    rows = [(c.start_ms, c.end_ms, c.text) for c in cues(*texts)]
    video = media.make_test_video(tmp_path / "clip.mp4", 6500, None, 48000)
    save_srt(tmp_path / "clip.srt", rows)
    result = dub(video, tmp_path / "clip.srt", tmp_path / "out.mkv",
                 DubOptions(lang="en", engine="scripted", mix="replace"))
    status = {line.text: (line.status, line.reason) for line in result.lines}
    assert status["first line here"][0] == status["last line here"][0] == STATUS_OK
    assert status["broken line here"][0] == STATUS_FAILED
    assert "returned NaN/inf samples" in status["broken line here"][1]
    assert "gave up after 3 attempts" in status["broken line here"][1]
    assert result.summary["by_status"] == {STATUS_FAILED: 1, STATUS_OK: 2}
    info = media.probe(tmp_path / "out.mkv")
    assert info.audio_streams and abs(info.duration_ms - 6500) < 200
