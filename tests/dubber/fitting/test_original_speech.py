"""Each cue's original speech: matched from speech spans to cues, and found on real audio."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.audio.samples import ms_to_samples, resample
from dubber.audio.speech import speech_span
from dubber.fitting.original_speech import MAX_RUN_ON_MS, assign_targets, find_speech
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.subtitles.cue import Cue

RATE = 48000


def targets(cues, speech):
    return {c.index: (c.target_start_ms, c.target_end_ms) for c in assign_targets(cues, speech)}


def test_a_padded_cue_follows_the_speech_inside_it():
    cues = [Cue(1, 1000, 4000, "Open the window."), Cue(2, 4080, 6000, "Close the door.")]
    assert targets(cues, [(1120, 2300), (4200, 5100)]) == {1: (1120, 2300), 2: (4200, 5100)}


def test_speech_starting_before_a_late_cue_is_still_its_own():
    # The in-time is 250 ms late; the speech overlaps the previous cue's margin, but this cue far more.
    cues = [Cue(1, 1000, 2400, "a"), Cue(2, 2500, 4500, "b")]
    assert targets(cues, [(1050, 1900), (2250, 3900)]) == {1: (1050, 1900), 2: (2250, 3900)}


def test_two_lines_spoken_without_a_pause_are_cut_at_the_later_cue():
    cues = [Cue(1, 1000, 2000, "a"), Cue(2, 2000, 3000, "b")]
    assert targets(cues, [(1100, 2900)]) == {1: (1100, 2000), 2: (2000, 2900)}


def test_no_speech_leaves_the_cue_without_a_target_and_clicks_are_not_speech():
    cues = [Cue(1, 1000, 2000, "a"), Cue(2, 5000, 6000, "b")]
    assert targets(cues, [(5100, 5150)]) == {1: (None, None), 2: (None, None)}


def test_speech_runs_on_past_a_tiny_cue_but_not_forever():
    cues = [Cue(1, 1000, 1020, "Huh?"), Cue(2, 9000, 10000, "b")]
    assert targets(cues, [(990, 1400)])[1] == (990, 1400)
    assert targets(cues, [(990, 8000)])[1] == (990, 1020 + MAX_RUN_ON_MS)


def test_dashed_turns_share_the_window_at_the_pause():
    cues = [Cue(1, 1000, 4000, "Huh?", part=1), Cue(2, 1000, 4000, "That is right, you know.", part=2)]
    out = {c.index: c for c in assign_targets(cues, [(1100, 1400), (1900, 3300)])}
    assert (out[1].target_start_ms, out[1].target_end_ms) == (1100, 1400)
    assert (out[2].target_start_ms, out[2].target_end_ms) == (1900, 3300)
    assert (out[1].start_ms, out[1].end_ms, out[2].start_ms, out[2].end_ms) == (1000, 1650, 1650, 4000)


def test_turns_without_a_pause_or_without_speech_split_by_text_length():
    cues = [Cue(1, 1000, 3000, "ab", part=1), Cue(2, 1000, 3000, "abcdef", part=2)]
    out = {c.index: c for c in assign_targets(cues, [(1000, 3000)])}
    assert (out[1].target_end_ms, out[2].target_start_ms) == (1500, 1500)
    out = {c.index: c for c in assign_targets(cues, [])}
    assert (out[1].end_ms, out[2].start_ms, out[2].target_start_ms) == (1500, 1500, None)


def test_untranslated_lines_keep_their_speech_and_signs_take_none():
    cues = [Cue(1, 1000, 3400, "Hello."), Cue(2, 3500, 5000, "こんにちは", skip="language"),
            Cue(3, 1000, 3400, "STATION", skip="sign")]
    out = targets(cues, [(1100, 2000), (3300, 4600)])
    assert out == {1: (1100, 2000), 2: (3300, 4600), 3: (None, None)}  # line 2's, should it be spoken anyway


@pytest.fixture(scope="module")
def clips():
    piper = get_engine("piper")
    out = []
    for text in ("Open the window.", "Mind the step, please.", "Where are you going?", "Yes."):
        take = piper.synthesize(SynthesisRequest(text, "en"))
        out.append(resample(take.samples, take.sample_rate, RATE))
    return out


@pytest.mark.parametrize("bed_db", [None, -36.0])
def test_onsets_are_found_within_50_ms_on_real_speech_even_over_music(clips, bed_db):
    track = np.zeros(RATE * 12, np.float32)
    cues, truth, t = [], [], 800
    for i, clip in enumerate(clips):
        at = ms_to_samples(t, RATE)
        track[at:at + clip.size] += clip
        span = speech_span(clip, RATE)
        on, off = t + span.start * 1000 // RATE, t + span.end * 1000 // RATE
        truth.append((on, off))
        cues.append(Cue(i + 1, on - 80, max(off + 600, on + 1500), "line"))
        t += clip.size * 1000 // RATE + 900
    if bed_db is not None:
        tt = np.arange(track.size) / RATE
        bed = sum(np.sin(2 * np.pi * f * tt) for f in (110, 165, 220, 330))
        track += (bed / np.sqrt(np.mean(bed ** 2)) * 10 ** (bed_db / 20)).astype(np.float32)
    found = assign_targets(cues, find_speech(track, RATE, cues))
    for cue, (on, off) in zip(found, truth):
        assert abs(cue.target_start_ms - on) <= 50, (cue, on)
        assert -50 <= cue.target_end_ms - off <= 150, (cue, off)  # Silero's offsets trail the last sound


def test_stretches_are_run_through_the_vad_in_batches_of_bounded_audio():
    from dubber.fitting.original_speech import _batches

    regions = [(0, 40), (50, 90), (100, 200), (210, 230), (240, 250)]
    assert _batches(regions, 100) == [[(0, 40), (50, 90)], [(100, 200)], [(210, 230), (240, 250)]]
    assert _batches([(0, 500)], 100) == [[(0, 500)]]  # a longer stretch runs alone
    assert _batches([], 100) == []
