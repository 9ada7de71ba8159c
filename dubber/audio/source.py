"""Audio kept on disk and read by ranges: a feature film's original track without holding it in memory.

A two-hour stereo track at 48 kHz is 2.8 GB as float32. `DiskAudio` stands in for that array wherever
the code slices it (`original[lo:hi]`, `original.shape`): each slice is read from the file when asked
for, so only the parts being worked on are in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.errors import MediaError

BLOCK = 480_000  # samples per block when a whole track is walked (10 s at 48 kHz)
_ITEM = np.dtype("<f4").itemsize


class DiskAudio:
    """A read-only float32 array [frames, channels] stored raw on disk, sliced like an ndarray.

    Slicing returns an ordinary in-memory copy of just that range. Only the first axis may be a range
    (step 1); a second index picks channels from what was read.
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, path: str | os.PathLike[str], channels: int, sample_rate: int) -> None:
        if channels <= 0:
            raise ValueError(f"bad channel count {channels}")
        self.path = Path(path)
        self.channels = channels
        self.sample_rate = sample_rate
        self.frames = self.path.stat().st_size // (_ITEM * channels)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frames, self.channels

    @property
    def size(self) -> int:
        return self.frames * self.channels

    def __len__(self) -> int:
        return self.frames

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) as [end - start, channels], zeros where the range runs outside the track."""
        start, end = int(start), int(end)
        out = np.zeros((max(end - start, 0), self.channels), dtype=np.float32)
        lo, hi = max(start, 0), min(end, self.frames)
        if hi > lo:
            out[lo - start:hi - start] = self._read(lo, hi)
        return out

    def _read(self, lo: int, hi: int) -> np.ndarray:
        count = (hi - lo) * self.channels
        with open(self.path, "rb") as handle:
            handle.seek(lo * self.channels * _ITEM)
            data = np.fromfile(handle, dtype="<f4", count=count)
        if data.size != count:
            raise MediaError(f"{str(self.path)!r} is shorter than it was: it changed on disk", path=str(self.path))
        return data.astype(np.float32, copy=False).reshape(hi - lo, self.channels)

    def __getitem__(self, key: object) -> np.ndarray:
        rows, cols = (key if isinstance(key, tuple) else (key, slice(None)))  # type: ignore[misc]
        if isinstance(rows, (int, np.integer)):
            index = int(rows) + (self.frames if rows < 0 else 0)
            if not 0 <= index < self.frames:
                raise IndexError(f"sample {rows} is outside a track of {self.frames}")
            return self._read(index, index + 1)[0][cols]
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("DiskAudio takes a range of samples with step 1, and optionally channels")
        lo, hi, _ = rows.indices(self.frames)
        data = self._read(lo, hi) if hi > lo else np.zeros((0, self.channels), np.float32)
        return data[:, cols]

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        """The whole track in memory: correct, but what this class exists to avoid on a long video."""
        data = self[:]
        return data if dtype is None else data.astype(dtype)

    def blocks(self, size: int = BLOCK, start: int = 0, end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(first sample, samples) for consecutive blocks of at most `size` samples over [start, end)."""
        end = self.frames if end is None else min(end, self.frames)
        for lo in range(max(start, 0), end, size):
            yield lo, self._read(lo, min(lo + size, end))


def decode_to_disk(path: str | os.PathLike[str], sample_rate: int, folder: str | os.PathLike[str],
                   channels: int | None = None) -> DiskAudio:
    """Decode a file's first audio stream to float32 at `sample_rate` into `folder`, never through memory."""
    info = media.probe(path)
    if not info.audio_streams:
        raise MediaError(f"{str(info.path)!r} has no audio stream", path=str(info.path))
    channels = channels or info.audio_streams[0].channels or 2
    target = Path(folder) / f"original-{sample_rate}-{channels}.f32"
    media.decode_audio_to(info.path, target, sample_rate, channels)
    return DiskAudio(target, channels, sample_rate)
