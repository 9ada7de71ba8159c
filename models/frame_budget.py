"""Spread a change of length over a line's tokens: dubber's token-rate control.

Given the per-token frame counts a model predicted and a target total, return new counts that sum to
the target exactly. The rules, each unit-tested:

1. Tokens differ in how much they may stretch (their *elasticity*): pauses and punctuation absorb
   the most, then vowels, then nasals and liquids, then fricatives, and stops the least. Stress marks
   and other zero-length symbols never change.
2. The change is shared in proportion to elasticity × current length, so long vowels and pauses move
   more than short ones, and the rhythm of the line is kept.
3. Each token's ratio new/natural is clamped to its class's bounds (pauses are freer than phonemes),
   though a short token may always move by one whole frame, and every token keeps at least one frame; what a clamped token cannot take is passed on to the
   tokens that still can (water-filling).
4. Tokens marked fixed (the silence before and after the speech) never change: they do not move the
   measured speech span.
5. Rounding to whole frames uses the largest remainder, so the total is exact.
When the bounds make the target unreachable, the closest reachable total is returned; the caller sees
the shortfall and moves down its fitting ladder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from dubber.errors import UsageError
from dubber.plugin.engine import Engine, SynthesisRequest, Take

PAUSE, VOWEL, SONORANT, FRICATIVE, STOP, MARK = "pause", "vowel", "sonorant", "fricative", "stop", "mark"

# How readily each class absorbs a change, relative to vowels.
ELASTICITY = {PAUSE: 2.0, VOWEL: 1.0, SONORANT: 0.6, FRICATIVE: 0.4, STOP: 0.25, MARK: 0.0}
# Bounds on new/natural per class: (shortest, longest).
RATIO_BOUNDS = {
    PAUSE: (0.4, 2.5),
    VOWEL: (0.5, 2.0),
    SONORANT: (0.5, 1.8),
    FRICATIVE: (0.6, 1.6),
    STOP: (0.7, 1.4),
    MARK: (1.0, 1.0),
}

_PAUSES = set(" ,.!?;:—…-\"“”()_^$") | {"", "<pad>", "<bos>", "<eos>"}
_VOWELS = set("aeiouyAEIOUWYæɐɑɒɔəɚɛɜɝɞɘɵɨɪɯʉʊʌʏøœɤᵊᵻɶ")
_STOPS = set("pbtdkgqɢʔcɟɖʈTʧʤʦʣʨʥɡꭧ")  # ꭧ: Kokoro's Mandarin retroflex affricate (zh/ch)
_FRICATIVES = set("fvθðszʃʒxɣχʁhɦçʝɸβɕʑʂʐ")
_MARKS = set("ˈˌːˑ̃ʰʲ↓↗↘→ꜛ") | {"\u0303", "\u0329", "\u030d", "\u0306"}


def token_class(token: str) -> str:
    """Classify one phoneme token (a single symbol, a pad or punctuation)."""
    if token in _PAUSES or token.isspace():
        return PAUSE
    head = token[0]
    if head in _MARKS:
        return MARK
    if head in _VOWELS:
        return VOWEL
    if head in _STOPS:
        return STOP
    if head in _FRICATIVES:
        return FRICATIVE
    return SONORANT  # nasals, liquids, glides and anything rarer


@dataclass(frozen=True)
class Budget:
    """The allocation and how it relates to what was asked."""

    frames: np.ndarray  # int32 per token
    target: int
    reachable: bool  # False when the class bounds stopped short of the target

    @property
    def total(self) -> int:
        return int(self.frames.sum())


# The pause step of the fitting ladder: pauses between words and sentences may shrink to a frame
# or grow sixfold once the phonemes have reached their own bounds.
WIDE_PAUSES = {**RATIO_BOUNDS, PAUSE: (0.0, 6.0)}


def allocate(natural: np.ndarray, tokens: list[str], target_total: int,
             fixed: np.ndarray | None = None, bounds: dict[str, tuple[float, float]] | None = None) -> Budget:
    """Return per-token frames summing to `target_total` (or as close as the bounds allow)."""
    bounds = bounds or RATIO_BOUNDS
    nat = np.asarray(natural, dtype=np.float64).reshape(-1)
    if nat.size != len(tokens):
        raise ValueError(f"{nat.size} durations for {len(tokens)} tokens")
    classes = [token_class(t) for t in tokens]
    frozen = np.zeros(nat.size, bool) if fixed is None else np.asarray(fixed, bool).copy()
    lo_ratio = np.array([bounds[c][0] for c in classes])
    hi_ratio = np.array([bounds[c][1] for c in classes])
    weight = np.array([ELASTICITY[c] for c in classes])
    frozen |= weight == 0
    # A token that does not move keeps a whole number of frames: a re-roll's jittered natural
    # frames are fractional, and truncating them later would leave the sum short of the target.
    nat = np.where(frozen, np.rint(nat), nat)
    # Whole frames: a short token may always move by one frame, or it could never move at all.
    lo = np.minimum(np.ceil(nat * lo_ratio - 1e-9), nat - (lo_ratio < 1))
    hi = np.maximum(np.floor(nat * hi_ratio + 1e-9), nat + (hi_ratio > 1))
    lo = np.where(frozen, nat, np.maximum(lo, np.where(nat > 0, 1.0, 0.0)))  # a token with frames keeps one
    hi = np.where(frozen, nat, np.maximum(hi, lo))
    target = int(target_total)
    reachable = lo.sum() <= target <= hi.sum()
    goal = float(np.clip(target, lo.sum(), hi.sum()))

    new = nat.copy()
    free = ~frozen & (weight > 0)
    for _ in range(nat.size + 1):  # each round clamps at least one token or finishes
        delta = goal - new.sum()
        if abs(delta) < 1e-9 or not free.any():
            break
        share = np.where(free, weight * np.maximum(nat, 1.0), 0.0)
        step = delta * share / share.sum()
        proposal = new + step
        over = free & ((proposal > hi) | (proposal < lo))
        new = np.clip(proposal, lo, hi)
        free &= ~over
    return Budget(round_exact(new, lo, hi, int(round(goal))), target, bool(reachable))


def round_exact(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: int) -> np.ndarray:
    """Round to integers within [lo, hi] so that they sum to `total` (largest remainder first)."""
    base = np.clip(np.floor(values), lo, hi)
    short = total - int(base.sum())
    remainder = values - base
    order = np.argsort(-remainder, kind="stable") if short > 0 else np.argsort(remainder, kind="stable")
    out = base.copy()
    step = 1 if short > 0 else -1
    for i in order:
        if short == 0:
            break
        if lo[i] <= out[i] + step <= hi[i]:
            out[i] += step
            short -= step
    return out.astype(np.int32)


def frames_for_target(durations: np.ndarray, phonemes: str, target_ms: int, sample_rate: int,
                      frame_samples: int) -> np.ndarray:
    """Return a take's frames re-timed so its symbols last `target_ms`, to the nearest whole frame."""
    if target_ms <= 0:
        raise UsageError(f"target must be positive, got {target_ms} ms", target_ms=target_ms)
    want = (target_ms * sample_rate + 500 * frame_samples) // (1000 * frame_samples)
    return speech_budget(durations, phonemes, want).frames


def to_target(engine: Engine, natural: Take, request: SynthesisRequest, voice: str) -> Take:
    """Return the natural take when the request has no target, else the line rendered again natively with the
    natural take's symbols re-timed to last the target (`frames_for_target`)."""
    if request.target_ms is None:
        return natural
    frames = frames_for_target(natural.durations, natural.phonemes, request.target_ms, natural.sample_rate,
                               natural.frame_samples)
    return engine.synthesize_frames(replace(request, voice=voice), frames)


# The share of the last sounding symbol's frames that measures as silence: a final stop's closure and a
# fading fricative or vowel lie under the speech detector's threshold (measured on Piper, bench/speed.py).
QUIET_TAIL = {STOP: 1.0, FRICATIVE: 0.25, SONORANT: 0.5, VOWEL: 0.5}
LONG_TAIL = 4.0


def sounding(phonemes: str) -> tuple[int, int]:
    """The first and last entries of a `Take.durations` layout that sound: not silence, a pause or a mark."""
    heard = _heard(phonemes)
    return (heard[0], heard[-1]) if heard else (1, len(phonemes))


def planned_speech_frames(durations: np.ndarray, phonemes: str) -> float:
    """Predict the speech span a take with these durations measures, in frames: from its first sounding
    symbol to its last, less the quiet share of the last (`QUIET_TAIL`). A last symbol over LONG_TAIL times the
    line's median sounding symbol counts as the median: the model hung the pause after the line on it (Kokoro's
    final vowel, often ten times its own length)."""
    heard = _heard(phonemes)
    first, last = (heard[0], heard[-1]) if heard else (1, len(phonemes))
    frames = np.asarray(durations, dtype=np.float64)
    quiet = QUIET_TAIL.get(token_class(phonemes[last - 1]), 0.0) if phonemes else 0.0
    typical = float(np.median(frames[heard])) if heard else float(frames[last])
    tail = typical if frames[last] > LONG_TAIL * typical else frames[last]
    return float(frames[first:last].sum() + (1 - quiet) * tail)


def _heard(phonemes: str) -> list[int]:
    """The entries of a `Take.durations` layout (the silence first, so symbol k is entry k + 1) that sound."""
    return [i for i, symbol in enumerate(phonemes, start=1) if token_class(symbol) not in (PAUSE, MARK)]


def speech_budget(durations: np.ndarray, phonemes: str, speech_frames: int) -> Budget:
    """Re-time a take's symbols (laid out as `Take.durations`) to `speech_frames`, silences kept."""
    tokens = ["<sil>", *phonemes, "<sil>"]
    fixed = np.zeros(len(tokens), dtype=bool)
    fixed[[0, -1]] = True  # the silence before and after the speech does not move its span
    natural = np.asarray(durations)
    return allocate(natural, tokens, int(natural[0]) + int(natural[-1]) + int(speech_frames), fixed=fixed)
