"""Reference clips: cut at each speaker's cues, scored on length, SNR, clipping and one voice."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from dubber.audio.samples import resample
from dubber.audio.source import DiskAudio
from dubber.audio.speech import speech_span
from dubber.plugin.engine import Reference, SynthesisRequest
from dubber.subtitles.cue import Cue
from dubber.voices.references import (PAD_MS, SEARCH_MS, UNNAMED, choose_reference, find_candidates, find_references,
                                      references_by_speaker, score_clip, search_stretches, speech_around,
                                      write_reference)

RATE = 24000


def ms(n: int) -> int:
    return n * RATE // 1000


class CountingEmbedder:
    """One fixed voice for every window, counting the clips it is asked about."""

    def __init__(self) -> None:
        self.calls = 0

    def window_embeddings(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        self.calls += 1
        n = max(1, (samples.shape[0] * 1000 // sample_rate - 400) // 400)
        return np.full((n, 4), 0.5, np.float32)


def tone_track(total_ms: int, bursts: list[tuple[int, int]], noise: float = 0.001, amp: float = 0.3,
               seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A noise floor with a 200 Hz tone at each (start_ms, end_ms); the tones' spans in samples."""
    x = noise * np.random.default_rng(seed).standard_normal(ms(total_ms))
    spans = []
    for start, end in bursts:
        lo, hi = ms(start), ms(end)
        x[lo:hi] += amp * np.sin(2 * np.pi * 200 * np.arange(hi - lo) / RATE)
        spans.append((lo, hi))
    return x.astype(np.float32), spans


# The formula, the measures and the rules, on tone bursts with known speech spans.


def test_score_follows_the_documented_knots():
    assert score_clip(6000, 30.0, 0.0, 0.8) == (1.0, ())
    assert score_clip(3000, 30.0, 0.0, None)[0] == pytest.approx(0.6)
    assert score_clip(10000, 30.0, 0.0, None)[0] == pytest.approx(0.6)
    assert score_clip(1000, 30.0, 0.0, None)[0] == pytest.approx(0.1)
    assert score_clip(6000, 12.5, 0.0, None)[0] == pytest.approx(0.55)
    assert score_clip(6000, 30.0, 0.001, None)[0] == pytest.approx(0.5)
    assert score_clip(6000, 30.0, 0.0, 0.55)[0] == pytest.approx(0.55)
    assert score_clip(6000, 30.0, 0.0, None, cut=True)[0] == pytest.approx(0.5)
    score, reasons = score_clip(3000, 12.5, 0.001, 0.55, cut=True)
    assert score == pytest.approx(0.6 * 0.55 * 0.5 * 0.55 * 0.5)
    assert [r.split()[0] for r in reasons] == ["short:", "noisy:", "clipped:", "may", "speech"]


@pytest.mark.parametrize("noise, expected_db", [(0.01, 26.5), (0.05, 12.6)])
def test_snr_estimate_matches_a_known_mix(noise, expected_db):
    # A 0.3 sine has power 0.045; white noise of std s has power s².
    audio, spans = tone_track(10000, [(2000, 3000), (3400, 5000), (5300, 7000)], noise=noise)
    cues = [Cue(1, 2000, 7000, "three bursts", "a")]
    (clip,) = find_candidates(audio, RATE, cues, "a", speech=spans)
    assert clip.snr_db == pytest.approx(expected_db, abs=1.0)
    assert clip.clipped_fraction == 0.0


def test_clips_are_speech_padded_and_short_consecutive_cues_merge():
    bursts = [(1000, 2000), (2500, 3500), (4000, 5000), (5300, 6300), (6600, 7600), (9000, 10000),
              (10200, 19700), (22000, 24000), (24500, 26500), (27000, 29000), (29500, 31500)]
    audio, spans = tone_track(33000, bursts)
    speakers = ["a", "a", "a", "b", "a", "a", "a", "c", "c", "c", "c"]
    cues = [Cue(i + 1, s, e, f"line {i + 1}", who) for i, ((s, e), who) in enumerate(zip(bursts, speakers))]
    found = {c.cue_indices: c for c in find_candidates(audio, RATE, cues, "a", speech=spans)}
    # 1-2-3 merge (each under 3 s, gaps 500 ms) and stop at b's cue; 5 and 6 are 1.4 s apart;
    # 6 with 7 would pass 10 s; 7 is long enough alone.
    assert set(found) == {(1,), (2,), (3,), (1, 2), (2, 3), (1, 2, 3), (5,), (6,), (7,)}
    merged = found[(1, 2, 3)]
    assert (merged.start_ms, merged.end_ms) == (1000 - PAD_MS, 5000 + PAD_MS)
    assert merged.text == "line 1 line 2 line 3" and merged.speaker == "a"
    assert (found[(2,)].start_ms, found[(2,)].end_ms) == (2500 - PAD_MS, 3500 + PAD_MS)
    assert not any(c.cut for c in found.values())
    assert [c.cue_indices for c in find_candidates(audio, RATE, cues, "b", speech=spans)] == [(4,)]
    # Runs grow past 3 s up to the ideal 5 s (8-9 is 4.8 s), and no further (8-9-10 is 7.3 s).
    found = {c.cue_indices for c in find_candidates(audio, RATE, cues, "c", speech=spans)}
    assert found == {(8,), (9,), (10,), (11,), (8, 9), (8, 9, 10), (9, 10), (9, 10, 11), (10, 11)}


def test_speech_running_past_the_cue_is_penalised():
    audio, spans = tone_track(8000, [(1000, 6000)])
    cues = [Cue(1, 3000, 6000, "the second half", "a")]  # speech began 2 s before the cue
    (clip,) = find_candidates(audio, RATE, cues, "a", speech=spans)
    assert clip.cut and clip.start_ms == 3000 - 300 and "speech runs past" in clip.reasons[-1]
    assert clip.score == pytest.approx(score_clip(clip.duration_ms, clip.snr_db, 0.0, None)[0] * 0.5)


def test_cues_without_speech_give_no_candidate():
    audio, spans = tone_track(6000, [(1000, 2000)])
    cues = [Cue(1, 1000, 2000, "spoken", "a"), Cue(2, 3500, 5000, "silent", "a")]
    assert [c.cue_indices for c in find_candidates(audio, RATE, cues, "a", speech=spans)] == [(1,)]


def test_only_candidates_that_can_still_win_are_embedded():
    bursts = [(1000, 7000)] + [(9000 + 3500 * i, 11000 + 3500 * i) for i in range(8)]  # too far apart to merge
    audio, spans = tone_track(37000, bursts)
    cues = [Cue(i + 1, s, e, f"line {i + 1}", "a") for i, (s, e) in enumerate(bursts)]
    embedder = CountingEmbedder()
    best = find_references(audio, RATE, cues, "a", keep=1, embedder=embedder, speech=spans)
    assert [c.cue_indices for c in best] == [(1,)] and best[0].consistency == pytest.approx(1.0)
    assert embedder.calls == 1  # the 2 s clips score under 0.4 before consistency, against its 1.0
    three = find_references(audio, RATE, cues, "a", keep=3, embedder=CountingEmbedder(), speech=spans)
    assert len(three) == 3 and three[0].cue_indices == (1,)
    assert [c.score for c in three] == sorted((c.score for c in three), reverse=True)


def test_kept_clips_do_not_overlap():
    bursts = [(1000, 2000), (2400, 3400), (3800, 4800)]
    audio, spans = tone_track(6000, bursts)
    cues = [Cue(i + 1, s, e, f"line {i + 1}", "a") for i, (s, e) in enumerate(bursts)]
    kept = find_references(audio, RATE, cues, "a", keep=3, embedder=CountingEmbedder(), speech=spans)
    assert kept[0].cue_indices == (1, 2, 3)
    assert len(kept) == 1  # every other candidate lies inside the merged one
    with pytest.raises(ValueError, match="keep"):
        find_references(audio, RATE, cues, "a", keep=0, speech=spans)


def test_written_clip_is_a_16_bit_mono_wav_of_the_track(tmp_path):
    audio, spans = tone_track(8000, [(1000, 6500)])
    stereo = np.stack([audio, 0.5 * audio], axis=1)
    cues = [Cue(1, 1000, 6500, "what was said", "Ann Lee")]
    (clip,) = find_candidates(stereo, RATE, cues, "Ann Lee", speech=spans)
    ref = write_reference(clip, stereo, RATE, tmp_path / "refs", lang="en")
    assert ref == Reference(tmp_path / "refs" / "Ann_Lee_00000850-00006650.wav", "what was said", "en")
    info = soundfile.info(str(ref.audio_path))
    assert (info.subtype, info.channels, info.samplerate) == ("PCM_16", 1, RATE)
    written, _ = soundfile.read(str(ref.audio_path), dtype="float32")
    expected = stereo[ms(850):ms(6650)].mean(axis=1)
    assert written.size == expected.size
    inner = slice(ms(10), -ms(10))  # past the fades
    assert np.max(np.abs(written[inner] - expected[inner])) < 2 / 32768
    assert abs(written[0]) < 1e-3 and abs(written[-1]) < 1e-3


def test_clipping_on_either_channel_counts():
    audio, spans = tone_track(8000, [(1000, 6500)], amp=0.5)
    stereo = np.stack([audio, np.clip(3 * audio, -1, 1)], axis=1)
    cues = [Cue(1, 1000, 6500, "loud", "a")]
    (clean,) = find_candidates(stereo[:, :1], RATE, cues, "a", speech=spans)
    (loud,) = find_candidates(stereo, RATE, cues, "a", speech=spans)
    assert clean.clipped_fraction == 0.0 and loud.clipped_fraction > 0.3 and loud.score < clean.score


def test_a_user_clip_always_wins(tmp_path):
    audio, spans = tone_track(8000, [(1000, 6500)])
    cues = [Cue(1, 1000, 6500, "ours", "a")]
    candidates = find_references(audio, RATE, cues, "a", embedder=CountingEmbedder(), speech=spans)
    user = Reference(tmp_path / "mine.wav", "theirs", "en")
    assert choose_reference(user, candidates, audio, RATE, tmp_path / "refs") is user
    assert not (tmp_path / "refs").exists()
    chosen = choose_reference(None, candidates, audio, RATE, tmp_path / "refs", lang="ja")
    assert chosen is not None and chosen.text == "ours" and chosen.lang == "ja" and chosen.audio_path.is_file()
    assert choose_reference(None, [], audio, RATE, tmp_path / "refs") is None


# A scene spoken by the built-in engines, over a noise floor and a quiet chord.

LONG = ("The quick brown fox jumps over the lazy dog near the river bank, "
        "and then it rests in the cool shade of an old tree.")
SHORT = "Thank you very much."
KUMO, JOE = "Please remember to close the window.", "We should leave before it starts to rain again."
BOB = ["Yes, come in.", "Sit down here.", "We are late."]
NOBODY = "Nobody knows who said this line."


@pytest.fixture(scope="module")
def scene():
    """A 50 s track: Ann's long line clean, under noise, clipped; her short line; one of her cues
    spoken by two voices; Bob's three short lines; one unattributed line."""
    from dubber.plugin.registry import get_engine

    piper, kokoro = get_engine("piper"), get_engine("kokoro")

    def say(engine, text, voice=None):
        take = engine.synthesize(SynthesisRequest(text, "en", voice))
        x = resample(take.samples, take.sample_rate, RATE)
        span = speech_span(x, RATE)
        return x[span.start:span.end]  # so placement times are speech times

    rng = np.random.default_rng(1)
    t = np.arange(ms(50000)) / RATE
    track = 0.001 * rng.standard_normal(t.size) + sum(0.002 * np.sin(2 * np.pi * f * t) for f in (220, 277, 330))
    cues, placed = [], {}

    def place(x, at_ms, text, speaker, label):
        lo = ms(at_ms)
        track[lo:lo + x.size] += x
        placed[label] = (lo, lo + x.size)
        cues.append(Cue(len(cues) + 1, at_ms - 100, (lo + x.size) * 1000 // RATE + 100, text, speaker))

    long_line = say(piper, LONG)
    place(long_line, 1000, LONG, "ann", "clean")
    place(long_line, 11000, LONG, "ann", "noisy")
    noise_rms = 0.6 * np.sqrt(np.mean(long_line ** 2))  # about 4.4 dB below the line
    track[ms(9000):ms(18500)] += noise_rms * rng.standard_normal(ms(18500) - ms(9000))
    place(long_line, 21000, LONG, "ann", "clipped")
    track[ms(20000):ms(28000)] = np.clip(4 * track[ms(20000):ms(28000)], -1, 1)
    place(say(piper, SHORT), 30000, SHORT, "ann", "short")
    place(np.concatenate([say(kokoro, KUMO, "jm_kumo"), say(piper, JOE)]), 33000, f"{KUMO} {JOE}", "ann", "two")
    at = 40000
    for i, text in enumerate(BOB):
        line = say(piper, text)
        place(line, at, text, "bob", f"bob{i + 1}")
        at += line.size * 1000 // RATE + 400
    place(say(piper, NOBODY), at + 400, NOBODY, None, "nobody")
    return track.astype(np.float32), cues, placed


def test_vad_finds_where_speech_was_placed(scene):
    from dubber.models.vad import default_detector

    track, _, placed = scene
    spans = default_detector().speech_spans(track, RATE)
    assert all(isinstance(s, int) and isinstance(e, int) for s, e in spans)
    for label in ("clean", "short", "bob1", "bob2", "bob3", "nobody"):
        lo, hi = placed[label]
        inside = [(s, e) for s, e in spans if s < hi and e > lo]
        assert inside, label
        assert abs(inside[0][0] - lo) <= ms(50), (label, (inside[0][0] - lo) * 1000 // RATE)
        # Silero's probability decays after the last sound: ends trail by up to ~100 ms, never lead.
        assert -ms(10) <= inside[-1][1] - hi <= ms(110), (label, (inside[-1][1] - hi) * 1000 // RATE)
    quiet = [(s, e) for s, e in spans if s < ms(10000) and e > placed["clean"][1] + ms(300)]
    assert not quiet  # the noise floor and the chord are not speech


def test_a_clean_clip_outranks_noisy_clipped_short_and_two_voice_ones(scene):
    track, cues, _ = scene
    found = {c.cue_indices: c for c in find_references(track, RATE, cues, "ann", keep=10)}
    assert set(found) == {(1,), (2,), (3,), (4,), (5,)}  # 4 and 5 are over 1 s apart: not merged
    clean, noisy, clipped, short, two = (found[(i,)] for i in range(1, 6))
    assert clean.reasons == () and clean.score == pytest.approx(1.0)
    assert clean.snr_db > 25 and clean.clipped_fraction == 0 and clean.consistency > 0.65
    assert noisy.snr_db == pytest.approx(4.4, abs=1.5) and noisy.reasons[0].startswith("noisy")
    assert clipped.clipped_fraction > 0.002 and any(r.startswith("clipped") for r in clipped.reasons)
    assert short.duration_ms < 3000 and short.reasons[0].startswith("short")
    assert two.consistency < 0.5 and any("more than one voice" in r for r in two.reasons)
    for worse in (noisy, clipped, short, two):
        assert clean.score > worse.score + 0.3, worse


def test_each_speaker_gets_references_from_one_pass(scene, tmp_path):
    track, cues, placed = scene
    refs = references_by_speaker(track, RATE, cues, keep=2)
    assert list(refs) == ["ann", "bob", UNNAMED]
    assert len(refs["ann"]) == 2 and refs["ann"][0].cue_indices == (1,)
    (bob,) = refs["bob"]  # his three lines merge into one clip; the shorter merges lie inside it
    assert bob.cue_indices == (6, 7, 8) and bob.text == " ".join(BOB)
    assert abs(bob.start_ms - (placed["bob1"][0] * 1000 // RATE - PAD_MS)) <= 50
    assert 0 <= bob.end_ms - (placed["bob3"][1] * 1000 // RATE + PAD_MS) <= 110
    assert [c.cue_indices for c in refs[UNNAMED]] == [(9,)]  # not merged into Bob's run

    ref = write_reference(refs["ann"][0], track, RATE, tmp_path, lang="en")
    assert ref.text == LONG
    written, rate = soundfile.read(str(ref.audio_path), dtype="float32")
    lo = placed["clean"][0] - (refs["ann"][0].start_ms * RATE // 1000)
    assert rate == RATE and 0 < lo < ms(PAD_MS + 50)
    original = track[placed["clean"][0]:placed["clean"][1]]
    assert np.corrcoef(written[lo:lo + original.size], original)[0, 1] > 0.99


def test_search_stretches_merge_touching_cues_and_cut_a_long_run_between_two():
    cues = [Cue(1, 10_000, 12_000, "a"), Cue(2, 14_000, 15_000, "b"), Cue(3, 60_000, 61_000, "c")]
    assert search_stretches(cues) == [(10_000 - SEARCH_MS, 15_000 + SEARCH_MS),
                                      (60_000 - SEARCH_MS, 61_000 + SEARCH_MS)]
    assert search_stretches([Cue(1, 500, 900, "a")]) == [(0, 900 + SEARCH_MS)]
    back_to_back = [Cue(i + 1, i * 3000, i * 3000 + 2000, "x") for i in range(40)]  # 2 minutes of lines
    stretches = search_stretches(back_to_back, longest_ms=30_000)
    assert len(stretches) > 1 and all(b - a <= 30_000 for a, b in stretches)
    assert all(a < b for a, b in stretches) and stretches[0][0] == 0 and stretches[-1][1] == 119_000 + SEARCH_MS
    for (_, end), (start, _) in zip(stretches, stretches[1:]):
        assert end == start and start % 3000 == 2500  # halfway through the 1 s gap between two lines


class WholeRefused(DiskAudio):
    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise AssertionError("the whole track was asked for")


def test_clips_from_a_track_on_disk_are_those_from_the_array(scene, tmp_path):
    """Searched by ranges around the cues, the track on disk gives the clips the whole track's VAD pass gives."""
    track, cues, _ = scene
    path = tmp_path / "track.f32"
    track[:, None].astype("<f4").tofile(path)
    disk = WholeRefused(path, 1, RATE)
    speech = speech_around(disk, RATE, cues)
    assert speech == speech_around(track, RATE, cues)
    whole = find_references(track, RATE, cues, "ann", keep=2)
    on_disk = find_references(disk, RATE, cues, "ann", keep=2, speech=speech)
    assert [(c.cue_indices, c.start_ms, c.end_ms, c.snr_db) for c in on_disk] == \
        [(c.cue_indices, c.start_ms, c.end_ms, c.snr_db) for c in whole]
    written = write_reference(on_disk[0], disk, RATE, tmp_path / "disk")
    expected = write_reference(whole[0], track, RATE, tmp_path / "array")
    assert written.audio_path.read_bytes() == expected.audio_path.read_bytes()
