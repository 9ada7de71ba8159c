"""Real speakers for benchmarks and tests: ten LibriSpeech readers (bench/data/librispeech, issue #23).

Each reader has a reference clip (about 8 s) and held-out clips of other utterances (about 12 s in
all), 16 kHz mono Ogg/Opus, read once per process with libsndfile (in-process: a tenth of the time
of dubber's ffmpeg decoder, which reads the same files to the same length; tests/bench checks it).

    from real_speakers import load_speakers   # bench/ on the path, as for a script in it
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

FOLDER = Path(__file__).resolve().parent / "data" / "librispeech"
RATE = 16000


@dataclass(frozen=True)
class RealSpeaker:
    """One reader: who they are, their reference clip and their held-out clips, at RATE."""

    id: str
    sex: str  # "F" or "M", as LibriSpeech's SPEAKERS.TXT has it
    name: str  # the LibriVox reader's name
    reference: np.ndarray
    held_out: tuple[np.ndarray, ...]
    sources: str  # the LibriSpeech utterances and seconds the clips were cut from
    rate: int = RATE

    @property
    def label(self) -> str:
        return f"{self.id} {self.sex}"


@cache
def load_speakers() -> tuple[RealSpeaker, ...]:
    """Return every reader listed in speakers.tsv, in its order."""
    with open(FOLDER / "speakers.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return tuple(RealSpeaker(row["id"], row["sex"], row["name"], _read(row["reference"]),
                             tuple(_read(name) for name in row["held_out"].split(",")),
                             f"{row['reference_source']} | {row['held_out_sources']}")
                 for row in rows)


def _read(name: str) -> np.ndarray:
    samples, rate = sf.read(FOLDER / name, dtype="float32")
    if rate != RATE or samples.ndim != 1:
        raise ValueError(f"{name}: {rate} Hz, shape {samples.shape}; expected {RATE} Hz mono")
    return samples
