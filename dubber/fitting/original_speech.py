"""Where the original speech is: each cue's target span, found on the video's own audio.

A subtitle is a display window: subtitlers hold a short line on screen for reading time, so the
actor often speaks for half of it. A dub follows the actor instead (it starts when the actor starts
and ends when the actor stops), with the cue as the outer bound. So:

1. Speech is found by Silero VAD with quarter-frame onsets (`SpeechDetector.fine_speech_spans`),
   only around the cues (each widened by CONTEXT_MS; a film's long stretches without subtitles cost
   nothing). Silero is trained on speech over music and noise, so a music bed under the dialogue
   mostly stays out of the spans.
2. Each speech segment goes to the cue whose window it overlaps most, the window widened by
   MARGIN_MS each side (subtitlers set the in-time a few frames off the speech). A segment that
   overlaps two cues' own windows by SHARED_MS or more each (two speakers with no pause between
   them) is cut at the later cue's start. A segment near no cue is speech nobody subtitled: ignored.
3. A cue's target runs from its first segment's onset to its last segment's end, never earlier than
   the widened window, never past the next cue's start or MAX_RUN_ON_MS past its own end.
4. Cues sharing one window (a dashed two-speaker line split into turns, or two events stacked in
   one window) share its speech: at the pause between segments whose share of the speech is
   nearest each turn's share of the text; with one unbroken segment, inside it by text length;
   with no speech, the window by text length.

Only lines take part: spoken ones, and those left untranslated (their speech is theirs, though they
are not spoken, and follows them if they are spoken anyway); a sign or a sound description on screen
during dialogue never takes the speech.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from dubber.audio.samples import as_mono, ms_to_samples, samples_to_ms
from dubber.models.vad import SpeechDetector, VadParams, merged
from dubber.subtitles.cue import SKIP_LANGUAGE, Cue

CONTEXT_MS = 1000  # audio analysed around each cue (the VAD's LSTM needs some lead-in)
MARGIN_MS = 400  # a cue's window widened by this much each side when speech is matched to it
SHARED_MS = 250  # a segment overlapping two cues' windows this much each holds both lines
MIN_TARGET_MS = 80  # a target shorter than this is a click, not speech
MAX_RUN_ON_MS = 2000  # speech followed past its cue's end at most this far (a 220 ms cue over a whole line)
MAX_REGION_MS = 120_000  # dense cues are analysed in stretches at most this long: a film's sound is read by parts
# Stretches run through the VAD together (its batch: 4 passes of each), at most this much audio in all, each read
# as mono a block at a time. On a 30-minute dub: 12.8 s to find the speech against 21.5 s one stretch at a time.
BATCH_MS = 4 * MAX_REGION_MS
READ_BLOCK = 480_000  # samples read at once when a stretch is brought to mono (10 s at 48 kHz)

Span = tuple[int, int]  # half-open, in ms


@dataclass(frozen=True)
class Target:
    """The original speech of one line: where it starts and ends on the timeline, in ms."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def find_speech(original: np.ndarray, rate: int, cues: Sequence[Cue]) -> list[Span]:
    """Return the speech spans (ms, in order) of the original track around the spoken cues."""
    detector = line_detector()
    length = original.shape[0]
    regions = []
    for lo_ms, hi_ms in speech_regions([c for c in cues if c.spoken]):
        lo, hi = ms_to_samples(lo_ms, rate), min(ms_to_samples(hi_ms, rate), length)
        if hi - lo >= rate // 10:
            regions.append((lo, hi))
    spans: list[Span] = []
    for batch in _batches(regions, ms_to_samples(BATCH_MS, rate)):
        found = detector.fine_speech_spans_each((_mono(original, lo, hi) for lo, hi in batch), rate)
        for (lo, _), pieces in zip(batch, found):
            spans += [(samples_to_ms(lo + start, rate), samples_to_ms(lo + end, rate)) for start, end in pieces]
    return merged(spans)


def _mono(original: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """original[lo:hi] as mono, read a block at a time: a stretch's stereo samples are never whole in memory."""
    out = np.empty(hi - lo, np.float32)
    for at in range(lo, hi, READ_BLOCK):
        end = min(at + READ_BLOCK, hi)
        out[at - lo:end - lo] = as_mono(original[at:end])
    return out


def _batches(regions: list[tuple[int, int]], most: int) -> list[list[tuple[int, int]]]:
    """The regions in consecutive groups of at most `most` samples in all (a longer region alone)."""
    batches: list[list[tuple[int, int]]] = []
    total = 0
    for lo, hi in regions:
        if batches and total + hi - lo <= most:
            batches[-1].append((lo, hi))
            total += hi - lo
        else:
            batches.append([(lo, hi)])
            total = hi - lo
    return batches


@cache
def line_detector() -> SpeechDetector:
    """The VAD tuned for lines: short utterances ("Eh?") kept, pauses of 100 ms split segments."""
    return SpeechDetector(VadParams(min_speech_ms=100, min_silence_ms=100))


def assign_targets(cues: Sequence[Cue], speech: Sequence[Span]) -> list[Cue]:
    """Give each spoken cue its original speech (`Cue.target_start_ms`/`target_end_ms`), the turns of a
    split cue re-timed to their share of its window."""
    # Lines left untranslated are not spoken, but their speech is theirs: it must not time a neighbour.
    groups = _groups([c for c in cues if c.spoken or c.skip == SKIP_LANGUAGE])
    owned: dict[int, list[Span]] = {i: [] for i in range(len(groups))}
    for segment in speech:
        for i, piece in _share(segment, groups):
            owned[i].append(piece)
    retimed: dict[int, Cue] = {}
    targets: dict[int, Target] = {}
    for i, group in enumerate(groups):
        first = group[0]
        lo, hi = first.start_ms - MARGIN_MS, first.end_ms + MAX_RUN_ON_MS
        if i + 1 < len(groups) and groups[i + 1][0].start_ms > first.start_ms:
            hi = min(hi, groups[i + 1][0].start_ms)
        segments = [(max(s, lo), min(e, hi)) for s, e in owned[i]]
        segments = [(s, e) for s, e in segments if e - s >= MIN_TARGET_MS]
        if len(group) == 1:
            if segments:
                targets[first.index] = Target(segments[0][0], segments[-1][1])
            continue
        for cue, window, target in zip(group, *_split_turns(group, segments), strict=True):
            retimed[cue.index] = dataclasses.replace(cue, start_ms=window[0], end_ms=window[1])
            if target is not None:
                targets[cue.index] = Target(*target)
    out = []
    for cue in cues:
        cue = retimed.get(cue.index, cue)
        target = targets.get(cue.index)
        out.append(dataclasses.replace(cue, target_start_ms=target.start_ms if target else None,
                                       target_end_ms=target.end_ms if target else None))
    return out


def _groups(cues: Sequence[Cue]) -> list[list[Cue]]:
    """Cues in time order, those sharing one window together: the turns of a split cue (parts 1, 2, ...)
    and the separate events fansubs stack for two speakers in one window, in file order."""
    groups: list[list[Cue]] = []
    for cue in sorted(cues, key=lambda c: (c.start_ms, c.end_ms, c.line or 0, c.part, c.index)):
        last = groups[-1][0] if groups else None
        if last is not None and (last.start_ms, last.end_ms) == (cue.start_ms, cue.end_ms):
            groups[-1].append(cue)
        else:
            groups.append([cue])
    return groups


def _share(segment: Span, groups: list[list[Cue]]) -> list[tuple[int, Span]]:
    """The groups a speech segment belongs to, with the piece each gets."""
    start, end = segment
    near = [i for i, g in enumerate(groups)
            if g[0].start_ms - MARGIN_MS < end and g[0].end_ms + MARGIN_MS > start]
    if not near:
        return []
    holding = [i for i in near if _overlap(segment, (groups[i][0].start_ms, groups[i][0].end_ms)) >= SHARED_MS]
    if len(holding) > 1:
        # Two lines spoken without a pause between them: cut at each later cue's start.
        cuts = [max(start, groups[i][0].start_ms) for i in holding[1:]]
        edges = [start, *cuts, end]
        return [(i, (edges[k], edges[k + 1])) for k, i in enumerate(holding) if edges[k + 1] > edges[k]]
    widened = [_overlap(segment, (groups[i][0].start_ms - MARGIN_MS, groups[i][0].end_ms + MARGIN_MS))
               for i in near]
    return [(near[int(np.argmax(widened))], segment)]


def _split_turns(group: list[Cue], segments: list[Span]) -> tuple[list[Span], list[Span | None]]:
    """Each turn's window and target inside a split cue's window."""
    start, end = group[0].start_ms, group[0].end_ms
    weights = np.array([max(len("".join(c.text.split())), 1) for c in group], dtype=np.float64)
    shares = np.cumsum(weights)[:-1] / weights.sum()  # where each boundary falls, as a share of the text
    if not segments:
        bounds = [round(start + s * (end - start)) for s in shares]
        edges = [start, *bounds, end]
        return [(edges[k], edges[k + 1]) for k in range(len(group))], [None] * len(group)
    speech_edges = _turn_edges(segments, shares)
    if speech_edges is None:  # one unbroken stretch of speech: cut it by text length
        s0, s1 = segments[0][0], segments[-1][1]
        cuts = [round(s0 + s * (s1 - s0)) for s in shares]
        targets: list[Span | None] = [(a, b) for a, b in zip([s0, *cuts], [*cuts, s1])]
        windows_at = cuts
    else:
        targets = [(segments[a][0], segments[b - 1][1]) for a, b in zip([0, *speech_edges], [*speech_edges,
                                                                                              len(segments)])]
        windows_at = [(segments[k - 1][1] + segments[k][0]) // 2 for k in speech_edges]
    windows_at = [min(max(w, start + 1), end - 1) for w in windows_at]
    edges = [start, *windows_at, end]
    windows = [(edges[k], max(edges[k + 1], edges[k] + 1)) for k in range(len(group))]
    return windows, targets


def _turn_edges(segments: list[Span], shares: np.ndarray) -> list[int] | None:
    """Indices of the segments that start each turn after the first, chosen at pauses so that each
    turn's share of the speech is nearest its share of the text; None when there are too few pauses."""
    if len(segments) <= len(shares):
        return None
    lengths = np.array([e - s for s, e in segments], dtype=np.float64)
    before = np.cumsum(lengths)[:-1] / lengths.sum()  # speech share before each pause
    edges: list[int] = []
    for k, share in enumerate(shares):
        lowest = edges[-1] + 1 if edges else 1
        highest = len(segments) - (len(shares) - k) + 1  # leave a segment for every later turn
        choices = range(lowest, highest)
        edges.append(min(choices, key=lambda j: abs(before[j - 1] - share)))
    return edges


def speech_regions(cues: Sequence[Cue], context_ms: int = CONTEXT_MS) -> list[Span]:
    """The stretches of the track to analyse: every cue widened by `context_ms`, merged while the stretch
    stays within MAX_REGION_MS (a longer run of cues is cut between two cues, the pieces overlapping by
    their context), so no more than that is read at once."""
    regions: list[Span] = []
    for lo, hi in sorted((max(c.start_ms - context_ms, 0), c.end_ms + context_ms) for c in cues):
        if regions and lo <= regions[-1][1] and max(hi, regions[-1][1]) - regions[-1][0] <= MAX_REGION_MS:
            regions[-1] = (regions[-1][0], max(hi, regions[-1][1]))
        else:
            regions.append((lo, hi))
    return regions


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))
