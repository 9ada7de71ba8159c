"""End-to-end check on media nobody has seen: make a video and an SRT, dub them, measure the output file.

The SRT is made for dubbing (each cue the length its line should be spoken at), so the dub fills
each cue (`--fill`); bench/sync.py measures real display-window subtitles against the original speech.
It prints, from the output file itself: whether the video packets are bit-identical, each line's speech
onset and offset errors, the share within ±50 ms, Whisper tiny.en WER of the dubbed English, and RTF.

    .venv/bin/python bench/e2e.py [--mix replace|duck] [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.fitting.intelligibility import Transcriber
from dubber.handoff.verify import check_output
from dubber.pipeline.dub import DubOptions, dub
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.subtitles.load import load_subtitles, save_srt

RATE = 48000
# (text, slot / natural length): slots that ask for slowing down and speeding up.
LINES = [
    ("Every morning the baker opens his shop at six.", 1.15),
    ("I would like a cup of tea with milk, please.", 0.87),
    ("The children ran across the field to catch the kite.", 1.05),
    ("Our flight was delayed by almost two hours.", 0.93),
    ("Write your name at the top of each page.", 1.2),
    ("The old bridge was repaired during the winter.", 0.84),
    ("Thank you for waiting, the doctor will see you now.", 1.0),
    ("He forgot his keys on the kitchen table.", 1.1),
]



def make_media(folder: Path) -> tuple[Path, Path]:
    """Build the video (test pattern, a two-chord drone as its original audio) and its SRT."""
    piper = get_engine("piper")
    t, rows = 1000, []
    for text, factor in LINES:
        take = piper.synthesize(SynthesisRequest(text, "en", seed=11))
        span = speech_span(take.samples, take.sample_rate)
        slot = round(samples_to_ms(span.length, take.sample_rate) * factor)
        rows.append((t, t + slot, text))
        t += slot + 650
    total = t + 1000
    tt = np.arange(ms_to_samples(total, RATE)) / RATE
    left = 0.04 * (np.sin(2 * np.pi * 130.8 * tt) + np.sin(2 * np.pi * 196.0 * tt))
    right = 0.04 * (np.sin(2 * np.pi * 164.8 * tt) + np.sin(2 * np.pi * 246.9 * tt))
    video = folder / "never seen.mp4"
    media.make_test_video(video, total, np.stack([left, right], axis=1).astype(np.float32), RATE)
    srt = folder / "never seen.en.srt"
    save_srt(srt, rows)
    return video, srt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mix", default="replace", choices=("replace", "duck"))
    ap.add_argument("--keep", help="write the media here instead of a temporary folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        video, srt = make_media(folder)
        out = folder / "dubbed.mkv"
        t0 = time.monotonic()
        result = dub(video, srt, out, DubOptions(lang="en", mix=args.mix, sync="fill"), stem_path=folder / "stem.wav")
        wall = time.monotonic() - t0
        cues = load_subtitles(srt).cues
        # With ducking the first track also carries the original; the stem is the dub alone.
        measured = out if args.mix == "replace" else folder / "stem.wav"
        checks = check_output(measured, cues)
        exact = media.video_packet_checksums(video) == media.video_packet_checksums(out)
        asr = Transcriber()
        audio = media.decode_audio(out, 16000, channels=1)[:, 0]
        hyps = [asr.transcribe(audio[ms_to_samples(c.start_ms - 200, 16000):ms_to_samples(c.end_ms + 200, 16000)],
                               16000) for c in cues]
        wer = asr.wer([c.text for c in cues], hyps)
    print(f"measured on: {'the output file, first audio track' if args.mix == 'replace' else 'the stem'}")
    for c, line in zip(checks, sorted(result.lines, key=lambda x: x.start_ms)):
        onset = c.speech_start_ms - c.start_ms
        offset = c.speech_end_ms - c.end_ms
        print(f"cue {c.index}: slot {c.end_ms - c.start_ms:5d} ms, natural {line.natural_ms} ms, "
              f"onset {onset:+4d} ms, offset {offset:+4d} ms, {line.method}, {c.status}")
    errors = [abs(c.error_ms) for c in checks if c.error_ms is not None]
    print(f"lines within ±50 ms: {sum(c.ok for c in checks)}/{len(checks)}; "
          f"median |edge error| {statistics.median(errors)} ms, max {max(errors)} ms")
    print(f"video packets bit-identical: {exact}")
    print(f"Whisper tiny.en WER on the output: {wer:.1%}")
    print(f"dub wall time {wall:.1f} s for {sum(c.end_ms - c.start_ms for c in cues) / 1000:.1f} s of lines")


if __name__ == "__main__":
    main()
