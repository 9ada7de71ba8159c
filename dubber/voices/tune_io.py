"""What voice tuning reads and writes: the reference's samples, and its cached results as JSON records."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dubber.audio.media import decode_audio
from dubber.audio.samples import as_mono, resample
from dubber.errors import UsageError
from dubber.plugin.engine import Reference


def reference_audio(source: np.ndarray | Reference | str | os.PathLike[str], rate: int | None,
                    to_rate: int) -> np.ndarray:
    """Return a reference's mono samples at `to_rate`: a clip (path or `Reference`), or samples at `rate`."""
    if isinstance(source, np.ndarray):
        if rate is None:
            raise UsageError("voice tuning needs the sample rate of the reference samples it is given")
        return resample(as_mono(np.asarray(source, dtype=np.float32)), rate, to_rate)
    path = Path(source.audio_path if isinstance(source, Reference) else source).resolve()
    return decode_audio(path, to_rate, channels=1)[:, 0]


def read_record(path: Path) -> dict[str, Any] | None:
    """Read a cached JSON record, or None when there is none or it cannot be read."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or damaged: measured again
        return None
    return record if isinstance(record, dict) else None


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write a JSON record beside its target and rename it, so that readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=path.stem, suffix=".tmp",
                                         delete=False)
    try:
        with handle:
            json.dump(record, handle, ensure_ascii=False, indent=1)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
