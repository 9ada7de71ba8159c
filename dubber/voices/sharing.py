"""Which speakers would sound alike: two speakers given one engine and voice are heard as one person.

A cloning engine speaks each speaker's own clip, so its speakers share a voice only when they share
the clip (and the named voice, where it takes one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from dubber.project.store import SpeakerEntry


@dataclass(frozen=True)
class SharedVoice:
    """One voice two or more speakers speak with, and who they are (in the order given)."""

    engine: str
    voice: str
    speakers: tuple[str, ...]
    reference: str | None = None  # the clip they share, for a cloning engine


def shared_voices(speakers: Iterable[SpeakerEntry], cloning: Collection[str] = ()) -> list[SharedVoice]:
    """Return every voice more than one of `speakers` has, in the order first met; `cloning` names the
    engines that clone a clip."""
    groups: dict[tuple[str, str, str | None], list[str]] = {}
    for entry in speakers:
        clip = entry.reference if entry.engine in cloning else None
        groups.setdefault((entry.engine, entry.voice, clip), []).append(entry.name)
    return [SharedVoice(engine, voice, tuple(names), clip)
            for (engine, voice, clip), names in groups.items() if len(names) > 1]
