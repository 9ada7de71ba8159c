"""Dub subtitle files shaped like real ones (tests/data/realworld.py) and measure the output files.

Every file must dub with exit 0; at least 95% of the spoken lines must start within ±50 ms of the
original speech, none may run into the next line's speech, and no sound description, sign, credit,
repeat, untranslated line or cue past the end may be spoken: all measured on the written video.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.cli.main import main
from dubber.fitting.fitter import PRE_ROLL_MS
from tests.data.realworld import RATE, CorpusFile, build, original_clips

SEARCH_MS = 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[CorpusFile]:
    return build(tmp_path_factory.mktemp("realworld"), original_clips())


@pytest.fixture(scope="module")
def dubbed(corpus) -> dict[str, tuple[int, np.ndarray, dict]]:
    """Each file dubbed with `dubber dub` (the dub alone on the output's first track), its exit code, that
    track and the report."""
    results = {}
    for item in corpus:
        out = item.video.with_name(f"{item.name}.dub.mp4")
        report = item.video.with_name(f"{item.name}.report.json")
        code = main(["dub", str(item.video), str(item.subtitles), "-o", str(out), "--mix", "replace",
                     "--report", str(report)])
        track = media.decode_audio(out, RATE, channels=1)[:, 0] if out.exists() else np.zeros(0, np.float32)
        results[item.name] = (code, track, json.loads(report.read_text()) if report.exists() else {})
    return results


def spoken_on_output(item: CorpusFile, track: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int] | None]]:
    """Each line that must be spoken: its original speech, and the dub's speech found on the output near it.

    First each dub's onset, near the original's; then its end, searched up to the next dub's onset
    less its quiet lead-in (PRE_ROLL_MS), so a line that runs on into the next reaches that edge.
    """
    lines = sorted({cue.speech for cue in item.cues if cue.spoken and cue.speech is not None})
    onsets = [_speech(track, onset - SEARCH_MS, onset + SEARCH_MS) for onset, _ in lines]
    found = []
    for i, ((onset, end), dub) in enumerate(zip(lines, onsets)):
        if dub is None:
            found.append(((onset, end), None))
            continue
        nxt = next((o[0] for o in onsets[i + 1:] if o is not None), None)
        edge = nxt - PRE_ROLL_MS if nxt is not None else end + 3000
        span = _speech(track, dub[0], edge)
        found.append(((onset, end), (dub[0], span[1] if span else dub[1])))
    return found


def _speech(track: np.ndarray, lo_ms: int, hi_ms: int) -> tuple[int, int] | None:
    lo, hi = ms_to_samples(max(lo_ms, 0), RATE), ms_to_samples(hi_ms, RATE)
    span = speech_span(track[lo:hi], RATE) if hi > lo else None
    return None if span is None else (samples_to_ms(lo + span.start, RATE), samples_to_ms(lo + span.end, RATE))


def test_every_file_dubs_with_exit_0(corpus, dubbed):
    for item in corpus:
        code, _, report = dubbed[item.name]
        assert code == 0, (item.name, report.get("summary"), [(line["index"], line["status"], line["reason"])
                                                              for line in report.get("lines", [])])
        assert report["inputs"]["sync"] == "speech"


def test_lines_start_on_the_original_speech_and_never_run_into_the_next(corpus, dubbed):
    onsets, overruns, missing = [], [], []
    for item in corpus:
        _, track, _ = dubbed[item.name]
        measured = spoken_on_output(item, track)
        for k, ((onset, _), dub) in enumerate(measured):
            if dub is None:
                missing.append((item.name, onset))
                continue
            onsets.append(dub[0] - onset)
            nxt = measured[k + 1][1] if k + 1 < len(measured) else None
            if nxt is not None and dub[1] >= nxt[0] - PRE_ROLL_MS:  # it reached the next line's edge
                overruns.append((item.name, onset, dub[1] - nxt[0]))
    assert not missing, missing
    within = sum(abs(error) <= 50 for error in onsets)
    assert within >= 0.95 * len(onsets), sorted(onsets)
    assert not overruns, overruns


def test_no_cue_that_must_stay_silent_is_spoken(corpus, dubbed):
    for item in corpus:
        _, track, report = dubbed[item.name]
        spoken = [dub for _, dub in spoken_on_output(item, track) if dub is not None]
        for cue in item.cues:
            if cue.spoken or cue.start_ms >= item.duration_ms:
                continue
            # The cue's window, less the spoken lines it may overlap (a sign shown over dialogue).
            mask = np.zeros(track.size, bool)
            mask[ms_to_samples(cue.start_ms, RATE):ms_to_samples(cue.end_ms, RATE)] = True
            for start, end in spoken:
                mask[ms_to_samples(start - 60, RATE):ms_to_samples(end + 100, RATE)] = False
            assert not mask.any() or np.abs(track[mask]).max() < 0.01, (item.name, cue.text)
        skipped = sorted(line["skip"] for line in report["skipped"])
        assert skipped == sorted(cue.skip for cue in item.cues if not cue.spoken), (item.name, report["skipped"])


def test_the_report_gives_the_cue_and_the_original_speech_of_every_line(corpus, dubbed):
    for item in corpus:
        _, _, report = dubbed[item.name]
        truth = sorted({cue.speech for cue in item.cues if cue.spoken and cue.speech is not None})
        for line in report["lines"]:
            assert line["start_ms"] < line["end_ms"] and line["sync"] in ("speech", "cue")
            if line["target_start_ms"] is not None:
                near = min(truth, key=lambda span: abs(span[0] - line["target_start_ms"]))
                assert abs(near[0] - line["target_start_ms"]) <= 60, (item.name, line["text"], near)
                assert line["onset_ms"] == line["target_start_ms"]
            assert line["status"] == "ok", (item.name, line)


def test_real_world_traits_are_named_in_the_diagnostics(corpus, dubbed):
    codes = {item.name: {d["code"] for d in dubbed[item.name][2]["diagnostics"]} for item in corpus}
    assert {"non-speech", "mojibake"} <= codes["sdh"]
    assert {"non-speech", "duplicate", "split-turns"} <= codes["fansub"]
    assert "wrong-language" in codes["half"]
    assert "past-end" in codes["edges"]
    speakers = {line["speaker"] for line in dubbed["fansub"][2]["lines"]}
    assert {"Aiko", "Kenji"} <= speakers
