"""Bad input never costs work: every file of the corpus in tests/data/bad/ (see its README.md) is read or
dubbed without a traceback, with a message naming the file (and the line, for subtitle problems), the
exit code the CLI promises (0 ok, 1 lines failed or output unwritable, 2 unreadable input), the valid
lines still dubbed, and any project file left behind still loadable.

Most subtitle files go through `load_subtitles` and `dubber check`; a handful, and every media file, go
through a real `dubber dub` with Piper and `--mix replace`. A read-only output folder and a full disk are
made at test time, in a subprocess running the real command line (see those tests for how).
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dubber.cli.main import main
from dubber.errors import SubtitleError
from dubber.plugin.engine import SynthesisRequest
from dubber.project.store import load_project, project_path_for
from dubber.subtitles.load import load_subtitles

BAD = Path(__file__).resolve().parents[2] / "data" / "bad"
MANIFEST = json.loads((BAD / "manifest.json").read_text(encoding="utf-8"))
SUBTITLES = MANIFEST["subtitles"]
MEDIA = MANIFEST["media"]
MEDIA_LINES = MANIFEST["media_lines"]
VIDEO = BAD / "media-ok.mp4"
LINES_SRT = BAD / MANIFEST["media_subtitles"]


def by_file(entries):
    return pytest.mark.parametrize("case", entries, ids=[e["file"] for e in entries])


def dub_args(video, subtitles, out: Path, *extra: str) -> list[str]:
    return ["dub", str(video), str(subtitles), "-o", str(out), "--engine", "piper", "--mix", "replace",
            "--report", str(out.with_suffix(".report.json")), *extra]


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


def assert_project_loads(out: Path) -> None:
    """A project left beside the output, after success or failure, is whole."""
    project = project_path_for(out)
    if project.exists():
        load_project(project)
    assert not [p.name for p in out.parent.glob(".*partial*")], "a half-written file was left behind"


def report_lines(out: Path) -> list[dict]:
    return json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))["lines"]


def assert_dubbed(out: Path, cues: list[list], failed: tuple[str, ...] = (), skipped: tuple[str, ...] = ()) -> None:
    """Each cue is in the report; those inside the video were spoken in sync, the `failed` ones were not, the
    `skipped` ones (past the video's end) were never synthesised."""
    report = json.loads(out.with_suffix(".report.json").read_text(encoding="utf-8"))
    lines = {(line["start_ms"], line["end_ms"], line["text"]): line for line in report["lines"]}
    lines.update({(line["start_ms"], line["end_ms"], line["text"]): {**line, "status": "skipped"}
                  for line in report["skipped"]})
    assert len(lines) == len(cues)
    for start, end, text in cues:
        line = lines[(start, end, text)]
        if text in failed:
            assert line["status"] == "failed" and line["reason"], line
        elif text in skipped:
            assert line["status"] == "skipped" and line["skip"] == "past-end", line
        else:
            assert line["status"] == "ok", line  # it starts on its mark and ends inside its window
            assert abs(line["onset_error_ms"]) <= 50 and line["offset_error_ms"] <= 25, line
    project = load_project(project_path_for(out))
    assert sorted((line.start_ms, line.end_ms, line.text) for line in project.lines) == sorted(map(tuple, cues))


# The corpus itself


def test_the_corpus_is_what_its_generator_writes(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_bad_corpus", BAD.parent / "make_bad_corpus.py")
    generator = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, generator)  # its dataclasses look their module up
    spec.loader.exec_module(generator)
    written = generator.write_corpus(tmp_path)
    assert [p.name for p in written] == sorted(p.name for p in BAD.iterdir() if p.is_file())
    # The media's bytes depend on the ffmpeg build; everything else must match to the byte.
    changed = [p.name for p in written
               if p.suffix not in (".mp4", ".m4a") and p.read_bytes() != (BAD / p.name).read_bytes()]
    assert changed == [], "run tests/data/make_bad_corpus.py again"


def test_the_corpus_is_many_small_files():
    files = [p for p in BAD.iterdir() if p.is_file()]
    assert len(SUBTITLES) + len(MEDIA) >= 50
    assert {e["file"] for e in SUBTITLES} | {m["file"] for m in MEDIA} <= {p.name for p in files}
    assert sum(p.stat().st_size for p in files) < 1_000_000


# Subtitle files: read in-process

CHECK_CODES = {"short-cue", "display-time", "reading-speed", "wrong-language", "past-end"}


@by_file(SUBTITLES)
def test_load_keeps_the_valid_cues_and_names_every_problem(case):
    path = BAD / case["file"]
    started = time.monotonic()
    if case["error"]:
        with pytest.raises(SubtitleError) as info:
            load_subtitles(path)
        assert str(path) in str(info.value) and case["error"] in str(info.value)
        assert info.value.path == str(path)
        return
    load = load_subtitles(path)
    assert time.monotonic() - started < 2  # no pathological regular expression
    assert [[c.start_ms, c.end_ms, c.text] for c in load.cues] == case["cues"]
    def in_order(diagnostics):
        return sorted(diagnostics, key=lambda d: (d[0] or 0, d[1], d[2]))

    assert in_order([d.line, d.severity, d.code] for d in load.diagnostics) == in_order(case["diagnostics"])
    for diag in load.diagnostics:
        where = f"{path}:{diag.line}: " if diag.line is not None else f"{path}: "
        assert str(diag).startswith(where + diag.severity) and diag.message
    if case["format"]:
        assert load.format == case["format"]
    if case["encodings"]:
        assert load.encoding in case["encodings"]
    for cue in load.cues:
        assert 0 <= cue.start_ms < cue.end_ms and any(ch.isalnum() for ch in cue.text)


@by_file(SUBTITLES)
def test_check_exits_with_its_code_and_prints_file_and_line(case, capsys):
    path = BAD / case["file"]
    assert main(["check", str(path)]) == case["check_exit"]
    out, err = capsys.readouterr()
    no_traceback(out, err)
    if case["error"]:
        assert err.startswith("dubber: cannot read subtitles: ") and str(path) in err
        return
    for line, severity, _ in case["diagnostics"]:
        assert (f"{path}:{line}: {severity}: " if line else f"{path}: {severity}: ") in out
    assert f"{path}: {len(case['cues'])} cues" in out
    assert main(["check", str(path), "--json"]) == case["check_exit"]
    doc = json.loads(capsys.readouterr().out)
    # check lists what the loader finds, and what needs the whole file: timing and language outliers.
    loader = [d for d in doc["diagnostics"] if d["code"] not in CHECK_CODES]
    assert doc["cues"] == len(case["cues"]) and len(loader) == len(case["diagnostics"])
    assert all(d["severity"] == "warning" for d in doc["diagnostics"] if d["code"] in CHECK_CODES)


# Subtitle files: dubbed for real


@by_file([e for e in SUBTITLES if e["dub"]])
def test_dub_speaks_the_valid_lines_of_a_broken_file(case, tmp_path, capsys):
    path, out = BAD / case["file"], tmp_path / "out.mp4"
    code = main(dub_args(VIDEO, path, out))
    _, err = capsys.readouterr()
    no_traceback(err)
    assert code == case["dub"]["exit"]
    for line, severity, _ in case["diagnostics"]:
        assert (f"{path}:{line}: {severity}: " if line else f"{path}: {severity}: ") in err
    assert out.exists()
    assert_dubbed(out, case["cues"], tuple(case["dub"]["failed"]), tuple(case["dub"].get("skipped", ())))
    for line in report_lines(out):
        if line["status"] != "ok":  # each failed line is named by file and line, like the diagnostics
            assert f"{path}:{line['line']}: {line['status']}: {line['reason']}" in err
    assert_project_loads(out)


# Media files


@by_file(MEDIA)
def test_dub_of_bad_media(case, tmp_path, capsys):
    video, out = BAD / case["file"], tmp_path / "out.mp4"
    code = main(dub_args(video, LINES_SRT, out))
    _, err = capsys.readouterr()
    no_traceback(err)
    assert code == case["exit"]
    if case["dubbed"]:
        assert out.exists()
        assert_dubbed(out, MEDIA_LINES)
    else:
        assert err.startswith("dubber: cannot read media: ") and case["message"] in err
        assert case["file"] in err and not out.exists()
    assert_project_loads(out)


@pytest.mark.parametrize("video, subtitles, message", [
    ("missing.mp4", LINES_SRT, "media file not found"),
    (VIDEO, "missing.srt", "subtitle file not found"),
    (VIDEO, ".", "is a directory"),
])
def test_missing_input_exits_2_naming_it(tmp_path, capsys, video, subtitles, message):
    video = tmp_path / video if isinstance(video, str) else video
    subtitles = tmp_path / subtitles if isinstance(subtitles, str) else subtitles
    out = tmp_path / "out" / "out.mp4"
    assert main(dub_args(video, subtitles, out)) == 2
    _, err = capsys.readouterr()
    no_traceback(err)
    named = video if message.startswith("media") else subtitles
    assert message in err and str(named) in err
    assert not out.parent.exists()  # nothing written before the inputs were known to be readable


@pytest.mark.parametrize("video, output", [(BAD / "media-audio-only.m4a", "out.mp4"), (VIDEO, "out.avi")])
def test_unusable_input_or_output_fails_before_any_line_is_rendered(tmp_path, capsys, monkeypatch, video, output):
    import dubber.pipeline.dub

    rendered = []
    real = dubber.pipeline.dub.render_take
    monkeypatch.setattr(dubber.pipeline.dub, "render_take", lambda *a, **k: rendered.append(1) or real(*a, **k))
    assert main(dub_args(video, LINES_SRT, tmp_path / output)) == 2
    assert rendered == []


# Outputs that cannot be written, in a subprocess running the real command line


def run_cli(args: list[str], preexec) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dubber.cli.main", *args], preexec_fn=preexec, capture_output=True,
                          text=True, timeout=300)


def _drop_root_override() -> None:
    """In the child: give up the capabilities that let root write anywhere, so file modes apply to it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP; takes effect at exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def piper_cached():
    """Piper's patched model in the test cache, so a child that cannot write still finds it."""
    from dubber.plugin import registry

    registry.get_engine("piper").synthesize(SynthesisRequest("Hi.", "en"))


@pytest.mark.skipif(sys.platform != "linux", reason="drops root's override with Linux prctl")
def test_read_only_output_folder(tmp_path, piper_cached):
    """A folder the user cannot write to (mode 0555; as root, with CAP_DAC_OVERRIDE dropped in the child)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run_cli(dub_args(VIDEO, LINES_SRT, folder / "out.mp4"),
                         _drop_root_override if os.geteuid() == 0 else None)
    except subprocess.SubprocessError as exc:  # a sandbox that refuses prctl
        pytest.skip(f"cannot make a folder read-only for root here: {exc}")
    finally:
        folder.chmod(0o755)
    no_traceback(result.stderr)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]  # after the warnings about the input, said up front
    assert last.startswith("dubber: output: cannot write ") and str(folder) in last
    assert "Permission denied" in result.stderr
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_full_disk_keeps_the_rendered_lines(tmp_path, piper_cached):
    """The disk fills up during the mix: simulated with RLIMIT_FSIZE in the child, so every write past
    the limit fails with EFBIG in dubber, libsndfile and ffmpeg alike. The original's sound decoded to be
    read by ranges (3 s of raw float32 mono) and the takes (about 60 kB each) fit; the mix WAV, as long
    as the original plus its header, does not. The lines already rendered are kept in the project, whole."""
    import resource

    limit = 3 * 48000 * 4 + 8

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing

    out = tmp_path / "out" / "out.mp4"
    result = run_cli(dub_args(VIDEO, LINES_SRT, out), full_disk)
    no_traceback(result.stderr)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r"dubber: output: cannot write '[^']+': File too large", last), result.stderr
    assert not out.exists() and not out.with_suffix(".report.json").exists()
    assert_project_loads(out)
    project = load_project(project_path_for(out))
    kept = {(line.start_ms, line.end_ms, line.text): line for line in project.lines}
    assert sorted(kept) == sorted(map(tuple, MEDIA_LINES))
    for line in kept.values():
        take = line.take
        assert take is not None and take.status == "ok"
        assert (project_path_for(out).parent / take.audio).stat().st_size > 0


def test_a_full_disk_while_the_original_is_decoded_names_the_file(tmp_path, piper_cached):
    """The disk is full before the first line: the message names the decoded copy it could not write."""
    import resource

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    out = tmp_path / "out" / "out.mp4"
    result = run_cli(dub_args(VIDEO, LINES_SRT, out), full_disk)
    no_traceback(result.stderr)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r"dubber: output: cannot write '[^']+original-48000-1\.f32', the original's sound decoded "
                    r"to be read by ranges: File too large", last), result.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def dubbed_once(tmp_path_factory):
    """A finished dub whose project a later run must not spoil (the runs below fail to write it)."""
    out = tmp_path_factory.mktemp("dubbed") / "out.mp4"
    assert main(dub_args(VIDEO, LINES_SRT, out)) == 0
    return out


def _no_space(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_no_space_when_saving_leaves_the_previous_project(dubbed_once, monkeypatch, capsys):
    """ENOSPC where a full disk reports it on delayed-allocation file systems: at fsync, saving the project."""
    before = project_path_for(dubbed_once).read_bytes()
    monkeypatch.setattr(os, "fsync", _no_space)
    code = main(dub_args(VIDEO, LINES_SRT, dubbed_once, "--overwrite"))
    _, err = capsys.readouterr()
    no_traceback(err)
    assert code == 1 and "No space left on device" in err
    assert project_path_for(dubbed_once).read_bytes() == before
    assert_project_loads(dubbed_once)


def test_no_space_when_saving_names_the_file(dubbed_once, monkeypatch, capsys):
    monkeypatch.setattr(os, "fsync", _no_space)
    main(dub_args(VIDEO, LINES_SRT, dubbed_once, "--overwrite"))
    assert str(project_path_for(dubbed_once)) in capsys.readouterr().err
