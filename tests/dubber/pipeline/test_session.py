"""An editing session: open, render, edit, preview and export, measured on the audio it produces."""

from __future__ import annotations

import copy
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.samples import ms_to_samples
from dubber.audio.speech import speech_span
from dubber.errors import MediaError, OutputClash, UnknownVoice, UsageError
from dubber.fitting.fitter import STATUS_FAILED, STATUS_MISSED, STATUS_OK, STATUS_TOO_LONG, STATUS_TOO_SHORT
from dubber.audio.source import DiskAudio
from dubber.mix.blocks import measure_mix
from dubber.pipeline import session as session_module
from dubber.pipeline.dub import DubOptions
from dubber.pipeline.session import FAILED, OFF, OK, OVERLAP, PENDING, STALE, UNFITTABLE, Session, line_status
from dubber.plugin import registry
from dubber.project.edits import add_take, change_line, nudge
from dubber.project.store import LineEntry, Project, TakeRecord, load_project, takes_folder
from dubber.subtitles.load import load_subtitles, save_srt
from tests.conftest import ToneEngine

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
RATE = 48000  # the session's default output rate
VIDEO_MS = 6000
# These tests fill each cue (subtitles made for dubbing): slots near the tone engine's natural lengths,
# so every line fits. test_session_speech.py times lines to the original speech.
FILL = DubOptions(sync="fill")
CUES = [(500, 1700, "alpha beta gamma"), (2200, 3400, "delta echo foxtrot"), (4000, 4700, "golf hotel")]


@pytest.fixture(scope="module")
def source_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    n = ms_to_samples(VIDEO_MS, RATE)
    hum = (0.02 * np.sin(2 * np.pi * 110 * np.arange(n) / RATE)).astype(np.float32)
    return media.make_test_video(tmp_path_factory.mktemp("source") / "source.mp4", VIDEO_MS,
                                 np.stack([hum, hum], axis=1), RATE)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ToneEngine:
    engine = ToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    return engine


@pytest.fixture
def clip(tmp_path: Path, source_video: Path, engine: ToneEngine) -> tuple[Path, Path]:
    """A copy of the video and its subtitles in this test's own folder (the project is written beside it)."""
    video = tmp_path / "clip.mp4"
    shutil.copy(source_video, video)
    srt = tmp_path / "clip.srt"
    save_srt(srt, CUES)
    return video, srt


def render_and_apply(session: Session, *positions: int) -> None:
    for position in positions:
        record = session.render(session.project.lines[position])
        session.apply(add_take(session.project, position, record))


def onset(stem: np.ndarray, line: LineEntry, rate: int) -> int:
    """The first sample of speech on the stem near a line's slot."""
    lo = ms_to_samples(line.start_ms - 200, rate)
    span = speech_span(stem[lo:ms_to_samples(line.end_ms + 200, rate)], rate)
    assert span is not None
    return lo + span.start


# -- opening -------------------------------------------------------------------------------------


def test_open_creates_the_project_beside_the_video(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    path = video.with_name("clip.dubber.json")
    assert session.path == path and path.is_file()
    project = load_project(path)
    assert [(line.start_ms, line.end_ms, line.text) for line in project.lines] == CUES
    assert [line.index for line in project.lines] == [1, 2, 3]
    assert all(not line.takes and line.chosen is None for line in project.lines)
    assert [session.status(line) for line in session.project.lines] == [PENDING] * 3
    assert session.needing_work() == [0, 1, 2]
    assert Path(project.video) == video and Path(project.subtitles) == srt


def test_reopening_without_subtitles_loads_the_same_project(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    first = Session.open(video, srt, FILL)
    render_and_apply(first, 0, 2)
    again = Session.open(video)
    assert again.path == first.path
    assert again.project.lines == first.project.lines
    assert [len(line.takes) for line in again.project.lines] == [1, 0, 1]
    assert [again.status(line) for line in again.project.lines] == [OK, PENDING, OK]
    assert Session.open_project(first.path).project.lines == first.project.lines


def test_opening_a_video_without_project_or_subtitles_names_it(clip: tuple[Path, Path]) -> None:
    video, _ = clip
    with pytest.raises(UsageError, match="clip.mp4"):
        Session.open(video)
    assert not video.with_name("clip.dubber.json").exists()


def test_a_missing_video_is_named(tmp_path: Path, engine: ToneEngine) -> None:
    srt = tmp_path / "gone.srt"
    save_srt(srt, CUES)
    with pytest.raises(MediaError, match="gone.mp4"):
        Session.open(tmp_path / "gone.mp4", srt)
    assert not (tmp_path / "gone.dubber.json").exists()


def test_subtitles_with_bad_cues_still_open(clip: tuple[Path, Path]) -> None:
    video, _ = clip
    srt = video.with_name("rough.srt")
    srt.write_text("1\n00:00:00,500 --> 00:00:01,700\nalpha beta gamma\n\n"
                   "2\n00:00:0x,200 --> 00:00:03,400\nbroken timing\n\n"
                   "3\n00:00:04,000 --> 00:00:04,700\ngolf hotel\n\n"
                   "4\n00:00:05,500 --> 00:00:05,000\nbackwards\n", encoding="utf-8")
    session = Session.open(video, srt, FILL)
    assert [line.text for line in session.project.lines] == ["alpha beta gamma", "golf hotel"]
    errors = [d for d in session.diagnostics if d.severity == "error"]
    assert sorted(d.line for d in errors) == [6, 14]
    assert [line.text for line in load_project(session.path).lines] == ["alpha beta gamma", "golf hotel"]


@pytest.mark.parametrize("content", ["", "1\n00:00:0x,500 --> 00:00:01,700\nbroken\n"])
def test_subtitles_without_a_usable_cue_are_named(clip: tuple[Path, Path], content: str) -> None:
    video, _ = clip
    srt = video.with_name("useless.srt")
    srt.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match="useless.srt"):
        Session.open(video, srt, FILL)
    assert not video.with_name("clip.dubber.json").exists()


def test_reopening_with_changed_subtitles_keeps_the_unchanged_lines_takes(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    first = Session.open(video, srt, FILL)
    render_and_apply(first, 0, 1, 2)
    first.apply(change_line(first.project, 2, "Voice", voice="b"))
    kept = copy.deepcopy(first.project.lines)
    edited = video.with_name("clip.v2.srt")
    save_srt(edited, [CUES[0], (2200, 3400, "delta echo tango"), CUES[2]])

    again = Session.open(video, edited, FILL)
    lines = again.project.lines
    assert lines[0] == kept[0] and lines[2] == kept[2]  # takes, choice and the line's own voice
    assert lines[2].voice == "b"
    assert lines[1].text == "delta echo tango" and lines[1].takes == [] and lines[1].chosen is None
    assert again.status(lines[1]) == PENDING
    reloaded = load_project(again.path)
    assert reloaded.lines == lines and Path(reloaded.subtitles) == edited


def test_reopening_a_moved_folder_uses_the_video_it_was_opened_with(tmp_path: Path, source_video: Path,
                                                                    engine: ToneEngine) -> None:
    # The project keeps take paths relative so that the folder can be moved; the video must follow too.
    first_home = tmp_path / "first"
    first_home.mkdir()
    shutil.copy(source_video, first_home / "clip.mp4")
    save_srt(first_home / "clip.srt", CUES)
    session = Session.open(first_home / "clip.mp4", first_home / "clip.srt", FILL)
    render_and_apply(session, 0)
    moved = shutil.move(first_home, tmp_path / "moved")
    again = Session.open(Path(moved) / "clip.mp4")
    assert again.video == Path(moved) / "clip.mp4"
    stem, _ = again.mixed()
    assert onset(stem, again.project.lines[0], RATE) == pytest.approx(ms_to_samples(500, RATE), abs=1)


# -- rendering -----------------------------------------------------------------------------------


def test_render_stores_a_take_and_leaves_the_project_alone(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.plans()  # the speakers' voices are planned (and saved) once, on first use
    assert session.project.speakers[""].voice == "a"
    before = copy.deepcopy(session.project)
    saved = session.path.read_bytes()
    line = session.project.lines[1]
    record = session.render(line)

    assert record.seed == 0 and record.engine == "tone" and record.voice == "a" and record.status == STATUS_OK
    assert record.text == "delta echo foxtrot" and record.target_ms == 1200
    audio = session.path.parent / record.audio
    assert audio.parent == takes_folder(session.path) and audio.is_file()
    samples, rate = media.read_wav(audio)
    assert rate == record.sample_rate == ToneEngine.capabilities.sample_rate
    assert record.lead == speech_span(samples, rate).start
    assert abs(record.error_ms) <= 50 and record.speech_ms == 1200 + record.error_ms

    assert session.project == before and session.path.read_bytes() == saved and session.version == 0


def test_a_line_far_beyond_its_slot_renders_as_a_failed_take_with_the_cap(clip: tuple[Path, Path],
                                                                          engine: ToneEngine) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.apply(change_line(session.project, 0, "Edit text", text="go " * 100))  # 1.2 s slot, ~11 s of speech
    record = session.render(session.project.lines[0])
    assert record.status == STATUS_FAILED and record.reason.startswith("OverBudget: ")
    assert "spoken naturally" in record.reason and engine.calls == 0


def test_a_second_render_takes_the_next_seed_and_sounds_different(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    first = session.render(session.project.lines[0])
    session.apply(add_take(session.project, 0, first))
    line = session.project.lines[0]
    assert session.next_seed(line) == 1
    second = session.render(line)
    assert second.seed == 1 and second.audio != first.audio
    a, _ = media.read_wav(session.path.parent / first.audio)
    b, _ = media.read_wav(session.path.parent / second.audio)
    n = min(a.size, b.size)
    assert not np.array_equal(a[:n], b[:n])
    assert session.render(line, seed=0).audio == first.audio  # the same seed gives the same take


def test_next_seed_starts_at_the_options_seed(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, DubOptions(seed=7, sync="fill"))
    assert session.render(session.project.lines[0]).seed == 7


# -- voices --------------------------------------------------------------------------------------


def test_a_line_voice_override_is_rendered_with_that_voice(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0)
    session.apply(change_line(session.project, 0, "Voice", voice="b"))
    line = session.project.lines[0]
    assert session.status(line) == STALE and 0 in session.needing_work()
    record = session.render(line)
    assert record.voice == "b" and record.engine == "tone"
    session.apply(add_take(session.project, 0, record))
    assert session.status(session.project.lines[0]) == OK
    assert session.render(session.project.lines[1]).voice == "a"  # the speaker's voice is unchanged


def test_clearing_a_voice_override_makes_the_line_stale(clip: tuple[Path, Path]) -> None:
    # The chosen take was spoken as "b"; back to the speaker's "a", that take no longer matches.
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.apply(change_line(session.project, 0, "Voice", voice="b"))
    render_and_apply(session, 0)
    assert session.project.lines[0].take.voice == "b" and session.status(session.project.lines[0]) == OK
    session.apply(change_line(session.project, 0, "Voice", voice=None))
    assert session.status(session.project.lines[0]) == STALE


def test_an_unknown_voice_is_named(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.apply(change_line(session.project, 1, "Voice", voice="zebra"))
    with pytest.raises(UnknownVoice, match="zebra"):
        session.render(session.project.lines[1])


# -- line_status ---------------------------------------------------------------------------------


def take_record(status: str = STATUS_OK, error_ms: int | None = 5, text: str = "hello there",
                target_ms: int = 1000, engine: str = "tone", voice: str = "a") -> TakeRecord:
    return TakeRecord(seed=0, engine=engine, voice=voice, status=status, error_ms=error_ms,
                      speech_ms=None if error_ms is None else target_ms + error_ms, text=text, target_ms=target_ms)


def line_with(take: TakeRecord | None, **overrides: object) -> LineEntry:
    line = LineEntry(1, 2000, 3000, "hello there", "", [take] if take else [], 0 if take else None)
    for name, value in overrides.items():
        setattr(line, name, value)
    return line


@pytest.mark.parametrize(("line", "expected"), [
    (line_with(None), PENDING),
    (line_with(take_record()), OK),
    (line_with(take_record(error_ms=-50)), OK),
    (line_with(take_record(error_ms=51)), OFF),
    (line_with(take_record(error_ms=None)), OFF),
    (line_with(take_record(text="hello")), STALE),
    (line_with(take_record(target_ms=900)), STALE),
    (line_with(take_record(), end_ms=3100), STALE),
    (line_with(take_record(), start_ms=2500, end_ms=3500), OK),  # moved, same length: the take still fits
    (line_with(take_record(), voice="b"), STALE),
    (line_with(take_record(), voice="a"), OK),
    (line_with(take_record(), engine="other"), STALE),
    (line_with(take_record(text="")), OK),  # a take from before texts were recorded is not judged by it
    (line_with(take_record(status=STATUS_TOO_LONG, error_ms=300)), UNFITTABLE),
    (line_with(take_record(status=STATUS_TOO_SHORT, error_ms=-300)), UNFITTABLE),
    (line_with(take_record(status=STATUS_FAILED, error_ms=None)), FAILED),
    (line_with(take_record(status=STATUS_FAILED, error_ms=None, text="old words")), FAILED),
])
def test_line_status(line: LineEntry, expected: str) -> None:
    assert line_status(line) == expected


def test_line_status_follows_the_acceptance_window() -> None:
    line = line_with(take_record(error_ms=80))
    assert line_status(line, accept_ms=50) == OFF and line_status(line, accept_ms=100) == OK


def test_a_missed_fit_is_off_not_unfittable() -> None:
    # STATUS_MISSED: fittable, but the ladder ended outside the acceptance window - "off", by the definitions.
    assert line_status(line_with(take_record(status=STATUS_MISSED, error_ms=80))) == OFF


# -- the mix -------------------------------------------------------------------------------------


def test_each_onset_lands_exactly_on_its_cue_start(clip: tuple[Path, Path]) -> None:
    # At the engine's own rate nothing is resampled, so the placement is sample-exact.
    video, srt = clip
    rate = ToneEngine.capabilities.sample_rate
    session = Session.open(video, srt, DubOptions(sample_rate=rate, sync="fill"))
    render_and_apply(session, 0, 1, 2)
    stem, track = session.mixed()
    assert stem.shape == (session.length,) and track.shape[0] == session.length
    for line in session.project.lines:
        assert onset(stem, line, rate) == ms_to_samples(line.start_ms, rate), line.index


def test_onsets_at_the_output_rate_and_after_a_nudge(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0, 1, 2)
    stem, _ = session.mixed()
    before = [onset(stem, line, RATE) for line in session.project.lines]
    for line, found in zip(session.project.lines, before):
        assert abs(found - ms_to_samples(line.start_ms, RATE)) <= 1  # resampled from 24 kHz

    version = session.version
    edit = nudge(session.project, 1, 300)
    session.apply(edit)
    assert session.version == version + 1
    moved, _ = session.mixed()
    assert moved is not stem
    after = [onset(moved, line, RATE) for line in session.project.lines]
    assert after[1] - before[1] == 300 * RATE // 1000
    assert after[0] == before[0] and after[2] == before[2]
    session.revert(edit)
    assert onset(session.mixed()[0], session.project.lines[1], RATE) == before[1]


def test_an_unrendered_line_is_silent(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0)
    stem, _ = session.mixed()
    assert np.abs(stem[ms_to_samples(2000, RATE):]).max() == 0.0
    assert np.abs(stem[ms_to_samples(500, RATE):ms_to_samples(1700, RATE)]).max() > 0.1


def test_preview_audio_is_a_slice_of_the_exported_mix(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0, 1)
    _, track = session.mixed()
    window = session.preview_audio(1000, 2500)
    assert window.shape == (ms_to_samples(1500, RATE), track.shape[1])
    assert np.array_equal(window, track[ms_to_samples(1000, RATE):ms_to_samples(2500, RATE)])
    assert np.array_equal(session.preview_audio(-300, 200), track[:ms_to_samples(200, RATE)])
    # The dub is in the preview: it differs from the original where a line is spoken.
    original = session.original[ms_to_samples(1000, RATE):ms_to_samples(2500, RATE)]
    assert np.abs(window - original).max() > 0.05


def test_after_an_edit_the_preview_mixes_only_its_window(clip: tuple[Path, Path], monkeypatch) -> None:
    video, srt = clip
    session = Session.open(video, srt, replace(FILL, loudness=-16.0))
    render_and_apply(session, 0, 1, 2)
    before = session.preview_audio(1500, 4000)  # the first preview measures the mix once, in blocks
    measured = session.loudness
    assert measured is not None
    session.apply(nudge(session.project, 1, 200))
    measures = []
    monkeypatch.setattr(session_module, "measure_mix", lambda *a, **k: measures.append(a) or measure_mix(*a, **k))
    window = session.preview_audio(1500, 4000)
    assert measures == [] and session.loudness == measured  # no whole mix, no new measurement
    # What export will write there, but for the gains, measured over the track before the move.
    expected = session.mixed()[1][ms_to_samples(1500, RATE):ms_to_samples(4000, RATE)]
    assert len(measures) == 1  # export measures the moved track anew
    assert window.shape == expected.shape
    assert np.abs(window - expected).max() < 0.05 * np.abs(expected).max()
    assert np.abs(window - before).max() > 0.05  # the moved line moved in the preview


def test_a_session_reads_its_original_from_disk_and_removes_it_on_close(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    original = session.original
    assert isinstance(original, DiskAudio) and session.original is original  # decoded once
    assert np.array_equal(original[:], media.decode_audio(video, RATE))
    assert session.length == original.shape[0] >= ms_to_samples(4700, RATE)
    session.close()
    assert not original.path.exists()
    assert session.original is not original and session.original.path.is_file()  # decoded again when asked
    session.close()


# -- export --------------------------------------------------------------------------------------


def test_export_writes_video_stem_subtitles_and_report(clip: tuple[Path, Path], tmp_path: Path) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.apply(change_line(session.project, 0, "Edit text", text="alpha beta delta"))
    render_and_apply(session, 0, 1)
    session.apply(nudge(session.project, 1, 200))
    out = tmp_path / "out" / "dubbed.mp4"
    stem_path, srt_path, report_path = tmp_path / "out" / "stem.wav", tmp_path / "out" / "dub.srt", \
        tmp_path / "out" / "report.json"

    result = session.export(out, stem_path, srt_path, report_path)
    assert result.written == [out, stem_path, srt_path, report_path]

    before, after = media.video_packet_checksums(video), media.video_packet_checksums(out)
    assert len(before) > 0 and before == after
    audio = media.probe(out).audio_streams
    assert len(audio) == 2 and audio[0].language == "eng"

    stem, rate = media.read_wav(stem_path)
    assert rate == RATE and np.array_equal(stem, session.mixed()[0])

    # Dubbed lines at their measured speech spans; the line not rendered yet keeps its cue's times.
    cues = load_subtitles(srt_path).cues
    spoken = [(line.speech_start_ms, line.speech_end_ms) for line in result.lines]
    assert [(c.start_ms, c.end_ms, c.text) for c in cues] == [
        (*spoken[0], "alpha beta delta"), (*spoken[1], "delta echo foxtrot"), (4000, 4700, "golf hotel")]
    assert abs(spoken[0][1] - 1700) <= 50 and spoken[1][0] == 2400

    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["summary"]["not_rendered"] == 1 and report["summary"]["lines"] == 2
    assert [line["index"] for line in report["lines"]] == [1, 2]
    assert [line["text"] for line in report["lines"]] == ["alpha beta delta", "delta echo foxtrot"]
    for line in report["lines"]:
        assert line["status"] == "ok" and abs(line["error_ms"]) <= 50 and abs(line["onset_error_ms"]) <= 1
    assert report["lines"][1]["start_ms"] == 2400
    assert report["inputs"]["project"] == str(session.path)
    assert [line.error_ms for line in result.lines] == [line["error_ms"] for line in report["lines"]]


def test_export_measures_the_dub_it_writes(clip: tuple[Path, Path], tmp_path: Path) -> None:
    # A line nudged after rendering is measured where it now plays, not where its take was made.
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0, 1, 2)
    session.apply(nudge(session.project, 2, 500))
    result = session.export(report_path=tmp_path / "report.json")
    assert result.summary["not_rendered"] == 0 and result.summary["within_50ms"] == 3
    assert [line.speech_start_ms - line.start_ms for line in result.lines] == [0, 0, 0]
    assert result.lines[2].start_ms == 4500


# -- lines that overlap --------------------------------------------------------------------------


def test_a_line_moved_past_the_next_ones_start_overlaps_it_and_both_are_flagged(clip: tuple[Path, Path],
                                                                                tmp_path: Path) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0, 1, 2)
    # Its cue now ends 300 ms into line 2's; it fills its cue, so its speech does too. Accepted, not refused.
    edit = change_line(session.project, 0, "Move line 1", start_ms=1300, end_ms=2500)
    session.apply(edit)
    lines = session.project.lines
    assert [session.status(line) for line in lines] == [OVERLAP, OVERLAP, OK]
    assert session.needing_work() == [0, 1]
    assert re.fullmatch(r"overlaps line 2's speech by \d+ ms", session.overlap(lines[0]))
    assert session.overlap(lines[1]).startswith("overlaps line 1's") and session.overlap(lines[2]) == ""

    result = session.export(report_path=tmp_path / "report.json")  # the report measures the same
    assert [line.status for line in result.lines] == ["overlap", "overlap", "ok"]
    assert "line 2's" in result.lines[0].reason and "line 1's" in result.lines[1].reason
    assert [pair["lines"] for pair in result.summary["overlaps"]] == [[1, 2]]
    assert 250 <= result.summary["overlaps"][0]["ms"] <= 350 and result.lines[1].overlap_ms > 0
    session.revert(edit)
    assert [session.status(line) for line in lines] == [OK, OK, OK]


def test_lines_not_dubbed_yet_overlap_by_their_slots(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    session.apply(change_line(session.project, 0, "Set timing", end_ms=2500))
    assert [session.status(line) for line in session.project.lines] == [OVERLAP, OVERLAP, PENDING]
    assert session.overlap(session.project.lines[0]) == "overlaps line 2's speech by 300 ms"


def speech_take(speech_ms: int, target_ms: int | None, window_ms: int) -> TakeRecord:
    return TakeRecord(seed=0, engine="tone", voice="a", status=STATUS_OK, error_ms=0, speech_ms=speech_ms,
                      target_ms=target_ms, window_ms=window_ms)


def test_a_cue_held_over_the_next_line_is_in_sync_while_its_speech_ends_before_the_next(tmp_path: Path) -> None:
    # Timed to the original speech a line ends by the next line's onset, whatever its cue says: only
    # speech that really overlaps is flagged, and then on both lines.
    lines = [LineEntry(1, 1000, 2200, "hello there", "", [speech_take(950, 1000, 1200)], 0, target_start_ms=1000,
                       target_end_ms=2000),
             LineEntry(2, 3000, 4000, "see you", "", [speech_take(800, 800, 960)], 0, target_start_ms=3000,
                       target_end_ms=3800)]
    session = Session(Project("/videos/v.mp4", "/videos/v.srt", "en", {}, lines, sync="speech"),
                      tmp_path / "v.dubber.json")
    assert [session.status(line) for line in session.project.lines] == [OK, OK]
    window = 3000 - 40 - 1000  # the new cue ends past line 2's start; its window still ends before line 2
    session.apply(change_line(session.project, 0, "Set timing", end_ms=3500, take=speech_take(1500, None, window)))
    assert session.slots()[1].end_ms == 2960 and [session.status(line) for line in session.project.lines] == [OK, OK]
    session.apply(change_line(session.project, 0, "Longer", take=speech_take(2100, None, window)))
    assert [session.status(line) for line in session.project.lines] == [OVERLAP, OVERLAP]
    assert session.overlap(session.project.lines[1]) == "overlaps line 1's speech by 100 ms"


def test_export_never_replaces_an_input_and_replaces_a_file_only_when_asked(
        clip: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    render_and_apply(session, 0)
    before = srt.read_bytes()
    mixed = session._measured_mix
    monkeypatch.setattr(session, "_measured_mix", lambda mode: pytest.fail("mixed before the files were checked"))
    # the SRT export beside clip.mkv is clip.srt, the subtitles the project was made from; the project itself
    for exports, kwargs in ((("srt",), {"output": tmp_path / "clip.mkv"}), ((), {"subtitles_path": srt}),
                            ((), {"report_path": session.path})):
        session.options.exports = exports
        with pytest.raises(OutputClash) as refused:
            session.export(**kwargs, overwrite=True)
        assert refused.value.input in (str(srt), str(session.path)), kwargs
    assert srt.read_bytes() == before and not (tmp_path / "clip.mkv").exists()

    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}', encoding="utf-8")
    with pytest.raises(OutputClash) as refused:
        session.export(report_path=notes)
    assert refused.value.path == str(notes) and notes.read_text(encoding="utf-8") == '{"mine": true}'
    monkeypatch.setattr(session, "_measured_mix", mixed)
    session.export(report_path=notes, overwrite=True)
    assert json.loads(notes.read_text(encoding="utf-8"))["summary"]["lines"] == 1


def test_export_of_nothing_is_refused(clip: tuple[Path, Path]) -> None:
    video, srt = clip
    session = Session.open(video, srt, FILL)
    with pytest.raises(UsageError, match="nothing to export"):
        session.export()


# -- the real default engine ---------------------------------------------------------------------


def test_the_demo_with_the_default_engine(tmp_path: Path) -> None:
    video, srt = tmp_path / "demo.mp4", tmp_path / "demo.en.srt"
    shutil.copy(SAMPLES / "demo.mp4", video)
    shutil.copy(SAMPLES / "demo.en.srt", srt)
    session = Session.open(video, srt, FILL)
    assert len(session.project.lines) == len(load_subtitles(srt).cues)
    render_and_apply(session, 0, 2)
    stem, _ = session.mixed()
    for position in (0, 2):
        line = session.project.lines[position]
        assert abs(onset(stem, line, RATE) - ms_to_samples(line.start_ms, RATE)) <= ms_to_samples(5, RATE)
    result = session.export(report_path=tmp_path / "report.json")
    assert result.summary["not_rendered"] == len(session.project.lines) - 2
    assert [line.status for line in result.lines] == ["ok", "ok"]
    assert all(abs(line.error_ms) <= 50 for line in result.lines)
    assert not any(p.is_relative_to(SAMPLES) for p in [session.path, Path(session.project.video)])
