"""Keep speakers apart: choose the matched speakers' voices together, so that no two sound alike.

Each speaker matched to an engine's voices (`--voice auto` on an engine that cannot clone) brings its
ranked candidates (voices and blends, `match.rank_voices`); a speaker whose voice is settled (given by the
user, or kept from the project) takes part as it is. The cast chosen:

1. gives as few matched speakers as it can a voice outside `f0_span` semitones of their own median F0
   (where both are known: a deep voice is not given a high one; this rule comes first, as a voice of the
   wrong register is worse than two alike);
2. then falls as little short as it can of keeping any two speakers of one engine `min_distance` apart
   (1 - cosine of their voices' speaker vectors; one voice twice is distance 0), summed over the pairs;
3. then has the highest similarity to the references, each speaker weighted by its lines.

A depth-first search with a bound finds it; it stops after MAX_NODES steps with the best found so far
(casts of a handful of speakers finish long before). Rules it had to break are returned, for the report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_DISTANCE = 0.10  # 1 - cosine of d-vectors: below it, two voices sound like one person (bench in the README)
F0_SPAN = 6.0  # semitones between a speaker's median F0 and its voice's: PITCH_LIMIT's shift and as much again
MAX_NODES = 50_000


@dataclass(frozen=True)
class Seat:
    """One speaker to cast: the engine, its candidates (voice, similarity; best first) and what weighs it."""

    name: str
    engine: str
    candidates: tuple[tuple[str, float], ...]  # one candidate: the voice is settled
    weight: float = 1.0  # how much its similarity counts (its spoken lines)
    f0: float | None = None  # the speaker's median F0 in Hz, None when unknown

    @property
    def settled(self) -> bool:
        return len(self.candidates) == 1


@dataclass(frozen=True)
class TooClose:
    """Two speakers the cast could not keep `min_distance` apart."""

    first: str
    second: str
    engine: str
    voices: tuple[str, str]
    distance: float


@dataclass
class Cast:
    """The voice of every seat, and the rules the cast had to break."""

    voices: dict[str, str]
    too_close: list[TooClose] = field(default_factory=list)
    off_range: list[str] = field(default_factory=list)  # speakers given a voice outside their F0 span
    complete: bool = True  # False: the search stopped at MAX_NODES


Distance = Callable[[str, str, str], float]  # (engine, voice, voice) -> 1 - cosine
VoiceF0 = Callable[[str, str], float | None]  # (engine, voice) -> median F0 in Hz, None when unknown


def cast_apart(seats: list[Seat], distance: Distance, voice_f0: VoiceF0, *, min_distance: float = MIN_DISTANCE,
               f0_span: float = F0_SPAN, max_nodes: int = MAX_NODES) -> Cast:
    """Choose a candidate for every seat (see the module docstring for the rules and the order)."""
    memo: dict[tuple[str, str, str], float] = {}

    def far(engine: str, a: str, b: str) -> float:
        if a == b:
            return 0.0
        key = (engine, *sorted((a, b)))
        if key not in memo:
            memo[key] = distance(engine, a, b)
        return memo[key]

    ranges: dict[tuple[str, str], bool] = {}

    def out_of_range(seat: Seat, voice: str) -> bool:
        if seat.settled or seat.f0 is None:
            return False
        if (seat.name, voice) not in ranges:  # measured only when the search gets there: F0 is slow
            f0 = voice_f0(seat.engine, voice)
            ranges[seat.name, voice] = f0 is not None and f0 > 0 and abs(12 * math.log2(f0 / seat.f0)) > f0_span
        return ranges[seat.name, voice]

    order = sorted(seats, key=lambda s: (s.settled is False, -s.weight))  # settled first, then the weightiest
    options = [[(voice, s.weight * sim) for voice, sim in s.candidates] for s in order]
    best_rest = [0.0] * (len(order) + 1)  # the most the seats from i on can add
    for i in range(len(order) - 1, -1, -1):
        best_rest[i] = best_rest[i + 1] + max(score for _, score in options[i])

    best: list[tuple[int, float, float, list[str]]] = []  # (off range, shortfall, score, voices): the best so far
    chosen: list[str] = []
    nodes = 0

    def shortfall(i: int, voice: str) -> float:
        seat = order[i]
        return sum(max(0.0, min_distance - far(seat.engine, chosen[j], voice)) for j in range(i)
                   if order[j].engine == seat.engine)

    def beaten(off: int, short: float, bound: float) -> bool:
        """Whether a partial cast cannot beat the best found: both penalties only grow down the tree."""
        return bool(best) and (off, round(short, 9), -bound) >= (best[0][0], round(best[0][1], 9), -best[0][2])

    def search(i: int, off: int, short: float, score: float) -> bool:
        nonlocal nodes
        nodes += 1
        if nodes > max_nodes:
            return False
        if beaten(off, short, score + best_rest[i]):
            return True
        if i == len(order):
            best[:] = [(off, short, score, list(chosen))]
            return True
        for voice, value in options[i]:
            more = short + shortfall(i, voice)
            if beaten(off, more, score + value + best_rest[i + 1]):
                continue  # settled without measuring the voice's F0
            chosen.append(voice)
            going = search(i + 1, off + out_of_range(order[i], voice), more, score + value)
            chosen.pop()
            if not going:
                return False
        return True

    complete = search(0, 0, 0.0, 0.0)
    if not best:  # stopped before one whole cast: everyone's best
        best = [(0, 0.0, 0.0, [s.candidates[0][0] for s in order])]
    voices = dict(zip((s.name for s in order), best[0][3]))
    return Cast(voices, _too_close(order, voices, far, min_distance),
                [s.name for s in order if out_of_range(s, voices[s.name])], complete)


def _too_close(seats: list[Seat], voices: dict[str, str], far: Distance, min_distance: float) -> list[TooClose]:
    """Every pair of seats of one engine whose voices are closer than `min_distance`."""
    pairs = []
    for i, first in enumerate(seats):
        for second in seats[i + 1:]:
            if first.engine != second.engine:
                continue
            d = far(first.engine, voices[first.name], voices[second.name])
            if d < min_distance:
                pairs.append(TooClose(first.name, second.name, first.engine,
                                      (voices[first.name], voices[second.name]), round(d, 4)))
    return pairs
