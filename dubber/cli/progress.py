"""Progress bars on stderr for the command line's long work (tqdm; quiet when stderr is not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def tuning_bars() -> Callable[[str, int, int], None]:
    """A progress bar on stderr for each speaker whose voice is tuned (--voice tune)."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(speaker: str, done: int, total: int) -> None:
        bar = bars.get(speaker)
        if bar is None:
            bar = bars[speaker] = tqdm(total=total, unit="step", desc=f"tuning {speaker or '(unnamed)'}",
                                       file=sys.stderr, disable=None)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress
