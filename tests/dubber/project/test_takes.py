"""Ranking takes: fit first, then WER, then similarity, then the error and the seed."""

from __future__ import annotations

import pytest

from dubber.project.store import TakeRecord
from dubber.project.takes import best_take


def _take(seed, status="ok", error=5, wer=None, sim=None):
    return TakeRecord(seed=seed, engine="e", voice="v", status=status, error_ms=error, speech_ms=1000, wer=wer,
                      similarity=sim)


def test_fit_beats_everything():
    takes = [_take(0, "too_long", error=200, wer=0.0, sim=0.99), _take(1, "ok", wer=0.5, sim=0.2),
             _take(2, "failed", error=None)]
    assert best_take(takes) == 1


def test_then_intelligibility_then_similarity():
    assert best_take([_take(0, wer=0.2, sim=0.9), _take(1, wer=0.0, sim=0.5)]) == 1
    assert best_take([_take(0, wer=0.0, sim=0.5), _take(1, wer=0.001, sim=0.9)]) == 1  # WER noise is a tie
    assert best_take([_take(0, sim=0.70, error=1), _take(1, sim=0.80, error=40)]) == 1


def test_ties_go_to_the_smaller_error_then_the_seed():
    assert best_take([_take(4, error=-30), _take(5, error=10)]) == 1
    assert best_take([_take(9, error=10), _take(2, error=-10)]) == 1
    takes = [_take(0), _take(1)]
    best_take(takes)
    assert takes[0].score == [0.0, 0.0, -0.0, 5.0, 0.0]


def test_no_takes_is_an_error():
    with pytest.raises(ValueError):
        best_take([])
