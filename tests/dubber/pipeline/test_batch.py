"""A batch dubs each video exactly as dub() alone does, goes on past a failing video, and checks every
output before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio import media
from dubber.errors import OutputClash, UsageError
from dubber.pipeline.batch import BatchVideo, LocalExecutor, run_batch
from dubber.pipeline.dub import DubOptions, dub
from tests.dubber.pipeline.test_resume import tone_lines


@pytest.fixture
def engine(frame_tone):
    return frame_tone


@pytest.fixture
def pair(tmp_path):
    """Two short generated videos with 4 and 5 lines, and their SRTs."""
    return [tone_lines(tmp_path, count, name)[:2] for count, name in ((4, "one"), (5, "two"))]


def options(**changes):
    return DubOptions(lang="en", engine="frametone", mix="duck", **changes)


def videos_for(pair, folder, **changes):
    return [BatchVideo(video.stem, "en", video, subs, folder / f"{video.stem}.dub.mp4", options(**changes),
                       stem=folder / f"{video.stem}.wav", report=folder / f"{video.stem}.report.json",
                       where=f"m.toml: video {i} ({video.stem})") for i, (video, subs) in enumerate(pair, 1)]


def test_a_batch_writes_what_dub_writes_per_video_and_goes_on_past_a_failure(engine, pair, tmp_path):
    alone = tmp_path / "alone"
    for video, subs in pair:
        dub(video, subs, alone / f"{video.stem}.dub.mp4", options(), stem_path=alone / f"{video.stem}.wav",
            report_path=alone / f"{video.stem}.report.json")
    batch = tmp_path / "batch"
    videos = videos_for(pair, batch)
    missing = BatchVideo("gone", "en", pair[0][0], tmp_path / "gone.srt", batch / "gone.mp4", options(),
                         where="m.toml: video 3 (gone)")
    seen = []
    result = run_batch([videos[0], missing, videos[1]], LocalExecutor(), lambda *a: seen.append(a),
                       summary_path=batch / "summary.json")

    for video, _ in pair:
        mine, rate = media.read_wav(batch / f"{video.stem}.wav")
        theirs, _ = media.read_wav(alone / f"{video.stem}.wav")
        assert rate == 48000 and mine.size > 0 and np.array_equal(mine, theirs)
        lines = json.loads((batch / f"{video.stem}.report.json").read_text())["lines"]
        assert lines == json.loads((alone / f"{video.stem}.report.json").read_text())["lines"]
        assert np.array_equal(media.decode_audio(batch / f"{video.stem}.dub.mp4", 48000),
                              media.decode_audio(alone / f"{video.stem}.dub.mp4", 48000))

    one, gone, two = result.outcomes
    assert (one.lines, two.lines, gone.lines) == (4, 5, 0)
    assert one.ok + one.failed <= 4 and one.status in ("ok", "lines failed")
    assert gone.status == "failed" and "gone.srt" in gone.error and not (batch / "gone.mp4").exists()
    assert not result.ok
    # one count over all videos, growing to every spoken line
    assert seen[0][:2] == (0, 9) and seen[-1][:2] == (9, 9)
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)
    summary = json.loads((batch / "summary.json").read_text())
    assert summary["total"] == {**summary["total"], "videos": 3, "videos_failed": 1, "lines": 9,
                                "ok": one.ok + two.ok, "failed": one.failed + two.failed}
    assert [v["status"] for v in summary["videos"]][1] == "failed"
    table = result.table()
    assert "gone" in table and "1 of 3 failed" in table and table.count("\n") == 6


def test_outputs_are_checked_before_any_line_is_rendered(engine, pair, tmp_path):
    videos = videos_for(pair, tmp_path / "out")
    videos[1].stem.parent.mkdir(parents=True)
    videos[1].stem.write_bytes(b"last week's stem")
    with pytest.raises(OutputClash, match=r"video 2 \(two\).*two.wav already exists"):
        run_batch(videos)
    assert engine.calls == 0 and not videos[0].output.exists()
    result = run_batch(videos, overwrite=True)
    assert result.ok and engine.calls > 0 and videos[1].stem.read_bytes() != b"last week's stem"


def test_two_videos_writing_one_file_are_refused_naming_both(engine, pair, tmp_path):
    first, second = videos_for(pair, tmp_path)
    from dataclasses import replace

    second = replace(second, report=first.report)
    with pytest.raises(OutputClash, match=r"video 1 \(one\)'s the report and .*video 2 \(two\)'s the report"):
        run_batch([first, second])
    with pytest.raises(UsageError, match="no videos"):
        run_batch([])
    assert engine.calls == 0


def test_a_rerun_renders_nothing_and_writes_the_same(engine, pair, tmp_path):
    videos = videos_for(pair, tmp_path)
    run_batch(videos)
    calls = engine.calls
    stems = [media.read_wav(v.stem)[0] for v in videos]
    again = run_batch(videos, overwrite=True)
    assert engine.calls == calls and again.total()["lines"] == 9
    assert all(np.array_equal(media.read_wav(v.stem)[0], stem) for v, stem in zip(videos, stems))
