"""The mix in blocks: any range of the mixed track computed alone, exactly as the whole mix would be, and
every track a dub writes written block by block, so a feature film's mix is never in memory.

Each range is mixed from the takes near it and the original's samples there (`mix_range`: the ducking
is exact). What a range cannot know alone is carried as numbers: the peak guard's gain (a scalar, from
the peak found by walking the blocks once) and the loudness plan (dubber.audio.loudness: a scalar and a
limiter recomputed locally from the mix around the range). So `measure_mix` walks the track to find
them, and `write_blocks` walks it again to write, each block the same as a slice of the whole mix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile

from dubber.audio.loudness import LoudnessPlan, LoudnessResult, Reader, plan_loudness
from dubber.audio.media import write_failure
from dubber.audio.samples import fit_length
from dubber.errors import OutputError
from dubber.mix.mixing import PEAK_GUARD, Ducking, mix_range
from dubber.mix.timeline import Timeline

BLOCK = 480_000  # samples per block (10 s at 48 kHz)
_RF64_AUTO_DOWNGRADE = 0x1210  # libsndfile's SFC_RF64_AUTO_DOWNGRADE: RF64 only when a WAV would pass 4 GB


@dataclass(frozen=True)
class _Part:
    """The mix of [start, end) before any gain, with the stem and the original's ducking envelope there."""

    start: int
    end: int
    mix: np.ndarray  # [k, channels]
    stem: np.ndarray  # [k]
    envelope: np.ndarray | None  # [k]


@dataclass(frozen=True)
class Block:
    """One block of the mix as written: [start, end) of the timeline."""

    start: int
    end: int
    mix: np.ndarray  # [k, channels], at the mix's gain: the dub track
    stem: np.ndarray  # [k], the dialogue before the gain
    gain: np.ndarray  # [k], the gain applied after summing (peak guard and loudness)
    original: np.ndarray | None  # [k, channels], the original as mixed (ducked) before the gain; None: not mixed in

    def scaled(self, samples: np.ndarray) -> np.ndarray:
        """Apply the block's gain to samples of this block ([k] or [k, channels])."""
        return (samples * (self.gain if samples.ndim == 1 else self.gain[:, None])).astype(np.float32)


@dataclass(frozen=True)
class Mixdown:
    """The mixed track of a timeline over the original, read by ranges: nothing in it grows with the video.

    `guard` is the peak guard's gain, `loudness` the plan that brings the guarded mix to its target
    (None: no target). `original` (an array or a dubber.audio.source.DiskAudio) is only ever sliced.
    """

    timeline: Timeline
    original: np.ndarray | None
    mode: str = "duck"
    ducking: Ducking = field(default_factory=Ducking)
    guard: float = 1.0
    loudness: LoudnessPlan | None = None

    @property
    def rate(self) -> int:
        return self.timeline.sample_rate

    @property
    def length(self) -> int:
        return self.timeline.length

    @property
    def channels(self) -> int:
        return 1 if self.original is None else min(max(self.original.shape[1], 1), 2)

    @property
    def ducked(self) -> bool:
        """Whether the original is in the mix (lowered under the dub), so a background stem exists."""
        return self.mode == "duck" and self.original is not None

    @property
    def margin(self) -> int:
        """Samples of mix on each side of a range that its gain depends on (the limiter's look-ahead and release)."""
        return self.loudness.margin if self.loudness is not None else 0

    def _part(self, start: int, end: int) -> _Part:
        """The ungained mix of [start, end), zeros outside the timeline."""
        k = max(end - start, 0)
        lo, hi = max(start, 0), max(min(end, self.length), max(start, 0))
        mix = np.zeros((k, self.channels), np.float32)
        stem = np.zeros(k, np.float32)
        envelope = np.ones(k, np.float32) if self.ducked else None
        if hi > lo:
            out, dialogue, env = mix_range(self.timeline, self.original, lo, hi, self.mode, self.ducking)
            mix[lo - start:hi - start], stem[lo - start:hi - start] = out, dialogue
            if envelope is not None and env is not None:
                envelope[lo - start:hi - start] = env
        return _Part(start, end, mix, stem, envelope)

    def read(self, start: int, end: int) -> np.ndarray:
        """The mix of [start, end) at the peak guard's gain, before loudness (zeros outside the timeline)."""
        return self._part(start, end).mix * np.float32(self.guard)

    def _reader(self, part: _Part) -> Reader:
        """`read`, answered from `part` where it covers the range asked."""
        def read(start: int, end: int) -> np.ndarray:
            if part.start <= start and end <= part.end:
                return part.mix[start - part.start:end - part.start] * np.float32(self.guard)
            return self.read(start, end)
        return read

    def _gain(self, part: _Part, start: int, end: int) -> np.ndarray:
        if self.loudness is None:
            return np.full(end - start, self.guard, np.float32)
        return (self.loudness.gain(self._reader(part), start, end) * np.float32(self.guard)).astype(np.float32)

    def gain(self, start: int, end: int) -> np.ndarray:
        """The gain applied after summing over [start, end) ([k]): the stems carry it so they add up to the mix."""
        if self.loudness is None:
            return np.full(max(end - start, 0), self.guard, np.float32)
        return self._gain(self._part(start - self.margin, end + self.margin), start, end)

    def track(self, start: int, end: int) -> np.ndarray:
        """The mixed track of [start, end) as written ([k, channels])."""
        m = self.margin
        part = self._part(start - m, end + m)
        return part.mix[m:m + end - start] * self._gain(part, start, end)[:, None]

    def envelope(self, start: int, end: int) -> np.ndarray | None:
        """The original's ducking gain over [start, end) ([k]); None when the original is not ducked."""
        return self._part(start, end).envelope

    def scaled(self, samples: np.ndarray, start: int = 0) -> np.ndarray:
        """Apply the mix's gain to part of the timeline ([k] or [k, channels], from sample `start`)."""
        gain = self.gain(start, start + samples.shape[0])
        return (samples * (gain if samples.ndim == 1 else gain[:, None])).astype(np.float32)

    def blocks(self, size: int | None = None) -> Iterator[Block]:
        """The whole track as consecutive blocks of at most `size` samples (BLOCK)."""
        size, m = size or BLOCK, self.margin
        for lo in range(0, self.length, size):
            hi = min(lo + size, self.length)
            part = self._part(lo - m, hi + m)
            inner = slice(m, m + hi - lo)
            gain = self._gain(part, lo, hi)
            original = None
            if self.ducked and part.envelope is not None:
                here = fit_length(self.original[lo:hi], hi - lo)[:, :self.channels]
                original = here * part.envelope[inner, None]
            yield Block(lo, hi, part.mix[inner] * gain[:, None], part.stem[inner], gain, original)


def measure_mix(timeline: Timeline, original: np.ndarray | None, mode: str = "duck", ducking: Ducking | None = None,
                target_lufs: float | None = None, block: int | None = None) -> tuple[Mixdown, LoudnessResult | None]:
    """Walk the mix in blocks for its peak guard (and its loudness plan when a target is set).

    The guard keeps the encoder from clipping as `mix` does; its gain is one number, so the loudness
    plan is made over the guarded mix, read block by block.
    """
    mixdown = Mixdown(timeline, original, mode, ducking or Ducking())
    block = block or BLOCK
    peak = 0.0
    for lo in range(0, mixdown.length, block):
        part = mixdown.read(lo, min(lo + block, mixdown.length))
        peak = max(peak, float(np.max(np.abs(part), initial=0.0)))
    if peak > PEAK_GUARD:
        mixdown = replace(mixdown, guard=PEAK_GUARD / peak)
    if target_lufs is None:
        return mixdown, None
    plan, result = plan_loudness(mixdown.read, mixdown.length, mixdown.rate, target_lufs, block=block)
    return replace(mixdown, loudness=plan), result


@dataclass(frozen=True)
class Output:
    """A WAV a walk over the blocks writes: what it takes from each block, with how many channels."""

    path: Path
    channels: int
    take: Callable[[Block], np.ndarray]


def write_blocks(mixdown: Mixdown, outputs: Sequence[Output], size: int | None = None) -> list[Path]:
    """Write every output in one walk over the mix, block by block; 32-bit float WAV, RF64 past 4 GB."""
    if not outputs:
        return []
    files: list[soundfile.SoundFile] = []
    try:
        for output in outputs:
            files.append(_open_wav(output.path, mixdown.rate, output.channels))
        for block in mixdown.blocks(size):
            for output, handle in zip(outputs, files):
                _write(handle, output.path, output.take(block))
    finally:
        for handle in files:
            handle.close()
    return [output.path for output in outputs]


def _open_wav(path: Path, rate: int, channels: int) -> soundfile.SoundFile:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = soundfile.SoundFile(str(path), "w", rate, channels, subtype="FLOAT", format="RF64")
    except (OSError, RuntimeError) as exc:  # soundfile reports failures as RuntimeError
        raise OutputError(f"cannot write {str(path)!r}: {exc}", path=str(path)) from exc
    # Written as a plain WAV unless it passes 4 GB (a long film's stereo float track can). soundfile has no
    # call for this libsndfile setting; without its internals the file stays RF64, which ffmpeg reads too.
    try:
        soundfile._snd.sf_command(handle._file, _RF64_AUTO_DOWNGRADE, soundfile._ffi.NULL, 1)
    except AttributeError:
        pass
    return handle


def _write(handle: soundfile.SoundFile, path: Path, samples: np.ndarray) -> None:
    data = np.ascontiguousarray(samples, np.float32)
    try:
        handle.write(data)
    except (OSError, RuntimeError) as exc:  # libsndfile says only "System error": find out why
        size = path.stat().st_size if path.exists() else 0
        raise OutputError(f"cannot write {str(path)!r}: {write_failure(exc, path, size + data.nbytes)}",
                          path=str(path)) from exc
