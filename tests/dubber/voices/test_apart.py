"""Casting speakers together: no two of one engine closer than the least distance, each within its F0 span,
the most similar cast among those, and the rules it had to break named."""

from __future__ import annotations

import itertools

from dubber.voices.apart import Seat, cast_apart

# Voices on a line: the distance between two is how far apart they sit (0.05 apart is one person).
PLACE = {"a": 0.0, "a2": 0.05, "b": 0.3, "c": 0.6, "d": 0.9}
F0 = {"a": 110.0, "a2": 115.0, "b": 120.0, "c": 220.0, "d": 230.0}


def distance(engine: str, first: str, second: str) -> float:
    return abs(PLACE[first] - PLACE[second])


def voice_f0(engine: str, voice: str) -> float | None:
    return F0.get(voice)


def seat(name: str, *ranked: tuple[str, float], weight: float = 1.0, f0: float | None = None,
         engine: str = "kokoro") -> Seat:
    return Seat(name, engine, tuple(ranked), weight, f0)


def test_two_speakers_nearest_one_voice_get_two_voices_and_the_weightier_keeps_it():
    seats = [seat("Ken", ("a", 0.8), ("b", 0.7), ("c", 0.2), weight=3),
             seat("Jun", ("a", 0.9), ("a2", 0.85), ("b", 0.6), ("c", 0.1), weight=10)]
    cast = cast_apart(seats, distance, voice_f0)
    # Jun (10 lines) keeps a; a2 is too close to a, so Ken takes b. No rule broken.
    assert cast.voices == {"Jun": "a", "Ken": "b"}
    assert cast.too_close == [] and cast.off_range == [] and cast.complete


def test_the_most_similar_cast_wins_not_the_greedy_one():
    # Greedy (A first) takes a for A, leaving B only c (0.1): 0.9 + 0.1. Together: A b + B a = 0.85 + 0.8.
    seats = [seat("A", ("a", 0.9), ("b", 0.85), weight=2), seat("B", ("a", 0.8), ("c", 0.1), weight=1)]
    cast = cast_apart(seats, distance, voice_f0)
    assert cast.voices == {"A": "b", "B": "a"}


def test_a_settled_speaker_keeps_its_voice_and_the_others_keep_away_from_it():
    seats = [seat("Mio", ("c", 0.95), ("d", 0.9), ("b", 0.5)), seat("Sora", ("c", 0.0))]  # Sora: settled on c
    cast = cast_apart(seats, distance, voice_f0)
    assert cast.voices == {"Sora": "c", "Mio": "d"}


def test_a_deep_voice_is_not_given_a_high_one_while_one_in_its_range_is_left():
    # A 100 Hz speaker whose embedding happens to favour c (220 Hz, 13.7 semitones up) gets b (120 Hz).
    seats = [seat("Taro", ("c", 0.9), ("b", 0.7), f0=100.0)]
    assert cast_apart(seats, distance, voice_f0).voices == {"Taro": "b"}
    # Without a known F0, the best is taken.
    assert cast_apart([seat("Taro", ("c", 0.9), ("b", 0.7))], distance, voice_f0).voices == {"Taro": "c"}
    # With nothing in range, the best out of range, named.
    cast = cast_apart([seat("Taro", ("c", 0.9), ("d", 0.7), f0=100.0)], distance, voice_f0)
    assert cast.voices == {"Taro": "c"} and cast.off_range == ["Taro"]


def test_when_the_catalogue_cannot_keep_them_apart_the_closest_pair_is_named():
    seats = [seat("A", ("a", 0.9), ("a2", 0.8), weight=2), seat("B", ("a", 0.7), ("a2", 0.6))]
    cast = cast_apart(seats, distance, voice_f0)
    assert cast.voices == {"A": "a", "B": "a2"}  # closer than heard apart, but not one voice twice
    assert [(p.first, p.second, p.voices, p.distance) for p in cast.too_close] == [("A", "B", ("a", "a2"), 0.05)]


def test_speakers_of_other_engines_never_clash():
    seats = [seat("A", ("a", 0.9), ("b", 0.1)), seat("B", ("a", 0.9), ("b", 0.1), engine="other")]
    cast = cast_apart(seats, distance, voice_f0)
    assert cast.voices == {"A": "a", "B": "a"} and cast.too_close == []


def test_every_cast_found_is_the_best_of_all_casts_by_brute_force():
    voices = list(PLACE)
    sims = [0.9, 0.8, 0.75, 0.5, 0.3, 0.2, 0.85, 0.6, 0.4, 0.1, 0.65, 0.55]
    seats = [seat(f"S{i}", *[(v, sims[(i * 5 + k * 7) % len(sims)]) for k, v in enumerate(voices)], weight=1 + i)
             for i in range(4)]
    cast = cast_apart(seats, distance, voice_f0)

    def key(choice: tuple[str, ...]) -> tuple[float, float]:
        short = sum(max(0.0, 0.1 - distance("", x, y)) for x, y in itertools.combinations(choice, 2))
        score = sum(s.weight * dict(s.candidates)[v] for s, v in zip(seats, choice))
        return round(short, 9), round(-score, 9)

    best = min(itertools.product(voices, repeat=len(seats)), key=key)
    assert key(tuple(cast.voices[s.name] for s in seats)) == key(best)


def test_a_search_cut_short_still_casts_everyone():
    seats = [seat(f"S{i}", *[(v, 0.5) for v in PLACE]) for i in range(8)]
    cast = cast_apart(seats, distance, voice_f0, max_nodes=10)
    assert not cast.complete and set(cast.voices) == {s.name for s in seats}


def test_the_register_comes_before_keeping_apart():
    # Two deep speakers, one deep voice: both stay deep (named as too close) rather than one sounding high.
    seats = [seat("A", ("a", 0.9), ("c", 0.5), f0=105.0, weight=2), seat("B", ("a", 0.8), ("c", 0.6), f0=100.0)]
    cast = cast_apart(seats, distance, voice_f0)
    assert cast.voices == {"A": "a", "B": "a"} and cast.off_range == []
    assert [(p.first, p.second) for p in cast.too_close] == [("A", "B")]
