"""End to end: dub real media with the built-in engines and check the output file itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.cli.main import main
from dubber.errors import UsageError
from dubber.handoff.verify import check_output, slots_for, slots_from_report
from dubber.pipeline.dub import DubOptions, dub
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.subtitles.load import load_subtitles, save_srt

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
RATE = 48000

# Lines the samples never use, with slot factors (slot / natural length) across the fittable range.
UNSEEN = [
    ("Please close the window before the storm begins.", 1.1),
    ("My brother bought three apples and a loaf of bread.", 0.85),
    ("We will meet again at the station tomorrow evening.", 1.2),
    ("The library is open until eight o'clock on Fridays.", 0.92),
    ("She painted the fence green last summer.", 1.0),
]



@pytest.fixture(scope="module")
def unseen(tmp_path_factory):
    """A video and SRT made here, with original audio of music-like tones, never seen by the samples, dubbed
    with `fill`: every line lasts its cue (subtitles made for dubbing; tests/dubber/pipeline/test_realworld.py dubs
    display-window subtitles to the original speech)."""
    root = tmp_path_factory.mktemp("unseen")
    piper = get_engine("piper")
    t, rows = 600, []
    for text, factor in UNSEEN:
        take = piper.synthesize(SynthesisRequest(text, "en"))
        span = speech_span(take.samples, take.sample_rate)
        slot = round(samples_to_ms(span.length, take.sample_rate) * factor)
        rows.append((t, t + slot, text))
        t += slot + 500
    total = t + 800
    n = ms_to_samples(total, RATE)
    tt = np.arange(n) / RATE
    original = (0.05 * np.sin(2 * np.pi * 110 * tt) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * tt))).astype(np.float32)
    video = root / "unseen clip.mp4"
    media.make_test_video(video, total, np.stack([original, original], axis=1), RATE)
    srt = root / "unseen.srt"
    save_srt(srt, rows)
    out = root / "out.mkv"
    result = dub(video, srt, out, DubOptions(lang="en", mix="replace", sync="fill"), stem_path=root / "stem.wav",
                 report_path=root / "report.json")
    return video, srt, out, result


def test_unseen_video_stream_is_bit_exact(unseen):
    video, _, out, _ = unseen
    before, after = media.video_packet_checksums(video), media.video_packet_checksums(out)
    assert len(before) > 0 and before == after


def test_unseen_every_line_within_50ms_on_the_output(unseen):
    _, srt, out, result = unseen
    cues = load_subtitles(srt).cues
    assert [line.status for line in result.lines] == ["ok"] * len(UNSEEN)
    checks = check_output(out, cues)  # fill: both edges on the cue's
    assert len(checks) == len(UNSEEN)
    for check in checks:
        assert check.ok and abs(check.error_ms) <= 50, check


def test_unseen_output_layout(unseen):
    video, _, out, _ = unseen
    audio = [s for s in media.probe(out).streams if s.kind == "audio"]
    assert len(audio) == 2 and audio[0].language == "eng"


def test_unseen_report_fields(unseen):
    *_, result = unseen
    path = result.output.parent / "report.json"
    doc = json.loads(path.read_text())
    line = doc["lines"][0]
    for key in ("index", "start_ms", "end_ms", "speaker", "text", "engine", "voice", "seed", "target_ms",
                "speech_start_ms", "speech_end_ms", "error_ms", "stretch", "method", "status"):
        assert key in line
    assert doc["summary"]["by_status"] == {"ok": len(UNSEEN)}
    assert doc["summary"]["max_abs_error_ms"] <= 50 and doc["summary"]["rtf"] > 0


@pytest.mark.slow
def test_unseen_english_is_intelligible(unseen):
    """Whisper tiny.en transcribes the dubbed lines, cut from the output file, with WER <= 10%."""
    from dubber.fitting.intelligibility import Transcriber

    asr = Transcriber()
    _, srt, out, _ = unseen
    audio = media.decode_audio(out, 16000, channels=1)[:, 0]
    cues = load_subtitles(srt).cues
    hyps = [asr.transcribe(audio[ms_to_samples(c.start_ms - 200, 16000):ms_to_samples(c.end_ms + 200, 16000)], 16000)
            for c in cues]
    refs = [c.text for c in cues]
    assert asr.wer(refs, hyps) <= 0.10, list(zip(refs, hyps))


def test_sample_demo_dubs_with_duck_mix(tmp_path):
    """The bundled demo through the CLI, as `make demo` runs it."""
    out, report, stem = tmp_path / "demo.mp4", tmp_path / "r.json", tmp_path / "stem.wav"
    code = main(["dub", str(SAMPLES / "demo.mp4"), str(SAMPLES / "demo.en.srt"), "-o", str(out),
                 "--mix", "duck", "--report", str(report), "--stem", str(stem)])
    assert code == 0
    assert media.video_packet_checksums(SAMPLES / "demo.mp4") == media.video_packet_checksums(out)
    cues = load_subtitles(SAMPLES / "demo.en.srt").cues
    stem_audio, rate = media.read_wav(stem)
    assert rate == RATE
    doc = json.loads(report.read_text())
    for line in doc["lines"]:
        assert line["status"] == "ok" and abs(line["error_ms"]) <= 50, line
        assert line["sync"] == "speech" and line["onset_ms"] == line["target_start_ms"]
    # The stem alone carries only the dub: each line starts on the original speech and ends in its window.
    slots, sync = slots_from_report(report)
    assert sync == "speech" and len(slots) == len(cues)
    for check in check_output(stem, cues, slots):
        assert check.ok and abs(check.speech_start_ms - check.onset_ms) <= 50, check


def test_sample_ass_two_speakers_replace(tmp_path):
    out = tmp_path / "demo.mov"
    result = dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.ass", out, DubOptions(lang="en", mix="replace"))
    assert {line.speaker for line in result.lines} == {"Aiko", "Kenji"}
    # Piper has one English voice: both speakers get it, and the dub says so.
    shared = [d for d in result.diagnostics if d.code == "shared-voice"]
    assert len(shared) == 1 and "Aiko and Kenji" in shared[0].message and shared[0].severity == "warning"
    cues = load_subtitles(SAMPLES / "demo.en.ass").cues
    checks = check_output(out, cues, slots_for(out, cues)[0])  # the project beside the output gives the slots
    assert len(checks) == len(cues) and all(check.ok for check in checks), checks


def test_bad_lines_are_reported_and_good_ones_dubbed(tmp_path):
    srt = tmp_path / "mixed.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:03,000\nHello there, my friend.\n\n"
                   "2\n00:00:05,000 --> 00:00:04,000\nBackwards line.\n\n"
                   "3\nnot a timing line\nGarbage.\n\n"
                   "4\n00:00:06,000 --> 00:00:08,000\nGood night and sleep well.\n\n", encoding="utf-8")
    result = dub(SAMPLES / "demo.mp4", srt, tmp_path / "o.mp4", DubOptions(lang="en"))
    assert [line.text for line in result.lines] == ["Hello there, my friend.", "Good night and sleep well."]
    assert all(line.status != "failed" and line.speech_start_ms is not None for line in result.lines)
    assert not result.ok and {d.line for d in result.diagnostics if d.severity == "error"} >= {6}


def test_a_line_over_its_budget_fails_with_the_cap_named_and_the_others_are_dubbed(tmp_path, monkeypatch, capsys):
    from dubber.plugin import registry
    from tests.conftest import FrameToneEngine

    class Recording(FrameToneEngine):
        def synthesize_frames(self, request, frames):
            spoken.add(request.text)
            return super().synthesize_frames(request, frames)

    spoken: set[str] = set()
    engine = Recording()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    srt = tmp_path / "budget.srt"
    save_srt(srt, [(800, 3200, "Good morning."), (3900, 5700, "9" * 1000), (6500, 7500, "go " * 100),
                   (9000, 11600, "Yes, it is in my bag.")])
    report = tmp_path / "report.json"
    code = main(["dub", str(SAMPLES / "demo.mp4"), str(srt), "-o", str(tmp_path / "o.mp4"), "--engine", "frametone",
                 "--sync", "cue", "--report", str(report)])
    lines = {line["index"]: line for line in json.loads(report.read_text(encoding="utf-8"))["lines"]}
    assert code == 1 and len(lines) == 4
    assert lines[2]["status"] == "failed" and "4,999 characters as spoken" in lines[2]["reason"]
    assert lines[3]["status"] == "failed" and "spoken naturally" in lines[3]["reason"]
    assert all(lines[i]["status"] != "failed" and lines[i]["speech_start_ms"] is not None for i in (1, 4))
    assert spoken == {"Good morning.", "Yes, it is in my bag."}  # the refused lines were never synthesised
    err = capsys.readouterr().err
    assert "failed: OverBudget: the text is 4,999 characters as spoken" in err


def test_missing_video_is_a_clear_usage_error(tmp_path, capsys):
    code = main(["dub", str(tmp_path / "nope.mp4"), str(SAMPLES / "demo.en.srt"), "-o", str(tmp_path / "o.mp4")])
    assert code == 2 and "nope.mp4" in capsys.readouterr().err


def test_output_is_not_left_half_written_when_mux_fails(tmp_path, monkeypatch):
    from dubber.errors import ProcessError

    def boom(*a, **k):
        raise ProcessError("ffmpeg exited 1", cmd=["ffmpeg"], returncode=1, stderr="")

    monkeypatch.setattr(media, "mux", boom)
    with pytest.raises(ProcessError):
        dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.srt", tmp_path / "o.mp4", DubOptions(lang="en"))
    assert not (tmp_path / "o.mp4").exists()


def test_a_cloning_engine_gets_the_reference_on_every_line(tmp_path, monkeypatch):
    import soundfile

    from dubber.plugin import registry
    from dubber.plugin.engine import Reference
    from tests.conftest import CloningToneEngine

    engine = CloningToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    clip = tmp_path / "speaker.wav"
    soundfile.write(clip, (0.1 * np.sin(np.arange(48000 * 4) / 9)).astype(np.float32), 48000)
    reference = Reference(clip, "what the speaker says", "ja")
    result = dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.srt", None,
                 DubOptions(lang="en", engine="cloning", reference=reference))
    assert len(result.lines) == len(load_subtitles(SAMPLES / "demo.en.srt").cues)
    assert {ref for _, ref, _ in engine.seen} == {reference}
    assert result.report["inputs"]["reference"] == str(clip)
    assert result.report["speakers"][""]["reference_source"] == "user"
    assert all(line.similarity is not None for line in result.lines)


def test_without_a_reference_a_cloning_engine_clones_a_clip_of_the_original(tmp_path, monkeypatch):
    from dubber.audio.media import read_wav
    from dubber.plugin import registry
    from tests.conftest import CloningToneEngine

    engine = CloningToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    result = dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.ass", tmp_path / "o.mp4",
                 DubOptions(lang="en", engine="cloning", mix="replace"))
    speakers = result.report["speakers"]
    assert set(speakers) == {"Aiko", "Kenji"}
    refs = {ref for _, ref, _ in engine.seen}
    assert len(refs) == 2  # one clip per speaker, each cut from the original at that speaker's cues
    cues = load_subtitles(SAMPLES / "demo.en.ass").cues
    for ref in refs:
        samples, rate = read_wav(ref.audio_path)
        assert 1.0 <= samples.shape[0] / rate <= 10.5 and ref.text and ref.audio_path.parent.name == "o.refs"
        speaker, span = ref.audio_path.stem.rsplit("_", 1)
        start, end = (int(ms) for ms in span.split("-"))
        others = [c for c in cues if c.speaker != speaker]
        assert not any(c.start_ms < end and start < c.end_ms for c in others)  # only this speaker's voice
    assert all(s["reference_source"] == "extracted" for s in speakers.values())


def test_a_cloning_engine_needs_some_voice_to_clone(tmp_path, monkeypatch):
    from dubber.plugin import registry
    from tests.conftest import CloningToneEngine

    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: CloningToneEngine())
    silent = tmp_path / "silent.mp4"
    media.make_test_video(silent, 8000, None, RATE)
    with pytest.raises(UsageError, match="reference clip"):
        dub(silent, SAMPLES / "demo.en.srt", None, DubOptions(lang="en", engine="cloning"))


def test_candidates_keep_every_take_and_choose_by_the_documented_key(tmp_path):
    from dubber.project.store import load_project
    from dubber.project.takes import take_key

    out = tmp_path / "demo.mp4"
    result = dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.srt", out,
                 DubOptions(lang="en", mix="replace", candidates=3, seed=5))
    project = load_project(tmp_path / "demo.dubber.json")
    assert [line.takes for line in result.lines] == [3] * len(result.lines)
    for line, entry in zip(result.lines, project.lines):
        assert [t.seed for t in entry.takes] == [5, 6, 7]
        assert all(t.wer is not None and t.transcript is not None for t in entry.takes)  # English: Whisper ranks
        keys = [take_key(t) for t in entry.takes]
        assert entry.chosen == keys.index(min(keys)) and line.seed == entry.takes[entry.chosen].seed
        assert line.wer == entry.takes[entry.chosen].wer
        assert all((tmp_path / t.audio).is_file() for t in entry.takes)
    cues = load_subtitles(SAMPLES / "demo.en.srt").cues
    assert all(check.ok for check in check_output(out, cues, slots_for(out, cues)[0]))


def test_a_speakers_file_gives_each_speaker_its_engine_and_voice(tmp_path, capsys):
    speakers = tmp_path / "speakers.toml"
    speakers.write_text('[speakers.Aiko]\nengine = "kokoro"\nvoice = "jf_alpha"\n\n'
                        '[speakers.Kenji]\nengine = "piper"\n\n[cues]\n"6" = "Aiko"\n', encoding="utf-8")
    report = tmp_path / "r.json"
    code = main(["dub", str(SAMPLES / "demo.mp4"), str(SAMPLES / "demo.en.ass"), "-o", str(tmp_path / "o.mp4"),
                 "--speakers", str(speakers), "--report", str(report), "--mix", "replace"])
    assert code == 0
    doc = json.loads(report.read_text())
    voices = {(line["speaker"], line["engine"], line["voice"]) for line in doc["lines"]}
    assert voices == {("Aiko", "kokoro", "jf_alpha"), ("Kenji", "piper", "en_US-joe-medium")}
    assert [line["speaker"] for line in doc["lines"]][-1] == "Aiko"  # cue 6 moved by the [cues] table
    assert doc["speakers"]["Kenji"]["engine"] == "piper"
    assert not [d for d in doc["diagnostics"] if d["code"] == "shared-voice"]  # a voice each
    assert "speaker Aiko: kokoro jf_alpha" in capsys.readouterr().err


def test_voice_auto_matches_each_speaker_and_reports_similarity_per_line(tmp_path):
    report = tmp_path / "r.json"
    result = dub(SAMPLES / "demo.mp4", SAMPLES / "demo.en.ass", tmp_path / "o.mp4",
                 DubOptions(lang="en", engine="piper", voice="auto", mix="replace"), report_path=report)
    doc = json.loads(report.read_text())
    for name in ("Aiko", "Kenji"):
        speaker = doc["speakers"][name]
        assert speaker["matched"] and speaker["voice"] == "en_US-joe-medium"
        assert speaker["reference_source"] == "extracted" and (tmp_path / speaker["reference"]).is_file()
        assert -1 <= speaker["default_similarity"] <= speaker["similarity"] <= 1
    assert all(line.similarity is not None and -1 <= line.similarity <= 1 for line in result.lines)
    assert all(line.status == "ok" for line in result.lines)


def test_the_stem_carries_the_loudness_target_like_the_dialogue_stem(tmp_path):
    """Issue #19: `--stem` ignored `--loudness` (-26 LUFS for -16) while stems/dialogue.wav followed it."""
    from dubber.handoff.export import stems_folder
    from dubber.audio.loudness import integrated_lufs

    n = ms_to_samples(5000, RATE)
    hum = (0.02 * np.sin(2 * np.pi * 110 * np.arange(n) / RATE)).astype(np.float32)
    video = media.make_test_video(tmp_path / "clip.mp4", 5000, np.stack([hum, hum], axis=1), RATE)
    srt = tmp_path / "clip.srt"
    save_srt(srt, [(300, 2300, "The boats leave at nine."), (2700, 4600, "We should hurry to the harbour.")])
    out, stem_path = tmp_path / "clip.dub.mp4", tmp_path / "clip.dub.dub.wav"
    dub(video, srt, out, DubOptions(lang="en", engine="piper", mix="replace", loudness=-16.0, exports=("stems",)),
        stem_path=stem_path)
    stem, rate = media.read_wav(stem_path)
    dialogue, _ = media.read_wav(stems_folder(out) / "dialogue.wav")
    assert abs(integrated_lufs(stem, rate) - integrated_lufs(dialogue, rate)) <= 0.1
    # The mono stem on both channels of the stereo track, as `--mix replace` plays it: at the target.
    assert abs(integrated_lufs(np.stack([stem, stem], axis=1), rate) - -16.0) <= 0.5
