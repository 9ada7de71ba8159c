"""The DaVinci Resolve bridge, against a stand-in for Resolve's scripting objects.

`FakeResolve` and friends are not Resolve: they implement only the methods the bridge calls, under the
names and signatures of Resolve's documented scripting API (Developer/Scripting/README.txt), and record
what they are asked. Resolve itself is not exercised here. `dubber` is either a small stand-in program
that writes the files `dubber dub --export otio,srt,stems` writes, or (one test) the real command line.
"""

from __future__ import annotations

import json
import os
import runpy
import stat
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dubber.audio import media
from dubber.errors import MediaError, ProcessError, UsageError
from dubber.plugin import resolve_bridge as rb
from dubber.subtitles.load import load_subtitles

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "plugin" / "resolve" / "dub_with_dubber.py"
SAMPLE = ROOT / "samples" / "demo.mp4"
NTSC_FILM, NTSC_VIDEO = Fraction(24000, 1001), Fraction(30000, 1001)


# ── A stand-in for Resolve's documented objects ─────────────────────


class FakeMediaPoolItem:
    def __init__(self, path: str) -> None:
        self.properties = {"File Path": path, "Type": "Video + Audio"}

    def GetClipProperty(self, propertyName: str | None = None) -> Any:
        return dict(self.properties) if propertyName is None else self.properties.get(propertyName, "")


class FakeTimelineItem:
    def __init__(self, name: str, start: int, end: int, left_offset: int = 0,
                 media_item: FakeMediaPoolItem | None = None) -> None:
        self.name, self.start, self.end, self.left_offset, self.media_item = name, start, end, left_offset, media_item

    def GetName(self) -> str:
        return self.name

    def GetStart(self, subframe_precision: bool = False) -> int:
        return self.start

    def GetEnd(self, subframe_precision: bool = False) -> int:
        return self.end

    def GetLeftOffset(self, subframe_precision: bool = False) -> int:
        return self.left_offset

    def GetMediaPoolItem(self) -> FakeMediaPoolItem | None:
        return self.media_item


class FakeTimeline:
    def __init__(self, name: str, rate: str = "24", start_frame: int = 86400,
                 video: list[FakeTimelineItem] | None = None,
                 subtitles: list[list[FakeTimelineItem]] | None = None) -> None:
        self.name, self.rate, self.start_frame = name, rate, start_frame
        self.tracks = {"video": [video or []], "audio": [[]], "subtitle": subtitles if subtitles is not None else [[]]}

    def GetName(self) -> str:
        return self.name

    def GetStartFrame(self) -> int:
        return self.start_frame

    def GetSetting(self, settingName: str) -> str:
        return {"timelineFrameRate": self.rate}.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        return len(self.tracks[trackType])

    def GetItemListInTrack(self, trackType: str, index: int) -> list[FakeTimelineItem]:
        tracks = self.tracks[trackType]
        return list(tracks[index - 1]) if 1 <= index <= len(tracks) else []


class FakeMediaPool:
    def __init__(self, project: FakeProject, makes_timelines: bool = True, imports_media: bool = True) -> None:
        self.project, self.makes_timelines, self.imports_media = project, makes_timelines, imports_media
        self.timeline_imports: list[tuple[str, dict]] = []
        self.media_imports: list[list[str]] = []

    def ImportTimelineFromFile(self, filePath: str, importOptions: dict | None = None) -> FakeTimeline | None:
        self.timeline_imports.append((filePath, dict(importOptions or {})))
        if not self.makes_timelines:
            return None
        timeline = FakeTimeline((importOptions or {}).get("timelineName") or Path(filePath).stem)
        self.project.timelines.append(timeline)
        return timeline

    def ImportMedia(self, items: list[str]) -> list[FakeMediaPoolItem]:
        self.media_imports.append(list(items))
        return [FakeMediaPoolItem(path) for path in items] if self.imports_media else []


class FakeProject:
    def __init__(self, name: str = "Demo", timelines: list[FakeTimeline] | None = None,
                 current: FakeTimeline | None = None, **pool_options: bool) -> None:
        self.name, self.timelines, self.current = name, list(timelines or []), current
        self.pool = FakeMediaPool(self, **pool_options)

    def GetName(self) -> str:
        return self.name

    def GetCurrentTimeline(self) -> FakeTimeline | None:
        return self.current

    def SetCurrentTimeline(self, timeline: FakeTimeline) -> bool:
        self.current = timeline
        return True

    def GetTimelineCount(self) -> int:
        return len(self.timelines)

    def GetTimelineByIndex(self, idx: int) -> FakeTimeline | None:
        return self.timelines[idx - 1] if 1 <= idx <= len(self.timelines) else None

    def GetSetting(self, settingName: str) -> str:
        return {"timelineFrameRate": "24"}.get(settingName, "")

    def GetMediaPool(self) -> FakeMediaPool:
        return self.pool


class FakeProjectManager:
    def __init__(self, project: FakeProject | None) -> None:
        self.project = project

    def GetCurrentProject(self) -> FakeProject | None:
        return self.project


class FakeResolve:
    def __init__(self, project: FakeProject | None) -> None:
        self.manager = FakeProjectManager(project)

    def GetProjectManager(self) -> FakeProjectManager:
        return self.manager


def _edit(video: Path, rate: str = "24", subtitles: list[FakeTimelineItem] | None = None,
          **pool_options: bool) -> tuple[FakeResolve, FakeProject, FakeTimeline]:
    """A timeline at 01:00:00:00 whose V1 clip starts 2 s in, trimmed to start 0.5 s into its file."""
    start = 86400 + 48
    clip = FakeTimelineItem(video.name, start, start + 240, left_offset=12, media_item=FakeMediaPoolItem(str(video)))
    subs = subtitles if subtitles is not None else [
        FakeTimelineItem("Good morning.", start + 12, start + 60),
        FakeTimelineItem("Anna: The boats leave at nine.", start + 72, start + 120),
    ]
    timeline = FakeTimeline("Edit 1", rate=rate, video=[clip], subtitles=[subs])
    project = FakeProject(timelines=[timeline], current=timeline, **pool_options)
    return FakeResolve(project), project, timeline


# ── Frames and milliseconds ─────────────────────────────────────────


@pytest.mark.parametrize("setting, rate", [
    ("24", Fraction(24)), ("25", Fraction(25)), ("30", Fraction(30)), ("50", Fraction(50)),
    ("23.976", NTSC_FILM), ("29.97", NTSC_VIDEO), ("59.94", Fraction(60000, 1001)), (" 47.952 ", Fraction(48000, 1001)),
    ("12.5", Fraction(25, 2)),
])
def test_frame_rate_reads_the_exact_rate(setting: str, rate: Fraction) -> None:
    assert rb.frame_rate(setting) == rate


@pytest.mark.parametrize("setting", ["", "fast", "0", "-24", None])
def test_frame_rate_rejects_what_is_no_rate(setting: Any) -> None:
    with pytest.raises(UsageError, match="frame rate"):
        rb.frame_rate(setting)


@pytest.mark.parametrize("frames, rate, ms", [
    (1, Fraction(24), 42), (24, Fraction(24), 1000), (36, Fraction(24), 1500), (86400, Fraction(24), 3_600_000),
    (1, Fraction(25), 40), (90_000, Fraction(25), 3_600_000),
    (1, NTSC_FILM, 42), (24, NTSC_FILM, 1001), (86_400, NTSC_FILM, 3_603_600),
    (30, NTSC_VIDEO, 1001), (1798, NTSC_VIDEO, 59_993),
    # One hour of 29.97 drop-frame timecode is 107892 frames: 3599.9964 s, 4 ms short of what 29.97 gives.
    (107_892, NTSC_VIDEO, 3_599_996), (-12, Fraction(24), -500),
])
def test_frames_to_ms(frames: int, rate: Fraction, ms: int) -> None:
    assert rb.frames_to_ms(frames, rate) == ms


def test_rounded_ntsc_rate_would_drift() -> None:
    # The reason for the exact rate: the displayed 29.97 puts an hour of frames 4 ms late.
    assert rb.frames_to_ms(107_892, Fraction("29.97")) == 3_600_000
    assert rb.frames_to_ms(107_892, rb.frame_rate("29.97")) == 3_599_996


# ── Reading the timeline ────────────────────────────────────────────


def test_subtitles_are_timed_from_the_clips_file_start(tmp_path: Path) -> None:
    video = tmp_path / "scene.mov"
    video.write_bytes(b"")
    start = 86400 + 48
    resolve, project, timeline = _edit(video, subtitles=[
        FakeTimelineItem("Good morning.", start + 12, start + 60),
        FakeTimelineItem("", start + 60, start + 66),  # no text
        FakeTimelineItem("Anna: The boats leave\n\n at nine.", start + 72, start + 120),
        FakeTimelineItem("Before the clip, cut", start - 24, start + 6),
        FakeTimelineItem("After the clip", start + 240, start + 260),
        FakeTimelineItem("Runs past the end", start + 228, start + 264),
    ])
    read = rb.read_timeline(resolve)
    assert read.clip == rb.SourceClip(video, Fraction(start), Fraction(start + 240), Fraction(12))
    assert read.rate == 24 and read.timeline_name == "Edit 1"
    assert (read.outside, read.empty) == (1, 1)
    # Timeline frame start+12 is frame 24 of the file (12 frames in-point): 1000 ms.
    assert read.subtitles == [
        rb.Subtitle(500, 750, "Before the clip, cut"),
        rb.Subtitle(1000, 3000, "Good morning."),
        rb.Subtitle(3500, 5500, "Anna: The boats leave\nat nine."),
        rb.Subtitle(10_000, 10_500, "Runs past the end"),
    ]
    assert read.clip.file_zero_frame == start - 12

    srt = rb.write_srt(tmp_path / "in.srt", read.subtitles)
    loaded = load_subtitles(srt)  # dubber's own reader, as `dubber dub` will read it
    assert loaded.diagnostics == []
    assert [(c.start_ms, c.end_ms) for c in loaded.cues] == [(500, 750), (1000, 3000), (3500, 5500), (10_000, 10_500)]
    assert loaded.cues[2].speaker == "Anna"
    assert srt.read_text(encoding="utf-8").startswith("1\n00:00:00,500 --> 00:00:00,750\nBefore the clip, cut\n\n2\n")


def test_subtitles_at_23_976_use_the_exact_rate(tmp_path: Path) -> None:
    video = tmp_path / "scene.mov"
    video.write_bytes(b"")
    start = 86400 + 48
    late = FakeTimelineItem("Late line", start + 86_388, start + 86_412)
    resolve, _, _ = _edit(video, rate="23.976", subtitles=[late])
    resolve.manager.project.current.tracks["video"][0][0].end = start + 100_000
    read = rb.read_timeline(resolve)
    # File frames 86400..86424 at 24000/1001 fps: 3603.6 s to 3604.601 s (3600 s and 3601 s at a flat 24).
    assert read.subtitles == [rb.Subtitle(3_603_600, 3_604_601, "Late line")]


def test_the_timeline_rate_falls_back_to_the_projects(tmp_path: Path) -> None:
    video = tmp_path / "scene.mov"
    video.write_bytes(b"")
    resolve, project, timeline = _edit(video, rate="")
    assert rb.timeline_rate(timeline, project) == 24


def test_clear_messages_when_something_is_missing(tmp_path: Path) -> None:
    video = tmp_path / "scene.mov"
    video.write_bytes(b"")
    with pytest.raises(UsageError, match="cannot reach DaVinci Resolve"):
        rb.read_timeline(None)
    with pytest.raises(UsageError, match="no project is open"):
        rb.read_timeline(FakeResolve(None))
    with pytest.raises(UsageError, match="'Demo' has no current timeline"):
        rb.read_timeline(FakeResolve(FakeProject()))

    resolve, _, timeline = _edit(video)
    timeline.tracks["subtitle"] = []
    with pytest.raises(UsageError, match="has no subtitle track 1"):
        rb.read_timeline(resolve)
    timeline.tracks["subtitle"] = [[]]
    with pytest.raises(UsageError, match="subtitle track 1 of timeline 'Edit 1' is empty"):
        rb.read_timeline(resolve)
    timeline.tracks["subtitle"] = [[FakeTimelineItem("Elsewhere", 10, 20)]]
    with pytest.raises(UsageError, match="none of the 1 subtitles .* lies over the video clip scene.mov"):
        rb.read_timeline(resolve)

    clip = timeline.tracks["video"][0][0]
    timeline.tracks["video"] = [[FakeTimelineItem("Title", 0, 48, media_item=None)]]
    with pytest.raises(UsageError, match="no clip on video track 1 .* comes from a media file"):
        rb.read_timeline(resolve)
    timeline.tracks["video"] = [[]]
    with pytest.raises(UsageError, match="video track 1 of timeline 'Edit 1' is empty"):
        rb.read_timeline(resolve)
    timeline.tracks["video"] = [[clip]]
    video.unlink()
    with pytest.raises(MediaError, match="scene.mov: the video clip's media file is missing"):
        rb.read_timeline(resolve)


def test_the_first_clip_from_a_file_is_dubbed(tmp_path: Path) -> None:
    first, second = tmp_path / "a.mov", tmp_path / "b.mov"
    for path in (first, second):
        path.write_bytes(b"")
    timeline = FakeTimeline("T", video=[
        FakeTimelineItem("b", 500, 600, media_item=FakeMediaPoolItem(str(second))),
        FakeTimelineItem("title", 0, 50),
        FakeTimelineItem("a", 100, 200, media_item=FakeMediaPoolItem(str(first))),
    ])
    assert rb.source_clip(timeline).path == first


# ── Running dubber ──────────────────────────────────────────────────


def test_settings_from_the_environment() -> None:
    settings = rb.DubSettings.from_env({"DUBBER_LANG": "de", "DUBBER_LOUDNESS": "web",
                                        "DUBBER_ARGS": "--voice auto --engine-opt 'a.b=c d'",
                                        "DUBBER_OUT_DIR": "/tmp/out", "DUBBER_SUBTITLE_TRACK": "2"})
    assert settings == rb.DubSettings("de", "web", ("--voice", "auto", "--engine-opt", "a.b=c d"), Path("/tmp/out"), 2)
    assert rb.DubSettings.from_env({}) == rb.DubSettings()
    with pytest.raises(UsageError, match="DUBBER_SUBTITLE_TRACK"):
        rb.DubSettings.from_env({"DUBBER_SUBTITLE_TRACK": "0"})
    with pytest.raises(UsageError, match="DUBBER_ARGS"):
        rb.DubSettings.from_env({"DUBBER_ARGS": "--voice 'open"})


def test_dub_command_is_an_argument_list() -> None:
    video, subs, out = Path("/m/My Film.mov"), Path("/m/x.srt"), Path("/m/out.mp4")
    assert rb.dub_command(["dubber"], video, subs, out, rb.DubSettings()) == [
        "dubber", "dub", "/m/My Film.mov", "/m/x.srt", "-o", "/m/out.mp4", "--export", "otio,srt,stems",
        "--overwrite"]  # the bridge's own folder: a second round trip replaces the first's files
    settings = rb.DubSettings(lang="de", loudness="-23", extra_args=("--voice", "auto"))
    assert rb.dub_command(["/py", "-m", "dubber.cli.main"], video, subs, out, settings)[:2] == ["/py", "-m"]
    assert rb.dub_command(["dubber"], video, subs, out, settings)[9:] == [
        "--lang", "de", "--loudness", "-23", "--voice", "auto"]


def test_outputs_are_named_like_dubbers_exports() -> None:
    outputs = rb.DubOutputs(Path("/w/film.de.mp4"))
    assert (outputs.otio, outputs.srt, outputs.stems, outputs.lines) == (
        Path("/w/film.de.otio"), Path("/w/film.de.srt"), Path("/w/film.de.stems"), Path("/w/film.de.stems/lines"))


def test_find_dubber(tmp_path: Path) -> None:
    program = tmp_path / "bin" / "dubber"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert rb.find_dubber({"DUBBER": str(program)}) == [str(program)]
    assert rb.find_dubber({"DUBBER_PYTHON": sys.executable}) == [sys.executable, "-m", "dubber.cli.main"]
    assert rb.find_dubber({"PATH": str(program.parent)}) == [str(program)]
    with pytest.raises(UsageError, match="DUBBER=.*nope: no such program"):
        rb.find_dubber({"DUBBER": str(tmp_path / "nope")})
    with pytest.raises(UsageError, match="DUBBER_PYTHON=.*: no such Python"):
        rb.find_dubber({"DUBBER_PYTHON": str(tmp_path / "python9")})
    with pytest.raises(UsageError, match="cannot find the dubber program"):
        rb.find_dubber({"PATH": str(tmp_path)})


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_run_dubber_streams_each_line() -> None:
    seen: list[str] = []
    tail = rb.run_dubber(_python("""
        import sys
        sys.stderr.write("dubbing: 1/3\\rdubbing: 2/3\\rdubbing: 3/3\\n")
        sys.stderr.write("dubbed 3 lines: ü\\n")
    """), seen.append)
    assert seen == ["dubbing: 1/3", "dubbing: 2/3", "dubbing: 3/3", "dubbed 3 lines: ü"]
    assert tail == seen


def test_run_dubber_failure_carries_the_tail() -> None:
    with pytest.raises(ProcessError) as caught:
        rb.run_dubber(_python("""
            import sys
            for n in range(30):
                print("line", n, file=sys.stderr)
            sys.exit(2)
        """), lambda line: None)
    err = caught.value
    assert err.returncode == 2
    assert err.tail == [f"line {n}" for n in range(10, 30)]
    assert "exit code 2" in str(err) and str(err).endswith("line 29") and "line 9\n" not in str(err)
    with pytest.raises(ProcessError, match="cannot start dubber"):
        rb.run_dubber(["/no/such/dubber", "dub"], lambda line: None)


def test_child_env_drops_resolves_python_settings() -> None:
    env = rb._child_env({"PYTHONHOME": "/opt/resolve", "PYTHONPATH": "/x", "HOME": "/h"})
    assert env == {"HOME": "/h", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}


# ── Importing into Resolve ──────────────────────────────────────────


def _write_outputs(video: Path, speakers: tuple[str, ...] = ("anna",)) -> rb.DubOutputs:
    outputs = rb.DubOutputs(video)
    video.write_bytes(b"mp4")
    outputs.otio.write_text("{}")
    outputs.srt.write_text("")
    (outputs.stems / "speakers").mkdir(parents=True)
    outputs.lines.mkdir()
    for name in ("dialogue.wav", "background.wav", *(f"speakers/{s}.wav" for s in speakers), "lines/0001.wav"):
        (outputs.stems / name).write_bytes(b"wav")
    return outputs


def test_import_makes_a_timeline_with_a_free_name(tmp_path: Path) -> None:
    outputs = _write_outputs(tmp_path / "film.de.mp4")
    project = FakeProject(timelines=[FakeTimeline("Edit 1 - dubbed"), FakeTimeline("Edit 1 - dubbed 2")])
    result = rb.import_outputs(project, outputs, "Edit 1 - dubbed")
    assert project.pool.timeline_imports == [(str(outputs.otio), {
        "timelineName": "Edit 1 - dubbed 3", "importSourceClips": True, "sourceClipsPath": str(outputs.lines)})]
    assert result.method == "timeline" and result.timeline_name == "Edit 1 - dubbed 3"
    assert project.GetCurrentTimeline() is result.timeline
    assert project.pool.media_imports == []


def test_import_falls_back_to_media(tmp_path: Path) -> None:
    outputs = _write_outputs(tmp_path / "film.de.mp4", speakers=("anna", "ben"))
    project = FakeProject(makes_timelines=False)
    result = rb.import_outputs(project, outputs, "Edit 1 - dubbed")
    stems = outputs.stems
    expected = [outputs.video, stems / "background.wav", stems / "dialogue.wav",
                stems / "speakers" / "anna.wav", stems / "speakers" / "ben.wav"]
    assert len(project.pool.timeline_imports) == 1
    assert project.pool.media_imports == [[str(path) for path in expected]]
    assert result.method == "media" and result.media == expected

    nothing = FakeProject(makes_timelines=False, imports_media=False)
    with pytest.raises(MediaError, match="Resolve imported nothing"):
        rb.import_outputs(nothing, outputs, "x")


# ── The round trip, with a stand-in dubber program ──────────────────

FAKE_DUBBER = """\
#!{python}
# Stands in for `dubber dub`: records its arguments, writes what --export otio,srt,stems writes.
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("-o") + 1])
Path(os.environ["FAKE_LOG"]).write_text(json.dumps(args))
print("dubbing: 1/2", file=sys.stderr, flush=True)
print("dubbing: 2/2", file=sys.stderr, flush=True)
code = int(os.environ.get("FAKE_EXIT", "0"))
if code != 2:
    out.write_bytes(b"mp4")
    out.with_suffix(".otio").write_text("{{}}")
    out.with_suffix(".srt").write_text(Path(args[2]).read_text())
    stems = out.with_suffix(".stems")
    (stems / "lines").mkdir(parents=True, exist_ok=True)
    for name in ("dialogue.wav", "background.wav", "lines/0001.wav"):
        (stems / name).write_bytes(b"wav")
if code:
    print("cue 2: failed: engine said no" if code == 1 else "dubber: usage: bad option", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def fake_dubber(tmp_path: Path) -> Path:
    program = tmp_path / "bin" / "dubber"
    program.parent.mkdir()
    program.write_text(FAKE_DUBBER.format(python=sys.executable))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


def test_round_trip_with_a_stand_in_dubber(tmp_path: Path, fake_dubber: Path) -> None:
    video = tmp_path / "media" / "scene.mov"
    video.parent.mkdir()
    video.write_bytes(b"")
    resolve, project, timeline = _edit(video)
    log = tmp_path / "args.json"
    env = {"DUBBER": str(fake_dubber), "DUBBER_LANG": "de", "FAKE_LOG": str(log), "PATH": os.environ["PATH"]}
    seen: list[str] = []
    result = rb.dub_current_timeline(resolve, env, seen.append)

    folder = video.parent / "scene.dubber"
    assert json.loads(log.read_text()) == [
        "dub", str(video), str(folder / "scene.resolve.srt"), "-o", str(folder / "scene.de.mp4"),
        "--export", "otio,srt,stems", "--overwrite", "--lang", "de"]
    assert result.command[0] == str(fake_dubber)
    assert seen == ["dubbing: 1/2", "dubbing: 2/2"]
    assert [(c.start_ms, c.end_ms) for c in load_subtitles(result.subtitles_path).cues] == [(1000, 3000), (3500, 5500)]
    assert result.imported.timeline_name == "Edit 1 - dubbed (de)" and not result.lines_failed
    assert project.pool.timeline_imports[0][0] == str(folder / "scene.de.otio")
    assert any("timeline frame 86436" in line for line in rb.summary(result))

    # Some lines failed (exit 1) but the video was written: keep it and say so.
    assert project.GetCurrentTimeline() is result.imported.timeline
    project.SetCurrentTimeline(timeline)
    env["FAKE_EXIT"] = "1"
    again = rb.dub_current_timeline(resolve, env, seen.append)
    assert again.lines_failed and again.imported.timeline_name == "Edit 1 - dubbed (de) 2"
    assert any("some lines could not be dubbed" in line for line in rb.summary(again))

    # A usage error writes nothing: the error carries dubber's last words.
    project.SetCurrentTimeline(timeline)
    env["FAKE_EXIT"] = "2"
    with pytest.raises(ProcessError, match="(?s)exit code 2.*bad option"):
        rb.dub_current_timeline(resolve, env, seen.append)
    messages: list[str] = []
    assert rb.main(resolve, env, messages.append) == 1
    assert messages[-1].startswith("dubber: dubber failed (exit code 2)")


def test_the_resolve_script_runs_the_bridge(tmp_path: Path, fake_dubber: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    video = tmp_path / "scene.mov"
    video.write_bytes(b"")
    resolve, project, _ = _edit(video)
    monkeypatch.setenv("DUBBER", str(fake_dubber))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "args.json"))
    monkeypatch.setenv("DUBBER_OUT_DIR", str(tmp_path / "out"))
    runpy.run_path(str(SCRIPT), init_globals={"resolve": resolve})
    printed = capsys.readouterr().out
    assert "dubber: imported timeline 'Edit 1 - dubbed'" in printed
    assert (tmp_path / "out" / "scene.dubbed.mp4").is_file()
    assert project.GetCurrentTimeline().GetName() == "Edit 1 - dubbed"

    runpy.run_path(str(SCRIPT), init_globals={})  # outside Resolve: no `resolve`, no DaVinciResolveScript
    assert "cannot reach DaVinci Resolve's scripting API" in capsys.readouterr().out


def test_the_script_loads_the_bridge_from_dubber_python(tmp_path: Path) -> None:
    # A bare interpreter without dubber on its path finds the bridge through DUBBER_PYTHON.
    code = ("import runpy; g = runpy.run_path(%r, run_name='probe'); import dubber.plugin.resolve_bridge as b; "
            "print(b.__file__)") % str(SCRIPT)
    env = {"DUBBER_PYTHON": sys.executable, "PATH": os.environ["PATH"]}
    bare = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path,  # -S: no site-packages
                          capture_output=True, text=True, timeout=60)
    assert bare.returncode == 0, bare.stderr
    assert Path(bare.stdout.strip().splitlines()[-1]) == Path(rb.__file__)
    assert "cannot reach DaVinci Resolve" in bare.stdout

    lost = subprocess.run([sys.executable, "-S", "-c", f"import runpy; runpy.run_path({str(SCRIPT)!r})"],
                          env={"PATH": os.environ["PATH"]}, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert lost.returncode == 0, lost.stderr
    assert "cannot load dubber.plugin.resolve_bridge" in lost.stdout and "set DUBBER_PYTHON" in lost.stdout


def test_the_bridge_needs_only_the_standard_library() -> None:
    # Resolve's Python may lack dubber's dependencies: importing the bridge must not pull them in.
    code = ("import sys; before = set(sys.modules); import dubber.plugin.resolve_bridge; "
            "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(m for m in new if m not in sys.stdlib_module_names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['dubber']"


# ── The real dubber ─────────────────────────────────────────────────


def _dubber_exports() -> bool:
    program = Path(sys.executable).with_name("dubber")
    if not program.is_file():
        return False
    help_text = subprocess.run([str(program), "dub", "--help"], capture_output=True, text=True).stdout
    return "--export" in help_text


@pytest.mark.skipif(not _dubber_exports(), reason="needs the dubber CLI with --export in this environment")
def test_round_trip_with_the_real_dubber(tmp_path: Path) -> None:
    video = tmp_path / "demo.mp4"
    video.write_bytes(SAMPLE.read_bytes())
    start = 86400 + 48
    # Two lines where the sample speaks its first two cues, on a timeline trimmed like an editor would.
    resolve, project, _ = _edit(video, subtitles=[
        FakeTimelineItem("Good morning. Today we go to the harbour.", start + 7, start + 72),
        FakeTimelineItem("The boats leave at nine, so we should hurry.", start + 82, start + 130),
    ], makes_timelines=False)
    env = {"DUBBER": str(Path(sys.executable).with_name("dubber")), "PATH": os.environ["PATH"]}
    result = rb.dub_current_timeline(resolve, env, lambda line: None)

    outputs = result.outputs
    assert not result.lines_failed  # dubber exited 0: every line fitted its slot
    assert outputs.video.is_file() and outputs.otio.is_file() and (outputs.stems / "dialogue.wav").is_file()
    assert sorted(p.name for p in outputs.lines.iterdir()) == ["0001.wav", "0002.wav"]
    assert media.probe(outputs.video).duration_ms == pytest.approx(media.probe(SAMPLE).duration_ms, abs=100)
    spoken = load_subtitles(outputs.srt).cues
    # The dubbed speech lies within the slots read off the timeline (file frames 19-84 and 94-142 at 24 fps).
    slots = [(c.start_ms, c.end_ms) for c in load_subtitles(result.subtitles_path).cues]
    assert slots == [(792, 3500), (3917, 5917)]
    # Each line starts inside its slot, where the original speech starts, and may run on past the slot
    # with the original speech, but never into the next line.
    bounds = [slots[1][0], media.probe(SAMPLE).duration_ms]
    for cue, (start_ms, end_ms), bound in zip(spoken, slots, bounds):
        assert start_ms - 60 <= cue.start_ms < end_ms and cue.end_ms <= bound
    # The stand-in media pool made no timeline of the OTIO, so the video and stems went to the media pool.
    assert result.imported.method == "media"
    assert project.pool.media_imports[0][0] == str(outputs.video)
