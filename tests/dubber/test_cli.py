import json

import pytest

from dubber.cli import describe_error, main
from dubber.errors import EngineUnavailable, MediaError, ProcessError, SubtitleError, UsageError


def test_engines_json_lists_the_builtins(capsys):
    assert main(["engines", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"kokoro", "piper"} <= set(rows)
    assert rows["kokoro"]["available"] and "ja" in rows["kokoro"]["capabilities"]["languages"]
    assert rows["piper"]["capabilities"]["sample_rate"] == 22050


def test_engines_text(capsys):
    assert main(["engines"]) == 0
    assert "piper" in capsys.readouterr().out


def test_check_reports_file_and_line(tmp_path, capsys):
    srt = tmp_path / "x.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03,000 --> 00:00:03,000\nzero\n\n",
                   encoding="utf-8")
    assert main(["check", str(srt)]) == 1
    out = capsys.readouterr().out
    assert f"{srt}:6: error" in out and "1 cues" in out


def test_check_json(tmp_path, capsys):
    srt = tmp_path / "ok.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nfine\n", encoding="utf-8")
    assert main(["check", str(srt), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cues"] == 1 and doc["format"] == "srt" and doc["diagnostics"] == []


def test_check_missing_file_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing.srt")]) == 2
    assert "missing.srt" in capsys.readouterr().err


@pytest.mark.parametrize("seconds", ["2.4", "3"])
def test_say_prints_one_measured_json_object(tmp_path, capsys, seconds):
    out = tmp_path / "x.wav"
    code = main(["say", "This sentence is spoken to fit its slot.", "--duration", seconds, "-o", str(out),
                 "--engine", "piper"])
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"target_ms", "speech_ms", "error_ms", "method", "stretch", "status"}
    assert doc["target_ms"] == round(float(seconds) * 1000)
    if doc["status"] == "ok":
        assert code == 0 and abs(doc["error_ms"]) <= 50
    else:
        assert code == 1 and doc["status"] in ("too_long", "too_short")
    assert out.exists()


def test_say_bad_duration_is_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["say", "hi", "--duration", "-1", "-o", "x.wav"])
    assert exc.value.code == 2


def test_say_unknown_engine_exits_2(tmp_path, capsys):
    assert main(["say", "hi", "--duration", "1", "-o", str(tmp_path / "x.wav"), "--engine", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_say_wrong_language_exits_2(tmp_path, capsys):
    assert main(["say", "hi", "--duration", "1", "-o", str(tmp_path / "x.wav"), "--engine", "piper",
                 "--lang", "ja"]) == 2
    assert "does not speak" in capsys.readouterr().err


@pytest.mark.parametrize("exc,code", [(UsageError("u"), 2), (SubtitleError("s"), 2), (MediaError("m"), 2),
                                      (EngineUnavailable("e"), 2), (ProcessError("p"), 1)])
def test_each_error_type_has_a_message_and_code(exc, code):
    message, got = describe_error(exc)
    assert got == code and message.startswith("dubber: ")


def test_verify_measures_a_dubbed_file(tmp_path, capsys):
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "samples"
    out = tmp_path / "d.mkv"
    assert main(["dub", str(samples / "demo.mp4"), str(samples / "demo.en.srt"), "-o", str(out),
                 "--mix", "replace"]) == 0
    capsys.readouterr()
    assert main(["verify", str(out), str(samples / "demo.en.srt"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lines"] == 6 and doc["outside"] == 0
    # The original video's audio is Japanese at other lengths: it does not pass as the dub.
    assert main(["verify", str(samples / "demo.mp4"), str(samples / "demo.en.srt")]) == 1
    assert "--stem" in capsys.readouterr().err
