import json

from dubber.files import write_json_atomic
from dubber.fitting.report import LineReport, build_report, summarize
from dubber.fitting.slots import Slot, judge


def _line(i, err, sync="fill"):
    line = LineReport(index=i, start_ms=1000 * i, end_ms=1000 * i + 800, speaker=None, text="x",
                      engine="tone", voice="a", seed=0, target_ms=800, sync=sync)
    _measure(line, 1000 * i + err, 1000 * i + 800 - err)
    return line


def _measure(line, start, end, fill=True):
    slot = Slot(line.start_ms, line.end_ms, 800 if fill else None, fill)
    line.judged(start, end, slot, judge((start, end), slot))


def test_fill_takes_the_worse_edge():
    line = _line(1, 10)
    assert line.onset_error_ms == 10 and line.offset_error_ms == -10 and abs(line.error_ms) == 10
    _measure(line, 1000, 1830)
    assert line.error_ms == 30 and line.status == "ok"
    _measure(line, 1000, 1860)
    assert line.error_ms == 60 and line.status == "too_long" and "longer than its cue by 60 ms" in line.reason


def test_a_line_timed_to_speech_is_judged_by_its_window_and_records_the_original_length():
    line = LineReport(index=1, start_ms=1000, end_ms=3000, speaker=None, text="x", engine="tone", voice="a",
                      seed=0, target_ms=900, sync="speech", target_start_ms=1200, target_end_ms=2100)
    slot = Slot(1200, 2960, 900)
    line.judged(1200, 1800, slot, judge((1200, 1800), slot))
    assert line.status == "ok" and line.error_ms == 0 and line.length_error_ms == -300
    assert line.onset_ms == 1200 and line.window_end_ms == 2960 and "300 ms shorter" in line.reason


def test_summary_counts_and_statistics():
    lines = [_line(1, 5), _line(2, 20), _line(3, 70)]
    s = summarize(lines, wall_ms=3000, audio_ms=2400)
    assert s["by_status"] == {"ok": 2, "too_short": 1}
    assert s["median_abs_error_ms"] == 20 and s["max_abs_error_ms"] == 70 and s["within_50ms"] == 2
    assert s["rtf"] == 1.25


def test_report_round_trips_through_json(tmp_path):
    lines = [_line(1, 5)]
    doc = build_report(lines, summarize(lines, 1, 1), [], {"video": "v.mp4"})
    path = tmp_path / "sub" / "r.json"
    write_json_atomic(path, doc)
    back = json.loads(path.read_text())
    assert back["lines"][0]["error_ms"] in (5, -5) and back["schema"].startswith("dubber.fitting.report/")
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_report_file_gets_ordinary_permissions(tmp_path):
    import os
    import stat

    path = tmp_path / "r.json"
    write_json_atomic(path, {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
