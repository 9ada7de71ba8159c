"""Reference clips for voice cloning: the best few stretches of each speaker's original speech.

Candidates are cut from the original audio track at a speaker's cues, with the speech bounds
from one VAD pass over the whole track (`dubber.models.vad`), or over the stretches around the cues
(`speech_around`, which reads a track on disk by ranges):

* one per cue: the speech inside the cue's window (the cue widened by WINDOW_SLACK_MS each side,
  never past halfway to a neighbouring cue), padded by PAD_MS;
* runs of consecutive cues of the speaker (no other cue between them, gaps of at most MAX_GAP_MS),
  started at each cue whose own clip is shorter than MIN_LENGTH_MS and grown one cue at a time
  until the clip reaches IDEAL_MIN_MS; a run whose clip would pass MAX_MERGED_MS is not made.

A candidate's text is its cues' texts joined in order: cloning engines take it as the prompt text.

Score: the product of five factors, each piecewise-linear in one measurement between the knots
below and never under 0.1, so that a clip bad in one way still ranks against clips bad in others:

    length       1.5 s: 0.1   3 s: 0.6   5-8 s: 1.0   10 s: 0.6   15 s: 0.1
    SNR          0 dB: 0.1    25 dB: 1.0
    clipping     0 %: 1.0     0.1 %: 0.5   1 %: 0.1   (share of samples with |x| >= 0.99)
    one speaker  0.45: 0.1    0.65: 1.0               (consistency, below)
    edges        1.0, or 0.5 when speech runs past the window (a cut word, or words not in the text)

The SNR compares, in 20 ms frames, the mean power of the clip's speech frames with the median power
of the non-speech frames in and around it (within CONTEXT_MS, and at least GUARD_MS from speech,
past the VAD's trailing edge): 10·log10((speech - noise) / noise), within [-20, 60] dB. With fewer
than MIN_NOISE_FRAMES such frames, the noise is the 10th percentile of the speech frames (the
floor between syllables).

Consistency judges whether a clip holds one voice. The speaker encoder gives a vector per 0.8 s
window of the clip's speech (every 0.4 s); consistency is the lowest cosine between the mean of
any run of at least RUN_WINDOWS consecutive windows (about 1.6 s) and the mean of all the others.
One voice keeps it high (0.67-0.85 on Piper and Kokoro voices with the bundled encoder); a second
voice anywhere in the clip pulls it down (0.20-0.52). Shorter clips use runs of half their windows.

Embedding costs far more than the other measures, so candidates are embedded best-first by the
product of the other four factors (an upper bound of the total, as consistency's factor is at most
1) until no unembedded candidate can enter the best `keep`; those never embedded are not returned.
The best `keep` do not overlap in time: a clip overlapping a better one is passed over.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from dubber.audio.samples import as_mono, ms_to_samples, samples_to_ms
from dubber.audio.source import DiskAudio
from dubber.errors import MediaError
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.models.vad import default_detector
from dubber.plugin.engine import Reference
from dubber.subtitles.cue import Cue

if TYPE_CHECKING:
    from dubber.models.speaker_embedding import SpeakerEmbedder

Span = tuple[int, int]  # half-open [start, end) in samples

UNNAMED = ""  # the speaker key of cues with no speaker: together they count as one voice

# Cutting
WINDOW_SLACK_MS = 300  # subtitles often start late or end early by this much
PAD_MS = 150  # kept around the speech, so the clip starts and ends in a pause
MIN_LENGTH_MS = 3000  # a cue with a shorter clip is merged with the cues after it
IDEAL_MIN_MS = 5000
IDEAL_MAX_MS = 8000
MAX_MERGED_MS = 10000
MAX_GAP_MS = 1000  # between cues merged into one clip
FADE_MS = 10  # at the written clip's ends, so it starts and stops without a click

# Scoring (see the module docstring)
FLOOR = 0.1
LENGTH_KNOTS = ((1500, MIN_LENGTH_MS, IDEAL_MIN_MS, IDEAL_MAX_MS, MAX_MERGED_MS, 15000),
                (FLOOR, 0.6, 1.0, 1.0, 0.6, FLOOR))
SNR_KNOTS = ((0.0, 25.0), (FLOOR, 1.0))
CLIPPED_KNOTS = ((0.0, 0.001, 0.01), (1.0, 0.5, FLOOR))
CONSISTENCY_KNOTS = ((0.45, 0.65), (FLOOR, 1.0))
CUT_FACTOR = 0.5
CLIP_LEVEL = 0.99
FRAME_MS = 20
CONTEXT_MS = 1000
GUARD_MS = 100
MIN_NOISE_FRAMES = 10
# Searched for speech around each cue: its window, the noise floor's context and guard, and the VAD's lead-in.
SEARCH_MS = WINDOW_SLACK_MS + CONTEXT_MS + GUARD_MS + 1000
LONGEST_SEARCH_MS = 120_000  # one VAD read at most this long (23 MB of 48 kHz stereo), cut between two cues
SNR_RANGE_DB = (-20.0, 60.0)
RUN_WINDOWS = 3
EMBEDS_PER_KEPT = 5  # at most keep × this many clips of a speaker are embedded


@dataclass(frozen=True)
class ReferenceCandidate:
    """A clip of one speaker, what is said in it, and how well it would serve as a reference."""

    speaker: str
    cue_indices: tuple[int, ...]
    start_ms: int
    end_ms: int
    text: str
    snr_db: float
    clipped_fraction: float
    consistency: float | None  # None: not embedded, or too short to judge
    cut: bool  # speech runs past the cues' window
    score: float
    reasons: tuple[str, ...] = ()  # why the score is below 1

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def score_clip(duration_ms: int, snr_db: float, clipped_fraction: float, consistency: float | None,
               cut: bool = False) -> tuple[float, tuple[str, ...]]:
    """Return a clip's score (the module docstring's formula) and the reasons it is below 1."""
    length = _ramp(duration_ms, LENGTH_KNOTS)
    snr = _ramp(snr_db, SNR_KNOTS)
    clipped = _ramp(clipped_fraction, CLIPPED_KNOTS)
    one_voice = 1.0 if consistency is None else _ramp(consistency, CONSISTENCY_KNOTS)
    edges = CUT_FACTOR if cut else 1.0
    reasons = []
    if length < 1.0:
        side = "short" if duration_ms < IDEAL_MIN_MS else "long"
        reasons.append(f"{side}: {duration_ms / 1000:.1f} s (best {IDEAL_MIN_MS // 1000}-{IDEAL_MAX_MS // 1000} s)")
    if snr < 1.0:
        reasons.append(f"noisy: SNR {snr_db:.0f} dB")
    if clipped < 1.0:
        reasons.append(f"clipped: {clipped_fraction * 100:.2f} % of samples")
    if one_voice < 1.0:
        reasons.append(f"may hold more than one voice (consistency {consistency:.2f})")
    if cut:
        reasons.append("speech runs past the cue's time window")
    return length * snr * clipped * one_voice * edges, tuple(reasons)


def find_references(audio: np.ndarray | DiskAudio, rate: int, cues: Sequence[Cue], speaker: str | None, *,
                    keep: int = 3, embedder: SpeakerEmbedder | None = None,
                    speech: Sequence[Span] | None = None) -> list[ReferenceCandidate]:
    """Return up to `keep` non-overlapping reference clips of `speaker`, best first.

    `audio` is the original track ([n] or [n, channels]) at `rate`; `speaker` None or UNNAMED picks
    the cues with no speaker. `speech` is the track's VAD spans in samples, when already known.
    Raises EngineUnavailable when the VAD or the speaker encoder is not installed.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    track = _Track(audio, rate, _detect_speech(audio, rate) if speech is None else speech)
    return _rank(_candidates(track, cues, speaker or UNNAMED), track, keep, embedder)


def find_candidates(audio: np.ndarray, rate: int, cues: Sequence[Cue], speaker: str | None, *,
                    speech: Sequence[Span] | None = None) -> list[ReferenceCandidate]:
    """Return every candidate clip of `speaker` in time order, scored on all but consistency."""
    track = _Track(audio, rate, _detect_speech(audio, rate) if speech is None else speech)
    return _candidates(track, cues, speaker or UNNAMED)


def references_by_speaker(audio: np.ndarray, rate: int, cues: Sequence[Cue], keep: int = 3, *,
                          embedder: SpeakerEmbedder | None = None) -> dict[str, list[ReferenceCandidate]]:
    """Return each speaker's best reference clips, keyed by speaker (UNNAMED for cues with none).

    Speakers are in order of their first cue; one with no usable speech has an empty list.
    """
    if not cues:
        return {}
    speech = _detect_speech(audio, rate)
    speakers = dict.fromkeys(cue.speaker or UNNAMED for cue in sorted(cues, key=_cue_order))
    return {name: find_references(audio, rate, cues, name, keep=keep, embedder=embedder, speech=speech)
            for name in speakers}


def write_reference(candidate: ReferenceCandidate, audio: np.ndarray | DiskAudio, rate: int, folder: str | Path,
                    lang: str | None = None) -> Reference:
    """Write the candidate's clip as a 16-bit mono WAV at the track's rate; return it as a Reference.

    Cloning engines resample prompts to their own rate, so the track's rate loses nothing.
    """
    import soundfile

    start, end = ms_to_samples(candidate.start_ms, rate), ms_to_samples(candidate.end_ms, rate)
    clip = as_mono(audio[start:end]).copy()
    fade = min(ms_to_samples(FADE_MS, rate), clip.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)
        clip[:fade] *= ramp
        clip[clip.size - fade:] *= ramp[::-1]
    path = Path(folder) / f"{_slug(candidate.speaker)}_{candidate.start_ms:08d}-{candidate.end_ms:08d}.wav"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), np.clip(clip, -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    except (OSError, RuntimeError) as exc:  # soundfile reports write failures as RuntimeError
        raise MediaError(f"cannot write reference clip {str(path)!r}: {exc}", path=str(path)) from exc
    return Reference(path, candidate.text, lang)


def choose_reference(user: Reference | None, candidates: Sequence[ReferenceCandidate], audio: np.ndarray,
                     rate: int, folder: str | Path, lang: str | None = None) -> Reference | None:
    """Return the user's clip when there is one (it always wins), else the best candidate written
    to `folder`, else None."""
    if user is not None:
        return user
    if not candidates:
        return None
    return write_reference(candidates[0], audio, rate, folder, lang)


# Cutting


class _Track:
    """The original audio and its speech spans, at one rate."""

    def __init__(self, audio: np.ndarray | DiskAudio, rate: int, speech: Sequence[Span]) -> None:
        if rate <= 0:
            raise ValueError(f"bad sample rate {rate}")
        # A track on disk stays there: only slices of it are read.
        self.audio = audio if isinstance(audio, DiskAudio) else np.asarray(audio, dtype=np.float32)
        self.rate = rate
        self.speech = sorted((int(s), int(e)) for s, e in speech if e > s)
        self._starts = [s for s, _ in self.speech]

    @property
    def n_samples(self) -> int:
        return int(self.audio.shape[0])

    def speech_in(self, lo: int, hi: int) -> list[Span]:
        """Return the speech spans that overlap [lo, hi), uncut."""
        # VAD spans never overlap, so only the last one starting at or before `lo` can reach it.
        spans = []
        for s, e in self.speech[max(bisect.bisect_right(self._starts, lo) - 1, 0):]:
            if s >= hi:
                break
            if e > lo:
                spans.append((s, e))
        return spans


@dataclass(frozen=True)
class _Run:
    """Consecutive cues of one speaker, and the stretch of track they may take."""

    cues: tuple[Cue, ...]
    lo: int  # window, in samples
    hi: int


def _runs(track: _Track, cues: Sequence[Cue], speaker: str) -> Iterable[_Run]:
    """Yield the speaker's single cues and the merged runs of consecutive short ones."""
    ordered = sorted(cues, key=_cue_order)
    windows = _windows(ordered, track)
    for p, cue in enumerate(ordered):
        if (cue.speaker or UNNAMED) != speaker:
            continue
        single = _Run((cue,), *windows[p])
        yield single
        if _length_ms(track, single) >= MIN_LENGTH_MS:
            continue
        q = p
        while q + 1 < len(ordered) and (ordered[q + 1].speaker or UNNAMED) == speaker \
                and ordered[q + 1].start_ms - ordered[q].end_ms <= MAX_GAP_MS:
            q += 1
            run = _Run(tuple(ordered[p:q + 1]), windows[p][0], windows[q][1])
            length = _length_ms(track, run)
            if length > MAX_MERGED_MS:
                break
            if length:
                yield run
            if length >= IDEAL_MIN_MS:
                break


def _windows(ordered: Sequence[Cue], track: _Track) -> list[Span]:
    """Return each cue's window in samples: widened by the slack, not past halfway to a neighbour."""
    end_ms = samples_to_ms(track.n_samples, track.rate)
    windows = []
    for p, cue in enumerate(ordered):
        lo, hi = cue.start_ms - WINDOW_SLACK_MS, cue.end_ms + WINDOW_SLACK_MS
        if p > 0:
            lo = max(lo, (ordered[p - 1].end_ms + cue.start_ms) // 2)
        if p + 1 < len(ordered):
            hi = min(hi, (cue.end_ms + ordered[p + 1].start_ms) // 2)
        lo, hi = max(lo, 0), min(hi, end_ms)
        windows.append((ms_to_samples(lo, track.rate), ms_to_samples(hi, track.rate)))
    return windows


def _clip_bounds(track: _Track, run: _Run) -> tuple[int, int, bool] | None:
    """Return the run's clip in samples (its speech, padded, inside the window) and whether speech
    crosses the window's edge; None when the window holds no speech."""
    if run.hi <= run.lo:
        return None
    spans = track.speech_in(run.lo, run.hi)
    if not spans:
        return None
    first, last = spans[0][0], spans[-1][1]
    cut = first < run.lo or last > run.hi
    pad = ms_to_samples(PAD_MS, track.rate)
    return max(run.lo, first - pad), min(run.hi, last + pad), cut


def _length_ms(track: _Track, run: _Run) -> int:
    """The run's clip length; 0 when it has no speech."""
    bounds = _clip_bounds(track, run)
    return 0 if bounds is None else samples_to_ms(bounds[1], track.rate) - samples_to_ms(bounds[0], track.rate)


# Measuring


def _candidates(track: _Track, cues: Sequence[Cue], speaker: str) -> list[ReferenceCandidate]:
    measured = (_measure(track, run, speaker) for run in _runs(track, cues, speaker))
    return sorted((c for c in measured if c is not None), key=lambda c: (c.start_ms, c.end_ms))


def _measure(track: _Track, run: _Run, speaker: str) -> ReferenceCandidate | None:
    """Measure a run's clip by everything but consistency (which needs an embedding)."""
    bounds = _clip_bounds(track, run)
    if bounds is None:
        return None
    start_ms, end_ms = samples_to_ms(bounds[0], track.rate), samples_to_ms(bounds[1], track.rate)
    lo, hi = ms_to_samples(start_ms, track.rate), ms_to_samples(end_ms, track.rate)
    if hi <= lo:
        return None
    snr_db = _snr_db(track, lo, hi)
    clipped = _clipped_fraction(track.audio[lo:hi])
    score, reasons = score_clip(end_ms - start_ms, snr_db, clipped, None, bounds[2])
    return ReferenceCandidate(speaker, tuple(c.index for c in run.cues), start_ms, end_ms,
                              " ".join(c.text for c in run.cues), snr_db, clipped, None, bounds[2], score, reasons)


def _snr_db(track: _Track, lo: int, hi: int) -> float:
    """Estimate the clip's speech-to-noise ratio from VAD-labelled frames (see the module docstring)."""
    rate = track.rate
    frame = max(1, ms_to_samples(FRAME_MS, rate))
    c_lo = max(0, lo - ms_to_samples(CONTEXT_MS, rate))
    c_hi = min(track.n_samples, hi + ms_to_samples(CONTEXT_MS, rate))
    n_frames = (c_hi - c_lo) // frame
    if n_frames == 0:
        return SNR_RANGE_DB[0]
    x = as_mono(track.audio[c_lo:c_lo + n_frames * frame]).astype(np.float64)
    power = np.mean(x.reshape(n_frames, frame) ** 2, axis=1)
    speech = np.zeros(c_hi - c_lo, dtype=bool)
    near = np.zeros(c_hi - c_lo, dtype=bool)
    guard = ms_to_samples(GUARD_MS, rate)
    for s, e in track.speech_in(c_lo - guard, c_hi + guard):
        speech[max(s - c_lo, 0):max(e - c_lo, 0)] = True
        near[max(s - guard - c_lo, 0):max(e + guard - c_lo, 0)] = True
    centres = np.arange(n_frames) * frame + frame // 2
    in_clip = (centres + c_lo >= lo) & (centres + c_lo < hi)
    speech_frames = power[speech[centres] & in_clip]
    noise_frames = power[~near[centres]]
    if speech_frames.size == 0:
        return SNR_RANGE_DB[0]
    signal = float(speech_frames.mean())
    if noise_frames.size >= MIN_NOISE_FRAMES:
        noise = float(np.median(noise_frames))
    else:
        noise = float(np.percentile(speech_frames, 10))
    noise = max(noise, 1e-12)
    snr = 10.0 * np.log10(max(signal - noise, 1e-12) / noise)
    return float(np.clip(snr, *SNR_RANGE_DB))


def _clipped_fraction(clip: np.ndarray) -> float:
    """Share of samples at full scale (any channel)."""
    if clip.shape[0] == 0:
        return 0.0
    peak = np.abs(clip) if clip.ndim == 1 else np.abs(clip).max(axis=1)
    return float(np.count_nonzero(peak >= CLIP_LEVEL)) / clip.shape[0]


def _consistency(track: _Track, candidate: ReferenceCandidate, embedder: SpeakerEmbedder) -> float | None:
    """The lowest cosine between any run of windows and the rest (see the module docstring)."""
    lo, hi = ms_to_samples(candidate.start_ms, track.rate), ms_to_samples(candidate.end_ms, track.rate)
    spans = [(max(s, lo), min(e, hi)) for s, e in track.speech_in(lo, hi)]
    speech = as_mono(np.concatenate([track.audio[s:e] for s, e in spans]))
    if speech.shape[0] < track.rate // 10:  # too little for even one padded window
        return None
    windows = embedder.window_embeddings(speech, track.rate).astype(np.float64)
    n = windows.shape[0]
    shortest = min(RUN_WINDOWS, n // 2)
    if shortest == 0:
        return None
    sums = np.concatenate([np.zeros((1, windows.shape[1])), np.cumsum(windows, axis=0)])
    total = sums[-1]
    lowest = 1.0
    for i in range(n):
        for j in range(i + shortest, n + 1):
            if n - (j - i) < shortest:
                break  # the rest only shrinks as the run grows
            part = sums[j] - sums[i]
            lowest = min(lowest, cosine(part, total - part))
    return lowest


def _rank(candidates: list[ReferenceCandidate], track: _Track, keep: int,
          embedder: SpeakerEmbedder | None) -> list[ReferenceCandidate]:
    """Embed candidates best-first until none left can enter the best `keep`; return those."""
    pending = sorted(candidates, key=_rank_key)
    judged: list[ReferenceCandidate] = []
    budget = EMBEDS_PER_KEPT * keep
    while pending and len(judged) < budget:
        chosen = _non_overlapping(judged, keep)
        if len(chosen) == keep and pending[0].score <= chosen[-1].score:
            break  # its score only falls once consistency is known
        candidate = pending.pop(0)
        if embedder is None:
            embedder = default_embedder()
        consistency = _consistency(track, candidate, embedder)
        score, reasons = score_clip(candidate.duration_ms, candidate.snr_db, candidate.clipped_fraction,
                                    consistency, candidate.cut)
        judged.append(replace(candidate, consistency=consistency, score=score, reasons=reasons))
    return _non_overlapping(judged, keep)


def _non_overlapping(candidates: Iterable[ReferenceCandidate], keep: int) -> list[ReferenceCandidate]:
    chosen: list[ReferenceCandidate] = []
    for candidate in sorted(candidates, key=_rank_key):
        if all(candidate.end_ms <= c.start_ms or candidate.start_ms >= c.end_ms for c in chosen):
            chosen.append(candidate)
            if len(chosen) == keep:
                break
    return chosen


def _rank_key(candidate: ReferenceCandidate) -> tuple[float, int]:
    return (-candidate.score, candidate.start_ms)


# Helpers


def _detect_speech(audio: np.ndarray, rate: int) -> list[Span]:
    return default_detector().speech_spans(audio, rate)


def speech_around(audio: np.ndarray | DiskAudio, rate: int, cues: Sequence[Cue]) -> list[Span]:
    """The speech spans (samples) in the stretches of the track that clips of these cues are cut and measured
    from, each read and searched by itself: a film on disk is never loaded whole."""
    n = audio.shape[0]
    spans: list[Span] = []
    for lo_ms, hi_ms in search_stretches(cues):
        lo, hi = ms_to_samples(lo_ms, rate), min(ms_to_samples(hi_ms, rate), n)
        if hi > lo:
            spans.extend((lo + s, lo + e) for s, e in _detect_speech(audio[lo:hi], rate))
    return spans


def search_stretches(cues: Sequence[Cue], longest_ms: int = LONGEST_SEARCH_MS) -> list[Span]:
    """Every cue widened by SEARCH_MS (ms), those that touch merged up to longest_ms; a longer stretch is cut
    halfway between two cues."""
    out: list[list[int]] = []
    last_end = 0
    for cue in sorted(cues, key=_cue_order):
        lo, hi = max(cue.start_ms - SEARCH_MS, 0), cue.end_ms + SEARCH_MS
        if out and lo <= out[-1][1]:
            if hi - out[-1][0] <= longest_ms:
                out[-1][1] = max(out[-1][1], hi)
                last_end = max(last_end, cue.end_ms)
                continue
            lo = out[-1][1] = min(max((last_end + cue.start_ms) // 2, out[-1][0] + 1), out[-1][1])
        out.append([lo, hi])
        last_end = max(last_end, cue.end_ms)
    return [(a, b) for a, b in out]


def _cue_order(cue: Cue) -> tuple[int, int]:
    return (cue.start_ms, cue.index)


def _ramp(value: float, knots: tuple[Sequence[float], Sequence[float]]) -> float:
    return float(np.interp(value, knots[0], knots[1]))


def _slug(speaker: str) -> str:
    return re.sub(r"[^\w-]+", "_", speaker).strip("_") or "unnamed"
