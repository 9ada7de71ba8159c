"""Lines rendered by parallel workers: cue order, checkpoints, the same samples for a seed, failures alone."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.config import Config, EngineSettings
from dubber.errors import EngineTimeout, SynthesisError, UsageError
from dubber.fitting.fitter import STATUS_FAILED, STATUS_OK
from dubber.pipeline import workers
from dubber.pipeline.dub import DubOptions, dub, fit_cues
from dubber.pipeline.workers import run_ordered, shared_plans, usable_workers
from dubber.plugin import registry
from dubber.plugin.engine import SynthesisRequest
from dubber.project.store import SpeakerEntry, load_project, project_path_for
from dubber.subtitles.cue import Cue
from dubber.subtitles.speakers import UNNAMED
from dubber.synthesis.guard import GuardPolicy, guard_engine
from dubber.voices.casting import SpeakerPlan
from tests.conftest import FrameToneEngine
from tests.dubber.pipeline.test_resume import WORDS, tone_lines


class SharedFrameTone(FrameToneEngine):
    """The frame-tone engine declaring overlapping calls safe, as the built-in engines do; a line with
    "broken" in it fails. With `meet`, its first call waits (a while) for a second one to arrive at the
    same time, and `overlapped` says whether one did."""

    name = "sharedtone"
    thread_safe = True

    def __init__(self, meet: bool = False) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._meeting = threading.Barrier(2, timeout=10) if meet else None
        self.overlapped = False

    def synthesize_frames(self, request, frames):  # type: ignore[no-untyped-def]
        if self._meeting is not None and not self._meeting.broken:
            try:
                self._meeting.wait()
                self.overlapped = True
            except threading.BrokenBarrierError:
                pass
            self._meeting.abort()  # one meeting is enough: later calls pass straight through
        if "broken" in request.text:
            raise RuntimeError("boom")
        with self._lock:  # the call count is read-modify-write
            return super().synthesize_frames(request, frames)


def plans_for(engine, voice: str = "a") -> dict[str, SpeakerPlan]:  # type: ignore[no-untyped-def]
    return {UNNAMED: SpeakerPlan(SpeakerEntry(UNNAMED, engine.name, voice), guard_engine(engine, GuardPolicy()))}


def cues(count: int, broken: int | None = None) -> list[Cue]:
    rows = []
    for i in range(count):
        text = f"{WORDS[i % len(WORDS)]} {WORDS[(3 * i + 1) % len(WORDS)]} {'broken' if i == broken else 'here'}."
        rows.append(Cue(i + 1, 1500 * i, 1500 * i + 1300, text))
    return rows


def take_digests(project: Path) -> dict[int, str]:
    """Each line's chosen take, as a digest of its samples."""
    out = {}
    for line in load_project(project).lines:
        samples, _ = media.read_wav(project.parent / line.take.audio)
        out[line.index] = hashlib.sha256(np.ascontiguousarray(samples).tobytes()).hexdigest()
    return out


# -- the pool ---------------------------------------------------------------------------------------


def test_results_come_back_in_order_and_finish_in_the_calling_thread():
    barrier = threading.Barrier(2, timeout=10)
    seen: list[tuple[int, str]] = []

    def work(i: int) -> int:
        if i < 2:
            barrier.wait()  # only returns when the first two run at once
        return i * i

    out = run_ordered(7, work, 2, lambda i, result: seen.append((result, threading.current_thread().name)))
    assert out == [i * i for i in range(7)]
    assert sorted(result for result, _ in seen) == out
    assert {name for _, name in seen} == {threading.current_thread().name}


def test_a_raising_job_stops_new_work_and_the_running_ones_are_still_reported():
    started: list[int] = []
    finished: list[int] = []
    gate = threading.Event()

    def work(i: int) -> int:
        started.append(i)
        if i == 1:
            raise ValueError("line 1")
        if i == 0:
            gate.wait(10)  # still running when line 1 fails
        return i

    def on_finished(i: int, result: int) -> None:
        finished.append(i)

    def fail_then_release(i: int) -> int:
        try:
            return work(i)
        finally:
            if i == 1:
                gate.set()

    with pytest.raises(ValueError, match="line 1"):
        run_ordered(10, fail_then_release, 2, on_finished)
    assert finished == [0]  # the line running beside the failure ends and is reported
    assert sorted(started) == [0, 1]  # nothing started after the failure


def test_one_worker_runs_everything_in_this_thread():
    names = []
    assert run_ordered(3, lambda i: names.append(threading.current_thread().name) or i, 1) == [0, 1, 2]
    assert set(names) == {threading.current_thread().name}


# -- in fit_cues --------------------------------------------------------------------------------------


def test_two_workers_give_the_same_lines_in_cue_order_and_a_failure_alone(tmp_path):
    runs = {}
    for count in (1, 2):
        engine = SharedFrameTone(meet=count == 2)
        project = tmp_path / f"w{count}" / "p.dubber.json"
        project.parent.mkdir()
        progress: list[int] = []
        results, entries = fit_cues(cues(9, broken=4), plans_for(engine), DubOptions(lang="en", workers=count),
                                    lambda done, total, cue: progress.append(done), project)
        assert [line.index for line, _ in results] == [entry.index for entry in entries] == list(range(1, 10))
        assert progress == list(range(1, 10))
        status = [line.status for line, _ in results]
        assert status[4] == STATUS_FAILED and "boom" in results[4][0].reason
        assert status[:4] + status[5:] == [STATUS_OK] * 8
        runs[count] = ([entry.take.audio for entry in entries], engine.overlapped)
    assert runs[1][0] == runs[2][0]  # the same takes (stored by their samples' digest), line by line
    assert runs[2][1]  # two lines were rendering at once


def test_an_engine_that_is_not_thread_safe_gets_one_worker():
    shared, single = SharedFrameTone(), FrameToneEngine()
    assert usable_workers(plans_for(shared), 2) == 2
    assert usable_workers(plans_for(single), 2) == 1
    assert usable_workers({**plans_for(shared), "other": plans_for(single)[UNNAMED]}, 4) == 1
    # The guard lets overlapping calls into the engine that takes them, and one at a time into the other.
    assert not guard_engine(shared).exclusive and guard_engine(single).exclusive


def test_shared_engines_get_the_cores_divided_whatever_the_workers_unless_configured(monkeypatch):
    made: list[tuple[str, object]] = []

    def get_engine(name, config=None):  # type: ignore[no-untyped-def]
        made.append((name, config.engine(name).get("threads")))
        return SharedFrameTone()

    monkeypatch.setattr(registry, "get_engine", get_engine)
    monkeypatch.setattr(workers, "cores", lambda: 8)
    assert workers.default_workers() == 4 and workers.session_threads() == 2
    plans = plans_for(SharedFrameTone())
    assert shared_plans(plans, None)[UNNAMED].engine is not plans[UNNAMED].engine
    assert made == [("sharedtone", 2)]
    config = Config(Path(), False, {"sharedtone": EngineSettings("sharedtone", {"threads": 3})})
    assert shared_plans(plans, config) == plans  # the config's own threads stay
    single = plans_for(FrameToneEngine())
    assert shared_plans(single, None) == single  # an engine that is not shared keeps its own
    assert len(made) == 1
    monkeypatch.setattr(workers, "cores", lambda: 2)
    assert workers.default_workers() == 2 and workers.session_threads() == 1


# -- a whole dub: checkpoints and the project ----------------------------------------------------------


@pytest.fixture
def clip(tmp_path, monkeypatch):
    engine = SharedFrameTone()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    video, subs, _ = tone_lines(tmp_path, 8, "eight")
    return video, subs, tmp_path


def test_the_project_is_whole_at_every_checkpoint_and_the_dub_matches_one_worker(clip):
    video, subs, root = clip
    stems = {}
    for count in (1, 2):
        out = root / f"w{count}" / "dub.mkv"
        project = project_path_for(out)
        seen: list[set[int]] = []

        def on_line(entry, project=project):  # type: ignore[no-untyped-def]
            done = {line.index for line in load_project(project).lines if line.take is not None}
            assert entry.index in done  # checkpointed before the watcher hears of it
            seen.append(done)

        result = dub(video, subs, out, DubOptions(lang="en", engine="sharedtone", mix="replace", workers=count),
                     stem_path=out.with_suffix(".wav"), on_line=on_line)
        assert [len(done) for done in seen] == list(range(1, 9))  # one more finished line at each checkpoint
        assert [line.index for line in result.lines] == list(range(1, 9))
        stems[count] = (media.read_wav(out.with_suffix(".wav"))[0], take_digests(project),
                        [(line.status, line.speech_start_ms, line.speech_end_ms) for line in result.lines])
    assert np.array_equal(stems[1][0], stems[2][0])
    assert stems[1][1:] == stems[2][1:]


def test_workers_flag_reaches_the_options_and_must_be_positive(capsys):
    from dubber.cli.main import _options, build_parser, main

    base = ["dub", "v.mp4", "s.srt", "-o", "o.mp4"]
    assert _options(build_parser().parse_args(base + ["--workers", "3"])).workers == 3
    assert _options(build_parser().parse_args(base)).workers == workers.default_workers()
    with pytest.raises(SystemExit) as exc:
        main(base + ["--workers", "0"])
    assert exc.value.code == 2 and "--workers" in capsys.readouterr().err


# -- the built-in engines: a threads setting, and the same samples on two workers ---------------------


def test_threads_setting_is_checked_and_reaches_the_engines():
    from dubber.models.kokoro import KokoroEngine
    from dubber.models.piper import PiperEngine

    assert PiperEngine.from_settings(EngineSettings("piper", {"threads": 1})).threads == 1
    assert KokoroEngine.from_settings(EngineSettings("kokoro", {"threads": 3})).threads == 3
    assert PiperEngine().threads >= 1
    with pytest.raises(UsageError, match="threads"):
        EngineSettings("piper", {"threads": 0}).check()


def test_piper_gives_the_same_samples_on_one_worker_and_two():
    pytest.importorskip("piper")
    from dubber.models.piper import PiperEngine

    texts = ["The tide is in.", "Ring the bell twice.", "North of the harbour, the mist.", "Hold the rope."]
    rows = [Cue(i + 1, 2000 * i, 2000 * i + 1200 + 150 * i, text) for i, text in enumerate(texts)]
    takes = {}
    for count in (1, 2):
        engine = PiperEngine(threads=workers.session_threads())  # as a dub opens it, whatever the workers
        results, _ = fit_cues(rows, plans_for(engine, "en_US-joe-medium"), DubOptions(lang="en", workers=count))
        assert [line.status for line, _ in results] == [STATUS_OK] * len(texts)
        takes[count] = [fit.samples for _, fit in results]
    assert all(np.array_equal(a, b) for a, b in zip(takes[1], takes[2], strict=True))
    # A plan made beside another line's is still its own line's: keyed by text and seed, not one slot.
    first, second = (SynthesisRequest(text, "en", seed=0) for text in texts[:2])
    frames = engine.plan(first).durations
    engine.plan(second)
    assert np.array_equal(engine.synthesize_frames(first, frames).samples, engine.synthesize(first).samples)


def test_a_failing_engine_call_is_a_synthesis_error_in_its_line_only():
    engine = SharedFrameTone()
    with pytest.raises(RuntimeError):
        engine.synthesize(SynthesisRequest("a broken line", "en"))
    results, _ = fit_cues(cues(4, broken=0), plans_for(engine), DubOptions(lang="en", workers=2))
    assert [line.status for line, _ in results] == [STATUS_FAILED] + [STATUS_OK] * 3
    assert SynthesisError.__name__ in results[0][0].reason


def test_a_shared_engine_takes_no_new_call_while_an_abandoned_one_runs():
    release = threading.Event()

    class Stuck(SharedFrameTone):
        def synthesize_frames(self, request, frames):  # type: ignore[no-untyped-def]
            if "stuck" in request.text:
                release.wait(10)
            return super().synthesize_frames(request, frames)

    engine = Stuck()
    guarded = guard_engine(engine, GuardPolicy(min_timeout_ms=300, timeout_factor=0, load_allowance_ms=0,
                                               abandoned_grace_ms=200))
    with pytest.raises(EngineTimeout, match="did not finish"):
        guarded.synthesize(SynthesisRequest("stuck line", "en"))
    calls = engine.calls
    with pytest.raises(EngineTimeout, match="still running a call abandoned"):
        guarded.synthesize(SynthesisRequest("next line", "en"))
    assert engine.calls == calls  # not entered: the abandoned call would have company on the cores
    release.set()
    assert guarded.synthesize(SynthesisRequest("next line", "en")).n_samples > 0


def test_a_dub_warms_its_engine_up_on_a_background_thread_as_the_workers_will_share_it(clip, monkeypatch):
    video, subs, root = clip
    warmed: list[tuple[str, object]] = []

    class Warming(SharedFrameTone):
        def warm_up(self) -> None:
            warmed.append((threading.current_thread().name, self.calls))

    engine = Warming()
    asked: list[object] = []

    def get_engine(name, config=None):  # type: ignore[no-untyped-def]
        asked.append(config.engine(name).get("threads") if config is not None else None)
        return engine

    monkeypatch.setattr(registry, "engine_class", lambda name: Warming)
    monkeypatch.setattr(registry, "get_engine", get_engine)
    monkeypatch.setattr(workers, "cores", lambda: 8)
    workers.warm_up("sharedtone", "en", None).join(10)
    assert warmed == [("dubber-warm-up", 0)] and asked == [2]  # with the threads `shared_plans` gives it
    dub(video, subs, root / "warm" / "dub.mkv", DubOptions(lang="en", engine="sharedtone", mix="replace"),
        overwrite=True)
    assert len(warmed) == 2 and warmed[1][0] == "dubber-warm-up"


def test_a_warm_up_that_fails_is_left_for_the_dub_to_report(monkeypatch):
    def unknown(name):  # type: ignore[no-untyped-def]
        raise registry.UnknownEngine(f"no engine named {name!r}", engine=name)

    monkeypatch.setattr(registry, "engine_class", unknown)
    thread = workers.warm_up("nope", "en", None)
    thread.join(10)
    assert not thread.is_alive()  # ended quietly: the dub's own call names the engine


def test_engines_asked_for_at_once_are_one_instance(monkeypatch):
    made = []

    class Slow(SharedFrameTone):
        def __init__(self) -> None:
            made.append(self)
            threading.Event().wait(0.05)  # a constructor slow enough for the callers to meet
            super().__init__()

    monkeypatch.setattr(registry, "engine_class", lambda name: Slow)
    monkeypatch.setattr(registry, "_instances", {})
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(registry.get_engine("slowtone"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(made) == 1 and len(got) == 4 and all(engine is made[0] for engine in got)
