"""Tests for the timeline export: write OTIO, FCPXML and EDL, read each back with its adapter."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from dubber.audio import media
from dubber.errors import MediaError, UsageError
from dubber.handoff.timelines import (TIMELINE_FORMATS, TimelineLine, TimelineSource, build_timeline,
                                    timeline_files, write_timeline)

RATE = 48000
DURATION_MS = 6000

# (cue index, speaker, text, start sample, length in samples): odd samples, so nothing lands on a frame.
SPEC = [
    (1, "", "Hello there.", 1_001, 14_411),
    (2, "Bob", "It's me, Bob.", 20_117, 16_003),
    (3, "Alice", "Hi Bob!", 40_513, 12_007),
    (4, "", "Where were we?", 61_237, 19_999),
    (5, "Alice", "Nowhere.", 90_001, 10_517),
    (6, "Bob", "Right.", 130_777, 9_613),
    (7, "Alice", "Then let's go.", 160_331, 23_457),
]
DUB_TRACKS = ["Dub", "Alice", "Bob"]  # the unnamed speaker first, then by name


def make_lines(folder: Path, spec=SPEC) -> list[TimelineLine]:
    lines = []
    for index, speaker, text, start, length in spec:
        samples = (0.1 * np.sin(np.arange(length) * 0.05)).astype(np.float32)
        path = media.write_wav(folder / "lines" / f"{index:04d}.wav", samples, RATE)
        lines.append(TimelineLine(index, speaker, text, start, length, path.absolute()))
    return lines


def make_source(folder: Path, fps: Fraction | None = Fraction(25), has_audio: bool = True) -> TimelineSource:
    return TimelineSource(folder / "film.mp4", DURATION_MS, fps, has_audio, "eng")


def by_speaker(lines: list[TimelineLine]) -> dict[str, list[TimelineLine]]:
    out: dict[str, list[TimelineLine]] = {}
    for line in sorted(lines, key=lambda ln: ln.start):
        out.setdefault(line.speaker or "Dub", []).append(line)
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("timeline")


@pytest.fixture(scope="module")
def lines(folder: Path) -> list[TimelineLine]:
    return make_lines(folder)


def test_otio_round_trip_places_every_line_on_its_exact_sample(folder, lines):
    source = make_source(folder)
    path = write_timeline(build_timeline("film (dub)", lines, RATE, source), folder / "film.otio", "otio")
    back = otio.adapters.read_from_file(str(path))

    assert back.name == "film (dub)"
    assert back.metadata["dubber"]["lang"] == "eng"
    assert [t.name for t in back.tracks] == ["Video", "Original", *DUB_TRACKS]
    assert [t.kind for t in back.tracks] == ["Video", "Audio", "Audio", "Audio", "Audio"]

    video, original = back.tracks[0], back.tracks[1]
    for track in (video, original):
        (clip,) = track.find_clips()
        assert clip.media_reference.target_url == source.video.as_uri()
        assert clip.duration().to_seconds() == pytest.approx(DURATION_MS / 1000, abs=1 / 25)
    assert original.find_clips()[0].source_range.duration.value == DURATION_MS * RATE // 1000

    expected = by_speaker(lines)
    assert sum(len(t.find_clips()) for t in back.tracks[2:]) == len(lines)
    for track in back.tracks[2:]:
        clips = track.find_clips()
        assert len(clips) == len(expected[track.name])
        for clip, line in zip(clips, expected[track.name]):
            placed = clip.range_in_parent()
            assert (placed.start_time.value, placed.start_time.rate) == (line.start, RATE)
            assert (placed.duration.value, placed.duration.rate) == (line.length, RATE)
            assert clip.source_range.start_time.value == 0
            assert clip.media_reference.target_url == line.media.as_uri()
            assert clip.media_reference.available_range.duration.value == line.length
            meta = clip.metadata["dubber"]
            assert (meta["index"], meta["speaker"], meta["text"]) == (line.index, line.speaker, line.text)
        # Everything between clips is a Gap, and the gaps add up to the starts.
        assert all(isinstance(item, (otio.schema.Clip, otio.schema.Gap)) for item in track)
        assert sum(isinstance(item, otio.schema.Gap) for item in track) == len(clips)


def test_overlapping_lines_of_one_speaker_take_a_second_track(tmp_path):
    spec = [(1, "Ann", "one", 100, 4800), (2, "Ann", "two", 2400, 4800), (3, "Ann", "three", 5000, 480)]
    lines = make_lines(tmp_path, spec)
    timeline = build_timeline("x", lines, RATE, make_source(tmp_path, has_audio=False))

    assert [t.name for t in timeline.tracks] == ["Video", "Ann", "Ann 2"]
    starts = [[c.range_in_parent().start_time.value for c in t.find_clips()] for t in timeline.tracks[1:]]
    assert starts == [[100, 5000], [2400]]
    assert [t.metadata["dubber"]["speaker"] for t in timeline.tracks[1:]] == ["Ann", "Ann"]


def written_offsets(path: Path) -> dict[int, float]:
    """Each dub clip's offset as written in an FCPXML file, in seconds, by cue index (names start with it)."""
    return {int(clip.get("name").split()[0]): float(Fraction(clip.get("offset").rstrip("s")))
            for clip in ET.parse(path).getroot().iter("clip") if clip.get("lane") not in (None, "-1")}


def test_fcpxml_reads_back_with_every_clip_within_a_frame(folder, lines):
    fps = 25
    path = write_timeline(build_timeline("film (dub)", lines, RATE, make_source(folder)), folder / "film.fcpxml",
                          "fcpxml")
    assert ET.parse(path).getroot().find("./resources/format").get("frameDuration") == "1/25s"
    # As written, every clip sits on the frame nearest its start.
    assert written_offsets(path) == {line.index: round(line.start * fps / RATE) / fps for line in lines}

    back = otio.adapters.read_from_file(str(path))
    tracks = {t.name: t for t in back.tracks}  # the adapter names tracks by lane: 0 the video, -1, -2, ...
    assert sorted(tracks) == ["-1", "-2", "-3", "-4", "0"]
    assert tracks["0"].kind == "Video" and tracks["-1"].kind == "Audio"
    assert tracks["-1"].find_clips()[0].media_reference.target_url == (folder / "film.mp4").as_uri()

    expected = by_speaker(lines)
    for lane, name in zip(["-2", "-3", "-4"], DUB_TRACKS):
        clips = tracks[lane].find_clips()
        assert len(clips) == len(expected[name])
        for clip, line in zip(clips, expected[name]):
            assert clip.media_reference.target_url == line.media.as_uri()
            start = clip.range_in_parent().start_time.to_seconds()
            assert abs(start - line.start / RATE) <= 1 / fps + 1e-9
            assert abs(clip.duration().to_seconds() - line.length / RATE) <= 1 / fps + 1e-9


@pytest.mark.parametrize("fps", [24, 25, 30, 50, 60])
def test_fcpxml_keeps_lines_on_whole_frames_on_their_frame(tmp_path, fps):
    # Left alone, the adapter writes some whole frames one early (7/25 s * 25 = 6.999...).
    per_frame = RATE // fps
    lines = [TimelineLine(k, "", "", 2 * k * per_frame, per_frame, tmp_path / f"{k:04d}.wav") for k in range(150)]
    source = TimelineSource(tmp_path / "v.mp4", 300 * 1000 // fps, Fraction(fps), True, "eng")
    path = write_timeline(build_timeline("frames", lines, RATE, source), tmp_path / "f.fcpxml", "fcpxml")
    assert written_offsets(path) == {k: 2 * k / fps for k in range(150)}


def test_fcpxml_at_ntsc_rate_places_clips_within_half_a_frame(tmp_path, lines):
    fps = Fraction(30000, 1001)
    path = write_timeline(build_timeline("ntsc", lines, RATE, make_source(tmp_path, fps)),
                          tmp_path / "ntsc.fcpxml", "fcpxml")
    assert ET.parse(path).getroot().find("./resources/format").get("frameDuration") == "1001/30000s"
    offsets = written_offsets(path)
    assert sorted(offsets) == [line.index for line in sorted(lines, key=lambda ln: ln.index)]
    # The adapter puts offsets on a 1/29 s grid; the nearest step is at most half a step away.
    assert all(abs(offsets[line.index] - line.start / RATE) <= 1 / 29 / 2 + 1e-9 for line in lines)

    back = otio.adapters.read_from_file(str(path))
    assert sum(len(t.find_clips()) for t in back.tracks if t.name not in ("0", "-1")) == len(lines)


def test_odd_frame_rate_falls_back_to_a_rate_the_formats_take(tmp_path, lines):
    # 15 fps is no SMPTE rate; 30 keeps every video frame on the grid.
    path = write_timeline(build_timeline("odd", lines, RATE, make_source(tmp_path, Fraction(15))),
                          tmp_path / "odd.fcpxml", "fcpxml")
    assert ET.parse(path).getroot().find("./resources/format").get("frameDuration") == "100/3000s"


def test_edl_writes_one_file_per_track_that_reads_back_within_a_frame(folder, lines):
    timeline = build_timeline("film (dub)", lines, RATE, make_source(folder, fps=None))  # None -> 25 fps
    target = folder / "film.edl"
    assert write_timeline(timeline, target, "edl") == target
    files = timeline_files(timeline, target, "edl")
    assert [f.name for f in files] == ["film.edl", "film.Original.edl", "film.Dub.edl", "film.Alice.edl",
                                       "film.Bob.edl"]
    assert all(f.is_file() for f in files)

    video = otio.adapters.read_from_file(str(files[0]), rate=25)
    assert [(t.kind, len(t.find_clips())) for t in video.tracks] == [("Video", 1)]
    original = otio.adapters.read_from_file(str(files[1]), rate=25)
    assert original.tracks[0].kind == "Audio"
    assert original.tracks[0].find_clips()[0].media_reference.target_url == (folder / "film.mp4").as_uri()

    expected = by_speaker(lines)
    for file, name in zip(files[2:], DUB_TRACKS):
        (track,) = otio.adapters.read_from_file(str(file), rate=25).tracks
        assert track.kind == "Audio"
        clips = track.find_clips()
        assert len(clips) == len(expected[name])
        # The reader starts a track at its first record time: add that back.
        offset = track.source_range.start_time.to_seconds() if track.source_range else 0.0
        for clip, line in zip(clips, expected[name]):
            assert clip.media_reference.target_url == line.media.as_uri()
            start = clip.range_in_parent().start_time.to_seconds() - offset
            assert abs(start - line.start / RATE) <= 1 / 25 / 2 + 1e-9  # rounded to the nearest frame
            assert abs(clip.duration().to_seconds() - line.length / RATE) <= 1 / 25 + 1e-9


def test_edl_file_names_stay_apart_for_clashing_track_names(tmp_path):
    spec = [(1, "Original", "a", 0, 4800), (2, "a/b", "b", 9600, 4800), (3, "a_b", "c", 19200, 4800)]
    timeline = build_timeline("x", make_lines(tmp_path, spec), RATE, make_source(tmp_path))
    write_timeline(timeline, tmp_path / "x.edl", "edl")
    names = [f.name for f in timeline_files(timeline, tmp_path / "x.edl", "edl")]
    assert names == ["x.edl", "x.Original.edl", "x.Original-2.edl", "x.a_b.edl", "x.a_b-2.edl"]
    assert sorted(p.name for p in tmp_path.glob("*.edl")) == sorted(names)


def test_unknown_format_is_a_usage_error_naming_the_choices(tmp_path, lines):
    timeline = build_timeline("x", lines, RATE, make_source(tmp_path))
    with pytest.raises(UsageError) as err:
        write_timeline(timeline, tmp_path / "x.aaf", "aaf")
    assert all(fmt in str(err.value) for fmt in TIMELINE_FORMATS)
    assert not (tmp_path / "x.aaf").exists()


def test_unwritable_path_is_a_media_error_naming_it(tmp_path, lines):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    timeline = build_timeline("x", lines, RATE, make_source(tmp_path))
    for fmt, suffix in TIMELINE_FORMATS.items():
        target = blocker / f"x{suffix}"
        with pytest.raises(MediaError) as err:
            write_timeline(timeline, target, fmt)
        assert str(target) in str(err.value)


def test_rewriting_replaces_the_file_and_leaves_no_partial(tmp_path, lines):
    target = tmp_path / "x.otio"
    target.write_text("old")
    write_timeline(build_timeline("x", lines, RATE, make_source(tmp_path)), target, "otio")
    assert otio.adapters.read_from_file(str(target)).name == "x"
    assert [p.name for p in tmp_path.iterdir() if p.name != "lines"] == ["x.otio"]


def test_bad_lines_are_usage_errors(tmp_path):
    source = make_source(tmp_path)
    bad = TimelineLine(9, "", "x", -10, 100, tmp_path / "0009.wav")
    with pytest.raises(UsageError, match="line 9"):
        build_timeline("x", [bad], RATE, source)
    with pytest.raises(UsageError, match="line 9"):
        build_timeline("x", [TimelineLine(9, "", "x", 0, 0, tmp_path / "0009.wav")], RATE, source)
    with pytest.raises(UsageError, match="duration"):
        build_timeline("x", [], RATE, TimelineSource(tmp_path / "v.mp4", 0, None, False, "eng"))


def test_importing_the_module_leaves_opentimelineio_unloaded():
    code = "import sys, dubber.handoff.timelines; print('opentimelineio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
