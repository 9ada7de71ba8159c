"""Two sync policies on real-world-shaped subtitles: filling each cue, against following the original speech.

Builds the corpus of tests/data/realworld.py (Japanese original speech by Kokoro; English subtitles
padded as subtitlers pad display windows, with sound descriptions, signs, a dashed two-speaker cue,
an untranslated half, a 20 ms and a 220 ms cue, cues past the end, and a music bed under one file),
dubs every file with Piper under `--fill` (dubber's first policy: each line lasts its cue) and under
the default `--sync speech`, in one run, and measures on the output files (`--mix replace`, so the
first audio track is the dub alone):

- lines in sync, by each policy's own rule (the report's status), and lines failed or overrunning;
- onset error against the original speech (median and max |error|, share within ±50 ms);
- length error against the original speech (median and max |error|);
- the heard rate (natural length / spoken length) range and the largest residual stretch;
- Whisper tiny.en WER of each dubbed line, cut from the output track.

Both policies speak the same lines (what is not speech is skipped under both).

    .venv/bin/python bench/sync.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dubber.audio import media  # noqa: E402
from dubber.audio.samples import ms_to_samples  # noqa: E402
from dubber.cli.main import main as dubber  # noqa: E402
from dubber.fitting.intelligibility import Transcriber  # noqa: E402
from dubber.text.pronunciation import plain  # noqa: E402
from tests.data.realworld import RATE, build, original_clips  # noqa: E402

POLICIES = {"fill": ["--fill"], "speech": ["--sync", "speech"]}
WER_RATE = 16000


def dub_all(files, folder: Path) -> dict[str, list[tuple[object, dict, np.ndarray]]]:
    """Dub every corpus file under each policy: (file, report, output track) per file."""
    runs: dict[str, list[tuple[object, dict, np.ndarray]]] = {}
    for policy, flags in POLICIES.items():
        runs[policy] = []
        for item in files:
            out = folder / f"{item.name}.{policy}.mp4"
            report = folder / f"{item.name}.{policy}.json"
            dubber(["dub", str(item.video), str(item.subtitles), "-o", str(out), "--mix", "replace",
                    "--report", str(report), "--project", str(folder / f"{item.name}.{policy}.dubber.json"),
                    *flags])
            track = media.decode_audio(out, WER_RATE, channels=1)[:, 0]
            runs[policy].append((item, json.loads(report.read_text()), track))
    return runs


def measure(runs: list[tuple[object, dict, np.ndarray]], asr: Transcriber) -> dict[str, object]:
    """Each policy's numbers over every line it spoke."""
    onsets, lengths, heard, stretch, refs, hyps, statuses = [], [], [], [], [], [], []
    for item, report, track in runs:
        truth = sorted({cue.speech for cue in item.cues if cue.spoken and cue.speech is not None})
        for line in report["lines"]:
            statuses.append(line["status"])
            if line["speech_start_ms"] is None:
                continue
            start, end = line["speech_start_ms"], line["speech_end_ms"]
            # The original speech this line translates: the one nearest its cue (its turn, for a split cue).
            original = min(truth, key=lambda span: abs(span[0] - (line["target_start_ms"] or line["start_ms"])))
            onsets.append(start - original[0])
            lengths.append((end - start) - (original[1] - original[0]))
            heard.append(line["heard_rate"])
            stretch.append(line["stretch"] or 1.0)
            clip = track[ms_to_samples(start - 150, WER_RATE):ms_to_samples(end + 150, WER_RATE)]
            refs.append(plain(line["text"]))
            hyps.append(asr.transcribe(clip, WER_RATE))
    return {
        "lines": len(statuses),
        "in_sync": sum(s == "ok" for s in statuses),
        "failed": sum(s in ("failed", "too_long") for s in statuses),
        "onset_within_50": sum(abs(e) <= 50 for e in onsets) / len(onsets),
        "onset_median": statistics.median(abs(e) for e in onsets),
        "onset_max": max(abs(e) for e in onsets),
        "length_median": statistics.median(abs(e) for e in lengths),
        "length_max": max(abs(e) for e in lengths),
        "heard": (min(heard), max(heard)),
        "stretch": max(max(stretch), 1 / min(stretch)),
        "wer": asr.wer(refs, hyps),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="write the media and dubs here instead of a temporary folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        started = time.monotonic()
        files = build(folder, original_clips())
        runs = dub_all(files, folder)
        asr = Transcriber()
        results = {policy: measure(runs[policy], asr) for policy in POLICIES}
        wall = time.monotonic() - started
    print(f"corpus: {len(files)} files ({', '.join(f.name for f in files)}), "
          f"{sum(c.spoken for f in files for c in f.cues)} spoken cues, "
          f"{sum(not c.spoken for f in files for c in f.cues)} not spoken; dubbed with piper, --mix replace")
    print()
    print("| policy | lines in sync (own rule) | failed or overrunning | onset within ±50 ms of the original "
          "speech | median / max \\|onset error\\| | median / max \\|length error\\| | heard rate | largest "
          "stretch | WER |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for policy, r in results.items():
        print(f"| `{'--fill' if policy == 'fill' else '--sync speech'}` | {r['in_sync']}/{r['lines']} | {r['failed']} "
              f"| {r['onset_within_50']:.0%} | {r['onset_median']:.0f} / {r['onset_max']} ms "
              f"| {r['length_median']:.0f} / {r['length_max']} ms | ×{r['heard'][0]:.2f}–×{r['heard'][1]:.2f} "
              f"| ×{r['stretch']:.3f} | {r['wer']:.1%} |")
    print(f"\n{wall:.0f} s in all (building the corpus, {2 * len(files)} dubs, Whisper) on {RATE} Hz tracks")


if __name__ == "__main__":
    main()
