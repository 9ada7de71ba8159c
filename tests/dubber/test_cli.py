import json

import pytest

from tests.conftest import CloningToneEngine
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


@pytest.fixture
def cloning(monkeypatch):
    from dubber.plugin import registry

    engine = CloningToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    return engine


def _clip(path):
    import numpy as np
    import soundfile

    soundfile.write(path, (0.1 * np.sin(np.arange(16000 * 4) / 7)).astype("float32"), 16000)
    return path


def test_say_passes_the_reference_and_emotion_to_every_take(tmp_path, capsys, cloning):
    ref = _clip(tmp_path / "speaker one.wav")
    code = main(["say", "a line spoken in a cloned voice", "--duration", "2.2", "-o", str(tmp_path / "x.wav"),
                 "--engine", "cloning", "--reference", str(ref), "--reference-text", " what the clip says ",
                 "--reference-lang", "ja", "--emotion-text", "quietly furious", "--emotion-alpha", "0.6"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "ok" and abs(doc["error_ms"]) <= 50
    kinds = {kind for kind, _, _ in cloning.seen}
    assert kinds == {"synthesize", "frames"}  # the native re-timing got the reference too
    for _, reference, emotion in cloning.seen:
        assert reference.audio_path == ref.absolute() and reference.text == "what the clip says"
        assert reference.lang == "ja"
        assert emotion.kind == "text" and emotion.text == "quietly furious" and emotion.alpha == 0.6


def test_a_cloning_engine_without_a_reference_says_how_to_give_one(tmp_path, capsys, cloning):
    assert main(["say", "hello", "--duration", "1", "-o", str(tmp_path / "x.wav"), "--engine", "cloning"]) == 2
    assert "--reference" in capsys.readouterr().err and not cloning.seen


def test_an_engine_that_cannot_clone_measures_its_similarity_to_the_reference(tmp_path, capsys):
    from dubber.plugin.registry import get_engine

    take = get_engine("piper").synthesize("A reference spoken by the same voice, to compare with.", "en")
    ref = tmp_path / "r.wav"
    import soundfile

    soundfile.write(ref, take.samples, take.sample_rate)
    assert main(["say", "hello there, my friend", "--duration", "1.2", "-o", str(tmp_path / "x.wav"),
                 "--engine", "piper", "--reference", str(ref)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["voice"] == "en_US-joe-medium" and 0.5 < doc["similarity"] <= 1.0


@pytest.mark.parametrize("argv,needle", [
    (["--emotion-vector", "0.5,x"], "comma-separated numbers"),
    (["--emotion-vector", "0.1", "--emotion-text", "sad"], "not allowed with"),
])
def test_bad_emotion_options_are_usage_errors(tmp_path, capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        main(["say", "hi", "--duration", "1", "-o", str(tmp_path / "x.wav"), *argv])
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_emotion_vector_and_audio_reach_the_engine_as_typed_emotions(tmp_path):
    from dubber.cli import _emotion, build_parser

    clip = _clip(tmp_path / "angry.wav")
    base = ["say", "hi", "--duration", "1", "-o", "x.wav"]
    vec = _emotion(build_parser().parse_args(base + ["--emotion-vector", "0,0.8,0,0,0,0,0,0.2"]))
    assert vec.kind == "vector" and vec.vector == (0, 0.8, 0, 0, 0, 0, 0, 0.2) and vec.alpha == 1.0
    ref = _emotion(build_parser().parse_args(base + ["--emotion-audio", str(clip), "--emotion-alpha", "0.3"]))
    assert ref.kind == "reference" and ref.audio_path == clip.absolute() and ref.alpha == 0.3
    assert _emotion(build_parser().parse_args(base)) is None
    with pytest.raises(UsageError, match="missing.wav"):
        _emotion(build_parser().parse_args(base + ["--emotion-audio", str(tmp_path / "missing.wav")]))
