"""Stems for the editor: the dialogue, each speaker's dialogue, the ducked original, one WAV per line.

Every stem carries the gain the mix applied after summing (peak guard, loudness and the limiter,
sample by sample), so the dialogue stem plus the background stem add up to the mixed track, and the
line WAVs add up to the dialogue stem. The stems are written block by block (dubber.mix.blocks), in the
same walk as the dub track when a dub writes both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.mix.blocks import Block, Mixdown, Output, write_blocks
from dubber.mix.timeline import Timeline
from dubber.subtitles.speakers import UNNAMED

DIALOGUE = "dialogue.wav"
BACKGROUND = "background.wav"
SPEAKERS_FOLDER = "speakers"
LINES_FOLDER = "lines"
UNNAMED_STEM = "unnamed"


@dataclass(frozen=True)
class LineClip:
    """One line's WAV as written: where its first sample lands on the timeline and how long it is."""

    index: int
    speaker: str
    start: int  # samples, >= 0
    length: int  # samples
    path: Path


def line_file_name(index: int) -> str:
    """Name a line's WAV by its cue index, zero-padded so files sort in cue order."""
    return f"{index:04d}.wav"


def speaker_file_names(speakers: set[str]) -> dict[str, str]:
    """Name each speaker's stem after the speaker, in characters every file system takes, each name once."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for speaker in sorted(speakers):
        safe = re.sub(r"[^\w.-]+", "_", speaker.strip()).strip("._") or UNNAMED_STEM
        name, n = safe, 2
        while name.lower() in taken:  # "A B" and "A_B", or names differing in case on macOS/Windows
            name, n = f"{safe}-{n}", n + 1
        taken.add(name.lower())
        names[speaker] = f"{name}.wav"
    return names


def write_line_clips(folder: Path, timeline: Timeline, speakers: dict[int, str], mixdown: Mixdown) -> list[LineClip]:
    """Write each placed line as `folder/NNNN.wav` (the part inside the timeline), at the mix's gain."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for placement in sorted(timeline.placements, key=lambda p: (p.start, p.key)):
        lo, hi = max(placement.start, 0), min(placement.end, timeline.length)
        if hi <= lo:
            continue
        samples = mixdown.scaled(placement.samples[lo - placement.start:hi - placement.start], lo)
        path = media.write_wav(folder / line_file_name(placement.key), samples, timeline.sample_rate)
        clips.append(LineClip(placement.key, speakers.get(placement.key, UNNAMED), lo, hi - lo, path.absolute()))
    return clips


def stem_outputs(folder: Path, speakers: dict[int, str], mixdown: Mixdown) -> list[Output]:
    """The stems a walk over the mix writes: the dialogue, one per speaker, the background (the original as
    mixed, when it is in the mix), each at the mix's gain."""
    timeline = mixdown.timeline
    outputs = [Output(folder / DIALOGUE, 1, lambda block: block.scaled(block.stem))]
    names = speaker_file_names(set(speakers.values()))
    for speaker, file_name in names.items():
        keys = {key for key, name in speakers.items() if name == speaker}
        if len(names) == 1:  # one speaker: the dialogue itself
            outputs.append(Output(folder / SPEAKERS_FOLDER / file_name, 1, lambda block: block.scaled(block.stem)))
        else:
            outputs.append(Output(folder / SPEAKERS_FOLDER / file_name, 1, _speaker(timeline, keys)))
    if mixdown.ducked:
        outputs.append(Output(folder / BACKGROUND, mixdown.channels, _background))
    return outputs


def _speaker(timeline: Timeline, keys: set[int]) -> Callable[[Block], np.ndarray]:
    return lambda block: block.scaled(timeline.render(block.start, block.end, keys=keys))


def _background(block: Block) -> np.ndarray:
    if block.original is None:
        raise ValueError("a background stem needs the original in the mix")
    return block.scaled(block.original)


def write_stems(folder: Path, speakers: dict[int, str], mixdown: Mixdown) -> tuple[list[Path], list[LineClip]]:
    """Write the dialogue stem, one stem per speaker, the background (the original as mixed), and the lines."""
    folder.mkdir(parents=True, exist_ok=True)
    written = write_blocks(mixdown, stem_outputs(folder, speakers, mixdown))
    clips = write_line_clips(folder / LINES_FOLDER, mixdown.timeline, speakers, mixdown)
    return written + [clip.path for clip in clips], clips
