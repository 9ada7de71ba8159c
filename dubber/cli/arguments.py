"""Read the command line's values: exact milliseconds, numbers, loudness targets, export lists.

Each raises argparse.ArgumentTypeError with a message naming what was given.
"""

from __future__ import annotations

import argparse
import math
from decimal import Decimal, InvalidOperation

from dubber.errors import UsageError


def seconds_to_ms(text: str) -> int:
    """Parse seconds given by the user into integer milliseconds, exactly."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"the duration must be positive, got {text!r}")
    return int((value * 1000).to_integral_value())


def floats(text: str) -> tuple[float, ...]:
    """Parse comma-separated numbers, e.g. an emotion vector."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"the numbers must be finite, got {text!r}")
    return values


def lufs(text: str) -> float:
    from dubber.audio.loudness import BROADCAST_LUFS, MAX_LUFS, MIN_LUFS, WEB_LUFS

    named = {"web": WEB_LUFS, "broadcast": BROADCAST_LUFS, "ebu": BROADCAST_LUFS}
    if text.lower() in named:
        return named[text.lower()]
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a loudness: give LUFS (-16) or web or broadcast") from None
    if not MIN_LUFS <= value <= MAX_LUFS:
        raise argparse.ArgumentTypeError(f"{value:g} LUFS is out of range ({MIN_LUFS:g} to {MAX_LUFS:g})")
    return value


def threshold(text: str) -> float | None:
    if text.lower() in ("off", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level: give dBFS (-45) or off") from None


def exports(text: str) -> tuple[str, ...]:
    from dubber.handoff.export import parse_exports

    try:
        return parse_exports(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value
