"""File names with a leading '-', quotes, spaces, a newline, '%' and non-ASCII letters survive `dubber dub`.

One real dub with Piper, run from the files' own folder with relative names, so each name reaches
dubber (and ffmpeg) exactly as typed: the video, the subtitles, the output, the report, the stem,
and every hand-off file written beside the output.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.cli.main import main
from dubber.subtitles.load import load_subtitles

# Windows file names take neither quotes nor line breaks.
NAME = ("-it's ünïcode 50%03d 日本 clip" if sys.platform == "win32"
        else "-it's \"odd\" 50%03d ünïcode 日本\nline")
OUTPUT = f"-dubbed {NAME}"
RATE = 24000
LINES = ["Hello there, my friend.", "This is a short test."]
SRT = f"""1
00:00:00,300 --> 00:00:01,900
{LINES[0]}

2
00:00:02,200 --> 00:00:03,700
{LINES[1]}
"""


@pytest.fixture(scope="module")
def dubbed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dub a 4 s test video whose every file name is odd; return the folder."""
    folder = tmp_path_factory.mktemp("odd names")
    t = np.arange(RATE * 4) / RATE
    media.make_test_video(folder / f"{NAME}.mp4", 4000, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE)
    (folder / f"{NAME}.srt").write_text(SRT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        code = main(["dub", "--engine", "piper", "--mix", "replace", "--export", "otio,fcpxml,edl,srt,vtt,stems",
                     f"--report={NAME}.report.json", f"--stem={NAME}.stem.wav", f"--output={OUTPUT}.mp4",
                     "--", f"{NAME}.mp4", f"{NAME}.srt"])
    assert code == 0
    return folder


def test_the_output_keeps_the_picture_and_carries_the_dub(dubbed: Path) -> None:
    out = dubbed / f"{OUTPUT}.mp4"
    info = media.probe(out)
    assert len(info.video_streams) == 1 and len(info.audio_streams) == 2  # the dub, then the original
    assert media.video_packet_checksums(out) == media.video_packet_checksums(dubbed / f"{NAME}.mp4")
    dub = media.decode_audio(out, 16000, channels=1)[:, 0]
    assert abs(len(dub) - 4 * 16000) < 16000 // 10
    assert np.sqrt(np.mean(dub[int(0.4 * 16000):int(1.8 * 16000)] ** 2)) > 0.01  # speech where cue 1 is


def test_verify_reads_the_odd_names_back(dubbed: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(dubbed)
    assert main(["verify", "--json", "--", f"{OUTPUT}.mp4", f"{NAME}.srt"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 2


def test_report_stem_and_stems_are_written_under_the_odd_names(dubbed: Path) -> None:
    report = json.loads((dubbed / f"{NAME}.report.json").read_text(encoding="utf-8"))
    assert len(report["lines"]) == 2
    stem, rate = media.read_wav(dubbed / f"{NAME}.stem.wav")
    assert abs(len(stem) / rate - 4.0) < 0.1 and np.abs(stem).max() > 0.05
    stems = dubbed / f"{OUTPUT}.stems"
    assert (stems / "dialogue.wav").is_file()
    assert sorted(p.name for p in (stems / "lines").iterdir()) == ["0001.wav", "0002.wav"]


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_dubbed_subtitles_are_written_under_the_odd_name(dubbed: Path, suffix: str) -> None:
    cues = load_subtitles(dubbed / f"{OUTPUT}{suffix}").cues
    assert [cue.text for cue in cues] == LINES


def _local_path(url: str) -> Path:
    assert url.startswith("file://"), url
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))


def test_every_timeline_url_finds_its_file(dubbed: Path) -> None:
    otio = (dubbed / f"{OUTPUT}.otio").read_text(encoding="utf-8")
    otio_urls = re.findall(r'"target_url": "([^"]+)"', otio)
    fcpxml = ElementTree.parse(dubbed / f"{OUTPUT}.fcpxml")
    fcpxml_urls = [asset.get("src") for asset in fcpxml.iter("asset") if asset.get("src")]
    for urls in (otio_urls, fcpxml_urls):
        paths = {_local_path(url) for url in urls}
        assert dubbed / f"{NAME}.mp4" in paths
        assert len(paths) == 3 and all(path.is_file() for path in paths)


TIMECODE = r"\d\d:\d\d:\d\d:\d\d"
EDL_LINE = re.compile(rf"^(TITLE: .*|FCM: .*|\* .*|\d{{3}}\s+\S+\s+\S+\s+\S+\s+{TIMECODE}( {TIMECODE}){{3}}|)$")


def test_every_edl_line_is_an_edl_line(dubbed: Path) -> None:
    edls = sorted(dubbed.glob("-dubbed*.edl"))
    assert len(edls) == 3  # the video track, the original audio, the dub
    stray = [(edl.name, line) for edl in edls for line in edl.read_text(encoding="utf-8").splitlines()
             if not EDL_LINE.match(line)]
    assert not stray
