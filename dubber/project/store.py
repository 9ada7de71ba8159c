"""The project: the speaker table and every take of every line, saved as JSON beside the output.

A project is one JSON file plus a folder of take audio next to it (`NAME.dubber.json` and
`NAME.takes/`). Take audio is stored by content (the SHA-256 of its samples and rate), so a take
made twice is stored once and a file's name says what is in it. Paths inside the project are
relative to the project file, so the pair can be moved together. The file is written atomically
(temporary file, fsync, rename): a crash leaves the previous version, never half of one.

The file names its schema version. Older versions are upgraded on load, one step at a time
(`UPGRADES`); a file from a newer dubber is refused rather than misread. Paths read from a file are
checked: a take's audio must lie inside the project's takes folder, so a project from elsewhere
cannot point dubber at arbitrary files.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from dubber.audio.media import write_wav
from dubber.errors import UsageError
from dubber.files import write_json_atomic
from dubber.fitting.slots import SYNC_FILL, SYNC_MODES
from dubber.plugin.engine import Emotion
from dubber.subtitles.cue import Cue
from dubber.subtitles.speakers import UNNAMED

SCHEMA_NAME = "dubber.project.store"
VERSION = 5
SCHEMA = f"{SCHEMA_NAME}/{VERSION}"
SUFFIX = ".dubber.json"


@dataclass
class SpeakerEntry:
    """One speaker's voice: the engine and voice that speak, and the clip it was matched or cloned from."""

    name: str
    engine: str
    voice: str
    reference: str | None = None  # the clip, relative to the project file
    reference_text: str = ""
    reference_lang: str | None = None
    reference_source: str = ""  # "user" (always wins), "extracted" (cut from the original), or ""
    matched: bool = False  # the voice was chosen by --voice auto
    similarity: float | None = None  # matched voice vs the reference (cosine of speaker embeddings)
    default_similarity: float | None = None  # the engine's default voice vs the reference
    pitch_semitones: float = 0.0  # shift applied toward the reference's median F0
    pitched_similarity: float | None = None  # the matched voice after that shift
    # --voice tune (dubber.voices.tune): the matched voice the search started from ("": not tuned), whether its
    # answer was kept, and [start, answer] pairs: search-encoder and judge similarities to the reference, WER
    tuned_from: str = ""
    tuned: bool = False
    tune_similarity: list[float] | None = None
    tune_judged: list[float] | None = None
    tune_wer: list[float] | None = None
    tune_reason: str = ""
    tune_seconds: float | None = None


@dataclass
class TakeRecord:
    """One rendering of a line, measured."""

    seed: int
    engine: str
    voice: str
    status: str
    error_ms: int | None  # fill: speech length minus the target; else how far it runs past its window (0: fits)
    speech_ms: int | None
    method: str = ""
    stretch: float | None = None
    similarity: float | None = None  # to the speaker's reference, when there is one
    wer: float | None = None  # Whisper's word error rate on this take, when measured
    transcript: str | None = None
    score: list[float] = field(default_factory=list)  # the ranking key (see dubber.project.takes), lower is better
    audio: str | None = None  # the take's WAV, relative to the project file
    reason: str = ""
    text: str = ""  # what was spoken: a take made before the line's text was edited is stale
    target_ms: int | None = None  # the length it aimed at (the original speech's, or the cue's under fill)
    window_ms: int | None = None  # the longest it could be from its onset (None: made under fill)
    sample_rate: int | None = None  # of the audio file
    lead: int | None = None  # samples of the audio before the speech onset; the onset lands on the cue start
    natural_ms: int | None = None  # the engine's unforced speech length for the text
    rate: float | None = None  # the engine's rate knob (1.0 under native duration control)
    heard_rate: float | None = None  # natural length / fitted length: how fast it sounds
    borrowed_ms: int = 0  # silence borrowed from after the slot (--borrow-gap)
    compute_ms: int | None = None  # wall time spent synthesizing and fitting the take; None: not recorded
    requests: int | None = None  # engine calls the fitter made for it (each bills the text); None: not recorded
    # The line's own fitting choices it was made with (LineEntry.borrow_gap, .allow_stretch; the dub's
    # --borrow-gap is not one): a take made without a choice the line has now may need a new take.
    borrow_gap: bool = False
    allow_stretch: bool = False


@dataclass
class LineEntry:
    """One cue and its takes; `chosen` indexes the take on the timeline.

    `engine`, `voice` and `emotion` override the speaker's for this line only (None: the speaker's).
    `target_start_ms`/`target_end_ms` are the original speech the line follows (None: none found, or
    not timed to speech). A line with `skip` set is not spoken (a sound description, a sign, another
    language …) unless `speak` says to speak it anyway. `borrow_gap` and `allow_stretch` are the line's
    own fitting choices, on top of the dub's policy: its slot runs on into the gap before the next line,
    and it may take the bounded stretch (dubber.fitting.fitter, step 6).
    """

    index: int
    start_ms: int
    end_ms: int
    text: str
    speaker: str
    takes: list[TakeRecord] = field(default_factory=list)
    chosen: int | None = None
    engine: str | None = None
    voice: str | None = None
    emotion: dict[str, Any] | None = None  # an Emotion as emotion_to_dict writes it
    target_start_ms: int | None = None
    target_end_ms: int | None = None
    skip: str = ""  # a dubber.subtitles.cue SKIP_* kind
    skip_reason: str = ""
    speak: bool = False  # speak it although `skip` says not to
    part: int = 0  # the turn of a split cue (dubber.subtitles.cue.Cue.part)
    lang: str | None = None  # the line's own language, where it is not the project's
    borrow_gap: bool = False  # may run on into the silence before the next line
    allow_stretch: bool = False  # may be stretched past the fastest rung, up to fitter.STRETCHED_RATIO

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def spoken(self) -> bool:
        """Whether the line is spoken: not skipped, or spoken anyway."""
        return not self.skip or self.speak

    def is_cue(self, cue: Cue) -> bool:
        """Whether this line is `cue` as it stands now: the same times, words and speaker."""
        return (self.start_ms, self.end_ms, self.text, self.speaker) == \
            (cue.start_ms, cue.end_ms, cue.text, cue.speaker or UNNAMED)

    @property
    def take(self) -> TakeRecord | None:
        """The chosen take, or None before the line is rendered."""
        return self.takes[self.chosen] if self.chosen is not None and 0 <= self.chosen < len(self.takes) else None


@dataclass
class Project:
    """Everything a dub decided: inputs, speakers, lines and their takes."""

    video: str
    subtitles: str
    lang: str
    speakers: dict[str, SpeakerEntry] = field(default_factory=dict)
    lines: list[LineEntry] = field(default_factory=list)
    # The project's pronunciation dictionary: word -> pinyin or IPA (dubber.text.pronunciation.apply_dictionary).
    pronunciations: dict[str, str] = field(default_factory=dict)
    sync: str = SYNC_FILL  # how lines are timed (dubber.fitting.slots): speech, cue or fill

    def to_dict(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The project as its file holds it; `rows`: the lines already as dicts (`asdict`), in place of `lines`."""
        return {"schema": SCHEMA, "video": self.video, "subtitles": self.subtitles, "lang": self.lang,
                "sync": self.sync, "speakers": {name: asdict(s) for name, s in self.speakers.items()},
                "pronunciations": dict(self.pronunciations),
                "lines": rows if rows is not None else [asdict(line) for line in self.lines]}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "project") -> Project:
        data = upgrade(data, source)
        try:
            speakers = {name: SpeakerEntry(**entry) for name, entry in data["speakers"].items()}
            lines = [LineEntry(**{**line, "takes": [TakeRecord(**t) for t in line["takes"]]})
                     for line in data["lines"]]
            pronunciations = data.get("pronunciations") or {}
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in pronunciations.items()):
                raise TypeError("pronunciations must map words to strings")
            sync = data.get("sync", SYNC_FILL)
            if sync not in SYNC_MODES:
                raise TypeError(f"sync must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
            return cls(data["video"], data["subtitles"], data["lang"], speakers, lines, dict(pronunciations), sync)
        except (KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{source}: damaged project file: {exc!r}") from exc


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 keeps each take's fitting measurements (natural length, rate, borrowed gap)."""
    for line in data.get("lines", []):
        for take in line.get("takes", []):
            take.setdefault("natural_ms", None)
            take.setdefault("rate", None)
            take.setdefault("heard_rate", None)
            take.setdefault("borrowed_ms", 0)
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 records each take's compute time (older takes did not measure it) and keeps a
    pronunciation dictionary (empty before)."""
    data.setdefault("pronunciations", {})
    for line in data.get("lines", []):
        for take in line.get("takes", []):
            take.setdefault("compute_ms", None)
            take.setdefault("requests", None)
    return data


def _v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Version 4 times lines to the original speech: a project says how its lines are timed (older
    ones filled their cues), a line keeps its original speech span and why it is not spoken, and a
    take the window it was fitted into."""
    data.setdefault("sync", SYNC_FILL)
    for line in data.get("lines", []):
        for key, value in (("target_start_ms", None), ("target_end_ms", None), ("skip", ""), ("skip_reason", ""),
                           ("speak", False), ("part", 0), ("lang", None)):
            line.setdefault(key, value)
        for take in line.get("takes", []):
            take.setdefault("window_ms", None)
    return data


def _v4_to_v5(data: dict[str, Any]) -> dict[str, Any]:
    """Version 5 lets a line borrow the gap after it or allow the bounded stretch on its own (older lines
    did neither), and a take says which of those it was made with."""
    for line in data.get("lines", []):
        line.setdefault("borrow_gap", False)
        line.setdefault("allow_stretch", False)
        for take in line.get("takes", []):
            take.setdefault("borrow_gap", False)
            take.setdefault("allow_stretch", False)
    return data


# UPGRADES[n] turns a version-n document into version n + 1.
UPGRADES = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}


def upgrade(data: dict[str, Any], source: str = "project") -> dict[str, Any]:
    """Bring a project document up to the current version, step by step."""
    schema = data.get("schema")
    name, _, number = str(schema).partition("/")
    if name != SCHEMA_NAME or not number.isdigit():
        raise UsageError(f"{source}: not a dubber project (schema {schema!r})")
    version = int(number)
    if version > VERSION:
        raise UsageError(f"{source}: written by a newer dubber (project version {version}; this one reads up to "
                         f"{VERSION}): upgrade dubber", newer=True)
    while version < VERSION:
        data = UPGRADES[version](dict(data))
        version += 1
    data["schema"] = SCHEMA
    return data


def lines_for(cues: list[Cue], previous: dict[int, LineEntry]) -> list[LineEntry]:
    """A line per cue, in time order: the previous line of that cue where it is unchanged (takes and
    settings kept, why it is skipped read anew), a new line without takes otherwise."""
    lines = []
    for cue in sorted(cues, key=lambda c: (c.start_ms, c.index)):
        line = previous.get(cue.index)
        if line is None or not line.is_cue(cue):
            line = LineEntry(cue.index, cue.start_ms, cue.end_ms, cue.text, cue.speaker or UNNAMED)
        line.skip, line.skip_reason, line.part, line.lang = cue.skip, cue.skip_reason, cue.part, cue.lang
        line.target_start_ms, line.target_end_ms = cue.target_start_ms, cue.target_end_ms
        lines.append(line)
    return lines


def emotion_to_dict(emotion: Emotion | None) -> dict[str, Any] | None:
    """Spell an Emotion for the project file."""
    if emotion is None:
        return None
    data = asdict(emotion)
    data["vector"] = list(emotion.vector)
    data["audio_path"] = str(emotion.audio_path) if emotion.audio_path is not None else None
    return data


def emotion_from_dict(data: dict[str, Any] | None) -> Emotion | None:
    """Read an Emotion written by emotion_to_dict."""
    if not data:
        return None
    audio = data.get("audio_path")
    return Emotion(kind=data["kind"], vector=tuple(float(v) for v in data.get("vector") or ()),
                   text=data.get("text") or "", audio_path=Path(audio) if audio else None,
                   alpha=float(data.get("alpha", 1.0)))


def project_path_for(output: str | Path) -> Path:
    """Return the project file that goes with an output file: `out.mp4` -> `out.dubber.json`."""
    output = Path(output)
    return output.with_name(output.stem + SUFFIX)


def takes_folder(project_path: Path) -> Path:
    """Return the folder that holds a project's take audio."""
    return project_path.with_name(_stem(project_path) + ".takes")


def references_folder(project_path: Path) -> Path:
    """Return the folder that holds the reference clips cut from the original audio."""
    return project_path.with_name(_stem(project_path) + ".refs")


def _stem(project_path: Path) -> str:
    name = project_path.name
    return name[:-len(SUFFIX)] if name.endswith(SUFFIX) else project_path.stem


def save_project(project: Project, path: str | Path, rows: list[dict[str, Any]] | None = None) -> None:
    """Write the project atomically (`rows`: its lines already as dicts, see `Project.to_dict`)."""
    write_json_atomic(path, project.to_dict(rows))


def load_project(path: str | Path) -> Project:
    """Read a project file, upgraded and with its paths checked, or raise UsageError naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such project file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the project: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a dubber project")
    project = Project.from_dict(data, str(path))
    check_paths(project, path)
    return project


def check_paths(project: Project, path: Path) -> None:
    """Refuse take audio outside the project's takes folder: the take keeps its record, not the file."""
    folder = takes_folder(path).name
    for line in project.lines:
        for take in line.takes:
            if take.audio is not None and not _inside(take.audio, folder):
                take.reason = (f"{take.reason}; " if take.reason else "") + \
                    f"audio {take.audio!r} is outside {folder}/ and was not loaded"
                take.audio = None


def _inside(relative: str, folder: str) -> bool:
    """Whether a stored relative path names a file directly inside `folder` (no '..', not absolute)."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    return len(parts) == 2 and parts[0] == folder and parts[1] not in ("", ".", "..") and ":" not in relative


def store_take_audio(samples: np.ndarray, rate: int, project_path: Path) -> str:
    """Store a take's audio by content beside the project; return its path relative to the project."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    digest = hashlib.sha256(samples.tobytes() + rate.to_bytes(4, "little")).hexdigest()[:20]
    folder = takes_folder(project_path)
    target = folder / f"{digest}.wav"
    if not target.exists():
        # Renamed when whole: a crash never leaves a bad take. Named per thread, as two workers may
        # render the same samples (the same words in the same slot) at once.
        partial = folder / f".{digest}.{threading.get_ident()}.partial.wav"
        write_wav(partial, samples, rate)
        os.replace(partial, target)
    return target.relative_to(project_path.parent).as_posix()


def relative_to_project(path: str | Path, project_path: Path) -> str:
    """Return `path` relative to the project's folder when it is inside it, else absolute."""
    path = Path(path).absolute()
    try:
        return path.relative_to(project_path.parent.absolute()).as_posix()
    except ValueError:
        return str(path)
