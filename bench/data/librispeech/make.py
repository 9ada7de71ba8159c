"""Cut the real-speaker clips in this folder from LibriSpeech test-other (issue #23).

Reads the ten readers' FLAC utterances from a git mirror of the Resemblyzer repository (its
`audio_data/librispeech_test-other` folder, ten utterances per reader) and writes, per reader:

- `<id>-ref.opus`: the reference, about REF_SECONDS of speech: the whole utterance nearest that
  length when one lies in REF_RANGE, else the start of an utterance cut at a pause;
- `<id>-held-<n>.opus`: HELD_CLIPS clips of other utterances of the same reader, together
  HELD_TOTAL seconds, each a whole utterance or its start cut at a pause.

Speech is found by dubber's Silero VAD. A cut falls in a pause (a gap of at least MIN_PAUSE s
between speech spans, never inside one), and every clip keeps PAD s of the silence before its
first and after its last speech, with FADE s fades at the edges. Levels are left as they are. The
clips are 16 kHz mono Ogg/Opus written by libsndfile (compression level OPUS_LEVEL: about 32 kb/s).
`speakers.tsv` lists what was cut from where (seconds in the original utterance).

    .venv/bin/python bench/data/librispeech/make.py [--mirror PATH] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import io
import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from dubber.models.vad import default_detector

MIRROR = "/work/.mirror/resemble-ai+Resemblyzer/repo"
SOURCE = "audio_data/librispeech_test-other"
SPEAKERS = ("367", "533", "1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331")
RATE = 16000
PAD = 0.2  # seconds of silence kept around the speech
MIN_PAUSE = 0.25  # seconds: a gap between speech spans this long may be cut in
FADE = 0.01
REF_SECONDS = 8.0
REF_RANGE = (7.0, 9.5)  # a whole utterance this long is taken as it is
HELD_CLIP = (3.0, 7.5)  # seconds: each held-out clip
HELD_CLIPS = (2, 3)
HELD_TOTAL = (10.0, 15.0)
HELD_AIM = 12.0
CUT_COST = 0.5  # seconds of distance from the aim a cut utterance counts as, against a whole one
OPUS_LEVEL = 0.9


@dataclass(frozen=True)
class Clip:
    """A stretch of one utterance: whole, or its start up to a pause."""

    utterance: str
    start: int
    end: int
    whole: bool

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / RATE

    def source(self) -> str:
        return f"{self.utterance}@{self.start / RATE:.2f}-{self.end / RATE:.2f}"


def git(mirror: str, *args: str) -> bytes:
    return subprocess.run(["git", "-C", mirror, *args], check=True, capture_output=True).stdout


def read_utterances(mirror: str, speaker: str) -> dict[str, np.ndarray]:
    """Return the reader's utterances, by LibriSpeech id, as float32 samples at RATE."""
    names = git(mirror, "ls-tree", "--name-only", "HEAD", f"{SOURCE}/{speaker}/").decode().split()
    out = {}
    for name in sorted(n for n in names if n.endswith(".flac")):
        samples, rate = sf.read(io.BytesIO(git(mirror, "show", f"HEAD:{name}")), dtype="float32")
        assert rate == RATE and samples.ndim == 1, (name, rate, samples.shape)
        out[Path(name).stem] = samples
    return out


def clips_of(utterance: str, samples: np.ndarray) -> list[Clip]:
    """Return the utterance's prefixes that end at a pause, the whole utterance last."""
    spans = default_detector().speech_spans(samples, RATE)
    if not spans:
        return []
    pad = round(PAD * RATE)
    start = max(0, spans[0][0] - pad)
    out = []
    for k, (_, end) in enumerate(spans):
        if k + 1 < len(spans):
            gap = spans[k + 1][0] - end
            if gap < MIN_PAUSE * RATE:
                continue
            out.append(Clip(utterance, start, end + min(pad, gap // 2), whole=False))
        else:
            out.append(Clip(utterance, start, min(samples.size, end + pad), whole=True))
    return out


def pick_reference(clips: dict[str, list[Clip]]) -> Clip:
    """Choose the whole utterance nearest REF_SECONDS within REF_RANGE, else the nearest cut."""
    whole = [c for cs in clips.values() for c in cs if c.whole and REF_RANGE[0] <= c.seconds <= REF_RANGE[1]]
    pool = whole or [c for cs in clips.values() for c in cs if c.seconds <= REF_RANGE[1]]
    return min(pool, key=lambda c: abs(c.seconds - REF_SECONDS))


def pick_held_out(clips: dict[str, list[Clip]], reference: Clip) -> list[Clip]:
    """Choose HELD_CLIPS clips of other utterances, together near HELD_AIM seconds, cutting as few as possible."""
    best: dict[str, Clip] = {}
    for utterance, cs in clips.items():
        fit = [c for c in cs if HELD_CLIP[0] <= c.seconds <= HELD_CLIP[1]]
        if utterance != reference.utterance and fit:
            best[utterance] = fit[-1]  # the whole utterance when it fits, else its longest start that does
    ordered = sorted(best.values(), key=lambda c: c.utterance)
    options = [combo for n in HELD_CLIPS for combo in itertools.combinations(ordered, n)
               if HELD_TOTAL[0] <= sum(c.seconds for c in combo) <= HELD_TOTAL[1]]
    if not options:
        raise SystemExit(f"no held-out clips for {reference.utterance.split('-')[0]}")
    return list(min(options, key=lambda combo: abs(sum(c.seconds for c in combo) - HELD_AIM)
                    + CUT_COST * sum(not c.whole for c in combo)))


def write_clip(path: Path, samples: np.ndarray, clip: Clip) -> None:
    audio = samples[clip.start:clip.end].copy()
    fade = round(FADE * RATE)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    audio[:fade] *= ramp
    audio[-fade:] *= ramp[::-1]
    with sf.SoundFile(path, "w", RATE, 1, format="OGG", subtype="OPUS", compression_level=OPUS_LEVEL) as f:
        f.write(audio)


def readers(mirror: str) -> dict[str, tuple[str, str]]:
    """Return each reader's sex and LibriVox name from SPEAKERS.TXT."""
    out = {}
    for line in git(mirror, "show", f"HEAD:{SOURCE}/SPEAKERS.TXT").decode("utf-8").splitlines():
        if line.startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|")]
        out[fields[0]] = (fields[1], fields[4])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=MIRROR, help="git directory of the Resemblyzer repository")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    names = readers(args.mirror)
    rows = ["id\tsex\tname\treference\theld_out\treference_source\theld_out_sources"]
    for speaker in SPEAKERS:
        utterances = read_utterances(args.mirror, speaker)
        clips = {u: clips_of(u, samples) for u, samples in utterances.items()}
        reference = pick_reference(clips)
        held = pick_held_out(clips, reference)
        files = [f"{speaker}-ref.opus"] + [f"{speaker}-held-{n + 1}.opus" for n in range(len(held))]
        for file, clip in zip(files, [reference, *held]):
            write_clip(args.out / file, utterances[clip.utterance], clip)
        sex, name = names[speaker]
        rows.append("\t".join([speaker, sex, name, files[0], ",".join(files[1:]), reference.source(),
                               ",".join(c.source() for c in held)]))
        print(f"{speaker} {sex}: reference {reference.seconds:.1f} s ({'whole' if reference.whole else 'cut'}), "
              f"held-out " + " + ".join(f"{c.seconds:.1f}{'' if c.whole else ' cut'}" for c in held)
              + f" = {sum(c.seconds for c in held):.1f} s")
    (args.out / "speakers.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in args.out.glob("*.opus"))
    print(f"{len(SPEAKERS)} speakers, {size / 1e6:.2f} MB of Opus")


if __name__ == "__main__":
    main()
