"""Waveform and spectrogram data for the timeline, fast at any zoom (numpy only, no Qt).

`Peaks` keeps a min/max pyramid built once from a track, so drawing a whole 30-minute track reads a
few thousand numbers instead of eighty million samples. `Spectrogram` computes the log magnitude of
the visible window only, at no more columns and rows than the screen shows, and keeps the last few.

Both read their track by ranges, so it may be a `DiskAudio` (a feature film's sound, on disk) as well as
an array: the pyramid is built READ_BLOCK samples at a time, and what a view needs finer than its finest
level (64 samples a block: 43 MB of min and max for two hours at 48 kHz, 58 MB with the levels above) is
read from the track when drawn.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from dubber.audio.source import DiskAudio

BASE_BLOCK = 64  # samples per block at the finest level
FANOUT = 4  # each level's blocks are this many of the level below
READ_BLOCK = BASE_BLOCK * 4096  # samples read at a time while the pyramid is built (2 MB of stereo float32)

Track = np.ndarray | DiskAudio  # [n] or [n, channels]; read by ranges only


def as_float(samples: np.ndarray) -> np.ndarray:
    """samples as contiguous float32 [n] or [n, channels]; integers are scaled to [-1, 1]."""
    data = np.asarray(samples)
    if data.ndim not in (1, 2):
        raise ValueError(f"samples must be [n] or [n, channels], got shape {data.shape}")
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    return np.ascontiguousarray(data, dtype=np.float32)


def checked(track: Track) -> Track:
    """track itself (never a copy of it), once its shape is known to be [n] or [n, channels]."""
    data = track if isinstance(track, DiskAudio) else np.asanyarray(track)
    if data.ndim not in (1, 2):
        raise ValueError(f"samples must be [n] or [n, channels], got shape {data.shape}")
    return data


def read_range(track: Track, start: int, end: int) -> np.ndarray:
    """track's samples [start, end) as float32, zeros where the range runs outside it."""
    n = track.shape[0]
    lo, hi = min(max(start, 0), n), min(max(end, 0), n)
    if lo == start and hi == end:
        return as_float(track[lo:hi])
    out = np.zeros((max(end - start, 0),) + tuple(track.shape[1:]), np.float32)
    if hi > lo:
        out[lo - start:hi - start] = as_float(track[lo:hi])
    return out


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


def envelope_columns(samples: Track, rate: int, start_ms: int, window: tuple[int, int],
                     columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (min, max) of samples placed at start_ms, for `columns` equal slices of window.

    samples is [n] or [n, channels]; columns that hold no sample are NaN. Each column covers the
    samples whose time falls in it; when zoomed in past one sample per column it shows the sample at
    its left edge, so the envelope stays continuous.
    """
    if columns <= 0:
        empty = np.full(0, np.nan, np.float32)
        return empty, empty.copy()
    data = checked(samples)
    edges = column_edges(rate, start_ms, window, columns)
    n = data.shape[0]
    # Only the visible samples are read (and their channels folded): the cost follows the view.
    lo_i = int(np.clip(edges[0], 0, n))
    hi_i = int(np.clip(max(edges[-1], edges[-2] + 1), lo_i, n))
    part = read_range(data, lo_i, hi_i)
    lo_src, hi_src = (part, part) if part.ndim == 1 else (part.min(axis=1), part.max(axis=1))
    return _reduce(lo_src, hi_src, edges - lo_i)


class Peaks:
    """A min/max pyramid of a track: level k holds each block of BASE_BLOCK * FANOUT**k samples (all channels)."""

    def __init__(self, samples: Track, rate: int) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        self.samples = checked(samples)  # the track itself, read by ranges
        self.rate = int(rate)
        self.frames = self.samples.shape[0]
        channels = 1 if self.samples.ndim == 1 else self.samples.shape[1]
        count = -(-self.frames // BASE_BLOCK)
        lo, hi = np.empty(count, np.float32), np.empty(count, np.float32)
        for start in range(0, self.frames, READ_BLOCK):  # READ_BLOCK is whole blocks: they never straddle reads
            part = read_range(self.samples, start, min(start + READ_BLOCK, self.frames))
            full = part.shape[0] // BASE_BLOCK
            at = start // BASE_BLOCK
            # A contiguous [n, ch] array reshapes to one row per block without a copy.
            blocks = part[: full * BASE_BLOCK].reshape(full, BASE_BLOCK * channels)
            lo[at:at + full], hi[at:at + full] = blocks.min(axis=1), blocks.max(axis=1)
            if part.shape[0] % BASE_BLOCK:  # the track's ragged end
                tail = part[full * BASE_BLOCK:]
                lo[at + full], hi[at + full] = tail.min(), tail.max()
        self.levels: list[tuple[np.ndarray, np.ndarray]] = [(lo, hi)]
        while lo.size > 1:
            # Whole groups reshape in place; a ragged last group is one block more (no padded copy of the level).
            full = lo.size // FANOUT * FANOUT
            up_lo, up_hi = lo[:full].reshape(-1, FANOUT).min(axis=1), hi[:full].reshape(-1, FANOUT).max(axis=1)
            if full < lo.size:
                up_lo, up_hi = np.append(up_lo, lo[full:].min()), np.append(up_hi, hi[full:].max())
            lo, hi = up_lo, up_hi
            self.levels.append((lo, hi))

    @property
    def nbytes(self) -> int:
        """What the pyramid holds in memory (the track itself stays where it was)."""
        return sum(lo.nbytes + hi.nbytes for lo, hi in self.levels)

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

    def __init__(self, samples: Track, rate: int, fft_size: int = 512, keep: int = 4) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, got {rate}")
        # No mono copy of the track: each window reads only the samples its frames need.
        self.samples = checked(samples)
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
        frames = self._frames(centres)
        if frames.ndim == 3:  # channels averaged per frame: [columns, fft_size, channels]
            frames = frames.mean(axis=2, dtype=np.float32)
        magnitude = np.abs(np.fft.rfft(frames * self._hann, axis=1)) * (2.0 / self._hann.sum())
        result = (20.0 * np.log10(np.maximum(magnitude, 1e-6))).T.astype(np.float32)
        self._cache[key] = result
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return result

    def _frames(self, centres: np.ndarray) -> np.ndarray:
        """The fft_size samples centred on each of centres (zeros outside the track), read by ranges: one read
        when the frames overlap or touch (zoomed in), else one per frame, so a whole film in view reads
        columns x fft_size samples, not the film."""
        size, half = self.fft_size, self.fft_size // 2
        first, last = int(centres.min()) - half, int(centres.max()) - half + size
        if last - first <= centres.size * size:
            span = read_range(self.samples, first, last)
            return span[(centres - half - first)[:, None] + np.arange(size)[None, :]]
        return np.stack([read_range(self.samples, int(c) - half, int(c) - half + size) for c in centres])
