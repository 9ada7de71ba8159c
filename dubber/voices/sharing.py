"""Which speakers would sound alike: two speakers given one engine and voice are heard as one person, and so
are two given voices whose speaker vectors lie closer than `apart.MIN_DISTANCE`.

A cloning engine speaks each speaker's own clip, so its speakers share a voice only when they share
the clip (and the named voice, where it takes one). A voice shifted in pitch is another voice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from dubber.project.store import SpeakerEntry
from dubber.voices.apart import MIN_DISTANCE


@dataclass(frozen=True)
class SharedVoice:
    """One voice two or more speakers speak with, and who they are (in the order given)."""

    engine: str
    voice: str
    speakers: tuple[str, ...]
    reference: str | None = None  # the clip they share, for a cloning engine


@dataclass(frozen=True)
class CloseVoices:
    """Two speakers of one engine whose voices differ, but by less than the least distance heard apart."""

    engine: str
    speakers: tuple[str, str]
    voices: tuple[str, str]
    distance: float  # 1 - cosine of the voices' speaker vectors


def shared_voices(speakers: Iterable[SpeakerEntry], cloning: Collection[str] = ()) -> list[SharedVoice]:
    """Return every voice more than one of `speakers` has, in the order first met; `cloning` names the
    engines that clone a clip."""
    groups: dict[tuple[str, str, str | None, float], list[str]] = {}
    for entry in speakers:
        clip = entry.reference if entry.engine in cloning else None
        groups.setdefault((entry.engine, entry.voice, clip, round(entry.pitch_semitones, 1)), []).append(entry.name)
    return [SharedVoice(engine, voice, tuple(names), clip)
            for (engine, voice, clip, _), names in groups.items() if len(names) > 1]


def close_voices(speakers: Iterable[SpeakerEntry], distance: Callable[[str, str, str], float | None],
                 cloning: Collection[str] = (), min_distance: float = MIN_DISTANCE) -> list[CloseVoices]:
    """Return every pair of `speakers` with different voices of one engine closer than `min_distance`;
    `distance(engine, a, b)` is None where it is not known (such a pair is not named)."""
    entries = [e for e in speakers if e.engine not in cloning and e.voice]
    pairs = []
    for i, first in enumerate(entries):
        for second in entries[i + 1:]:
            if first.engine != second.engine or first.voice == second.voice:
                continue
            d = distance(first.engine, first.voice, second.voice)
            if d is not None and d < min_distance:
                pairs.append(CloseVoices(first.engine, (first.name, second.name), (first.voice, second.voice),
                                         round(d, 3)))
    return pairs
