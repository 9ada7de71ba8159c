"""Lay each line's chosen take on the timeline at its slot, and measure every placed line on its own.

A line is measured on its own placed clip (rendered alone at its place), not on the mixed stem: on
the stem, the next line's first syllable would count as this line's tail. The placed lines are then
checked together: two whose speech overlaps are both `overlap` (dubber.fitting.slots).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.audio.samples import as_mono, ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.fitting.fitter import Fit
from dubber.fitting.report import LineReport
from dubber.fitting.slots import STATUS_FAILED, Slot, judge, next_onsets, overlap_pairs, overlapping, with_overlap
from dubber.mix.timeline import Clip, Timeline, place_clips
from dubber.project.store import LineEntry


def onset_of(entry: LineEntry, slots: dict[int, Slot]) -> int:
    """Where a line's speech is placed: its slot's onset, else (a line not planned) its cue's start."""
    slot = slots.get(entry.index)
    return slot.onset_ms if slot is not None else entry.start_ms


def build_timeline(fitted: list[tuple[LineReport, Fit | None]], entries: list[LineEntry], length: int, rate: int,
                   slots: dict[int, Slot], project_path: Path | None = None) -> Timeline:
    """Place each line's chosen take so its speech onset lands on its slot's onset sample.

    Without a project the fits are placed from memory. With one, every take is placed from the
    project's takes folder and read only while the timeline renders it.
    """
    clips = []
    for (_, fit), entry in zip(fitted, entries):
        onset = onset_of(entry, slots)
        if fit is not None:
            clips.append(Clip(entry.index, onset, fit.samples, fit.sample_rate, fit.speech.start))
        elif project_path is not None:
            clip = lazy_clip(entry, project_path.parent, onset)
            if clip is None and entry.take is not None and entry.take.audio:  # from before onsets were recorded
                samples, take_rate = media.read_wav(project_path.parent / entry.take.audio)
                clip = stored_clip(entry, as_mono(samples), take_rate, onset)
            if clip is not None:
                clips.append(clip)
    return place_clips(clips, length, rate)


def lazy_clip(entry: LineEntry, folder: Path, onset_ms: int | None = None,
              frames: dict[str, int] | None = None) -> Clip | None:
    """A line's chosen take as it lies in the project `folder`, read only while a timeline renders it.

    None when the line has no take audio, or its take predates recorded onsets (it must be measured).
    `frames` keeps each take file's length once read (take files are named by their content).
    """
    take = entry.take
    if take is None or not take.audio or take.lead is None or take.sample_rate is None:
        return None
    path = folder / take.audio
    onset = entry.start_ms if onset_ms is None else onset_ms
    known = frames if frames is not None else {}
    if take.audio not in known:
        known[take.audio] = media.audio_frames(path)
    return Clip(entry.index, onset, None, take.sample_rate, take.lead, path, known[take.audio])


def stored_clip(entry: LineEntry, samples: np.ndarray, rate: int, onset_ms: int | None = None) -> Clip:
    """A line's stored take, ready to place; a take from before onsets were recorded is measured."""
    lead = entry.take.lead if entry.take is not None else None
    if lead is None:
        span = speech_span(samples, rate)
        lead = span.start if span else 0
    return Clip(entry.index, entry.start_ms if onset_ms is None else onset_ms, samples, rate, lead)


def measure_lines(lines: list[LineReport], timeline: Timeline, slots: dict[int, Slot],
                  accept_ms: int = 50) -> None:
    """Measure each placed line on its own clip and judge it against its slot and the next line's speech."""
    rate = timeline.sample_rate
    spans: dict[int, tuple[int, int]] = {}
    for p in timeline.placements:
        lo, hi = max(p.start, 0), min(p.end, timeline.length)
        span = speech_span(p.samples[lo - p.start:hi - p.start], rate) if hi > lo else None
        if span is not None:
            spans[p.key] = (samples_to_ms(lo + span.start, rate), samples_to_ms(lo + span.end, rate))
    following = next_onsets({index: span[0] for index, span in spans.items()})
    crossing = overlapping(spans)
    placed = {p.key for p in timeline.placements}
    for line in lines:
        slot = slots.get(line.index)
        if slot is None or line.index not in placed:
            continue  # a line whose engine failed has no clip: it keeps its reason
        slot = slot.borrowing(line.borrowed_ms)
        found = spans.get(line.index)
        if found is None:
            line.status, line.reason = STATUS_FAILED, "no speech found on the timeline (clip outside the video?)"
            continue
        next_start, next_index = following.get(line.index) or (None, None)
        verdict = judge(found, slot, next_start, accept_ms, next_index)
        if line.index in crossing:
            verdict = with_overlap(verdict, *crossing[line.index])
        line.judged(*found, slot, verdict)


def overlaps(lines: list[LineReport]) -> list[dict[str, int]]:
    """Every pair of lines whose measured speech overlaps on the mixed track, with by how much."""
    spans = {line.index: (line.speech_start_ms, line.speech_end_ms) for line in lines
             if line.speech_start_ms is not None and line.speech_end_ms is not None}
    return [{"lines": [first, second], "ms": ms} for first, second, ms in overlap_pairs(spans)]


def timeline_length(duration_ms: int | None, last_cue_ms: int, original: np.ndarray | None, rate: int) -> int:
    """The timeline spans the video; ffmpeg may not know the duration, so the audio and cues bound it too."""
    return max(ms_to_samples(duration_ms or last_cue_ms, rate), original.shape[0] if original is not None else 0)
