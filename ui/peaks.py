"""Waveform and spectrogram data for the timeline, fast at any zoom (numpy only, no Qt).

`Peaks` keeps a min/max pyramid built once from a track, so drawing a whole 30-minute track reads a
few thousand numbers instead of eighty million samples. `Spectrogram` computes the log magnitude of
the visible window only, at no more columns and rows than the screen shows, and keeps the last few.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

BASE_BLOCK = 64  # samples per block at the finest level
FANOUT = 4  # each level's blocks are this many of the level below


def as_float(samples: np.ndarray) -> np.ndarray:
    """samples as contiguous float32 [n] or [n, channels]; integers are scaled to [-1, 1]."""
    data = np.asarray(samples)
    if data.ndim not in (1, 2):
        raise ValueError(f"samples must be [n] or [n, channels], got shape {data.shape}")
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    return np.ascontiguousarray(data, dtype=np.float32)


def column_edges(rate: int, start_ms: int, window: tuple[float, float], columns: int) -> np.ndarray:
    """The sample index at each of the columns + 1 edges of window, for audio whose first sample plays at start_ms."""
    w_start, w_end = window
    edges_ms = w_start + np.arange(columns + 1, dtype=np.float64) * ((w_end - w_start) / columns)
    return np.floor((edges_ms - start_ms) * rate / 1000.0).astype(np.int64)


def _reduce(lo_src: np.ndarray, hi_src: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column i, min of lo_src and max of hi_src over [edges[i], edges[i+1]); NaN where it holds nothing.

    An empty column (zoomed in past one element per column) takes the element at its left edge, so the
    envelope stays continuous.
    """
    n = lo_src.shape[0]
    columns = edges.size - 1
    lo = np.full(columns, np.nan, np.float32)
    hi = np.full(columns, np.nan, np.float32)
    first, after = edges[:-1], np.maximum(edges[1:], edges[:-1] + 1)
    valid = (first < n) & (after > 0)
    if n == 0 or not valid.any():
        return lo, hi
    starts = np.clip(first[valid], 0, n - 1)
    ends = np.minimum(after[valid], n)
    # Only the span the columns cover is sliced, so the cost follows the columns, not the track.
    base, top = int(starts[0]), int(ends[-1])
    lo_part, hi_part = lo_src[base:top], hi_src[base:top]
    # reduceat over interleaved (start, end) pairs reduces exactly [start:end) at the even slots; one
    # padding element keeps an end at the slice's length a legal index.
    bounds = np.empty(starts.size * 2, np.int64)
    bounds[0::2], bounds[1::2] = starts - base, ends - base
    lo[valid] = np.minimum.reduceat(np.append(lo_part, np.float32(0)), bounds)[0::2]
    hi[valid] = np.maximum.reduceat(np.append(hi_part, np.float32(0)), bounds)[0::2]
    return lo, hi


def envelope_columns(samples: np.ndarray, rate: int, start_ms: int, window: tuple[int, int],
                     columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (min, max) of samples placed at start_ms, for `columns` equal slices of window.

    samples is [n] or [n, channels]; columns that hold no sample are NaN. Each column covers the
    samples whose time falls in it; when zoomed in past one sample per column it shows the sample at
    its left edge, so the envelope stays continuous.
    """
    if columns <= 0:
        empty = np.full(0, np.nan, np.float32)
        return empty, empty.copy()
    data = as_float(samples)
    edges = column_edges(rate, start_ms, window, columns)
    n = data.shape[0]
    # Only the visible samples are read (and their channels folded): the cost follows the view.
    lo_i = int(np.clip(edges[0], 0, n))
    hi_i = int(np.clip(max(edges[-1], edges[-2] + 1), lo_i, n))
    part = data[lo_i:hi_i]
    lo_src, hi_src = (part, part) if part.ndim == 1 else (part.min(axis=1), part.max(axis=1))
    return _reduce(lo_src, hi_src, edges - lo_i)


class Peaks:
    """A min/max pyramid of a track: level k holds each block of BASE_BLOCK * FANOUT**k samples (all channels)."""

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        self.samples = as_float(samples)
        self.rate = int(rate)
        self.frames = self.samples.shape[0]
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        channels = 1 if self.samples.ndim == 1 else self.samples.shape[1]
        full = self.frames // BASE_BLOCK
        # A contiguous [n, ch] array reshapes to one row per block without a copy.
        blocks = self.samples[: full * BASE_BLOCK].reshape(full, BASE_BLOCK * channels)
        lo, hi = blocks.min(axis=1), blocks.max(axis=1)
        if self.frames % BASE_BLOCK:
            tail = self.samples[full * BASE_BLOCK:]
            lo, hi = np.append(lo, tail.min()), np.append(hi, tail.max())
        self.levels.append((lo, hi))
        while lo.size > 1:
            pad = -lo.size % FANOUT  # repeating the last block changes no min or max
            lo = np.append(lo, np.repeat(lo[-1:], pad)).reshape(-1, FANOUT).min(axis=1)
            hi = np.append(hi, np.repeat(hi[-1:], pad)).reshape(-1, FANOUT).max(axis=1)
            self.levels.append((lo, hi))

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // self.rate

    def level_for(self, samples_per_column: float) -> int:
        """The coarsest level whose block fits in a column, or -1 for the samples themselves."""
        level = -1
        while level + 1 < len(self.levels) and BASE_BLOCK * FANOUT ** (level + 1) <= samples_per_column:
            level += 1
        return level

    def columns(self, start_ms: int, window: tuple[float, float], columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-column (min, max) over `columns` equal slices of window, the track's first sample at start_ms.

        Exact when a column holds fewer than BASE_BLOCK samples (read from the samples). Otherwise each
        column shows the whole blocks of its level that start in it: exact where the column edges fall
        on block edges, and off by less than one block (never more than one column) elsewhere.
        """
        if columns <= 0:
            empty = np.full(0, np.nan, np.float32)
            return empty, empty.copy()
        edges = column_edges(self.rate, start_ms, window, columns)
        level = self.level_for((edges[-1] - edges[0]) / columns)
        if level < 0:
            return envelope_columns(self.samples, self.rate, start_ms, window, columns)
        block = BASE_BLOCK * FANOUT ** level
        lo_src, hi_src = self.levels[level]
        return _reduce(lo_src, hi_src, np.floor_divide(edges + block - 1, block))


class Spectrogram:
    """Log-magnitude spectrograms of a track's visible windows, at screen resolution, the last few kept."""

    def __init__(self, samples: np.ndarray, rate: int, fft_size: int = 512, keep: int = 4) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        # No mono copy of the track: each window reads only the samples its frames need.
        self.samples = as_float(samples)
        self.rate, self.fft_size, self.keep = int(rate), int(fft_size), keep
        self._hann = np.hanning(self.fft_size).astype(np.float32)
        self._cache: OrderedDict[tuple[int, int, int, int], np.ndarray] = OrderedDict()

    @property
    def bin_hz(self) -> float:
        """The width of one frequency bin (row) in Hz."""
        return self.rate / self.fft_size

    def window(self, window: tuple[int, int], columns: int, max_columns: int = 1600) -> np.ndarray:
        """dB magnitudes [fft_size // 2 + 1 rows (0 Hz first), min(columns, max_columns)] for window (ms).

        Each column is one Hann-windowed frame centred on the column's time; silence and time outside
        the track are -120 dB.
        """
        columns = max(1, min(int(columns), max_columns))
        key = (int(window[0]), int(window[1]), columns, self.fft_size)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        w_start, w_end = window
        centres_ms = w_start + (np.arange(columns) + 0.5) * ((w_end - w_start) / columns)
        centres = np.floor(centres_ms * self.rate / 1000.0).astype(np.int64)
        offsets = np.arange(self.fft_size, dtype=np.int64) - self.fft_size // 2
        index = centres[:, None] + offsets[None, :]
        n = self.samples.shape[0]
        inside = (index >= 0) & (index < n)
        if n == 0:
            frames = np.zeros(index.shape, np.float32)
        else:
            gathered = self.samples[np.clip(index, 0, n - 1)]
            if gathered.ndim == 3:  # channels averaged per frame: [columns, fft_size, channels]
                gathered = gathered.mean(axis=2, dtype=np.float32)
            frames = np.where(inside, gathered, np.float32(0))
        magnitude = np.abs(np.fft.rfft(frames * self._hann, axis=1)) * (2.0 / self._hann.sum())
        result = (20.0 * np.log10(np.maximum(magnitude, 1e-6))).T.astype(np.float32)
        self._cache[key] = result
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return result
