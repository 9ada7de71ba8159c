"""Guard every synthesis call to an engine: a timeout, a check of what came back, bounded retries.

`GuardedEngine` wraps an engine and has its interface (name, capabilities, every Engine method,
and any other attribute of the wrapped engine), so `fit_line` and everything else use it
unchanged. For each `synthesize` / `synthesize_frames` call it:

- runs the call in a daemon worker thread and waits at most `GuardPolicy.timeout_ms_for(...)`:
  max(`min_timeout_ms`, `timeout_factor` x the audio asked for), the audio asked for being the
  target, the frames given, or the text's length at `ms_per_char`, and never more than
  `max_timeout_ms` (the time cap of one call, however long the text). Until one call has returned the
  engine may still be loading its model: `load_allowance_ms` is added. A served engine's own HTTP
  timeout is the floor (plus a little), so its clearer message comes first. On timeout it raises
  `EngineTimeout` and abandons the thread: Python cannot stop a thread.
- checks the take: a `Take`, non-empty, 1-D, finite (no NaN/inf), not silent (peak at or above
  `silence_dbfs`), not far outside [-1, 1] (`max_peak`: unscaled PCM), at a real audio rate.
- retries transient failures (`is_transient`: HTTP connection errors, 5xx/408/429 answers, cut
  short answers, silent/NaN/inf/empty takes) up to `retries` more times with a short doubling
  backoff. Timeouts and other errors are not retried. The final error says how many attempts ran.

Sample rate. `Take.sample_rate` is authoritative: the fitter measures and the timeline resamples
each take at its own rate, and served engines such as GPT-SoVITS v3/v4 truthfully answer at a
rate other than the one they declare. So a take at another plausible rate (8-192 kHz, whole Hz)
than `capabilities.sample_rate` is accepted; an implausible rate (its duration would be nonsense)
is an error naming both rates, and `GuardPolicy(strict_rate=True)` makes any mismatch one.

Abandoned calls. An in-process engine (ONNX session, torch model, Python state) must not be
entered again while an abandoned call still runs in it, so calls to one such engine are
serialised: a call waits for the one before it (abandoned or not) and, while an abandoned call
is still running, waits at most `abandoned_grace_ms` for it to end, then fails at once with
`EngineTimeout` without calling the engine. When the abandoned call ends the engine is used
again. An engine that declares `thread_safe` (the built-in ONNX ones) is not serialised: parallel
line workers share it. Nor is a served engine (`ServedEngine`, HTTP): the abandoned request runs out
on its own socket timeout, and the server queues the next one. The state is kept per wrapped engine
instance, so every guard around one shared registry engine sees the same abandoned call.

Errors the request itself causes (UsageError, UnknownVoice, UnsupportedLanguage) pass through
unchanged; other dubber errors keep their type with the attempt count added to the message;
foreign exceptions become `SynthesisError` naming their type.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dubber.errors import (
    DubberError,
    EngineTimeout,
    EngineUnavailable,
    SynthesisError,
    UnknownVoice,
    UnsupportedLanguage,
    UsageError,
)
from dubber.plugin.engine import Capabilities, Emotion, Engine, Reference, SynthesisRequest, Take, Timing
from dubber.plugin.http_client import ServedEngine

MIN_RATE = 8000  # below this no speech engine answers: the rate (and so the duration) is wrong
MAX_RATE = 192000
SERVED_GRACE_MS = 5000  # past a served engine's own HTTP timeout, so its own message comes first
REQUEST_ERRORS = (UsageError, UnknownVoice, UnsupportedLanguage)  # the request is wrong, not the engine
RETRY_STATUSES = (408, 429)  # besides 5xx: the server may answer next time


@dataclass(frozen=True)
class GuardPolicy:
    """How long to wait for an engine, how much to retry, and what output counts as unusable."""

    min_timeout_ms: int = 30_000
    timeout_factor: float = 10.0  # x the audio asked for
    ms_per_char: int = 100  # a slow speaking pace: estimates the audio asked for from the text
    max_timeout_ms: int = 600_000  # the time cap of one call, whatever it asks for (load allowance aside)
    load_allowance_ms: int = 300_000  # added until a call first returns (the model may be loading)
    abandoned_grace_ms: int = 30_000  # how long a call waits for an abandoned one to end (in-process engines)
    retries: int = 2  # further attempts after a transient failure
    backoff_ms: int = 250  # before the first retry; doubled for each next one
    silence_dbfs: float = -60.0  # a take whose peak stays below this is silence
    max_peak: float = 4.0  # a peak above this (+12 dBFS) is unscaled PCM, not float audio
    strict_rate: bool = False  # also reject a plausible rate other than the declared one

    def __post_init__(self) -> None:
        if self.min_timeout_ms <= 0 or self.timeout_factor < 0 or self.ms_per_char < 0:
            raise UsageError(f"engine timeouts must be positive: {self}")
        if self.max_timeout_ms < self.min_timeout_ms:
            raise UsageError(f"the engine time cap cannot be below the shortest timeout: {self}")
        if self.retries < 0 or self.backoff_ms < 0 or self.load_allowance_ms < 0 or self.abandoned_grace_ms < 0:
            raise UsageError(f"engine retries, backoff and allowances cannot be negative: {self}")

    def timeout_ms_for(self, text: str, rate: float = 1.0, target_ms: int | None = None,
                       frames_ms: int | None = None) -> int:
        """Return the timeout for one call asking for `text` (at `rate`), a target, or frames lasting `frames_ms`."""
        asked_ms = len(text) * self.ms_per_char / max(rate, 0.1)
        asked_ms = max(asked_ms, target_ms or 0, frames_ms or 0)
        return min(self.max_timeout_ms, max(self.min_timeout_ms, round(self.timeout_factor * asked_ms)))


@dataclass
class _EngineState:
    """What every guard of one engine instance shares."""

    busy: threading.Lock = field(default_factory=threading.Lock)  # held while an in-process call runs
    abandoned: threading.Thread | None = None  # the last call given up on, maybe still running
    abandoned_text: str = ""
    proven: bool = False  # a call has returned: the model is loaded


_states: weakref.WeakKeyDictionary[Engine, _EngineState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def _state_of(engine: Engine) -> _EngineState | None:
    with _states_lock:
        try:
            return _states.setdefault(engine, _EngineState())
        except TypeError:  # unhashable or not weak-referenceable: the guard keeps its own
            return None


class Delegated:
    """An Engine classmethod that, asked on a wrapper, answers for the wrapped engine."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, guard: WrappedEngine | None, owner: type | None = None) -> Any:
        if guard is None:
            return getattr(Engine, self.name)
        return getattr(guard.inner, self.name)


class WrappedEngine(Engine):
    """An engine around another (`inner`): the wrapped engine's interface, delegated.

    Subclasses (the guard, the request limit) set `inner` and override the calls they change.
    """

    inner: Engine

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.inner.name

    @property  # type: ignore[override]
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def takes_durations(self) -> bool:
        return self.inner.takes_durations

    @property  # type: ignore[override]
    def thread_safe(self) -> bool:
        return self.inner.thread_safe

    from_settings = Delegated()
    unavailable_reason = Delegated()
    availability = Delegated()

    def check_frames(self, text: str, phonemes: str, frames: np.ndarray) -> np.ndarray:
        return self.inner.check_frames(text, phonemes, frames)

    def need_reference(self, reference: Reference | None, what: str = "") -> Reference:
        return self.inner.need_reference(reference, what)

    def check_voice_choice(self, lang: str, voice: str | None, reference: Reference | None = None,
                           emotion: Emotion | None = None) -> str:
        return self.inner.check_voice_choice(lang, voice, reference, emotion)

    def check_request(self, request: SynthesisRequest) -> str:
        return self.inner.check_request(request)

    def estimate_speech_ms(self, text: str, lang: str, voice: str | None = None) -> int | None:
        return self.inner.estimate_speech_ms(text, lang, voice)

    def plan(self, request: SynthesisRequest) -> Timing | None:
        return self.inner.plan(request)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def __getattr__(self, attr: str) -> Any:
        if attr == "inner":  # not set yet (copying, unpickling): do not recurse
            raise AttributeError(attr)
        return getattr(self.inner, attr)


class GuardedEngine(WrappedEngine):
    """An engine whose synthesis calls are timed out, checked and retried (see the module docstring)."""

    def __init__(self, engine: Engine, policy: GuardPolicy | None = None, exclusive: bool | None = None) -> None:
        if isinstance(engine, GuardedEngine):
            engine = engine.inner
        self.inner = engine
        self.policy = policy or GuardPolicy()
        # In-process engines are entered by one call at a time, unless they say calls may overlap; servers
        # queue requests themselves.
        if exclusive is None:
            exclusive = not isinstance(engine, ServedEngine) and not engine.thread_safe
        self.exclusive = exclusive
        # An in-process engine that takes overlapping calls still takes no new one while a call given
        # up on runs in it (waiting as an exclusive one does): abandoned calls must not pile up on its cores.
        self._tracks_abandoned = exclusive or (not isinstance(engine, ServedEngine) and engine.thread_safe)
        self._state = _state_of(engine) or _EngineState()

    def __repr__(self) -> str:
        return f"GuardedEngine({self.inner!r})"

    # -- guarded synthesis -------------------------------------------------------------------

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Speak the request through the wrapped engine, within a timeout, checked, retrying transient faults."""
        timeout_ms = self.policy.timeout_ms_for(request.text, request.rate, target_ms=request.target_ms)
        return self._guarded(request.text, timeout_ms, lambda: self.inner.synthesize(request))

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        """Render the request with exactly `frames` through the wrapped engine, guarded like `synthesize`."""
        caps = self.capabilities
        frames_ms = (int(np.asarray(frames).sum()) * caps.duration_step_samples * 1000 // caps.sample_rate
                     if caps.duration_step_samples else None)
        timeout_ms = self.policy.timeout_ms_for(request.text, frames_ms=frames_ms)
        return self._guarded(request.text, timeout_ms, lambda: self.inner.synthesize_frames(request, frames))

    def plan(self, request: SynthesisRequest) -> Timing | None:
        """Plan the request through the wrapped engine within a timeout, entering it as a synthesis call does."""
        timeout_ms = self.policy.timeout_ms_for(request.text, request.rate)
        try:
            self._acquire(request.text)
            timing = self._run(lambda: self.inner.plan(request), request.text, self._full_timeout(timeout_ms))
        except REQUEST_ERRORS:
            raise
        except Exception as exc:
            raise _with_attempts(exc, self.name, request.text, 1, retried_out=False) from exc
        self._state.proven = True
        return timing

    def _guarded(self, text: str, timeout_ms: int, call: Callable[[], Take]) -> Take:
        """Make the call, retrying transient failures; raise the last failure with the attempt count."""
        attempts, retries = 0, self.policy.retries
        while True:
            if attempts:
                time.sleep(self.policy.backoff_ms * 2 ** (attempts - 1) / 1000)
            try:
                attempts += self._acquire(text)
                take = self._run(call, text, self._full_timeout(timeout_ms))
                self._state.proven = True  # the call returned: whatever it loads is loaded
                self.check_take(take, text)
            except REQUEST_ERRORS:
                raise
            except Exception as exc:
                if is_transient(exc) and attempts <= retries:
                    continue
                raise _with_attempts(exc, self.name, text, attempts, retried_out=is_transient(exc)) from exc
            return take

    def _full_timeout(self, timeout_ms: int) -> int:
        server = getattr(self.inner, "server", None)
        served_ms = getattr(server, "timeout_ms", None)
        if isinstance(served_ms, int) and served_ms > 0:
            timeout_ms = max(timeout_ms, served_ms + SERVED_GRACE_MS)
        return timeout_ms + (0 if self._state.proven else self.policy.load_allowance_ms)

    def _acquire(self, text: str) -> int:
        """Take the engine for one call (in-process engines: one call at a time) and count the attempt."""
        state = self._state
        running = state.abandoned is not None and state.abandoned.is_alive()
        if not self.exclusive:
            if running and self._tracks_abandoned:
                state.abandoned.join(self.policy.abandoned_grace_ms / 1000)  # type: ignore[union-attr]
                if state.abandoned is not None and state.abandoned.is_alive():
                    raise self._still_abandoned(text)
            return 1
        # A call that was given up on gets a grace period; a live call by another thread its own timeout.
        wait_ms = self.policy.abandoned_grace_ms if running else self._full_timeout(self.policy.min_timeout_ms)
        if not state.busy.acquire(timeout=wait_ms / 1000):
            if state.abandoned is not None and state.abandoned.is_alive():
                raise self._still_abandoned(text)
            raise EngineTimeout(f"engine {self.name!r} stayed busy with another call for {wait_ms / 1000:g} s",
                                engine=self.name, text=text)
        return 1

    def _still_abandoned(self, text: str) -> EngineTimeout:
        state = self._state
        return EngineTimeout(f"engine {self.name!r} is still running a call abandoned after its timeout "
                             f"(on {_short(state.abandoned_text)!r}); it is not called again until that call ends",
                             engine=self.name, text=text, abandoned_text=state.abandoned_text)

    def _run(self, call: Callable[[], Any], text: str, timeout_ms: int) -> Any:
        """Run `call` in a worker thread and wait at most `timeout_ms` for it."""
        outcome: dict[str, Any] = {}
        done = threading.Event()
        state, exclusive = self._state, self.exclusive

        def work() -> None:
            try:
                outcome["take"] = call()
            except BaseException as exc:  # carried to the waiting thread
                outcome["error"] = exc
            finally:
                if exclusive:
                    state.busy.release()  # an abandoned call frees the engine when it finally ends
                done.set()

        worker = threading.Thread(target=work, name=f"engine-{self.name}", daemon=True)
        try:
            worker.start()
        except BaseException:
            if exclusive:
                state.busy.release()
            raise
        try:
            done.wait(timeout_ms / 1000)
        finally:
            if not done.is_set() and self._tracks_abandoned:  # timed out or interrupted: the engine is left running
                state.abandoned, state.abandoned_text = worker, text
        if not done.is_set():
            later = (f"; later calls wait up to {self.policy.abandoned_grace_ms / 1000:g} s for it to end"
                     if self._tracks_abandoned else "")
            raise EngineTimeout(f"engine {self.name!r} did not finish {_short(text)!r} within "
                                f"{timeout_ms / 1000:g} s (the time cap of one call); the call was abandoned{later}",
                                engine=self.name, text=text, timeout_ms=timeout_ms, limit="time")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["take"]

    def check_take(self, take: object, text: str) -> Take:
        """Return the take if it is usable audio, else raise SynthesisError saying what is wrong with it."""
        name, caps, policy = self.name, self.capabilities, self.policy

        def fault(message: str, kind: str, transient: bool) -> SynthesisError:
            return SynthesisError(f"engine {name!r} {message} for {_short(text)!r}", engine=name, text=text,
                                  fault=kind, transient=transient)

        if not isinstance(take, Take):
            raise fault(f"returned {type(take).__name__}, not a Take,", "not_a_take", False)
        samples = take.samples
        if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
            raise fault(f"returned {samples.dtype} samples of shape {samples.shape}, not mono float audio,",
                        "shape", False)
        if samples.size == 0:
            raise fault("returned no samples", "empty", True)
        if not np.all(np.isfinite(samples)):
            bad = int(np.count_nonzero(~np.isfinite(samples)))
            raise fault(f"returned NaN/inf samples ({bad} of {samples.size})", "nan", True)
        peak = float(np.max(np.abs(samples)))
        peak_dbfs = 20 * np.log10(peak) if peak > 0 else float("-inf")
        if peak_dbfs < policy.silence_dbfs:
            raise fault(f"returned silence (peak {peak_dbfs:.1f} dBFS, below {policy.silence_dbfs:g})",
                        "silence", True)
        if peak > policy.max_peak:
            raise fault(f"returned samples far outside [-1, 1] (peak {peak:g}: PCM not scaled to float?)",
                        "peak", False)
        rate, declared = take.sample_rate, caps.sample_rate
        whole = isinstance(rate, (int, np.integer)) or (isinstance(rate, float) and rate.is_integer())
        if not whole or not MIN_RATE <= rate <= MAX_RATE:
            raise fault(f"returned audio at {rate} Hz (it declares {declared} Hz), not a real audio rate: "
                        f"its duration cannot be trusted", "sample_rate", False)
        if policy.strict_rate and rate != declared:
            heard_ms = samples.size * 1000 // declared
            raise fault(f"returned audio at {rate} Hz, not the {declared} Hz it declares (read at {declared} Hz "
                        f"its {take.duration_ms} ms would last {heard_ms} ms)", "sample_rate", False)
        return take


def guard_engine(engine: Engine, policy: GuardPolicy | None = None) -> GuardedEngine:
    """Return `engine` guarded (an already guarded engine as it is, or re-guarded by another policy)."""
    if isinstance(engine, GuardedEngine):
        if policy is None or policy == engine.policy:
            return engine
        engine = engine.inner  # one guard, never a guard around a guard
    return GuardedEngine(engine, policy)


def is_transient(exc: BaseException) -> bool:
    """Say whether a new attempt might succeed where `exc` failed."""
    if isinstance(exc, EngineTimeout):
        return False  # a retry would wait as long again, on an engine that may still be busy
    if isinstance(exc, DubberError):
        details = exc.details
        if "transient" in details:
            return bool(details["transient"])
        if "timeout_ms" in details:  # the server's own timeout
            return False
        if "status" in details:  # an HTTP answer: the server's fault may pass, the request's will not
            status = int(details["status"])
            return status >= 500 or status in RETRY_STATUSES
        # A server refusing, unreachable, or breaking off its answer (dubber.plugin.http_client).
        return "url" in details and isinstance(exc, (SynthesisError, EngineUnavailable))
    return isinstance(exc, ConnectionError)


def _short(text: str, keep: int = 80) -> str:
    """The text as an error message quotes it: a long line cut in the middle."""
    return text if len(text) <= keep else f"{text[:keep // 2]}…{text[-keep // 2:]}"


def _with_attempts(exc: Exception, engine: str, text: str, attempts: int, retried_out: bool) -> DubberError:
    """Return the error to raise for the last failure, its message saying how many attempts were made."""
    count = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    suffix = f" (gave up after {count})" if retried_out else f" ({count}; not retried)"
    if isinstance(exc, DubberError):
        error = type(exc).__new__(type(exc))  # same type and details, as `dubber.errors` rebuilds them
        DubberError.__init__(error, exc.message + suffix, **{**exc.details, "attempts": attempts})
        return error
    return SynthesisError(f"engine {engine!r} failed on {_short(text)!r}: {type(exc).__name__}: {exc}{suffix}",
                          engine=engine, text=text, attempts=attempts)
