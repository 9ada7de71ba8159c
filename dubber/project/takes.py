"""Rank the takes of a line: fit first, then intelligibility, then similarity to the speaker.

`--candidates K` renders each line K times (seeds seed, seed+1, ... seed+K-1) and keeps the take
whose key is smallest, comparing in this order:

1. **Fit class**: a take fitted within tolerance (`ok`) beats one that could not be fitted
   (`too_long`/`too_short`), which beats a failed one. Within `ok` every take already lands within
   ±50 ms, so a few milliseconds are not worth a worse voice and are only a last tie-break.
2. **Word error rate**, when Whisper measured it (English), rounded to 0.01 so that noise in the
   recogniser does not outrank a clear difference in similarity. An unmeasured WER counts as equal.
3. **Similarity** to the speaker's reference clip (cosine of speaker embeddings), higher first,
   rounded to 0.01 for the same reason.
4. **|error|** in milliseconds, then the seed, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

from dubber.fitting.fitter import STATUS_FAILED, STATUS_OK
from dubber.project.store import TakeRecord

FIT_CLASS = {STATUS_OK: 0, STATUS_FAILED: 2}  # any other status (too_long, too_short) is 1


def take_key(take: TakeRecord) -> list[float]:
    """Return the ranking key of a take; smaller is better."""
    fit = FIT_CLASS.get(take.status, 1)
    wer = round(take.wer, 2) if take.wer is not None else 0.0
    similarity = round(take.similarity, 2) if take.similarity is not None else 0.0
    error = abs(take.error_ms) if take.error_ms is not None else 1e9
    return [float(fit), wer, -similarity, float(error), float(take.seed)]


def best_take(takes: Sequence[TakeRecord]) -> int:
    """Return the index of the best take, scoring each (its `score` is set to its key)."""
    if not takes:
        raise ValueError("a line has no takes to choose from")
    for take in takes:
        take.score = take_key(take)
    return min(range(len(takes)), key=lambda i: takes[i].score)
