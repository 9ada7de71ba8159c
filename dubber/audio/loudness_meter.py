"""Integrated loudness (ITU-R BS.1770-4) measured as a track streams by, block after block.

K-weighting runs with its filter state carried from one block to the next, so the result does not depend
on where blocks end. What is kept is one number per 100 ms sub-block: the K-weighted energy, summed over
the channels with their weights. A 400 ms gating block is four sub-blocks (75 % overlap), and the
absolute (−70 LUFS) and relative (−10 LU) gates are applied when the loudness is asked for, at any gain.
"""

from __future__ import annotations

import numpy as np

ABSOLUTE_GATE = -70.0  # LUFS: gating blocks below it are not counted
RELATIVE_GATE = -10.0  # LU under the loudness of the blocks above the absolute gate
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs; further channels count as 1
SETTLE_S = 0.25  # seconds after which K-weighting has forgotten its start (its slowest pole: far below 2^-40)


class LoudnessMeter:
    """Streaming BS.1770-4 integrated loudness: K-weighting with filter state carried across blocks, 100 ms
    sub-block energies, 400 ms gating blocks with 75 % overlap, absolute and relative gates.

    Only one number per 100 ms is kept (72,000 for two hours), so a block of any size may be added.
    `first` places the first sample added at the start of that sub-block of a longer track (the grid is
    the track's), for measuring a stretch of it again.
    """

    def __init__(self, rate: int, channels: int, first: int = 0) -> None:
        self.rate, self.channels, self.first = rate, channels, first
        self._sos = k_weighting(rate)
        self._state = np.zeros((self._sos.shape[0], 2, channels))
        weights = CHANNEL_WEIGHTS + (1.0,) * max(channels - len(CHANNEL_WEIGHTS), 0)
        self._weights = np.asarray(weights[:channels])
        self._done = int(sub_block_edge(first, rate))  # samples added, counted from the track's start
        self._subs: list[np.ndarray] = []  # weighted energy sums of the complete 100 ms sub-blocks
        self._count = first  # the next sub-block to complete
        self._partial = 0.0  # energy so far of the sub-block under way

    def add(self, block: np.ndarray) -> None:
        """Take the next samples, [k, channels] (or [k] for mono), following the ones added before."""
        from scipy.signal import sosfilt

        data = frames(block)
        if data.shape[1] != self.channels:
            raise ValueError(f"a block of {data.shape[1]} channels for a {self.channels}-channel meter")
        n = data.shape[0]
        if n == 0:
            return
        weighted, self._state = sosfilt(self._sos, data.astype(np.float64), axis=0, zi=self._state)
        energy = np.square(weighted) @ self._weights
        end = self._done + n
        last = (10 * end + 9) // self.rate  # the last sub-block edge at or before `end`
        edges = sub_block_edge(np.arange(self._count + 1, last + 1), self.rate) - self._done
        starts = np.concatenate([[0], edges])
        starts = starts[starts < n]
        sums = np.add.reduceat(energy, starts)
        sums[0] += self._partial
        if edges.size and edges[-1] == n:  # the block ends on an edge: nothing left under way
            complete, self._partial = sums, 0.0
        else:
            complete, self._partial = sums[:-1], float(sums[-1])
        self._subs.append(complete)
        self._count, self._done = last, end

    def energies(self, since: int | None = None) -> np.ndarray:
        """The complete sub-blocks' weighted energy sums so far, from sub-block `since` (`first`) on."""
        since = self.first if since is None else max(since, self.first)
        parts, count = [], self._count
        for part in reversed(self._subs):  # the latest blocks only, when asked for the latest sub-blocks
            if count <= since:
                break
            parts.append(part[max(since - (count - part.size), 0):])
            count -= part.size
        return np.concatenate(parts[::-1]) if parts else np.zeros(0)

    def lufs(self) -> float | None:
        """The integrated loudness so far in LUFS; None for silence or under 400 ms."""
        return gated_lufs(self.energies(), self.rate, 0.0, self.first)

    def lufs_at(self, gain_db: float) -> float | None:
        """The integrated loudness the same audio would have `gain_db` louder (the gates move with it)."""
        return gated_lufs(self.energies(), self.rate, gain_db, self.first)


def sub_block_edge(k: np.ndarray | int, rate: int) -> np.ndarray:
    """Where 100 ms sub-block k starts, in samples: a grid that stays whole at any rate."""
    return np.asarray(k, dtype=np.int64) * rate // 10


def gated_lufs(energies: np.ndarray, rate: int, gain_db: float = 0.0, first: int = 0) -> float | None:
    """The gated integrated loudness of consecutive sub-block energies (from sub-block `first`), `gain_db`
    louder; None when no gating block passes the gates or there are fewer than four sub-blocks."""
    if energies.size < 4:
        return None
    k = np.arange(first, first + energies.size - 3)
    lengths = sub_block_edge(k + 4, rate) - sub_block_edge(k, rate)
    energy = (energies[:-3] + energies[1:-2] + energies[2:-1] + energies[3:]) / lengths * 10 ** (gain_db / 10)
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(energy)
    heard = loudness >= ABSOLUTE_GATE
    if not heard.any():
        return None
    relative = -0.691 + 10 * np.log10(energy[heard].mean()) + RELATIVE_GATE
    counted = (loudness > relative) & (loudness > ABSOLUTE_GATE)
    if not counted.any():
        return None
    return float(-0.691 + 10 * np.log10(energy[counted].mean()))


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter (high shelf, then high pass) as second-order sections, designed as pyloudnorm
    designs it, so this meter and pyloudnorm's agree at any rate."""
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
    high_pass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
    return np.array([np.concatenate([f.b, f.a]) for f in (shelf, high_pass)])


def frames(samples: np.ndarray) -> np.ndarray:
    """[n] or [n, channels] as [n, channels]."""
    data = np.asarray(samples)
    return data.reshape(-1, 1) if data.ndim == 1 else data
