"""Kill a 100-line dub with SIGKILL at random points: no finished take is lost, every project on disk
loads, a re-run renders only what is missing, and the result equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.speech import speech_span
from dubber.plugin.engine import SynthesisRequest
from dubber.project.store import load_project, project_path_for
from dubber.subtitles.load import save_srt
from tests.conftest import FrameToneEngine

WORKER = Path(__file__).with_name("resume_worker.py")
ROOT = Path(__file__).resolve().parents[3]
RATE = 48000
LINES = 100
KILLS = 10
WORDS = ["harbour", "lantern", "tide", "morning", "rope", "gull", "sail", "north", "bell", "stone", "anchor", "mist"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@pytest.fixture(scope="module")
def media_pair(tmp_path_factory):
    """A 100-cue SRT, each slot near its text's natural length, over a small video with a quiet tone."""
    root = tmp_path_factory.mktemp("resume")
    engine, rng = FrameToneEngine(), random.Random(7)
    rows, t = [], 500
    for i in range(LINES):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))) + "."
        take = engine.synthesize(SynthesisRequest(text, "en"))
        span = speech_span(take.samples, take.sample_rate)
        slot = round(span.length * 1000 / take.sample_rate * rng.uniform(0.9, 1.1))
        rows.append((t, t + slot, text))
        t += slot + 300
    total = t + 500
    tone = (0.03 * np.sin(2 * np.pi * 110 * np.arange(total * RATE // 1000) / RATE)).astype(np.float32)
    video = media.make_test_video(root / "long.mp4", total, tone, RATE, size="64x36", fps=5)
    subs = root / "long.srt"
    save_srt(subs, rows)
    return video, subs


def run(video: Path, subs: Path, out: Path, calls: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(video), str(subs), str(out), str(calls)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finished(project: Path) -> dict[int, str]:
    """The project's finished lines: cue index -> the chosen take's audio file."""
    if not project.exists():
        return {}
    return {line.index: line.take.audio for line in load_project(project).lines
            if line.take is not None and line.take.audio}


def test_killed_dubs_resume_to_the_uninterrupted_result(media_pair, tmp_path):
    video, subs = media_pair
    reference = tmp_path / "reference" / "dub.mkv"
    reference.parent.mkdir()
    whole = run(video, subs, reference, tmp_path / "reference.calls")
    assert whole.wait(timeout=600) == 0, whole.stderr.read().decode()
    reference_calls = int((tmp_path / "reference.calls").read_text())

    out = tmp_path / "resumed" / "dub.mkv"
    out.parent.mkdir()
    project = project_path_for(out)
    rng = random.Random(2026)
    kept: dict[int, str] = {}
    kills = 0
    while kills < KILLS:
        proc = run(video, subs, out, tmp_path / "killed.calls")
        # Kill at a random point: after a random number of lines more, then a random few ms later,
        # so some kills land while a take or the project file is being written.
        left = KILLS - kills
        goal = len(kept) + rng.randint(1, max(1, 2 * (LINES - len(kept)) // (left + 1)))
        # Stop short of the end: on a fast machine a few more lines finish between the poll and the kill,
        # and a kill after the last line would leave the resume nothing to render.
        goal = min(goal, LINES - 10)
        deadline = time.monotonic() + 120
        while proc.poll() is None and len(finished_quietly(project)) < goal and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        if proc.poll() is not None:
            break  # it finished before the kill: nothing left to interrupt
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        now = finished(project)  # the project on disk always loads
        lost = {index: audio for index, audio in kept.items() if now.get(index) != audio}
        assert not lost, f"kill {kills} lost finished takes: {lost}"
        assert all((project.parent / audio).is_file() for audio in now.values())
        kept = now
    assert kills == KILLS, f"only {kills} kills: the dub finished too soon to interrupt"
    assert len(kept) < LINES  # the kills were spread so that the last one left work to do

    last = run(video, subs, out, tmp_path / "resumed.calls")
    assert last.wait(timeout=600) == 0, last.stderr.read().decode()
    resumed_calls = int((tmp_path / "resumed.calls").read_text())
    # Only the missing lines were rendered: about their share of the uninterrupted run's calls.
    assert resumed_calls <= reference_calls * (LINES - len(kept) + 2) / LINES

    stem, _ = media.read_wav(out.with_suffix(".stem.wav"))
    expected, _ = media.read_wav(reference.with_suffix(".stem.wav"))
    assert np.array_equal(stem, expected)
    mine = json.loads(out.with_suffix(".report.json").read_text())["lines"]
    theirs = json.loads(reference.with_suffix(".report.json").read_text())["lines"]
    assert len(mine) == LINES and mine == theirs
    assert np.array_equal(media.decode_audio(out, RATE), media.decode_audio(reference, RATE))


def finished_quietly(project: Path) -> dict[int, str]:
    """Like `finished`, for polling while the worker writes: a read that races a rename is retried."""
    try:
        return finished(project)
    except Exception:  # noqa: BLE001 - only the check after the kill must load; here we just poll
        return {}


def tone_lines(folder: Path, count: int, name: str) -> tuple[Path, Path, list[tuple[int, int, str]]]:
    """`count` two-word lines 1.5 s apart over a quiet 110 Hz tone: a tiny video, its SRT and the rows."""
    rows = [(300 + 1500 * i, 1300 + 1500 * i, f"{WORDS[i]} {WORDS[i + 1]}.") for i in range(count)]
    subs = folder / f"{name}.srt"
    save_srt(subs, rows)
    length_ms = 1500 * count + 1000
    tone = (0.03 * np.sin(2 * np.pi * 110 * np.arange(length_ms * RATE // 1000) / RATE)).astype(np.float32)
    video = media.make_test_video(folder / f"{name}.mp4", length_ms, tone, RATE, size="64x36", fps=5)
    return video, subs, rows


@pytest.fixture
def small(tmp_path, monkeypatch):
    """Six lines over a short generated video, spoken by the frame-tone engine in this process."""
    from dubber.plugin import registry

    engine = FrameToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    video, subs, rows = tone_lines(tmp_path, 6, "six")
    return engine, video, subs, rows, tmp_path / "out" / "six.dub.mkv"


def options():
    from dubber.pipeline.dub import DubOptions

    return DubOptions(lang="en", engine="frametone", mix="replace")


def test_a_second_run_renders_nothing_and_writes_the_same(small):
    from dubber.pipeline.dub import dub

    engine, video, subs, _, out = small
    first = dub(video, subs, out, options(), stem_path=out.with_suffix(".wav"))
    calls = engine.calls
    stem, _ = media.read_wav(out.with_suffix(".wav"))
    second = dub(video, subs, out, options(), stem_path=out.with_suffix(".wav"), overwrite=True)
    assert calls > 0 and engine.calls == calls
    assert [line.error_ms for line in second.lines] == [line.error_ms for line in first.lines]
    assert np.array_equal(media.read_wav(out.with_suffix(".wav"))[0], stem)


def test_an_edited_line_alone_is_rendered_again(small):
    from dubber.pipeline.dub import dub

    engine, video, subs, rows, out = small
    dub(video, subs, out, options())
    before = load_project(project_path_for(out))
    rows[2] = (rows[2][0], rows[2][1], "stone bell.")
    save_srt(subs, rows)
    calls = engine.calls
    dub(video, subs, out, options(), overwrite=True)  # a re-run replaces the video it wrote, as asked
    after = load_project(project_path_for(out))
    assert 0 < engine.calls - calls <= (calls // 6) * 2  # one line's worth of calls
    assert [a.take.audio == b.take.audio for a, b in zip(after.lines, before.lines)] == \
        [True, True, False, True, True, True]
    # another seed is another take: every line again
    from dataclasses import replace

    calls = engine.calls
    dub(video, subs, out, replace(options(), seed=4), overwrite=True)
    assert engine.calls - calls >= 6


def test_a_damaged_project_is_set_aside_not_overwritten(small):
    from dubber.pipeline.dub import dub

    _, video, subs, _, out = small
    project = project_path_for(out)
    project.parent.mkdir(parents=True)
    project.write_text('{"schema": "dubber.project.store/2", "lines": [', encoding="utf-8")
    result = dub(video, subs, out, options())
    aside = list(project.parent.glob("six.dub.dubber.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8").endswith('"lines": [')
    assert any(d.code == "project-damaged" and aside[0].name in d.message for d in result.diagnostics)
    assert len(load_project(project).lines) == 6


def test_a_newer_project_is_refused_and_kept(small):
    from dubber.errors import UsageError
    from dubber.pipeline.dub import dub

    _, video, subs, _, out = small
    project = project_path_for(out)
    project.parent.mkdir(parents=True)
    text = json.dumps({"schema": "dubber.project.store/9", "video": str(video), "lines": []})
    project.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match="newer dubber"):
        dub(video, subs, out, options())
    assert project.read_text(encoding="utf-8") == text


def test_a_dictionary_entry_re_renders_only_the_lines_with_its_word_and_stays_in_the_project(small):
    from dataclasses import replace

    from dubber.pipeline.dub import dub

    engine, video, subs, rows, out = small
    dub(video, subs, out, options())
    before = load_project(project_path_for(out))
    calls = engine.calls
    dub(video, subs, out, replace(options(), pronunciations={"tide": "taɪd"}), overwrite=True)
    after = load_project(project_path_for(out))
    assert after.pronunciations == {"tide": "taɪd"}
    # "tide" is in "lantern tide." and "tide morning." only: those two are spoken again
    assert [a.take.text != b.take.text for a, b in zip(after.lines, before.lines)] == \
        [False, True, True, False, False, False]
    assert after.lines[1].take.text == "lantern {tide|taɪd}." and after.lines[1].text == "lantern tide."
    assert 0 < engine.calls - calls <= (calls // 6) * 2 * 2  # two lines' worth of calls
    calls = engine.calls
    dub(video, subs, out, options(), overwrite=True)  # no dictionary given: the project's own is used
    assert engine.calls == calls and load_project(project_path_for(out)).pronunciations == {"tide": "taɪd"}


def test_slow_saves_are_spaced_out_and_the_waiting_lines_flushed(tmp_path, monkeypatch):
    """A project that takes long to write is saved after a line only once three times that long has passed;
    flush writes the lines still waiting. Quick saves happen after every line."""
    from dubber.pipeline import checkpoints as checkpoints_module
    from dubber.pipeline.checkpoints import Checkpoints
    from dubber.project.store import LineEntry, Project

    now = [0.0]
    cost = [0.0]
    saved: list[list[int]] = []

    def save(project, path, rows):  # type: ignore[no-untyped-def]
        now[0] += cost[0]
        saved.append([row["index"] for row in rows if row["takes"]])

    monkeypatch.setattr(checkpoints_module, "save_project", save)
    lines = [LineEntry(index=i, start_ms=1000 * i, end_ms=1000 * i + 800, text=f"line {i}", speaker="A") for i in range(6)]
    checkpoints = Checkpoints(tmp_path / "p.dubber.json", Project("v.mp4", "s.srt", "en", {}), lines,
                              clock=lambda: now[0])

    def finish(i: int, after_s: float) -> None:
        now[0] += after_s
        line = LineEntry(index=i, start_ms=1000 * i, end_ms=1000 * i + 800, text=f"line {i}", speaker="A")
        line.takes.append(object())  # type: ignore[arg-type]  # only "has a take" is read here
        checkpoints(line)

    finish(0, 0.01)
    finish(1, 0.01)
    assert saved == [[0], [0, 1]]  # quick saves: every line
    cost[0] = 0.5
    finish(2, 0.01)  # saved (the last save was quick), taking 0.5 s
    finish(3, 1.0)  # 1.0 s after a 0.5 s save: waits
    assert saved[-1] == [0, 1, 2] and checkpoints.waiting
    finish(4, 0.6)  # 1.6 s after: saved with line 3
    assert saved[-1] == [0, 1, 2, 3, 4]
    finish(5, 0.1)
    assert saved[-1] == [0, 1, 2, 3, 4]
    checkpoints.flush()
    assert saved[-1] == [0, 1, 2, 3, 4, 5] and not checkpoints.waiting
    count = len(saved)
    checkpoints.flush()  # nothing waiting: nothing written
    assert len(saved) == count
