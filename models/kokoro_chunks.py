"""Cut Kokoro's phonemes into chunks the model takes, and lay the chunks' token frames over the whole text."""

from __future__ import annotations

import re

import numpy as np

from dubber.models.kokoro_graph import FRAME_SAMPLES, SAMPLE_RATE

CHUNK_PAUSE_MS = 200  # silence between chunks of a long text, about a sentence break
CHUNK_PAUSE_FRAMES = SAMPLE_RATE * CHUNK_PAUSE_MS // 1000 // FRAME_SAMPLES  # 8, a whole number of frames
_SENTENCE_END = re.compile(r"[.!?…](?= )")
_CLAUSE_END = re.compile(r"[,;:—](?= )")


def split_phonemes(phonemes: str, limit: int) -> list[str]:
    """Cut a phoneme string into chunks of at most `limit` symbols, at sentence ends when possible."""
    chunks = []
    rest = phonemes.strip()
    while len(rest) > limit:
        window = rest[:limit + 1]  # one more symbol, to see the space after a mark at the limit
        cut = 0
        # Only accept a break in the latter part, so chunks do not get tiny.
        for pattern in (_SENTENCE_END, _CLAUSE_END):
            ends = [m.end() for m in pattern.finditer(window) if limit // 3 <= m.end() <= limit]
            if ends:
                cut = ends[-1]
                break
        if not cut:
            space = window.rfind(" ", 0, limit + 1)
            cut = space if space > 0 else limit
        chunks.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        chunks.append(rest)
    return chunks


def symbol_frames(phonemes: str, chunks: list[str], frames: list[np.ndarray]) -> np.ndarray:
    """Lay each chunk's padded token frames over `phonemes`: [lead, one per symbol, tail].

    Entry 0 is the first chunk's leading pad (silence before speech), entry i + 1 belongs
    to phonemes[i], and the last entry is the final chunk's trailing pad. Between two chunks
    the trailing pad, the pause and the next leading pad go to the whitespace dropped at the
    cut (to the symbol before a cut inside a word); further dropped whitespace gets 0.
    The entries sum to the take's length in frames.
    """
    out = np.zeros(len(phonemes) + 2, dtype=np.int32)
    pos = 0  # the next symbol of `phonemes` not yet covered
    tail = 0
    for index, (chunk, chunk_frames) in enumerate(zip(chunks, frames)):
        start = len(phonemes) - len(phonemes[pos:].lstrip())
        if not phonemes.startswith(chunk, start):
            raise ValueError(f"chunk {chunk!r} is not at symbol {start} of {phonemes!r}")
        if index == 0:
            out[0] = chunk_frames[0]
        else:
            # Slot pos + 1 is the first dropped space, or the symbol before the cut when none was.
            out[pos + 1 if start > pos else pos] += tail + CHUNK_PAUSE_FRAMES + chunk_frames[0]
        out[start + 1:start + 1 + len(chunk)] = chunk_frames[1:-1]
        tail = chunk_frames[-1]
        pos = start + len(chunk)
    out[-1] = tail
    return out


def token_frames(phonemes: str, chunks: list[str], frames: np.ndarray,
                 natural: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Undo `symbol_frames`: return each chunk's padded token frames and the pause frames at each cut.

    A symbol's entry is its token's frames. At a cut, the entry that `symbol_frames` merged
    (with any further dropped whitespace) is split back using `natural`, each chunk's token
    frames as the model predicts them: the trailing and leading pads keep their natural
    frames and the pause, our own silence, takes the rest. At a cut inside a word the entry
    also holds the symbol before it: the pads and the pause keep their natural frames and
    the symbol takes the rest. Either way a natural take's own frames come back unchanged.
    When the entry is too short, the pause gives way first, then the leading pad, then the
    trailing pad. Tokens may come out below 1 frame and pauses below 0; the caller checks.
    """
    frames = np.asarray(frames, dtype=np.int64)
    tokens: list[np.ndarray] = []
    pauses: list[int] = []
    pos = 0
    for index, chunk in enumerate(chunks):
        start = len(phonemes) - len(phonemes[pos:].lstrip())
        if not phonemes.startswith(chunk, start):
            raise ValueError(f"chunk {chunk!r} is not at symbol {start} of {phonemes!r}")
        raw = np.empty(len(chunk) + 2, dtype=np.int64)
        raw[1:-1] = frames[start + 1:start + 1 + len(chunk)]
        if index == 0:
            raw[0] = frames[0]
        else:
            previous = tokens[-1]
            trail, lead = int(natural[index - 1][-1]), int(natural[index][0])
            if start > pos:  # the gap lies on dropped whitespace
                merged = int(frames[pos + 1:start + 1].sum())
                trail, lead, pause = _share(merged, [trail, lead, 0], [1, 1, 0], absorber=2)
            else:  # a cut inside a word: the symbol before it holds the gap too
                symbol = int(natural[index - 1][-2])
                symbol, trail, lead, pause = _share(int(frames[pos]), [symbol, trail, lead, CHUNK_PAUSE_FRAMES],
                                                    [1, 1, 1, 0], absorber=0)
                previous[-2] = symbol
            previous[-1], raw[0] = trail, lead
            pauses.append(pause)
        tokens.append(raw)
        pos = start + len(chunk)
    tokens[-1][-1] = frames[-1]
    return tokens, pauses


def _share(total: int, parts: list[int], floors: list[int], absorber: int) -> list[int]:
    """Give `parts` their frames and `absorber` the rest of `total`; when that is below its floor,
    take frames back from the other parts, last first, down to their floors."""
    parts = list(parts)
    parts[absorber] = total - (sum(parts) - parts[absorber])
    for i in reversed(range(len(parts))):
        short = floors[absorber] - parts[absorber]
        if short <= 0:
            break
        if i != absorber:
            give = max(0, min(short, parts[i] - floors[i]))
            parts[i] -= give
            parts[absorber] += give
    return parts

