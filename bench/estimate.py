"""Estimate: how close each natural-length estimate (dubber.synthesis.budget) comes to the measured length.

For every line of bench/data/short_lines.tsv in a language the engine speaks, and a few longer ones,
the natural take is synthesised and its speech span measured; the engine's own estimate
(`Engine.estimate_speech_ms`, phonemes at the voice's pace) and the text fallback
(`line_budget.text_estimate_ms`) are set against it. It also fits the pace afresh (least squares: ms
per phoneme symbol, and per pause mark for Kokoro), which is where the constants in models/piper.py
(MS_PER_PHONE) and models/kokoro.py (PACE_MS) come from.

    .venv/bin/python bench/estimate.py [--engines piper,kokoro]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LONGER = [("en", "9" * 40), ("en", "go " * 40),
          ("en", ("Good morning. Today we are going to the old harbour, and then we walk to the lighthouse "
                  "before the tide comes in.")),
          ("en", "It was 3:30 pm on 2024-03-05 and the price was $12.50 for 5km."),
          ("ja", "今日はとても良い天気ですね。散歩に行きましょう。"), ("zh", "今天天气很好，我们去公园散步吧。我八点来接你。")]
PAUSES = frozenset(",;:.!?—…")
UNTIMED = frozenset("ˈˌː\"'()“”") | PAUSES


def lines() -> list[tuple[str, str]]:
    rows = []
    for row in (ROOT / "bench" / "data" / "short_lines.tsv").read_text(encoding="utf-8").splitlines():
        if row and not row.startswith("#"):
            lang, text = row.split("\t", 1)
            rows.append((lang, text))
    return rows + LONGER


def spread(estimates: np.ndarray, measured: np.ndarray) -> str:
    rel = estimates / measured - 1
    return f"median {np.median(rel):+.0%}, from {rel.min():+.0%} to {rel.max():+.0%}"


def main() -> int:
    from dubber.plugin.engine import SynthesisRequest
    from dubber.plugin.registry import get_engine

    from dubber.synthesis.budget import text_estimate_ms
    from dubber.audio.speech import speech_span

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="piper,kokoro")
    args = parser.parse_args()
    print(f"{'engine':<8} {'lang':<4} {'lines':>5}  estimate vs measured natural speech")
    for name in args.engines.split(","):
        engine = get_engine(name)
        for lang in engine.capabilities.languages:
            rows = [(text, engine.synthesize(SynthesisRequest(text, lang)))
                    for line_lang, text in lines() if line_lang == lang]
            if not rows:
                continue
            measured = np.array([speech_span(take.samples, take.sample_rate).length * 1000 / take.sample_rate
                                 for _, take in rows])
            own = np.array([engine.estimate_speech_ms(text, lang) or 0 for text, _ in rows], dtype=float)
            text_only = np.array([text_estimate_ms(text, lang) for text, _ in rows], dtype=float)
            counts = np.array([[sum(1 for ch in take.phonemes if ch not in UNTIMED and not ch.isspace()),
                                sum(1 for ch in take.phonemes if ch in PAUSES)] for _, take in rows], dtype=float)
            per_phone = np.linalg.lstsq(counts[:, :1], measured, rcond=None)[0]
            with_pauses = np.linalg.lstsq(counts, measured, rcond=None)[0]
            print(f"{name:<8} {lang:<4} {len(rows):>5}  engine's: {spread(own, measured)}; "
                  f"text's: {spread(text_only, measured)}")
            print(f"{'':<19}fitted: {per_phone[0]:.1f} ms a phoneme; or {with_pauses[0]:.1f} ms a phoneme "
                  f"and {with_pauses[1]:.1f} ms a pause mark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
