"""Who speaks each cue, and with which voice: the `--speakers` mapping file.

A cue's speaker comes, in order of precedence, from the mapping file's `[cues]` table, then from
the subtitle itself (the ASS Name field, a WebVTT `<v>` tag or a `NAME:` prefix, see
`dubber.subtitles.load`). Cues with no speaker belong to one unnamed speaker, `UNNAMED`.

The mapping file is TOML::

    [speakers.Aiko]
    voice = "jf_alpha"            # a voice of the engine, or "auto" to match the original speaker
    engine = "kokoro"             # optional: this speaker's engine
    reference = "clips/aiko.wav"  # optional: the clip to clone or match (relative to this file)
    reference_text = "What Aiko says in the clip."
    reference_lang = "ja"

    [speakers.Kenji]
    voice = "auto"

    [cues]                        # optional: the n-th cue of the file (1-based) to a speaker
    "3" = "Kenji"
    "7-9" = "Aiko"

Unknown keys are errors, named with the file and line, so a typo never silently drops a setting.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dubber.errors import UsageError
from dubber.files import read_toml
from dubber.subtitles.cue import Cue

UNNAMED = ""  # the speaker of cues that name none
AUTO = "auto"
TUNE = "tune"  # match, then tune the matched style vector toward the speaker (dubber.voices.tune)
SPEAKER_KEYS = ("voice", "engine", "reference", "reference_text", "reference_lang")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class SpeakerSettings:
    """What the user said about one speaker; None means 'decide for me'."""

    name: str
    voice: str | None = None  # a catalogue voice, AUTO, TUNE, or None for the dub's default
    engine: str | None = None
    reference: Path | None = None  # a user-supplied clip: it always wins over extracted ones
    reference_text: str = ""
    reference_lang: str | None = None


@dataclass(frozen=True)
class SpeakerMap:
    """The mapping file's content: per-speaker settings and per-cue speaker overrides."""

    path: Path | None = None
    speakers: dict[str, SpeakerSettings] = field(default_factory=dict)
    cues: dict[int, str] = field(default_factory=dict)  # cue index -> speaker name

    def settings(self, name: str) -> SpeakerSettings:
        return self.speakers.get(name) or SpeakerSettings(name)


def load_speakers(path: str | Path) -> SpeakerMap:
    """Read a `--speakers` mapping file; raise UsageError naming the file and line on any mistake."""
    path = Path(path)
    text, data = read_toml(path, "speakers file")

    def fail(key: str, problem: str) -> UsageError:
        line = _line_of(text, key)
        where = f"{path}:{line}" if line else str(path)
        return UsageError(f"{where}: {problem}", file=str(path), line=line)

    for key in data:
        if key not in ("speakers", "cues"):
            raise fail(key, f"unknown table {key!r}; use [speakers.NAME] and [cues]")
    speakers: dict[str, SpeakerSettings] = {}
    for name, table in _table(data, "speakers", fail).items():
        if not isinstance(table, dict):
            raise fail(name, f"speakers.{name} must be a table of settings")
        for key, value in table.items():
            if key not in SPEAKER_KEYS:
                raise fail(key, f"speakers.{name}: unknown setting {key!r} (known: {', '.join(SPEAKER_KEYS)})")
            if not isinstance(value, str):
                raise fail(key, f"speakers.{name}.{key} must be a string, got {value!r}")
        reference = table.get("reference")
        ref_path = None
        if reference:
            ref_path = Path(reference).expanduser()
            ref_path = ref_path if ref_path.is_absolute() else path.parent / ref_path
            if not ref_path.is_file():
                raise fail("reference", f"speakers.{name}.reference: no such audio file {ref_path}")
        speakers[name] = SpeakerSettings(name, voice=table.get("voice") or None, engine=table.get("engine") or None,
                                         reference=ref_path, reference_text=table.get("reference_text", "").strip(),
                                         reference_lang=table.get("reference_lang") or None)
    cues: dict[int, str] = {}
    for key, name in _table(data, "cues", fail).items():
        m = _RANGE.match(key)
        if not m:
            raise fail(key, f"cues: {key!r} is not a cue number or range like \"7-9\"")
        if not isinstance(name, str) or not name.strip():
            raise fail(key, f"cues.{key} must name a speaker, got {name!r}")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            raise fail(key, f"cues: range {key!r} runs backwards")
        for index in range(first, last + 1):
            cues[index] = name.strip()
    return SpeakerMap(path, speakers, cues)


def assign_speakers(cues: list[Cue], mapping: SpeakerMap | None) -> list[Cue]:
    """Return the cues with the mapping's `[cues]` overrides applied and missing speakers unnamed."""
    out = []
    for cue in cues:
        name = mapping.cues.get(cue.index) if mapping else None
        name = name if name is not None else (cue.speaker or UNNAMED)
        out.append(cue if name == cue.speaker else dataclasses.replace(cue, speaker=name))
    return out


def who(name: str) -> str:
    """A speaker in a message: "speaker 'Aiko'", or "the unnamed speaker"."""
    return f"speaker {name!r}" if name != UNNAMED else "the unnamed speaker"


def speaker_names(cues: list[Cue]) -> list[str]:
    """Return each speaker once, in order of first appearance."""
    return list(dict.fromkeys(cue.speaker or UNNAMED for cue in cues))


def _table(data: dict[str, Any], key: str, fail: Any) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise fail(key, f"{key} must be a table")
    return table


def _line_of(text: str, key: str) -> int | None:
    """Return the first line that sets or opens `key`, for messages (TOML parsers drop positions)."""
    pattern = re.compile(rf"^\s*(\[[^\]]*\b{re.escape(key)}\b[^\]]*\]|[\"']?{re.escape(key)}[\"']?\s*=)")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None
