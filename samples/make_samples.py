"""Rebuild the bundled demo: a test-pattern video whose original speech is Japanese made by our own
Kokoro voices, an English SRT translation, and a two-speaker ASS version.

Run from the repository root: `.venv/bin/python samples/make_samples.py`. Cue slots are derived from
the English lines' natural lengths times a spread of factors, so the demo exercises both speeding up
and slowing down, always within the fittable range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.audio.samples import ms_to_samples, resample, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.subtitles.load import save_srt

HERE = Path(__file__).parent
RATE = 48000

# (speaker, Japanese original, English translation, slot factor = target / natural English length)
LINES = [
    ("Aiko", "おはようございます。今日は古い港へ行きます。", "Good morning. Today we are going to the old harbour.", 1.0),
    ("Kenji", "船は九時に出るので、急ぎましょう。", "The boats leave at nine, so we should hurry.", 0.9),
    ("Aiko", "カメラを持ってくるのを忘れなかった？", "Did you remember to bring the camera?", 1.12),
    ("Kenji", "うん、かばんの中、サンドイッチの隣にあるよ。", "Yes, it is in my bag, next to the sandwiches.", 0.86),
    ("Aiko", "水を見て。今朝はとても穏やかだね。", "Look at the water. It is so calm this morning.", 1.08),
    ("Kenji", "フェリーが来る前に写真を撮ろう。", "Let's take a picture before the ferry arrives.", 0.94),
]
VOICES = {"Aiko": "jf_alpha", "Kenji": "jm_kumo"}
FIRST_MS, GAP_MS, TAIL_MS = 800, 700, 1200



def ass_time(ms: int) -> str:
    cs = (ms + 5) // 10
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def natural_speech(engine_name: str, text: str, lang: str, voice: str | None) -> tuple[np.ndarray, int]:
    """Return the engine's speech for `text`, trimmed to its measured span."""
    take = get_engine(engine_name).synthesize(SynthesisRequest(text, lang, voice))
    span = speech_span(take.samples, take.sample_rate)
    return take.samples[span.start:span.end], take.sample_rate


def main() -> None:
    cues = []
    t = FIRST_MS
    original_parts: list[tuple[int, np.ndarray]] = []
    for speaker, ja, en, factor in LINES:
        en_audio, en_rate = natural_speech("piper", en, "en", None)
        slot = round(samples_to_ms(en_audio.size, en_rate) * factor)
        cues.append((t, t + slot, speaker, en))
        ja_audio, ja_rate = natural_speech("kokoro", ja, "ja", VOICES[speaker])
        original_parts.append((t, resample(ja_audio, ja_rate, RATE)))
        t += slot + GAP_MS
    total_ms = t - GAP_MS + TAIL_MS

    track = np.zeros(ms_to_samples(total_ms, RATE), np.float32)
    for start_ms, audio in original_parts:
        s = ms_to_samples(start_ms, RATE)
        n = min(audio.size, track.size - s)
        track[s:s + n] += 0.8 * audio[:n]
    # A quiet room tone, so ducking has something to act on between lines.
    rng = np.random.default_rng(7)
    track += (0.003 * rng.standard_normal(track.size)).astype(np.float32)
    media.make_test_video(HERE / "demo.mp4", total_ms, track, RATE)

    save_srt(HERE / "demo.en.srt", [(start, end, text) for start, end, _speaker, text in cues])

    header = ("[Script Info]\nTitle: dubber demo, two speakers\nScriptType: v4.00+\nPlayResX: 320\nPlayResY: 180\n\n"
              "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
              "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
              "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
              "Style: Default,Arial,14,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,"
              "10,10,10,1\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, "
              "Text\n")
    with open(HERE / "demo.en.ass", "w", encoding="utf-8") as f:
        f.write(header)
        for start, end, speaker, text in cues:
            styled = text.replace(". ", ".\\N", 1) if speaker == "Aiko" else "{\\i1}" + text + "{\\i0}"
            f.write(f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Default,{speaker},0,0,0,,{styled}\n")
    print(f"wrote demo.mp4 ({total_ms} ms), demo.en.srt and demo.en.ass with {len(cues)} cues")


if __name__ == "__main__":
    main()
