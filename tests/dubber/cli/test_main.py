import json

import pytest

from tests.conftest import CloningToneEngine, ToneEngine
from dubber.cli.main import describe_error, main
from dubber.errors import EngineUnavailable, MediaError, ProcessError, SubtitleError, UsageError
from dubber.plugin.engine import SynthesisRequest


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


def test_say_refuses_a_line_over_its_budget_naming_the_cap(tmp_path, capsys):
    out = tmp_path / "x.wav"
    assert main(["say", "9" * 1000, "--duration", "5", "-o", str(out), "--engine", "piper"]) == 2
    assert "over the line's budget: the text is 4,999 characters as spoken" in capsys.readouterr().err
    assert main(["say", "go " * 333, "--duration", "5", "-o", str(out), "--engine", "piper"]) == 2
    assert "spoken naturally" in capsys.readouterr().err and not out.exists()


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

    samples = Path(__file__).resolve().parents[3] / "samples"
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

    request = SynthesisRequest("A reference spoken by the same voice, to compare with.", "en")
    take = get_engine("piper").synthesize(request)
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
    from dubber.cli.main import _emotion, build_parser

    clip = _clip(tmp_path / "angry.wav")
    base = ["say", "hi", "--duration", "1", "-o", "x.wav"]
    vec = _emotion(build_parser().parse_args(base + ["--emotion-vector", "0,0.8,0,0,0,0,0,0.2"]))
    assert vec.kind == "vector" and vec.vector == (0, 0.8, 0, 0, 0, 0, 0, 0.2) and vec.alpha == 1.0
    ref = _emotion(build_parser().parse_args(base + ["--emotion-audio", str(clip), "--emotion-alpha", "0.3"]))
    assert ref.kind == "reference" and ref.audio_path == clip.absolute() and ref.alpha == 0.3
    assert _emotion(build_parser().parse_args(base)) is None
    with pytest.raises(UsageError, match="missing.wav"):
        _emotion(build_parser().parse_args(base + ["--emotion-audio", str(tmp_path / "missing.wav")]))


def _usage_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[prices]\ncurrency = "EUR"\n\n[prices.cosyvoice]\nper_million_tokens = 1000\n'
                      'per_audio_hour = 36\nper_compute_hour = 3.6\n', encoding="utf-8")
    return config


def test_usage_json_matches_hand_counted_tokens(tmp_path, capsys):
    from tests.dubber.project.test_usage import EXPECTED_LINES, write_usage_project

    project = write_usage_project(tmp_path)
    assert main(["usage", str(project), "--json", "--config", str(_usage_config(tmp_path))]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["project"] == str(project) and doc["currency"] == "EUR" and doc["tokens"] == 41
    assert {line["index"]: (line["tokens"], line["takes"], line["billed_tokens"], line["audio_ms"],
                            line["compute_ms"], line["compute_unknown"]) for line in doc["lines"]} == EXPECTED_LINES
    assert doc["engines"]["cosyvoice"]["billed_tokens"] == 47 and doc["engines"]["kokoro"]["billed_tokens"] == 11
    assert (doc["total"]["billed_tokens"], doc["total"]["audio_ms"], doc["total"]["compute_ms"]) == (58, 4534, 5600)
    assert doc["cost"]["engines"]["kokoro"] is None and doc["cost"]["unpriced"] == ["kokoro"]
    assert doc["cost"]["total"] == pytest.approx(0.08464)  # 0.047 tokens + 0.03234 audio + 0.0053 compute


def test_usage_table_from_the_video_path(tmp_path, capsys):
    from tests.dubber.project.test_usage import write_usage_project

    write_usage_project(tmp_path)
    assert main(["usage", str(tmp_path / "talk.mp4"), "--lines", "--config", str(_usage_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["cosyvoice"] == ["cosyvoice", "4", "47", ">=3.23", ">=5.30", ">=0.0846", "EUR"]
    assert rows["kokoro"] == ["kokoro", "2", "11", "1.30", ">=0.30", "no", "price"]
    assert rows["total"][:3] == ["total", "6", "58"]
    assert rows["1"][:4] == ["1", "16", "3", "40"] and rows["4"][:6] == ["4", "7", "0", "0", "0.00", "0.00"]
    assert rows["3"][4] == "unknown" and rows["5"][5] == "unknown"
    assert "no price for kokoro: counted as free" in out and f"prices: {tmp_path / 'config.toml'} (EUR)" in out


def test_usage_without_prices_says_so(tmp_path, capsys):
    from tests.dubber.project.test_usage import write_usage_project

    project = write_usage_project(tmp_path)
    assert main(["usage", str(project), "--config", str(tmp_path / "absent.toml")]) == 0
    out = capsys.readouterr().out
    assert "does not exist" in out and "no price for cosyvoice, kokoro" in out
    assert "--lines" not in out and "  line " not in out  # the per-line table only on request


@pytest.mark.parametrize("name, content, needle", [
    ("gone.dubber.json", None, "no such project file"),
    ("gone.mp4", None, "no such project file"),
    ("bad.dubber.json", "{", "cannot read the project"),
])
def test_usage_of_a_missing_or_damaged_project_names_it(tmp_path, capsys, name, content, needle):
    if content is not None:
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert main(["usage", str(tmp_path / name), "--config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(tmp_path / name.replace(".mp4", ".dubber.json")) in err


def test_usage_with_a_bad_price_names_the_key(tmp_path, capsys):
    from tests.dubber.project.test_usage import write_usage_project

    config = tmp_path / "config.toml"
    config.write_text("[prices.cosyvoice]\nper_audio_hour = -2\n", encoding="utf-8")
    assert main(["usage", str(write_usage_project(tmp_path)), "--config", str(config)]) == 2
    assert f"{config}: prices.cosyvoice.per_audio_hour must be a number >= 0" in capsys.readouterr().err


def test_pronounce_adds_lists_and_removes_project_entries(tmp_path, capsys):
    from dubber.project.store import Project, load_project, save_project

    path = tmp_path / "talk.dubber.json"
    save_project(Project("talk.mp4", "talk.srt", "zh"), path)
    assert main(["pronounce", str(path), "行长", "háng zhǎng"]) == 0
    assert capsys.readouterr().out == "行长 = hang2 zhang3\n"
    words = tmp_path / "words.txt"
    words.write_text("tomato = təˈmɑːtoʊ\n", encoding="utf-8")
    assert main(["pronounce", str(tmp_path / "talk.mp4"), "--file", str(words)]) == 0  # the video finds its project
    assert capsys.readouterr().out == "tomato = təˈmɑːtoʊ\n行长 = hang2 zhang3\n"
    assert load_project(path).pronunciations == {"行长": "hang2 zhang3", "tomato": "təˈmɑːtoʊ"}
    assert main(["pronounce", str(path), "--remove", "tomato"]) == 0
    assert load_project(path).pronunciations == {"行长": "hang2 zhang3"}
    capsys.readouterr()
    assert main(["pronounce", str(path), "行长", "hang2"]) == 2
    assert "'行长' has 2 characters but 1 syllables" in capsys.readouterr().err
    assert main(["pronounce", str(path), "--remove", "nope"]) == 2
    assert load_project(path).pronunciations == {"行长": "hang2 zhang3"}


def test_say_speaks_mandarin_on_its_target(tmp_path, capsys):
    """The issue's example: Kokoro is the default for zh, with native duration control."""
    out = tmp_path / "x.wav"
    assert main(["say", "今年春耕来得早，田里头都忙翻了。", "--lang", "zh", "--duration", "3.2", "-o", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["engine"] == "kokoro" and doc["method"].startswith("native")
    assert abs(doc["error_ms"]) <= 50 and out.exists()


def test_say_reads_a_pronunciation_dictionary(tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("slot = slɑːt\n", encoding="utf-8")
    out = tmp_path / "x.wav"
    code = main(["say", "This sentence is spoken to fit its slot.", "--duration", "2.2", "-o", str(out),
                 "--engine", "piper", "--pronunciations", str(words)])
    assert code == 0 and abs(json.loads(capsys.readouterr().out)["error_ms"]) <= 50
    words.write_text("slot slɑːt\n", encoding="utf-8")
    assert main(["say", "slot", "--duration", "1", "-o", str(out), "--pronunciations", str(words)]) == 2
    assert "words.txt:1" in capsys.readouterr().err


@pytest.fixture
def tone(monkeypatch):
    from dubber.plugin import registry

    engine = ToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    return engine


def _video_and_subtitles(folder):
    import numpy as np

    from dubber.audio import media
    from dubber.subtitles.load import save_srt

    hum = (0.02 * np.sin(np.arange(48000 * 3) / 40)).astype("float32")
    video = media.make_test_video(folder / "clip.mp4", 3000, np.stack([hum, hum], axis=1), 48000)
    srt = folder / "clip.srt"
    save_srt(srt, [(400, 1600, "alpha beta gamma")])
    return video, srt


def test_dub_refuses_an_existing_output_until_told_to_overwrite(tmp_path, capsys, tone):
    from dubber.audio import media
    from dubber.project.store import project_path_for

    video, srt = _video_and_subtitles(tmp_path)
    out = tmp_path / "clip.dub.mp4"
    out.write_bytes(b"last week's cut")
    argv = ["dub", str(video), str(srt), "-o", str(out), "--engine", "tone", "--mix", "replace"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{out} already exists" in err and "--overwrite" in err
    # refused before any work: no line spoken, no project started, the file as it was
    assert tone.calls == 0 and not project_path_for(out).exists() and out.read_bytes() == b"last week's cut"
    assert main([*argv, "--overwrite"]) == 0
    assert tone.calls > 0 and len(media.probe(out).video_streams) == 1


def test_dub_never_writes_an_export_over_its_subtitles(tmp_path, capsys, tone):
    video, srt = _video_and_subtitles(tmp_path)
    before = srt.read_bytes()
    out = tmp_path / "clip.mkv"  # its SRT export would be clip.srt: the input
    assert main(["dub", str(video), str(srt), "-o", str(out), "--engine", "tone", "--export", "srt",
                 "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert str(srt) in err and "input" in err
    assert srt.read_bytes() == before and not out.exists() and tone.calls == 0


def test_say_refuses_an_existing_wav_until_told_to_overwrite(tmp_path, capsys, tone):
    import soundfile

    out = tmp_path / "line.wav"
    out.write_bytes(b"a take I liked")
    argv = ["say", "alpha beta", "--duration", "1", "-o", str(out), "--engine", "tone"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "--overwrite" in err and tone.calls == 0 and out.read_bytes() == b"a take I liked"
    assert main([*argv, "--overwrite"]) in (0, 1)
    assert tone.calls > 0 and soundfile.info(out).frames > 0


def test_say_never_writes_over_its_reference_clip(tmp_path, capsys, cloning):
    ref = _clip(tmp_path / "speaker.wav")
    before = ref.read_bytes()
    assert main(["say", "a cloned line", "--duration", "1.5", "-o", str(ref), "--engine", "cloning",
                 "--reference", str(ref), "--overwrite"]) == 2
    assert str(ref) in capsys.readouterr().err and ref.read_bytes() == before and not cloning.seen


def test_a_clash_is_a_usage_error_naming_the_file():
    from dubber.errors import OutputClash

    message, code = describe_error(OutputClash("/x/a.wav already exists", path="/x/a.wav", existing=["/x/a.wav"]))
    assert code == 2 and "/x/a.wav" in message and "--overwrite" in message
    message, _ = describe_error(OutputClash("the WAV (/x/a.wav) would write over /x/a.wav", path="/x/a.wav"))
    assert "--overwrite" not in message  # an input is never replaced: no advice to overwrite it


def test_dub_says_which_lines_borrowing_the_gap_would_fit(tmp_path, capsys, tone):
    from dubber.subtitles.load import save_srt

    video, srt = _video_and_subtitles(tmp_path)
    # A line with twice its cue's words, silence after it, then a short one: the first cannot fit its cue.
    save_srt(srt, [(100, 900, "alpha beta gamma delta echo"), (2400, 2900, "go")])
    argv = ["dub", str(video), str(srt), "-o", str(tmp_path / "out.mp4"), "--engine", "tone", "--sync", "cue"]
    assert main(argv) == 1
    assert "1 line cannot fit its window; --borrow-gap would fit 1 of them" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--borrow-gap"]) == 0
    assert "cannot fit" not in capsys.readouterr().err


def test_a_dub_again_keeps_a_lines_own_choice_to_borrow_the_gap(tmp_path, capsys, tone):
    from dubber.project.store import load_project, project_path_for, save_project
    from dubber.subtitles.load import save_srt

    video, srt = _video_and_subtitles(tmp_path)
    save_srt(srt, [(100, 900, "alpha beta gamma delta echo"), (2400, 2900, "go")])
    out = tmp_path / "out.mp4"
    argv = ["dub", str(video), str(srt), "-o", str(out), "--engine", "tone", "--sync", "cue", "--overwrite"]
    assert main(argv) == 1
    assert "--borrow-gap would fit 1 of them" in capsys.readouterr().err
    path = project_path_for(out)
    project = load_project(path)
    project.lines[0].borrow_gap = True  # as the panel's Borrow the gap leaves it
    save_project(project, path)
    assert main(argv) == 0
    line = load_project(path).lines[0]
    assert line.borrow_gap and line.take.borrow_gap and line.take.status == "ok" and line.take.window_ms > 800
    assert "cannot fit" not in capsys.readouterr().err
