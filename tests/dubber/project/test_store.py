"""The project file: speaker table and takes, saved atomically, take audio stored by content."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio.media import read_wav
from dubber.errors import UsageError
from dubber.project.store import (
    LineEntry,
    Project,
    SpeakerEntry,
    TakeRecord,
    load_project,
    project_path_for,
    references_folder,
    relative_to_project,
    save_project,
    store_take_audio,
    takes_folder,
)


def _project() -> Project:
    take = TakeRecord(seed=3, engine="piper", voice="en_US-joe-medium", status="ok", error_ms=-4, speech_ms=1996,
                      method="native", stretch=1.0, similarity=0.81, wer=0.0, transcript="hello", audio="out.takes/x.wav",
                      natural_ms=2100, rate=1.0, heard_rate=1.05, compute_ms=812)
    return Project("in.mp4", "in.srt", "en",
                   {"Aiko": SpeakerEntry("Aiko", "kokoro", "jf_alpha", reference="refs/aiko.wav",
                                         reference_source="extracted", matched=True, similarity=0.8,
                                         default_similarity=0.6)},
                   [LineEntry(1, 0, 2000, "hello", "Aiko", [take], chosen=0)])


def test_a_project_round_trips(tmp_path):
    path = tmp_path / "out.dubber.json"
    save_project(_project(), path)
    back = load_project(path)
    assert back == _project()
    assert json.loads(path.read_text())["schema"] == "dubber.project.store/5"
    assert [p.name for p in tmp_path.iterdir()] == ["out.dubber.json"]  # no temporary left behind


def test_paths_beside_the_output(tmp_path):
    path = project_path_for(tmp_path / "talk.dub.mp4")
    assert path == tmp_path / "talk.dub.dubber.json" and takes_folder(path) == tmp_path / "talk.dub.takes"
    assert references_folder(path) == tmp_path / "talk.dub.refs"
    assert relative_to_project(tmp_path / "refs" / "a.wav", path) == "refs/a.wav"
    assert relative_to_project("/elsewhere/a.wav", path) == "/elsewhere/a.wav"


def test_take_audio_is_stored_once_by_content(tmp_path):
    path = tmp_path / "p.dubber.json"
    samples = (0.1 * np.sin(np.arange(2400) / 5)).astype(np.float32)
    first = store_take_audio(samples, 24000, path)
    again = store_take_audio(samples.copy(), 24000, path)
    other = store_take_audio(samples, 22050, path)
    assert first == again != other and first.startswith("p.takes/")
    audio, rate = read_wav(tmp_path / first)
    assert rate == 24000 and np.array_equal(audio, samples)
    assert sorted(p.name for p in (tmp_path / "p.takes").iterdir()) == sorted([first[8:], other[8:]])


@pytest.mark.parametrize("content,needle", [("{", "cannot read"), ('{"schema": "other"}', "not a dubber project"),
                                            ('{"schema": "dubber.project.store/1"}', "damaged"), ("[1]", "not a dubber")])
def test_bad_project_files_are_named(tmp_path, content, needle):
    path = tmp_path / "bad.dubber.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=needle) as err:
        load_project(path)
    assert str(path) in str(err.value)


def test_a_version_1_project_is_upgraded(tmp_path):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["schema"] = "dubber.project.store/1"
    for key in ("natural_ms", "rate", "heard_rate", "borrowed_ms", "compute_ms"):
        del doc["lines"][0]["takes"][0][key]  # what version 1 wrote
    path.write_text(json.dumps(doc), encoding="utf-8")
    take = load_project(path).lines[0].take
    assert (take.natural_ms, take.rate, take.heard_rate, take.borrowed_ms) == (None, None, None, 0)
    assert take.audio == "out.takes/x.wav" and take.error_ms == -4 and take.compute_ms is None


def test_a_version_2_project_is_upgraded_without_compute_times(tmp_path):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["schema"] = "dubber.project.store/2"
    del doc["lines"][0]["takes"][0]["compute_ms"]  # what version 2 wrote
    path.write_text(json.dumps(doc), encoding="utf-8")
    take = load_project(path).lines[0].take
    assert take.compute_ms is None and take.natural_ms == 2100 and take.heard_rate == 1.05
    save_project(load_project(path), path)
    saved = json.loads(path.read_text())
    assert saved["schema"] == "dubber.project.store/5" and saved["lines"][0]["takes"][0]["compute_ms"] is None
    assert load_project(tmp_path / "out.dubber.json").lines[0].take.compute_ms is None


def test_compute_time_round_trips(tmp_path):
    path = tmp_path / "out.dubber.json"
    save_project(_project(), path)
    assert json.loads(path.read_text())["lines"][0]["takes"][0]["compute_ms"] == 812
    assert load_project(path).lines[0].take.compute_ms == 812


def test_a_version_3_project_is_upgraded_to_fill_its_cues(tmp_path):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["schema"] = "dubber.project.store/3"
    del doc["sync"]  # what version 3 wrote: no timing policy, no original speech, no skipped lines
    for key in ("target_start_ms", "target_end_ms", "skip", "skip_reason", "speak", "part", "lang"):
        del doc["lines"][0][key]
    del doc["lines"][0]["takes"][0]["window_ms"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    project = load_project(path)
    line = project.lines[0]
    assert project.sync == "fill" and line.spoken and line.target_start_ms is None and line.part == 0
    assert line.take.window_ms is None and line.take.error_ms == -4


def test_a_version_4_project_is_upgraded_without_fitting_choices(tmp_path):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["schema"] = "dubber.project.store/4"
    for key in ("borrow_gap", "allow_stretch"):  # what version 4 wrote: no line chose how it is fitted
        del doc["lines"][0][key]
        del doc["lines"][0]["takes"][0][key]
    path.write_text(json.dumps(doc), encoding="utf-8")
    line = load_project(path).lines[0]
    assert (line.borrow_gap, line.allow_stretch, line.take.borrow_gap, line.take.allow_stretch) == (False,) * 4
    assert line.take.speech_ms == 1996 and line.text == "hello"
    project = load_project(path)
    project.lines[0].borrow_gap = True
    save_project(project, path)
    saved = json.loads(path.read_text())
    assert saved["schema"] == "dubber.project.store/5" and saved["lines"][0]["borrow_gap"] is True
    assert load_project(path).lines[0].borrow_gap


def test_an_unknown_sync_policy_is_a_damaged_project(tmp_path):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["sync"] = "loose"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UsageError, match="damaged project.*sync"):
        load_project(path)


@pytest.mark.parametrize(("schema", "message"), [("dubber.project.store/6", "newer dubber"),
                                                 ("dubber.project.store/x", "not a dubber project"),
                                                 ("otio/1", "not a dubber project"), (None, "not a dubber project")])
def test_unknown_schemas_are_refused_by_name(tmp_path, schema, message):
    path = tmp_path / "out.dubber.json"
    doc = _project().to_dict()
    doc["schema"] = schema
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UsageError, match=message) as caught:
        load_project(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("audio", ["../secret.wav", "/etc/passwd", "out.takes/../../x.wav", "other.takes/x.wav",
                                   "out.takes/sub/x.wav", "C:/x.wav", "out.takes\\..\\x.wav"])
def test_take_audio_outside_the_takes_folder_is_not_loaded(tmp_path, audio):
    path = tmp_path / "out.dubber.json"
    project = _project()
    project.lines[0].takes[0].audio = audio
    save_project(project, path)
    take = load_project(path).lines[0].take
    assert take.audio is None and "outside out.takes/" in take.reason
    assert take.status == "ok" and take.seed == 3  # the record is kept
