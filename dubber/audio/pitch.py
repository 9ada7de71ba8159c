"""Measure a voice's pitch and shift a take's pitch without changing its length (issue #5).

`median_f0` is the median fundamental frequency over voiced frames only (librosa's pYIN decides
which frames are voiced), so pauses and unvoiced consonants do not pull it down.

`shift_pitch` runs the Rubber Band library through the bundled ffmpeg's `rubberband` filter at
tempo 1 (pitch only), in its `pitchq=quality` mode with the formants preserved, so the voice keeps
its timbre and only its pitch moves. The take has already been fitted to its slot, so the length
must not change by a sample. The method was chosen by measurement, not by ear: 32 shifts (Kokoro
jm_kumo, jf_alpha, jf_gongitsune and Piper joe; two texts; -3, -1.5, +1.5, +3 semitones), F0 by
pYIN, intelligibility by Whisper tiny.en (unshifted: 1.1 % WER), identity by the speaker encoder:

    method                      |F0 error| median/max   voiced frames kept   similarity to unshifted   WER    s/shift
    rubberband, formants kept   1.2 % / 7.2 %           105 % (min 89 %)     0.79                      1.1 %  0.12
    rubberband, formants moved  1.2 % / 8.4 %           105 % (min 88 %)     0.69                      1.4 %  0.11
    TD-PSOLA (pytsmod, pYIN)    1.2 % / 19 %            92 % (min 38 %)      0.95                      0.6 %  1.07

TD-PSOLA keeps the timbre best, but its pitch marks drift off the glottal pulses of low voices:
they lose up to 62 % of their voiced frames (rough, breathy speech) and miss the target by up to
19 %. An earlier run (12 shifts) also ruled out librosa's phase vocoder (25 % WER) and soxr
resampling followed by a WSOLA stretch back (3.8 % WER against Rubber Band's 1.5 %).

Rubber Band returns as many samples as it is given, except when the input is a whole number of
the raw demuxer's 1024-sample packets: then the filter is not flushed and loses about 1900
samples of the end (measured: 2048 in, 161 out; 38912 in, 36989 out). So `shift_pitch` appends
a tail of silence that keeps the total off a packet boundary, checks that Rubber Band gave back at
least the input's length, and cuts the output to exactly that length. Onsets move by at most 5 ms
(tone bursts shifted ±3 semitones: 120 samples at 24 kHz, earlier going up, later going down).
"""

from __future__ import annotations

import math

import numpy as np

from dubber.audio.media import filter_audio
from dubber.audio.samples import as_mono, resample
from dubber.errors import ProcessError

F0_RATE = 16000  # pitch is tracked at this rate: speech F0 lies far below its Nyquist, and pYIN runs faster
F0_MIN_HZ = 50.0  # the lowest speaking voice tracked
F0_MAX_HZ = 600.0  # the highest (a child or a shout)
F0_FRAME = 1024  # 64 ms at F0_RATE: over 3 periods of F0_MIN_HZ, as YIN needs
# pYIN's chance that a frame with no clear period is voiced. Its default, 0.01, marks up to 3/4 of
# the frames of white noise voiced at 50-60 Hz; at 0.001 noise has none, and Kokoro and Piper
# speech keeps 58-83 % of its voiced frames (those left out are the least periodic).
NO_TROUGH_PROB = 1e-3
MIN_VOICED_FRAMES = 5  # fewer voiced frames than this say nothing reliable about a voice
PITCH_LIMIT = 3.0  # semitones: the most a voice is moved toward a reference
SHIFT_TAIL = 4096  # samples of silence appended before shifting, so the filter's flush loses none of the take
PACKET_SAMPLES = 1024  # ffmpeg's raw f32le demuxer packet, in mono samples; the total must not be a multiple


def median_f0(samples: np.ndarray, rate: int) -> float | None:
    """Return the median F0 in Hz over the voiced frames of `samples`, or None when too few are voiced."""
    import librosa

    audio = resample(as_mono(samples), rate, F0_RATE)
    if audio.size < F0_FRAME:
        return None
    f0, voiced, _ = librosa.pyin(audio, fmin=F0_MIN_HZ, fmax=F0_MAX_HZ, sr=F0_RATE, frame_length=F0_FRAME,
                                 no_trough_prob=NO_TROUGH_PROB)
    values = f0[voiced & np.isfinite(f0)]
    if values.size < MIN_VOICED_FRAMES:
        return None
    return float(np.median(values))


def pitch_toward(reference_f0: float | None, take_f0: float | None, limit: float = PITCH_LIMIT) -> float:
    """Return the semitones that move `take_f0` toward `reference_f0`, clamped to ±`limit` (0 when unknown)."""
    if not reference_f0 or not take_f0 or reference_f0 <= 0 or take_f0 <= 0:
        return 0.0
    semitones = 12.0 * math.log2(reference_f0 / take_f0)
    return max(-limit, min(limit, semitones))


def shift_pitch(samples: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Return mono `samples` with the pitch moved by `semitones`, exactly as long as they were."""
    audio = as_mono(samples)
    if semitones == 0 or audio.size == 0:
        return audio.copy()
    ratio = 2.0 ** (semitones / 12.0)
    tail = SHIFT_TAIL + (1 if (audio.size + SHIFT_TAIL) % PACKET_SAMPLES == 0 else 0)
    padded = np.concatenate([audio, np.zeros(tail, dtype=np.float32)])
    graph = f"rubberband=pitch={ratio:.9f}:pitchq=quality:formant=preserved"
    shifted = filter_audio(padded, rate, graph)
    if shifted.size < audio.size:
        raise ProcessError(f"ffmpeg's rubberband filter returned {shifted.size} samples for {audio.size}",
                           cmd=["ffmpeg", "-af", graph], returncode=0, stderr="")
    return shifted[:audio.size]
